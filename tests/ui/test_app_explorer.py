"""The explorer pages through Streamlit's AppTest, on a tiny conditional model."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from explorer.explore import recipes
from explorer.explore.latents import Edit, LatentState
from tests.factories import export_generator, run_app, upload_recipe, use_dirs

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    """pretrained/tiny: a conditional film model (cat, dog, owl) with a Markdown model card."""
    G, side = export_generator(tmp_path / "pre" / "tiny", ["cat", "dog", "owl"], model_card="A **tiny** test model.")
    use_dirs(monkeypatch, tmp_path)
    meta = json.loads(side.read_text())
    return {"sha": meta["sha256"], "G": G}


def _image_ids(at: AppTest) -> list[str]:
    return [str(im.proto) for im in at.get("image")]


def _strip_box(at: AppTest):
    return next(s for s in at.selectbox if s.label == "Direction")


def test_explore_sliders_change_state_and_url(app_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    assert at.selectbox(key="model").options == ["tiny (pretrained)"]
    assert at.query_params["s"] == "0" and at.query_params["ck"] == app_env["sha"][:12]
    before = _image_ids(at)[0]
    at.slider(key="amt0").set_value(2.5)
    run_app(at)
    assert at.query_params["e"] == "0:2.5:0:"
    assert _image_ids(at)[0] != before                          # the edit changed the picture
    at.toggle(key="per_layer").set_value(True)
    run_app(at)
    at.select_slider(key="lr0").set_value((1, 1))               # one middle layer -> ws[1:2]
    run_app(at)
    assert at.query_params["e"] == "0:2.5:1:2"
    at.button(key="next").click()
    run_app(at)
    assert at.number_input(key="seed").value == 1 and at.query_params["s"] == "1"
    at.selectbox(key="cls").set_value(2)
    run_app(at)
    assert at.query_params["c"] == "2"
    at.button(key="reset_all").click()
    run_app(at)
    assert "e" not in at.query_params and at.slider(key="amt0").value == 0.0


def test_strip_follows_the_other_edits_not_its_own_slider(app_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    main, strip = _image_ids(at)[:2]
    tiles = at.session_state["_strip"][1]
    at.slider(key="amt0").set_value(1.5)           # the strip's own direction: its tiles are kept (no render),
    run_app(at)                                       # only the mark of the current amount moves
    main2, strip2 = _image_ids(at)[:2]
    assert main2 != main and strip2 != strip and at.session_state["_strip"][1] is tiles
    at.slider(key="amt1").set_value(-2.0)          # another direction: the strip is redrawn
    run_app(at)
    main3, strip3 = _image_ids(at)[:2]
    assert main3 != main2 and strip3 != strip2
    _strip_box(at).set_value(1)                    # another strip direction
    run_app(at)
    assert _image_ids(at)[1] not in (strip, strip2, strip3)
    at.text_input(key="dir_name").input("wide")    # renamed: a fresh picker (the browser would keep the old
    at.button(key="save_name").click()             # label), still on the same direction
    run_app(at)
    assert _strip_box(at).value == 1 and _strip_box(at).options[1] == "wide"


def test_z_sliders_nudge_one_dimension(app_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.slider(key="amt1").set_value(1.0)
    run_app(at)
    at.radio(key="panel").set_value("Latent z")
    run_app(at)
    assert at.query_params["e"] == "1:1:0:"                     # edits survive hiding their sliders
    z0 = at.slider(key="z3").value
    at.slider(key="z3").set_value(round(z0 + 1.0, 2))
    run_app(at)
    dim, delta = at.query_params["z"].split(":")
    assert dim == "3" and abs(float(delta) - 1.0) < 0.02
    at.button(key="reset_z").click()
    run_app(at)
    assert "z" not in at.query_params
    at.radio(key="panel").set_value("Gallery")
    run_app(at)
    at.button(key="use5").click()
    run_app(at)
    assert at.query_params["s"] == "5"
    at.radio(key="panel").set_value("Edit directions")
    run_app(at)
    assert at.slider(key="amt1").value == 1.0


def test_layer_preset_applies_to_every_slider(app_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.selectbox(key="layer_preset").set_value("fine")        # applies at once: the box shows what is applied
    run_app(at)
    at.slider(key="amt3").set_value(-2.0)
    run_app(at)
    assert at.query_params["e"] == "3:-2:2:"                     # tiny film: 3 layers, fine = the last


def test_link_reproduces_state_and_bad_links_warn(app_env):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"m": "tiny", "ck": app_env["sha"][:12], "s": "7", "c": "1", "p": "0.7", "e": "1:2:0:"})
    run_app(at)
    assert at.number_input(key="seed").value == 7 and at.selectbox(key="cls").value == 1
    assert at.slider(key="psi").value == pytest.approx(0.7) and at.slider(key="amt1").value == 2.0
    assert not at.warning and at.selectbox(key="layer_preset").value == "all"
    fine = AppTest.from_file(APP, default_timeout=120)
    fine.query_params.update({"m": "tiny", "s": "7", "e": "1:2:2:,3:-1:2:"})   # both edits on the fine layer
    run_app(fine)
    assert fine.selectbox(key="layer_preset").value == "fine"

    bad = AppTest.from_file(APP, default_timeout=120)
    bad.query_params.update({"m": "nope", "s": "abc", "p": "99", "c": "9", "e": "zz,1:nan:0:", "z": "999:1"})
    run_app(bad)
    text = " ".join(w.value for w in bad.warning)
    assert "nope" in text and "seed" in text and "class 9" in text and "z offset" in text
    assert text.count("'nope'") == 1 and len(bad.warning) == 2     # the model once; the rest in one box

    many = AppTest.from_file(APP, default_timeout=120)
    many.query_params.update({"m": "tiny", "e": ",".join(f"{i}:x" for i in range(300)), "seed": "4"})
    run_app(many)
    assert len(many.warning) == 1 and "unknown link parameter(s) 'seed'" in many.warning[0].value
    assert "more problems" in many.warning[0].value and many.warning[0].value.count("\n- ") == 8
    assert bad.number_input(key="seed").value == 0                 # sensible defaults


def test_direction_names_persist(app_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.text_input(key="dir_name").input("sleeve length")
    at.button(key="save_name").click()
    run_app(at)
    at2 = run_app(AppTest.from_file(APP, default_timeout=120))
    assert any("sleeve length" in s.label for s in at2.slider if s.key == "amt0")


def test_interpolate_page(app_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.switch_page("explorer/ui/interpolate_page.py")
    run_app(at)
    assert (at.slider(key="ip_scrub").min, at.slider(key="ip_scrub").max) == (1, 48)   # 48 frames by default
    at.number_input(key="ip_frames").set_value(10)
    run_app(at)
    assert at.slider(key="ip_scrub").max == 10
    first = _image_ids(at)
    at.slider(key="ip_scrub").set_value(5)
    run_app(at)
    assert _image_ids(at) != first
    at.toggle(key="ip_play").set_value(True)                     # the looping preview
    run_app(at)
    assert len(_image_ids(at)) == len(first) + 1
    at.button(key="kf_add_seed").click()
    run_app(at)
    at.button(key="kf_add_seed").click()
    run_app(at)
    assert [k.seed for k in at.session_state["keyframes"]] == [0, 1, 2, 3]    # the seed box moves on
    at.file_uploader(key="kf_recipe").set_value(("r.json", b"{not json", "application/json"))
    run_app(at)
    at.button(key="kf_add_recipe").click()
    run_app(at)
    assert "not a usable recipe" in at.error[0].value


def test_export_page_recipe_round_trip_and_dataset(app_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.slider(key="amt2").set_value(-1.5)
    run_app(at)
    at.switch_page("explorer/ui/export_page.py")
    run_app(at)
    text = next(c.value for c in at.code if c.language == "json")
    state, warns = recipes.parse_recipe_json(text)
    assert not warns and state.edits == (Edit(2, -1.5, 0, None),) and state.checkpoint == app_env["sha"][:12]
    # upload a recipe made elsewhere: it opens in the explorer
    other = LatentState("tiny", app_env["sha"][:12], seed=42, class_index=2, psi=0.5, edits=(Edit(0, 1.0, 0, 1),))
    at.file_uploader(key="recipe_upload").set_value(("x.json", recipes.recipe_json(other).encode(), "application/json"))
    run_app(at)
    at.button(key="recipe_open").click()
    run_app(at)
    assert at.number_input(key="seed").value == 42 and at.slider(key="amt0").value == 1.0
    at.switch_page("explorer/ui/explore_page.py")       # AppTest does not follow st.switch_page by itself
    run_app(at)
    at.toggle(key="per_layer").set_value(True)
    run_app(at)
    assert at.select_slider(key="lr0").value == (0, 0)

    at.switch_page("explorer/ui/export_page.py")
    run_app(at)
    at.file_uploader(key="recipe_upload").set_value(("x.json", b'{"format": "something else"}', "application/json"))
    run_app(at)
    assert "not a usable recipe" in at.error[0].value
    at.file_uploader(key="recipe_upload").set_value(None)
    at.number_input(key="syn_n").set_value(4)
    run_app(at)
    at.button(key="syn_build").click()
    run_app(at)
    zf = zipfile.ZipFile(io.BytesIO(at.session_state["syn_zip"]))
    pngs = [n for n in zf.namelist() if n.endswith(".png")]
    assert len(pngs) == 12                                        # 4 per class x 3 classes
    rows = zf.read("labels.csv").decode().splitlines()
    assert rows[0] == "file,seed,class_index,class_name,psi" and len(rows) == 13 and ",owl," in rows[-1]


def test_models_page(app_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.switch_page("explorer/ui/models_page.py")
    run_app(at)
    assert any("tiny" in m.value for m in at.markdown)
    at.number_input(key="grid_seed").set_value(3)
    run_app(at)
    assert "seed 3" in str(at.get("image")[0].proto)


def test_no_models_gives_a_message(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_PRETRAINED", str(tmp_path))
    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(tmp_path / "data"))
    at = run_app(AppTest.from_file(APP, default_timeout=60))
    assert "No models found" in at.warning[0].value


def test_engine_is_shared_and_renders_like_the_generator(app_env, tmp_path):
    from explorer.explore.latents import state_to_ws
    from explorer.imaging.render import to_uint8
    from explorer.ui.engine import get_engine
    path = str(tmp_path / "pre" / "tiny.json")
    a, b = get_engine(path, app_env["sha"]), get_engine(path, app_env["sha"])
    assert a is b                                               # one copy for every session
    st_ = LatentState("tiny", app_env["sha"][:12], seed=3, class_index=1, psi=0.8)
    img, ms = a.render_state(st_, None)
    with torch.no_grad():
        want = to_uint8(app_env["G"].synthesis(state_to_ws(app_env["G"], st_)))[0]
    assert ms > 0 and (img == want).all()


def test_freeze_heap_skips_old_objects_and_still_collects_new_garbage():
    import gc
    import weakref

    from explorer.ui.heap import freeze_heap

    class Node:
        pass

    old = [Node()]                                      # alive at freeze time: moved out of the GC's generations
    freeze_heap()
    assert gc.get_freeze_count() > 0 and not any(o is old for o in gc.get_objects())
    a, b = Node(), Node()                               # a cycle made after the freeze is still collected
    a.other, b.other = b, a
    ref = weakref.ref(a)
    del a, b
    gc.collect()
    assert ref() is None


@pytest.fixture
def two_models(app_env, tmp_path):
    export_generator(tmp_path / "pre" / "other", ["a", "b"], seed=1)
    return app_env


def _pick_model(at: AppTest, name: str) -> None:
    at.selectbox(key="model").set_value(next(o for o in at.selectbox(key="model").options if o.startswith(name + " ")))
    run_app(at)


def test_switching_models_keeps_each_models_work(two_models):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    _pick_model(at, "tiny")
    at.slider(key="amt0").set_value(2.5)
    at.slider(key="psi").set_value(0.7)
    run_app(at)
    _pick_model(at, "other")
    assert at.slider(key="amt0").value == 0.0 and at.query_params["m"] == "other"
    at.number_input(key="seed").set_value(9)
    run_app(at)
    _pick_model(at, "tiny")
    assert at.slider(key="amt0").value == 2.5 and at.slider(key="psi").value == pytest.approx(0.7)
    _pick_model(at, "other")
    assert at.number_input(key="seed").value == 9

    at.switch_page("explorer/ui/interpolate_page.py")            # keyframes are kept per model too
    run_app(at)
    at.button(key="kf_add_seed").click()
    run_app(at)
    _pick_model(at, "tiny")
    assert sum(k.model == "tiny" for k in at.session_state["keyframes"]) == 2
    _pick_model(at, "other")
    assert [k.seed for k in at.session_state["keyframes"] if k.model == "other"] == [9, 10, 11]


def test_export_dataset_is_tied_to_model_and_settings_and_recipes_open_with_their_model(two_models):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    _pick_model(at, "tiny")
    at.switch_page("explorer/ui/export_page.py")
    run_app(at)
    at.number_input(key="syn_n").set_value(2)
    run_app(at)
    at.button(key="syn_build").click()
    run_app(at)
    assert [b.key for b in at.get("download_button")].count("syn_download") == 1
    at.number_input(key="syn_n").set_value(3)                      # other settings: that zip is not offered
    run_app(at)
    assert "syn_download" not in [b.key for b in at.get("download_button")]
    at.number_input(key="syn_n").set_value(2)
    run_app(at)
    assert "syn_download" in [b.key for b in at.get("download_button")]
    _pick_model(at, "other")                                        # nor for another model
    assert "syn_download" not in [b.key for b in at.get("download_button")]

    made = LatentState("tiny", two_models["sha"][:12], seed=42, class_index=2, psi=0.5)
    at.file_uploader(key="recipe_upload").set_value(("t.json", recipes.recipe_json(made).encode(), "application/json"))
    run_app(at)
    assert "made with the model 'tiny'" in at.info[0].value and not at.warning
    at.button(key="recipe_open").click()
    run_app(at)
    assert at.selectbox(key="model").value.startswith("tiny ")      # the sidebar shows the recipe's model
    at.switch_page("explorer/ui/explore_page.py")                  # AppTest does not follow st.switch_page
    run_app(at)
    assert at.number_input(key="seed").value == 42 and at.selectbox(key="cls").value == 2
    assert at.query_params["m"] == "tiny"


def test_a_recipe_with_many_problems_is_one_box_and_its_text_stays_text(app_env):
    """A hostile recipe (300 edits of one direction, a seed that is Markdown) is one warning box on the Export
    page and one on the Explore page, with the quoted values escaped, not hundreds of boxes or a link."""
    d = recipes.to_recipe(LatentState("tiny", app_env["sha"][:12], seed=1))
    d["seed"] = "**bold** [x](http://example.invalid)"
    d["edits"] = [{"direction": 1, "amount": 0.5, "layer_start": 0, "layer_end": None}] * 300
    at = upload_recipe(run_app(AppTest.from_file(APP, default_timeout=120)), json.dumps(d))
    assert len(at.warning) == 1 and "[x](http" not in at.warning[0].value and "more problems" not in at.warning[0].value
    at.button(key="recipe_open").click()
    run_app(at)                                                           # the Explore page, with the recipe
    boxes = [w.value for w in at.warning]
    assert len(boxes) == 1 and "edited twice" in boxes[0] and "more problems" in boxes[0]
    assert "[x](http" not in boxes[0] and at.slider(key="amt1").value == 0.5


def test_freeze_new_modules_freezes_only_after_an_import(monkeypatch):
    import sys
    import types

    from explorer.ui import heap
    heap.freeze_heap()
    calls = []
    monkeypatch.setattr(heap, "freeze_heap", lambda: calls.append(1))
    heap.freeze_new_modules()
    assert calls == []                                   # nothing new since the last freeze
    monkeypatch.setitem(sys.modules, "_le_test_module", types.ModuleType("_le_test_module"))
    heap.freeze_new_modules()
    assert calls == [1]


def test_seeds_derived_near_the_maximum_stay_inside_their_boxes(app_env):
    from explorer.explore.latents import SEED_MAX
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.number_input(key="seed").set_value(SEED_MAX)
    run_app(at)
    at.button(key="next").click()                                  # one past the maximum: stays there
    run_app(at)
    assert at.number_input(key="seed").value == SEED_MAX
    at.radio(key="panel").set_value("Gallery")
    run_app(at)
    box = at.number_input(key="gal_seed")
    assert box.max + 11 <= SEED_MAX                                # every offered seed is a valid seed
    box.set_value(box.max)
    run_app(at)
    labels = [int(b.label) for b in at.button if b.key and b.key.startswith("use")]
    assert max(labels) == SEED_MAX
    at.button(key="use11").click()                                 # picking the last one shows that seed
    run_app(at)
    assert at.number_input(key="seed").value == SEED_MAX and at.query_params["s"] == str(SEED_MAX)

    at.switch_page("explorer/ui/interpolate_page.py")              # keyframes start from the maximum
    run_app(at)
    assert [k.seed for k in at.session_state["keyframes"]] == [SEED_MAX, SEED_MAX - 1]
    assert at.number_input(key="kf_seed").value <= SEED_MAX
    at.number_input(key="kf_seed").set_value(SEED_MAX)
    at.button(key="kf_add_seed").click()                           # Add seed at the maximum
    run_app(at)
    assert at.session_state["keyframes"][-1].seed == SEED_MAX
    assert at.number_input(key="kf_seed").value <= SEED_MAX
    at.slider(key="ip_scrub").set_value(40)                        # fewer frames than the scrubber's place
    run_app(at)
    at.number_input(key="ip_frames").set_value(10)
    run_app(at)
    assert at.slider(key="ip_scrub").value == 10


def test_an_opened_recipe_is_the_whole_state_no_edits_kept_from_before(app_env):
    """A tester's: a SeFa recipe opened over an attribute edit showed "1 edit is kept but not applied", and
    switching method brought back an edit the recipe did not have."""
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.slider(key="amt3").set_value(2.0)                           # a PCA edit, then the recipe's SeFa one
    run_app(at)
    at.switch_page("explorer/ui/export_page.py")
    run_app(at)
    sefa = LatentState("tiny", app_env["sha"][:12], seed=5, method="sefa", edits=(Edit(1, 1.5, 0, None),))
    at.file_uploader(key="recipe_upload").set_value(("s.json", recipes.recipe_json(sefa).encode(), "application/json"))
    run_app(at)
    at.button(key="recipe_open").click()
    run_app(at)
    at.switch_page("explorer/ui/explore_page.py")
    run_app(at)
    assert at.radio(key="method").value == "sefa" and at.slider(key="amt1").value == 1.5
    assert not any("kept but not applied" in i.value for i in at.info)
    at.radio(key="method").set_value("pca")
    run_app(at)
    assert at.slider(key="amt3").value == 0.0 and "e" not in at.query_params        # not the edit from before


def test_a_recipe_upload_names_every_problem_before_it_is_opened(app_env):
    """A tester's: a direction out of range and a view that was not an object were said only after
    Open (or never), unlike the upload's other problems."""
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.switch_page("explorer/ui/export_page.py")
    run_app(at)
    state = LatentState("tiny", app_env["sha"][:12], seed=3, edits=(Edit(0, 1.0, 0, None),))
    d = json.loads(recipes.recipe_json(state))
    d["edits"].append({"direction": 10 ** 6, "amount": 1.0, "layer_start": 0, "layer_end": None})
    d["view"] = []
    at.file_uploader(key="recipe_upload").set_value(("p.json", json.dumps(d).encode(), "application/json"))
    run_app(at)
    said = " ".join(w.value for w in at.warning)
    assert "1000000" in said and "view should be an object" in said and not at.exception


def test_each_method_keeps_its_own_edits_and_layer_ranges(app_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.selectbox(key="layer_preset").set_value("fine")
    run_app(at)
    at.slider(key="amt0").set_value(2.0)
    run_app(at)
    assert at.query_params["e"] == "0:2:2:"
    at.radio(key="method").set_value("sefa")
    run_app(at)
    assert at.selectbox(key="layer_preset").value == "all"        # SeFa's own ranges, shown as they apply
    assert at.slider(key="amt0").value == 0.0 and "e" not in at.query_params
    assert "1 PCA edit is kept but not applied: switch back to “PCA on w (GANSpace)”" in at.info[0].value
    at.slider(key="amt1").set_value(1.0)
    run_app(at)
    assert at.query_params["e"] == "1:1:0:" and at.query_params["d"] == "sefa"
    at.radio(key="method").set_value("pca")                        # back: the PCA edit on the fine layer
    run_app(at)
    assert at.slider(key="amt0").value == 2.0 and at.selectbox(key="layer_preset").value == "fine"
    assert at.query_params["e"] == "0:2:2:" and "1 SeFa edit is kept" in at.info[0].value
    at.button(key="reset_all").click()                             # every method's edits, the kept ones too
    run_app(at)
    assert "e" not in at.query_params and not any("kept" in i.value for i in at.info)
    at.radio(key="method").set_value("sefa")
    run_app(at)
    assert at.slider(key="amt1").value == 0.0 and "e" not in at.query_params


def test_undo_redo_and_going_back_to_an_earlier_link(app_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    assert at.button(key="undo").disabled and at.button(key="redo").disabled
    at.slider(key="amt0").set_value(1.0)
    run_app(at)
    first = dict(at.query_params)
    at.slider(key="amt1").set_value(-1.0)
    run_app(at)
    at.button(key="next").click()
    run_app(at)
    assert at.query_params["s"] == "1" and at.query_params["e"] == "0:1:0:,1:-1:0:"
    at.button(key="undo").click()
    run_app(at)
    assert at.number_input(key="seed").value == 0 and at.query_params["e"] == "0:1:0:,1:-1:0:"
    at.button(key="undo").click()
    run_app(at)
    assert at.slider(key="amt1").value == 0.0 and at.query_params["e"] == "0:1:0:"
    at.button(key="redo").click()
    run_app(at)
    assert at.slider(key="amt1").value == -1.0 and not at.button(key="undo").disabled
    at.slider(key="amt2").set_value(0.5)                           # a new edit drops the redo tail
    run_app(at)
    assert at.button(key="redo").disabled
    at.query_params.clear()                                        # the browser's Back: an earlier URL
    at.query_params.update(first)
    run_app(at)
    assert at.slider(key="amt0").value == 1.0 and at.slider(key="amt1").value == 0.0
    assert at.slider(key="amt2").value == 0.0 and at.number_input(key="seed").value == 0


def test_small_things_copy_links_whole_state_captions_and_separate_loop_choices(app_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.selectbox(key="cls").set_value(2)
    at.slider(key="psi").set_value(0.7)
    run_app(at)
    at.slider(key="amt0").set_value(1.0)
    run_app(at)
    at.radio(key="panel").set_value("Latent z")
    run_app(at)
    at.slider(key="z3").set_value(round(at.slider(key="z3").value + 1.0, 2))
    run_app(at)
    links = [c.value for c in at.code if "?m=tiny" in c.value]      # the copy-link box (st.code has a copy button)
    assert links and "e=0%3A1%3A0%3A" in links[0] and "c=2" in links[0]
    at.switch_page("explorer/ui/export_page.py")
    run_app(at)
    shown = " ".join(img.caption for el in at.get("image") for img in el.proto.imgs)   # the preview's caption
    for part in ("seed 0", "owl", "ψ 0.7", "1 PCA edit", "1 z nudge"):
        assert part in shown, (part, shown)
    assert any("?m=tiny" in c.value and "z=3%3A" in c.value for c in at.code)

    at.switch_page("explorer/ui/interpolate_page.py")
    run_app(at)
    at.checkbox(key="ip_loop").uncheck()                            # an open path ...
    run_app(at)
    assert at.checkbox(key="ip_repeat").value and "repeating" in at.caption[-1].value   # ... in a repeating GIF
    at.checkbox(key="ip_loop").check()
    at.checkbox(key="ip_repeat").uncheck()                          # a closed path played once
    run_app(at)
    assert "played once" in at.caption[-1].value and at.checkbox(key="ip_loop").value


def test_going_back_to_a_link_of_another_model_switches_the_model(two_models):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    _pick_model(at, "tiny")
    at.slider(key="amt0").set_value(2.5)
    run_app(at)
    tiny_url = dict(at.query_params)
    _pick_model(at, "other")
    assert at.query_params["m"] == "other"
    at.query_params.clear()                                        # the browser's Back
    at.query_params.update(tiny_url)
    run_app(at)
    assert at.selectbox(key="model").value.startswith("tiny ") and at.slider(key="amt0").value == 2.5


def test_export_boxes_keep_inside_the_bounds_of_the_model_switched_to(two_models):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    _pick_model(at, "other")                                       # 2 classes: up to 10000 images per class
    at.switch_page("explorer/ui/export_page.py")
    run_app(at)
    at.number_input(key="syn_n").set_value(at.number_input(key="syn_n").max)
    at.number_input(key="syn_seed").set_value(at.number_input(key="syn_seed").max)
    run_app(at)
    _pick_model(at, "tiny")                                        # 3 classes: fewer per class, a higher first seed
    n, seed = at.number_input(key="syn_n"), at.number_input(key="syn_seed")
    assert n.value == n.max and seed.value <= seed.max


def test_a_link_to_a_run_named_like_a_shipped_model_opens_that_run(app_env, tmp_path):
    _, side = export_generator(tmp_path / "data" / "runs" / "tiny" / "model", ["cat", "dog", "owl"], seed=7)
    run_sha = json.loads(side.read_text())["sha256"]
    for sha, source in ((run_sha, "trained"), (app_env["sha"], "pretrained")):
        at = AppTest.from_file(APP, default_timeout=120)
        at.query_params.update({"m": "tiny", "ck": sha[:12], "s": "3"})
        run_app(at)
        assert at.selectbox(key="model").value == f"tiny ({source})"
        assert at.query_params["ck"] == sha[:12] and not at.warning
