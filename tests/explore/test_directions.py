"""GANSpace (PCA) and SeFa directions: orthonormal, ordered, the class columns left alone, for every generator kind."""

from __future__ import annotations

import pytest
import torch

from explorer.explore.direction_cache import compute_directions
from explorer.explore.ganspace import pca_directions
from explorer.explore.sefa import sefa_directions
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
    d = pca_directions(G, n_samples=3000, k=32, batch=1000)
    assert d.method == "pca" and d.vectors.shape == (8, 8) and d.k == 8          # k is capped at w_dim
    assert orthonormal(d.vectors)
    assert (d.explained[1:] <= d.explained[:-1] + 1e-7).all() and 0.99 < float(d.explained.sum()) <= 1.0001
    assert (d.sigma > 0).all() and (d.sigma[1:] <= d.sigma[:-1] + 1e-6).all()
    assert d.names[0] == "PC 0" and d.seconds > 0 and d.settings["n_samples"] == 3000
    # sigma is the std of w projected on each direction
    w = G.mapping(torch.randn(4000, 8, generator=torch.Generator().manual_seed(1)), torch.randint(3, (4000,)))
    assert torch.allclose((w @ d.vectors.T).std(0), d.sigma, rtol=0.1)


def test_pca_is_deterministic_and_per_class(G):
    a = pca_directions(G, n_samples=1000, k=4, batch=500)
    b = pca_directions(G, n_samples=1000, k=4, batch=500)
    assert torch.equal(a.vectors, b.vectors) and a.k == 4
    c = pca_directions(G, n_samples=1000, k=4, batch=500, class_index=2)
    assert orthonormal(c.vectors) and not torch.allclose(c.vectors, a.vectors)


def test_sefa_orthonormal_and_ordered(G):
    d = sefa_directions(G, k=32, sigma_samples=500)
    assert d.method == "sefa" and d.vectors.shape == (8, 8) and orthonormal(d.vectors)
    assert (d.explained[1:] <= d.explained[:-1] + 1e-7).all() and float(d.explained.sum()) <= 1.0001
    assert (d.sigma > 0).all() and d.names[-1] == "SeFa 7"
    # they are the eigenvectors of A^T A for the (row-normalised) style weights
    A = torch.cat([m.weight for m in G.style_affines()]).double()
    A = A / A.norm(dim=1, keepdim=True)
    M = A.T @ A
    v = d.vectors.double()
    assert torch.allclose(M @ v[0], (v[0] @ M @ v[0]) * v[0], atol=1e-4)
    coarse = sefa_directions(G, k=4, layers=range(0, 3), sigma_samples=200)
    assert orthonormal(coarse.vectors) and coarse.settings["layers"] == [0, 1, 2]
    assert not torch.allclose(coarse.vectors, d.vectors[:4])
    with pytest.raises(ValueError, match="layers"):
        sefa_directions(G, layers=[0, 99])


def test_dcgan_directions_leave_the_class_alone(dcgan):
    for d in (pca_directions(dcgan, n_samples=1000, k=32, batch=500), sefa_directions(dcgan, k=32)):
        assert d.vectors.shape == (8, 11) and orthonormal(d.vectors)
        assert torch.equal(d.vectors[:, 8:], torch.zeros(8, 3))


def test_film_generator_directions_w_avg_and_truncation():
    """FiLM generators (the shipped kind) are mapped like style ones: directions in w, a real w_avg."""

    from explorer.explore.latents import LatentState, state_to_ws
    film = tiny_generator(3, "film", w_avg=True)
    assert film.w_avg.abs().sum() > 0                                  # truncation has a centre per class
    for method in ("pca", "sefa"):
        d = compute_directions(film, method, k=6)
        assert d.vectors.shape == (6, film.cfg.w_dim) and orthonormal(d.vectors)
    ws0 = state_to_ws(film, LatentState("m", "", seed=3, class_index=1, psi=0.0))
    assert torch.allclose(ws0[0, 0], film.w_avg[1], atol=1e-6)        # psi 0 = the class mean


def test_dcgan_pca_goes_through_first_block_activations(dcgan):
    """z is isotropic, so PCA on it would be noise: PCA runs on the first block's activations and is
    regressed back to z. Moving z along direction 0 must move the activations along their PC 0."""
    d = pca_directions(dcgan, n_samples=3000, k=4)
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
