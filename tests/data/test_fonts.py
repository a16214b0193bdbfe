"""The typefaces dataset: rendering geometry, drop reasons, split, storage, measures, package fetching.

Real faces come from Debian's fonts-dejavu-core (run.sh installs it); blank, box, repeated and broken
fonts are made here with fontTools' FontBuilder. Everything runs offline in well under a minute.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.data import fontfetch, fontfilter, fontrender, fonts, fontstore, glyphmetrics
from explorer.data.glyphmetrics import CHARS

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
CORE = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
        "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf"]
needs_dejavu = pytest.mark.skipif(not (DEJAVU / "DejaVuSans.ttf").is_file(),
                                  reason="fonts-dejavu-core not installed (bash run.sh setup installs it)")


def make_font(path: Path, shapes: dict[str, list[tuple[int, int, int, int]]], notdef: list[tuple[int, int, int, int]],
              family: str = "Test Face") -> Path:
    """A TrueType font whose glyphs are unions of rectangles (x0, y0, x1, y1) in 1000-unit em; a char mapped
    to [] draws nothing. Characters not in `shapes` are absent from the cmap."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    def glyph(rects: list[tuple[int, int, int, int]]):
        pen = TTGlyphPen(None)
        for x0, y0, x1, y1 in rects:
            pen.moveTo((x0, y0))
            pen.lineTo((x0, y1))
            pen.lineTo((x1, y1))
            pen.lineTo((x1, y0))
            pen.closePath()
        return pen.glyph()

    names = [".notdef"] + [f"g{ord(c)}" for c in shapes]
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap({ord(c): f"g{ord(c)}" for c in shapes})
    fb.setupGlyf({".notdef": glyph(notdef), **{f"g{ord(c)}": glyph(r) for c, r in shapes.items()}})
    rects = {".notdef": notdef, **{f"g{ord(c)}": r for c, r in shapes.items()}}
    fb.setupHorizontalMetrics({n: (600, min((r[0] for r in rects[n]), default=0)) for n in names})  # lsb = xMin
    fb.setupHorizontalHeader(ascent=900, descent=-200)
    fb.setupNameTable({"familyName": family, "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=900, usWinAscent=900, usWinDescent=200, usWeightClass=400)
    fb.setupPost()
    fb.save(str(path))
    return path


def letter_rects(k: int) -> list[tuple[int, int, int, int]]:
    """Distinct, non-blank shapes per character index k (a stem plus a bar at a k-dependent height)."""
    return [(100, 0, 180, 700), (100, 60 + 9 * k, 500, 120 + 9 * k)]


BOX = [(50, 0, 550, 700), (100, 50, 500, 650)]


def test_box_and_blank_and_repeated_fonts_are_rejected(tmp_path):
    blank = make_font(tmp_path / "blank.ttf", {c: ([] if c in "ab" else letter_rects(k)) for k, c in enumerate(CHARS)},
                      notdef=[])
    with pytest.raises(fontrender.FaceRejected) as e:
        fontrender.render_face(blank)
    assert e.value.reason == "blank glyphs" and e.value.detail == "ab"
    boxed = make_font(tmp_path / "box.ttf", {c: (BOX if c in "xyz" else letter_rects(k)) for k, c in enumerate(CHARS)},
                      notdef=BOX)
    with pytest.raises(fontrender.FaceRejected) as e:
        fontrender.render_face(boxed)
    assert e.value.reason == "notdef boxes" and e.value.detail == "xyz"
    same = make_font(tmp_path / "same.ttf", {c: (BOX if c in "pqrs" else letter_rects(k)) for k, c in enumerate(CHARS)},
                     notdef=[])
    with pytest.raises(fontrender.FaceRejected) as e:
        fontrender.render_face(same)
    assert e.value.reason == "repeated glyphs" and e.value.detail == "pqrs"
    partial = make_font(tmp_path / "caps.ttf", {c: letter_rects(k) for k, c in enumerate(CHARS) if c.isupper()},
                        notdef=BOX)
    with pytest.raises(fontrender.FaceRejected) as e:
        fontrender.render_face(partial)
    assert e.value.reason == "missing glyphs" and e.value.detail.startswith("abc")


def test_synthetic_font_renders_on_the_common_scale_and_baseline(tmp_path):
    ok = make_font(tmp_path / "ok.ttf", {c: letter_rects(k) for k, c in enumerate(CHARS)}, notdef=BOX)
    r = fontrender.render_face(ok)
    assert r.glyphs.shape == (62, 64, 64) and r.glyphs.dtype == np.uint8
    rows = np.flatnonzero(r.glyphs[CHARS.index("H")].max(1) >= 128)
    assert rows[-1] == fontrender.BASELINE - 1                           # sits on the baseline
    assert abs(len(rows) - fontrender.CAP_PX) <= 1                       # cap height 700 units -> 32 px
    cols = np.flatnonzero(r.glyphs[CHARS.index("H")].max(0) >= 128)
    assert abs((cols[0] + cols[-1] + 1) / 2 - 32) <= 0.5                 # centred by its ink
    assert r.fit_scale == 1.0
    np.testing.assert_allclose(r.advance, 600 * r.ppem / 1000, rtol=1e-3)
    # the pen origin lies left of the ink by the left side bearing (100 units)
    np.testing.assert_allclose(cols[0] - r.origin_x[CHARS.index("H")], 100 * r.ppem / 1000, atol=0.6)
    assert r.meta["family"] == "Test Face" and r.meta["us_weight_class"] == 400


@needs_dejavu
def test_dejavu_faces_share_cap_height_and_baseline():
    for name in ("DejaVuSans.ttf", "DejaVuSerif-Bold.ttf"):
        r = fontrender.render_face(DEJAVU / name)
        h = r.glyphs[CHARS.index("H")]
        rows = np.flatnonzero(h.max(1) >= 128)
        assert rows[-1] == fontrender.BASELINE - 1 and abs(len(rows) - 32) <= 1
        g_rows = np.flatnonzero(r.glyphs[CHARS.index("g")].max(1) >= 128)
        assert g_rows[-1] > fontrender.BASELINE + 4                      # descender below the baseline
        assert r.meta["format"] == "TrueType" and r.meta["panose"] is not None
    assert fontrender.render_face(DEJAVU / "DejaVuSans-Bold.ttf").meta["us_weight_class"] == 700


@needs_dejavu
def test_measures_order_faces_sensibly():
    sans, bold, serif, mono = (fontrender.render_face(DEJAVU / n).glyphs for n in
                               ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf"))
    a = glyphmetrics.face_attributes(np.stack([sans, bold, serif, mono]))
    assert set(a) == set(glyphmetrics.ATTRIBUTES) and all(v.shape == (4,) for v in a.values())
    assert a["stroke_width"][1] > 1.3 * a["stroke_width"][0]             # bold strokes are thicker
    assert abs(a["slant"][0]) < 2.0
    assert 0.6 < a["x_height_ratio"][0] < 0.85
    assert 0.8 < a["contrast"][0] < a["contrast"][2]                      # serif has more thick/thin contrast
    # a sheared copy (top moved right) measures as slanted, and one face measures as in the batch
    sheared = np.stack([np.stack([np.roll(g[y], (63 - y) // 5) for y in range(64)]) for g in sans])
    s = glyphmetrics.face_attributes(sheared)
    assert s["slant"][0] > 5.0
    np.testing.assert_allclose(glyphmetrics.face_attributes(sans)["width"], a["width"][:1])
    spread = glyphmetrics.attribute_spread(torch.from_numpy(np.stack([sans, bold])).float() / 255)
    assert spread["stroke_width"].shape == (2,) and np.isfinite(spread["stroke_width"]).all()
    # the generic image measures per glyph cell: slanting a face breaks its mirror symmetry, serifs add
    # edges, bold glyphs are wider for their height
    c = glyphmetrics.face_attributes(np.stack([sans, bold, serif, mono, sheared]), cells=True)
    assert set(c) == set(glyphmetrics.ATTRIBUTES) | set(glyphmetrics.CELL_ATTRIBUTES)
    np.testing.assert_allclose([c[k][:4] for k in glyphmetrics.ATTRIBUTES], [a[k] for k in glyphmetrics.ATTRIBUTES])
    assert c["symmetry"][4] < c["symmetry"][0] - 0.05 and 0.5 < c["symmetry"][0] < 1.0
    assert all(0 < e < 0.2 for e in c["edges"]) and c["edges"][2] > 1.1 * c["edges"][0]
    assert c["aspect"][1] > c["aspect"][0] + 0.1
    with pytest.raises(ValueError):
        glyphmetrics.face_attributes(np.zeros((10, 64, 64), np.uint8))


@needs_dejavu
def test_symbol_fonts_score_low_on_letter_reading():
    faces = [fontrender.render_face(DEJAVU / n).glyphs for n in CORE]
    rng = np.random.default_rng(0)
    shuffled = faces[0][rng.permutation(62)]                              # letters drawn as other glyphs
    half = faces[1].copy()
    half[26:52] = np.roll(half[26:52], 7, axis=0)                         # capitals fine, lowercase a->h, b->i ...
    shapes = np.stack([fontfilter.shape_features(g) for g in [*faces, shuffled, half]])
    assert shapes.shape == (8, 62, 2, 16, 16)
    scores = fontfilter.letter_scores(shapes)
    assert (scores[:6] > 0.8).all()
    assert scores[6, 0] < fontfilter.SYMBOL_MIN_ACCURACY
    assert scores[7, 0] > fontfilter.SYMBOL_MIN_ACCURACY and scores[7, 2] < fontfilter.CASE_MIN_ACCURACY
    assert fontfilter.is_symbol(scores).tolist() == [False] * 6 + [True, True]
    assert fontfilter.lookalike_key("O") == fontfilter.lookalike_key("0") == "o"


def make_package(root: Path, pkg: str, files: dict[str, Path | bytes], licence: str = "OFL-1.1") -> Path:
    """An unpacked-package folder with font files and a DEP-5 copyright file."""
    folder = root / pkg
    for rel, src in files.items():
        dest = folder / "usr/share/fonts/truetype" / pkg / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(src, bytes):
            dest.write_bytes(src)
        else:
            shutil.copyfile(src, dest)
    doc = folder / "usr/share/doc" / pkg
    doc.mkdir(parents=True, exist_ok=True)
    (doc / "copyright").write_text(f"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
                                   f"Files: *\nCopyright: someone\nLicense: {licence}\n\n"
                                   f"Files: debian/*\nLicense: GPL-2+\n", encoding="utf-8")
    return folder


@needs_dejavu
def test_build_drops_with_reasons_splits_by_family_and_loads(tmp_path):
    from fontTools.ttLib import TTFont

    renamed = tmp_path / "renamed.ttf"                     # same glyphs, other bytes: a near-duplicate
    tt = TTFont(str(DEJAVU / "DejaVuSans.ttf"))
    tt["name"].setName("DejaVu Sans Copy", 1, 3, 1, 0x409)
    tt.save(str(renamed))
    blank = make_font(tmp_path / "blank.ttf", {c: ([] if c == "q" else letter_rects(k)) for k, c in enumerate(CHARS)},
                      notdef=[])
    good = make_package(tmp_path / "pkgs", "fonts-good", {n: DEJAVU / n for n in CORE})
    odd = make_package(tmp_path / "pkgs", "fonts-odd", {
        "DejaVuSans.ttf": DEJAVU / "DejaVuSans.ttf",       # byte-identical to fonts-good's
        "renamed.ttf": renamed, "blank.ttf": blank,
        "broken.ttf": b"not a font at all", "truncated.otf": (DEJAVU / "DejaVuSerif.ttf").read_bytes()[:3000]},
        licence="GPL-2+ with font exception")
    srcs = fonts.sources_from_packages({"fonts-good": good, "fonts-odd": odd})
    out = tmp_path / "ds"
    lines: list[str] = []
    summary = fonts.build_from_sources(srcs, out, progress=lines.append)
    assert lines and summary["kept"] == len(CORE)
    assert summary["dropped"] == {"broken file": 2, "duplicate file": 1, "blank glyphs": 1, "duplicate": 1}
    report = json.loads((out / "report.json").read_text())
    why = {Path(d["file"]).name: (d["reason"], d["detail"]) for d in report["dropped_faces"]}
    assert why["blank.ttf"] == ("blank glyphs", "q") and why["renamed.ttf"][0] == "duplicate"
    assert why["broken.ttf"][0] == why["truncated.otf"][0] == "broken file"
    assert why["DejaVuSans.ttf"] == ("duplicate file", "fonts-good/usr/share/fonts/truetype/fonts-good/DejaVuSans.ttf")

    train, test = fontstore.load_fonts("train", out), fontstore.load_fonts("test", out)
    assert len(train) + len(test) == len(CORE) and len(test) > 0
    assert train.glyphs.shape[1:] == (62, 64, 64) and train.glyphs.dtype == torch.uint8
    assert train.advance.shape == (len(train), 62) and train.attributes.shape == (len(train), 5)
    assert not {f["family"] for f in train.faces} & {f["family"] for f in test.faces}
    for fs in (train, test):
        totals = torch.zeros(len(fs.families)).index_add_(0, fs.family_index, fs.family_weight)
        torch.testing.assert_close(totals, torch.ones(len(fs.families)))     # each family weighs 1
    face = train.faces[0]
    assert face["licence"] == "OFL-1.1" and face["package"] == "fonts-good"
    assert face["file"].startswith("usr/share/fonts/truetype/fonts-good/")
    assert {"us_weight_class", "us_width_class", "italic_angle", "fs_selection", "panose", "attributes"} <= set(face)
    idx = fontstore.sample_faces(train, 400, torch.Generator().manual_seed(0))
    fam_share = torch.bincount(train.family_index[idx], minlength=len(train.families)).float() / 400
    assert fam_share.min() > 0.6 / len(train.families)                    # families, not faces, equally likely
    assert fontstore.read_meta(out)["cap_height_px"] == fontrender.CAP_PX

    # a rebuild interrupted between the weights and fonts.json is detected, not silently mixed
    meta = json.loads((out / "fonts.json").read_text())
    meta["build_id"] = "other"
    (out / "fonts.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="another build"):
        fontstore.load_fonts("train", out)


def test_family_split_is_deterministic_and_near_ten_percent():
    names = [f"Family {i}" for i in range(2000)]
    test = [n for n in names if fonts.family_split(n) == "test"]
    assert 150 < len(test) < 250
    assert fonts.family_split("Noto Sans") == fonts.family_split("  noto sans ")


def test_licence_from_copyright_and_texlive_lists(tmp_path):
    folder = make_package(tmp_path, "fonts-x", {}, licence="OFL-1.1")
    assert fontfetch.package_licence(folder, "fonts-x", "usr/share/fonts/truetype/fonts-x/A.ttf") == "OFL-1.1"
    assert fontfetch.package_licence(tmp_path / "none", "fonts-none", "a.ttf") == ""
    import gzip
    doc = tmp_path / "tl/usr/share/doc/texlive-x"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text("TeX Live: many licences\n", encoding="utf-8")
    (doc / "Licenses.gz").write_bytes(gzip.compress(b"Licenses for source package texlive-x\n\n"
                                                    b"foo: ofl\ntexmf-dist/fonts/type1/public/foo/*\n"
                                                    b"bar: lppl\ntexmf-dist/fonts/type1/public/bar/*\n"))
    rel = "usr/share/texlive/texmf-dist/fonts/type1/public/bar/bar10.pfb"
    assert fontfetch.package_licence(tmp_path / "tl", "texlive-x", rel) == "lppl"


def test_fetch_without_apt_lists_reports_and_skips(tmp_path, monkeypatch):
    monkeypatch.setattr(fontfetch, "APT_LISTS", tmp_path / "no-lists")
    lines: list[str] = []
    folders, failed = fontfetch.fetch_packages(["fonts-nothing-here"], tmp_path / "cache", lines.append)
    assert folders == {} and "apt-get update" in failed["fonts-nothing-here"]
    assert fontfetch.read_package_list(fonts.PACKAGE_LISTS[False])[0].startswith("fonts-")
    assert len(fontfetch.read_package_list(fonts.PACKAGE_LISTS[True])) > 100


@needs_dejavu
@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb (Debian)")
def test_build_fonts_from_a_local_deb_reuses_the_unpacked_folder(tmp_path, monkeypatch):
    pkg = tmp_path / "src"
    (pkg / "DEBIAN").mkdir(parents=True)
    (pkg / "DEBIAN/control").write_text("Package: fonts-local\nVersion: 1.0\nArchitecture: all\n"
                                        "Maintainer: t <t@example.org>\nDescription: test fonts\n", encoding="utf-8")
    make_package(pkg.parent, "src", {n: DEJAVU / n for n in CORE[:4]})
    cache = tmp_path / "cache"
    (cache / "debs").mkdir(parents=True)
    subprocess.run(["dpkg-deb", "--build", str(pkg), str(cache / "debs/fonts-local_1.0_all.deb")], check=True,
                   capture_output=True)
    monkeypatch.setattr(fontfetch, "APT_LISTS", tmp_path / "no-lists")   # never reaches the network
    summary = fonts.build_fonts(out=tmp_path / "ds", packages=["fonts-local", "fonts-missing"], cache=cache,
                                progress=lambda m: None)
    assert summary["kept"] == 4 and summary["packages"] == {"fonts-local": "fonts-local_1.0_all.deb"}
    assert "fonts-missing" in summary["packages_failed"]
    marker = cache / "pkgs/fonts-local/.deb"
    stamp = marker.stat().st_mtime_ns
    fontfetch.fetch_packages(["fonts-local"], cache, lambda m: None)
    assert marker.stat().st_mtime_ns == stamp                           # reused, not unpacked again


def test_cli_datasets_fonts_explains_missing_apt_lists(tmp_path, monkeypatch, capsys):
    from explorer.cli import main

    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(tmp_path))
    monkeypatch.setattr(fontfetch, "APT_LISTS", tmp_path / "no-lists")
    assert main(["datasets", "fonts", "--limit-packages", "1", "--out", str(tmp_path / "ds")]) == 2
    err = capsys.readouterr().err
    assert "fonts-3270" in err and "apt-get update" in err


def test_contrast_spread_is_on_a_log_scale(monkeypatch):
    # thick/thin ratios: O 2:1 with o 4:1 is as inconsistent as 1:1 with 2:1; a zero ratio is left out
    co = np.full((3, 62), np.nan, np.float32)
    co[:, :2] = [[2.0, 4.0], [1.0, 2.0], [0.0, 3.0]]
    flat = np.ones((3, 62), np.float32)
    monkeypatch.setattr(glyphmetrics, "glyph_attributes",
                        lambda stack: {"stroke_width": flat, "slant": flat, "contrast": co.copy()})
    spread = glyphmetrics.attribute_spread(np.zeros((3, 62, 8, 8), np.uint8))
    np.testing.assert_allclose(spread["contrast"][:2], [np.log(2) / 2] * 2, rtol=1e-6)
    assert spread["contrast"][2] == 0.0                      # one defined glyph: no spread
    np.testing.assert_allclose(spread["stroke_width"], 0.0)


def test_slant_and_heights_match_their_pixel_definitions():
    # the torch moment formulation (glyphmetrics._slant) against the definition written out per pixel
    rng = np.random.default_rng(3)
    ink = (rng.random((3, 4, 64, 64)) ** 3).astype(np.float32)
    ink[0, 1] = 0.0                                                       # a blank glyph: NaN, not a crash
    yy, xx = np.mgrid[0:64, 0:64].astype(np.float64)
    y_up = -yy
    want = np.full((3, 4), np.nan)
    for n in range(3):
        for g in range(4):
            w = ink[n, g].astype(np.float64)
            if w.sum() == 0:
                continue
            mx, my = (w * xx).sum() / w.sum(), (w * y_up).sum() / w.sum()
            want[n, g] = np.degrees(np.arctan((w * (xx - mx) * (y_up - my)).sum() / (w * (y_up - my) ** 2).sum()))
    np.testing.assert_allclose(glyphmetrics._slant(ink), want, atol=1e-4)
    want_h = np.zeros((3, 4))
    for n in range(3):
        for g in range(4):
            p = np.concatenate([[0.0], ink[n, g].max(-1).astype(np.float64), [0.0]])   # rows, zero outside
            on = np.nonzero(p >= 0.5)[0]
            if len(on):
                i, j = on[0], on[-1]
                left = (i - 1) + (0.5 - p[i - 1]) / (p[i] - p[i - 1])     # where the profile crosses 0.5
                right = j + (p[j] - 0.5) / (p[j] - p[j + 1])
                want_h[n, g] = right - left
    np.testing.assert_allclose(glyphmetrics.ink_heights(ink), want_h, atol=1e-4)


def test_cell_measures_match_their_pixel_definitions_and_ignore_where_a_glyph_sits():
    rng = np.random.default_rng(5)
    ink = np.zeros((2, 62, 32, 32), np.float32)
    ink[:, :, 4:28, 6:20] = rng.random((2, 62, 24, 14)) ** 2                # glyphs left of the cell's centre
    ink[0, 0] = 0.0                                                       # a blank A: left out of the means
    per = glyphmetrics.glyph_attributes(ink, cells=True)
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float64)
    for n, ch in ((1, "A"), (1, "H"), (0, "O"), (0, "R")):
        g = CHARS.index(ch)
        w = ink[n, g].astype(np.float64)
        mx, my = (w * xx).sum() / w.sum(), (w * yy).sum() / w.sum()
        vx, vy = (w * (xx - mx) ** 2).sum() / w.sum(), (w * (yy - my) ** 2).sum() / w.sum()
        assert per["aspect"][n, g] == pytest.approx(0.5 * np.log((vx + 0.25) / (vy + 0.25)), abs=1e-4)
        gx, gy = w[:-1, 1:] - w[:-1, :-1], w[1:, :-1] - w[:-1, :-1]
        assert per["edges"][n, g] == pytest.approx(np.hypot(gx, gy).sum() / 31 ** 2, rel=1e-4)
        if ch not in glyphmetrics.SLANT_GLYPHS:                           # symmetry: upright-symmetric glyphs only
            assert np.isnan(per["symmetry"][n, g])
            continue
        axis2 = int(np.round(2 * mx))                                     # mirror x -> axis2 - x
        mirror = np.zeros_like(w)
        for x in range(32):
            if 0 <= axis2 - x < 32:
                mirror[:, x] = w[:, axis2 - x]
        want = 1 - np.abs(w - mirror).sum() / (w + mirror).sum()
        assert per["symmetry"][n, g] == pytest.approx(want, abs=1e-4)
    assert np.isnan(per["symmetry"][0, 0]) and per["edges"][0, 0] == 0
    face = glyphmetrics.face_attributes(ink, cells=True)
    sym = glyphmetrics._idx(glyphmetrics.SLANT_GLYPHS)[1:]                # without the blank A
    assert face["symmetry"][0] == pytest.approx(per["symmetry"][0, sym].mean(), rel=1e-5)
    assert face["edges"][0] == pytest.approx(per["edges"][0, 1:].mean(), rel=1e-5)
    assert face["aspect"][0] == pytest.approx(per["aspect"][0, 1:].mean(), rel=1e-5)
    bar = np.zeros((1, 62, 32, 32), np.float32)
    bar[:, :, 4:28, 3:9] = 1.0                                            # an upright bar, off-centre
    moved = np.roll(bar, 15, axis=-1)
    for b in (bar, moved):
        f = glyphmetrics.face_attributes(b, cells=True)
        assert f["symmetry"][0] == pytest.approx(1.0) and f["aspect"][0] < -1.0


def test_extents_are_subpixel_and_agree_with_pixel_counts_on_hard_edges():
    ink = np.zeros((1, 62, 16, 16), np.float32)
    ink[0, :, 4:12, 3:9] = 1.0                               # hard edges: 8 rows, 6 columns
    np.testing.assert_allclose(glyphmetrics.ink_heights(ink), 8.0)
    np.testing.assert_allclose(glyphmetrics.ink_widths(ink), 6.0)
    ink[0, :, 4:12, 9] = 0.75                                # a partly inked column beside them
    widths = glyphmetrics.ink_widths(ink)
    np.testing.assert_allclose(widths, 9 + 0.25 / 0.75 - 2.5, atol=1e-5)   # right end: 0.5 between 0.75 and 0
    ink[0, :, 4:12, 9] = 0.25                                # below the threshold, still moves the edge
    np.testing.assert_allclose(glyphmetrics.ink_widths(ink), 8 + 0.5 / 0.75 - 2.5, atol=1e-5)
    assert glyphmetrics.ink_widths(np.zeros((1, 62, 8, 8), np.float32)).max() == 0.0   # blank: 0


def test_specks_are_left_out_of_the_extents_but_close_or_long_runs_count():
    ink = np.zeros((1, 62, 32, 32), np.float32)
    ink[0, :, 8:24, 10:20] = 1.0                             # every glyph: a 16 x 10 block
    clean = glyphmetrics.face_attributes(ink)
    ink[0, :, 1, 25:27] = 0.6                                # a speck far above and right of it
    ink[0, :, 0:3, 24:28] = np.maximum(ink[0, :, 0:3, 24:28], 0.3)          # with a faint rim
    idx = glyphmetrics._idx(glyphmetrics.EXTENT_GLYPHS)
    np.testing.assert_allclose(glyphmetrics.ink_heights(ink, specks=False)[0, idx], 16.0)   # speck and rim gone
    np.testing.assert_allclose(glyphmetrics.ink_widths(ink, specks=False)[0, idx], 10.0)
    assert glyphmetrics.ink_heights(ink)[0, idx].min() > 20                 # ... which the raw extent counts
    assert glyphmetrics.ink_heights(ink, specks=False)[0, glyphmetrics.CHARS.index("i")] > 20   # other glyphs: raw
    for k in ("width", "x_height_ratio"):                   # extents: as without the speck (stroke counts all ink)
        np.testing.assert_allclose(glyphmetrics.face_attributes(ink)[k], clean[k], rtol=1e-6)
    assert glyphmetrics.cap_height(ink)[0] == 16.0
    # profiles: runs of values >= 0.5; a short run is a speck only when more than 2 positions without ink
    # part it from every run at least a quarter as long as the longest
    p = np.zeros((5, 40), np.float32)
    p[:, 10:30] = 1.0
    p[0, 32:34] = 0.9                                        # 2 positions away: kept
    p[1, 33:35] = 0.9                                        # 3 positions away: a speck (and its rim)
    p[2, 0:6] = 0.9                                          # far, but 6 of 20 long (>= 1/4): kept
    p[3, 0] = 0.6                                            # in the border, far: a speck
    p[3, 39] = 0.6
    mask = glyphmetrics.profile_specks(p)
    assert not mask[0].any() and not mask[2].any() and not mask[4].any()
    assert mask[1].tolist() == [i in range(32, 36) for i in range(40)]
    assert mask[3].tolist() == [i in (0, 1, 38, 39) for i in range(40)]
    assert not glyphmetrics.profile_specks(np.zeros((2, 3, 8), np.float32)).any()   # blank: no specks


def test_cli_datasets_fonts_builds_the_nearest_fonts_index_with_the_set(tmp_path, monkeypatch, capsys):
    """The Font panel's "nearest real fonts" needs an index of the train split (7.5 s for the full set):
    built with the dataset, so no designer waits for it on a first view."""
    from explorer.cli import main
    from explorer.explore import nearest
    from tests.explore.test_nearest import write_fonts_dataset

    def fake_build(out, **_):                                           # the packages: a tiny set of Pillow faces
        write_fonts_dataset(Path(out))
        return {"kept": 8, "families": 4, "splits": {"train": 6, "test": 2}, "dropped": {}, "out": str(out),
                "seconds": 0.1}
    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(tmp_path))
    monkeypatch.setattr(fonts, "build_fonts", fake_build)
    assert main(["datasets", "fonts", "--out", str(tmp_path / "ds")]) == 0
    assert "nearest-fonts index" in capsys.readouterr().out
    assert (tmp_path / "ds" / f"nearest-{nearest.POOL}.safetensors").is_file()
