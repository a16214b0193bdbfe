"""Taught directions travel by name in recipes (whole) and links (names only)."""

from __future__ import annotations

import json

import torch

from explorer.explore import recipes
from explorer.explore import taught as T
from explorer.explore import taught_refs as TR
from explorer.explore.directions import Directions
from explorer.explore.latents import Edit, LatentState


def attr_dirs(names: list[str], taught: int, width: int = 8, seed: int = 0) -> Directions:
    """Attribute directions: len(names) unit rows, the last `taught` of them taught."""
    v = torch.randn(len(names), width, generator=torch.Generator().manual_seed(seed))
    v = v / v.norm(dim=1, keepdim=True)
    return Directions("attr", v, torch.linspace(0.5, 1.5, len(names)), torch.full((len(names),), 0.8), names, 0.0,
                      {"taught": taught})


def test_a_recipe_carries_its_taught_directions_whole_and_they_round_trip():
    A = attr_dirs(["weight", "slant", "rounder", "a, b: c"], taught=2)
    state = LatentState("m", "ck", 0, method="attr", edits=(Edit(2, 1.5, 0, None), Edit(0, 1.0, 0, None, (3,))))
    refs = TR.refs_of(state, A)
    assert [(r.direction, r.name) for r in refs] == [(2, "rounder"), (3, "a, b: c")]
    d = json.loads(recipes.recipe_json(state, taught=TR.recipe_field(refs)))
    back, warns = TR.from_recipe_field(d["taught"], 8)
    assert not warns and [(r.direction, r.name) for r in back] == [(2, "rounder"), (3, "a, b: c")]
    v = torch.tensor(TR._vector(back[0].vector, 8), dtype=torch.float64)
    assert float(v @ A.vectors[2].double()) > 0.999                       # float16 keeps the direction
    assert TR.refs_of(LatentState("m", "ck", 0, method="pca", edits=(Edit(2, 1.0, 0, None),)), A) == []
    # through a link: names only, commas and colons in them included
    link, lw = TR.from_link_param(TR.link_param(refs)[TR.LINK_KEY])
    assert not lw and [(r.direction, r.name, r.vector) for r in link] == [(2, "rounder", ""), (3, "a, b: c", "")]


def test_bad_taught_entries_are_left_out_with_a_reason_each():
    A = attr_dirs(["weight", "rounder"], taught=1)
    good = TR.recipe_field(TR.refs_of(LatentState("m", "ck", 0, method="attr", edits=(Edit(1, 1.0, 0, None),)), A))[0]
    bad = [7, {**good, "direction": -1}, {**good, "name": "  "}, {**good, "vector": "!!"},
           {**good, "vector": good["vector"][:8]}, {**good, "sigma": float("nan")}, {**good, "sigma": "x"}, good]
    refs, warns = TR.from_recipe_field(bad, 8)
    assert len(warns) == 7 and all("ignored" in w for w in warns[:3])             # no index, no name: left out
    assert all("matched by name only" in w for w in warns[3:])                   # a bad vector: the name still counts
    assert [r.vector == "" for r in refs] == [True, True, True, True, False]
    assert TR.from_recipe_field("nope", 8)[1] == ["'taught' is not a list; ignored"]
    assert TR.from_recipe_field(None, 8) == ([], [])
    assert len(TR.from_link_param("x:y,3,:z,4:")[1]) == 4


def test_resolve_moves_edits_to_the_name_here_or_leaves_them_out():
    here = ["weight", "slant", "other", "rounder"]                     # 2 measured, then taught
    state = LatentState("m", "ck", 0, method="attr", edits=(
        Edit(2, 1.5, 0, None), Edit(3, -1.0, 0, None), Edit(0, 0.5, 0, None, (2, 3, 1)), Edit(1, 0.2, 0, None)))
    refs = [TR.TaughtRef(2, "rounder"), TR.TaughtRef(3, "gone")]
    out, warns = TR.resolve(state, refs, here, measured=2)
    assert [e.direction for e in out.edits] == [3, 0, 1]                   # 2 -> 3 by name; "gone" left out
    assert out.edits[1].ortho == (3, 1) and warns == [
        "the taught direction 'gone' is not on this server; its edit was left out"]
    plain = LatentState("m", "ck", 0, method="pca", edits=(Edit(3, 1.0, 0, None, (2,)),))
    assert TR.resolve(plain, refs, here, 2)[0].edits == (Edit(3, 1.0, 0, None, (3,)),)   # PCA 3 stays PCA 3
    assert TR.resolve(state, [], here, 2)[0] == state                       # old links: indices as they are


def test_install_teaches_a_recipes_direction_where_its_name_is_missing(tmp_path):
    A = attr_dirs(["weight", "rounder"], taught=1)
    refs = TR.refs_of(LatentState("m", "ck", 0, method="attr", edits=(Edit(1, 1.0, 0, None),)), A)
    here = attr_dirs(["weight"], taught=0)
    meta = {"sha256": "ab" * 32}
    out, added, warns = TR.install(meta, None, refs, here, folder=tmp_path)
    saved = T.load_taught(meta, tmp_path)
    assert added == ["rounder"] and not warns and [t.name for t in saved] == ["rounder"] and out == refs
    assert float(torch.tensor(saved[0].vector, dtype=torch.float64) @ A.vectors[1].double()) > 0.999
    assert TR.install(meta, None, refs, A, folder=tmp_path) == (refs, [], [])   # already there: nothing to do
    clash = [TR.TaughtRef(1, "Weight", refs[0].vector, 1.0, 0.9)]           # a measured name is refused
    _, added, warns = TR.install(meta, None, clash, here, folder=tmp_path)
    assert added == [] and "measured attribute direction" in warns[0]


def test_a_recipes_direction_whose_name_holds_another_vector_here_is_added_under_a_new_name(tmp_path):
    A = attr_dirs(["weight", "rounder"], taught=1)
    refs = TR.refs_of(LatentState("m", "ck", 0, method="attr", edits=(Edit(1, 1.5, 0, None),)), A)
    here = attr_dirs(["weight", "rounder"], taught=1, seed=7)              # another "rounder" on this server
    meta = {"sha256": "cd" * 32}
    T.save_taught(meta, T.Taught("rounder", here.vectors[1].tolist(), 1.0, 0.9, 6, 6), tmp_path)
    out, added, warns = TR.install(meta, None, refs, here, folder=tmp_path)
    assert added == ["rounder (2)"] and [r.name for r in out] == ["rounder (2)"] and "was added as" in warns[0]
    saved = {t.name: t for t in T.load_taught(meta, tmp_path)}
    assert float(torch.tensor(saved["rounder (2)"].vector, dtype=torch.float64) @ A.vectors[1].double()) > 0.999
    names = ["weight", "rounder", "rounder (2)"]
    state, _ = TR.resolve(LatentState("m", "ck", 0, method="attr", edits=(Edit(1, 1.5, 0, None),)), out, names, 1)
    assert state.edits[0].direction == 2                                   # the recipe's own vector is edited
