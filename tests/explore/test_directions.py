"""PCA and SeFa directions: orthonormal, ordered, cached on disk, names that persist."""

from __future__ import annotations

import json

import pytest
import torch

from explorer.explore import directions as D
from tests.factories import tiny_generator


@pytest.fixture(scope="module")
def G():
    return tiny_generator(3)


@pytest.fixture(scope="module")
def dcgan():
    return tiny_generator(3, "dcgan")


def orthonormal(v: torch.Tensor) -> bool:
    return torch.allclose(v @ v.T, torch.eye(v.shape[0]), atol=1e-5)


def test_pca_orthonormal_and_ordered(G):
    d = D.pca_directions(G, n_samples=3000, k=32, batch=1000)
    assert d.method == "pca" and d.vectors.shape == (8, 8) and d.k == 8          # k is capped at w_dim
    assert orthonormal(d.vectors)
    assert (d.explained[1:] <= d.explained[:-1] + 1e-7).all() and 0.99 < float(d.explained.sum()) <= 1.0001
    assert (d.sigma > 0).all() and (d.sigma[1:] <= d.sigma[:-1] + 1e-6).all()
    assert d.names[0] == "PC 0" and d.seconds > 0 and d.settings["n_samples"] == 3000
    # sigma is the std of w projected on each direction
    w = G.mapping(torch.randn(4000, 8, generator=torch.Generator().manual_seed(1)), torch.randint(3, (4000,)))
    assert torch.allclose((w @ d.vectors.T).std(0), d.sigma, rtol=0.1)


def test_pca_is_deterministic_and_per_class(G):
    a = D.pca_directions(G, n_samples=1000, k=4, batch=500)
    b = D.pca_directions(G, n_samples=1000, k=4, batch=500)
    assert torch.equal(a.vectors, b.vectors) and a.k == 4
    c = D.pca_directions(G, n_samples=1000, k=4, batch=500, class_index=2)
    assert orthonormal(c.vectors) and not torch.allclose(c.vectors, a.vectors)


def test_sefa_orthonormal_and_ordered(G):
    d = D.sefa_directions(G, k=32, sigma_samples=500)
    assert d.method == "sefa" and d.vectors.shape == (8, 8) and orthonormal(d.vectors)
    assert (d.explained[1:] <= d.explained[:-1] + 1e-7).all() and float(d.explained.sum()) <= 1.0001
    assert (d.sigma > 0).all() and d.names[-1] == "SeFa 7"
    # they are the eigenvectors of A^T A for the (row-normalised) style weights
    A = torch.cat([m.weight for m in G.style_affines()]).double()
    A = A / A.norm(dim=1, keepdim=True)
    M = A.T @ A
    v = d.vectors.double()
    assert torch.allclose(M @ v[0], (v[0] @ M @ v[0]) * v[0], atol=1e-4)
    coarse = D.sefa_directions(G, k=4, layers=range(0, 3), sigma_samples=200)
    assert orthonormal(coarse.vectors) and coarse.settings["layers"] == [0, 1, 2]
    assert not torch.allclose(coarse.vectors, d.vectors[:4])
    with pytest.raises(ValueError, match="layers"):
        D.sefa_directions(G, layers=[0, 99])


def test_dcgan_directions_leave_the_class_alone(dcgan):
    for d in (D.pca_directions(dcgan, n_samples=1000, k=32, batch=500), D.sefa_directions(dcgan, k=32)):
        assert d.vectors.shape == (8, 11) and orthonormal(d.vectors)
        assert torch.equal(d.vectors[:, 8:], torch.zeros(8, 3))


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


def test_film_generator_directions_w_avg_and_truncation():
    """FiLM generators (the shipped kind) are mapped like style ones: directions in w, a real w_avg."""

    from explorer.explore.latents import LatentState, state_to_ws
    film = tiny_generator(3, "film", w_avg=True)
    assert film.w_avg.abs().sum() > 0                                  # truncation has a centre per class
    for method in ("pca", "sefa"):
        d = D.compute_directions(film, method, k=6)
        assert d.vectors.shape == (6, film.cfg.w_dim) and orthonormal(d.vectors)
    ws0 = state_to_ws(film, LatentState("m", "", seed=3, class_index=1, psi=0.0))
    assert torch.allclose(ws0[0, 0], film.w_avg[1], atol=1e-6)        # psi 0 = the class mean


def test_dcgan_pca_goes_through_first_block_activations(dcgan):
    """z is isotropic, so PCA on it would be noise: PCA runs on the first block's activations and is
    regressed back to z. Moving z along direction 0 must move the activations along their PC 0."""
    d = D.pca_directions(dcgan, n_samples=3000, k=4)
    v = d.vectors[:, :dcgan.cfg.z_dim]
    assert orthonormal(v) and torch.all(d.explained[:-1] >= d.explained[1:])
    assert d.settings["space"] == "first-block activations"
    z = torch.randn(256, dcgan.cfg.z_dim, generator=torch.Generator().manual_seed(5))
    c = torch.zeros(256, dtype=torch.long)

    def feats(zz):
        with torch.no_grad():
            return dcgan.net[:3](dcgan.mapping(zz, c)[:, :, None, None]).flatten(1)
    delta = feats(z + 2.0 * v[0]) - feats(z)                   # the change an edit of direction 0 makes
    other = feats(z + 2.0 * v[3]) - feats(z)
    assert delta.norm(dim=1).mean() > 0 and other.norm(dim=1).mean() > 0
    assert delta.norm(dim=1).mean() > other.norm(dim=1).mean()  # the top direction moves the features most
