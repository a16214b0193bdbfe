"""Interpolation maths, easing, frame schedules and keyframe paths."""

from __future__ import annotations

import math

import pytest
import torch

from explorer.explore.latents import Edit, LatentState, state_to_ws
from explorer.explore.paths import (
    EASINGS,
    Keyframe,
    frame_schedule,
    interpolate_path,
    keyframes_from_states,
    lerp,
    slerp,
)
from explorer.explore.sefa import sefa_directions
from tests.factories import tiny_generator


@pytest.fixture(scope="module")
def G():
    return tiny_generator(3)


def test_lerp_slerp_exact_endpoints():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(3, 4, 16, generator=g), torch.randn(3, 4, 16, generator=g)
    for f in (lerp, slerp):
        assert torch.equal(f(a, b, 0.0), a) and torch.equal(f(a, b, 1.0), b)
        t = torch.tensor([0.0, 0.5, 1.0])                 # one t per leading row
        out = f(a, b, t)
        assert out.shape == a.shape and torch.equal(out[0], a[0]) and torch.equal(out[2], b[2])
    a, b = torch.tensor([0.1, 0.7]), torch.tensor([0.3, 0.2])
    assert torch.equal(lerp(a, b, 1.0), b)               # not a + (b - a), which rounds


def test_slerp_midpoint_norms():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    assert math.isclose(float(slerp(a, b, 0.5).norm()), 1.0, rel_tol=1e-6)
    assert math.isclose(float(lerp(a, b, 0.5).norm()), math.sqrt(0.5), rel_tol=1e-6)
    g = torch.Generator().manual_seed(1)
    za, zb = torch.randn(512, generator=g), torch.randn(512, generator=g)
    mid_s, mid_l = slerp(za, zb, 0.5).norm(), lerp(za, zb, 0.5).norm()
    assert abs(float(mid_s) - math.sqrt(512)) < 3 and float(mid_l) < 0.8 * float(mid_s)   # lerp dips inside the shell
    quarter = slerp(a, b, 0.25)
    assert torch.allclose(quarter, torch.tensor([math.cos(math.pi / 8), math.sin(math.pi / 8)]), atol=1e-6)


def test_slerp_degenerate_cases_are_finite():
    a = torch.tensor([1.0, 2.0, 3.0])
    for b in (a.clone(), 2 * a, a + 1e-7, -a, torch.zeros(3)):
        out = slerp(a, b, 0.3)
        assert torch.isfinite(out).all()
    assert torch.allclose(slerp(a, 2 * a, 0.5), 1.5 * a)


def test_easings():
    for name, f in EASINGS.items():
        assert f(0.0) == 0.0 and f(1.0) == 1.0, name
        ts = [i / 20 for i in range(21)]
        assert all(f(x) <= f(y) for x, y in zip(ts, ts[1:])), name
    assert EASINGS["ease_in_out"](0.5) == 0.5 and EASINGS["ease_in"](0.5) < 0.5 < EASINGS["ease_out"](0.5)


def test_frame_schedule_counts_and_ends():
    s = frame_schedule(3, 9)
    assert len(s) == 9 and s[0] == (0, 0.0) and s[-1] == (1, 1.0) and s[4] == (1, 0.0)
    s = frame_schedule(3, 12, loop=True)
    assert len(s) == 12 and s[0] == (0, 0.0) and [seg for seg, _ in s].count(2) == 4 and s[-1][1] < 1.0
    assert frame_schedule(2, 5, easing="ease_in_out")[1] == (0, EASINGS["ease_in_out"](0.25))
    assert frame_schedule(1, 4) == [(0, 0.0)] * 4 and frame_schedule(4, 1) == [(0, 0.0)]
    for n, f, loop in [(2, 2, False), (5, 7, False), (5, 7, True), (2, 100, True)]:
        s = frame_schedule(n, f, loop=loop)
        assert len(s) == f and all(0 <= seg < (n if loop else n - 1) and 0 <= t <= 1 for seg, t in s)
    with pytest.raises(ValueError):
        frame_schedule(0, 4)
    with pytest.raises(ValueError, match="easing"):
        frame_schedule(2, 4, easing="bounce")


def test_interpolate_path_hits_keyframes(G):
    d = sefa_directions(G, k=4, sigma_samples=64)
    states = [LatentState("m", "", 1, 0, 0.8, "sefa", (Edit(1, 2.0, 0, 3),)), LatentState("m", "", 2, 2, method="sefa"),
              LatentState("m", "", 3, 1, 0.5, "sefa")]
    kfs = keyframes_from_states(G, states, d)
    for space in ("w", "z"):
        for method in ("lerp", "slerp"):
            ws = interpolate_path(G, kfs, 13, space=space, method=method, easing="ease_in_out")
            assert ws.shape == (13, G.num_ws, 8) and torch.isfinite(ws).all()
            for frame, kf in ((0, 0), (6, 1), (12, 2)):
                assert torch.allclose(ws[frame], kfs[kf].ws[0], atol=1e-5), (space, method, frame)
            assert not torch.allclose(ws[3], ws[0])
    looped = interpolate_path(G, kfs, 12, space="z", method="slerp", loop=True)
    assert torch.allclose(looped[0], kfs[0].ws[0], atol=1e-5) and not torch.allclose(looped[-1], kfs[0].ws[0])


def test_keyframe_inputs_tensors_and_dicts(G):
    w0 = state_to_ws(G, LatentState("m", "", 4, 0))
    w1 = state_to_ws(G, LatentState("m", "", 5, 0))
    ws = interpolate_path(G, [w0, w1[:, 0]], 5)                              # (1, num_ws, w) and (1, w)
    assert torch.equal(ws[0], w0[0]) and torch.equal(ws[-1], w1[0])
    z0, z1 = torch.randn(1, 8), torch.randn(1, 8)
    wz = interpolate_path(G, [{"z": z0, "c": 1}, Keyframe(z=z1, c=1)], 5, space="z", method="slerp")
    wz2 = interpolate_path(G, [Keyframe(z=z0, c=1), Keyframe(z=z1, c=1)], 5, space="w")
    assert torch.allclose(wz[0], wz2[0]) and torch.allclose(wz[-1], wz2[-1])
    with pytest.raises(ValueError, match="space 'z'"):
        interpolate_path(G, [Keyframe(ws=w0), Keyframe(ws=w1)], 4, space="z")
    with pytest.raises(ValueError, match="z_dim"):
        interpolate_path(G, [w0, w1], 4, space="z")


def test_dcgan_path():
    D = tiny_generator(0, "dcgan")
    kfs = keyframes_from_states(D, [LatentState("m", "", 1, None, 0.7), LatentState("m", "", 2, None)])
    ws = interpolate_path(D, kfs, 6, space="z", method="slerp")
    assert ws.shape == (6, 1, 8) and torch.allclose(ws[-1], kfs[1].ws[0])
    assert D.synthesis(ws).shape == (6, 1, 32, 32)
