"""Resuming a run: what it records is what it runs (options applied for real), its classes are its own,
its metrics log holds each step once, and a stop's last progress report names the step it keeps."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from explorer.data.datasets import ImageDataset
from explorer.gan import checkpoint as ckpt
from explorer.gan.classes import ClassMismatch
from explorer.gan.events import Checkpoint, Info, Progress
from explorer.gan.train import train_loop
from tests.factories import make_dataset, tiny_config


def _stop_after(n: int):
    calls = {"n": 0}

    def should_stop() -> bool:
        calls["n"] += 1
        return calls["n"] > n
    return should_stop


def _rows(run) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_resume_trains_with_the_learning_rates_and_betas_its_config_records(tmp_path, tiny_ds):
    run = tmp_path / "run"
    train_loop(tiny_config(steps=2), tiny_ds, run_dir=run)
    events: list = []
    new = tiny_config(steps=3, lr_g=1e-5, lr_d=3e-5, beta1=0.5)
    r = train_loop(new, tiny_ds, on_progress=events.append, run_dir=run, resume=True)
    assert r.nets is not None
    g_groups, d_groups = r.nets.opt_G.param_groups, r.nets.opt_D.param_groups
    assert g_groups[0]["lr"] == 1e-5 and g_groups[1]["lr"] == pytest.approx(1e-5 * new.train.mapping_lr_mult)
    assert d_groups[0]["lr"] == 3e-5 and all(g["betas"] == (0.5, 0.99) for g in g_groups + d_groups)
    _, meta = ckpt.load_training(run)                     # what the checkpoint records is what ran
    assert meta["optimizers"]["opt_G"]["param_groups"][0]["lr"] == 1e-5
    assert meta["config"]["train"]["lr_g"] == 1e-5
    assert any(isinstance(e, Info) and "lr_g" in e.message for e in events)


def test_resume_with_augmentation_turned_on_starts_p_at_augment_p(tmp_path, tiny_ds):
    run = tmp_path / "run"
    train_loop(tiny_config(steps=2, augment="", ada_target=0.0), tiny_ds, run_dir=run)
    train_loop(tiny_config(steps=3, augment="translation", augment_p=0.5, ada_target=0.0), tiny_ds,
               run_dir=run, resume=True)
    _, meta = ckpt.load_training(run)
    assert meta["augment_p"] == 0.5                       # not the saved 0.0 of a run without augmentation


@pytest.mark.parametrize("names", [["class0", "class1", "class2", "class3"], ["class1", "class2", "zebra"]])
def test_resume_on_other_classes_names_both_lists(tmp_path, tiny_ds, names):
    run = tmp_path / "run"
    train_loop(tiny_config(steps=2), tiny_ds, run_dir=run)
    other = make_dataset(classes=len(names))
    other = ImageDataset(other.images, other.labels, names, other.description)
    with pytest.raises(ClassMismatch) as err:
        train_loop(tiny_config(steps=3), other, run_dir=run, resume=True)
    assert "[class0, class1, class2]" in str(err.value) and f"[{', '.join(names)}]" in str(err.value)
    assert ckpt.load_training(run)[1]["step"] == 2        # nothing was trained


def test_metrics_log_holds_each_step_once_after_a_crash(tmp_path, tiny_ds):
    """Killed after logging steps 3 and 4 but before their checkpoint: the resume replays them, once."""
    run = tmp_path / "run"
    train_loop(tiny_config(steps=4, checkpoint_every=2), tiny_ds, run_dir=run)
    for f in (run / "checkpoints").glob("step-00000004.*"):
        f.unlink()                                        # as if killed between the log and the checkpoint
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"kind": "progress", "st')               # and in the middle of a line
    train_loop(tiny_config(steps=5, checkpoint_every=2), tiny_ds, run_dir=run, resume=True)
    assert [r["step"] for r in _rows(run)] == [1, 2, 3, 4, 5]


def test_a_rollback_drops_the_rows_of_the_bad_path(tmp_path, tiny_ds, monkeypatch):
    from explorer.gan import steps
    real, calls = steps.g_loss, {"n": 0}

    def flaky(kind, fake):
        calls["n"] += 1
        return real(kind, fake) * (float("nan") if calls["n"] == 4 else 1.0)
    monkeypatch.setattr(steps, "g_loss", flaky)
    train_loop(tiny_config(steps=5, checkpoint_every=2), tiny_ds, run_dir=tmp_path)
    assert [r["step"] for r in _rows(tmp_path)] == [1, 2, 3, 4, 5]     # 3 was logged, rolled back, replayed


def test_a_stop_reports_the_step_it_keeps(tmp_path, tiny_ds):
    events: list = []
    saved: list[Checkpoint] = []
    cfg = tiny_config(steps=10)
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, log_every=2))
    r = train_loop(cfg, tiny_ds, should_stop=_stop_after(3), on_progress=events.append,
                   on_checkpoint=saved.append, run_dir=tmp_path)
    progress = [e for e in events if isinstance(e, Progress)]
    assert (r.reason, r.step) == ("stopped", 3)
    assert progress[-1].step == saved[-1].step == 3 == _rows(tmp_path)[-1]["step"]


def test_runs_written_before_a_field_was_removed_still_resume(tmp_path, tiny_ds):
    """Older configs carry TrainConfig.num_workers (removed: it was never used); they load and resume."""
    run = tmp_path / "run"
    train_loop(tiny_config(steps=2), tiny_ds, run_dir=run)
    j = ckpt.latest_training(run)
    assert j is not None
    meta = json.loads(j.read_text())
    meta["config"]["train"]["num_workers"] = 0
    j.write_text(json.dumps(meta))                         # its sha256 names the weights, not the sidecar
    assert train_loop(tiny_config(steps=3), tiny_ds, run_dir=run, resume=True).step == 3


def test_resume_between_ada_updates_is_exact(tmp_path, tiny_ds):
    """A stop at step 3 of a 4-step ADA interval: the resumed run's p and weights match an uninterrupted run's
    (the r_t sum of the interval is in the checkpoint)."""
    cfg = tiny_config(steps=8, augment_p=0.5, ada_target=0.6, ada_speed_k=0.05)     # p moves a lot per update
    whole = train_loop(cfg, tiny_ds, run_dir=tmp_path / "whole")
    train_loop(cfg, tiny_ds, should_stop=_stop_after(3), run_dir=tmp_path / "split")
    split = train_loop(cfg, tiny_ds, run_dir=tmp_path / "split", resume=True)
    assert whole.last is not None and split.last is not None and whole.last.augment_p == split.last.augment_p
    a, b = ckpt.load_training(tmp_path / "whole")[0], ckpt.load_training(tmp_path / "split")[0]
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith(("G.", "G_ema.", "D.")))
