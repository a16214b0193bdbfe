"""Models, losses and augmentation: shapes, conditioning, truncation, gradients, known values."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from explorer.config import DiscriminatorConfig, GeneratorConfig, preset
from explorer.gan.augment import adapt_p, diff_augment
from explorer.gan.discriminators import build_discriminator
from explorer.gan.generators import build_generator
from explorer.gan.losses import d_loss, g_loss, r1_penalty
from tests.factories import tiny_generator


@pytest.mark.parametrize("res,ch,nc,attn,arch", [
    (32, 1, 10, 0, "style"), (32, 3, 0, 16, "style"), (64, 3, 5, 32, "style"), (128, 1, 0, 0, "style"),
    (32, 1, 0, 0, "dcgan"), (64, 3, 4, 0, "dcgan"), (32, 1, 10, 0, "film"), (64, 3, 0, 16, "film"),
])
def test_shapes_and_conditioning(res, ch, nc, attn, arch):
    g = GeneratorConfig(arch=arch, resolution=res, channels=ch, z_dim=16, w_dim=16, num_classes=nc,
                        base_channels=32, min_channels=8, attention_res=attn if arch == "style" else 0)
    d = DiscriminatorConfig(arch="resnet" if arch != "dcgan" else "dcgan", resolution=res, channels=ch,
                            num_classes=nc, base_channels=8, max_channels=32,
                            attention_res=attn // 2 if attn and arch == "style" else 0)
    G, D = build_generator(g), build_discriminator(d)
    c = torch.tensor([0, 1 % max(nc, 1)]) if nc else None
    x = G(torch.randn(2, 16), c)
    assert x.shape == (2, ch, res, res)
    assert D(x, c).shape == (2,)
    if nc:
        with pytest.raises(ValueError, match="conditional"):
            G(torch.randn(2, 16))
    assert len(G.style_affines()) == G.num_ws


def test_style_generator_layers_and_truncation():
    G = tiny_generator(3)
    assert G.num_ws == 8 and len(G.layer_names) == 8 and G.layer_names[0] == "4x4"
    z, c = torch.randn(4, G.cfg.z_dim), torch.tensor([0, 1, 2, 0])
    G.w_avg.normal_()
    w0 = G.mapping(z, c, psi=0.0)
    assert torch.allclose(w0, G.w_avg[c])                   # psi 0 -> the class mean
    w1 = G.mapping(z, c, psi=1.0)
    assert torch.allclose(G.mapping(z, c, psi=0.5), (w0 + w1) / 2, atol=1e-6)
    # (B, w_dim) and the same w broadcast to every layer give the same image
    assert torch.allclose(G.synthesis(w1), G.synthesis(w1[:, None].expand(-1, G.num_ws, -1)))
    # changing only the last layer's w changes the image (every layer is wired to the output)
    ws = w1[:, None].repeat(1, G.num_ws, 1)
    ws2 = ws.clone()
    ws2[:, -1] += 1.0
    assert not torch.allclose(G.synthesis(ws), G.synthesis(ws2))


def test_discriminator_has_spectral_norm_unless_dcgan():
    d = build_discriminator(preset("balanced", 32, 1, 10).discriminator)
    assert any("parametrizations" in k for k in d.state_dict())
    d2 = build_discriminator(preset("classic-dcgan", 32, 1, 10).discriminator)
    assert not any("parametrizations" in k for k in d2.state_dict())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in d2.modules())


def test_dcgan_discriminator_without_batchnorm_sees_a_grey_image():
    """A spectral-norm DCGAN D (the fonts preset's) has biases: without them (and without BatchNorm)
    D is positively homogeneous, D(0) = 0 and D(a x) = a D(x), so a grey fake always scores neutral."""
    torch.manual_seed(0)
    d = build_discriminator(preset("fonts", 64, 1, 0).discriminator).eval()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    x = torch.rand(4, 1, 64, 64) * 2 - 1
    with torch.no_grad():
        assert d(torch.zeros(1, 1, 64, 64)).abs().item() > 1e-6
        assert not torch.allclose(d(0.5 * x), 0.5 * d(x), atol=1e-5)


def test_config_validation():
    with pytest.raises(ValueError, match="resolution"):
        GeneratorConfig(resolution=48)
    with pytest.raises(ValueError, match="loss"):
        dataclasses.replace(preset("balanced").train, loss="magic")
    with pytest.raises(ValueError, match="unknown preset"):
        preset("nope")


def test_losses_known_values():
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-1.0, 3.0])
    assert d_loss("hinge", real, fake).item() == pytest.approx((0 + 1) / 2 + (0 + 4) / 2)
    sp = torch.nn.functional.softplus
    assert d_loss("nonsaturating", real, fake).item() == pytest.approx((sp(-real).mean() + sp(fake).mean()).item())
    assert g_loss("nonsaturating", fake).item() == pytest.approx(sp(-fake).mean().item())
    assert g_loss("minimax", fake).item() == pytest.approx(-sp(fake).mean().item())
    assert g_loss("hinge", fake).item() == pytest.approx(-1.0)
    # the saturating loss has a vanishing gradient where D confidently rejects fakes; non-saturating does not
    f = torch.tensor([-10.0], requires_grad=True)
    (gm,) = torch.autograd.grad(g_loss("minimax", f), f)
    (gn,) = torch.autograd.grad(g_loss("nonsaturating", f), f)
    assert abs(gm.item()) < 1e-3 < abs(gn.item())


@pytest.mark.parametrize("arch", ["style", "film", "dcgan"])
def test_every_arch_offers_the_generator_protocol(arch):
    """What explore/, evaluation/ and the app rely on (explorer.gan.protocol.Generator), with its shapes."""
    G = tiny_generator(3, arch, w_avg=True)
    z, c = torch.randn(2, G.cfg.z_dim), torch.tensor([0, 2])
    w = G.mapping(z, c, psi=0.5)                                          # (B, w_dim), (B, z_dim + K) for dcgan
    assert w.shape[0] == 2 and G.w_avg.shape[-1] == (w.shape[1] if arch != "dcgan" else G.cfg.z_dim)
    assert G.num_ws == len(G.layer_names) == len(G.style_affines())      # one w, one style layer per entry
    ws = w[:, None].expand(-1, G.num_ws, -1)
    assert torch.allclose(G.synthesis(ws), G.synthesis(w), atol=1e-6)     # broadcast w == same w per layer
    assert torch.allclose(G(z, c, psi=0.5), G.synthesis(w), atol=1e-6)
    assert G.synthesis(w).shape == (2, 1, 32, 32)
    with pytest.raises(ValueError, match="conditional"):
        G.mapping(z, None)


def test_r1_penalty_matches_analytic():
    x = torch.randn(3, 1, 4, 4, requires_grad=True)
    logits = (2.0 * x).sum(dim=(1, 2, 3))                  # grad = 2 everywhere -> ||g||^2 = 4 * 16
    assert r1_penalty(logits, x).item() == pytest.approx(64.0)


def test_diff_augment():
    x = torch.rand(8, 3, 16, 16) * 2 - 1
    pol = ["color", "translation", "cutout"]
    assert torch.equal(diff_augment(x, pol, 0.0, torch.Generator().manual_seed(0)), x)
    a = diff_augment(x, pol, 1.0, torch.Generator().manual_seed(0))
    b = diff_augment(x, pol, 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and a.shape == x.shape and not torch.equal(a, x)
    xr = x.clone().requires_grad_(True)
    diff_augment(xr, pol, 1.0, torch.Generator().manual_seed(0)).sum().backward()
    assert xr.grad is not None and xr.grad.abs().sum() > 0
    cut = diff_augment(torch.ones(4, 1, 16, 16), ["cutout"], 1.0, torch.Generator().manual_seed(1))
    # a half-side square centred inside the image: at least a quarter of it (1/16 of the image) is cut
    assert ((cut == 0).float().mean(dim=(1, 2, 3)) >= 1 / 16).all()


def test_adapt_p_moves_toward_target():
    assert adapt_p(0.5, rt=0.9, target=0.6, images=1000, speed_k=10) == pytest.approx(0.6)
    assert adapt_p(0.5, rt=0.1, target=0.6, images=1000, speed_k=10) == pytest.approx(0.4)
    assert adapt_p(0.0, rt=0.0, target=0.6, images=10**6, speed_k=1) == 0.0
