"""The load of a class: SSE watchers and generate requests against a server, counted.

`drive(url, clients, rate, seconds)` keeps `clients` Server-Sent Event streams
open on /api/events while it sends `rate` POST /api/generate requests a second
for `seconds` seconds, and reports what held: failures, lost streams, latency,
events, the server's memory (given its pid) and its training steps meanwhile.
bench/bench_load.py runs it at full size against `python -m app`;
tests/app/test_load.py runs a short form against a live server in the test process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx


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
