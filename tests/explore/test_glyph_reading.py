"""The readability of one face: the glyph classifier reads each glyph, look-alikes merged."""

from __future__ import annotations

import numpy as np
import torch

from explorer.evaluation.classifier import ClassifierConfig, FashionClassifier, save_classifier
from explorer.explore import glyph_reading as GR
from tests.glyph_stacks import GLYPHS, render_stacks

CAP_I, LOW_L = GLYPHS.index("I"), GLYPHS.index("l")


def save_tiny_reader(stem) -> None:
    """An untrained 62-way glyph classifier with I and l merged, saved like the shipped one."""
    torch.manual_seed(0)
    model = FashionClassifier(ClassifierConfig(width=4, feature_dim=8, num_classes=62))
    groups = [[i] for i in range(62) if i not in (CAP_I, LOW_L)] + [[CAP_I, LOW_L]]
    save_classifier(model, stem, {"groups": groups}, class_names=list(GLYPHS))


def test_a_face_is_read_glyph_by_glyph_with_look_alikes_merged(tmp_path, monkeypatch):
    save_tiny_reader(tmp_path / "clf")
    reader = GR.load_reader(tmp_path / "clf")
    assert reader is not None and reader.glyphs == GLYPHS
    stack = render_stacks(1, res=32)[0].numpy()
    assert GR.read_face(stack, GLYPHS, reader).total == 62            # the real network runs on a real stack
    pred = torch.arange(62)
    pred[LOW_L] = CAP_I                      # l read as I: a look-alike, counts as read
    pred[GLYPHS.index("A")] = GLYPHS.index("B")
    pred[GLYPHS.index("7")] = GLYPHS.index("1")
    monkeypatch.setattr(GR, "predict", lambda model, stacks: (pred[None], None))
    r = GR.read_face(stack, GLYPHS, reader)
    assert (r.read, r.total, r.misread) == (60, 62, "A7") and abs(r.share - 60 / 62) < 1e-9


def test_no_reading_without_a_classifier_or_for_other_glyph_sets(tmp_path):
    assert GR.load_reader(tmp_path / "missing") is None
    (tmp_path / "bad.json").write_text("{not json")
    assert GR.load_reader(tmp_path / "bad") is None
    save_tiny_reader(tmp_path / "clf")
    reader = GR.load_reader(tmp_path / "clf")
    assert GR.read_face(np.zeros((26, 32, 32), np.uint8), GLYPHS[:26], reader) is None
    assert GR.read_face(np.zeros((62, 32), np.uint8), GLYPHS, reader) is None


def test_readable_seeds_keeps_the_faces_the_classifier_reads(tmp_path, monkeypatch):
    from explorer.explore.engine import load_engine
    from explorer.explore.latents import LatentState
    from tests.ui.test_app_fonts import export_font_model
    _, side = export_font_model(tmp_path / "fonts")
    eng = load_engine(side)
    save_tiny_reader(tmp_path / "clf")
    reader = GR.load_reader(tmp_path / "clf")
    state = LatentState("fonts", eng.meta["sha256"][:12], 0)
    seen = []
    rendered = eng.render_states

    def render(states):
        seen.extend(s.seed for s in states)
        return rendered(states)

    calls = []

    def read(stack, glyphs, r):                       # faces are read in seed order: every third seed reads
        assert stack.shape == (62, 32, 32)
        seed = seen[len(calls)]
        calls.append(seed)
        return GR.Reading(62 if seed % 3 == 0 else 10, 62, "")
    monkeypatch.setattr(eng, "render_states", render)
    monkeypatch.setattr(GR, "read_face", read)
    assert GR.readable_seeds(eng, state, 5, 4, reader, batch=5) == ([6, 9, 12, 15], 15)
    assert seen == list(range(5, 20))                  # scanned in batches of 5, stopped once 4 were found
    seen.clear()
    calls.clear()
    assert GR.readable_seeds(eng, state, 0, 12, reader, max_scan=7) == ([0, 3, 6], 7)
    other = GR.Reader(reader.model, reader.groups, GLYPHS[:26])
    assert GR.readable_seeds(eng, state, 0, 4, other) == ([], 0)
