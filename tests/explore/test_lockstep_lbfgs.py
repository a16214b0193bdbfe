"""lockstep_lbfgs: per-row L-BFGS evaluated in lockstep (explorer/explore/lockstep_lbfgs.py)."""

from __future__ import annotations

import pytest
import torch

from explorer.explore.lockstep_lbfgs import lbfgs_rows


def _rosenbrock(u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rosenbrock's function of each row (k, 2) and its gradient, float64."""
    x, y = u[:, 0], u[:, 1]
    f = (1 - x) ** 2 + 100 * (y - x * x) ** 2
    g = torch.stack([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)], 1)
    return f, g


class _Recorder:
    """An evaluate() that keeps each row's best point and the points it was asked about."""

    def __init__(self, fn, n: int) -> None:
        self.fn, self.best = fn, torch.full((n,), float("inf"), dtype=torch.float64)
        self.best_u: list[torch.Tensor | None] = [None] * n
        self.points: list[list[torch.Tensor]] = [[] for _ in range(n)]

    def __call__(self, rows: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f, g = self.fn(u)
        for j, r in enumerate(rows.tolist()):
            self.points[r].append(u[j].clone())
            if f[j] < self.best[r]:
                self.best[r], self.best_u[r] = f[j], u[j].clone()
        return f, g


STARTS = torch.tensor([[-1.2, 1.0], [0.0, 0.0], [2.0, -1.0], [-0.5, 2.5]], dtype=torch.float64)


def test_reaches_rosenbrocks_minimum_from_every_start():
    rec = _Recorder(_rosenbrock, len(STARTS))
    evals = lbfgs_rows(STARTS, rec, max_evals=400)
    assert all(0 < e <= 400 for e in evals)
    for u in rec.best_u:
        assert u is not None and torch.allclose(u, torch.ones(2, dtype=torch.float64), atol=1e-4)


def test_each_row_follows_its_single_path_in_a_batch():
    batch = _Recorder(_rosenbrock, len(STARTS))
    evals = lbfgs_rows(STARTS, batch, max_evals=60)
    for i in range(len(STARTS)):
        one = _Recorder(_rosenbrock, 1)
        assert lbfgs_rows(STARTS[i:i + 1], one, max_evals=60) == [evals[i]]
        assert torch.equal(torch.stack(one.points[0]), torch.stack(batch.points[i]))


def test_quadratic_matches_torch_lbfgs():
    """An ill-conditioned quadratic: the minimum torch.optim.LBFGS finds, within the same budget."""
    torch.manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(12, 12, dtype=torch.float64))
    a = q @ torch.diag(torch.logspace(0, 3, 12, dtype=torch.float64)) @ q.T
    b = torch.randn(12, dtype=torch.float64)
    x_star = torch.linalg.solve(a, b)

    def fn(u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return 0.5 * ((u @ a) * u).sum(1) - u @ b, u @ a - b

    rec = _Recorder(fn, 1)
    lbfgs_rows(torch.zeros(1, 12, dtype=torch.float64), rec, max_evals=100)
    x = torch.zeros(12, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([x], max_iter=100, max_eval=100, history_size=20, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-12, tolerance_change=1e-15)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = 0.5 * x @ a @ x - x @ b
        loss.backward()
        return loss

    opt.step(closure)
    f_star = float(fn(x_star[None])[0][0])
    ours, theirs = float(rec.best[0]) - f_star, float(fn(x.detach()[None])[0][0]) - f_star
    assert ours < 1e-8 * abs(f_star)
    assert ours <= max(theirs, 1e-12 * abs(f_star)) * 10


def test_budget_stop_and_bad_arguments():
    rec = _Recorder(_rosenbrock, len(STARTS))
    assert lbfgs_rows(STARTS, rec, max_evals=7) == [7] * len(STARTS)
    assert [len(p) for p in rec.points] == [7] * len(STARTS)
    calls = [0]

    def counting(rows: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        calls[0] += 1
        return _rosenbrock(u)

    evals = lbfgs_rows(STARTS, counting, max_evals=100, should_stop=lambda: calls[0] >= 3)
    assert calls[0] == 3 and evals == [3] * len(STARTS)
    assert lbfgs_rows(STARTS, counting, max_evals=0) == [0] * len(STARTS)
    assert lbfgs_rows(STARTS, counting, max_evals=5, should_stop=lambda: True) == [0] * len(STARTS)
    with pytest.raises(ValueError):
        lbfgs_rows(STARTS, counting, max_evals=-1)
    with pytest.raises(ValueError):
        lbfgs_rows(STARTS, counting, max_evals=5, history=0)


def test_float32_rows_and_extra_dimensions():
    """u0 of any shape and dtype: evaluate sees that shape and dtype back."""
    seen = []

    def fn(rows: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        seen.append((u.shape[1:], u.dtype))
        return (u ** 2).sum((1, 2)), 2 * u

    u0 = torch.randn(3, 2, 4)
    evals = lbfgs_rows(u0, fn, max_evals=20)
    assert set(seen) == {(torch.Size([2, 4]), torch.float32)}
    assert all(e <= 20 for e in evals)


def test_a_row_that_stops_improving_stops():
    """On a flat floor (zero gradient) steps change nothing: the row ends after `patience` evaluations
    without a gain instead of spending its whole budget; a row still descending goes on."""
    def floor(u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r2 = (u ** 2).sum(1)
        flat = r2 <= 1.0
        return torch.where(flat, torch.ones_like(r2), r2), torch.where(flat[:, None], torch.zeros_like(u), 2 * u)

    u0 = torch.tensor([[3.0, 4.0]], dtype=torch.float64)
    evals = lbfgs_rows(u0, _Recorder(floor, 1), max_evals=500, patience=10)
    assert evals[0] < 40
    rec = _Recorder(_rosenbrock, 1)
    assert lbfgs_rows(STARTS[:1], rec, max_evals=30, patience=10) == [30]       # still improving at 30
    with pytest.raises(ValueError):
        lbfgs_rows(STARTS, floor, max_evals=5, patience=0)
