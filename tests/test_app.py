"""The Streamlit app through AppTest: it lists models, shows a model card and renders samples."""

from __future__ import annotations

from pathlib import Path

import torch
from streamlit.testing.v1 import AppTest

from explorer import checkpoint as ckpt
from explorer.config import preset
from explorer.models import build_generator

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


def test_models_page_lists_and_renders(tmp_path, monkeypatch):
    torch.manual_seed(0)
    G = build_generator(preset("tiny", 32, 1, 3).generator)
    ckpt.save_generator(tmp_path / "tiny-model", G, {"class_names": ["a", "b", "c"],
                                                      "model_card": "A **tiny** test model."})
    monkeypatch.setenv("LATENT_EXPLORER_PRETRAINED", str(tmp_path))
    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(tmp_path / "data"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.selectbox(key="model").options == ["tiny-model (pretrained)"]
    assert any("tiny" in m.value for m in at.markdown)
    at.number_input(key="seed").set_value(5).run()
    at.slider(key="psi").set_value(0.5).run()
    assert not at.exception
    images = at.get("image")
    assert len(images) == 1 and "seed 5, ψ 0.5" in str(images[0].proto)


def test_no_models_gives_a_message(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_PRETRAINED", str(tmp_path))
    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(tmp_path / "data"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "No models found" in at.warning[0].value
