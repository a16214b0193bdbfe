"""The `font-views` part of `latent-explorer bench` runs on a tiny font model and reports every step of the
latent map's first view and of a word morph's export (no timing is asserted: the figures are printed)."""

from __future__ import annotations

from explorer.bench.font_views_bench import font_views_bench
from explorer.bench.speed import EXTRA_PARTS
from tests.factories import use_dirs
from tests.ui.test_app_fonts import export_font_model


def test_font_views_bench_reports_the_latent_map_and_the_word_morph_export(tmp_path, monkeypatch):
    export_font_model(tmp_path / "pre" / "fonts")
    use_dirs(monkeypatch, tmp_path)
    said: list[str] = []
    out = font_views_bench(said.append)
    assert "font-views" in EXTRA_PARTS and out["model"] == "pretrained/fonts" and out["threads"] == 1 and said
    lm = out["latent_map"]
    assert lm["n"] == 150
    for view in ("cold", "warm"):
        names = {"sample_s", "project_s", "images_s", "chart_s", "picked_point_s"}
        assert set(lm[view]) == names | {"cpu_" + k for k in names} | {"total_s", "cpu_total_s"}
        assert lm[view]["total_s"] >= max(lm[view][k] for k in names) > 0 and lm[view]["cpu_total_s"] > 0
    wm = out["word_morph"]
    assert (wm["frames"], wm["height_px"]) == (48, 256)
    assert all(wm[k] > 0 for k in ("path_render_s", "word_frames_s", "gif_s", "mp4_s", "cpu_mp4_s", "mp4_total_s"))
