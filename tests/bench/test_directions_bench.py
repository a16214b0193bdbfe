"""`bench --parts directions` on a tiny glyph-stack model: the path the fonts model takes (font measures,
the model's own attribute settings) reports every figure (no timing is asserted)."""

from __future__ import annotations

import dataclasses

import torch

from explorer.bench.directions_bench import directions_bench
from explorer.config import preset
from explorer.gan.generators import build_generator
from tests.glyph_stacks import GLYPHS


def test_directions_bench_on_a_glyph_stack_model():
    torch.manual_seed(0)
    G = build_generator(dataclasses.replace(preset("tiny", 32, 1, 0, glyphs=GLYPHS).generator)).eval()
    out = directions_bench(G, {}, quality_seeds=6)
    assert out["attribute_directions_s"] > 0 and out["attribute_directions_samples"] == 1000
    assert {"weight", "slant", "width"} <= {a for a in out["attributes"]} | {
        r["name"] for r in out["quality"]["rows"]}
    assert out["heat_map_10_s"] > 0 and out["pca_auto_labels"][0].startswith("PC 0") and out["teach_s"] > 0
    assert [r["name"] for r in out["quality_fonts"]["rows"]] == ["weight", "slant", "width"]
    assert len(out["quality_follow"]["rows"]) == 3
