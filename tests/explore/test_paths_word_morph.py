"""A word morph's frames (explorer/explore/preview.py `word_frames`): setting a word from only the glyphs
it uses (the speed-up of the Interpolate page's GIF/MP4 export) gives exactly what the whole stack gives."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.explore.preview import word_frames
from explorer.explore.specimen import typeset
from tests.glyph_stacks import GLYPHS, render_stacks


def whole_stack_frames(stacks: np.ndarray, text: str) -> np.ndarray:
    """The frames as set before the speed-up: each word typeset from the whole 62-glyph stack."""
    imgs = [typeset(s, text, GLYPHS).image for s in stacks]
    h, w = max(i.shape[0] for i in imgs), max(i.shape[1] for i in imgs)
    out = np.full((len(imgs), h + h % 2, w + w % 2, 1), 255, np.uint8)
    for k, im in enumerate(imgs):
        out[k, :im.shape[0], :im.shape[1], 0] = im
    return out


@pytest.mark.parametrize("text", ["Hamburgefonstiv", "Ag", "a  b\tc", "Typo 2026", "É€ and ?", "x\ny", "   ", "ÉÉ"])
def test_a_word_set_from_its_own_glyphs_is_the_word_set_from_the_whole_face(text):
    stacks = render_stacks(n=4, res=32).numpy()
    stacks[2, GLYPHS.index("n")] = 0                       # a face without an "n": its space falls back
    got = word_frames(stacks, text, GLYPHS)
    assert np.array_equal(got, whole_stack_frames(stacks, text))
    assert np.array_equal(word_frames(torch.from_numpy(stacks), text, GLYPHS), got)      # tensors too


def test_no_faces_give_no_frames():
    assert word_frames(np.zeros((0, 62, 32, 32), np.uint8), "Ag").shape[0] == 0
