"""Training guards: divergence and collapse (a discriminator that wins outright) roll training back."""

from __future__ import annotations

import pytest

from explorer.config import TrainConfig
from explorer.gan import steps
from explorer.gan.events import Rollback
from explorer.gan.guards import Guard
from explorer.gan.train import TrainingDiverged, train_loop
from tests.factories import tiny_config


def test_guard_flags_a_discriminator_that_wins_outright():
    g = Guard(TrainConfig(loss="nonsaturating"), warmup=20)
    assert all(g.check(s, 2.0, 0.6) is None for s in range(300))         # a healthy game
    assert g.healthy()
    fired = next(s for s in range(300, 1000) if g.check(s, 6.0, 0.001) is not None)
    assert 300 + 100 < fired < 300 + 250                # once the ~30-step average is below 0.005
    assert not g.healthy() and "won outright" in g.check(fired + 1, 6.0, 0.001)
    g.reset()
    assert g.healthy() and g.check(0, 6.0, 0.001) is None                 # warm-up again after a rollback


def test_guard_divergence_and_losses_without_a_collapse_floor():
    assert "non-finite" in Guard(TrainConfig()).check(1, float("nan"), 0.5)
    assert "too large" in Guard(TrainConfig(divergence_limit=10)).check(1, 11.0, 0.5)
    for loss in ("hinge", "wgan-gp"):                  # D loss 0 (or below) is no sign of collapse there
        g = Guard(TrainConfig(loss=loss), warmup=0)
        assert all(g.check(s, 1.0, 0.0) is None for s in range(500)) and g.healthy()
    off = Guard(TrainConfig(collapse_d_loss=0.0), warmup=0)
    assert all(off.check(s, 1.0, 0.0) is None for s in range(500))


def _winning_d(monkeypatch, calls: range):
    """D's loss reads 1.0, except on the given d_loss calls (1-based), where it reads 0: D 'wins outright'.
    With the guard's warm-up at 10 steps and its average halving each step (GUARD below), the steps it
    reacts at are known exactly."""
    real, n = steps.d_loss, {"i": 0}

    def patched(kind, lr_, lf_):
        n["i"] += 1
        return real(kind, lr_, lf_) * 0 + (0.0 if n["i"] in calls else 1.0)

    monkeypatch.setattr(steps, "d_loss", patched)


GUARD = {"collapse_warmup": 10, "collapse_decay": 0.5}


def test_collapse_rolls_back_to_a_healthy_checkpoint(tmp_path, tiny_ds, monkeypatch):
    # D wins from step 21: the average is 0.5**n after n steps, unhealthy (< 2 x 0.005) from step 27, so
    # the checkpoint at 27 must not become the state to roll back to; below 0.005 at step 28: rollback
    # to step 26, and step 27's checkpoint is deleted (a resume must not start on the bad path).
    _winning_d(monkeypatch, range(21, 29))
    events, on_disk = [], {}

    def seen(e):
        events.append(e)
        if isinstance(e, Rollback):
            on_disk["steps"] = sorted(int(p.stem[5:]) for p in (tmp_path / "checkpoints").glob("step-*.json"))

    r = train_loop(tiny_config(steps=40, checkpoint_every=1, loss="nonsaturating", **GUARD), tiny_ds,
                   on_progress=seen, run_dir=tmp_path)
    rb = [e for e in events if isinstance(e, Rollback)]
    assert len(rb) == 1 and "won outright" in rb[0].message
    assert (rb[0].step, rb[0].bad_step) == (26, 28)
    assert on_disk["steps"] == [26]
    assert r.step == 40 and r.rollbacks == 1


def test_a_collapse_that_keeps_coming_back_stops_with_a_message(tmp_path, tiny_ds, monkeypatch):
    _winning_d(monkeypatch, range(1, 10**6))
    with pytest.raises(TrainingDiverged, match="won outright"):
        train_loop(tiny_config(steps=200, checkpoint_every=5, loss="nonsaturating", **GUARD), tiny_ds,
                   run_dir=tmp_path)
