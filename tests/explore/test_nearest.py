"""Nearest real faces: pixel-space neighbours from the fonts dataset's train split, one per family, with
the held-out yardstick, cached per build; real faces typeset with their own metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from explorer.data import fontstore
from explorer.data.glyphmetrics import ATTRIBUTES
from explorer.explore import nearest as NN
from explorer.explore.specimen import CHARS, real_metrics, typeset
from tests.glyph_stacks import render_stacks


def write_fonts_dataset(out: Path, n_train: int = 6, n_test: int = 2) -> np.ndarray:
    """A tiny fonts dataset (fontstore's files) of Pillow-drawn faces, two faces per family; returns all
    stacks (n_train + n_test, 62, 64, 64) uint8, train first."""
    stacks = render_stacks(n=n_train + n_test, res=64).numpy()
    splits = {}
    for split, sl in (("train", slice(0, n_train)), ("test", slice(n_train, n_train + n_test))):
        g = stacks[sl]
        faces = [{"family": f"{split.title()} Family {k // 2}", "style": ["Regular", "Bold"][k % 2],
                  "package": f"fonts-{split}-{k // 2}", "licence": "OFL-1.1", "file": f"f{k}.ttf",
                  "attributes": {a: 0.1 for a in ATTRIBUTES}} for k in range(len(g))]
        advance = np.full((len(g), 62), 30.0, np.float32)
        origin = np.full((len(g), 62), 17.0, np.float32)
        splits[split] = fontstore.save_split(out, split, g, faces, {"advance": advance, "origin_x": origin})
    fontstore.save_meta(out, {"kept": n_train + n_test}, splits, [])
    return stacks


def test_nearest_faces_come_one_per_family_nearest_first_and_are_cached(tmp_path):
    stacks = write_fonts_dataset(tmp_path / "fonts")
    idx = NN.load_index(tmp_path / "fonts")
    assert idx.features.shape == (6, 62 * NN.POOL * NN.POOL) and idx.typical > 0
    hits = NN.nearest(idx, stacks[3], k=3)
    assert hits[0].face_index == 3 and hits[0].distance == pytest.approx(0, abs=1e-3)   # a training face finds itself
    assert [h.distance for h in hits] == sorted(h.distance for h in hits)
    assert len({h.face["family"] for h in hits}) == 3
    assert len(NN.nearest(idx, stacks[3], k=6, distinct_families=False)) == 6
    small = stacks[3][:, ::2, ::2]                                        # a 32 px model's face
    assert NN.nearest(idx, small, k=1)[0].face_index == 3
    assert (tmp_path / "fonts" / f"nearest-{NN.POOL}.safetensors").is_file()
    again = NN.load_index(tmp_path / "fonts")                             # from the cache
    assert np.array_equal(again.features.numpy(), idx.features.numpy()) and again.typical == pytest.approx(idx.typical)
    with pytest.raises(ValueError, match="62 glyphs"):
        NN.nearest(idx, stacks[3][:10], k=1)


def test_a_missing_dataset_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no fonts dataset"):
        NN.load_index(tmp_path / "nothing")


def test_real_faces_are_read_lazily_and_set_with_their_own_advances(tmp_path):
    stacks = write_fonts_dataset(tmp_path / "fonts")
    idx = NN.load_index(tmp_path / "fonts")
    g, adv, org = NN.real_face(idx, 2)
    assert np.array_equal(g, stacks[2]) and adv.shape == org.shape == (62,)
    m = real_metrics(g, adv, org, CHARS)
    s = typeset(g, "HHH", metrics=m)
    assert [b.x - a.x for a, b in zip(s.placed, s.placed[1:])] == [pytest.approx(30.0)] * 2
    assert s.placed[0].cell_x == round(s.placed[0].x - 17.0)              # the font's own pen origin
    half = real_metrics(g[:, ::2, ::2], adv, org, CHARS)                 # scaled to a 32 px stack
    assert half.advance[0] == pytest.approx(15.0)
