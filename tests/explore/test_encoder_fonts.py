"""A glyph-stack (fonts) model's encoder: `latent-explorer train-encoder` takes 62-channel stacks, fine-tunes
on the fonts dataset's train split (the held-out every-10th faces excluded), and the projector uses it."""

from __future__ import annotations

import json

from explorer.explore.encoder import load_encoder
from explorer.explore.inversion import ProjectConfig, Projector
from explorer.gan.device import load_generator
from tests.explore.test_nearest import write_fonts_dataset
from tests.factories import use_dirs
from tests.ui.test_app_fonts import export_font_model


def test_train_encoder_on_a_font_model_uses_the_fonts_train_split(tmp_path, monkeypatch, capsys) -> None:
    from explorer.cli import main
    _, side = export_font_model(tmp_path / "pre" / "fonts")
    use_dirs(monkeypatch, tmp_path)
    stacks = write_fonts_dataset(tmp_path / "data" / "datasets" / "fonts", n_train=4, n_test=2)
    assert main(["train-encoder", "fonts", "--minutes", "0.02", "--threads", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["encoder"] == str(side.with_name("fonts-encoder.json"))
    assert out["real_images"].startswith("fonts (3 images")                   # 4 train faces, index 0 held out
    G, meta = load_generator("fonts", "cpu")
    enc = load_encoder(meta)
    assert enc is not None and enc.cfg.channels == 62
    proj = Projector.for_model(G, meta)
    target = stacks[4, :, ::2, ::2].transpose(1, 2, 0).copy()                 # a test face at the model's 32 px
    r = proj.project(target, ProjectConfig(steps=2))
    assert r.start == "encoder" and r.image.shape == (32, 32, 62)
