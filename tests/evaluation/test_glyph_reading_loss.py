"""The glyph reader's loss (explorer/evaluation/glyph_reading_loss.py): it reads the glyph each channel should
be, counts merge groups as one, trains G and not the reader, and joins a tiny glyph model's training."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from explorer.commands.train import extra_losses
from explorer.config import preset
from explorer.evaluation.glyph_reading_loss import group_mask, reading_loss
from explorer.evaluation.glyphs import train_and_ship
from explorer.gan import checkpoint as ckpt
from explorer.gan.events import Progress
from explorer.gan.train import train_loop
from tests.glyph_stacks import GLYPHS, glyph_dataset, render_stacks


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    stem = tmp_path_factory.mktemp("reader") / "reader"
    model, meta = train_and_ship(render_stacks(n=8, res=32), stem, epochs=20, max_glyphs=None, batch_size=32,
                                 on_progress=None, families=[f"fam{i // 2}" for i in range(8)], seed=1)
    groups = [list(map(int, g)) for g in meta["summary"]["groups"]]
    return stem, model, groups


def _scaled(stacks: torch.Tensor) -> torch.Tensor:
    return stacks.float() / 127.5 - 1.0


def test_right_glyphs_read_better_than_the_wrong_ones(reader):
    _, model, groups = reader
    faces = _scaled(render_stacks(n=4, res=32))                              # (4, 62, 32, 32)
    loss = reading_loss(model, groups, weight=1.0, per_face=62, seed=0)
    right = float(loss(faces, 0))
    shifted = float(loss(faces.roll(1, dims=1), 0))                             # channel i holds glyph i-1
    blank = float(loss(torch.full_like(faces, -1.0), 0))
    assert right < 0.5 * shifted and right < 0.5 * blank


def test_weight_scales_and_the_reader_stays_frozen(reader):
    _, model, groups = reader
    faces = _scaled(render_stacks(n=2, res=32)).requires_grad_(True)
    one = reading_loss(model, groups, weight=1.0, per_face=62, seed=0)(faces, 0)
    two = reading_loss(model, groups, weight=2.0, per_face=62, seed=0)(faces, 0)
    assert float(two.detach()) == pytest.approx(2 * float(one.detach()), rel=1e-5)
    two.backward()
    assert faces.grad is not None and float(faces.grad.abs().sum()) > 0     # G learns through the reader ...
    assert all(p.grad is None and not p.requires_grad for p in model.parameters())   # ... the reader does not


def test_merged_glyphs_count_as_read():
    mask = group_mask([[0, 2], [1]], 3)
    assert mask[0].tolist() == [0.0, float("-inf"), 0.0] and mask[1].tolist() == [float("-inf"), 0.0, float("-inf")]
    with pytest.raises(ValueError, match="exactly once"):
        group_mask([[0, 1], [1, 2]], 3)


def test_a_stack_of_another_depth_is_refused(reader):
    _, model, groups = reader
    with pytest.raises(ValueError, match="reads 62 glyphs but the stack has 3"):
        reading_loss(model, groups, 1.0)(torch.zeros(1, 3, 32, 32), 0)


def _tiny(**train):
    m = preset("tiny", 32, 1, 0, glyphs=GLYPHS)
    return dataclasses.replace(m, train=dataclasses.replace(m.train, steps=4, log_every=2, **train))


def test_a_tiny_glyph_model_trains_with_the_reader_and_reports_its_loss(reader, tmp_path):
    stem, _, _ = reader
    cfg = _tiny(reader=str(stem), reader_weight=1.0, reader_glyphs=8)
    events: list = []
    plain = train_loop(_tiny(), glyph_dataset(n=8))
    read = train_loop(cfg, glyph_dataset(n=8), on_progress=events.append, extra_loss=extra_losses(cfg))
    rows = [e for e in events if isinstance(e, Progress)]
    assert rows and all(r.loss_read > 0 for r in rows)
    assert plain.nets is not None and read.nets is not None
    assert any(not torch.equal(p, q) for p, q in zip(plain.nets.G.parameters(), read.nets.G.parameters()))


def test_a_resumed_run_with_the_reader_ends_where_an_unbroken_one_does(reader, tmp_path):
    stem, _, _ = reader
    cfg = _tiny(reader=str(stem), reader_weight=1.0, reader_glyphs=8, checkpoint_every=2)
    train_loop(cfg, glyph_dataset(n=8), run_dir=tmp_path / "full", extra_loss=extra_losses(cfg))
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 2
    first = train_loop(cfg, glyph_dataset(n=8), should_stop=stop, run_dir=tmp_path / "split",
                       extra_loss=extra_losses(cfg))
    assert first.step == 2
    train_loop(cfg, glyph_dataset(n=8), run_dir=tmp_path / "split", resume=True, extra_loss=extra_losses(cfg))
    a, _ = ckpt.load_training(tmp_path / "full")
    b, _ = ckpt.load_training(tmp_path / "split")
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith(("G.", "G_ema.", "D.")))


def test_reader_settings_are_checked(tmp_path):
    with pytest.raises(ValueError, match="needs a reader"):
        _tiny(reader_weight=1.0)
    assert extra_losses(_tiny()) is None                                      # weight 0: no reading loss
    with pytest.raises(ValueError, match="no glyph reader at"):
        extra_losses(_tiny(reader=str(tmp_path / "missing"), reader_weight=1.0))
