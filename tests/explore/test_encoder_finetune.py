"""The encoder's second phase (explorer/explore/encoder_finetune.py): real images through the frozen
generator, the held-out rule, the two-phase recipe of train_encoder_for_model, and the projection's
schedule from an encoder's guess (explorer/explore/inversion.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.explore import inversion
from explorer.explore.encoder import EncoderError, load_encoder, train_encoder, train_encoder_for_model
from explorer.explore.encoder_finetune import HOLDOUT_EVERY, encoder_holdout, finetune_encoder, real_images
from explorer.explore.inversion import LossWeights, ProjectConfig, Projector
from tests.factories import export_generator, tiny_generator

PIXELS = LossWeights(l2=1.0, l1=0.0, ms_ssim=0.0, critic=0.0, classifier=0.0, prior=0.0)


def _linear_model():
    """A tiny film model whose synthesis is replaced by tanh(A w) (w whitened per dimension): its images depend
    strongly on w, unlike a freshly initialised network's near-constant ones."""
    G = tiny_generator(classes=0, arch="film", w_avg=True)
    with torch.no_grad():
        w = G.mapping(torch.randn(512, G.cfg.z_dim, generator=torch.Generator().manual_seed(9)))
    mu, sd = w.mean(0), w.std(0)
    A = torch.randn(w.shape[1], 32 * 32, generator=torch.Generator().manual_seed(8)) / w.shape[1] ** 0.5
    G.synthesis = lambda ws: torch.tanh(((ws if ws.dim() == 2 else ws.mean(1)) - mu) / sd @ A).view(-1, 1, 32, 32)
    return G


def _off_domain(G, n: int, seed: int) -> torch.Tensor:
    """(n, C, H, W) uint8 'real' images: the model's samples spread to psi 2 (its encoder saw psi 0.6-1.8)."""
    z = torch.randn(n, G.cfg.z_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        w = G.mapping(z, None)
        x = G.synthesis(G.w_avg[0] + 2.0 * (w - G.w_avg[0]))
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def _first_guess_psnr(G, enc, images: torch.Tensor) -> float:
    proj = Projector(G, encoder=enc)
    return float(np.mean([proj.project(im.permute(1, 2, 0).numpy(), ProjectConfig(steps=0, weights=PIXELS))
                          .figures.psnr for im in images]))


def test_finetune_on_real_images_improves_the_first_guess_on_held_out_ones() -> None:
    G = _linear_model()
    enc, _ = train_encoder(G, steps=20, batch=8)
    train, held = _off_domain(G, 64, 1), _off_domain(G, 8, 2)       # held: never trained on
    before = _first_guess_psnr(G, enc, held)
    summary = finetune_encoder(G, enc, train, None, steps=40, batch=8, lr=1e-3, weights=PIXELS, latent_weight=0.1)
    after = _first_guess_psnr(G, enc, held)
    assert summary["real_steps"] == 40 and summary["real_loss_last"] < 0.5 * summary["real_loss_first"]
    assert after > before + 3.0, (before, after)                    # measured: 13.3 -> 19.5 dB
    assert not enc.training and not any(p.requires_grad for p in enc.parameters())
    with pytest.raises(ValueError, match="not"):
        finetune_encoder(G, enc, torch.zeros(2, 3, 32, 32, dtype=torch.uint8), None, steps=1)


def test_holdout_and_real_images_of_a_models_card(tmp_path) -> None:
    assert encoder_holdout(25).nonzero()[:, 0].tolist() == [0, HOLDOUT_EVERY, 2 * HOLDOUT_EVERY]
    G = tiny_generator(classes=0, arch="film")
    assert real_images({}, G)[0] is None and "no dataset" in real_images({}, G)[2]
    gone = real_images({"dataset": {"spec": str(tmp_path / "gone")}}, G)
    assert gone[0] is None and "cannot be loaded" in gone[2]
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(12):
        Image.fromarray(np.full((40, 40), i * 20, np.uint8)).save(folder / f"{i:02d}.png")
    imgs, labels, source = real_images({"dataset": {"spec": str(folder)}}, G)
    assert imgs is not None and imgs.shape == (10, 1, 32, 32) and labels is None and "held out" in source
    assert int(imgs[0].float().mean()) == 20                  # image 0 (and 10) held out


def test_the_recipe_trains_on_the_cards_images_and_can_fine_tune_the_existing_encoder(tmp_path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(20):
        Image.fromarray((rng.random((32, 32)) * 255).astype(np.uint8)).save(folder / f"{i:02d}.png")
    _, side = export_generator(tmp_path / "m" / "tiny", dataset={"spec": str(folder), "fit": "crop"})
    with pytest.raises(EncoderError, match="no encoder"):
        train_encoder_for_model(side, max_seconds=1.0, from_existing=True)
    j, s = train_encoder_for_model(side, max_seconds=4.0)
    assert s["steps"] > 0 and s["real_steps"] > 0 and "held out" in s["real_images"]
    j2, s2 = train_encoder_for_model(side, max_seconds=2.0, from_existing=True)
    assert j2 == j and s2["steps"] == s["steps"] and s2["real_steps"] > s["real_steps"]
    first, second = s2["real_rounds"]                       # both rounds on real images are on record
    assert first["real_steps"] == s["real_steps"] and s2["real_steps"] == first["real_steps"] + second["real_steps"]
    _, s4 = train_encoder_for_model(side, max_seconds=1.0, from_existing=True)
    assert len(s4["real_rounds"]) == 3 and s4["real_rounds"][:2] == s2["real_rounds"]
    assert load_encoder({**json.loads(side.read_text()), "path": str(side)}) is not None
    _, bare = export_generator(tmp_path / "n" / "tiny")                  # no dataset on its card: phase 1 only
    _, s3 = train_encoder_for_model(bare, max_seconds=1.0)
    assert "real_steps" not in s3 and "no dataset" in s3["real_images"]


def test_the_encoder_start_uses_its_own_schedule(monkeypatch) -> None:
    """Adam's learning-rate schedule (the L-BFGS default has none)."""
    cfg = ProjectConfig(lr=0.2, encoder_lr=0.04, encoder_rampup=0.0, encoder_rampdown=0.5)
    assert cfg.schedule(True) == (0.04, 0.0, 0.5) and cfg.schedule(False) == (0.2, 0.05, 0.25)
    assert inversion._lr_at(0.01, 1.0, 0.25, 0.0) == pytest.approx(1.0)                 # no ramp-up
    assert inversion._lr_at(0.01, 1.0, 0.25, 0.05) < 0.2
    with pytest.raises(ValueError):
        ProjectConfig(encoder_lr=0)
    G = tiny_generator(classes=0, arch="film", w_avg=True)
    enc, _ = train_encoder(G, steps=2, batch=4)
    seen: list[tuple[float, float, float]] = []
    real = inversion._lr_at
    monkeypatch.setattr(inversion, "_lr_at", lambda t, peak, down=0.25, up=0.05: (seen.append((peak, down, up)),
                                                                                  real(t, peak, down, up))[1])
    x = torch.zeros(1, 32, 32)
    Projector(G, encoder=enc).project(x, ProjectConfig(steps=3, encoder_lr=0.04, encoder_rampup=0.0,
                                                       encoder_rampdown=0.5, optimizer="adam"))
    assert set(seen) == {(0.04, 0.5, 0.0)}
    seen.clear()
    Projector(G, encoder=enc).project(x, ProjectConfig(steps=3, start="mean", encoder_lr=0.04, optimizer="adam"))
    assert set(seen) == {(0.2, 0.25, 0.05)}
