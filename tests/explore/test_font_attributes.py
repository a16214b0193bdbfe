"""Font attributes of glyph stacks: the dataset's measures, and a serif score learned from PANOSE labels."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.explore import font_attributes as F
from explorer.explore.attributes import measurer_for
from tests.glyph_stacks import GLYPHS, render_stacks


def as_images(stacks: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(stacks.transpose(0, 2, 3, 1))        # (N, 62, H, W) -> (N, H, W, 62)


def test_font_measurer_reads_weight_from_glyph_stacks():
    stacks = render_stacks(6, 32).numpy()                              # odd faces are drawn with a stroke
    m = F.font_measurer(None, learn=False)
    assert m.keys[:5] == ["stroke_width", "slant", "width", "x_height_ratio", "contrast"]
    v = m.measure(as_images(stacks))
    weight = v[:, m.keys.index("stroke_width")]
    assert weight[1::2].min() > weight[0::2].max()                      # stroked faces are bolder
    assert np.abs(v[:, m.keys.index("slant")]).max() < 3               # upright faces
    # a model drawing the glyphs in another order is measured alike
    order = GLYPHS[::-1]
    shuffled = as_images(stacks[:, [GLYPHS.index(c) for c in order]])
    v2 = F.font_measurer(None, learn=False, glyphs=order).measure(shuffled)
    assert np.allclose(v, v2, equal_nan=True)


def stems(n: int, feet: bool, seed: int) -> np.ndarray:
    """(n, 62, 32, 32) faces whose stem glyphs are bars, with serif feet and heads when `feet`."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 62, 32, 32), np.uint8)
    for k in range(n):
        w = int(rng.integers(2, 5))
        for c in F.SERIF_GLYPHS:
            g = out[k, F.CHARS.index(c)]
            g[6:26, 15:15 + w] = 255
            if feet:
                g[24:26, 11:19 + w] = 255
                g[6:8, 11:19 + w] = 255
    return out


def test_serif_score_is_learned_from_panose_labels():
    faces = [{"panose": [2, 2, 5, 3]}, {"panose": [2, 11, 5, 3]}, {"panose": [3, 2, 0, 0]}, {"panose": None},
             {"panose": [2, 14, 0, 0]}]
    assert F.serif_labels(faces).tolist() == [1, 0, -1, -1, -1]
    ink = np.concatenate([stems(30, True, 0), stems(30, False, 1)]).astype(np.float32) / 255
    labels = np.r_[np.ones(30, int), np.zeros(30, int)]
    model = F.fit_serif(ink, labels)
    assert model is not None and model["accuracy_cv"] > 0.9 and model["n"] == 60
    test = np.concatenate([stems(10, True, 5), stems(10, False, 6)]).astype(np.float32) / 255
    score = F.serif_score(test, model)
    assert score[:10].min() > score[10:].max()
    assert F.fit_serif(ink[:10], labels[:10]) is None                 # too few labelled faces to learn from
    m = F.font_measurer(None, serif_model=model)
    assert m.names[m.keys.index("serif")] == "serif"
    assert F.font_measurer(None, learn=False).names[5] == "serif (feet)"


def test_glyph_models_get_font_attributes():
    from tests.factories import tiny_generator

    class Cfg:                       # a glyph-stack generator's config, as far as measurer_for looks
        channels, glyphs = 62, GLYPHS

    class G:
        cfg = Cfg()
    assert "stroke_width" in measurer_for(G, None, learned=False).keys
    assert "stroke_width" not in measurer_for(tiny_generator(), None).keys


def test_glyph_sheets_are_measured_like_their_stacks():
    """Every render of a glyph-stack model is a glyph sheet (imaging.render.to_uint8): the measurer reads
    sheets exactly as it reads the stacks they were laid out from."""
    from explorer.imaging.render import glyph_sheet
    stacks = render_stacks(4, 32).numpy()
    sheets = np.stack([glyph_sheet(s) for s in stacks])                  # (4, rows * 32, 13 * 32, 1)
    m = F.font_measurer(None, learn=False)
    assert np.allclose(m.measure(sheets), m.measure(as_images(stacks)), equal_nan=True)
    np.testing.assert_array_equal(F.stacks_from_sheets(sheets, 62), stacks)          # the batched inverse
    np.testing.assert_array_equal(F.stacks_from_sheets(sheets[..., 0], 62), stacks)
    np.testing.assert_array_equal(F.stacks(sheets), F.stacks(as_images(stacks)))
    with pytest.raises(ValueError, match="not a glyph sheet"):
        F.stacks_from_sheets(sheets[:, :, :-3], 62)


def test_attribute_directions_of_a_glyph_stack_model():
    """The path `evaluate --directions` and the app take: render_with(G) -> sheets -> font measures -> fit."""
    import dataclasses

    import torch

    from explorer.config import preset
    from explorer.explore.attribute_directions import attribute_directions
    from explorer.gan.generators import build_generator
    m = preset("tiny", 32, 1, 0, glyphs=GLYPHS)
    torch.manual_seed(0)
    G = build_generator(dataclasses.replace(m.generator)).eval()
    d = attribute_directions(G, None, k=3, n_samples=24, measurer=F.font_measurer(None, learn=False))
    assert d.vectors.shape[0] == 3 and np.isfinite(d.vectors.numpy()).all()
