"""Training loop: determinism, exact resume, callbacks, divergence rollback, fine-tuning, losses."""

from __future__ import annotations

import math

import pytest
import torch

from explorer.config import LOSSES
from explorer.gan import checkpoint as ckpt
from explorer.gan import steps
from explorer.gan.events import Done, Info, Progress, Rollback, Sample
from explorer.gan.train import TrainingDiverged, train_loop
from tests.factories import make_dataset, tiny_config


def _weights(run) -> dict[str, torch.Tensor]:
    tensors, _ = ckpt.load_training(run)
    return {k: v for k, v in tensors.items() if k.startswith(("G.", "G_ema.", "D."))}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_same_seed_same_weights(tmp_path, tiny_ds):
    cfg = tiny_config(steps=3)
    train_loop(cfg, tiny_ds, run_dir=tmp_path / "a")
    train_loop(cfg, tiny_ds, run_dir=tmp_path / "b")
    assert _same(_weights(tmp_path / "a"), _weights(tmp_path / "b"))
    cfg2 = tiny_config(steps=3, seed=1)
    train_loop(cfg2, tiny_ds, run_dir=tmp_path / "c")
    assert not _same(_weights(tmp_path / "a"), _weights(tmp_path / "c"))


def test_resume_continues_exactly(tmp_path, tiny_ds):
    """4 steps in one go == 2 steps, stop, resume, 2 more steps (and resume starts at step 2, not 0)."""
    full = tiny_config(steps=4, augment_p=0.5, ada_target=0.6)
    train_loop(full, tiny_ds, run_dir=tmp_path / "full")
    stop_after = {"n": 0}

    def should_stop():
        stop_after["n"] += 1
        return stop_after["n"] > 2

    r1 = train_loop(full, tiny_ds, should_stop=should_stop, run_dir=tmp_path / "split")
    assert (r1.step, r1.reason) == (2, "stopped")
    events = []
    r2 = train_loop(full, tiny_ds, on_progress=events.append, run_dir=tmp_path / "split", resume=True)
    assert r2.step == 4
    assert any(isinstance(e, Info) and "resumed from step 2" in e.message for e in events)
    assert [e.step for e in events if isinstance(e, Progress)] == [3, 4]
    assert _same(_weights(tmp_path / "full"), _weights(tmp_path / "split"))


def test_callbacks_and_outputs(tmp_path, tiny_ds):
    events, saved = [], []
    cfg = tiny_config(steps=4, sample_every=2, checkpoint_every=2)
    r = train_loop(cfg, tiny_ds, on_progress=events.append, on_checkpoint=lambda e: saved.append(e.step),
                   run_dir=tmp_path)
    kinds = [type(e) for e in events]
    assert kinds.count(Progress) == 4 and kinds.count(Sample) == 2 and kinds[-1] is Done
    p = [e for e in events if isinstance(e, Progress)][-1]
    for key in ("img_per_s", "eta_s", "loss_g", "loss_d", "d_real", "d_fake", "augment_p"):
        assert math.isfinite(getattr(p, key))
    assert saved == [2, 4, 4]
    assert len(list((tmp_path / "checkpoints").glob("step-*.json"))) == 2      # keeps the newest two
    assert (tmp_path / "samples" / "step-00000004.png").exists()
    G, meta = ckpt.load_generator(tmp_path / "model.json")
    assert meta["training"]["steps"] == 4 and meta["class_names"] == ["class0", "class1", "class2"]
    assert 0 <= r.timing["bookkeeping_share"] < 1


def test_divergence_rolls_back(tmp_path, tiny_ds, monkeypatch):
    """A NaN loss at step 3 restores the step-2 checkpoint, halves the learning rates and says so."""
    real_g_loss, calls = steps.g_loss, {"n": 0}

    def flaky(kind, fake):
        calls["n"] += 1
        out = real_g_loss(kind, fake)
        return out * float("nan") if calls["n"] == 3 else out

    monkeypatch.setattr(steps, "g_loss", flaky)
    events = []
    r = train_loop(tiny_config(steps=5, checkpoint_every=1), tiny_ds, on_progress=events.append, run_dir=tmp_path)
    rb = [e for e in events if isinstance(e, Rollback)]
    assert len(rb) == 1 and (rb[0].step, rb[0].bad_step) == (2, 3)
    assert "rolled back to step 2" in rb[0].message
    assert r.step == 5 and r.rollbacks == 1
    tensors, meta = ckpt.load_training(tmp_path)
    assert meta["lr_scale"] == 0.5 and meta["rollbacks"] == 1
    assert all(torch.isfinite(v.float()).all() for k, v in tensors.items() if k.startswith(("G.", "D.")))


def test_repeated_divergence_stops_with_message(tmp_path, tiny_ds, monkeypatch):
    monkeypatch.setattr(steps, "g_loss", lambda kind, fake: fake.mean() * float("inf"))
    with pytest.raises(TrainingDiverged, match="diverged"):
        train_loop(tiny_config(steps=5), tiny_ds, run_dir=tmp_path)


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_trains(tmp_path, tiny_ds, loss):
    r = train_loop(tiny_config(steps=2, loss=loss, r1_gamma=1.0 if loss == "hinge" else 0.0), tiny_ds)
    assert r.step == 2 and r.last is not None and math.isfinite(r.last.loss_g) and math.isfinite(r.last.loss_d)


def test_finetune_with_freezed(tmp_path, tiny_ds):
    train_loop(tiny_config(steps=2), tiny_ds, run_dir=tmp_path / "base")
    before = _weights(tmp_path / "base")
    events = []
    train_loop(tiny_config(steps=2, freeze_d=1), tiny_ds, on_progress=events.append,
               run_dir=tmp_path / "ft", init_from=tmp_path / "base")
    after = _weights(tmp_path / "ft")
    assert any(isinstance(e, Info) and "fine-tuning from" in e.message for e in events)
    frozen = [k for k in before if k.startswith("D.blocks.0.") and "original" in k]
    assert frozen and all(torch.equal(before[k], after[k]) for k in frozen)
    assert not torch.equal(before["D.blocks.1.c1.parametrizations.weight.original"],
                           after["D.blocks.1.c1.parametrizations.weight.original"])


def test_dataset_shape_mismatch_is_clear(tiny_ds):
    cfg = tiny_config()
    rgb = make_dataset(ch=3)
    with pytest.raises(ValueError, match="model expects"):
        train_loop(cfg, rgb)
    unl = make_dataset(classes=0)
    with pytest.raises(ValueError, match="labelled"):
        train_loop(cfg, unl)


def test_classic_dcgan_preset_trains(tmp_path):
    import dataclasses

    from explorer.config import preset
    m = preset("classic-dcgan", 32, 1, 10)
    assert m.generator.num_classes == 0 and m.train.loss == "nonsaturating" and m.train.augment == ""
    assert (m.train.lr_g, m.train.beta1, m.train.ema_half_life_k) == (2e-4, 0.5, 0.0)
    m = dataclasses.replace(m, train=dataclasses.replace(m.train, steps=2, batch_size=8))
    r = train_loop(m, make_dataset(classes=0), run_dir=tmp_path)
    assert r.step == 2
