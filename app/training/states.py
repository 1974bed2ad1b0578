"""A run's states, what each allows, and the refusals a run gives.

    idle      a fresh model at step 0, not training       resume, step
    running   being stepped by the trainer                 pause
    paused    stopped by the user; weights kept            resume, step
    diverged  a step's loss or gradient blew up; the run   resume, step (after changing the
              is rolled back to its last good state        learning rate)
    finished  config.max_steps reached                     (raise max_steps to go on)

Start, reset and loading a checkpoint are allowed in every state. The table
`ALLOWED` is the one source: the run refuses an action with it, and the page
greys out the buttons with it.
"""

from __future__ import annotations

from enum import StrEnum


class RunState(StrEnum):
    """Where a run is; the value is what the API and the page say."""

    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    DIVERGED = "diverged"
    FINISHED = "finished"


class Action(StrEnum):
    """The actions that only some states allow."""

    PAUSE = "pause"
    RESUME = "resume"
    STEP = "step"


ALLOWED: dict[RunState, frozenset[Action]] = {
    RunState.IDLE: frozenset({Action.RESUME, Action.STEP}),
    RunState.RUNNING: frozenset({Action.PAUSE}),
    RunState.PAUSED: frozenset({Action.RESUME, Action.STEP}),
    RunState.DIVERGED: frozenset({Action.RESUME, Action.STEP}),
    RunState.FINISHED: frozenset(),
}

#: What to do instead, said when an action is refused in a state.
HINTS: dict[RunState, str] = {
    RunState.RUNNING: "pause it first",
    RunState.FINISHED: "raise max steps to go on, or start a new run",
    RunState.IDLE: "press Start or Resume",
    RunState.PAUSED: "press Resume",
    RunState.DIVERGED: "lower the learning rate, then Resume",
}

#: How an action is named in a refusal.
VERBS: dict[Action, str] = {Action.PAUSE: "pause", Action.RESUME: "resume", Action.STEP: "take one step"}


def allows(state: RunState) -> dict[str, bool]:
    """Each action and whether `state` allows it (the page's buttons)."""
    return {action.value: action in ALLOWED[state] for action in Action}


class RunError(Exception):
    """A run refused a request, said plainly; `field` names the value at fault, if one is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.field = message, field


class NotNowError(RunError):
    """The run cannot do this in its current state (or before something else is done)."""


class RefusedError(RunError):
    """A value the run will not take."""


class NoSuchRunError(RunError):
    """No run has this id."""


def check_allowed(state: RunState, action: Action) -> None:
    """NotNowError, saying what to do instead, unless `state` allows `action`."""
    if action not in ALLOWED[state]:
        raise NotNowError(f"cannot {VERBS[action]}: the run is {state}; {HINTS[state]}")
