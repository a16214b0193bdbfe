"""The Explore page's Attributes panel through AppTest: heat map, conditional edits, teaching a direction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.factories import export_generator, open_recipe, run_app, slider_of, upload_recipe, use_dirs

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    G, side = export_generator(tmp_path / "pre" / "tiny", ["cat", "dog", "owl"])
    env = use_dirs(monkeypatch, tmp_path)
    return {"sha": json.loads(side.read_text())["sha256"], "G": G, "data": Path(env["LATENT_EXPLORER_DATA"])}


def _open(at: AppTest) -> AppTest:
    run_app(at)
    at.radio(key="panel").set_value("Attributes")
    return run_app(at)


def test_heat_map_and_a_conditional_edit_in_the_link(app_env):
    at = _open(AppTest.from_file(APP, default_timeout=180))
    assert len(at.get("plotly_chart")) >= 1                               # the entanglement heat map
    assert any("attribute directions measured" in c.value for c in at.caption)
    at.selectbox(key="attr_cond_dir").set_value(0)
    run_app(at)
    keep = at.multiselect(key="attr_keep_pca_0")
    keep.set_value([0, 1])
    run_app(at)
    assert len(at.get("plotly_chart")) >= 2                               # before / after rows
    at.button(key="attr_cond_apply").click()
    run_app(at)
    at.radio(key="panel").set_value("Edit directions")
    run_app(at)
    assert "⟂ 2" in at.slider(key="amt0").label
    at.slider(key="amt0").set_value(2.0)
    run_app(at)
    assert at.query_params["e"] == "0:2:0::0.1"                            # the link says what it is orthogonal to
    # the link reproduces it in a fresh session
    fresh = AppTest.from_file(APP, default_timeout=180)
    fresh.query_params.update(dict(at.query_params))
    run_app(fresh)
    assert fresh.slider(key="amt0").value == 2.0 and "⟂ 2" in fresh.slider(key="amt0").label


def test_teach_a_direction_from_marked_seeds_and_use_it(app_env, monkeypatch):
    from explorer.explore import taught
    monkeypatch.setattr(taught, "WEAK_ACCURACY", 0.0)                    # whatever it fits is kept
    at = _open(AppTest.from_file(APP, default_timeout=180))
    for j in range(12):
        at.segmented_control(key=f"attr_mark_{j}").set_value("more" if j < 6 else "less")
        run_app(at)
    assert at.button(key="attr_teach").disabled                           # no name yet
    at.text_input(key="attr_teach_name").input("rounder")
    run_app(at)
    at.button(key="attr_teach").click()
    run_app(at)
    saved = json.loads(next((app_env["data"] / "directions").glob("*-taught.json")).read_text())
    assert [d["name"] for d in saved["directions"]] == ["rounder"] and saved["directions"][0]["n_more"] == 6
    assert any("Marked: 0 more, 0 less" in c.value for c in at.caption)
    assert all(at.segmented_control(key=f"attr_mark_{j}").value is None for j in range(12))   # controls reset too
    at.session_state["k"] = 3                             # fewer sliders than directions: "Edit with" shows its own
    at.button(key="attr_edit_taught").click()
    run_app(at)
    assert at.radio(key="method").value == "attr" and at.radio(key="panel").value == "Edit directions"
    idx = slider_of(at, "rounder")
    strip = next(b for b in at.selectbox if b.key and b.key.startswith("strip_dir_"))
    assert strip.value == idx                                              # its strip, too
    assert "accuracy" in at.slider(key=f"amt{idx}").label
    at.slider(key=f"amt{idx}").set_value(1.5)
    run_app(at)
    assert at.query_params["d"] == "attr" and at.query_params["e"] == f"{idx}:1.5:0:"
    at.radio(key="panel").set_value("Attributes")                         # again, on the attribute method:
    run_app(at)
    next(b for b in at.selectbox if b.key and b.key.startswith("strip_dir_")).set_value(0)
    run_app(at)
    at.button(key="attr_edit_taught").click()
    run_app(at)
    assert at.slider(key=f"amt{idx}").value == 1.5                         # the edits made stay
    assert next(b for b in at.selectbox if b.key and b.key.startswith("strip_dir_")).value == idx


def test_a_link_naming_attributes_the_model_lacks_still_shows(app_env):
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update({"m": "tiny", "ck": app_env["sha"][:12], "s": "3", "c": "1", "e": "0:1.5:0::0.99"})
    run_app(at)
    assert any("99" in w.value for w in at.warning)
    assert at.slider(key="amt0").value == 1.5 and "⟂ 1" in at.slider(key="amt0").label
    assert at.query_params["e"] == "0:1.5:0::0"


def test_teaching_needs_six_each_and_warns_near_chance(app_env, monkeypatch):
    from explorer.explore import taught
    monkeypatch.setattr(taught, "WEAK_ACCURACY", 1.01)                   # every fit counts as near chance
    at = _open(AppTest.from_file(APP, default_timeout=180))
    at.text_input(key="attr_teach_name").input("noise")
    for j in range(8):
        at.segmented_control(key=f"attr_mark_{j}").set_value("more" if j < 4 else "less")
        run_app(at)
    assert at.button(key="attr_teach").disabled                           # 4 + 4 is too few
    for j in range(8, 12):
        at.segmented_control(key=f"attr_mark_{j}").set_value("more" if j < 10 else "less")
        run_app(at)
    at.button(key="attr_teach").click()
    run_app(at)
    assert any("near or below chance" in w.value and "not saved" in w.value for w in at.warning)
    assert not list((app_env["data"] / "directions").glob("*-taught.json"))           # nothing saved yet
    at.button(key="attr_keep_weak").click()                               # the user keeps it explicitly
    run_app(at)
    saved = json.loads(next((app_env["data"] / "directions").glob("*-taught.json")).read_text())
    assert [d["name"] for d in saved["directions"]] == ["noise"] and saved["directions"][0]["n_more"] == 6
    assert not any("near or below chance" in w.value for w in at.warning)
    at.radio(key="panel").set_value("Edit directions")                    # its slider is among those shown
    at.radio(key="method").set_value("attr")
    run_app(at)
    assert any("noise" in s.label for s in at.slider if s.key and s.key.startswith("amt")), at.number_input(key="k")


def test_heat_map_ticks_are_short_and_the_hover_has_full_names():
    import numpy as np

    from explorer.ui.explore_attributes_panel import X_TICK_CHARS, Y_TICK_CHARS, heat_map
    rows = ["PC 1: + a very long direction name that used to be cut", "PC 1: + a very long direction name too"]
    cols = ["stroke width (mean)", "stroke width (max)", "x"]
    fig = heat_map(np.ones((2, 3)), rows, cols, 200)
    xt, yt = fig.layout.xaxis.ticktext, fig.layout.yaxis.ticktext
    assert max(map(len, xt)) <= X_TICK_CHARS and max(map(len, yt)) <= Y_TICK_CHARS
    assert len(set(fig.data[0].x)) == 3 and len(set(fig.data[0].y)) == 2      # alike abbreviations stay apart
    assert fig.layout.xaxis.tickangle == -45 and fig.layout.margin.l >= 6 * Y_TICK_CHARS
    assert [list(c) for c in fig.data[0].customdata[0]][0] == [rows[0], cols[0]]
    assert "customdata[0]" in fig.data[0].hovertemplate


def test_auto_labels_are_not_repeated_once_saved_as_names():
    from explorer.ui.explore_attributes_panel import label_lines
    labels = ["+ width, + contrast", "", "+ weight"]
    fresh = label_lines(["PC 0", "PC 1", "PC 2"], labels).splitlines()
    assert fresh == ["PC 0: + width, + contrast", "PC 1: (no clear effect)", "PC 2: + weight"]
    named = label_lines(["PC 0: + width, + contrast", "PC 1", "bold"], labels).splitlines()
    assert named == ["PC 0: + width, + contrast", "PC 1: (no clear effect)", "bold: + weight"]


def _attribute_directions_panel() -> tuple[AppTest, list[str]]:
    """The app on attribute directions with the Attributes panel open, and the directions' names."""
    at = AppTest.from_file(APP, default_timeout=180)
    run_app(at)
    at.radio(key="method").set_value("attr")
    run_app(at)
    at.radio(key="panel").set_value("Attributes")
    run_app(at)
    return at, list(at.selectbox(key="attr_cond_dir").options)


def test_an_attribute_edit_that_follows_the_image_travels_in_the_link(app_env):
    at, names = _attribute_directions_panel()
    i = next(j for j, n in enumerate(names) if n.startswith("brightness"))
    at.selectbox(key="attr_cond_dir").set_value(i)
    run_app(at)
    at.toggle(key=f"attr_follow_{i}").set_value(True)
    run_app(at)
    assert any("follows the image" in c.value for c in at.caption)
    at.radio(key="panel").set_value("Edit directions")
    run_app(at)
    assert "↝" in at.slider(key=f"amt{i}").label
    switch = at.toggle(key="follow_all")                         # one of several follows: on, and says how many
    assert switch.value is True and ": 1 of " in switch.label
    at.slider(key=f"amt{i}").set_value(1.0)
    run_app(at)
    assert not at.exception and at.query_params["e"] == f"{i}:1:0:::f"
    fresh = AppTest.from_file(APP, default_timeout=180)
    fresh.query_params.update(dict(at.query_params))
    run_app(fresh)
    assert not fresh.exception and "↝" in fresh.slider(key=f"amt{i}").label
    # a link asking to follow what the model cannot (symmetry has no differentiable measure) shows a plain edit
    j = next(j for j, n in enumerate(names) if n.startswith("symmetry"))
    bad = AppTest.from_file(APP, default_timeout=180)
    bad.query_params.update({**dict(at.query_params), "e": f"{j}:1:0:::f"})
    run_app(bad)
    assert any("cannot follow symmetry" in w.value for w in bad.warning)
    assert "↝" not in bad.slider(key=f"amt{j}").label and bad.query_params["e"] == f"{j}:1:0:"


def test_one_switch_makes_every_followable_attribute_slider_follow(app_env):
    at = AppTest.from_file(APP, default_timeout=180)
    run_app(at)
    at.radio(key="method").set_value("attr")
    run_app(at)
    assert at.toggle(key="follow_all").value is False
    at.toggle(key="follow_all").set_value(True)
    run_app(at)
    labels = {s.key: s.label for s in at.slider if s.key and s.key.startswith("amt")}
    followed = [k for k, lab in labels.items() if "↝" in lab]
    assert any(labels[k].startswith("brightness") for k in followed)
    assert not any(lab.startswith("symmetry") for k, lab in labels.items() if k in followed)
    at.slider(key=followed[0]).set_value(-1.0)
    run_app(at)
    assert not at.exception and at.query_params["e"].endswith(":f")
    at.toggle(key="follow_all").set_value(False)
    run_app(at)
    assert not any("↝" in s.label for s in at.slider if s.key and s.key.startswith("amt"))


def test_following_never_holds_what_it_cannot_and_bad_links_do_not_crash(app_env):
    at, names = _attribute_directions_panel()
    i = next(j for j, n in enumerate(names) if n.startswith("brightness"))
    sym = next(j for j, n in enumerate(names) if n.startswith("symmetry"))
    con = next(j for j, n in enumerate(names) if n.startswith("contrast"))
    at.selectbox(key="attr_cond_dir").set_value(i)
    run_app(at)
    at.multiselect(key=f"attr_keep_attr_{i}").set_value([sym, con])      # a plain conditional edit first
    run_app(at)
    at.button(key="attr_cond_apply").click()
    run_app(at)
    at.toggle(key=f"attr_follow_{i}").set_value(True)                      # then follow: symmetry cannot be held
    run_app(at)
    assert not at.exception
    assert sym not in at.multiselect(key=f"attr_keep_attr_{i}").options
    at.radio(key="panel").set_value("Edit directions")
    run_app(at)
    at.slider(key=f"amt{i}").set_value(1.0)
    run_app(at)
    assert not at.exception and at.query_params["e"] == f"{i}:1:0::{con}:f"
    assert "holds 1" in at.slider(key=f"amt{i}").label
    # a link to an attribute direction the model does not have (fewer than the 32 PCA ones): one box, no crash
    bad = AppTest.from_file(APP, default_timeout=180)
    bad.query_params.update({**dict(at.query_params), "e": f"31:1:0:::f,{i}:1:0::-1.{sym}:f"})
    run_app(bad)
    assert not bad.exception
    box = [w.value for w in bad.warning if "could not be shown exactly" in w.value]
    assert len(box) == 1 and "direction 31" in box[0] and "start at 0" in box[0] and "cannot hold symmetry" in box[0]
    assert bad.query_params["e"] == f"{i}:1:0::{sym}"


def test_sliders_span_three_sigma_until_wider_and_attribute_ones_show_their_fit(app_env):
    at = run_app(AppTest.from_file(APP, default_timeout=180))
    amt = [s for s in at.slider if s.key and s.key.startswith("amt")]
    assert amt and all((s.min, s.max) == (-3.0, 3.0) for s in amt)
    at.toggle(key="wide_range").set_value(True)
    run_app(at)
    from explorer.ui.state import AMT_RANGE
    assert all((s.min, s.max) == (-AMT_RANGE, AMT_RANGE) for s in at.slider if s.key and s.key.startswith("amt"))
    at.radio(key="method").set_value("attr")
    run_app(at)
    labels = [s.label for s in at.slider if s.key and s.key.startswith("amt")]
    assert labels and all(" · R² " in lab or " · accuracy " in lab or "fit n/a" in lab for lab in labels), labels
    assert any(lab.startswith("brightness · R² ") for lab in labels), labels


def test_the_strip_frames_the_tile_nearest_the_current_amount():
    import numpy as np

    from explorer.ui.explore_view import STRIP_AMOUNTS, STRIP_MARK, marked_strip
    tiles = np.full((len(STRIP_AMOUNTS), 8, 8, 1), 90, np.uint8)
    for amount, nearest in ((1.4, 1), (-3.0, -3), (0.0, 0), (2.6, 3)):
        grid = marked_strip(tiles, amount)
        framed = [j for j in range(len(STRIP_AMOUNTS)) if tuple(grid[0, j * 10 + 5]) == STRIP_MARK]
        assert framed == [list(STRIP_AMOUNTS).index(nearest)], (amount, framed)
        assert tuple(grid[5, 5]) == (90, 90, 90)                       # the tiles themselves are untouched



def _teach_here(app_env, name: str = "rounder") -> None:
    import torch

    from explorer.explore import taught as T
    v = torch.nn.functional.normalize(torch.randn(app_env["G"].w_avg.shape[-1]), dim=0)
    T.save_taught({"sha256": app_env["sha"]}, T.Taught(name, v.tolist(), 0.9, 0.85, 6, 6))


def _on_attributes(app_env) -> AppTest:
    """Explore opened by a link on the tiny model's attribute directions."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update({"m": "tiny", "ck": app_env["sha"][:12], "d": "attr"})
    return run_app(at)


def test_a_recipe_brings_its_taught_direction_to_another_server_and_a_link_names_it(app_env):
    import streamlit as st
    _teach_here(app_env)
    at = _on_attributes(app_env)
    idx = slider_of(at, "rounder")
    at.slider(key=f"amt{idx}").set_value(1.5)
    run_app(at)
    assert at.query_params["tn"] == f"{idx}:rounder"                      # the link names it
    at.switch_page("explorer/ui/export_page.py")
    run_app(at)
    text = next(c.value for c in at.code if c.language == "json")
    assert [t["name"] for t in json.loads(text)["taught"]] == ["rounder"]
    link = dict(at.query_params)
    for p in (app_env["data"] / "directions").glob("*-taught.json"):      # another server, where another
        p.unlink()                                                        # direction sits at that index
    _teach_here(app_env, "bolder")
    st.cache_resource.clear()
    fresh = AppTest.from_file(APP, default_timeout=180)                   # the link there: left out, said so
    fresh.query_params.update({**link, "d": "attr", "e": f"{idx}:1.5:0:"})
    run_app(fresh)
    said = " ".join(w.value for w in fresh.warning)
    assert "'rounder' is not on this server" in said and "ignored" not in said, said     # one reason, not two
    assert all(s.value == 0 for s in fresh.slider if s.key and s.key.startswith("amt"))
    taught_file = next((app_env["data"] / "directions").glob("*-taught.json"))
    other = upload_recipe(run_app(AppTest.from_file(APP, default_timeout=180)), text)   # a look changes nothing
    said = " ".join(w.value for w in other.warning)
    assert "'rounder' is not on this server: opening the recipe adds it" in said, said
    assert [d["name"] for d in json.loads(taught_file.read_text())["directions"]] == ["bolder"]
    other.button(key="recipe_open").click()                               # Open: taught, then shown
    run_app(other)
    saved = json.loads(taught_file.read_text())
    assert [d["name"] for d in saved["directions"]] == ["bolder", "rounder"]
    assert "bolder" in other.slider(key=f"amt{idx}").label and other.slider(key=f"amt{idx}").value == 0
    assert "rounder" in other.slider(key=f"amt{idx + 1}").label and other.slider(key=f"amt{idx + 1}").value == 1.5


def test_a_recipes_taught_index_is_matched_by_name_and_a_bad_index_names_the_methods_count(app_env):
    from explorer.explore import recipes
    from explorer.explore import taught_refs as TR
    from explorer.explore.latents import Edit, LatentState
    _teach_here(app_env)
    at = _on_attributes(app_env)
    idx = slider_of(at, "rounder")
    ref = {"direction": 40, "name": "rounder", "vector": "AAAA", "sigma": 1.0}   # a bad vector: matched by name
    state = LatentState("tiny", app_env["sha"][:12], 0, method="attr",
                        edits=(Edit(40, 1.25, 0, None), Edit(99, 1.0, 0, None)))
    open_recipe(at, recipes.recipe_json(state, taught=[ref]))
    said = " ".join(w.value for w in at.warning)
    assert at.slider(key=f"amt{idx}").value == 1.25                        # index 40 there is "rounder" here
    assert f"there are only {idx + 1} attr directions" in said and "32" not in said, said
    assert TR.LINK_KEY in at.query_params


def test_an_attribute_edit_says_what_it_measurably_did_to_the_image(app_env):
    at = _on_attributes(app_env)
    assert not any("Measured on this image" in c.value for c in at.caption)      # no edit: nothing to say
    idx = slider_of(at, "brightness")
    at.slider(key=f"amt{idx}").set_value(2.0)
    run_app(at)
    said = next(c.value for c in at.caption if "Measured on this image" in c.value)
    import re
    got = re.search(r"brightness ([+-]\d+\.\d\d) σ", said)
    assert got is not None, said
    assert float(got.group(1)) > 0                                                 # it went the way asked
