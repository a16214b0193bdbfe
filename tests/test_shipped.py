"""The models shipped in pretrained/: they load through the one loader, render deterministically at
batch 1, carry a model card with measured figures, and stay well under the size limit."""

from __future__ import annotations

import json

import pytest
import torch

from explorer.gan.device import load_generator
from explorer.settings import pretrained_dir

SHIPPED = sorted(p.with_suffix("") for p in pretrained_dir().glob("*.json")
                 if json.loads(p.read_text()).get("format") == "latent-explorer-generator")


def test_fashion_mnist_is_shipped():
    assert (pretrained_dir() / "fashion-mnist.json").exists()


@pytest.mark.parametrize("stem", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_model(stem):
    assert stem.with_suffix(".safetensors").stat().st_size < 15 * 2**20
    G, meta = load_generator(stem, "cpu")
    assert meta["model_card"].startswith("# ") and "## Reproduce" in meta["model_card"]
    figures = meta["metrics"]
    glyph_stack = G.cfg.channels not in (1, 3)
    # image models carry the generic figures; a font model the typefaces bar (explorer/evaluation/typefaces.py)
    assert figures and "memorisation" in figures
    assert all(k in figures for k in (("glyph_accuracy", "fd", "recall", "style_consistency") if glyph_stack
                                      else ("swd",)))
    assert not meta["metrics"]["memorisation"]["memorised"]
    assert meta["training"]["steps"] > 0 and meta["training"]["train_seconds"] > 0
    z = torch.randn(1, G.cfg.z_dim, generator=torch.Generator().manual_seed(0))
    c = torch.zeros(1, dtype=torch.long) if G.cfg.num_classes else None
    with torch.inference_mode():
        a, b = G(z, c), G(z, c)
    assert a.shape == (1, G.cfg.channels, G.cfg.resolution, G.cfg.resolution) and torch.equal(a, b)
    assert a.abs().max() <= 1.0 + 1e-6 or G.cfg.arch == "style"


def test_fashion_mnist_meets_its_bar():
    """The issue's quality bar, as measured at export time and recorded in the model card."""
    meta = json.loads((pretrained_dir() / "fashion-mnist.json").read_text())
    m, base = meta["metrics"], meta["baseline_metrics"]
    assert m["samples"] == 10_000 and base["samples"] == 10_000
    assert m["cond_accuracy"] >= 0.85
    assert m["fd"] <= 0.5 * base["fd"]
    assert not m["memorisation"]["memorised"]


def test_emoji_records_its_figures():
    """pretrained/emoji: 64x64 RGB, conditional on the emoji groups, figures recorded at export time
    against the classic-dcgan run at (nearly) the same wall-clock time."""
    meta = json.loads((pretrained_dir() / "emoji.json").read_text())
    g, m, base = meta["generator"], meta["metrics"], meta["baseline_metrics"]
    assert (g["resolution"], g["channels"], g["num_classes"]) == (64, 3, 9) and len(meta["class_names"]) == 9
    assert {"precision", "recall", "swd", "memorisation"} <= set(m) and m["reference"] == "emoji"
    assert m["swd"]["avg"] < base["swd"]["avg"]
    assert abs(m["trained"]["seconds"] - base["trained"]["seconds"]) <= 0.05 * base["trained"]["seconds"]  # equal time
    assert "scripts/reproduce-emoji.sh" in meta["model_card"]


def test_emoji_card_names_the_preset_and_architecture_the_reproduce_script_used():
    import re
    from pathlib import Path
    script = (Path(__file__).resolve().parents[1] / "scripts" / "reproduce-emoji.sh").read_text()
    line = next(ln for ln in script.splitlines() if "--out \"$RUNS/emoji\"" in ln or "--data emoji" in ln
                and "--g-arch" in ln)
    preset, arch = re.search(r"--preset (\S+)", line).group(1), re.search(r"--g-arch (\S+)", line).group(1)
    card = json.loads((pretrained_dir() / "emoji.json").read_text())["model_card"]
    training = card.split("## Training")[1].split("##")[0]
    assert f"preset `{preset}`" in training and f"--g-arch {arch}" in training
