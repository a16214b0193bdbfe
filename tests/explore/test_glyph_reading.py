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
