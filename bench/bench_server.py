"""Benchmark of the web app against rnn_core alone; prints figures measured in one run.

    .venv/bin/python bench/bench_server.py [--seconds 8] [--clients 20]

1. Training throughput inside the running server (`python -m app`, one worker)
   with `--clients` browsers' worth of SSE streams connected, against rnn_core
   alone (the trainer's own loop, with its evaluations and samples) on the same
   configuration: steps and characters per second, and their ratio (target:
   >= 90%). Each is a process of its own; they are measured in turns, the
   server paused while rnn_core runs, and the medians compared, so the load of
   a shared machine weighs on both alike.
2. POST /api/generate of 10 names while the server trains: p50 and p95 latency
   (target: p95 < 50 ms).
3. The page's first load: bytes of the HTML and every asset it references
   (target: < 200 KB).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import httpx

# Run as a script, bench/ is on the path but not the repository root where rnn_core lives.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.servers import start_server_process
from rnn_core.config import TrainConfig
from rnn_core.data import bundled_names_path, load_names
from rnn_core.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]


def alone_window(config: TrainConfig, seconds: float) -> tuple[float, float]:
    """(steps/s, chars/s) of Trainer.run on the bundled names, after a second of warm-up."""
    trainer = Trainer(config, load_names(bundled_names_path()))
    chars = [0]
    trainer.add_callback("on_step_end", lambda _t, info: chars.__setitem__(0, chars[0] + info["chars"]))
    warm = time.perf_counter() + 1.0
    trainer.run(should_stop=lambda: time.perf_counter() > warm)
    step, chars[0], start = trainer.step, 0, time.perf_counter()
    trainer.run(should_stop=lambda: time.perf_counter() - start > seconds)
    elapsed = time.perf_counter() - start
    return (trainer.step - step) / elapsed, chars[0] / elapsed


def alone_in_a_process(config: TrainConfig, seconds: float) -> tuple[float, float]:
    """`alone_window` in a fresh process, as the server is one: the same footing for both."""
    out = subprocess.run(
        [sys.executable, __file__, "--alone", str(seconds), "--config", json.dumps(config.to_dict())],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    steps, chars = json.loads(out.stdout)
    return steps, chars


def start_server(port: int, runs: str, config: TrainConfig) -> subprocess.Popen[bytes]:
    """`python -m app` on 127.0.0.1:port, training `config` from the start."""
    return start_server_process(port, runs, config.to_dict())


async def wait_until_up(client: httpx.AsyncClient, timeout: float = 30.0) -> None:
    """Poll /api/status until the server answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await client.get("/api/status")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the server did not start")


async def sse_client(port: int, received: list[int], stop: asyncio.Event) -> None:
    """One browser's worth of /api/events, counted as it arrives until `stop`.

    A bare socket rather than an HTTP library: a browser parses its streams in a
    process of its own, and the server, not this client, is what is measured.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /api/events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
    await writer.drain()
    try:
        while not stop.is_set():
            chunk = await reader.read(65536)
            if not chunk:
                return
            received[0] += chunk.count(b"event:")
    finally:
        writer.close()


async def server_rate(client: httpx.AsyncClient, seconds: float) -> tuple[float, float]:
    """(steps/s, chars/s) of the server's run over `seconds`."""
    first = (await client.get("/api/status")).json()
    start = time.perf_counter()
    await asyncio.sleep(seconds)
    last = (await client.get("/api/status")).json()
    return (last["step"] - first["step"]) / (time.perf_counter() - start), last["chars_per_sec"]


async def compare(port: int, config: TrainConfig, seconds: float, rounds: int, clients: int) -> dict:
    """Server and rnn_core alone in turns (the server paused meanwhile), so load drift cancels."""
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await wait_until_up(client)
        received, stop = [0], asyncio.Event()
        streams = [asyncio.create_task(sse_client(port, received, stop)) for _ in range(clients)]
        await asyncio.sleep(1.5)  # every stream connected
        served, alone_rates, started, events_time = [], [], received[0], 0.0
        for _ in range(rounds):
            await client.post("/api/train/resume")
            await asyncio.sleep(0.5)
            before, t = received[0], time.perf_counter()
            served.append(await server_rate(client, seconds))
            events_time += time.perf_counter() - t
            started += received[0] - before
            await client.post("/api/train/pause")
            alone_rates.append(await asyncio.to_thread(alone_in_a_process, config, seconds))
        await client.post("/api/train/resume")
        await asyncio.sleep(0.5)

        latencies = []
        for _ in range(120):
            t = time.perf_counter()
            response = await client.post("/api/generate", json={"count": 10, "temperature": 1.0})
            latencies.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, response.text
        stop.set()
        for task in streams:
            task.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
    latencies.sort()
    return {
        "served": statistics.median(r[0] for r in served),
        "served_chars": statistics.median(r[1] for r in served),
        "alone": statistics.median(r[0] for r in alone_rates),
        "alone_chars": statistics.median(r[1] for r in alone_rates),
        "events_per_sec": started / events_time,
        "p50": statistics.median(latencies),
        "p95": latencies[int(0.95 * (len(latencies) - 1))],
    }


def first_load_bytes(base: str) -> tuple[int, dict[str, int]]:
    """Bytes of the page and every /static asset it references."""
    with httpx.Client(base_url=base, timeout=10) as client:
        html = client.get("/").content
        sizes = {"/": len(html)}
        for path in sorted(set(re.findall(rb'(?:src|href)="(/static/[^"]+)"', html))):
            sizes[path.decode()] = len(client.get(path.decode()).content)
    return sum(sizes.values()), sizes


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each window")
    parser.add_argument("--rounds", type=int, default=5, help="server/alone windows, in turns")
    parser.add_argument("--clients", type=int, default=20, help="SSE streams kept open")
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--alone", type=float, help=argparse.SUPPRESS)  # one window, as a worker
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.alone:
        config = TrainConfig.from_dict(json.loads(args.config))
        print(json.dumps(alone_window(config, args.alone)))
        return
    config = TrainConfig(max_steps=10_000_000)  # the default configuration, never finishing
    print(
        f"config: D_h={config.hidden_size} batch={config.batch_size} {config.optimizer}; "
        f"{args.rounds} rounds of {args.seconds:g} s, server and rnn_core alone in turns"
    )
    with tempfile.TemporaryDirectory() as runs:
        server = start_server(args.port, runs, config)
        base = f"http://127.0.0.1:{args.port}"
        try:
            got = asyncio.run(compare(args.port, config, args.seconds, args.rounds, args.clients))
            total, sizes = first_load_bytes(base)
        finally:
            server.terminate()
            server.wait(timeout=30)

    ratio = got["served"] / got["alone"]
    print(f"rnn_core alone:            {got['alone']:8.1f} steps/s  {got['alone_chars']:10,.0f} chars/s")
    print(
        f"in the server, {args.clients} SSE:   {got['served']:8.1f} steps/s  "
        f"{got['served_chars']:10,.0f} chars/s  ({got['events_per_sec']:.0f} events/s sent)"
    )
    print(f"throughput ratio:          {ratio:8.1%}   (target >= 90%)")
    print(
        f"generate 10 names:         p50 {got['p50']:.1f} ms, p95 {got['p95']:.1f} ms "
        "(while training; target p95 < 50 ms)"
    )
    detail = ", ".join(f"{k} {v / 1000:.1f}" for k, v in sizes.items())
    print(f"first load:                {total:,} bytes = {total / 1000:.1f} KB (target < 200 KB): {detail}")


if __name__ == "__main__":
    main()
