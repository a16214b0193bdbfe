"""The Explore page's Attributes panel through AppTest: heat map, conditional edits, teaching a direction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.factories import export_generator, use_dirs

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    G, side = export_generator(tmp_path / "pre" / "tiny", ["cat", "dog", "owl"])
    env = use_dirs(monkeypatch, tmp_path)
    return {"sha": json.loads(side.read_text())["sha256"], "G": G, "data": Path(env["LATENT_EXPLORER_DATA"])}


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def _open(at: AppTest) -> AppTest:
    _run(at)
    at.radio(key="panel").set_value("Attributes")
    return _run(at)


def test_heat_map_and_a_conditional_edit_in_the_link(app_env):
    at = _open(AppTest.from_file(APP, default_timeout=180))
    assert len(at.get("plotly_chart")) >= 1                               # the entanglement heat map
    assert any("attribute directions measured" in c.value for c in at.caption)
    at.selectbox(key="attr_cond_dir").set_value(0)
    _run(at)
    keep = at.multiselect(key="attr_keep_pca_0")
    keep.set_value([0, 1])
    _run(at)
    assert len(at.get("plotly_chart")) >= 2                               # before / after rows
    at.button(key="attr_cond_apply").click()
    _run(at)
    at.radio(key="panel").set_value("Edit directions")
    _run(at)
    assert "⟂ 2" in at.slider(key="amt0").label
    at.slider(key="amt0").set_value(2.0)
    _run(at)
    assert at.query_params["e"] == "0:2:0::0.1"                            # the link says what it is orthogonal to
    # the link reproduces it in a fresh session
    fresh = AppTest.from_file(APP, default_timeout=180)
    fresh.query_params.update(dict(at.query_params))
    _run(fresh)
    assert fresh.slider(key="amt0").value == 2.0 and "⟂ 2" in fresh.slider(key="amt0").label


def test_teach_a_direction_from_marked_seeds_and_use_it(app_env):
    at = _open(AppTest.from_file(APP, default_timeout=180))
    for j in range(12):
        at.segmented_control(key=f"attr_mark_{j}").set_value("more" if j < 6 else "less")
        _run(at)
    assert at.button(key="attr_teach").disabled                           # no name yet
    at.text_input(key="attr_teach_name").input("rounder")
    _run(at)
    at.button(key="attr_teach").click()
    _run(at)
    saved = json.loads(next((app_env["data"] / "directions").glob("*-taught.json")).read_text())
    assert [d["name"] for d in saved["directions"]] == ["rounder"] and saved["directions"][0]["n_more"] == 6
    at.button(key="attr_edit_taught").click()
    _run(at)
    assert at.radio(key="method").value == "attr"
    at.radio(key="panel").set_value("Edit directions")
    _run(at)
    idx = next(int(s.key[3:]) for s in at.slider if s.key and s.key.startswith("amt") and "rounder" in s.label)
    assert "accuracy" in at.slider(key=f"amt{idx}").label
    at.slider(key=f"amt{idx}").set_value(1.5)
    _run(at)
    assert at.query_params["d"] == "attr" and at.query_params["e"] == f"{idx}:1.5:0:"


def test_a_link_naming_attributes_the_model_lacks_still_shows(app_env):
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update({"m": "tiny", "ck": app_env["sha"][:12], "s": "3", "c": "1", "e": "0:1.5:0::0.99"})
    _run(at)
    assert any("99" in w.value for w in at.warning)
    assert at.slider(key="amt0").value == 1.5 and "⟂ 1" in at.slider(key="amt0").label
    assert at.query_params["e"] == "0:1.5:0::0"
