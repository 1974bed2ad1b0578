"""Learn: step to step of the walk, request to rendered fragment, at D_h = 256 and a 20-character
name while training runs; and the bytes of the page's first load.

    .venv/bin/python bench/bench_learn.py [--rounds 12] [--hidden 256] [--name NAME] [--paced]

Starts the real server (`python -m app`) in a subprocess with a fresh runs folder and a D_h = 256
model training on the bundled names (unpaced unless --paced: the trainer takes all the CPU it
gets), waits until it trains, opens Learn for the name

    GET /fragments/learn/open?name=probrachylophosaurus      (T = 21 steps; freezes the weights)

and then walks it the way a student does, one request after another with a short pause, each
timed from sending the request to the last byte of the card:

    GET /fragments/learn?name=...&snap=KEY&step=N[&k=...]    steps 1 ... 9, the sub-steps of
                                                             steps 6 and 7, and picks of step 5

Training moves the weights all along, but the walk reads its frozen snapshot, so after the first
step its report is a cache hit in the inspection worker; what each step costs is building the
step's numbers (step 8 sums the T(T + 1)/2 terms loss by loss) and rendering its SVG and HTML.

The first load: GET / and every stylesheet and script it links, their bytes on the wire (the
server gzips every answer of 1 kB or more but the event stream) and uncompressed; then the panel
body the page asks for next. The issue's bars: walk p95 under 50 ms, first load under 120 KB.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: the harness lives beside bench/
    sys.path.insert(0, str(REPO))

from harness.servers import free_port, start_server_process, wait_training  # noqa: E402

NAME = "probrachylophosaurus"  # 20 letters, from data/dinosaurs.txt
WALK_TARGET_MS = 50.0
FIRST_LOAD_TARGET = 120_000


def walk_requests(T: int) -> list[dict[str, int]]:
    """One round of a student's walk: every step, the sub-steps of 6 and 7, a few picks of 5."""
    steps: list[dict[str, int]] = [{"step": n} for n in range(1, 6)]
    steps += [{"step": 5, "t": T, "k": k} for k in (T - 1, T // 2, 2)]
    steps += [{"step": 6, "t": T, "k": k} for k in range(T, T - 6, -1)]
    steps += [{"step": 7, "k": k} for k in range(T, T - 8, -1)]
    steps += [{"step": 8}, {"step": 9}]
    return steps


def timed_get(client: httpx.Client, path: str, params: dict[str, Any]) -> tuple[float, bytes]:
    start = time.perf_counter()
    response = client.get(path, params=params)
    body = response.content
    ms = (time.perf_counter() - start) * 1e3
    if response.status_code != 200:
        raise SystemExit(f"{path} {params}: HTTP {response.status_code}: {body[:300]!r}")
    return ms, body


def first_load(client: httpx.Client) -> list[tuple[str, int, int]]:
    """(path, bytes uncompressed, bytes on the wire) of the page and what it links."""
    response = client.get("/")
    page = response.content
    linked = re.findall(rb'<link rel="stylesheet" href="([^"]+)"|<script src="([^"]+)"', page)
    paths = [(a or b).decode() for a, b in linked]
    icon = re.search(rb'<link rel="icon" href="([^"]+)"', page)
    paths += [icon.group(1).decode()] if icon else []
    out = [("/", len(page), response.num_bytes_downloaded)]
    for path in paths:
        response = client.get(path)
        out.append((path, len(response.content), response.num_bytes_downloaded))
    return out


def summary(label: str, ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=100, method="inclusive")
    p50, p95, top = statistics.median(ms), q[94], max(ms)
    return f"{label:<40} n={len(ms):<4} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   max {top:6.1f} ms"


def walk(client: httpx.Client, name: str, snap: str, rounds: int, gap: float) -> list[float]:
    """Walk the steps ``rounds`` times; print the figures by step; the times of every step."""
    by_step: dict[int, list[float]] = {}
    sizes: dict[int, int] = {}
    times: list[float] = []
    start = client.get("/api/status").json()["step"]
    t0 = time.perf_counter()
    for _ in range(rounds):
        for params in walk_requests(len(name) + 1):
            ms, card = timed_get(client, "/fragments/learn", {"name": name, "snap": snap, **params})
            times.append(ms)
            by_step.setdefault(params["step"], []).append(ms)
            sizes[params["step"]] = len(card)
            time.sleep(gap)
    seconds = time.perf_counter() - t0
    status = client.get("/api/status").json()
    print(summary("walk, step to step, while training runs", times))
    for n, step_ms in sorted(by_step.items()):
        median, top = statistics.median(step_ms), max(step_ms)
        print(f"  step {n}: median {median:5.1f} ms, max {top:5.1f} ms, {sizes[n] / 1e3:4.0f} kB")
    print(
        f"training went on: {status['step'] - start:,} steps in {seconds:.1f} s "
        f"({status['chars_per_sec']:,.0f} chars/s), state {status['state']}"
    )
    return times


def report_first_load(client: httpx.Client) -> tuple[int, int]:
    """Print the page's first load, part by part; its bytes uncompressed and on the wire."""
    parts = first_load(client)
    raw, wire = sum(p[1] for p in parts), sum(p[2] for p in parts)
    print("first load:")
    for path, size, sent in parts:
        print(f"  {path:<32} {size / 1e3:6.1f} kB   on the wire {sent / 1e3:5.1f} kB")
    print(f"  {'total':<32} {raw / 1e3:6.1f} kB   on the wire {wire / 1e3:5.1f} kB")
    panel = client.get("/fragments/inspect/start")
    print(
        f"  then the panel body: {len(panel.content) / 1e3:.0f} kB, "
        f"on the wire {panel.num_bytes_downloaded / 1e3:.0f} kB"
    )
    return raw, wire


def verdict(label: str, value: float, target: float, unit: str) -> str:
    return (
        f"target {label} < {target:g} {unit}: {'met' if value < target else 'NOT met'} ({value:.1f} {unit})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="walks through every step")
    parser.add_argument("--hidden", type=int, default=256, help="D_h of the training model")
    parser.add_argument("--name", default=NAME, help="the name to walk")
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between steps (a student's pause)")
    parser.add_argument("--paced", action="store_true", help="keep the default pace of the class's run")
    args = parser.parse_args()

    port = free_port()
    train: dict[str, Any] = {"hidden_size": args.hidden, "max_steps": 10_000_000}
    if not args.paced:
        train["steps_per_second"] = None
    with tempfile.TemporaryDirectory(prefix="bench-learn-") as runs:
        env = {"BPTT_LAB_CHECKPOINT_SECONDS": "3600"}
        server = start_server_process(port, Path(runs), train, env=env)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60.0) as client:
                config = wait_training(str(client.base_url).rstrip("/"))["config"]
                print(
                    f"server: D_h = {config['hidden_size']}, {config['activation']}, "
                    f"B = {config['batch_size']}, pace {config.get('steps_per_second') or 'none'}; "
                    f"name {args.name!r} (T = {len(args.name) + 1}); "
                    f"cpus {os.cpu_count()}, load {os.getloadavg()[0]:.2f}"
                )
                open_ms, body = timed_get(client, "/fragments/learn/open", {"name": args.name})
                match = re.search(rb'data-snap="([^"]+)"', body)
                assert match, "no walk in the answer"
                print(
                    f"open (panel body and step 1, traced afresh): {open_ms:.1f} ms, {len(body) / 1e3:.0f} kB"
                )
                times = walk(client, args.name, match.group(1).decode(), args.rounds, args.gap)
                _, wire = report_first_load(client)
                p95 = statistics.quantiles(times, n=100, method="inclusive")[94]
                print(verdict("walk p95", p95, WALK_TARGET_MS, "ms"))
                print(verdict("first load on the wire", wire / 1e3, FIRST_LOAD_TARGET / 1e3, "kB"))
        finally:
            server.terminate()
            server.wait(timeout=15)


if __name__ == "__main__":
    main()
