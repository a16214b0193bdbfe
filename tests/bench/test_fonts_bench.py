"""The `fonts` part of `latent-explorer bench` runs on a tiny font model and reports every figure (no timing
is asserted: the figures are printed)."""

from __future__ import annotations

from explorer.bench.fonts_bench import fonts_bench
from tests.factories import use_dirs
from tests.ui.test_app_fonts import export_font_model


def test_fonts_bench_reports_render_specimen_and_export(tmp_path, monkeypatch):
    export_font_model(tmp_path / "pre" / "fonts")
    use_dirs(monkeypatch, tmp_path)
    said: list[str] = []
    out = fonts_bench(said.append, reps=3, export_reps=1)
    assert out["model"] == "pretrained/fonts" and out["threads"] == 1 and said
    for part in ("face_render_batch1", "face_render_app_path", "specimen_40_chars"):
        assert out[part]["n"] == 3 and out[part]["p50_ms"] > 0 and out[part]["p95_ms"] >= out[part]["p50_ms"]
    assert out["face_render_batch1"]["target_ms"] == 20.0
    assert out["font_export"]["generated_face_s"] > 0 and out["font_export"]["target_s"] == 3.0
