"""README figures: direction strips and an interpolation strip, sized as promised."""

from __future__ import annotations

from PIL import Image

from explorer.explore.figures import AMOUNTS, write_figures
from tests.factories import tiny_generator


def test_write_figures(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(tmp_path / "data"))
    G = tiny_generator(2, "film", ch=3, w_avg=True)
    paths = write_figures(G, {"name": "t", "sha256": "ab" * 32}, tmp_path / "fig" / "t", k=2, seeds=(0, 1),
                          class_index=1)
    assert [p.name for p in paths] == ["t-pca.png", "t-sefa.png", "t-interpolation.png"]
    side = 32 * 2 + 2                                          # scaled 2x, 2 px padding
    pca = Image.open(paths[0])
    assert pca.height == 2 + 4 * side and pca.width == 90 + 2 + len(AMOUNTS) * side   # 2 directions x 2 seeds
    interp = Image.open(paths[2])
    assert interp.size == (2 + 10 * side, 2 + side)
