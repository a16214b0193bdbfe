"""The loop comparison of `latent-explorer bench --parts train`: the plain textbook loop trains the same widths
as the project's DCGAN, and the comparison reports both loops' figures (speed itself is never asserted)."""

from __future__ import annotations

import dataclasses
import math

from explorer.bench.loop_bench import compare_loops, plain_nets
from explorer.config import preset
from explorer.gan.nets import build_nets


def _count(m) -> list[int]:
    return sorted(p.numel() for p in m.parameters())


def test_the_plain_loop_trains_the_widths_of_classic_dcgan():
    import torch
    cfg = preset("classic-dcgan", 32, 1, 0)
    G, D = plain_nets(cfg)
    nets = build_nets(cfg, torch.device("cpu"), 0)
    assert _count(G) == _count(nets.G) and _count(D) == _count(nets.D)
    assert G(torch.randn(2, 100, 1, 1)).shape == (2, 1, 32, 32) and D(torch.zeros(2, 1, 32, 32)).shape == (2,)


def test_compare_loops_reports_both_loops():
    m = preset("tiny", 32, 1, 0)
    tiny_dcgan = dataclasses.replace(
        m, generator=dataclasses.replace(m.generator, arch="dcgan"),
        discriminator=dataclasses.replace(m.discriminator, arch="dcgan", spectral_norm=False))
    out = compare_loops(seconds=0.5, runs=1, cfg=tiny_dcgan, mark_every=1)
    for clock in ("img_per_s", "img_per_cpu_s"):
        assert len(out[clock]["project"]) == len(out[clock]["plain"]) == 1
        assert math.isfinite(out[clock]["ratio_median"]) and out[clock]["ratio_median"] > 0
