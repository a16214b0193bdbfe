"""The directions cache: entries on disk keyed by model, method, k and settings; names that persist."""

from __future__ import annotations

import json

import pytest
import torch

from explorer.explore import direction_cache as D
from tests.factories import tiny_generator


@pytest.fixture(scope="module")
def G():
    return tiny_generator(3)


def test_cache_hit_reads_disk(G, tmp_path, monkeypatch):
    meta = {"sha256": "ab" * 32}
    s = {"n_samples": 1000, "batch": 500}
    first = D.get_directions(G, meta, "pca", k=4, settings=s, cache_dir=tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and files[0].startswith("abababababababab-pca-k4-")
    assert {p.suffix for p in tmp_path.iterdir()} == {".json", ".safetensors"}

    def boom(*a, **k):
        raise AssertionError("recomputed instead of reading the cache")

    monkeypatch.setattr(D, "compute_directions", boom)
    second = D.get_directions(G, meta, "pca", k=4, settings=dict(s, seed=0), cache_dir=tmp_path)
    for f in ("vectors", "sigma", "explained"):
        assert torch.equal(getattr(first, f), getattr(second, f))
    assert second.seconds == first.seconds and second.settings == first.settings
    monkeypatch.undo()
    # another method, k or setting is another entry; a corrupt entry is recomputed, not fatal
    D.get_directions(G, meta, "sefa", k=4, settings={"sigma_samples": 100}, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 2
    entry = D.cache_path(meta, "pca", 4, s, tmp_path)
    entry.with_suffix(".safetensors").write_bytes(b"garbage")
    third = D.get_directions(G, meta, "pca", k=4, settings=s, cache_dir=tmp_path)
    assert torch.equal(third.vectors, first.vectors)
    assert json.loads(entry.read_text())["sha256"] != ""
    with pytest.raises(ValueError, match="unknown pca setting"):
        D.get_directions(G, meta, "pca", settings={"samples": 3}, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown direction method"):
        D.get_directions(G, meta, "ica", cache_dir=tmp_path)


def test_cache_without_sidecar_hash_uses_weights(G, tmp_path):
    d = D.get_directions(G, None, "sefa", k=2, settings={"sigma_samples": 50}, cache_dir=tmp_path)
    assert d.k == 2 and next(tmp_path.glob("*.json")).name.startswith(D.weights_hash(G)[:16])


def test_names_persist_per_model_and_method(G, tmp_path):
    meta = {"sha256": "cd" * 32}
    s = {"sigma_samples": 50}
    D.save_direction_names(meta, "sefa", ["stroke", "", "width"], cache_dir=tmp_path)
    d = D.get_directions(G, meta, "sefa", k=4, settings=s, cache_dir=tmp_path)
    assert d.names == ["stroke", "SeFa 1", "width", "SeFa 3"]
    D.save_direction_names(meta, "sefa", {3: "  tilt  ", 0: ""}, cache_dir=tmp_path)
    assert D.get_directions(G, meta, "sefa", k=4, settings=s, cache_dir=tmp_path).names == \
        ["SeFa 0", "SeFa 1", "width", "tilt"]
    assert D.get_directions(G, meta, "sefa", k=2, settings=s, cache_dir=tmp_path).names == ["SeFa 0", "SeFa 1"]
    assert D.load_direction_names(meta, "pca", 2, tmp_path) == ["PC 0", "PC 1"]
    assert D.load_direction_names({"sha256": "ef" * 32}, "sefa", 4, tmp_path)[3] == "SeFa 3"


def test_benchmark_returns_seconds(G):
    t = D.benchmark_directions(G, n_samples=500, k=4)
    assert set(t) == {"pca", "sefa"} and all(isinstance(v, float) and v >= 0 for v in t.values())


def test_glyph_stack_models_measure_fewer_samples_for_attribute_directions(monkeypatch):
    """A font model measures 62 glyphs per sample: its attribute directions default to fewer samples
    (explicit settings still win)."""
    import dataclasses

    from explorer.config import preset
    from explorer.explore import attribute_directions as AD
    from explorer.explore import direction_cache as DC
    from explorer.gan.generators import build_generator
    from tests.glyph_stacks import GLYPHS
    seen = []
    monkeypatch.setattr(AD, "attribute_directions", lambda G, meta, k, **s: seen.append(s["n_samples"]))
    glyphs = build_generator(dataclasses.replace(preset("tiny", 32, 1, 0, glyphs=GLYPHS).generator))
    grey = build_generator(preset("tiny", 32, 1, 0).generator)
    DC.compute_directions(glyphs, "attr", 4, None, None)
    DC.compute_directions(grey, "attr", 4, None, None)
    DC.compute_directions(glyphs, "attr", 4, {"n_samples": 100}, None)
    assert seen == [DC.GLYPH_STACK_ATTR_SAMPLES, DC.DEFAULTS["attr"]["n_samples"], 100]


def test_shipped_entries_are_read_when_the_user_cache_has_none(tmp_path, monkeypatch):
    from tests.factories import export_generator, use_dirs
    use_dirs(monkeypatch, tmp_path)
    pre = tmp_path / "pre"
    G, sidecar = export_generator(pre / "tiny")
    written = D.ship_directions(pre / "tiny.json", methods=("sefa",), k=3)
    assert [p.parent for p in written] == [pre / D.SHIPPED_SUBDIR]
    assert written[0].with_suffix(".safetensors").is_file()
    first = D.get_directions(G, json.loads(sidecar.read_text()), "sefa", k=3)
    for p in (tmp_path / "data" / "cache" / "directions").iterdir():      # a fresh machine: no user cache
        p.unlink()

    def boom(*a, **k):
        raise AssertionError("recomputed instead of reading the shipped entry")

    monkeypatch.setattr(D, "compute_directions", boom)
    again = D.get_directions(G, json.loads(sidecar.read_text()), "sefa", k=3)
    assert torch.equal(again.vectors, first.vectors)
    with pytest.raises(AssertionError, match="recomputed"):      # another model never reads these entries
        D.get_directions(G, {"sha256": "ef" * 32}, "sefa", k=3)


def test_a_models_own_default_is_part_of_the_cache_key(G, tmp_path, monkeypatch):
    from tests.ui.test_app_fonts import export_font_model
    meta = {"sha256": "12" * 32}
    glyphs, _ = export_font_model(tmp_path / "fonts")                      # a tiny glyph-stack model
    first = D.cache_path(meta, "attr", 8, D.model_settings(glyphs, "attr", None))
    monkeypatch.setattr(D, "GLYPH_STACK_ATTR_SAMPLES", 123)
    from explorer.data import glyphmetrics
    v = glyphmetrics.MEASURES_VERSION
    assert D.model_settings(glyphs, "attr", None) == {"n_samples": 123, "glyph_measures": v}
    second = D.cache_path(meta, "attr", 8, D.model_settings(glyphs, "attr", None))
    assert second != first                                                                  # recomputed
    monkeypatch.setattr(glyphmetrics, "MEASURES_VERSION", v + 1)           # the glyph measures changed
    assert D.cache_path(meta, "attr", 8, D.model_settings(glyphs, "attr", None)) not in (first, second)
    assert D.model_settings(glyphs, "attr", {"n_samples": 50})["n_samples"] == 50          # the user's wins
    assert D.model_settings(G, "attr", None) == {} and D.model_settings(glyphs, "pca", None) == {}


@pytest.mark.parametrize("model", ["fonts", "fashion-mnist", "emoji"])
def test_every_shipped_model_ships_its_current_directions(model):
    """The shipped models' first view computes nothing: each method's entry under the model's current
    default settings (glyph measures version included) is in pretrained/directions. Fails when a change
    of a default or of the measures was not followed by `ship_directions`."""
    from explorer.gan.device import load_generator
    from explorer.settings import pretrained_dir
    G, meta = load_generator(model, "cpu")
    for method in ("attr", "pca", "sefa"):
        j = D.cache_path(meta, method, 32, D.model_settings(G, method, None),
                         cache_dir=pretrained_dir() / D.SHIPPED_SUBDIR)
        assert j.is_file() and j.with_suffix(".safetensors").is_file(), f"{model} {method}: {j.name} not shipped"
        assert D._read_cached(j) is not None, f"{model} {method}: {j.name} unreadable or stale"
