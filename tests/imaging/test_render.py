"""explorer/imaging/render.py: how many images a rendering batch holds."""

from __future__ import annotations


def test_render_batches_hold_a_few_megabytes_of_output():
    from explorer.imaging.render import RENDER_BATCH_BYTES, render_batch
    assert render_batch(1, 32) == 256                          # small images: the cap
    assert render_batch(62, 64) == RENDER_BATCH_BYTES // (62 * 64 * 64 * 4) == 4   # glyph stacks: a few faces
    assert render_batch(62, 64, cap=2) == 2 and render_batch(10_000, 4096) == 1
