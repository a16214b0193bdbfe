"""Glyph stacks shown as glyph sheets: layout, ink dark on white, and every display path (to_uint8, sample_grid)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from explorer.config import preset
from explorer.gan.generators import build_generator
from explorer.imaging.render import SHEET_COLUMNS, glyph_sheet, sample_grid, to_uint8
from tests.glyph_stacks import GLYPHS


def _marked_stack(g: int = 62, side: int = 8) -> np.ndarray:
    """Glyph i is blank except for one full-ink pixel at row i % side, column (i // side) % side."""
    s = np.zeros((g, side, side), dtype=np.uint8)
    for i in range(g):
        s[i, i % side, (i // side) % side] = 255
    return s


def test_sheet_layout_rows_of_13_ink_dark_on_white():
    side = 8
    sheet = glyph_sheet(_marked_stack(62, side))
    assert SHEET_COLUMNS == 13
    assert sheet.shape == (5 * side, 13 * side, 1) and sheet.dtype == np.uint8
    for i in range(62):
        r, c = divmod(i, 13)                                  # A-M, N-Z, a-m, n-z, 0-9
        cell = sheet[r * side:(r + 1) * side, c * side:(c + 1) * side, 0]
        assert cell[i % side, (i // side) % side] == 0        # the ink is black
        assert (cell == 0).sum() == 1                         # and only there: the rest is white
    assert (sheet[4 * side:, 10 * side:] == 255).all()        # the three unused cells after '9' are white


def test_sheet_accepts_float_generator_output_and_rejects_other_shapes():
    x = torch.full((62, 4, 4), -1.0)
    x[5] = 1.0                                                # glyph F fully inked
    sheet = glyph_sheet(x)
    assert (sheet[0:4, 20:24] == 0).all() and (sheet[0:4, 0:20] == 255).all()
    with pytest.raises(ValueError, match="glyph stack"):
        glyph_sheet(np.zeros((4, 4), dtype=np.uint8))


def test_to_uint8_turns_stacks_into_sheets_and_leaves_images_alone():
    x = torch.rand(2, 62, 16, 16) * 2 - 1
    out = to_uint8(x)
    assert out.shape == (2, 5 * 16, 13 * 16, 1)
    assert np.array_equal(out[1], glyph_sheet(x[1]))
    assert to_uint8(torch.zeros(2, 3, 16, 16)).shape == (2, 16, 16, 3)
    assert to_uint8(torch.zeros(2, 1, 16, 16)).shape == (2, 16, 16, 1)


def test_sample_grid_of_a_glyph_generator_is_a_grid_of_sheets():
    m = preset("tiny", 32, 1, 0, glyphs=GLYPHS)
    torch.manual_seed(0)
    G = build_generator(dataclasses.replace(m.generator)).eval()
    grid = sample_grid(G, 4, seed=0)
    sheet_h, sheet_w = 5 * 32, 13 * 32
    assert grid.shape[-1] == 1
    assert grid.shape[0] >= sheet_h and grid.shape[1] >= sheet_w
    assert grid.shape[0] * grid.shape[1] >= 4 * sheet_h * sheet_w
    assert grid[0, 0, 0] == 255                               # white gaps between sheets
