"""Batched projection: a batch of N is N independent single projections (same latents, classes, figures);
the target-cached loss (projection_loss.TargetLoss) equals the loss computed from scratch."""

from __future__ import annotations

import pytest
import torch

from explorer.explore import ssim as S
from explorer.explore.inversion import LossWeights, ProjectConfig, Projector
from explorer.explore.projection_loss import MsSsimTo, TargetLoss
from explorer.explore.projection_metrics import critic_distance
from tests.factories import tiny_generator

PIXELS = LossWeights(l2=1.0, l1=0.1, ms_ssim=0.5, critic=0.0, classifier=0.0, prior=0.005)


def _targets(G, seeds: list[int], cls: list[int] | None = None) -> torch.Tensor:
    z = torch.cat([torch.randn(1, G.cfg.z_dim, generator=torch.Generator().manual_seed(s)) for s in seeds])
    c = None if cls is None else torch.tensor(cls)
    with torch.no_grad():
        return G.synthesis(G.mapping(z, c)[:, None].expand(-1, G.num_ws, -1))


def _same(batch, singles, atol: float = 1e-4, close: bool = False) -> None:
    """Each batch result equals its single run (Adam: the same path; ws are rounded to float16).
    close=True (L-BFGS): the renders of a batch and of one image differ in the last float bits, which
    L-BFGS's curvature pairs amplify, so only the outcome is compared (its optimiser alone follows single
    runs exactly: tests/explore/test_lockstep_lbfgs.py)."""
    for b, s in zip(batch, singles, strict=True):
        assert b.class_index == s.class_index and b.steps == s.steps
        if close:
            assert b.figures.psnr == pytest.approx(s.figures.psnr, abs=0.5)
            continue
        assert torch.allclose(b.ws, s.ws, atol=atol), float((b.ws - s.ws).abs().max())
        assert b.figures.psnr == pytest.approx(s.figures.psnr, abs=0.05)
        assert b.figures.ssim == pytest.approx(s.figures.ssim, abs=1e-3)
        assert b.figures.w_percentile == pytest.approx(s.figures.w_percentile, abs=1.0)
        assert b.history == pytest.approx(s.history, rel=1e-3, abs=1e-5)


@pytest.mark.parametrize(("space", "optimizer"), [("w", "adam"), ("w+", "adam"), ("w", "lbfgs"), ("w+", "lbfgs")])
def test_a_batch_of_three_is_three_single_projections(space: str, optimizer: str) -> None:
    G = tiny_generator(classes=0, arch="film", w_avg=True)
    t = _targets(G, [1, 2, 3])
    proj = Projector(G)
    cfg = ProjectConfig(space=space, steps=30, weights=PIXELS, optimizer=optimizer)
    batch = proj.project_batch(t, cfg)
    singles = [proj.project(t[i], cfg) for i in range(3)]
    _same(batch, singles, close=optimizer == "lbfgs")
    assert len({round(r.figures.psnr, 3) for r in batch}) == 3         # per-image figures, not one shared
    assert [r.target.shape for r in batch] == [(32, 32, 1)] * 3


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_a_conditional_batch_keeps_each_images_best_class(optimizer: str) -> None:
    G = tiny_generator(classes=3, arch="dcgan")
    t = _targets(G, [1, 2, 3], cls=[2, 0, 1])
    proj = Projector(G)
    l2 = LossWeights(l2=1.0, l1=0.0, ms_ssim=0.0, critic=0.0, classifier=0.0, prior=0.0)
    cfg = ProjectConfig(steps=40, lr=0.1, class_trial_steps=20, restarts=1, weights=l2, optimizer=optimizer)
    batch = proj.project_batch(t, cfg)
    singles = [proj.project(t[i], cfg) for i in range(3)]
    _same(batch, singles, close=optimizer == "lbfgs")
    assert [r.class_index for r in batch] == [2, 0, 1]


def test_uint8_batches_and_lists_are_accepted_and_shapes_checked() -> None:
    G = tiny_generator(classes=0, arch="film", w_avg=True)
    imgs = ((_targets(G, [7, 8]) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    proj = Projector(G)
    a = proj.project_batch(imgs, ProjectConfig(steps=3))
    b = proj.project_batch(list(imgs), ProjectConfig(steps=3))
    assert len(a) == 2 and all(torch.equal(x.ws, y.ws) for x, y in zip(a, b, strict=True))
    with pytest.raises(ValueError, match="no target"):
        proj.project_batch([], ProjectConfig(steps=1))
    with pytest.raises(ValueError, match="fit it first"):
        proj.project_batch(imgs[:, :16, :16], ProjectConfig(steps=1))


@pytest.mark.parametrize(("side", "ch"), [(32, 1), (64, 5)])
def test_cached_ms_ssim_equals_ms_ssim_and_its_gradient(side: int, ch: int) -> None:
    g = torch.Generator().manual_seed(0)
    y = torch.rand(3, ch, side, side, generator=g) * 2 - 1
    x = (y + 0.4 * torch.randn(y.shape, generator=g)).clamp(-1, 1).requires_grad_(True)
    x2 = x.detach().clone().requires_grad_(True)
    ref = S.ms_ssim(x, y, win_size=7)
    got = MsSsimTo(y)(x2)
    assert torch.allclose(got, ref, atol=1e-5)
    ref.sum().backward()
    got.sum().backward()
    assert torch.allclose(x2.grad, x.grad, atol=1e-6)
    assert torch.allclose(MsSsimTo(y).take(torch.tensor([2, 0]))(x.detach()[[2, 0]]), ref.detach()[[2, 0]], atol=1e-5)


def test_target_loss_equals_the_loss_from_scratch_with_a_critic(tmp_path) -> None:
    from explorer.gan.device import load_generator
    from tests.factories import make_run
    j, _ = make_run(tmp_path / "runs" / "r", d_arch="dcgan", classes=3)
    G, meta = load_generator(j)
    proj = Projector.for_model(G, meta)
    assert proj.nets.critic is not None
    t = _targets(G, [1, 2], cls=[0, 2])
    x = _targets(G, [3, 4], cls=[0, 2])
    c, u = torch.tensor([0, 2]), torch.randn(2, 1, 4)
    w = LossWeights()
    d = x - t
    ref = (d.square().flatten(1).mean(1) + 0.1 * d.abs().flatten(1).mean(1)
           + 0.5 * (1 - S.ms_ssim(x, t, win_size=7)) + 0.2 * critic_distance(proj.nets.critic.D, x, t, c)
           + 0.005 * u.square().mean(dim=(1, 2)))
    assert torch.allclose(TargetLoss(proj.nets, t, c, w)(x, u), ref, atol=1e-5)
    assert torch.allclose(TargetLoss(proj.nets, t, c, w).select(torch.tensor([1]))(x[1:], u[1:]), ref[1:], atol=1e-5)
