"""Entanglement heat maps, auto-labels, InterFaceGAN-style orthogonalisation and the quality figures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.explore.attribute_directions import attribute_directions
from explorer.explore.direction_quality import direction_quality, quality_table
from explorer.explore.entanglement import auto_label, effect_matrix, orthogonalise
from tests.explore.planted import PlantedGenerator, block_measurer, units


@pytest.fixture(scope="module")
def planted():
    """u0, u1 at cosine 0.6: moving along "left" drifts "right" by 0.6 as much."""
    u = units(12, 0.6, seed=3)
    G = PlantedGenerator(u)
    d = attribute_directions(G, None, n_samples=600, seed=0, measurer=block_measurer())
    return G, d, u


def test_heat_map_shows_the_planted_entanglement(planted):
    G, d, _ = planted
    fx = effect_matrix(G, d.vectors, d.sigma, block_measurer(), n_seeds=24)
    assert fx.matrix.shape == (2, 2) and fx.names == ["left", "right"]
    left_on_left, left_on_right = fx.matrix[0]
    assert left_on_left > 0 and 0.4 < left_on_right / left_on_left < 0.8      # the planted 0.6
    assert fx.labels(["attr 0", "attr 1"])[0] == "attr 0: + left, + right"


def test_orthogonalisation_removes_the_planted_drift(planted):
    G, d, _ = planted
    before = effect_matrix(G, d.vectors[:1], d.sigma[:1], block_measurer(), n_seeds=24).matrix[0]
    v = orthogonalise(d.vectors[0], d.vectors[1:2])
    assert abs(float(v @ d.vectors[1])) < 1e-6 and abs(float(v.norm()) - 1) < 1e-6
    after = effect_matrix(G, v[None], d.sigma[:1], block_measurer(), n_seeds=24).matrix[0]
    assert abs(after[1]) < 0.05 * abs(before[1])                 # "right" no longer drifts
    assert after[0] > 0.5 * before[0]                            # "left" still moves
    with pytest.raises(ValueError, match="span"):
        orthogonalise(d.vectors[0], torch.stack([d.vectors[0], d.vectors[1]]))
    several = orthogonalise(torch.tensor([1.0, 1.0, 1.0]), torch.tensor([[1.0, 0, 0], [1.0, 1.0, 0]]))
    assert torch.allclose(several, torch.tensor([0.0, 0.0, 1.0]), atol=1e-6)   # the span of both, not each


def test_auto_label_names_what_a_direction_changes():
    names = ["weight", "width", "slant"]
    assert auto_label(np.array([0.5, -0.4, 0.05]), names) == "+ weight, − width"
    assert auto_label(np.array([-0.5, 0.1, 0.05]), names) == "− weight"              # width is too small
    assert auto_label(np.array([0.02, 0.01, 0.0]), names) == ""


def test_quality_before_and_after_orthogonalisation(planted):
    G, d, _ = planted
    q = direction_quality(G, d, block_measurer(), n_seeds=60)
    rows = {r["key"]: r for r in q["rows"]}
    for key in ("left", "right"):
        assert rows[key]["right_way"] >= 0.95 and rows[key]["right_way_orth"] >= 0.95
        assert 0.4 < rows[key]["leak"] < 0.8 and rows[key]["leak_orth"] < 0.1
    assert "| left |" in quality_table(q)
    with pytest.raises(ValueError, match="group"):
        direction_quality(G, d, block_measurer(), n_seeds=5, group=["nothing"])


def test_quality_goes_into_the_model_card_once(planted, tmp_path):
    import json

    from explorer.explore.direction_quality import add_to_card, card_figures
    from explorer.gan.card import model_card
    G, d, _ = planted
    q = card_figures(direction_quality(G, d, block_measurer(), n_seeds=20))
    q["rows"][0]["name"] = "[click](http://example.invalid)"            # a user-typed name stays text
    side = tmp_path / "m.json"
    side.write_text(json.dumps({"name": "m", "model_card": "# m\n\n## Quality\nfine\n", "metrics": {"fd": 1.0}}))
    add_to_card(side, q)
    add_to_card(side, q)                                                # replaced, not appended twice
    meta = json.loads(side.read_text())
    card = meta["model_card"]
    assert card.count("## Edit directions") == 1 and card.startswith("# m\n\n## Quality\nfine")
    assert "| [click](" not in card and "\\[click\\]" in card and "| right |" in card
    assert meta["metrics"]["fd"] == 1.0 and meta["metrics"]["directions"]["n_seeds"] == 20
    assert "## Edit directions" in model_card("m", {"generator": {}}, {"directions": q})


def test_a_conditional_edit_that_keeps_little_of_itself_is_flagged():
    import numpy as np

    from explorer.explore.entanglement import little_left
    keys, names = ["stroke_width", "coverage"], ["weight", "ink"]
    m = np.array([[0.9, 0.8], [0.05, 0.0]])                      # holding ink leaves weight 0.05 of 0.9
    assert little_left(m, keys, names, ["stroke_width"]) == ("weight", 0.9, 0.05)
    assert little_left(np.array([[0.9, 0.8], [0.6, 0.0]]), keys, names, ["stroke_width"]) is None
    assert little_left(m, keys, names, [])[0] == "the attributes"          # a PCA edit: the whole row
    assert little_left(np.zeros((2, 2)), keys, names, []) is None
