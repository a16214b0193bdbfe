"""The Explore panel "Your image" through AppTest: a bad upload is refused, a good one is projected,
the result becomes the current image (URL, caption, edits on top) and its figures are shown."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from explorer.explore.latents import decode_ws
from tests.factories import export_generator, use_dirs

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    G, side = export_generator(tmp_path / "pre" / "tiny", ["cat", "dog", "owl"])
    use_dirs(monkeypatch, tmp_path)
    return {"G": G, "sha": json.loads(side.read_text())["sha256"]}


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def _png() -> bytes:
    im = Image.new("RGB", (40, 30), (20, 20, 20))
    im.paste((230, 230, 230), (10, 5, 30, 25))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def test_upload_project_and_edit(app_env):
    at = _run(AppTest.from_file(APP, default_timeout=120))
    at.radio(key="panel").set_value("Your image")
    _run(at)
    assert at.button(key="inv_train_encoder").label.startswith("Train an encoder")   # the tiny model has none
    at.file_uploader(key="inv_upload").set_value(("evil.png", b"<script>alert(1)</script>", "image/png"))
    _run(at)
    assert any("cannot be used" in e.value and "not a usable image" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "inv_start"]
    at.file_uploader(key="inv_upload").set_value(("me.png", _png(), "image/png"))
    at.radio(key="inv_space").set_value("w+")
    at.slider(key="inv_steps").set_value(20)
    at.selectbox(key="inv_class").set_value(1)
    _run(at)
    assert not at.error
    at.button(key="inv_start").click()
    _run(at)
    deadline = time.time() + 60
    while "w" not in at.query_params and time.time() < deadline:     # AppTest does not tick run_every
        time.sleep(0.2)
        _run(at)
    assert "w" in at.query_params, "the projection never became the current image"
    G = app_env["G"]
    ws = decode_ws(at.query_params["w"], G.num_ws, G.cfg.w_dim)
    assert ws.shape == (1, G.num_ws, G.cfg.w_dim) and not bool((ws == ws[:, :1]).all())   # w+ kept per layer
    assert at.query_params["c"] == "1"
    labels = [m.label for m in at.metric]
    assert {"PSNR", "SSIM", "Typical w?", "Percentile"} <= set(labels)
    cap = at.get("image")[0].proto.imgs[0].caption                # the main image's caption (Markdown-escaped)
    assert cap.startswith("your image") and "projected" in cap and "seed" not in cap
    at.radio(key="panel").set_value("Edit directions")
    _run(at)
    at.slider(key="amt0").set_value(2.0)                          # an edit on top of the projected latent
    _run(at)
    assert at.query_params["e"].startswith("0:2") and "w" in at.query_params
    at.button(key="next").click()                                 # another seed: back to seeds
    _run(at)
    assert "w" not in at.query_params and at.query_params["s"] == "1"
