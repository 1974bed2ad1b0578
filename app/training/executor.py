"""What trains the runs: the local pool of worker processes, or Ray actors (BPTT_LAB_EXECUTOR).

Both host the same worker class (app/training/worker.py) and offer the same
calls, so the service never knows which one it runs on.
"""

from __future__ import annotations

from typing import Any, Protocol

from app.settings import Settings
from app.training.payloads import Status
from app.training.placement import Listener
from app.training.pool import LocalPool
from app.training.worker import RunSpec


class Executor(Protocol):
    """The calls the service makes of an executor (LocalPool, RayPool)."""

    @property
    def size(self) -> int:
        """How many workers it has."""
        ...

    def open(self, spec: RunSpec, listener: Listener) -> Status:
        """Place a run on a worker; its first status."""
        ...

    def call(self, key: str, command: str, *args: Any) -> Any:
        """A command about a run, answered by its worker."""
        ...

    def close(self, key: str, save: bool = True) -> None:
        """The run leaves its worker."""
        ...

    def shutdown(self) -> None:
        """End every worker."""
        ...


def start_executor(settings: Settings) -> Executor:
    """The executor the settings ask for, started."""
    if settings.executor == "ray":
        from app.training.ray_pool import RayPool  # ray is an optional extra

        return RayPool(settings.workers, settings.ray_address)
    return LocalPool(settings.workers)
