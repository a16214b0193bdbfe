"""LatentState: seed -> ws, layer-range edits, recipes and query params (tiny CPU models)."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from explorer.explore.latents import Edit, LatentState, Limits, seed_to_z, state_to_ws, with_edit, with_z_offset
from explorer.explore.recipes import (
    from_query_params,
    from_recipe,
    parse_recipe_json,
    recipe_json,
    sanitize,
    to_query_params,
    to_recipe,
)
from explorer.explore.sefa import sefa_directions
from explorer.imaging.render import sample_grid
from tests.factories import tiny_generator

CK = "0123456789ab"


@pytest.fixture(scope="module")
def G():
    return tiny_generator(3)


@pytest.fixture(scope="module")
def dirs(G):
    return sefa_directions(G, k=8, sigma_samples=256)


def full_state() -> LatentState:
    return LatentState("fashion", CK, 123, 2, 0.7, "sefa",
                       (Edit(3, 1.5, 0, 4), Edit(7, -2.0, 2, None), Edit(0, 0.1 + 0.2, 1, 2), Edit(1, 1e-5)),
                       ((2, 0.5), (5, -1.25)))


def test_seed_to_z_is_deterministic_and_matches_sample_grid(G):
    z = seed_to_z(7, 8)
    assert z.shape == (1, 8) and torch.equal(z, seed_to_z(7, 8)) and not torch.equal(z, seed_to_z(8, 8))
    G1 = tiny_generator(0)
    st = LatentState("m", CK, 7, None)
    from explorer.imaging.render import make_grid, to_uint8
    img = make_grid(to_uint8(G1.synthesis(state_to_ws(G1, st))), nrow=1)
    grid = sample_grid(G1, n=1, seed=7, nrow=1)
    assert (img == grid).all()


def test_state_to_ws_truncation_and_class(G):
    st = LatentState("m", CK, 3, 1)
    ws = state_to_ws(G, st)
    w = G.mapping(seed_to_z(3, 8), torch.tensor([1]))
    assert ws.shape == (1, G.num_ws, 8) and torch.equal(ws, w[:, None].repeat(1, G.num_ws, 1))
    ws0 = state_to_ws(G, dataclasses.replace(st, psi=0.0))
    assert torch.allclose(ws0[0, 0], G.w_avg[1])
    ws_off = state_to_ws(G, with_z_offset(st, 2, 1.0))
    assert not torch.equal(ws_off, ws)


def test_layer_range_edit_touches_only_its_layers(G, dirs):
    st = LatentState("m", CK, 11, 0, method="sefa")
    before = state_to_ws(G, st)
    after = state_to_ws(G, with_edit(st, Edit(2, 3.0, 2, 5)), dirs)
    aff = G.style_affines()
    for i in range(G.num_ws):
        s0, s1 = aff[i](before[:, i]), aff[i](after[:, i])
        if 2 <= i < 5:
            assert torch.allclose(after[0, i] - before[0, i], 3.0 * dirs.sigma[2] * dirs.vectors[2], atol=1e-6)
            assert not torch.allclose(s0, s1)
        else:
            assert torch.equal(before[:, i], after[:, i]) and torch.equal(s0, s1)
    everything = state_to_ws(G, with_edit(st, Edit(2, 3.0)), dirs)
    assert not torch.equal(everything[:, 0], before[:, 0]) and not torch.equal(everything[:, -1], before[:, -1])


def test_edits_need_matching_directions(G, dirs):
    st = LatentState("m", CK, 1, 0, method="pca", edits=(Edit(0, 1.0),))
    with pytest.raises(ValueError, match="no directions"):
        state_to_ws(G, st)
    with pytest.raises(ValueError, match="sefa"):
        state_to_ws(G, st, dirs)
    with pytest.raises(ValueError, match="direction 9"):
        state_to_ws(G, dataclasses.replace(st, method="sefa", edits=(Edit(9, 1.0),)), dirs)


def test_with_edit_replaces_and_removes():
    st = LatentState("m", CK, 1)
    st = with_edit(with_edit(st, Edit(1, 2.0)), Edit(1, 3.0))
    assert st.edits == (Edit(1, 3.0),)
    st = with_edit(with_edit(st, Edit(1, 1.0, 0, 2)), Edit(1, 0.0))
    assert st.edits == (Edit(1, 1.0, 0, 2),)
    assert with_z_offset(with_z_offset(st, 3, 1.0), 3, 0).z_offsets == ()
    st = with_edit(with_edit(with_edit(st, Edit(2, 1.0)), Edit(3, 1.0)), Edit(2, -1.0))
    assert [e.direction for e in st.edits] == [1, 2, 3] and st.edits[1].amount == -1.0


def test_recipe_round_trip_exact():
    st = full_state()
    text = recipe_json(st)
    assert json.loads(text)["format"] == "latent-explorer-recipe" and json.loads(text)["version"] == 1
    back, warnings = parse_recipe_json(text)
    assert back == st and warnings == []
    back, warnings = from_recipe(to_recipe(st), expected_model="fashion", expected_checkpoint=CK + "ffff")
    assert back == st and warnings == []


def test_recipe_for_another_checkpoint_warns_and_retargets():
    st, warnings = from_recipe(to_recipe(full_state()), expected_model="other", expected_checkpoint="fedcba987654" * 5)
    assert st.model == "other" and st.checkpoint == "fedcba987654"
    assert any("checkpoint 0123456789ab" in w for w in warnings) and any("'fashion'" in w for w in warnings)


def test_malformed_recipes():
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_recipe_json("{not json")
    with pytest.raises(ValueError, match="JSON object"):
        parse_recipe_json("[1, 2]")
    with pytest.raises(ValueError, match="not a Latent Explorer recipe"):
        parse_recipe_json('{"format": "something-else"}')
    d = dict(to_recipe(full_state()), seed="abc", psi=float("inf"), edits=[{"direction": "x"}, [1], "3:1"],
             z_offsets="nope", method="magic", class_index=[1])
    st, warnings = from_recipe(d)
    assert (st.seed, st.psi, st.method, st.edits, st.z_offsets, st.class_index) == (0, 1.0, "pca", (), (), None)
    assert len(warnings) >= 7


def test_query_params_round_trip_exact():
    st = full_state()
    q = to_query_params(st)
    assert all(isinstance(v, str) for v in q.values())
    assert q["e"].startswith("3:1.5:0:4,7:-2:2:,")
    back, warnings = from_query_params(q)
    assert back == st and warnings == []
    plain = LatentState("m", CK, 0, None)
    assert to_query_params(plain) == {"m": "m", "ck": CK, "s": "0"}
    assert from_query_params(to_query_params(plain)) == (plain, [])
    assert from_query_params({}) == (None, [])
    assert from_query_params({"s": ["1", "2"]})[0].seed == 2          # repeated key: the last one wins


def test_malformed_query_params_give_defaults_and_warnings():
    st, warnings = from_query_params({"seed": "x", "s": "abc", "p": "9", "e": "garbage"})
    assert (st.seed, st.psi, st.edits) == (0, 2.0, ())
    assert len(warnings) == 4 and any("seed" in w for w in warnings) and any("psi" in w for w in warnings)
    assert "unknown link parameter(s) 'seed'" in warnings[0]
    assert from_query_params({"psi": "1e9", "embed": "true"}) == (None, [warnings[0].replace("'seed'", "'psi'")])
    st, warnings = from_query_params({"s": "99999999999", "p": "-1", "e": "1:50:0:3,2:nan,:1,-1:1,4:1:7:2",
                                      "z": "3:x,1:0.5,a:b:c", "c": "1.5", "d": "ica", "ck": "nothex"})
    assert st.seed == 2**31 - 1 and st.psi == 0.0 and st.method == "pca" and st.class_index is None
    assert st.edits == (Edit(1, 10.0, 0, 3),) and st.z_offsets == ((1, 0.5),) and st.checkpoint == ""
    assert len(warnings) >= 10


def test_limits_clamp_layers_directions_and_classes():
    q = {"s": "1", "c": "5", "e": "1:1:0:99,9:1,2:1:20:,3:1:-2:2", "z": "9:1,0:1"}
    st, warnings = from_query_params(q, limits=Limits(num_ws=8, z_dim=8, num_classes=3, num_directions=8))
    assert st.class_index is None and st.z_offsets == ((0, 1.0),)
    assert st.edits == (Edit(1, 1.0, 0, 8), Edit(3, 1.0, 0, 2))
    assert len(warnings) == 6
    ok, none = sanitize(full_state(), Limits(8, 8, 3, 8))
    assert ok == full_state() and none == []
    st, w = sanitize(LatentState("m", CK, 1, 0), Limits(num_classes=0))
    assert st.class_index is None and "unconditional" in w[0]


@pytest.mark.parametrize("junk", ["", ":", ",,,", "1:2:3:4:5", "é:ü", "1e999:1", "1:1e999", "0x10:1", " 3 : 1 ",
                                  "1:1:a:b", "1" * 5000])
def test_query_param_fuzz_never_raises(junk):
    for key in ("m", "ck", "s", "c", "p", "d", "e", "z"):
        st, warnings = from_query_params({key: junk, "s": "1"} if key != "s" else {key: junk},
                                         expected_model="m", expected_checkpoint=CK, limits=Limits(8, 8, 3, 8))
        assert isinstance(st, LatentState) and all(isinstance(w, str) for w in warnings)


def test_dcgan_state_to_ws():
    D = tiny_generator(3, "dcgan")
    d = sefa_directions(D, k=4, sigma_samples=64)
    ws = state_to_ws(D, LatentState("m", CK, 4, 2, 0.5, "sefa", (Edit(0, 2.0),)), d)
    assert ws.shape == (1, 1, 11)
    assert torch.equal(ws[0, 0, 8:], torch.tensor([0.0, 0.0, 1.0]))        # the one-hot class is never edited
    assert D.synthesis(ws).shape == (1, 1, 32, 32)


def test_sweep_ws_matches_setting_the_edit_one_by_one(G, dirs):
    from explorer.explore.latents import sweep_ws
    st = dataclasses.replace(full_state(), class_index=1)
    for edit in (Edit(3, 1.5, 0, 4), Edit(2, 0.0), Edit(7, -2.0, 2, None)):
        base = with_edit(st, edit)
        ws = sweep_ws(state_to_ws(G, base, dirs), dirs, edit, range(-3, 4))
        want = torch.cat([state_to_ws(G, with_edit(base, dataclasses.replace(edit, amount=float(a))), dirs)
                          for a in range(-3, 4)])
        assert ws.shape == want.shape == (7, G.num_ws, 8)
        assert torch.allclose(ws, want, atol=1e-5)
        outside = [i for i in range(G.num_ws) if not edit.layer_start <= i < (edit.layer_end or G.num_ws)]
        base_ws = state_to_ws(G, base, dirs)
        assert all(torch.equal(ws[j, i], base_ws[0, i]) for j in range(7) for i in outside)


@pytest.mark.parametrize("arch, expected", [("dcgan", True), ("film", False), ("style", False)])
@pytest.mark.parametrize("classes", [0, 3])
def test_w_is_z_only_without_a_learned_mapping(arch, expected, classes):
    from explorer.explore.latents import w_is_z
    assert w_is_z(tiny_generator(classes, arch, w_avg=True)) is expected


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000,
                                  b"\xff\xfe{", b'{"format": "\xc3"}'])
def test_hostile_recipe_text_is_a_value_error(text):
    with pytest.raises(ValueError, match="not (valid|usable) JSON"):
        parse_recipe_json(text)


def test_a_recipe_carries_its_view_and_reads_it_back_strictly():
    from explorer.explore import recipes as R
    state = LatentState("fonts", "abc", seed=3)
    d = R.to_recipe(state, {"t": "Hi", "sz": "48", "other": "x"})
    assert d["view"] == {"t": "Hi", "sz": "48"} and "view" not in R.to_recipe(state)
    assert R.recipe_view(json.loads(R.recipe_json(state, {"t": "Hi"}))) == {"t": "Hi"}
    assert R.from_recipe(d)[0] == R.from_recipe(R.to_recipe(state))[0]          # the view is not the state
    for bad in ({"view": {"t": 5, "sz": ["48"]}}, {"view": "t=Hi"}, [], None):
        assert R.recipe_view(bad) == {}
