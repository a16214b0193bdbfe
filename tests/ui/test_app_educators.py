"""The educators' pages through AppTest: latent map, classes, real-or-fake quiz (tiny models, 1 thread)."""

from __future__ import annotations

import dataclasses
import json
import re
import unittest.mock
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from explorer.gan import critic
from explorer.gan.export import export_model
from tests.factories import make_run, map_rows, page_text, run_app, use_dirs

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    """pretrained/: "tiny" (conditional, with a discriminator and real images in a folder) and "plain"
    (unconditional, no discriminator, its dataset missing)."""
    real = tmp_path / "real"
    rng = np.random.default_rng(0)
    for k, name in enumerate(["cat", "dog", "owl"]):
        (real / name).mkdir(parents=True)
        for i in range(4):
            arr = (rng.random((32, 32)) * 60 + 60 * k).astype(np.uint8)
            Image.fromarray(arr).save(real / name / f"{i}.png")
    ds = {"spec": str(real), "fit": "crop", "labels_from_subfolders": True, "resolution": 32, "channels": 1}
    j, _ = make_run(tmp_path / "runs" / "t", "dcgan", classes=3, dataset=ds, class_names=["cat", "dog", "owl"])
    export_model(j, tmp_path / "pre" / "tiny")
    critic.export_discriminator(j, tmp_path / "pre" / "tiny")
    j0, _ = make_run(tmp_path / "runs" / "p", "resnet", classes=0, dataset={"spec": "fashion-mnist"})
    export_model(j0, tmp_path / "pre" / "plain")
    monkeypatch.setenv("LATENT_EXPLORER_FMNIST", str(tmp_path / "no-fmnist"))
    use_dirs(monkeypatch, tmp_path)
    return tmp_path


def _open(page: str, model: str = "tiny (pretrained)") -> AppTest:
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.selectbox(key="model").set_value(model)
    at.switch_page(page)
    return run_app(at)


def _chart_spec(at: AppTest) -> dict:
    return json.loads(at.get("vega_lite_chart")[0].proto.spec)


def _thumb_px(at: AppTest) -> float:
    return next(float(layer["mark"]["width"]) for layer in _chart_spec(at)["layer"] if layer["mark"]["type"] == "image")


def _scale_paddings(at: AppTest) -> set:
    """The `padding` of every x and y scale in the latent map's layers (None where there is none)."""
    return {layer["encoding"][ch]["scale"].get("padding") for layer in _chart_spec(at)["layer"] for ch in ("x", "y")}


def test_latent_map_page(app_env):
    at = _open("explorer/ui/latent_map_page.py")
    at.slider(key="lm_n").set_value(100)
    run_app(at)
    rows = map_rows(at)
    assert len(rows) == 100 and {r["class"] for r in rows} == {"cat", "dog", "owl"}     # every sample a dot,
    assert all(r["image"].startswith("data:image/png;base64,") for r in rows)          # its picture on hover,
    assert 0 < sum(bool(r["thumb"]) for r in rows) < 100                               # thumbnails where they fit
    assert _scale_paddings(at) == {_thumb_px(at) / 2 + 2}      # room for half a thumbnail at each edge (they were cut)
    at.number_input(key="lm_pick").set_value(5)
    run_app(at)
    assert "seed 5 · owl" in str(at.get("image")[0].proto)                                  # 5 % 3 = class 2
    at.radio(key="lm_method").set_value("tsne")
    at.toggle(key="lm_thumbs").set_value(False)
    run_app(at)
    rows = map_rows(at)
    assert not any(r["thumb"] for r in rows) and all(r["image"] for r in rows)   # no thumbnails; hover still
    assert _scale_paddings(at) == {None}                                          # and no room kept for them
    at.button(key="lm_open").click()
    run_app(at)
    assert at.title[0].value == "Explore"                                    # it opened in the explorer
    assert at.number_input(key="seed").value == 5 and at.selectbox(key="cls").value == 2
    at.switch_page("explorer/ui/latent_map_page.py")                         # and back: the same map
    run_app(at)
    assert (at.radio(key="lm_method").value, at.slider(key="lm_n").value, at.toggle(key="lm_thumbs").value,
            at.number_input(key="lm_pick").value) == ("tsne", 100, False, 5)


def test_playground_keeps_its_game_across_a_page_switch(app_env):
    at = _open("explorer/ui/playground_page.py")
    at.selectbox(key="pg_preset").set_value("Mode collapse")
    run_app(at)
    assert "paused · step 0 ·" in page_text(at)
    at.button(key="pg_step").click()
    run_app(at)
    lr = at.select_slider(key="pg_lr_g").value
    assert "paused · step 1 ·" in page_text(at)
    at.switch_page("explorer/ui/models_page.py")
    run_app(at)
    at.switch_page("explorer/ui/playground_page.py")
    run_app(at)
    assert at.selectbox(key="pg_preset").value == "Mode collapse" and at.select_slider(key="pg_lr_g").value == lr
    assert "paused · step 1 ·" in page_text(at)                              # the same game, not restarted


def test_classes_page(app_env):
    at = _open("explorer/ui/classes_page.py")
    captions = [str(im.proto) for im in at.get("image")]
    assert len(captions) == 3 and all(n in c for n, c in zip(["cat", "dog", "owl"], captions))
    before = captions[0]
    at.number_input(key="cl_seed").set_value(7)
    at.slider(key="cl_rows").set_value(2)
    run_app(at)
    assert str(at.get("image")[0].proto) != before and "seeds 7–8" in at.caption[-1].value
    at.selectbox(key="cl_class").set_value(1)
    at.button(key="cl_open").click()
    run_app(at)
    assert at.title[0].value == "Explore"
    assert at.number_input(key="seed").value == 7 and at.selectbox(key="cls").value == 1
    plain = _open("explorer/ui/classes_page.py", "plain (pretrained)")
    assert "unconditional" in plain.info[0].value


def new_round(at: AppTest, n: int) -> None:
    """Start a quiz round of n images (half real), as a visitor does: the slider, then "New round"."""
    at.slider(key="qz_n").set_value(n)
    run_app(at)
    at.button(key="qz_new").click()
    run_app(at)


def results_table(at: AppTest) -> Any:
    """Answer "real" to every image of the round, then return the results table the page shows
    (a DataFrame: #, truth, you said, D score, D said, origin)."""
    while not at.dataframe:
        at.button(key="qz_real").click()
        run_app(at)
        at.button(key="qz_next").click()
        run_app(at)
    return at.dataframe[0].value


def test_quiz_scores_people_and_discriminator(app_env):
    at = _open("explorer/ui/quiz_page.py")
    new_round(at, 4)
    assert at.subheader[0].value == "You 0 of 0 right"
    right = 0
    for i in range(4):                                                   # "real" every time: right iff it was
        assert f"Image {i + 1} of 4" in str(at.get("image")[0].proto)
        at.button(key="qz_real").click()
        run_app(at)
        verdict = (at.success or at.error)[0].value
        was_real = "It was **REAL**" in verdict
        assert bool(at.success) == was_real and ("right" if was_real else "wrong") in verdict
        said = " ".join(m.value for m in at.markdown)
        assert "Discriminator:" in said                                 # the exported D scored it
        assert "p(real)" not in said or re.search(r"p\(real\) = \d+%\)", said), said   # percent, like 50%
        right += was_real
        assert at.subheader[0].value.startswith(f"You {right} of {i + 1} right · Discriminator ")
        at.button(key="qz_next").click()
        run_app(at)
    assert right == 2                                                    # half the round is real
    assert at.success[0].value.startswith("Round over. You got 2 of 4 right; the discriminator got ")
    table = at.dataframe[0].value
    assert len(table) == 4 and list(table["truth"]).count("real") == 2 and set(table["you said"]) == {"real"}
    assert table["D score"].notna().all()                                # the exported D scored them all
    d_right = int((table["D said"] == table["truth"]).sum())
    assert at.subheader[0].value == f"You 2 of 4 right · Discriminator {d_right} of 4 right"
    at.button(key="qz_new").click()                                     # a new round starts from zero
    run_app(at)
    assert at.subheader[0].value == "You 0 of 0 right" and "Image 1 of 4" in str(at.get("image")[0].proto)


def test_quiz_without_data_or_discriminator_says_so(app_env):
    at = _open("explorer/ui/quiz_page.py", "plain (pretrained)")
    assert "not available on this server" in at.warning[0].value and "Fashion-MNIST" in at.warning[0].value
    (app_env / "real2").mkdir()
    (app_env / "real").rename(app_env / "real2" / "gone")
    st.cache_resource.clear()
    at = _open("explorer/ui/quiz_page.py")
    assert "not available" in at.warning[0].value
    (app_env / "real2" / "gone").rename(app_env / "real")
    for f in (app_env / "pre").glob("tiny-discriminator.*"):
        f.unlink()
    st.cache_resource.clear()
    at = _open("explorer/ui/quiz_page.py")
    assert "no discriminator" in at.info[0].value
    at.button(key="qz_fake").click()
    run_app(at)
    assert at.subheader[0].value in ("You 0 of 1 right", "You 1 of 1 right")


def test_critic_view_scores_for_the_explore_and_interpolate_pages(app_env):
    from explorer.explore.latents import LatentState
    from explorer.ui import critic_view as CV
    from explorer.ui.engine import get_engine
    eng = get_engine(str(app_env / "pre" / "tiny.json"), _sha(app_env / "pre" / "tiny.json"))
    img, _ = eng.render_state(LatentState("tiny", "", seed=3, class_index=1), None)
    s = CV.score_image(eng, img, 1)
    c = critic.load_critic(app_env / "pre" / "tiny.json")
    assert isinstance(s, float) and s == float(critic.realness(c, img[None], 1)[0])
    assert "Discriminator score" in CV.describe(eng, s) and CV.why_none(eng) == ""
    frames = np.stack([img, img, img])
    scores = CV.score_images(eng, frames, 1)
    assert scores.shape == (3,) and np.allclose(scores, s)
    fig = CV.path_scores_figure(scores, current=1)
    assert len(fig.data) == 2 and list(fig.data[1].x) == [2] and fig.layout.shapes[0].y0 == 0
    wgan = dataclasses.replace(critic.load_critic(app_env / "pre" / "tiny.json"), loss="wgan-gp")
    # a Wasserstein critic (defined up to a constant) gives no verdict
    with unittest.mock.patch.object(CV, "get_critic", lambda _eng: wgan):
        line = CV.describe(eng, s)
    assert "Wasserstein critic" in line and "would call" not in line and "p(real)" not in line
    plain = get_engine(str(app_env / "pre" / "plain.json"), _sha(app_env / "pre" / "plain.json"))
    img0, _ = plain.render_state(LatentState("plain", "", seed=0), None)
    assert CV.score_image(plain, img0) is None and "no discriminator" in CV.why_none(plain)


def _sha(side: Path) -> str:
    return json.loads(side.read_text())["sha256"]


def test_quiz_names_its_real_images_and_builds_a_missing_emoji_set_from_the_page(app_env, monkeypatch):
    import time

    from explorer.data import emoji
    from explorer.gan.export import export_model

    plain = _open("explorer/ui/quiz_page.py", "plain (pretrained)")           # Fashion-MNIST: its test split
    assert "test split" in plain.caption[0].value and "none it saw in training" in plain.caption[0].value
    assert "learned from, " not in plain.caption[0].value.replace("kind of clothes the model learned from", "")

    real_build = emoji.build_emoji                                           # the real builder, on 30 emoji
    monkeypatch.setattr(emoji, "build_emoji", lambda res=64, progress=None, **kw: real_build(res, limit=30,
                                                                                             progress=progress))
    j, _ = make_run(app_env / "runs" / "e", "dcgan", classes=0, dataset={"spec": "emoji"})
    export_model(j, app_env / "pre" / "emo")
    at = _open("explorer/ui/quiz_page.py", "emo (pretrained)")
    assert "not built on this server yet" in at.info[0].value and "trained on" in at.caption[0].value
    at.button(key="qz_build").click()
    run_app(at)
    deadline = time.monotonic() + 120
    while not at.subheader and time.monotonic() < deadline:               # the page polls the build
        time.sleep(0.5)
        run_app(at)
    assert at.subheader[0].value == "You 0 of 0 right" and emoji.dataset_path(64).exists()
    new_round(at, 4)
    table = results_table(at)                                             # the built images are in the round
    assert list(table["truth"]).count("real") == 2
    assert all("image #" in o for o, t in zip(table["origin"], table["truth"]) if t == "real")


def test_models_whose_w_is_z_promise_no_islands_and_offer_no_z_or_w_choice(app_env):
    from tests.factories import export_generator
    export_generator(app_env / "pre" / "dc", ["a", "b", "c"], arch="dcgan")     # w = [z, one-hot class]

    def captions(at: AppTest) -> str:
        return " ".join(c.value for c in at.caption)

    dc = _open("explorer/ui/latent_map_page.py", "dc (pretrained)")
    assert "no class islands can form" in captions(dc) and "If the classes form separate islands" not in captions(dc)
    dc.switch_page("explorer/ui/interpolate_page.py")
    run_app(dc)
    assert not [r for r in dc.radio if r.key == "ip_space"] and "same path" in captions(dc)

    film = _open("explorer/ui/latent_map_page.py")                                # a learned mapping
    assert "If the classes form separate islands" in captions(film)
    film.switch_page("explorer/ui/interpolate_page.py")
    run_app(film)
    assert film.radio(key="ip_space").options == ["z", "w"]
