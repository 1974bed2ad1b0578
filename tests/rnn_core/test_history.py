"""record_point: merged evaluations, a doubling stride, and every key of a point kept."""

from __future__ import annotations

from rnn_core.history import record_point


def test_points_merge_by_step_and_thin_to_the_limit():
    history: list[dict] = []
    stride = 1
    for step in range(1, 101):
        point = {"step": step, "train_loss": 1.0 / step, "grad_norm": float(step), "clipped": step % 3 == 0}
        history, stride = record_point(history, point, stride, limit=10)
        if step % 10 == 0:
            history, stride = record_point(history, {"step": step, "val_loss": 2.0}, stride, limit=10)
        assert len(history) <= 10
    steps = [p["step"] for p in history]
    assert steps == sorted(set(steps)) and stride > 1
    for p in history:
        if "train_loss" in p:  # a kept training point keeps its own step's values
            assert p["grad_norm"] == p["step"] and p["clipped"] is (p["step"] % 3 == 0)
    assert any("val_loss" in p and "train_loss" in p for p in history)  # merged into its step
