"""The Ray executor: the same `Worker` class (app/training/worker.py) hosted by Ray actors.

    BPTT_LAB_EXECUTOR=ray                              a local Ray, started by the server
    BPTT_LAB_EXECUTOR=ray BPTT_LAB_RAY_ADDRESS=host:port   an existing Ray cluster

It offers what the local pool offers (`open`, `call`, `close`, `shutdown`), so
the service does not know which one it runs on. Each actor runs the worker's
loop on a thread of its own and answers commands between slices of stepping;
a poller thread per actor in the web process fetches what the runs reported
(`drain`) and hands it to their listeners. Ray restarts a lost actor (a killed
process, a lost node) with nothing in it; the poller sees the new incarnation
and the runs come back from their last checkpoints, which the web process
holds: nothing a worker or a node loses was only there.

A local Ray talks over loopback only: node address 127.0.0.1 and
RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (without it Ray binds and connects to the
machine's network address), no dashboard, no usage statistics.
"""

from __future__ import annotations

import importlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Sequence
from typing import Any

from app.training.outbox import Checkpoint, Event, Outbox
from app.training.placement import Placement
from app.training.pool import ERRORS, SLICE, WorkerLostError, answer_command
from app.training.states import NotNowError
from app.training.worker import Worker, lower_priority

log = logging.getLogger("bptt_lab.ray")

LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
DRAIN_WAIT = 0.2  # seconds an actor holds a drain call open when it has nothing to send
CALL_TIMEOUT = 60.0


def _ray() -> Any:
    """The ray module (an optional extra: `pip install 'bptt-lab[ray]'`), imported on first use."""
    return importlib.import_module("ray")


class WorkerActor:
    """A `Worker` in a Ray actor: its loop on a thread, commands and drains between its slices."""

    def __init__(self) -> None:
        self.incarnation = secrets.token_hex(8)  # a restarted actor is a new one, with no runs
        lower_priority()
        self.worker = Worker(Outbox())
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._shipped: list[tuple[list[Event], list[Checkpoint]]] = []
        threading.Thread(target=self._loop, name="bptt-ray-worker", daemon=True).start()

    def call(self, key: str, command: str, args: Sequence[Any]) -> tuple[bool, Any]:
        """Carry out a command (see `Worker.handle`); (True, answer) or (False, error parts)."""
        with self._lock:
            answer = answer_command(self.worker, key, command, args)
            self._take()
            return answer

    def drain(self, wait: float = DRAIN_WAIT) -> tuple[str, list[tuple[list[Event], list[Checkpoint]]]]:
        """This actor's incarnation and what its runs reported since the last drain."""
        with self._ready:
            if not self._shipped:
                self._ready.wait(wait)
            shipped, self._shipped = self._shipped, []
        return self.incarnation, shipped

    def pid(self) -> int:
        """The process the actor lives in."""
        return os.getpid()

    def node(self) -> str:
        """The Ray node the actor lives on."""
        node_id: str = _ray().get_runtime_context().get_node_id()
        return node_id

    def _loop(self) -> None:
        while True:
            with self._lock:
                wait = self.worker.work(SLICE)
                self._take()
            time.sleep(max(wait, 0.0005))

    def _take(self) -> None:
        if self.worker.outbox:
            self._shipped.append(self.worker.outbox.take())
            self._ready.notify_all()


class RayClient:
    """One actor seen from the web process: its calls and the poller that fetches its reports."""

    def __init__(self, index: int, pool: RayPool, handle: Any) -> None:
        self.index, self.pool, self.handle = index, pool, handle
        self.incarnation: str | None = None
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name=f"bptt-ray-poller-{index}", daemon=True)
        self._poller.start()

    def call(self, key: str, command: str, *args: Any, timeout: float = CALL_TIMEOUT) -> Any:
        """Send a command about run `key` and wait for the answer (a RunError is raised again here)."""
        ray = _ray()

        try:
            ok, value = ray.get(self.handle.call.remote(key, command, args), timeout=timeout)
        except ray.exceptions.RayActorError as exc:
            raise WorkerLostError(f"the actor holding run {key!r} is being restarted ({exc})") from None
        if ok:
            return value
        kind, message, field = value
        raise ERRORS.get(kind, NotNowError)(message, field)

    def pid(self) -> int:
        """The process the actor lives in now."""
        pid: int = _ray().get(self.handle.pid.remote(), timeout=CALL_TIMEOUT)
        return pid

    def stop(self) -> None:
        """Stop polling and end the actor."""
        ray = _ray()

        self._stop.set()
        ray.kill(self.handle, no_restart=True)

    def _poll(self) -> None:
        ray = _ray()

        while not self._stop.is_set():
            try:
                incarnation, shipped = ray.get(self.handle.drain.remote(), timeout=30)
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as exc:
                if not self._stop.is_set():
                    log.warning("actor %d is not answering (%s); Ray restarts it", self.index, exc)
                    time.sleep(0.2)
                continue
            except Exception:  # Ray shutting down under us
                if self._stop.is_set():
                    return
                time.sleep(0.2)
                continue
            if self.incarnation is not None and incarnation != self.incarnation:
                self.incarnation = incarnation
                self.pool.restarted(self)
            self.incarnation = incarnation
            for events, checkpoints in shipped:
                self.pool.deliver(events, checkpoints)


class RayPool(Placement[RayClient]):
    """`workers` Ray actors hosting the worker class, and the runs placed on them."""

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        os.environ.update(LOOPBACK_ENV)
        ray = _ray()
        if not ray.is_initialized():
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(
                    _node_ip_address="127.0.0.1",
                    include_dashboard=False,
                    num_cpus=workers or os.cpu_count() or 1,
                    log_to_driver=False,
                    runtime_env={"env_vars": dict(LOOPBACK_ENV)},
                )
        count = workers or max(int(ray.cluster_resources().get("CPU", 1)), 1)
        remote = ray.remote(
            num_cpus=0.5, max_restarts=-1, max_task_retries=0, max_concurrency=4, scheduling_strategy="SPREAD"
        )(WorkerActor)
        super().__init__([RayClient(i, self, remote.remote()) for i in range(count)])

    def restarted(self, client: RayClient) -> None:
        """Ray restarted an actor with nothing in it: bring its runs back from their checkpoints."""
        self.bring_back(client)
