"""The pure render engine (no Streamlit): renders like the generator, batches states, keeps directions."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from explorer.explore.engine import MAX_DIRECTIONS, load_engine
from explorer.explore.latents import Edit, LatentState, state_to_ws
from explorer.imaging.render import to_uint8
from tests.factories import export_generator


@pytest.fixture
def eng(tmp_path):
    G, side = export_generator(tmp_path / "tiny", ["a", "b"])
    return load_engine(side), G


def test_render_state_matches_the_generator(eng):
    e, G = eng
    s = LatentState("tiny", "", seed=3, class_index=1, psi=0.8)
    img, ms = e.render_state(s, None)
    with torch.no_grad():
        want = to_uint8(G.synthesis(state_to_ws(G, s)))[0]
    assert ms > 0 and img.shape == (32, 32, 1) and (img == want).all()


def test_render_states_batches_each_with_its_own_methods_directions(eng):
    e, _ = eng
    base = LatentState("tiny", "", seed=1, class_index=0)
    states = [base, dataclasses.replace(base, edits=(Edit(0, 2.0),)),
              dataclasses.replace(base, method="sefa", edits=(Edit(0, 2.0),))]
    imgs = e.render_states(states)
    one_by_one = [e.render_state(s, e.directions(s.method) if s.edits else None)[0] for s in states]
    assert imgs.shape == (3, 32, 32, 1) and all((a == b).all() for a, b in zip(imgs, one_by_one))
    assert not (imgs[0] == imgs[1]).all() and not (imgs[1] == imgs[2]).all()
    assert e.render_states([]).shape == (0, 32, 32, 1)


def test_directions_are_computed_once_per_method_and_unknown_methods_refused(eng):
    e, _ = eng
    d = e.directions("pca")
    assert d.k == min(MAX_DIRECTIONS, e.G.cfg.w_dim) and e.directions("pca") is d
    with pytest.raises(ValueError, match="unknown direction method"):
        e.directions("nope")
    assert e.limits().num_directions == MAX_DIRECTIONS and e.key.startswith("tiny:")
