"""Load: a class's worth of browsers on one server; prints what held and what it cost.

    .venv/bin/python bench/bench_load.py [--clients 100] [--rate 20] [--seconds 60]

Starts `python -m app` on 127.0.0.1 (a free port, a temporary runs folder,
the default configuration, training from the start), measures its training
throughput alone for `--baseline` seconds, then keeps `--clients` Server-Sent
Event streams open on /api/events and sends `--rate` POST /api/generate
requests a second for `--seconds` seconds. Bounded in count and time: it
sends exactly rate x seconds requests, waits at most 30 s for the last ones,
closes every stream, stops the server and exits (1 if anything failed).

It prints: failed requests and lost streams (target: none), generate latency
(p50, p95, max), events received, the server's resident memory (VmRSS from
/proc) over the run and its growth after warm-up (target: flat), the loss
history's length against its bound, and training throughput under load
against alone (the drop).

The load itself is harness/load.py's `drive()`; tests/app/test_load.py runs a
short form of it against a server in the test process.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: rnn_core lives beside bench/
    sys.path.insert(0, str(ROOT))

from harness.load import LoadReport, drive  # noqa: E402
from harness.servers import free_port, start_server_process  # noqa: E402
from rnn_core.checkpoint import load_checkpoint  # noqa: E402


# ------------------------------------------------------------ the stand-alone bench
def start_server(port: int, runs: str) -> subprocess.Popen[bytes]:
    """`python -m app` on 127.0.0.1:port, training the default configuration (unpaced) from the start."""
    return start_server_process(port, runs, {"max_steps": 10_000_000, "steps_per_second": None})


async def alone(url: str, seconds: float) -> float:
    """Steps a second of the server's run with nobody watching."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        deadline = time.monotonic() + 60
        while True:
            try:
                first = (await client.get("/api/status")).json()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        await asyncio.sleep(2.0)  # warm up
        first, started = (await client.get("/api/status")).json(), time.perf_counter()
        await asyncio.sleep(seconds)
        last = (await client.get("/api/status")).json()
        return (last["step"] - first["step"]) / (time.perf_counter() - started)


def history_length(url: str) -> tuple[int, int]:
    """Points in the run's loss history, and their bound (from a checkpoint download)."""
    with httpx.Client(base_url=url, timeout=30) as client:
        ckpt = load_checkpoint(client.get("/api/checkpoint").content)
    assert ckpt.config is not None
    return len(ckpt.history), ckpt.config.history_limit


def print_report(report: LoadReport, baseline: float, clients: int, history: tuple[int, int]) -> None:
    lat = sorted(report.latencies_ms) or [0.0]
    rss = [mb for _, mb in report.rss_mb] or [0.0]
    drop = 1 - report.steps_per_sec / baseline if baseline else 0.0
    print(
        f"requests:        {report.requests} generate (10 names each) in {report.seconds:.1f} s, "
        f"{len(report.failures)} failed"
    )
    print(
        f"latency:         p50 {statistics.median(lat):.1f} ms, "
        f"p95 {lat[int(0.95 * (len(lat) - 1))]:.1f} ms, max {lat[-1]:.1f} ms"
    )
    print(
        f"SSE streams:     {report.streams}/{clients} connected, {report.streams_lost} lost, "
        f"{report.events:,} events received ({report.events / max(report.seconds, 1e-9):,.0f}/s)"
    )
    print(
        f"server RSS:      start {rss[0]:.1f} MB, end {rss[-1]:.1f} MB, max {max(rss):.1f} MB; "
        f"growth after warm-up {report.rss_growth():+.1f} MB"
    )
    print(f"loss history:    {history[0]} points (bound {history[1]})")
    print(
        f"training:        alone {baseline:.1f} steps/s, under load {report.steps_per_sec:.1f} steps/s "
        f"(drop {drop:.1%})"
    )
    for failure in report.failures[:10]:
        print("  failed:", failure)


def main() -> None:
    """Run the load against a server of its own and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=100, help="SSE streams kept open")
    parser.add_argument("--rate", type=float, default=20.0, help="generate requests a second")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load")
    parser.add_argument("--baseline", type=float, default=15.0, help="seconds measured alone first")
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    print(f"load: {args.clients} SSE clients, {args.rate:g} generate/s for {args.seconds:g} s on {url}")
    with tempfile.TemporaryDirectory() as runs:
        server = start_server(port, runs)
        try:
            baseline = asyncio.run(alone(url, args.baseline))
            report = asyncio.run(drive(url, args.clients, args.rate, args.seconds, pid=server.pid))
            history = history_length(url)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print_report(report, baseline, args.clients, history)
    ok = not report.failures and not report.streams_lost and report.streams == args.clients
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
