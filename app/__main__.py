"""`python -m app`: serve BPTT Lab with uvicorn, one worker, on BPTT_LAB_HOST:BPTT_LAB_PORT.

On Ctrl-C or SIGTERM the event streams are ended first, so the graceful
shutdown does not wait on open browser tabs; the lifespan then stops the
training thread and saves the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from app.settings import get_settings


class Server(uvicorn.Server):
    """uvicorn's server, ending the SSE streams as soon as it is asked to stop."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Stop as uvicorn does, and first close the event hub on the server's loop."""
        from app.main import app

        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().call_soon_threadsafe(app.state.hub.close)
        super().handle_exit(sig, frame)


def log_config() -> dict[str, Any]:
    """uvicorn's logging, with the app's own loggers (`bptt_lab.*`) on the same stream."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["bptt_lab"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def main() -> None:
    """Run the server until interrupted."""
    settings = get_settings()
    config = uvicorn.Config(
        "app.main:app",
        host=settings.host,
        port=settings.port,
        workers=1,
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
        log_level="info",
        log_config=log_config(),
    )
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    print(f"BPTT Lab: open http://{host}:{settings.port}/ in a browser", flush=True)
    Server(config).run()


if __name__ == "__main__":
    main()
