"""The libraries behind the Train page: fine-tuning sources and class surgery, recipes, the quality
probe and its curve in metrics.jsonl, incremental metrics reading, sample history, duration
estimates and the job's model card. No Streamlit, no worker processes (one `speed` subprocess)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from explorer.config import preset
from explorer.evaluation.quality import QualityProbe
from explorer.gan import checkpoint as ckpt
from explorer.gan import critic
from explorer.gan.events import Quality
from explorer.gan.export import export_model
from explorer.gan.finetune import adapt_generator, prepare_init, sources
from explorer.gan.generators import pixel_norm
from explorer.gan.nets import build_nets, init_from_checkpoint
from explorer.gan.train import train_loop
from explorer.jobs import speed
from explorer.jobs.plan import SMALL_SET, plan
from explorer.jobs.runlog import job_card, read_metrics, sample_steps, thin
from tests.factories import make_dataset, tiny_config, tiny_generator


def _film(classes: int, res: int = 32, ch: int = 1, seed: int = 0):
    return tiny_generator(classes, "film", res, ch, seed, w_avg=True)


def _export(tmp: Path, name: str, G, **meta) -> ckpt.ModelInfo:
    j = ckpt.save_generator(tmp / name, G, {"model_card": name, **meta})
    return ckpt.ModelInfo(name, j, "pretrained", ckpt.read_meta(j))


def test_adapt_generator_keeps_what_it_draws():
    src = _film(3)
    z = torch.randn(5, src.cfg.z_dim)
    # conditional -> unconditional: the mean class input is folded into the first mapping bias
    unc = adapt_generator(src, dataclasses.replace(src.cfg, num_classes=0))
    lin = src.mapping_net[0]
    zz = src.cfg.z_dim
    cls_mean = (lin.weight[:, zz:] @ pixel_norm(src.embed.weight).T).mean(1)
    pre = pixel_norm(z) @ lin.weight[:, :zz].T + lin.bias + cls_mean
    w = src.mapping_net[1:](pre)
    assert torch.allclose(unc.mapping(z), w, atol=1e-5)
    assert torch.allclose(unc(z), src.synthesis(w), atol=1e-5)
    # unconditional -> 2 classes: class inputs start with zero weight, so every class draws the same
    two = adapt_generator(unc, dataclasses.replace(src.cfg, num_classes=2))
    for c in (0, 1):
        assert torch.allclose(two(z, torch.full((5,), c)), unc(z), atol=1e-5)
    assert adapt_generator(src, src.cfg) is src
    # a DCGAN generator: class input channels of the first transposed conv dropped / added at zero
    dc = tiny_generator(0, "dcgan", seed=1)
    dc2 = adapt_generator(dc, dataclasses.replace(dc.cfg, num_classes=2))
    assert torch.allclose(dc2(z, torch.zeros(5, dtype=torch.long)), dc(z), atol=1e-6)
    assert torch.allclose(dc2(z, torch.ones(5, dtype=torch.long)), dc(z), atol=1e-6)
    back = adapt_generator(dc2, dc.cfg)
    assert torch.allclose(back(z), dc(z), atol=1e-6)                       # zero class rows: nothing to take out
    with pytest.raises(ValueError, match="architecture or size"):
        adapt_generator(src, dataclasses.replace(src.cfg, resolution=64, num_classes=0))


def test_sources_verdicts_and_recipes(tmp_path):
    film3 = _export(tmp_path, "film3", _film(3), class_names=["a", "b", "c"])
    rgb = _export(tmp_path, "rgb64", _film(0, 64, 3))
    dcgan = _export(tmp_path, "dcgan2", tiny_generator(2, "dcgan"))
    found = {s.info.name: s for s in sources([rgb, dcgan, film3], resolution=32, channels=1, num_classes=0)}
    assert [s.info.name for s in sources([rgb, dcgan, film3], 32, 1, 0)][-1] == "rgb64"      # fitting first
    assert found["film3"].usable and not found["film3"].has_d and "3 classes become none" in found["film3"].note
    assert not found["rgb64"].usable and found["rgb64"].note == "draws 64x64 RGB"
    assert found["dcgan2"].usable and "its 2 classes become none" in found["dcgan2"].note
    assert found["film3"].init_path == film3.path

    small = plan("quick", 32, 1, 0, n_images=50, source=found["film3"])
    assert small.generator.arch == "film" and small.generator.num_classes == 0
    assert small.train.augment == "color,translation,cutout" and small.train.ada_target == 0.6
    assert small.train.freeze_d == 0                     # generator-only source: no discriminator to freeze
    assert small.train.steps == 300 and small.train.checkpoint_every == 30
    big = plan("balanced", 64, 3, 0, n_images=SMALL_SET)
    assert big.train.preset == "balanced" and big.train.steps == 5000 and big.train.augment_p == 0.0
    with pytest.raises(ValueError, match="scratch only"):
        plan("film", 32, 1, 0, 50, source=found["film3"])

    # a run trained here keeps its discriminator: FreezeD on for a small set, and the run is used as is
    cfg = tiny_config(classes=0, steps=2, checkpoint_every=2)
    run = tmp_path / "runs" / "mine"
    train_loop(cfg, make_dataset(n=16, classes=0), run_dir=run)
    mine = ckpt.ModelInfo("mine", run / "model.json", "trained", ckpt.read_meta(run / "model.json"))
    s = sources([mine], 32, 1, 0)[0]
    assert s.usable and s.has_d and s.init_path == run
    ft = plan("quick", 32, 1, 0, 50, source=s)
    assert ft.train.freeze_d == ft.discriminator.num_blocks // 2 >= 1
    assert prepare_init(s.init_path, ft, tmp_path / "new") == str(run)
    # ... with other classes both networks are adapted (G's class inputs, D's projection) into a new init
    s3 = sources([mine], 32, 1, 3)[0]
    assert s3.has_d and not s3.run_as_is and s3.init_path == run / "model.json"
    ft3 = plan("quick", 32, 1, 3, 50, source=s3)
    out = prepare_init(s3.init_path, ft3, tmp_path / "new")
    assert out == str(tmp_path / "new" / "init")
    nets = build_nets(ft3, torch.device("cpu"), 0)
    assert "(G, G_ema and D)" in init_from_checkpoint(nets, out)


def test_finetuning_a_shipped_model_with_its_discriminator(tmp_path):
    """A shipped export with `<name>-discriminator.*` (explorer.gan.critic): a conditional FiLM G with a DCGAN D
    (no spectral norm), fine-tuned on unlabelled images: both networks adapted, FreezeD on."""
    m = preset("film", 32, 1, 3)
    cfg = dataclasses.replace(m, generator=dataclasses.replace(m.generator, base_channels=32, min_channels=8),
                              discriminator=dataclasses.replace(m.discriminator, base_channels=8, max_channels=32),
                              train=dataclasses.replace(m.train, steps=2, batch_size=8, checkpoint_every=2))
    run = tmp_path / "src-run"
    train_loop(cfg, make_dataset(n=16, classes=3), run_dir=run)
    export_model(run / "model.json", tmp_path / "pre" / "src")
    critic.export_discriminator(run, tmp_path / "pre" / "src")
    info = ckpt.ModelInfo("src", tmp_path / "pre" / "src.json", "pretrained",
                          ckpt.read_meta(tmp_path / "pre" / "src.json"))
    s = sources([info], 32, 1, 0)[0]
    assert s.usable and s.has_d and not s.run_as_is and s.note.startswith("generator and discriminator")
    ft = plan("quick", 32, 1, 0, 16, source=s)
    assert ft.discriminator.arch == "dcgan" and ft.discriminator.num_classes == 0
    assert ft.train.freeze_d == ft.discriminator.num_blocks // 2
    out = prepare_init(s.init_path, ft, tmp_path / "job")
    nets = build_nets(ft, torch.device("cpu"), 0)
    assert "(G, G_ema and D)" in init_from_checkpoint(nets, out)
    src_d = critic.load_critic(info.path).D
    assert torch.equal(nets.D.blocks[0][0].weight, src_d.blocks[0][0].weight[:, :1])      # class channels dropped
    assert torch.equal(nets.D.blocks[1][0].weight, src_d.blocks[1][0].weight)
    r = train_loop(dataclasses.replace(ft, train=dataclasses.replace(ft.train, steps=2)),
                   make_dataset(n=16, classes=0), init_from=out, run_dir=tmp_path / "job")
    assert r.step == 2


def test_quality_curve_in_metrics_and_incremental_reading(tmp_path):
    ds = make_dataset(n=24, classes=3)
    probe = QualityProbe(ds, samples=16)
    G = _film(3)
    assert probe(G, 0)["swd"] == probe(G, 0)["swd"] and len(probe.samples(G)) == 16     # fixed noise, fixed SWD
    run = tmp_path / "run"
    events = []
    train_loop(tiny_config(steps=4, checkpoint_every=2, sample_every=2), ds, run_dir=run, quality=probe,
               on_progress=events.append)
    progress, quality = read_metrics(run / "metrics.jsonl")
    assert [q["step"] for q in quality] == [0, 2, 4]                     # before the first step, every checkpoint
    assert all(q["swd"] > 0 and q["n"] == 16 and len(q["swd_levels"]) == 2 for q in quality)
    assert [e.step for e in events if isinstance(e, Quality)] == [0, 2, 4]
    assert [r["step"] for r in progress] == [1, 2, 3, 4]
    assert [s for s, _ in sample_steps(run)] == [2, 4]

    log = tmp_path / "m.jsonl"
    log.write_text('{"kind": "progress", "step": 1}\n{"kind": "progress", "st')
    assert [r["step"] for r in read_metrics(log)[0]] == [1]                # a half-written line waits
    with open(log, "a") as f:
        f.write('ep": 2}\nnot json\n{"kind": "quality", "step": 2, "swd": 5.0}\n')
    p, q = read_metrics(log)
    assert [r["step"] for r in p] == [1, 2] and q == [{"kind": "quality", "step": 2, "swd": 5.0}]
    log.unlink()
    log.write_text('{"kind": "progress", "step": 9}\n')                    # a replaced file starts over
    assert [r["step"] for r in read_metrics(log)[0]] == [9]
    assert read_metrics(tmp_path / "missing.jsonl") == ([], [])
    rows = [{"step": i} for i in range(1000)]
    t = thin(rows, 100)
    assert len(t) <= 101 and t[-1]["step"] == 999 and t[0]["step"] == 0


def test_job_card_summarises_data_settings_duration_and_figures(tmp_path):
    run = tmp_path / "run"
    train_loop(tiny_config(classes=0, steps=2), make_dataset(n=16, classes=0), run_dir=run)
    meta = ckpt.read_meta(run / "model.json")
    meta["dataset"].update(skipped=2, skip_reasons={"corrupt": 1, "duplicate": 1}, fit="crop")
    quality = [{"step": 0, "elapsed_s": 0, "swd": 90.0, "n": 16}, {"step": 100, "elapsed_s": 61, "swd": 40.0},
               {"step": 200, "elapsed_s": 125, "swd": 45.0}]
    card = job_card("Cats", meta, {"init_from": "/x/pretrained/emoji.json"}, quality, {"notes": [["a", "alpha"]]})
    assert card.startswith("# Cats\n") and "16 uploaded images" in card and "corrupt: 1, duplicate: 1" in card
    assert "started from: emoji.json (fine-tuned)" in card and "1 file(s) converted" in card
    assert "| 100 | 1 min 01 s | 40.00 |" in card and "| 200 | 2 min 05 s | 45.00 |" in card


def test_duration_estimate_measured_once_then_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(tmp_path))
    cfg = tiny_config(classes=0)
    assert speed.cached(cfg) is None
    est = speed.estimate(cfg)                                      # a subprocess measures a few steps
    assert est.source == "measured" and 0 < est.s_per_step < 30 and est.threads == 1
    assert est.minutes(600) == pytest.approx(600 * est.s_per_step * speed.OVERHEAD / 60)
    monkeypatch.setattr(speed.subprocess, "run", lambda *a, **k: pytest.fail("measured twice"))
    assert speed.estimate(cfg) == est                               # cached: no second measurement
    other = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, batch_size=4))
    assert speed.cached(other) is None                              # batch changes the cost
    assert speed.cached(dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, steps=99))) == est
    speed.remember(other, "cpu", 0.5)
    assert speed.cached(other).source == "job" and speed.cached(other).s_per_step == 0.5
    assert len(json.loads((tmp_path / "speed-cache.json").read_text())) == 2
