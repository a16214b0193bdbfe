"""Glyph-stack models (one channel per glyph of a font face): configs, the fonts preset, family-weighted
sampling, and a tiny model that trains, checkpoints, resumes and exports."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from explorer.config import DiscriminatorConfig, GeneratorConfig, ModelConfig, from_dict, preset, to_dict
from explorer.gan import checkpoint as ckpt
from explorer.gan.discriminators import build_discriminator
from explorer.gan.generators import build_generator, count_params
from explorer.gan.steps import Batches
from explorer.gan.train import train_loop
from tests.glyph_stacks import GLYPHS, glyph_dataset


def _tiny(steps: int = 4, **train) -> ModelConfig:
    m = preset("tiny", 32, 1, 0, glyphs=GLYPHS)
    return dataclasses.replace(m, train=dataclasses.replace(m.train, steps=steps, **train))


def test_channels_are_1_3_or_one_per_glyph():
    assert GeneratorConfig(channels=62, glyphs=GLYPHS).channels == 62
    with pytest.raises(ValueError, match="1 or 3"):
        GeneratorConfig(channels=62)
    with pytest.raises(ValueError, match="one channel per distinct glyph"):
        DiscriminatorConfig(channels=61, glyphs=GLYPHS)
    with pytest.raises(ValueError, match="one channel per distinct glyph"):
        GeneratorConfig(channels=2, glyphs="AA")


def test_old_configs_without_glyphs_still_load():
    old = to_dict(preset("balanced", 32, 1, 10))
    for part in ("generator", "discriminator"):
        del old[part]["glyphs"]                                   # a config saved before glyph stacks existed
    cfg = from_dict(ModelConfig, old)
    assert cfg.generator.glyphs == "" and cfg.generator.channels == 1 and cfg.discriminator.channels == 1


def test_fonts_preset_is_a_glyph_stack_model_under_20_mb():
    m = preset("fonts", 64, 1, 0, glyphs=GLYPHS)
    assert (m.generator.channels, m.discriminator.channels, m.generator.resolution) == (62, 62, 64)
    assert "color" not in m.train.augment_list                   # colour jitter means nothing for ink
    G = build_generator(m.generator)
    assert G.num_ws > 1                                           # a mapping network and per-layer w: layer ranges
    assert count_params(G) * 4 < 20e6                             # the fp32 export
    assert G(torch.randn(2, m.generator.z_dim)).shape == (2, 62, 64, 64)
    assert build_discriminator(m.discriminator)(torch.randn(2, 62, 64, 64)).shape == (2,)


def test_the_classic_dcgan_baseline_takes_glyph_stacks_too():
    m = preset("classic-dcgan", 64, 3, 0, glyphs=GLYPHS)
    G, D = build_generator(m.generator), build_discriminator(m.discriminator)
    x = G(torch.randn(2, m.generator.z_dim))
    assert x.shape == (2, 62, 64, 64) and D(x).shape == (2,)


def test_family_weights_steer_sampling():
    ds = glyph_dataset(n=8)
    ds.weights = torch.zeros(8)
    ds.weights[3] = 1.0                                           # only face 3 may be drawn
    b = Batches(ds, batch_size=16, z_dim=8, gen=torch.Generator().manual_seed(0), device=torch.device("cpu"),
                conditional=False)
    x, _ = b.real()
    assert torch.equal(x, (ds.images[3:4].float() / 127.5 - 1).expand_as(x))


def _weights(run) -> dict[str, torch.Tensor]:
    tensors, _ = ckpt.load_training(run)
    return {k: v for k, v in tensors.items() if k.startswith(("G.", "G_ema.", "D."))}


def test_tiny_glyph_model_trains_checkpoints_resumes_and_exports(tmp_path):
    ds = glyph_dataset(n=8)
    cfg = _tiny(steps=4, augment="translation", augment_p=0.5, sample_every=2, checkpoint_every=2)
    train_loop(cfg, ds, run_dir=tmp_path / "full")
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 2
    r1 = train_loop(cfg, ds, should_stop=stop, run_dir=tmp_path / "split")
    assert (r1.step, r1.reason) == (2, "stopped")
    r2 = train_loop(cfg, ds, run_dir=tmp_path / "split", resume=True)
    assert r2.step == 4
    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "split")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert list((tmp_path / "full" / "samples").glob("*.png"))    # glyph sheets were drawn
    G, meta = ckpt.load_generator(tmp_path / "full" / "model")
    assert G.cfg.glyphs == GLYPHS and G.cfg.channels == 62
    assert G(torch.randn(1, G.cfg.z_dim)).shape == (1, 62, 32, 32)
