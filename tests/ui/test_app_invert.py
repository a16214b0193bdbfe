"""The Explore panel "Your image" through AppTest: a bad upload is refused, a good one is projected,
the result becomes the current image (URL, caption, edits on top) and its figures are shown."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from explorer.explore.latents import decode_ws
from tests.factories import export_generator, page_text, run_app, use_dirs

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    G, side = export_generator(tmp_path / "pre" / "tiny", ["cat", "dog", "owl"])
    use_dirs(monkeypatch, tmp_path)
    return {"G": G, "sha": json.loads(side.read_text())["sha256"]}


def wait_for_projection(at: AppTest, seconds: float = 60) -> None:
    """Rerun until the projection is the current image (its w in the link): AppTest does not tick run_every."""
    deadline = time.time() + seconds
    while "w" not in at.query_params and time.time() < deadline:
        time.sleep(0.2)
        run_app(at)


def _png() -> bytes:
    im = Image.new("RGB", (40, 30), (20, 20, 20))
    im.paste((230, 230, 230), (10, 5, 30, 25))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def test_upload_project_and_edit(app_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.radio(key="panel").set_value("Your image")
    run_app(at)
    assert at.button(key="inv_train_encoder").label.startswith("Train an encoder")   # the tiny model has none
    at.file_uploader(key="inv_upload").set_value(("evil.png", b"<script>alert(1)</script>", "image/png"))
    run_app(at)
    assert any("cannot be used" in e.value and "not a usable image" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "inv_start"]
    at.file_uploader(key="inv_upload").set_value(("me.png", _png(), "image/png"))
    at.radio(key="inv_space").set_value("w+")
    at.slider(key="inv_steps").set_value(20)
    at.selectbox(key="inv_class").set_value(1)
    assert at.radio(key="inv_optimizer").value == "lbfgs"                 # the default
    at.radio(key="inv_optimizer").set_value("adam")
    run_app(at)
    assert not at.error
    previews = [c for el in at.get("image") for c in el.captions]
    assert "target: your image, cropped to the model's 32 px" in previews, previews   # nothing fitted yet
    assert not [c for c in previews if "fitted" in c or "reconstruction" in c]
    at.button(key="inv_start").click()
    run_app(at)
    wait_for_projection(at)
    assert "w" in at.query_params, "the projection never became the current image"
    captions = [c for el in at.get("image") for c in el.captions]
    assert {"target (fitted to the model's size)", "the model's reconstruction"} <= set(captions)
    G = app_env["G"]
    ws = decode_ws(at.query_params["w"], G.num_ws, G.cfg.w_dim)
    assert ws.shape == (1, G.num_ws, G.cfg.w_dim) and not bool((ws == ws[:, :1]).all())   # w+ kept per layer
    assert at.query_params["c"] == "1"
    labels = [m.label for m in at.metric]
    assert {"PSNR", "SSIM", "w from the mean", "w percentile"} <= set(labels)
    d_real = next((m for m in at.metric if m.label == "D: real?"), None)      # the tiny model ships no D: absent
    assert d_real is None or "your image itself gets" in d_real.proto.help
    assert any("20 steps (Adam)" in c.value for c in at.caption), [c.value for c in at.caption]
    cap = at.get("image")[0].proto.imgs[0].caption                # the main image's caption (Markdown-escaped)
    assert cap.startswith("your image") and "projected" in cap and "seed" not in cap
    at.radio(key="panel").set_value("Edit directions")
    run_app(at)
    at.slider(key="amt0").set_value(2.0)                          # an edit on top of the projected latent
    run_app(at)
    assert at.query_params["e"].startswith("0:2") and "w" in at.query_params
    at.button(key="next").click()                                 # another seed: back to seeds
    run_app(at)
    assert "w" not in at.query_params and at.query_params["s"] == "1"


@pytest.fixture
def font_env(tmp_path, monkeypatch):
    """pretrained/glyphs: a tiny unconditional glyph-stack model (62 glyphs at 64 px)."""
    import dataclasses

    from explorer.config import preset
    from explorer.data.glyphmetrics import CHARS
    from explorer.gan import checkpoint as ckpt
    from explorer.gan.generators import build_generator
    from explorer.gan.nets import compute_w_avg
    torch.manual_seed(0)
    G = build_generator(dataclasses.replace(preset("tiny", 64, 1, 0, glyphs=CHARS).generator, arch="film")).eval()
    compute_w_avg(G)
    ckpt.save_generator(tmp_path / "pre" / "glyphs", G, {"class_names": []})
    use_dirs(monkeypatch, tmp_path)
    return G


def test_a_font_model_starts_from_an_installed_font(font_env):
    from explorer.explore.font_target import installed_fonts
    fonts = [p.name for p in installed_fonts()]
    if "DejaVuSans.ttf" not in fonts:
        pytest.skip("DejaVu Sans is not installed")
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.radio(key="panel").set_value("Your image")
    run_app(at)
    assert not [u for u in at.get("file_uploader") if u.proto.id.endswith("inv_upload")]   # fonts, not pictures
    at.selectbox(key="inv_font").set_value(fonts.index("DejaVuSans.ttf"))
    at.slider(key="inv_steps").set_value(5)
    run_app(at)
    assert not at.error
    at.button(key="inv_start").click()
    run_app(at)
    wait_for_projection(at)
    assert "w" in at.query_params
    assert {"PSNR", "SSIM"} <= {m.label for m in at.metric}
    at.radio(key="inv_font_src").set_value("upload")                # then a broken font file: its reason,
    run_app(at)
    at.file_uploader(key="inv_font_upload").set_value(("broken.ttf", b"\x00\x01junk" * 50, "font/ttf"))
    run_app(at)
    assert any("That font cannot be used" in e.value for e in at.error)
    assert {"PSNR", "SSIM"} <= {m.label for m in at.metric}        # the shown projection keeps its figures,
    assert any("previous font, not of the one chosen now." in i.value for i in at.info)   # said to be of the last
    at.radio(key="inv_font_src").set_value("installed")            # back to the projected font: no such note
    run_app(at)
    assert {"PSNR", "SSIM"} <= {m.label for m in at.metric} and not at.error
    assert not [i for i in at.info if "previous font" in i.value]


def _project_an_upload(at: AppTest, steps: int) -> AppTest:
    """Open the Your image panel, upload a PNG, project it with `steps` steps and wait for the result."""
    at.radio(key="panel").set_value("Your image")
    run_app(at)
    at.file_uploader(key="inv_upload").set_value(("me.png", _png(), "image/png"))
    at.slider(key="inv_steps").set_value(steps)
    run_app(at)
    at.button(key="inv_start").click()
    run_app(at)
    wait_for_projection(at)
    return at


def test_a_new_file_keeps_the_shown_projection_and_says_whose_it_is(app_env):
    at = _project_an_upload(run_app(AppTest.from_file(APP, default_timeout=120)), steps=10)
    run_app(at)
    assert {"PSNR", "SSIM"} <= {m.label for m in at.metric}               # the first file's projection
    w = at.query_params["w"]
    at.file_uploader(key="inv_upload").set_value(("evil.png", b"<script>alert(1)</script>", "image/png"))
    run_app(at)
    assert any("cannot be used" in e.value for e in at.error)
    assert {"PSNR", "SSIM"} <= {m.label for m in at.metric} and at.query_params["w"] == w   # nothing lost,
    assert any("previous image, not of the one chosen now." in i.value for i in at.info)   # and it says whose
    other = Image.new("RGB", (32, 32), (200, 30, 30))
    buf = io.BytesIO()
    other.save(buf, format="PNG")
    at.file_uploader(key="inv_upload").set_value(("other.png", buf.getvalue(), "image/png"))
    run_app(at)
    assert not at.error and any("another target than the one shown above" in i.value for i in at.info)
    assert [b for b in at.button if b.key == "inv_start"]                 # the new image can be projected


def test_the_seed_box_says_when_the_image_is_a_projection_and_a_seed_leaves_it(app_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    assert not [b for b in at.button if b.key == "leave_projection"]
    _project_an_upload(at, steps=0)
    assert "w" in at.query_params and at.number_input(key="seed").value == 0
    assert "your projected image" in " ".join(c.value for c in at.caption) and "not seed 0" in page_text(at)
    at.button(key="next").click()                                  # another seed, then back to seed 0:
    run_app(at)
    at.button(key="prev").click()
    run_app(at)
    assert "w" not in at.query_params and at.query_params.get("s", "0") == "0"   # seed 0 itself, not the projection
    assert "your projected image" not in page_text(at)
    at.button(key="inv_start").click()                             # project again, then leave with the button
    run_app(at)
    wait_for_projection(at)
    at.button(key="leave_projection").click()
    run_app(at)
    assert "w" not in at.query_params and not [b for b in at.button if b.key == "leave_projection"]


def test_a_projected_image_has_no_z_sliders_and_its_caption_counts_no_nudges(app_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.radio(key="panel").set_value("Latent z")
    run_app(at)
    at.slider(key="z2").set_value(2.5)                              # a nudge of seed 0's z, kept in the state
    run_app(at)
    assert "nudged: 2" in page_text(at)
    _project_an_upload(at, steps=0)
    at.radio(key="panel").set_value("Latent z")
    run_app(at)
    assert not [s for s in at.slider if s.key == "z2"]              # no sliders that would move nothing
    assert "has no z" in page_text(at)
    from explorer.explore.latents import LatentState
    from explorer.ui.explore_view import caption
    projected = LatentState(model="m", checkpoint="0" * 12, seed=0, projected="AAAA", z_offsets=((2, 2.5),))
    assert "z nudge" not in caption(None, projected)                # type: ignore[arg-type]  # its nudges wait
    assert "1 z nudge" in caption(None, LatentState(model="m", checkpoint="0" * 12, seed=0, z_offsets=((2, 2.5),)))   # type: ignore[arg-type]


def test_what_the_decoder_converted_is_said_and_a_thin_padded_upload_is_not_called_enlarged(app_env):
    from explorer.explore.projection_io import model_background
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.radio(key="panel").set_value("Your image")
    run_app(at)
    im = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    im.paste((250, 250, 250, 255), (10, 10, 30, 30))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    at.file_uploader(key="inv_upload").set_value(("cutout.png", buf.getvalue(), "image/png"))
    run_app(at)
    from explorer.imaging.decode import colour_name
    paper = colour_name(model_background(app_env["G"]))               # the model's own background
    assert f"Converted: alpha: transparency composited onto {paper}." in page_text(at)
    strip = io.BytesIO()
    Image.new("L", (5000, 10), 128).save(strip, format="PNG")
    at.file_uploader(key="inv_upload").set_value(("strip.png", strip.getvalue(), "image/png"))
    at.radio(key="inv_fit").set_value("pad")
    run_app(at)
    assert "Crop keeps more" in page_text(at) and "enlarged" not in page_text(at)


def test_the_upload_survives_a_panel_switch_and_the_same_file_again_is_not_new(app_env):
    at = _project_an_upload(run_app(AppTest.from_file(APP, default_timeout=120)), steps=10)
    w = at.query_params["w"]
    at.radio(key="panel").set_value("Edit directions")
    run_app(at)
    at.radio(key="panel").set_value("Your image")
    run_app(at)
    at.file_uploader(key="inv_upload").set_value(None)            # the uploader comes back empty
    run_app(at)
    assert not at.exception and not at.error
    assert any("Your last image: me.png" in c.value for c in at.caption)
    assert {"PSNR", "SSIM"} <= {m.label for m in at.metric}       # the result and its figures stay
    at.radio(key="inv_space").set_value("w+")
    run_app(at)
    at.button(key="inv_start").click()                            # ... and it can be projected again, in w+
    run_app(at)
    deadline = time.time() + 60
    while at.query_params.get("w") == w and time.time() < deadline:
        time.sleep(0.2)
        run_app(at)
    assert at.query_params["w"] != w
    again = at.query_params["w"]
    at.file_uploader(key="inv_upload").set_value(("me-again.png", _png(), "image/png"))   # the same bytes
    run_app(at)
    assert {"PSNR", "SSIM"} <= {m.label for m in at.metric} and at.query_params["w"] == again   # not a new file


def test_a_one_w_model_offers_no_w_plus_and_downloads_name_a_projection(tmp_path, monkeypatch):
    G, _ = export_generator(tmp_path / "pre" / "onew", arch="dcgan")
    assert G.num_ws == 1
    use_dirs(monkeypatch, tmp_path)
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.radio(key="panel").set_value("Your image")
    at.session_state["inv_space"] = "w+"                       # e.g. kept from another model
    run_app(at)
    assert not [r for r in at.radio if r.key == "inv_space"]
    assert any("w+ would be the same" in c.value for c in at.caption)
    at.file_uploader(key="inv_upload").set_value(("me.png", _png(), "image/png"))
    at.slider(key="inv_steps").set_value(0)
    run_app(at)
    at.button(key="inv_start").click()
    run_app(at)
    wait_for_projection(at)
    caps = [c.value for c in at.caption]
    assert any(c.startswith("w · 0 steps from the") for c in caps), caps       # no optimiser named for 0 steps
    from explorer.explore.latents import LatentState
    from explorer.ui.export_page import file_stem
    assert file_stem(LatentState("m", "c", 7)) == "seed7"
    assert file_stem(LatentState("m", "c", 7, projected="abc")) == "projected"


def test_the_font_picker_starts_on_a_plain_text_face():
    from explorer.ui.explore_invert_font import default_font_index
    fonts = ["/f/DejaVuMathTeXGyre.ttf", "/f/DejaVuSans-Bold.ttf", "/f/DejaVuSans.ttf"]
    assert default_font_index(fonts) == 2
    assert default_font_index(["/a/Alpha-Bold.ttf", "/a/Alpha-Regular.otf"]) == 1
    assert default_font_index(["/a/Zed.ttf"]) == 0


def test_the_discriminators_opinion_names_the_same_figure_for_your_image():
    from explorer.ui.explore_invert_panel import realness_help, realness_text
    assert realness_text(0.25, -1.1) == "0.25" and realness_text(None, -1.1) == "-1.10"
    assert "your image itself gets 0.50" in realness_help(0.3, 0.0)          # sigmoid(0): the same scale
    assert "your image itself gets -2.32" in realness_help(None, -2.32)      # a raw score, said so
    assert "your image itself gets 0.00" in realness_help(0.1, -1e9)         # no overflow


def test_a_greyscale_model_offers_inverted_tones_and_says_when_it_inverts(app_env, tmp_path):
    export_generator(tmp_path / "pre" / "colour", ch=3)
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.sidebar.selectbox(key="model").set_value("tiny (pretrained)")
    run_app(at)
    at.radio(key="panel").set_value("Your image")
    run_app(at)
    assert at.radio(key="inv_tones").value == "auto"
    im = Image.new("L", (40, 40), 250)                                  # a dark shirt on white
    im.paste(30, (10, 8, 30, 34))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    at.file_uploader(key="inv_upload").set_value(("shirt.png", buf.getvalue(), "image/png"))
    at.radio(key="inv_tones").set_value("invert")
    run_app(at)
    assert "Converted: tones inverted: as asked." in page_text(at)
    at.radio(key="inv_tones").set_value("keep")
    run_app(at)
    assert "tones inverted" not in page_text(at)
    at.sidebar.selectbox(key="model").set_value("colour (pretrained)")   # a colour model: no such choice
    run_app(at)
    at.radio(key="panel").set_value("Your image")
    run_app(at)
    assert not [r for r in at.radio if r.key == "inv_tones"]
