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

`drive()` is the load itself, against any URL; tests/app/test_load.py runs a
short form of it against a server in the test process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: rnn_core lives beside bench/
    sys.path.insert(0, str(ROOT))

from rnn_core.checkpoint import load_checkpoint  # noqa: E402


@dataclass
class LoadReport:
    """What one run of the load saw."""

    seconds: float = 0.0
    requests: int = 0
    failures: list[str] = field(default_factory=list)  # requests that did not answer 200
    latencies_ms: list[float] = field(default_factory=list)
    streams: int = 0  # SSE streams that connected
    streams_lost: int = 0  # streams the server closed before the end
    events: int = 0  # events received, all streams together
    rss_mb: list[tuple[float, float]] = field(default_factory=list)  # (seconds, VmRSS)
    steps: tuple[int, int] = (0, 0)  # the run's step at the start and at the end

    @property
    def steps_per_sec(self) -> float:
        """Training throughput while the load ran."""
        return (self.steps[1] - self.steps[0]) / self.seconds if self.seconds else 0.0

    def rss_growth(self) -> float:
        """MB the server grew from the end of the first third (warm-up) to the end."""
        if len(self.rss_mb) < 3:
            return 0.0
        warm = self.rss_mb[len(self.rss_mb) // 3 :]
        return warm[-1][1] - warm[0][1]


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid` in MB (VmRSS in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


async def sse_stream(url: str, report: LoadReport, connected: asyncio.Event, stop: asyncio.Event) -> None:
    """One browser's /api/events, counted as it comes: a bare socket, the server is what is measured."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(b"GET /api/events HTTP/1.1\r\nHost: load\r\nAccept: text/event-stream\r\n\r\n")
    await writer.drain()
    first, stopped = True, asyncio.ensure_future(stop.wait())
    try:
        while True:
            read = asyncio.ensure_future(reader.read(65_536))
            await asyncio.wait({read, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not read.done():  # the load is over
                read.cancel()
                return
            chunk = read.result()
            if not chunk:
                report.streams_lost += 1
                return
            if first:
                report.streams += 1
                connected.set()
                first = False
            report.events += chunk.count(b"event:")
    finally:
        stopped.cancel()
        writer.close()


async def generate_once(client: httpx.AsyncClient, report: LoadReport, n: int) -> None:
    """One POST /api/generate of 10 names, timed; anything but 200 is a failure."""
    started = time.perf_counter()
    try:
        response = await client.post("/api/generate", json={"count": 10, "temperature": 1.0, "seed": n})
    except httpx.HTTPError as exc:
        report.failures.append(f"request {n}: {type(exc).__name__}: {exc}")
        return
    report.latencies_ms.append((time.perf_counter() - started) * 1000)
    if response.status_code != 200:
        report.failures.append(f"request {n}: {response.status_code} {response.text[:200]}")


async def drive(
    url: str,
    clients: int,
    rate: float,
    seconds: float,
    pid: int | None = None,
    every_second: Callable[[], None] | None = None,
) -> LoadReport:
    """`clients` SSE streams open while `rate` generate requests a second go out for `seconds`."""
    report, stop = LoadReport(), asyncio.Event()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        flags = [asyncio.Event() for _ in range(clients)]
        streams = [asyncio.create_task(sse_stream(url, report, f, stop)) for f in flags]
        await asyncio.wait_for(asyncio.gather(*(f.wait() for f in flags)), timeout=60)
        report.steps = ((await client.get("/api/status")).json()["step"], 0)
        start, sent, tasks, next_tick = time.perf_counter(), 0, [], 0.0
        total = round(rate * seconds)
        while sent < total:
            now = time.perf_counter() - start
            if now >= sent / rate:
                tasks.append(asyncio.create_task(generate_once(client, report, sent)))
                sent += 1
                continue
            if now >= next_tick:
                if pid is not None:
                    report.rss_mb.append((now, rss_mb(pid)))
                if every_second is not None:
                    every_second()
                next_tick += 1.0
            await asyncio.sleep(min(sent / rate, next_tick) - now)
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
        report.seconds = time.perf_counter() - start
        report.steps = (report.steps[0], (await client.get("/api/status")).json()["step"])
        report.requests = sent
        stop.set()
        await asyncio.gather(*streams, return_exceptions=True)
    return report


# ------------------------------------------------------------ the stand-alone bench
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, runs: str) -> subprocess.Popen[bytes]:
    """`python -m app` on 127.0.0.1:port, training the default configuration from the start."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OPENBLAS_NUM_THREADS": "1",
        "BPTT_LAB_HOST": "127.0.0.1",
        "BPTT_LAB_PORT": str(port),
        "BPTT_LAB_RUNS_DIR": runs,
        "BPTT_LAB_AUTOSTART": "true",
        "BPTT_LAB_TRAIN": json.dumps({"max_steps": 10_000_000}),
    }
    out = subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=env, stdout=out, stderr=out)


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
