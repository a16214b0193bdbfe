"""Followed edits (explorer/explore/local_edits.py): re-aimed at every step, holding chosen attributes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from explorer.explore import local_edits, recipes
from explorer.explore.attribute_directions import attribute_directions
from explorer.explore.attributes import image_attributes
from explorer.explore.latents import Edit, LatentState, Limits, follow_sweep_ws, state_to_ws, sweep_ws
from tests.explore.planted import PlantedGenerator, block_measurer, units

CK = "0123456789ab"


def _levels(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[:, 0, 6:10, 2:6].mean((1, 2)), x[:, 0, 6:10, 10:14].mean((1, 2))


@pytest.fixture()
def block_proxies(monkeypatch):
    """The planted squares' levels as the followable attributes "left" and "right"."""
    monkeypatch.setattr(local_edits, "proxies_for", lambda G: {"left": lambda x: _levels(x)[0],
                                                               "right": lambda x: _levels(x)[1]})


class Bowl(PlantedGenerator):
    """The left square's level is (w . u0)^2 / 9 - 1: brighter on both sides of w . u0 = 0, so no one
    linear direction brightens every image; the right square stays linear in w . u1."""

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        w = ws[:, 0] if ws.dim() == 3 else ws
        p = w.float() @ self.u.T
        left = (p[:, 0] ** 2 / 9 - 1).clamp(-1, 1)
        right = (p[:, 1] / 3).clamp(-1, 1)
        x = torch.full((w.shape[0], 1, 16, 16), -1.0)
        x[:, 0, 6:10, 2:6] = left[:, None, None]
        x[:, 0, 6:10, 10:14] = right[:, None, None]
        return x


def test_follow_holds_what_it_is_told_to_hold(block_proxies):
    u = units(12, 0.6, seed=3)                       # left and right share a component: a plain edit moves both
    G = PlantedGenerator(u)
    ws = torch.randn(8, 12, generator=torch.Generator().manual_seed(0))[:, None] * 0.5
    held = local_edits.follow(G, ws, "left", 1.0, 1.0, hold=("right",))
    free = local_edits.follow(G, ws, "left", 1.0, 1.0)
    l0, r0 = _levels(G.synthesis(ws))
    lh, rh = _levels(G.synthesis(held))
    lf, rf = _levels(G.synthesis(free))
    assert (lh > l0 + 0.1).all() and (lf > l0 + 0.1).all()
    assert torch.allclose(rh, r0, atol=1e-5)                                   # held: right unchanged
    assert (rf - r0).abs().min() > 0.05                                        # free: right drifts with it
    assert torch.allclose((held - ws).norm(dim=-1), torch.ones(8, 1), atol=1e-5)   # 1 std = sigma = 1 w unit
    back = local_edits.follow(G, held, "left", -1.0, 1.0, hold=("right",))
    assert torch.allclose(back, ws, atol=1e-4)                                 # linear model: the way back is exact


def test_follow_moves_the_right_way_where_no_linear_direction_can(block_proxies):
    u = units(10, 0.0, seed=5)
    G = Bowl(u)
    attr = attribute_directions(G, None, n_samples=400, measurer=block_measurer())
    i = attr.settings["attributes"].index("left")
    z = torch.randn(64, 10, generator=torch.Generator().manual_seed(1))
    ws = z[:, None]
    l0 = _levels(G.synthesis(ws))[0]
    linear = ws + 1.0 * attr.sigma[i] * attr.vectors[i]
    right_linear = float((_levels(G.synthesis(linear))[0] > l0 + 1e-6).float().mean())
    followed = local_edits.follow(G, ws, "left", 1.0, float(attr.sigma[i]))
    right_follow = float((_levels(G.synthesis(followed))[0] > l0 + 1e-6).float().mean())
    assert right_follow == 1.0 and right_linear < 0.8


def test_sweep_matches_follow_and_states_apply_followed_edits(block_proxies):
    G = PlantedGenerator(units(12, 0.6, seed=3))
    attr = attribute_directions(G, None, n_samples=300, measurer=block_measurer())
    st = LatentState("m", CK, 4, method="attr", edits=(Edit(0, 1.5, ortho=(1,), follow=True),))
    ws = state_to_ws(G, st, attr)
    base = state_to_ws(G, dataclasses.replace(st, edits=()), attr)
    key, hold = attr.settings["attributes"][0], (attr.settings["attributes"][1],)
    assert torch.allclose(ws, local_edits.follow(G, base, key, 1.5, float(attr.sigma[0]), hold), atol=1e-6)
    with torch.inference_mode():                                               # as the engine calls it
        assert torch.allclose(state_to_ws(G, st, attr), ws)
    sweep = follow_sweep_ws(G, base, attr, st.edits[0], [-1, 0, 0.5, 1.5, 2])
    assert torch.allclose(sweep[3], ws[0], atol=1e-6) and torch.allclose(sweep[1], base[0])
    with pytest.raises(ValueError, match="generator"):
        sweep_ws(ws, attr, st.edits[0], [0, 1])
    pca_like = dataclasses.replace(attr, method="pca")
    with pytest.raises(ValueError, match="attribute directions"):
        state_to_ws(G, dataclasses.replace(st, method="pca"), pca_like)


def test_followed_edits_round_trip_and_are_checked():
    edits = (Edit(2, 1.5, 0, None, (0, 1), True), Edit(1, -2.0, 1, 3, (), True), Edit(3, 0.5))
    st = LatentState("fonts", CK, 7, None, 0.8, "attr", edits)
    lim = Limits(num_ws=4, z_dim=8, num_classes=0, num_directions=7, num_attributes=7)
    back, warns = recipes.parse_recipe_json(recipes.recipe_json(st), limits=lim)
    assert back == st and warns == []
    q = recipes.to_query_params(st)
    assert q["e"] == "2:1.5:0::0.1:f,1:-2:1:3::f,3:0.5:0:"
    back, warns = recipes.from_query_params(q, limits=lim)
    assert back == st and warns == []
    assert "follow" not in recipes.to_recipe(st)["edits"][2]
    # follow on a PCA edit is dropped with a reason; a bad flag is a warning, not a crash
    pca = dataclasses.replace(st, method="pca")
    back, warns = recipes.from_query_params(recipes.to_query_params(pca), limits=lim)
    assert not any(e.follow for e in back.edits) and any("follow the image" in w for w in warns)
    back, warns = recipes.from_query_params({**q, "e": "2:1:0::0:yes"}, limits=lim)
    assert back is not None and back.edits == (Edit(2, 1.0, 0, None, (0,)),) and warns


def test_image_proxies_agree_with_the_measured_attributes():
    G = PlantedGenerator(units(4, 0.0))
    G.cfg.channels = 3
    x = torch.rand(5, 3, 16, 16, generator=torch.Generator().manual_seed(2)) * 2 - 1
    p = local_edits.proxies_for(G)
    u8 = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    want = image_attributes(u8)
    for k in ("brightness", "contrast", "coverage", "edges"):
        np.testing.assert_allclose(p[k](x).numpy(), want[k], atol=0.01, err_msg=k)
    assert set(local_edits.followable(G)) == {"brightness", "contrast", "coverage", "edges"}


def test_font_proxies_order_faces_like_the_measures():
    from explorer.data.glyphmetrics import face_attributes
    from tests.glyph_stacks import render_stacks
    stacks = render_stacks(n=6, res=64)                                        # odd faces are drawn bold
    x = stacks.float() / 127.5 - 1
    G = PlantedGenerator(units(4, 0.0))
    G.cfg.channels = 62
    p = local_edits.proxies_for(G)
    want = face_attributes(stacks.numpy())
    for k, tol in (("stroke_width", 0.25), ("width", 0.15), ("x_height_ratio", 0.15)):
        got = p[k](x).numpy()
        assert np.corrcoef(got, want[k])[0, 1] > 0.8, k
        np.testing.assert_allclose(got, want[k], rtol=tol, err_msg=k)
    assert p["stroke_width"](x)[1] > p["stroke_width"](x)[0]
    with pytest.raises(ValueError, match="cannot be followed"):
        local_edits.follow(G, torch.zeros(1, 1, 4), "serif", 1.0, 1.0)


def test_follow_quality_and_its_card_table(block_proxies):
    from explorer.explore.direction_quality import follow_quality
    from explorer.gan.card import follow_section
    G = PlantedGenerator(units(12, 0.6, seed=3))
    attr = attribute_directions(G, None, n_samples=300, measurer=block_measurer())
    held = follow_quality(G, attr, block_measurer(), n_seeds=30, step=1.0)
    free = follow_quality(G, attr, block_measurer(), n_seeds=30, step=1.0, hold_others=False)
    for r in held["rows"]:
        assert r["right_way"] == 1.0 and r["leak"] < 0.05 and r["held"]
    assert all(r["leak"] > 0.3 for r in free["rows"])                      # the two squares share a direction
    held["rows"][0]["name"] = "**bold**"
    table = follow_section({**held, "hold_others": True})
    assert "\\*\\*bold\\*\\*" in table and "| 100 % |" in table
    with pytest.raises(ValueError, match="followed"):
        follow_quality(G, dataclasses.replace(attr, method="pca"), block_measurer(), n_seeds=3)


def test_held_width_also_holds_the_glyphs_ranked_beside_the_median():
    from explorer.data import glyphmetrics
    from tests.glyph_stacks import render_stacks
    stacks = render_stacks(n=4, res=64)
    x = stacks.float() / 127.5 - 1
    G = PlantedGenerator(units(4, 0.0))
    G.cfg.channels = 62
    p, comp = local_edits.proxies_for(G), local_edits.companions_for(G)
    below, above = (c(x) for c in comp["width"])
    assert bool((below <= p["width"](x)).all()) and bool((p["width"](x) <= above).all())
    ink = glyphmetrics.as_ink(stacks.numpy())                 # the measured glyph widths, sorted, in cap heights
    cap = np.median(glyphmetrics.ink_heights(ink, specks=False)[:, glyphmetrics._idx(glyphmetrics.CAP_GLYPHS)], axis=1)
    widths = glyphmetrics.ink_widths(ink, specks=False)
    ranked = np.sort(widths[:, glyphmetrics._idx(glyphmetrics.WIDTH_GLYPHS)], axis=1)
    np.testing.assert_allclose(below.numpy(), ranked[:, 2] / cap, rtol=0.15)
    np.testing.assert_allclose(above.numpy(), ranked[:, 4] / cap, rtol=0.15)
    assert len(local_edits._prepare(G, "slant", ["stroke_width", "width"])) == 5     # + width's two companions
    assert len(local_edits._prepare(G, "width", ["stroke_width", "slant"])) == 3     # moved, not held: none
    G.cfg.channels = 3
    assert local_edits.companions_for(G) == {}
    assert len(local_edits._prepare(G, "brightness", ["contrast", "edges"])) == 3
