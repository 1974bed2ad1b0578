"""A class on one server: 40 runs training, 100 watchers; what a student's clicks cost, and memory.

    .venv/bin/python bench/bench_class.py [--runs 40] [--watchers 100] [--requests 200]

Starts `python -m app` on 127.0.0.1 (a free port, a temporary runs folder; the default run
training unpaced), measures the memory of the server and its worker processes, then creates
runs through the API until `--runs` train (one of them at D_h = 256, the one inspected; the
others the default configuration, unpaced) and keeps `--watchers` Server-Sent Event streams
open, spread over the runs (GET /api/runs/{id}/events). While all of that goes on it times,
one request after another,

    POST /api/runs/{id}/generate           10 names from a run picked in turn  (target p95 10 ms)
    GET  /fragments/inspect?name=...       a 20-character name under the D_h = 256 run
                                           (its page's request; the weights move between them)
                                                                               (target p95 30 ms)

and counts the requests that failed (target: none) and the streams the server dropped.
Memory (VmRSS summed over the server and every process under it): with the default run alone,
with every run training, and with every run paused; per active and per idle run, the
difference divided by the runs (target: 40 runs under 3 GB in all).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: the harness lives beside bench/
    sys.path.insert(0, str(ROOT))

from harness.load import rss_mb  # noqa: E402
from harness.servers import free_port, start_server_process, wait_training  # noqa: E402

NAME = "probrachylophosaurus"  # 20 letters, from data/dinosaurs.txt
GENERATE_TARGET_MS, INSPECT_TARGET_MS, MEMORY_TARGET_MB = 10.0, 30.0, 3000.0
UNPACED = {"max_steps": 10_000_000, "steps_per_second": None}


def tree_rss_mb(root: int) -> float:
    """VmRSS of process `root` and every process under it, in MB."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    total = 0.0
    for pid in tree:
        with contextlib.suppress(OSError, RuntimeError):  # gone, or a kernel thread
            total += rss_mb(pid)
    return total


def quantiles(ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return f"p50 {statistics.median(ms):6.1f} ms   p95 {q[94]:6.1f} ms   max {max(ms):6.1f} ms"


def verdict(label: str, value: float, target: float, unit: str) -> str:
    met = "met" if value < target else "NOT met"
    return f"target {label} < {target:g} {unit}: {met} ({value:,.1f} {unit})"


def create_runs(client: httpx.Client, count: int) -> list[tuple[str, str]]:
    """(id, token) of `count` new runs, all training; the first at D_h = 256."""
    made = []
    for n in range(count):
        body = {**UNPACED, "label": f"student {n + 1}", **({"hidden_size": 256} if n == 0 else {})}
        response = client.post("/api/runs", json=body)
        if response.status_code != 201:
            raise SystemExit(f"POST /api/runs: {response.status_code} {response.text[:300]}")
        made.append((response.json()["id"], response.json()["token"]))
    return made


async def watch(port: int, path: str, stop: asyncio.Event, counts: dict[str, int]) -> None:
    """One browser's event stream, read and counted until `stop` (a bare socket: the server is measured)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: class\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    ended = asyncio.ensure_future(stop.wait())
    try:
        while True:
            read = asyncio.ensure_future(reader.read(65_536))
            await asyncio.wait({read, ended}, return_when=asyncio.FIRST_COMPLETED)
            if not read.done():
                read.cancel()
                return
            chunk = read.result()
            if not chunk:
                counts["lost"] += 1
                return
            counts["events"] += chunk.count(b"event:")
    finally:
        ended.cancel()
        writer.close()


async def clicks(
    url: str, runs: list[tuple[str, str]], requests: int, gap: float
) -> tuple[list[float], list[float], list[str]]:
    """Generate from the runs in turn, and inspect under the D_h = 256 run, one request at a time."""
    generate_ms: list[float] = []
    inspect_ms: list[float] = []
    failures: list[str] = []
    big = runs[0][0]
    async with httpx.AsyncClient(base_url=url, timeout=30.0) as client:
        for n in range(requests):
            run_id = runs[n % len(runs)][0]
            start = time.perf_counter()
            response = await client.post(f"/api/runs/{run_id}/generate", json={"count": 10, "seed": n})
            generate_ms.append((time.perf_counter() - start) * 1e3)
            if response.status_code != 200:
                failures.append(f"generate {run_id}: {response.status_code}")
            if n % 4 == 0:
                start = time.perf_counter()
                headers = {"HX-Request": "true", "X-BPTT-Run": big}
                response = await client.get("/fragments/inspect", params={"name": NAME}, headers=headers)
                inspect_ms.append((time.perf_counter() - start) * 1e3)
                if response.status_code != 200:
                    failures.append(f"inspect: {response.status_code}")
            await asyncio.sleep(gap)
    return generate_ms, inspect_ms, failures


async def under_load(
    url: str, port: int, runs: list[tuple[str, str]], watchers: int, requests: int, gap: float
) -> tuple[list[float], list[float], list[str], dict[str, int]]:
    """The clicks, with `watchers` streams open across the runs."""
    stop = asyncio.Event()
    counts = {"events": 0, "lost": 0}
    paths = [f"/api/runs/{runs[n % len(runs)][0]}/events" for n in range(watchers)]
    streams = [asyncio.create_task(watch(port, path, stop, counts)) for path in paths]
    await asyncio.sleep(2.0)  # every stream connected and past its first state
    try:
        generate_ms, inspect_ms, failures = await clicks(url, runs, requests, gap)
    finally:
        stop.set()
        await asyncio.gather(*streams, return_exceptions=True)
    return generate_ms, inspect_ms, failures, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="runs training, the default one included")
    parser.add_argument("--watchers", type=int, default=100, help="event streams kept open")
    parser.add_argument("--requests", type=int, default=200, help="generate requests (inspect: a quarter)")
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between two clicks")
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"BPTT_LAB_MAX_RUNS": str(args.runs + 8), "BPTT_LAB_MAX_RUNS_PER_CLIENT": str(args.runs + 8)}
    with tempfile.TemporaryDirectory(prefix="bench-class-") as folder:
        server = start_server_process(port, folder, UNPACED, env=env)
        try:
            wait_training(url)
            print(f"cpus {os.cpu_count()}, load {os.getloadavg()[0]:.2f}; server pid {server.pid}")
            alone = tree_rss_mb(server.pid)
            with httpx.Client(base_url=url, timeout=60.0) as client:
                runs = create_runs(client, args.runs - 1)
                time.sleep(3.0)
                states = [client.get(f"/api/runs/{r}/status").json()["state"] for r, _ in runs]
                print(f"{args.runs} runs: {states.count('running') + 1} training")
                active = tree_rss_mb(server.pid)
                got = asyncio.run(under_load(url, port, runs, args.watchers, args.requests, args.gap))
                generate_ms, inspect_ms, failures, counts = got
                for run_id, token in runs:
                    auth = {"Authorization": f"Bearer {token}"}
                    client.post(f"/api/runs/{run_id}/train/pause", headers=auth)
                time.sleep(2.0)
                idle = tree_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    extra = args.runs - 1
    print(f"\n{args.watchers} event streams: {counts['events']:,} events read, {counts['lost']} dropped")
    print(f"generate (10 names, {len(generate_ms)} requests)   {quantiles(generate_ms)}")
    print(f"inspect ({NAME}, D_h = 256, {len(inspect_ms)})  {quantiles(inspect_ms)}")
    print(f"failed requests: {len(failures)}" + (f" ({'; '.join(failures[:5])})" if failures else ""))
    print(
        f"memory: {alone:,.0f} MB with the default run alone, {active:,.0f} MB with {args.runs} "
        f"training, {idle:,.0f} MB with {extra} of them paused"
    )
    print(
        f"        per active run {(active - alone) / extra:,.1f} MB, per paused run "
        f"{(idle - alone) / extra:,.1f} MB"
    )
    q = statistics.quantiles
    print(verdict("generate p95", q(generate_ms, n=100, method="inclusive")[94], GENERATE_TARGET_MS, "ms"))
    print(verdict("inspect p95", q(inspect_ms, n=100, method="inclusive")[94], INSPECT_TARGET_MS, "ms"))
    print(verdict(f"{args.runs} runs' memory", active, MEMORY_TARGET_MB, "MB"))


if __name__ == "__main__":
    main()
