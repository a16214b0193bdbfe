"""`latent-explorer evaluate` of a font model prints the typefaces figures; `train-classifier --fonts`
ships the glyph classifier; on a tiny fonts dataset written in the dataset's own format."""

from __future__ import annotations

import json

import numpy as np
import torch

from explorer.cli import main
from explorer.data import fontstore
from explorer.data.glyphmetrics import ATTRIBUTES
from explorer.gan import checkpoint as ckpt
from explorer.settings import DATA_ENV, PRETRAINED_ENV
from tests.glyph_stacks import GLYPHS, render_stacks


def _write_fonts(root, n_train: int = 8, n_test: int = 4) -> None:
    stacks = render_stacks(n_train + n_test, res=64).numpy()
    out = root / "datasets" / "fonts"
    out.mkdir(parents=True)
    splits = {}
    for split, sl in (("train", slice(0, n_train)), ("test", slice(n_train, None))):
        g = stacks[sl]
        faces = [{"family": f"{split}-fam{i // 2}", "style": "Regular", "attributes": dict.fromkeys(ATTRIBUTES, 1.0)}
                 for i in range(len(g))]
        extras = {"advance": np.full((len(g), 62), 40.0), "origin_x": np.full((len(g), 62), 12.0)}
        splits[split] = fontstore.save_split(out, split, g, faces, extras)
    fontstore.save_meta(out, {"kept": n_train + n_test}, splits, [])


def test_evaluate_font_model_prints_the_typefaces_figures(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "data"))
    monkeypatch.setenv(PRETRAINED_ENV, str(tmp_path / "pre"))
    _write_fonts(tmp_path / "data")
    from explorer.data.datasets import load_dataset
    ds = load_dataset("fonts", resolution=64)                        # the train split, family-weighted
    assert ds.images.shape == (8, 62, 64, 64) and ds.description["glyphs"] == GLYPHS
    assert ds.weights is not None and torch.allclose(ds.weights, torch.full((8,), 0.5))   # two faces a family
    assert ds.description["licences"] == {"unknown": 8}
    assert main(["train-classifier", "--fonts", "--epochs", "1", "--threads", "1"]) == 0
    capsys.readouterr()
    clf = json.loads((tmp_path / "pre" / "fonts-glyph-classifier.json").read_text())
    assert clf["class_names"] == list(GLYPHS) and clf["summary"]["groups"]

    from explorer.config import preset
    from explorer.gan.generators import build_generator
    from explorer.gan.nets import compute_w_avg
    torch.manual_seed(0)
    G = build_generator(preset("tiny", 32, 1, 0, glyphs=GLYPHS).generator).eval()
    compute_w_avg(G)
    ckpt.save_generator(tmp_path / "pre" / "fonts", G, {})
    assert main(["evaluate", "fonts", "--json", "--n", "8", "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("glyph_accuracy", "glyph_accuracy_real_test", "fd", "fd_train_vs_test", "precision", "recall",
                "style_consistency", "memorisation"):
        assert key in out, key
    assert out["samples"] == 8 and out["reference"] == "fonts:test" and out["reference_test_images"] == 4
    assert set(out["style_consistency"]) == {"stroke_width", "slant", "contrast"}
    assert set(out["bar"]) == {"glyph_accuracy_within_3_points", "style_spread_within_1.5x",
                               "style_spread_ci_within_1.5x", "not_memorised"}
    assert set(out["glyph_accuracy_at_psi"]) == {"0.7", "0.5"}
    from explorer.evaluation.glyphs import load_glyph_classifier
    from explorer.evaluation.typefaces import truncated_accuracy
    clf, groups, _ = load_glyph_classifier(tmp_path / "pre" / "fonts-glyph-classifier")
    assert truncated_accuracy(G, clf, groups, (1.0,), n=8) == {"1": out["glyph_accuracy"]}   # the same faces at psi 1

    from PIL import Image

    from explorer.evaluation.typefaces import nearest_figure
    path = nearest_figure(tmp_path / "pre" / "fonts.json", tmp_path / "nearest.png", n=2)
    im = Image.open(path)
    assert im.width > 2 * 13 * 32 and im.height > 2 * 5 * 32     # two rows of (generated, nearest real) sheets


def test_nearest_faces_finds_the_copied_training_face():
    from explorer.evaluation.typefaces import nearest_faces
    train = render_stacks(6, res=32)
    fake = torch.stack([train[4], train[1]])
    assert nearest_faces(fake, train).flatten().tolist() == [4, 1]
    assert nearest_faces(fake, train, k=2)[:, 0].tolist() == [4, 1]
