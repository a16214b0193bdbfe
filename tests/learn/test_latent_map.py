"""The latent map's sampling, projections, figure and selection parsing; the quiz's rounds and score."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from explorer.explore.latents import LatentState, state_to_ws
from explorer.imaging.render import glyph_sheet
from explorer.learn import latent_map as LM
from explorer.learn import quiz as Q
from tests.factories import make_dataset, tiny_generator


@pytest.fixture(scope="module")
def G():
    g = tiny_generator(3, "film", w_avg=True)
    return g


def test_samples_are_the_explorers_seeds(G):
    ws, seeds, classes = LM.sample_ws(G, 40, first_seed=10, psi=0.7)
    assert ws.shape == (40, G.cfg.w_dim) and list(seeds[:3]) == [10, 11, 12] and list(classes[:4]) == [0, 1, 2, 0]
    want = state_to_ws(G, LatentState("tiny", "", seed=15, class_index=2, psi=0.7))[0, 0].numpy()
    assert np.allclose(ws[5], want, atol=1e-5)


@pytest.mark.parametrize("method", list(LM.METHODS))
def test_projection_shape_and_determinism(G, method):
    ws, _, _ = LM.sample_ws(G, 60)
    a, b = LM.project(ws, method), LM.project(ws.copy(), method)
    assert a.shape == (60, 2) and a.dtype == np.float32 and np.isfinite(a).all()
    assert np.array_equal(a, b)


def test_projection_errors():
    with pytest.raises(ValueError, match="unknown projection"):
        LM.project(np.zeros((10, 4)), "umap")
    with pytest.raises(ValueError, match="at least 3"):
        LM.project(np.zeros((2, 4)), "pca")


def test_map_spec_hover_pictures_thumbnails_and_selection(G):
    ws, seeds, classes = LM.sample_ws(G, 30)
    xy = LM.project(ws, "pca")
    hovers, thumbs = [b"\x89PNG hover"] * 30, [b"\x89PNG thumb"] * 30
    spec = LM.map_spec(xy, seeds, classes, ["cat", "dog", "<b>owl</b>"], hovers, thumbs)
    json.dumps(spec)                                                          # JSON-able, as Streamlit sends it
    rows = spec["data"]["values"]
    assert [r["i"] for r in rows] == list(range(30)) and rows[1]["title"] == "seed 1 · dog"
    assert rows[1]["x"] == pytest.approx(float(xy[1, 0])) and rows[2]["class"] == "<b>owl</b>"   # a value: escaped
    assert all(r["image"] == LM.data_uri(b"\x89PNG hover") for r in rows)   # every dot shows its picture on hover
    dots, pictures, ring = spec["layer"]
    assert ring["transform"] == [{"filter": {"param": LM.PICK, "empty": False}}]    # the clicked dot, ringed
    assert {"field": "image", "title": "image"} in dots["encoding"]["tooltip"]   # vega-tooltip draws `image`
    assert dots["params"][0] == {"name": LM.PICK, "select": {"type": "point", "fields": ["i"], "on": "click"}}
    assert dots["encoding"]["color"]["scale"]["domain"] == ["cat", "dog", "<b>owl</b>"]
    drawn = LM.uncluttered(xy, LM.thumb_size(xy))
    assert [r["i"] for r in rows if r["thumb"]] == drawn and 0 < len(drawn) < 30
    x, y = dots["encoding"]["x"]["scale"]["domain"], dots["encoding"]["y"]["scale"]["domain"]
    assert x[1] - x[0] == pytest.approx(y[1] - y[0]) and spec["height"] == LM.MAP_PX      # equal spans
    assert x[0] < xy[:, 0].min() and x[1] > xy[:, 0].max() and y[0] < xy[:, 1].min() and y[1] > xy[:, 1].max()
    same = LM.map_spec(xy, seeds, None, [], hovers, hovers)["data"]["values"]   # a thumbnail that is the hover
    assert {r["thumb"] for r in same} == {"", LM.SAME_AS_HOVER}                     # picture: sent once
    plain = LM.map_spec(xy, seeds, None, [], None, None)                     # no classes, pictures or thumbnails
    assert len(plain["layer"]) == 2 and "image" not in plain["data"]["values"][0]          # dots and the ring
    assert plain["layer"][0]["encoding"]["color"] == {"value": LM.PALETTE[0]}
    with pytest.raises(ValueError, match="must be"):
        LM.map_spec(np.zeros((4, 3)), range(4), None, [])
    assert LM.selected_index({"selection": {LM.PICK: [{"i": 7}]}}) == 7
    assert LM.selected_index({"selection": {LM.PICK: {}}}) is None          # nothing picked
    assert LM.selected_index({"selection": {LM.PICK: [{"i": True}]}}) is None
    assert LM.selected_index({"selection": {}}) is None and LM.selected_index(None) is None


def test_thumbnails_never_overlap_and_every_point_keeps_its_dot():
    xy = np.array([[0.0, 0.0], [0.5, 0.2], [3.0, 0.0], [3.0, 0.9], [3.0, 1.0], [10.0, 10.0]])
    assert LM.uncluttered(xy, 1.0) == [0, 2, 4, 5]       # 1 overlaps 0; 3 overlaps 2; 4 touches 2's edge only
    assert LM.uncluttered(xy, 0.05) == list(range(6))    # small enough: all drawn
    rng = np.random.default_rng(0)
    cloud = rng.normal(size=(300, 2))
    size = LM.thumb_size(cloud)
    kept = cloud[LM.uncluttered(cloud, size)]
    gaps = np.abs(kept[:, None] - kept[None]).max(-1) + np.eye(len(kept)) * 1e9
    assert gaps.min() >= size and 10 < len(kept) < 300
    rows = LM.map_spec(cloud, np.arange(300), None, [], None, [b"\x89PNG fake"] * 300)["data"]["values"]
    assert sum(bool(r["thumb"]) for r in rows) == len(kept) and len(rows) == 300


def test_quiz_round_and_tally():
    ds = make_dataset(n=20, classes=3)

    def render(seeds, classes):
        return np.full((len(seeds), 32, 32, 1), 128, np.uint8)

    items = Q.make_round(ds, render, n=9, seed=3, num_classes=3)
    again = Q.make_round(ds, render, n=9, seed=3, num_classes=3)
    assert len(items) == 9 and sum(it.real for it in items) == 4
    assert [it.origin for it in items] == [it.origin for it in again]        # seeded
    assert all(it.image.shape == (32, 32, 1) and it.image.dtype == np.uint8 for it in items)
    assert all(it.label in (0, 1, 2) for it in items)
    truth = [it.real for it in items]
    scored = [dataclasses.replace(it, d_score=1.0) for it in items]          # a D that always says "real"
    t = Q.tally(scored, truth[:3] + [not truth[3]] + [None] * 5)
    assert (t.answered, t.people_right, t.d_scored, t.d_right) == (4, 3, 4, sum(truth[:4]))
    assert t.line() == f"You 3 of 4 right · Discriminator {sum(truth[:4])} of 4 right"    # one format
    assert Q.of_n(3, 5) == "3 of 5 right" and Q.percent(0.534) == "53%"
    assert Q.real_spec({"dataset": {"spec": "fashion-mnist"}}) == "fashion-mnist:test"
    assert Q.real_spec({"dataset": {"source": "fashion-mnist:train"}}) == "fashion-mnist:test"
    assert Q.real_spec({"dataset": {"source": "emoji (Noto Color Emoji)"}}) == "emoji"
    assert Q.real_spec({}) is None and Q.real_spec({"dataset": {"source": "zip:x.zip"}}) is None


def test_quiz_uses_the_upload_set_a_model_was_trained_on(tmp_path):
    import io

    from PIL import Image

    from explorer.data.store import save_upload_set
    from explorer.data.uploads import ingest_uploads

    def png(i: int) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(np.full((20, 20), i * 20, np.uint8)).save(buf, format="PNG")
        return buf.getvalue()

    folder = save_upload_set(ingest_uploads([(f"p{i}.png", png(i)) for i in range(6)], resolution=16, channels=1),
                             tmp_path / "up")
    meta = {"dataset": {"source": "upload:abc", "path": str(folder)}}
    ds = Q.real_dataset(meta, 16, 1)
    assert len(ds) == 6 and tuple(ds.images.shape[1:]) == (1, 16, 16)
    with pytest.raises(ValueError, match="draws"):
        Q.real_dataset(meta, 32, 1)
    with pytest.raises(FileNotFoundError, match="no longer on this server"):
        Q.real_dataset({"dataset": {"source": "upload:abc", "path": str(tmp_path / "gone")}}, 16, 1)


# ----------------------------------------------------------------------------- speed: the first view of a font model

def test_pca_is_sklearns_pca_with_the_same_axis_signs(G):
    from sklearn.decomposition import PCA
    ws, _, _ = LM.sample_ws(G, 50, first_seed=3)
    want = PCA(n_components=2, svd_solver="full").fit_transform(ws.astype(np.float64))
    want = want * np.sign(want[np.abs(want).argmax(0), [0, 1]])
    assert np.allclose(LM.project(ws, "pca"), want, atol=1e-4)


@pytest.fixture(scope="module")
def font_engine(tmp_path_factory):
    from explorer.explore.engine import load_engine
    from tests.ui.test_app_fonts import export_font_model
    _, side = export_font_model(tmp_path_factory.mktemp("fontmodel") / "fonts")
    return load_engine(side)


def test_font_models_map_fewer_faces_first(G, font_engine):
    assert LM.default_n(G) == LM.DEFAULT_N == 300
    assert LM.default_n(font_engine.G) == LM.DEFAULT_N_GLYPHS < LM.DEFAULT_N


def test_map_images_are_ag_and_handgloves_in_the_explorers_face_of_each_seed(font_engine):
    import io

    from PIL import Image

    from explorer.explore.preview import preview
    eng = font_engine
    ws, seeds, _ = LM.sample_ws(eng.G, 5, first_seed=20, psi=0.8)
    pics = LM.map_images(eng, ws, batch=2)                                 # batches of 2: batching changes nothing
    states = [LatentState(eng.name, "", seed=int(s), psi=0.8) for s in seeds]
    rendered = eng.render_states(states)
    for pngs, word, px in ((pics.thumbs, "Ag", LM.THUMB_PX), (pics.hovers, LM.HOVER_WORD, LM.HOVER_PX)):
        want = preview(rendered, eng, word)                               # what the explorer shows, as the word
        got = [np.asarray(Image.open(io.BytesIO(t))) for t in pngs]
        scale = -(-px // want.shape[1])                                    # upscaled to at least px high
        assert len(got) == 5 and got[0].shape[:2] == (want.shape[1] * scale, want.shape[2] * scale)
        for g, w in zip(got, want):
            assert np.abs(g.astype(int) - w[..., 0].repeat(scale, 0).repeat(scale, 1)).max() <= 1


# ----------------------------------------------------------------------------- the quiz names real typefaces

def test_quiz_names_real_faces_by_family_style_and_package(tmp_path):
    from explorer.data.datasets import ImageDataset
    from tests.explore.test_nearest import write_fonts_dataset
    assert Q.face_label({"family": "DejaVu Sans", "style": "Bold", "package": "fonts-dejavu-core"}) == \
        "DejaVu Sans Bold (fonts-dejavu-core)"
    assert Q.face_label({"family": "X *y*", "style": ""}) == "X *y*"           # kept as typed: the page escapes it
    assert Q.face_label({}) == "an unnamed face"
    folder = tmp_path / "fonts"
    stacks = write_fonts_dataset(folder, n_train=4, n_test=3)
    test = ImageDataset(torch.from_numpy(stacks[4:]), None, [], {"source": "fonts:test"})
    names = Q.face_names(test, folder)
    assert names == ["Test Family 0 Regular (fonts-test-0)", "Test Family 0 Bold (fonts-test-0)",
                     "Test Family 1 Regular (fonts-test-1)"]
    items = Q.make_round(test, lambda s, c: np.zeros((len(s), 8, 8, 1), np.uint8), n=6, seed=1, names=names)
    reals = [it for it in items if it.real]
    assert len(reals) == 3 and {it.origin for it in reals} == set(names)
    for it in reals:                                                     # each name is that very face's
        k = names.index(it.origin)
        assert np.array_equal(it.image, glyph_sheet(stacks[4 + k]))
    assert Q.face_names(ImageDataset(test.images[:2], None, [], {"source": "fonts:test"}), folder) is None   # size
    assert Q.face_names(test, tmp_path / "nowhere") is None
    assert Q.face_names(make_dataset(n=3), folder) is None                # not a fonts dataset
    plain = Q.make_round(make_dataset(n=6), lambda s, c: np.zeros((len(s), 32, 32, 1), np.uint8), n=4, seed=1)
    assert all(" image #" in it.origin for it in plain if it.real)       # other datasets: numbered as before
    with pytest.raises(ValueError, match="names"):
        Q.make_round(test, lambda s, c: np.zeros((len(s), 8, 8, 1), np.uint8), n=4, names=names[:2])


def test_a_colour_models_pictures_are_webp_and_greyscale_ones_png(tmp_path):
    import io

    from PIL import Image

    from explorer.explore.engine import load_engine
    from tests.factories import export_generator
    for ch, mime in ((3, "image/webp"), (1, "image/png")):
        _, side = export_generator(tmp_path / f"c{ch}", ch=ch)
        eng = load_engine(side)
        ws, _, _ = LM.sample_ws(eng.G, 3)
        pics = LM.map_images(eng, ws)
        assert len(pics.hovers) == len(pics.thumbs) == 3
        for b in pics.hovers:
            assert LM.data_uri(b).startswith(f"data:{mime};base64,")
            im = Image.open(io.BytesIO(b))
            assert im.size[1] >= LM.HOVER_PX and len(im.getbands()) == ch
