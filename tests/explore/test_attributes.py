"""Measured attributes and the directions fitted to them, on images and generators built by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.explore import direction_cache as cache
from explorer.explore.attribute_directions import attribute_directions, fit_all
from explorer.explore.attributes import image_attributes, measurer_for
from explorer.explore.direction_signs import align_signs, skew_signs
from explorer.explore.ganspace import pca_directions
from tests.explore.planted import PlantedGenerator, block_measurer, units


def canvas(n: int = 1, size: int = 32, ch: int = 1, bg: int = 0) -> np.ndarray:
    return np.full((n, size, size, ch), bg, dtype=np.uint8)


def test_image_attributes_measure_what_they_say():
    small, big = canvas(), canvas()
    small[0, 12:20, 12:20] = 255
    big[0, 4:28, 4:28] = 255
    a, b = image_attributes(small), image_attributes(big)
    assert b["coverage"][0] > a["coverage"][0] and b["brightness"][0] > a["brightness"][0]
    assert abs(a["coverage"][0] - 64 / 1024) < 1e-6
    wide, tall = canvas(), canvas()
    wide[0, 14:18, 4:28] = 255
    tall[0, 4:28, 14:18] = 255
    assert image_attributes(wide)["aspect"][0] > 1 > -1 > image_attributes(tall)["aspect"][0]
    left = canvas()
    left[0, 10:20, 2:12] = 255
    assert a["symmetry"][0] > 0.99 and image_attributes(left)["symmetry"][0] < 0.1
    checker = canvas()
    checker[0, ::2, ::2] = 255
    assert image_attributes(checker)["edges"][0] > 3 * a["edges"][0]
    # dark ink on white measures like light ink on black
    inverse = 255 - small
    assert abs(image_attributes(inverse)["coverage"][0] - a["coverage"][0]) < 1e-9
    assert "saturation" not in a


def test_colour_attributes_hue_is_circular_and_saturation_greyless():
    def square(rgb: tuple[int, int, int]) -> dict[str, np.ndarray]:
        im = canvas(ch=3, bg=255)
        im[0, 8:24, 8:24] = rgb
        return image_attributes(im)
    red, cyan, green, blue, grey = (square(c) for c in
                                    [(255, 0, 0), (0, 255, 255), (0, 255, 0), (0, 0, 255), (90, 90, 90)])
    assert red["hue_red"][0] > 0.5 and cyan["hue_red"][0] < -0.4 and abs(red["hue_green"][0]) < 1e-6
    assert green["hue_green"][0] > 0.5 and blue["hue_green"][0] < -0.5
    assert red["saturation"][0] > 0.99 and grey["saturation"][0] < 1e-6
    assert abs(grey["hue_red"][0]) < 1e-6 and abs(grey["hue_green"][0]) < 1e-6
    with pytest.raises(ValueError, match="N, H, W, C"):
        image_attributes(np.zeros((4, 4), np.uint8))


def test_planted_brightness_direction_is_found():
    """Brightness of the planted generator is linear in w . (u0 + u1): its direction must be found."""
    u = units(16, 0.0)
    G = PlantedGenerator(u)
    d = attribute_directions(G, None, n_samples=800, seed=0)
    i = d.names.index("brightness")
    want = (u[0] + u[1]) / (u[0] + u[1]).norm()
    assert float(d.vectors[i] @ want) >= 0.95                    # sign: + means brighter
    assert d.explained[i] > 0.9 and d.settings["metric"][i] == "r2"
    assert d.method == "attr" and d.vectors.shape == (len(d.names), 16)
    assert torch.allclose(d.vectors[torch.isfinite(d.explained)].norm(dim=1), torch.ones(1), atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_directions_found_with_stable_signs(seed):
    u = units(12, 0.6, seed=3)
    G = PlantedGenerator(u)
    d = attribute_directions(G, None, n_samples=500, seed=seed, measurer=block_measurer())
    assert d.names == ["left", "right"]
    cos = (d.vectors * u).sum(1)
    assert (cos >= 0.95).all(), cos                             # found, and + increases the attribute
    assert (d.explained > 0.9).all()
    # sigma is the std of w along the direction (w = z here, so 1)
    assert torch.allclose(d.sigma, torch.ones(2), atol=0.1)


def test_fit_within_class_ignores_class_offsets():
    """A conditional model's class moves w and the attribute together; within a class the attribute
    follows u. The fitted direction must be u, not the class offset."""
    rng = np.random.default_rng(0)
    u = np.eye(6)[0]
    offset = np.eye(6)[1] * 5
    cls = rng.integers(0, 3, 900)
    w = rng.normal(size=(900, 6)) + cls[:, None] * offset
    y = w @ u + cls * 10.0                                       # the class shifts the attribute a lot
    fit = fit_all(w, y[:, None], cls)
    assert float(fit["vectors"][0] @ u) > 0.99 and fit["score"][0] > 0.95
    pooled = fit_all(w, y[:, None], None)
    assert float(pooled["vectors"][0] @ u) < 0.9                 # pooled, the class offset leaks in


def test_binary_attribute_uses_logistic_regression():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(600, 5))
    y = (w[:, 2] > 0).astype(float)
    fit = fit_all(w, y[:, None])
    assert fit["metric"][0] == "accuracy" and fit["score"][0] > 0.9 and fit["vectors"][0, 2] > 0.95


def test_attribute_directions_through_the_cache(tmp_path, monkeypatch):
    G = PlantedGenerator(units(8, 0.0))
    meta = {"sha256": "ab" * 32}
    first = cache.get_directions(G, meta, "attr", k=32, settings={"n_samples": 300}, cache_dir=tmp_path)
    assert first.method == "attr" and "brightness" in first.names and first.settings["taught"] == 0

    def boom(*a, **k):
        raise AssertionError("recomputed instead of reading the cache")
    monkeypatch.setattr(cache, "compute_directions", boom)
    again = cache.get_directions(G, meta, "attr", k=32, settings={"n_samples": 300}, cache_dir=tmp_path)
    assert again.names == first.names and torch.equal(again.vectors, first.vectors)
    assert again.settings["attributes"] == first.settings["attributes"]


def test_measurer_for_picks_the_attributes_of_a_model(tiny_fmnist_meta):
    G = PlantedGenerator(units(8, 0.0))
    assert measurer_for(G).keys[:2] == ["brightness", "contrast"] and "saturation" not in measurer_for(G).keys
    m = measurer_for(G, tiny_fmnist_meta)
    assert m.keys[-10:] == [f"class:{n}" for n in tiny_fmnist_meta["class_names"]]
    vals = m.measure(np.zeros((3, 16, 16, 1), np.uint8))
    assert vals.shape == (3, len(m.keys)) and np.isfinite(vals).all()


@pytest.fixture
def tiny_fmnist_meta():
    from explorer.evaluation.classifier import FASHION_MNIST_CLASSES
    return {"class_names": list(FASHION_MNIST_CLASSES)}


def test_skew_sign_rule_and_alignment():
    x = torch.distributions.Exponential(1.0).sample((4000, 1)).double()
    signs, z = skew_signs(torch.cat([x, -x, torch.randn(4000, 1, dtype=torch.float64)], dim=1))
    assert signs[:2].tolist() == [1.0, -1.0] and z[0] > 20 and abs(float(z[2])) < 5
    ref = torch.eye(3)
    v = torch.tensor([[-0.9, 0.1, 0.0], [0.0, 0.95, 0.1], [0.1, 0.0, -0.2]])
    out = align_signs(v, ref)
    assert out[0, 0] > 0 and out[1, 1] > 0 and out[2, 2] < 0     # the last matches nothing well: unchanged


def test_pca_signs_do_not_depend_on_the_sample_seed():
    from tests.factories import tiny_generator
    G = tiny_generator(classes=3, arch="style")
    a = pca_directions(G, n_samples=4000, k=6, seed=1)
    b = pca_directions(G, n_samples=4000, k=6, seed=2)
    cos = (a.vectors * b.vectors).sum(1)
    strong = cos.abs() > 0.8
    assert strong.sum() >= 2 and (cos[strong] > 0).all(), cos
