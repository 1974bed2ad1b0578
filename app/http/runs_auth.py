"""Who may drive a run: its own token, or the teacher's (docs/ARCHITECTURE.md "Who may drive").

The default run is driven as before: by anyone on 127.0.0.1, or only with the
teacher's `BPTT_LAB_CONTROL_TOKEN` when one is set. A visitor's run is driven
with the run token its creation returned, or with the teacher's token:

    no token, or a token that is no run's     401, saying which token it needs
    a valid token of another run              403, saying so
"""

from __future__ import annotations

from fastapi import HTTPException

from app.http.control import MISSING, WRONG, token_matches
from app.settings import Settings
from app.training.registry import holds_token
from app.training.service import DEFAULT_RUN, TrainingService

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="bptt-lab"'}
NEEDS_TOKEN = "driving this run needs its run token (Authorization: Bearer <token>), or the teacher's"
NOT_A_TOKEN = "this token is no run's: use the token this run's creation returned"
OTHERS_TOKEN = "this token drives another run, not this one: only watching this run is open to you"


def is_teacher(settings: Settings, given: str) -> bool:
    """Whether `given` is the teacher's control token."""
    return settings.control_token is not None and token_matches(
        given, settings.control_token.get_secret_value()
    )


def check_run_control(run_id: str, service: TrainingService, settings: Settings, given: str) -> None:
    """Refuse a request to change run `run_id` unless it carries a token that may (401 or 403)."""
    if is_teacher(settings, given):
        return
    if run_id == DEFAULT_RUN:
        if settings.control_token is None:
            return
        raise HTTPException(401, WRONG if given else MISSING, headers=CHALLENGE)  # the teacher's token
    run = service.runs.get(run_id)
    if given and run is not None and holds_token(run, given):
        return
    if not given:
        raise HTTPException(401, NEEDS_TOKEN, headers=CHALLENGE)
    if any(holds_token(other, given) for other in service.runs.values()):
        raise HTTPException(403, OTHERS_TOKEN)
    raise HTTPException(401, NOT_A_TOKEN, headers=CHALLENGE)
