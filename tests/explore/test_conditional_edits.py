"""Conditional edits (Edit.ortho): applied as InterFaceGAN projections, carried by recipes and links."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from explorer.explore import recipes
from explorer.explore.attribute_directions import attribute_directions
from explorer.explore.directions import Directions
from explorer.explore.entanglement import orthogonalise
from explorer.explore.latents import Edit, LatentState, Limits, state_to_ws, sweep_ws
from tests.explore.planted import PlantedGenerator, block_measurer, units

CK = "0123456789ab"


@pytest.fixture(scope="module")
def model():
    u = units(12, 0.6, seed=3)
    G = PlantedGenerator(u)
    attr = attribute_directions(G, None, n_samples=400, measurer=block_measurer())
    pca = Directions("pca", torch.eye(12)[:4], torch.ones(4), torch.full((4,), 0.25), ["PC 0", "PC 1", "PC 2", "PC 3"],
                     0.0)
    return G, attr, pca


def test_conditional_edit_is_the_projected_direction(model):
    G, attr, pca = model
    st = LatentState("m", CK, 5, method="pca", edits=(Edit(0, 2.0, ortho=(1,)),))
    ws = state_to_ws(G, st, pca, attr)
    plain = state_to_ws(G, dataclasses.replace(st, edits=()), pca)
    want = 2.0 * orthogonalise(pca.vectors[0], attr.vectors[1:2])
    assert torch.allclose(ws - plain, want.expand_as(ws), atol=1e-6)
    assert abs(float((ws - plain)[0, 0] @ attr.vectors[1])) < 1e-5          # "right" is left alone
    with pytest.raises(ValueError, match="attribute directions"):
        state_to_ws(G, st, pca)                                              # no basis given
    # attribute edits use their own family as the basis; the strip sweeps the same vector
    a = LatentState("m", CK, 5, method="attr", edits=(Edit(0, 1.0, ortho=(1,)),))
    ws_a = state_to_ws(G, a, attr)
    sweep = sweep_ws(ws_a, attr, a.edits[0], [1.0, 3.0])
    assert torch.allclose(sweep[0], ws_a[0], atol=1e-6)
    assert abs(float((sweep[1] - sweep[0])[0] @ attr.vectors[1])) < 1e-5


def test_conditional_edits_round_trip_through_json_and_links():
    st = LatentState("fashion", CK, 7, 2, 0.8, "pca", (Edit(3, 1.5, 1, 4, (0, 5)), Edit(1, -2.0)))
    lim = Limits(num_ws=6, z_dim=8, num_classes=3, num_directions=32, num_attributes=16)
    back, warns = recipes.parse_recipe_json(recipes.recipe_json(st), limits=lim)
    assert back == st and warns == []
    q = recipes.to_query_params(st)
    assert q["e"] == "3:1.5:1:4:0.5,1:-2:0:"
    back, warns = recipes.from_query_params(q, limits=lim)
    assert back == st and warns == []
    assert "ortho" not in recipes.to_recipe(st)["edits"][1]                 # plain edits look as before


def test_old_recipes_and_links_still_load():
    old = {"format": "latent-explorer-recipe", "version": 1, "model": "m", "checkpoint": CK, "seed": 3,
           "class_index": None, "psi": 1.0, "method": "sefa",
           "edits": [{"direction": 2, "amount": 1.0, "layer_start": 0, "layer_end": None}], "z_offsets": []}
    st, warns = recipes.from_recipe(old)
    assert st.edits == (Edit(2, 1.0),) and warns == []
    st, warns = recipes.from_query_params({"m": "m", "ck": CK, "s": "3", "d": "sefa", "e": "2:1:0:"})
    assert st is not None and st.edits == (Edit(2, 1.0),) and warns == []


def test_bad_orthogonality_is_warned_and_dropped():
    lim = Limits(num_directions=20, num_attributes=10)
    st, warns = recipes.from_query_params({"s": "1", "e": "3:1:0::2.x.99.-1.2"}, limits=lim)
    assert st is not None and st.edits[0].ortho == (2,)
    assert any("99" in w for w in warns) and any("'x'" in w for w in warns)
    # an attribute edit cannot be made orthogonal to itself
    st, warns = recipes.from_query_params({"s": "1", "d": "attr", "e": "4:1:0::4.6"}, limits=lim)
    assert st is not None and st.method == "attr" and st.edits[0].ortho == (6,)
    assert any("orthogonal to itself" in w for w in warns)                    # said, not dropped silently
