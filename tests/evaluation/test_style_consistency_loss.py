"""The style-consistency loss (explorer/evaluation/style_consistency_loss.py): it measures what the style bar
measures (glyphmetrics.attribute_spread), pays only for spread above real faces', trains G through its
gradient, and joins a tiny glyph model's training by the CLI's config."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from explorer.commands.train import extra_losses
from explorer.config import preset
from explorer.data.glyphmetrics import CHARS, SLANT_GLYPHS, attribute_spread
from explorer.evaluation.style_consistency_loss import (
    TERMS,
    face_spread,
    hole_density,
    isolated_ink,
    real_targets,
    style_loss,
)
from explorer.gan.events import Progress
from explorer.gan.train import train_loop
from tests.glyph_stacks import GLYPHS, glyph_dataset, render_stacks


def _sheared(stacks: torch.Tensor, shear: list[float]) -> torch.Tensor:
    """Each glyph i of every face sheared by shear[i] (x += shear * (y - centre)), as float ink in [0, 1]."""
    ink = stacks.float() / 255.0
    n, g, h, w = ink.shape
    out = torch.zeros_like(ink)
    ys = torch.arange(h).float()
    for i in range(g):
        for y in range(h):
            shift = int(round(shear[i] * (h / 2 - ys[y].item())))
            out[:, i, y] = ink[:, i, y].roll(shift, dims=-1)
    return out


def test_it_measures_what_the_style_bar_measures():
    stacks = render_stacks(n=6, res=48)
    mixed = (_sheared(stacks, [0.3 * (i % 2) for i in range(len(CHARS))]) * 255).round().to(torch.uint8)
    for x in (stacks, mixed):
        ours = face_spread(x.float() / 255.0)
        theirs = attribute_spread(x.numpy())
        for k in ("slant", "contrast"):
            ok = np.isfinite(theirs[k])
            assert ok.any()
            assert np.allclose(ours[k].numpy()[ok], theirs[k][ok], atol=1e-3), k
        assert np.allclose(ours["stroke_width"].numpy(), theirs["stroke_width"], rtol=0.05, atol=1e-3)


def test_glyphs_that_lean_differently_pay_and_one_slant_does_not():
    stacks = render_stacks(n=4, res=48)
    slant = {CHARS.index(c) for c in SLANT_GLYPHS}
    upright = _sheared(stacks, [0.0] * len(CHARS))
    same = _sheared(stacks, [0.25] * len(CHARS))                         # an italic: every glyph leans alike
    mixed = _sheared(stacks, [0.25 if i in slant and i % 2 else 0.0 for i in range(len(CHARS))])
    targets = real_targets(stacks)
    loss = style_loss(targets, weight=1.0)
    spread = {name: float(face_spread(x)["slant"].mean()) for name, x in
              (("upright", upright), ("same", same), ("mixed", mixed))}
    assert spread["mixed"] > 3 * max(spread["upright"], spread["same"])
    assert float(loss(mixed * 2 - 1, 0)) > float(loss(same * 2 - 1, 0)) + 0.1


def test_only_the_excess_over_real_faces_is_paid_and_it_has_a_gradient():
    stacks = render_stacks(n=4, res=48)
    faces = (stacks.float() / 127.5 - 1.0)
    targets = real_targets(stacks)
    assert set(targets) == set(TERMS) and all(v >= 0 for v in targets.values())
    generous = style_loss({k: 10 * v for k, v in targets.items()}, weight=1.0)
    assert float(generous(faces, 0)) == 0.0                               # real spread, far below the targets
    noisy = (faces + 0.6 * torch.rand(faces.shape, generator=torch.Generator().manual_seed(0))).clamp(-1, 1)
    noisy.requires_grad_(True)
    one = style_loss(targets, weight=1.0)(noisy, 0)
    two = style_loss(targets, weight=2.0)(noisy, 0)
    assert float(one.detach()) > 0 and float(two.detach()) == pytest.approx(2 * float(one.detach()), rel=1e-5)
    one.backward()
    assert noisy.grad is not None and float(noisy.grad.abs().sum()) > 0


def test_pin_holes_in_strokes_pay_and_clean_strokes_do_not():
    stacks = render_stacks(n=4, res=48)
    ink = stacks.float() / 255.0
    holes = ink.clone()
    holes[..., 1::3, 1::3] = 0.0                                            # dither: a pin-hole every 3 px
    clean, speckled = hole_density(ink), hole_density(holes)
    assert bool((speckled > 2 * clean).all())
    targets = real_targets(stacks)
    loss = style_loss({**targets, "holes": float(clean.mean()) * 1.01}, weight=1.0, texture_weight=1.0)
    assert float(loss(ink * 2 - 1, 0)) < float(loss(holes * 2 - 1, 0)) - 0.05
    off = style_loss({**targets, "holes": float(clean.mean()) * 1.01}, weight=1.0)    # texture off: the default
    assert float(off(holes * 2 - 1, 0)) == float(style_loss(targets, weight=1.0)(holes * 2 - 1, 0))


def test_specks_around_glyphs_pay_and_a_glyph_alone_does_not():
    stacks = render_stacks(n=4, res=48)
    ink = stacks.float() / 255.0
    specked = ink.clone()
    specked[..., 2, 2] = 1.0                                                # one dot in every cell's corner
    specked[..., 45, 40] = 0.8
    assert float(isolated_ink(ink).max()) < 0.01
    assert bool((isolated_ink(specked) > isolated_ink(ink) + 0.005).all())
    targets = real_targets(stacks)
    loss = style_loss(targets, weight=1.0, texture_weight=1.0)
    assert float(loss(specked * 2 - 1, 0)) > float(loss(ink * 2 - 1, 0)) + 0.05


def test_bad_targets_and_stacks_are_refused():
    with pytest.raises(ValueError, match="positive"):
        style_loss({"slant": 1.0}, weight=1.0)
    with pytest.raises(ValueError, match=">= 0"):
        style_loss(real_targets(render_stacks(n=2, res=48)), weight=1.0, texture_weight=-1.0)
    with pytest.raises(ValueError, match="no real face"):
        real_targets(torch.zeros(2, len(CHARS), 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match="glyph stacks"):
        face_spread(torch.zeros(2, 3, 32, 32))


def _tiny(**train):
    m = preset("tiny", 32, 1, 0, glyphs=GLYPHS)
    return dataclasses.replace(m, train=dataclasses.replace(m.train, steps=4, log_every=2, **train))


def test_a_tiny_glyph_model_trains_with_the_style_loss_and_reports_it():
    cfg = _tiny(style_weight=1.0)
    ds = glyph_dataset(n=8)
    events: list = []
    plain = train_loop(_tiny(), glyph_dataset(n=8))
    styled = train_loop(cfg, ds, on_progress=events.append, extra_loss=extra_losses(cfg, ds))
    rows = [e for e in events if isinstance(e, Progress)]
    assert rows and all(r.loss_style > 0 and r.loss_read == 0 for r in rows)    # an untrained G's glyphs disagree
    assert plain.nets is not None and styled.nets is not None
    assert any(not torch.equal(p, q) for p, q in zip(plain.nets.G.parameters(), styled.nets.G.parameters()))


def test_the_style_loss_needs_glyph_stacks():
    from explorer.data.datasets import ImageDataset
    grey = ImageDataset(torch.zeros(4, 1, 32, 32, dtype=torch.uint8), None, [], {"source": "grey"})
    with pytest.raises(ValueError, match="glyph stacks"):
        extra_losses(_tiny(style_weight=1.0), grey)
    with pytest.raises(ValueError, match="style_weight"):
        _tiny(style_weight=-1.0)
