"""Server settings, read from environment variables prefixed `BPTT_LAB_` (pydantic-settings).

BPTT_LAB_RUNS_DIR=./runs          where checkpoints (and an uploaded names file) live
BPTT_LAB_AUTOSTART=true           train on launch (or resume the saved run)
BPTT_LAB_CHECKPOINT_SECONDS=30    how often the running model is saved
BPTT_LAB_CONTROL_TOKEN=...        when set, changing the run needs it (app/http/control.py)
BPTT_LAB_TRAIN='{"hidden_size": 64}'   overrides of the default training config (JSON)
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The default run is paced so that a newcomer sees it learn for about two minutes
#: (10,000 steps at 80 a second; README). BPTT_LAB_TRAIN overrides it field by field.
DEFAULT_TRAIN: dict[str, Any] = {"steps_per_second": 80.0}


class Settings(BaseSettings):
    """Everything the server reads from its environment; defaults suit a laptop."""

    model_config = SettingsConfigDict(env_prefix="BPTT_LAB_", extra="ignore")

    runs_dir: Path = Path("runs")  # checkpoints of the default run go to runs_dir/default/
    host: str = "127.0.0.1"  # loopback: only this machine may drive the run
    port: int = Field(8000, ge=1, le=65535)
    autostart: bool = True  # train on the bundled names the moment the server starts
    checkpoint_seconds: float = Field(30.0, ge=0.5, le=86_400)  # between automatic saves
    control_token: SecretStr | None = None  # needed by the routes that change the run, if set
    names_file: Path | None = None  # the default data set; None: the bundled dinosaur names
    train: dict[str, Any] = Field(default_factory=dict)  # TrainConfig fields over DEFAULT_TRAIN
    blas_threads: int = Field(1, ge=1, le=64)  # threads NumPy's BLAS may use
    rollback_seconds: float = Field(1.0, ge=0, le=3600)  # between two captures of a run's last good state
    workers: int | None = Field(None, ge=1, le=256)  # worker processes that train; None: one per core
    executor: Literal["local", "ray"] = "local"  # where runs train: worker processes, or Ray actors
    ray_address: str | None = None  # an existing Ray cluster (host:port); None: start a local Ray
    max_runs: int = Field(64, ge=1, le=10_000)  # live runs in all
    max_runs_per_client: int = Field(8, ge=1, le=10_000)  # runs one visitor may hold
    visitor_runs: bool = True  # visitors may create runs (the teacher may close this)
    idle_minutes: float = Field(20.0, gt=0, le=10_080)  # a visitor's run with no viewer is paused
    run_ttl_hours: float = Field(24.0, gt=0, le=8_760)  # ... and deleted after this long idle
    graceful_shutdown_seconds: int = Field(3, ge=1, le=60)  # open streams are cut after this
    max_names_bytes: int = Field(1_000_000, ge=1_000)  # largest names file accepted
    max_checkpoint_bytes: int = Field(64_000_000, ge=10_000)  # largest checkpoint accepted
    max_body_bytes: int = Field(64_000, ge=1_000)  # largest JSON or form body accepted
    progress_hz: float = Field(10.0, gt=0, le=50)  # progress events per second, at most
    sse_queue_size: int = Field(64, ge=2, le=10_000)  # events buffered per slow subscriber


@lru_cache
def get_settings() -> Settings:
    """The settings of this process, read once from the environment."""
    return Settings()
