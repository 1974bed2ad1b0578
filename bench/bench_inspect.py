"""Inspect latency: from request to rendered fragment, a 20-character name at D_h = 256, while training runs.

    .venv/bin/python bench/bench_inspect.py [--requests 80] [--hidden 256] [--name NAME]

Starts the real server (`python -m app`, one worker) in a subprocess with
a fresh runs folder and a D_h = 256 model training on the bundled names, waits
until the run is training, then asks for the Inspect panel's body

    GET /fragments/inspect?name=probrachylophosaurus      (T = 21 steps)

one request after another (a pause of --gap seconds between them, as a page
polling would) and times each from sending the request to the last byte of the
HTML. Every answer is computed afresh: the weights move between requests, so
the server traces the name again (Eq. 6.2 for every t) and draws the SVG. The
parts under closed <details> (the accumulation table, the gradient check by
finite differences, the decay under the other activations) are drawn when the
page opens them: each is timed too, as

    GET /fragments/inspect/more?part=table|grad|decay&name=...&key=...

right after a panel body (whose key it names), while training runs.

It prints the p50 / p95 / max latency while training runs, the same with the
run paused (the server answers a repeated request from its fragment cache), the
parts, the JSON of /api/inspect (T x T x D_h gammas) for comparison, and the
training rate (characters per second) with and without the inspecting.
The issue's bar: p95 under 100 ms while training runs.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: the harness lives beside bench/
    sys.path.insert(0, str(REPO))

from harness.servers import free_port, start_server_process, wait_training  # noqa: E402

NAME = "probrachylophosaurus"  # 20 letters, from data/dinosaurs.txt
PARTS = ("table", "grad", "decay", "estimates")  # drawn when opened (app/inspect/parts.py PARTS)


def start_server(port: int, hidden: int, runs: Path) -> subprocess.Popen[bytes]:
    """`python -m app` on 127.0.0.1:port, training D_h = `hidden` from the start."""
    train = {"hidden_size": hidden, "max_steps": 10_000_000, "steps_per_second": None}  # unpaced
    return start_server_process(port, runs, train, env={"BPTT_LAB_CHECKPOINT_SECONDS": "3600"})


def timed(client: httpx.Client, path: str, params: dict, count: int, gap: float) -> list[float]:
    """Milliseconds from sending each request to the end of its body."""
    out = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(path, params=params)
        body = response.content
        out.append((time.perf_counter() - start) * 1e3)
        if response.status_code != 200 or not body:
            raise SystemExit(f"{path}: HTTP {response.status_code}: {body[:200]!r}")
        time.sleep(gap)
    return out


def timed_parts(client: httpx.Client, name: str, count: int, gap: float) -> dict[str, list[float]]:
    """Milliseconds of each part asked for as the page does when it is opened: after a panel body."""
    out: dict[str, list[float]] = {part: [] for part in PARTS}
    for _ in range(count):
        for part in PARTS:
            body = client.get("/fragments/inspect", params={"name": name}).text
            found = re.search(r'name="key" value="([^"]+)"', body)
            if found is None:
                raise SystemExit("/fragments/inspect: no weights key in the panel body")
            params = {"name": name, "key": found.group(1), "part": part}
            out[part] += timed(client, "/fragments/inspect/more", params, 1, gap)
    return out


def summary(label: str, ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return (
        f"{label:<44} n={len(ms):<4} p50 {statistics.median(ms):6.1f} ms   "
        f"p95 {q[94]:6.1f} ms   max {max(ms):6.1f} ms"
    )


def chars_per_sec(client: httpx.Client, seconds: float) -> float:
    """The training rate over `seconds`, from the step counter and the batch size."""
    rates = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rates.append(client.get("/api/status").json().get("chars_per_sec", 0.0))
        time.sleep(0.5)
    return statistics.median(rates) if rates else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=80, help="requests per measurement")
    parser.add_argument("--hidden", type=int, default=256, help="D_h of the training model")
    parser.add_argument("--name", default=NAME, help="the name to inspect")
    parser.add_argument("--gap", type=float, default=0.1, help="seconds between requests")
    args = parser.parse_args()

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-inspect-") as runs:
        server = start_server(port, args.hidden, Path(runs))
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30.0) as client:
                status = wait_training(str(client.base_url).rstrip("/"))
                config = status["config"]
                print(
                    f"server: D_h = {config['hidden_size']}, {config['activation']}, "
                    f"B = {config['batch_size']}, {config['dtype']}; name {args.name!r} "
                    f"({len(args.name)} characters, T = {len(args.name) + 1}); "
                    f"cpus {os.cpu_count()}, load {os.getloadavg()[0]:.2f}"
                )
                params = {"name": args.name}
                timed(client, "/fragments/inspect", params, 5, args.gap)  # warm up
                quiet = chars_per_sec(client, 3.0)
                t0 = time.perf_counter()
                running = timed(client, "/fragments/inspect", params, args.requests, args.gap)
                busy_seconds = time.perf_counter() - t0
                loaded = client.get("/api/status").json().get("chars_per_sec", 0.0)
                size = len(client.get("/fragments/inspect", params=params).content)
                parts = timed_parts(client, args.name, max(10, args.requests // 4), args.gap)
                api = timed(client, "/api/inspect", params, max(10, args.requests // 4), args.gap)
                api_size = len(client.get("/api/inspect", params=params).content)
                client.post("/api/train/pause")
                paused = timed(client, "/fragments/inspect", params, args.requests, args.gap)
                print(summary("fragment, while training runs", running))
                print(summary("fragment, training paused (cache hit)", paused))
                for part, ms in parts.items():
                    print(summary(f"opening the {part} part, while training runs", ms))
                print(summary("/api/inspect JSON, while training runs", api))
                print(f"fragment {size / 1e3:.0f} kB, JSON {api_size / 1e6:.2f} MB")
                print(
                    f"training: {quiet:,.0f} chars/s alone, {loaded:,.0f} chars/s while being "
                    f"inspected ({args.requests} requests in {busy_seconds:.1f} s)"
                )
                p95 = statistics.quantiles(running, n=100, method="inclusive")[94]
                verdict = "met" if p95 < 100 else "NOT met"
                print(f"target p95 < 100 ms while training runs: {verdict} ({p95:.1f} ms)")
        finally:
            server.terminate()
            server.wait(timeout=15)


if __name__ == "__main__":
    main()
