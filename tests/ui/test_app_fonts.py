"""Every page on a tiny font model (a glyph-stack generator) through AppTest: the specimen above the
glyph sheet, the Font panel (nearest real fonts, downloads), and the other pages running without errors."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from explorer.config import preset
from explorer.explore.specimen import PANGRAM
from explorer.gan import checkpoint as ckpt
from explorer.gan.generators import build_generator
from explorer.gan.nets import compute_w_avg
from explorer.gan.protocol import Generator
from explorer.ui.font_link import DEFAULT_SIZE
from explorer.ui.text import md_escape
from tests.explore.test_nearest import write_fonts_dataset
from tests.factories import export_generator, map_rows, open_recipe, page_text, run_app, use_dirs
from tests.glyph_stacks import GLYPHS

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
PAGES = ["explorer/ui/interpolate_page.py", "explorer/ui/export_page.py", "explorer/ui/latent_map_page.py",
         "explorer/ui/classes_page.py", "explorer/ui/quiz_page.py", "explorer/ui/models_page.py",
         "explorer/ui/playground_page.py", "explorer/ui/train_page.py"]


def export_font_model(stem: Path, seed: int = 0) -> tuple[Generator, Path]:
    """A tiny 32 px glyph-stack generator (62 glyphs, mapping network, per-layer w) exported like
    pretrained/fonts, trained (nominally) on the fonts dataset."""
    torch.manual_seed(seed)
    m = preset("tiny", 32, 1, 0, glyphs=GLYPHS)
    G = build_generator(dataclasses.replace(m.generator, arch="style")).eval()
    compute_w_avg(G)
    meta = {"class_names": [], "dataset": {"spec": "fonts", "source": "fonts:train", "glyphs": GLYPHS},
            "model_card": "A tiny font model."}
    return G, ckpt.save_generator(stem, G, meta)


@pytest.fixture
def fonts_env(tmp_path, monkeypatch):
    """pretrained/: the tiny font model and an image model that sorts before it; no fonts dataset yet."""
    export_generator(tmp_path / "pre" / "emoji")
    G, side = export_font_model(tmp_path / "pre" / "fonts")
    env = use_dirs(monkeypatch, tmp_path)
    return {"G": G, "sha": json.loads(side.read_text())["sha256"], "data": Path(env["LATENT_EXPLORER_DATA"])}


def test_the_app_opens_on_the_fonts_model_with_a_specimen_above_the_sheet(fonts_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    assert at.selectbox(key="model").value == "fonts (pretrained)"
    assert at.text_area(key="font_text").value == PANGRAM
    images = at.get("image")
    assert len(images) >= 2                                        # the specimen, then the glyph sheet
    at.text_area(key="font_text").set_value("Hi € there")
    run_app(at)
    assert "dotted boxes: €" in page_text(at)
    at.text_area(key="font_text").set_value("")
    run_app(at)
    assert "Type some text" in page_text(at)
    at.text_area(key="font_text").set_value("Ok")
    at.select_slider(key="font_size").set_value(64)
    run_app(at)
    at.button(key="next").click()                                  # another typeface: the text stays
    run_app(at)
    assert at.text_area(key="font_text").value == "Ok" and at.query_params["s"] == "1"


def test_the_specimen_says_how_readable_the_face_is_when_the_glyph_classifier_ships(fonts_env, tmp_path):
    import streamlit as st

    from tests.explore.test_glyph_reading import save_tiny_reader
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    assert "Readability" not in page_text(at)                       # no classifier shipped: no claim
    save_tiny_reader(tmp_path / "pre" / "fonts-glyph-classifier")
    st.cache_resource.clear()
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    assert "Readability: the glyph classifier reads " in page_text(at) and " of 62 glyphs of this face" in page_text(at)


def test_exporting_an_unreadable_face_says_so(fonts_env, tmp_path, monkeypatch):
    import streamlit as st

    from explorer.explore import glyph_reading as GR
    from tests.explore.test_glyph_reading import save_tiny_reader
    save_tiny_reader(tmp_path / "pre" / "fonts-glyph-classifier")
    st.cache_resource.clear()
    for read, warned in ((15, True), (60, False)):
        monkeypatch.setattr(GR, "read_face", lambda stack, glyphs, r, n=read: GR.Reading(n, 62, ""))
        at = run_app(AppTest.from_file(APP, default_timeout=120))
        at.radio(key="panel").set_value("Font")
        run_app(at)
        said = " ".join(w.value for w in at.warning)
        assert ("reads only 15 of 62 glyphs" in said and "broken glyphs included" in said) is warned, said


def test_the_gallery_can_show_readable_faces_only(fonts_env, tmp_path, monkeypatch):
    import streamlit as st

    from explorer.explore import glyph_reading as GR
    from tests.explore.test_glyph_reading import save_tiny_reader
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.radio(key="panel").set_value("Gallery")
    run_app(at)
    assert not [c for c in at.checkbox if c.key == "gal_readable"]      # no classifier shipped: no filter
    save_tiny_reader(tmp_path / "pre" / "fonts-glyph-classifier")
    st.cache_resource.clear()
    monkeypatch.setattr(GR, "read_face", lambda stack, glyphs, r: GR.Reading(62 if stack.sum() % 2 else 0, 62, ""))
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.radio(key="panel").set_value("Gallery")
    run_app(at)
    at.checkbox(key="gal_readable").check()
    run_app(at)
    n = len([b for b in at.button if b.key and b.key.startswith("use")])
    labels = [int(at.button(key=f"use{j}").label) for j in range(n)]
    assert "readable faces among seeds 0–" in page_text(at) and n <= 12
    assert labels == sorted(labels) and labels != list(range(len(labels)))   # some seeds were skipped
    if labels:
        at.button(key="use0").click()
        run_app(at)
        assert at.query_params["s"] == str(labels[0])


def test_font_panel_offers_downloads_and_says_when_there_is_no_dataset(fonts_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.radio(key="panel").set_value("Font")
    run_app(at)
    labels = [b.proto.label for b in at.get("download_button")]
    assert {"PNG", "SVG", "Font .otf"} <= set(labels)


def test_the_download_labels_fit_a_third_of_the_narrow_font_panel(fonts_env):
    from explorer.ui.explore_font_panel import MAX_LABEL
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.radio(key="panel").set_value("Font")
    run_app(at)
    font = [b.proto for b in at.get("download_button") if b.proto.id.split("-")[-1].startswith("font_")]
    assert len(font) == 3 and all(len(b.label) <= MAX_LABEL and b.help for b in font), [b.label for b in font]
    assert "fonts dataset is not on this server" in page_text(at)
    assert "Latent " in page_text(at)                                 # the family the font installs as


def test_font_panel_shows_three_nearest_real_fonts_from_the_dataset(fonts_env):
    write_fonts_dataset(fonts_env["data"] / "datasets" / "fonts")
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.radio(key="panel").set_value("Font")
    run_app(at)
    text = page_text(at)
    assert text.count("Train Family") == 3 and "OFL-1.1" in text and "distance" in text
    assert "Held-out real fonts are typically" in text


def test_image_models_get_no_specimen_and_no_font_panel(fonts_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.selectbox(key="model").set_value("emoji (pretrained)")
    run_app(at)
    assert not at.text_area and "Font" not in at.radio(key="panel").options


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_a_font_model(fonts_env, page):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.switch_page(page)
    run_app(at)


def test_interpolate_morphs_a_word_between_typefaces(fonts_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.switch_page("explorer/ui/interpolate_page.py")
    run_app(at)
    assert at.text_input(key="ip_word").value == "Hamburgefonstiv"
    at.text_input(key="ip_word").set_value("Typo")
    at.number_input(key="ip_frames").set_value(6)
    run_app(at)
    assert any(b.proto.label == "Download GIF" for b in at.get("download_button"))
    at.text_input(key="ip_word").set_value("")
    run_app(at)
    assert "Type a word" in page_text(at)


def test_latent_map_of_a_font_model_maps_fewer_faces_first_with_specimens_and_ag_thumbnails(fonts_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.switch_page("explorer/ui/latent_map_page.py")
    run_app(at)
    assert at.slider(key="lm_n").value == 150                               # 62-glyph faces: half of 300
    rows = map_rows(at)
    assert len(rows) == 150 and all(r["image"] for r in rows)             # every face a point, a specimen on hover,
    assert 0 < sum(bool(r["thumb"]) for r in rows) < 150                    # "Ag" where it hides no other
    at.toggle(key="lm_thumbs").set_value(False)                              # hidden: none sent
    run_app(at)
    rows = map_rows(at)
    assert not any(r["thumb"] for r in rows) and len(rows) == 150
    at.sidebar.selectbox(key="model").set_value("emoji (pretrained)")      # another model: its own first count
    run_app(at)
    assert at.slider(key="lm_n").value == 300 and len(map_rows(at)) == 300
    assert not [w for w in at.get("warning") if "Session State" in str(w.value)]


def test_quiz_uses_held_out_faces_of_the_fonts_dataset_and_names_them_as_text(fonts_env):
    folder = fonts_env["data"] / "datasets" / "fonts"
    write_fonts_dataset(folder)
    meta = json.loads((folder / "fonts.json").read_text())
    meta["splits"]["test"]["faces"][0]["family"] = "Grotesk *Bold* [x](y)"    # Markdown in a family name
    (folder / "fonts.json").write_text(json.dumps(meta))
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.session_state["qz_n"] = 4                                             # 2 real: both held-out faces
    at.switch_page("explorer/ui/quiz_page.py")
    run_app(at)
    assert "held-out families" in page_text(at)
    items = at.session_state["qz_round"]["items"]
    reals = [it for it in items if it.real]
    assert sorted(it.origin for it in reals) == ["Grotesk *Bold* [x](y) Regular (fonts-test-0)",
                                                 "Test Family 0 Bold (fonts-test-0)"]
    assert {it.image.shape for it in items} == {items[0].image.shape}        # real and generated alike: sheets
    i = next(k for k, it in enumerate(items) if it.origin.startswith("Grotesk"))
    for _ in range(i + 1):                                                   # answer up to the renamed face
        at.button(key="qz_real").click()
        run_app(at)
        if at.session_state["qz_round"]["i"] < i:
            at.button(key="qz_next").click()
            run_app(at)
    said = " ".join(str(x.value) for kind in ("success", "error") for x in at.get(kind))
    assert md_escape("Grotesk *Bold* [x](y) Regular (fonts-test-0)") in said     # shown as text, not Markdown


def test_export_page_offers_the_typeface(fonts_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.switch_page("explorer/ui/export_page.py")
    run_app(at)
    labels = {b.proto.label for b in at.get("download_button")}
    assert {"Download PNG", "Font .otf", "SVG", "PNG"} <= labels


def test_the_export_pages_recipe_and_link_carry_the_specimen_and_open_with_it(fonts_env):
    import json

    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.text_area(key="font_text").set_value("Quartz *glyph*")
    at.select_slider(key="font_size").set_value(48)
    run_app(at)
    at.switch_page("explorer/ui/export_page.py")
    run_app(at)
    text = next(c.value for c in at.code if c.language == "json")
    assert json.loads(text)["view"] == {"t": "Quartz *glyph*", "sz": "48"}
    assert any("t=Quartz" in c.value and "sz=48" in c.value for c in at.code if c.language != "json")
    other = open_recipe(run_app(AppTest.from_file(APP, default_timeout=120)), text)   # someone else opens it
    assert other.text_area(key="font_text").value == "Quartz *glyph*"
    assert other.select_slider(key="font_size").value == 48


def test_nothing_typed_means_no_specimen_download(fonts_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.radio(key="panel").set_value("Font")
    at.text_area(key="font_text").set_value("   ")
    run_app(at)
    buttons = {b.key: b for b in at.get("download_button")}
    assert buttons["font_png"].proto.disabled and buttons["font_svg"].proto.disabled
    assert not buttons["font_otf"].proto.disabled                          # the typeface itself still exports


def test_a_glyph_discriminator_scores_rendered_sheets_like_the_stacks():
    from explorer.gan.critic import realness
    from explorer.gan.discriminators import build_discriminator
    from explorer.imaging.render import to_uint8
    torch.manual_seed(0)
    D = build_discriminator(preset("tiny", 32, 1, 0, glyphs=GLYPHS).discriminator).eval()
    x = torch.rand(3, 62, 32, 32) * 2 - 1
    sheets = to_uint8(x)                                                 # what the app renders: (3, 160, 416, 1)
    stacks = ((x + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    torch.testing.assert_close(realness(D, sheets), realness(D, stacks))


@pytest.mark.parametrize("size", [16, 32, 96])
def test_latin_letters_are_the_same_size_whatever_else_is_typed(size):
    """The page narrows an image wider than its column; a specimen padded to a full line's width is
    narrowed alike for any text whose words fit a line, so "Привет abc" cannot show its Latin letters larger
    than the pangram. (A word wider than a line widens it, up to MAX_WORD_CAPS, rather than break.)"""
    from explorer.ui.explore_font_panel import LINE_PX, MAX_WORD_CAPS, specimen_image
    from tests.glyph_stacks import render_stacks
    stack = render_stacks(1, res=64)[0].numpy()
    shown = {t: specimen_image(stack, t, GLYPHS, size, full_line=True) for t in
             (PANGRAM, "abc", "Привет abc", "日本 abc", "x" * 200)}
    long_word = shown.pop("x" * 200)[1]
    assert len({img.shape[1] for _, img in shown.values()}) == 1, {t: i.shape for t, (_, i) in shown.items()}
    assert long_word.shape[1] <= max(LINE_PX + 2 * size, (MAX_WORD_CAPS + 1) * size)   # broken, not one line
    spec, img = shown["Привет abc"]
    assert spec.unknown == "Пвеирт" and [p.glyph for p in spec.placed].count(-1) == 6   # boxes still drawn
    box = spec.placed[0]
    cols = img[:, int(box.cell_x * size / 32):int((box.cell_x + 10) * size / 32), 0]
    assert cols.min() < 200                                             # the dotted box is visible ink
    plain = specimen_image(stack, "Привет abc", GLYPHS, size)[1]        # the export keeps its tight width
    assert plain.shape[1] < img.shape[1] and plain.shape[0] == img.shape[0]


def test_the_specimen_on_explore_is_as_wide_for_mixed_scripts_as_for_latin(fonts_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    import base64
    import io

    from PIL import Image
    widths = []
    # words that fit a line (the tiny model's noise glyphs are two cap heights wide, so a pangram word such as
    # "Sphinx" is wider than a line and widens it: test_a_long_word_at_a_large_size_is_kept_whole_up_to_a_limit)
    for text in ("The fox ate a bun", "Привет abc"):
        at.text_area(key="font_text").set_value(text)
        run_app(at)
        url = at.get("image")[0].proto.imgs[0].url                         # the specimen, an inline PNG
        widths.append(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size[0])
    assert widths[0] == widths[1] > 0, widths


def test_a_larger_specimen_size_sets_fewer_words_per_line_not_a_wider_image():
    """The specimen is shown at its own size, so Size must change the text on screen: lines wrap at
    about LINE_PX, and a bigger size means more lines, not an image scaled back down to the column."""
    from explorer.ui.explore_font_panel import LINE_PX, LINE_SLACK, MIN_LINE_CAPS, specimen_image
    from tests.glyph_stacks import render_stacks
    stack = render_stacks(1, res=64)[0].numpy()
    shown = {size: specimen_image(stack, PANGRAM, GLYPHS, size) for size in (16, 32, 96)}
    lines = [len(shown[size][0].baselines) for size in (16, 32, 96)]
    assert lines[0] < lines[1] < lines[2] and lines[0] <= 2
    for size, (_, image) in shown.items():          # about a line's width on screen, not more
        assert image.shape[1] <= (max(LINE_PX, MIN_LINE_CAPS * size) + LINE_SLACK * size) * 1.05 + 4, size
    assert shown[32][1].shape[1] <= 1.1 * LINE_PX                     # the default size fits the column
    assert shown[96][1].shape[0] > 4 * shown[16][1].shape[0]


def test_a_long_word_at_a_large_size_is_kept_whole_up_to_a_limit():
    from explorer.ui.explore_font_panel import specimen_image
    from tests.glyph_stacks import render_stacks
    stack = render_stacks(1, res=64)[0].numpy()
    spec, _ = specimen_image(stack, "Hamburgefonstiv 0123", GLYPHS, 96)
    first = "".join(p.char for p in spec.placed if p.line == 0)
    assert first == "Hamburgefonstiv", first                           # not "Ham / burg / efons / tiv"
    spec, _ = specimen_image(stack, "W" * 40, GLYPHS, 96)              # far wider than 16 cap heights: broken
    assert len(spec.baselines) > 1
    bold = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")      # a wide, heavy real face
    if bold.exists():
        from explorer.data.fontrender import render_face
        spec, _ = specimen_image(render_face(bold).glyphs, "Hamburgefonstiv 0123", GLYPHS, 96)
        assert "".join(p.char for p in spec.placed if p.line == 0) == "Hamburgefonstiv"


def test_the_link_carries_the_specimen_text_and_size(fonts_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    assert "t" not in at.query_params and "sz" not in at.query_params     # defaults stay out of the link
    at.text_area(key="font_text").set_value("**Hamburg** <b>x</b>")
    at.select_slider(key="font_size").set_value(64)
    run_app(at)
    assert at.query_params["t"] == "**Hamburg** <b>x</b>" and at.query_params["sz"] == "64"
    shared = AppTest.from_file(APP, default_timeout=120)                 # someone opens the shared link
    shared.query_params.update(dict(at.query_params))
    run_app(shared)
    assert shared.text_area(key="font_text").value == "**Hamburg** <b>x</b>"
    assert shared.select_slider(key="font_size").value == 64
    assert "could not be shown exactly" not in page_text(shared)
    assert "tr" not in at.query_params and shared.toggle(key="font_traced").value is False
    at.toggle(key="font_traced").set_value(True)                          # the traced specimen travels too
    run_app(at)
    assert at.query_params["tr"] == "1"
    traced = AppTest.from_file(APP, default_timeout=120)
    traced.query_params.update(dict(at.query_params))
    run_app(traced)
    assert traced.toggle(key="font_traced").value is True
    at.toggle(key="font_traced").set_value(False)
    run_app(at)
    bad = AppTest.from_file(APP, default_timeout=120)
    bad.query_params.update({"m": "fonts", "s": "2", "sz": "100000", "t": "x" * 900, "tr": "yes"})
    run_app(bad)
    assert bad.select_slider(key="font_size").value == DEFAULT_SIZE and len(bad.text_area(key="font_text").value) == 500
    said = " ".join(w.value for w in bad.warning)                       # the fallback is not silent
    assert "sz='100000'" in said and "16, 24, 32, 48, 64, 96 px" in said and f"showing {DEFAULT_SIZE} px" in said, said
    assert "has 900 characters; showing its first 500" in said                # nor is the cut text
    assert "tr='yes' is not 0 or 1" in said and bad.toggle(key="font_traced").value is False
    long = "Long text ünïcode " * 25                                       # 450 characters: the link keeps them
    at.text_area(key="font_text").set_value(long)
    run_app(at)
    assert at.query_params["t"] == long


def test_a_bad_link_size_is_named_with_the_accepted_sizes_as_plain_text():
    from explorer.ui import font_link
    ss: dict = {}
    assert font_link.apply_view_params({"sz": "48"}, ss) == [] and ss["font_size"] == 48
    assert font_link.apply_view_params({}, ss) == [] and ss["font_size"] == DEFAULT_SIZE  # no sz: the default
    (w,) = font_link.apply_view_params({"sz": "**9**" + "9" * 50}, ss)
    assert ss["font_size"] == DEFAULT_SIZE and "sz='**9**999999999999999…'" in w and "(16, 24, 32, 48, 64, 96 px)" in w


def test_a_font_models_attribute_sliders_follow_the_image_unless_a_link_says_otherwise(fonts_env):
    at = run_app(AppTest.from_file(APP, default_timeout=180))
    at.radio(key="method").set_value("attr")
    run_app(at)
    labels = {s.key: s.label for s in at.slider if s.key and s.key.startswith("amt")}
    weight = next(k for k, lab in labels.items() if lab.startswith("weight"))
    assert "↝" in labels[weight] and at.toggle(key="follow_all").value is True
    assert not any("↝" in lab for lab in labels.values() if lab.startswith(("serif", "ink", "contrast")))
    slant, width = (next(k for k, lab in labels.items() if lab.startswith(n)) for n in ("slant", "width"))
    for k in (weight, slant, width):                    # weight, slant and width hold the other two by default
        assert "holds 2" in labels[k], labels[k]
    at.slider(key=weight).set_value(1.0)
    run_app(at)
    held = ".".join(sorted((slant[3:], width[3:]), key=int))
    assert not at.exception and at.query_params["e"] == f"{weight[3:]}:1:0::{held}:f"
    linked = AppTest.from_file(APP, default_timeout=180)                # a link without :f stays a fitted edit
    linked.query_params.update({**dict(at.query_params), "e": f"{weight[3:]}:1:0:"})
    run_app(linked)
    assert not linked.exception and "↝" not in linked.slider(key=weight).label
    assert "holds" not in linked.slider(key=weight).label and linked.query_params["e"] == f"{weight[3:]}:1:0:"
    assert "holds 2" in linked.slider(key=slant).label          # what the link does not edit keeps the defaults
    others = [k for k, lab in labels.items() if "↝" in lab and k != weight]          # ... the others still follow
    assert others and all("↝" in linked.slider(key=k).label for k in others)
    plain = AppTest.from_file(APP, default_timeout=180)                 # a link with no edits (a reload after
    plain.query_params.update({k: v for k, v in at.query_params.items() if k != "e"})    # picking the method)
    run_app(plain)
    assert not plain.exception and "↝" in plain.slider(key=weight).label and plain.toggle(key="follow_all").value


def _specimen_png(at: AppTest) -> np.ndarray:
    url = at.get("image")[0].proto.imgs[0].url                              # the specimen, an inline PNG
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("L"))


@pytest.mark.skipif(shutil.which("potrace") is None, reason="potrace (run.sh installs it)")
def test_the_specimen_can_show_the_downloaded_fonts_traced_outlines(fonts_env, monkeypatch):
    import streamlit as st

    from explorer.explore import fontexport as FX
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    raw = _specimen_png(at)
    toggle = at.toggle(key="font_traced")        # a short label ("As downloaded" was cut at 900 px); help says more
    assert toggle.label == "Traced" and toggle.help.startswith("The text as the downloaded font draws it")
    toggle.set_value(True)
    run_app(at)
    traced = _specimen_png(at)
    assert traced.shape == raw.shape and not np.array_equal(traced, raw)   # same layout, other glyphs
    assert "could not be traced" not in page_text(at)
    at.button(key="next").click()                                          # the toggle stays on for the next face
    run_app(at)
    assert at.toggle(key="font_traced").value is True

    def missing() -> str:
        raise FX.FontExportError("potrace is not installed on this server")
    monkeypatch.setattr(FX, "potrace_path", missing)
    st.cache_data.clear()
    run_app(at)
    assert "could not be traced (potrace is not installed" in page_text(at)
    assert not at.exception


def test_the_export_pages_first_png_width_is_the_sheets_own(fonts_env):
    from explorer.imaging.render import glyph_sheet
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.switch_page("explorer/ui/export_page.py")
    run_app(at)
    own = glyph_sheet(np.zeros((len(GLYPHS), 32, 32), np.uint8)).shape[1]    # the tiny model's 32 px cells
    box = at.selectbox(key="png_size")
    assert box.value == own and box.options[0] == f"{own} (its own size)", (box.value, box.options)


def test_a_weak_taught_direction_kept_anyway_gets_a_slider_on_a_font_model(fonts_env, monkeypatch):
    from explorer.explore import taught
    monkeypatch.setattr(taught, "WEAK_ACCURACY", 1.01)                   # every fit counts as near chance
    at = run_app(AppTest.from_file(APP, default_timeout=180))
    at.radio(key="panel").set_value("Attributes")
    run_app(at)
    at.text_input(key="attr_teach_name").input("serifness")
    for j in range(12):
        at.segmented_control(key=f"attr_mark_{j}").set_value("more" if j < 6 else "less")
        run_app(at)
    at.button(key="attr_teach").click()
    run_app(at)
    at.button(key="attr_keep_weak").click()
    run_app(at)
    at.radio(key="panel").set_value("Edit directions")
    at.radio(key="method").set_value("attr")
    run_app(at)
    assert any("serifness" in s.label for s in at.slider if s.key and s.key.startswith("amt")), \
        (at.number_input(key="k").value, [s.label for s in at.slider])


def test_other_pages_set_the_typed_specimen_text_above_the_sheet(fonts_env):
    at = run_app(AppTest.from_file(APP, default_timeout=120))
    at.switch_page("explorer/ui/export_page.py")
    run_app(at)
    pangram = _specimen_png(at).shape                                   # the export preview: pangram + sheet
    at.switch_page("explorer/ui/explore_page.py")
    run_app(at)
    at.text_area(key="font_text").set_value("Zebra")
    run_app(at)
    at.switch_page("explorer/ui/export_page.py")
    run_app(at)
    assert _specimen_png(at).shape[0] < pangram[0]                      # one short word: fewer specimen lines
