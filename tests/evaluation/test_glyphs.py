"""The glyph classifier and the font-quality figures, on tiny glyph stacks drawn with Pillow's built-in font."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.evaluation.glyphs import (
    confusion_groups,
    glyph_figures,
    group_accuracy,
    load_glyph_classifier,
    predict,
    style_spread,
    train_and_ship,
)
from tests.glyph_stacks import render_stacks


@pytest.fixture(scope="module")
def stacks() -> torch.Tensor:
    return render_stacks(n=12, res=32)                           # faces differ in size, weight and baseline


@pytest.fixture(scope="module")
def shipped(stacks, tmp_path_factory):
    stem = tmp_path_factory.mktemp("clf") / "glyphs"
    model, meta = train_and_ship(stacks[:9], stem, epochs=20, max_glyphs=None, batch_size=32, on_progress=None,
                                 families=[f"fam{i // 2}" for i in range(9)])
    return stem, model, meta


def test_merge_rule_joins_mutually_confused_glyphs_transitively():
    pred = torch.arange(5).repeat(10, 1)                         # 10 faces, 5 glyphs, all right
    pred[:3, 0] = 1                                              # 0 read as 1 in 3/10: (3 + 0) / 20 = 15 %
    pred[:2, 2] = 1
    pred[:2, 1] = 2                                              # 1 <-> 2: (2 + 2) / 20 = 20 %
    pred[:1, 3] = 4                                              # 3 -> 4 once: 5 % stays apart
    assert confusion_groups(pred, threshold=0.15) == [[0, 1, 2], [3], [4]]
    assert confusion_groups(pred, threshold=0.5) == [[0], [1], [2], [3], [4]]
    groups = [[0, 1, 2], [3], [4]]
    assert group_accuracy(pred, groups) == pytest.approx(49 / 50)  # only the 3 -> 4 mistake counts


def test_classifier_learns_glyphs_and_ships_small(shipped, stacks):
    stem, model, meta = shipped
    assert stem.with_suffix(".safetensors").stat().st_size < 2e6
    pred, feats = predict(model, stacks[9:])                     # faces it never saw
    assert pred.shape == (3, 62) and feats.shape[:2] == (3, 62)
    assert float((pred == torch.arange(62)).float().mean()) > 0.3   # chance is 1/62
    model2, groups, meta2 = load_glyph_classifier(stem)
    assert sorted(i for g in groups for i in g) == list(range(62))
    assert meta2["summary"]["val_faces"] >= 1 and meta2["summary"]["merge_rule"]


def test_glyph_figures_separate_real_from_noise_and_flag_copies(shipped, stacks):
    _, model, meta = shipped
    groups = meta["summary"]["groups"]
    train, test = stacks[:9], stacks[9:]
    noise = (torch.rand(6, 62, 32, 32) * 255).to(torch.uint8)

    def spread(x: torch.Tensor) -> dict[str, np.ndarray]:      # ink per glyph, std across a face's glyphs
        return {"ink": x.float().mean(dim=(2, 3)).std(dim=1).numpy()}
    real = glyph_figures(stacks[3:9], test, train, model, groups, spread=spread, k=2)
    bad = glyph_figures(noise, test, train, model, groups, spread=spread, k=2)
    assert real["glyph_accuracy"] > bad["glyph_accuracy"] + 0.3
    assert bad["fd"] > real["fd"]
    assert set(real["style_consistency"]["ink"]) == {"generated", "real", "ratio", "ratio_ci95", "faces"}
    lo, hi = real["style_consistency"]["ink"]["ratio_ci95"]
    assert lo <= real["style_consistency"]["ink"]["ratio"] <= hi
    assert real["memorisation"]["memorised"] and not bad["memorisation"]["memorised"]   # train copies are flagged
    for key in ("precision", "recall", "fd_train_vs_test", "glyph_accuracy_real_test", "glyph_accuracy_gap"):
        assert key in real


def test_style_spread_averages_per_face_figures_without_nans():
    def spread(x: torch.Tensor) -> dict[str, np.ndarray]:
        return {"a": np.array([1.0, np.nan, 3.0])[:len(x)]}
    assert style_spread(torch.zeros(3, 2, 4, 4, dtype=torch.uint8), spread) == {"a": 2.0}


def test_the_spread_ratio_interval_covers_the_truth_and_narrows_with_faces():
    from explorer.evaluation.glyphs import ratio_interval
    rng = np.random.default_rng(0)
    real = rng.lognormal(-3, 1, 300)                                     # heavy-tailed, like the contrast spread
    twice = 2 * rng.lognormal(-3, 1, 300)
    lo, hi = ratio_interval(twice, real)
    assert lo < 2.0 < hi and hi - lo > 0.3                                # the true ratio is 2
    lo4, hi4 = ratio_interval(2 * rng.lognormal(-3, 1, 4800), rng.lognormal(-3, 1, 4800))
    assert lo4 < 2.0 < hi4 and hi4 - lo4 < (hi - lo) / 2
    assert np.isnan(ratio_interval(np.array([]), real)).all()


def test_validation_families_stay_put_when_the_dataset_changes():
    from explorer.evaluation.glyphs import validation_mask
    fams = [f"family {i}" for i in range(200)]
    a = validation_mask(len(fams), fams)
    b = validation_mask(len(fams) - 20, fams[20:])                # a rebuild dropped 20 families
    assert torch.equal(a[20:], b) and 10 < int(a.sum()) < 60      # ~15 % held out, the same ones
    assert validation_mask(3, ["x", "x", "y"]).sum() >= 1         # at least one family, even when tiny
