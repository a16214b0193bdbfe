"""L-BFGS on N independent problems at once, one evaluation of all of them per round.

A batch of projections is N independent problems (one loss per row, no term mixing rows). One L-BFGS
on the summed loss (torch.optim.LBFGS, scipy) would couple them: one step length for all rows, and
curvature pairs that mix rows. Running torch's L-BFGS per row in threads, each handing its points to
one batched evaluation, gave the same results but spent more time passing the interpreter lock
between 20 threads than evaluating (37 s wall for 20 Fashion-MNIST images, 18 s of it waiting). So
this is L-BFGS with every row's state in one tensor: the two-loop recursion (Nocedal & Wright,
"Numerical Optimization", algorithm 7.4) over per-row histories of the last `history` (s, y) pairs,
the initial Hessian scaled by s'y / y'y, and a backtracking line search per row (Armijo's sufficient
decrease, c1 = 1e-4; a failed trial shrinks the step by a safeguarded quadratic interpolation, to
between 0.1 and 0.5 of itself). A pair with s'y <= 0 is not stored (the curvature condition the
backtracking search does not enforce), and a direction that is not downhill restarts from the
steepest descent. The first step of a row (and after such a restart) is min(1, 1 / |g|_1) along -g,
as torch's L-BFGS takes it.

Every round evaluates each unfinished row once (one trial point), and each row's arithmetic is its
own: given the same evaluations, a row follows the same path in a batch as alone (a test checks this
on Rosenbrock's function). A model's renders in a batch can differ from single renders in the last
bits, which L-BFGS amplifies over many steps, so batched and single projections agree in quality,
not bit for bit. A row stops after `max_evals`
evaluations, when its step underflows, or when PATIENCE evaluations in a row have not lowered its
best loss by a relative REL_TOL (the fonts model in w reached its best after ~86 of 364 evaluations
and the rest changed nothing); every row stops when `should_stop()` says so.

    def evaluate(rows, u):                 # rows (k,) long, u (k, ...) -> (loss (k,), grad (k, ...))
        ...
    evals = lbfgs_rows(u0, evaluate, max_evals=180)     # u0 (N, ...); evals (N,) evaluations per row
"""

from __future__ import annotations

from collections.abc import Callable

import torch

HISTORY = 20                 # (s, y) pairs kept per row
ARMIJO = 1e-4                # sufficient decrease: f(x + t d) <= f(x) + ARMIJO t g'd
MIN_STEP = 1e-10             # a row whose step falls below this has converged (or cannot descend)
PATIENCE = 25                # a row stops when this many evaluations have not lowered its best loss ...
REL_TOL = 1e-6               # ... by more than this share of it (a flat floor: steps that change nothing)
Evaluate = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).sum(-1)


def _direction(g: torch.Tensor, S: torch.Tensor, Y: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """-H g for each row: g (B, D), histories S, Y (B, M, D) newest last, count (B,) valid pairs (the last
    `count` of M). Rows without pairs get -g."""
    m = S.shape[1]
    valid = torch.arange(m, device=g.device)[None] >= (m - count)[:, None]           # (B, M)
    sy = _dot(S, Y)
    rho = torch.where(valid, 1.0 / torch.where(valid, sy, torch.ones_like(sy)), torch.zeros_like(sy))
    q = g.clone()
    alpha = torch.zeros_like(rho)
    for i in range(m - 1, -1, -1):
        alpha[:, i] = rho[:, i] * _dot(S[:, i], q)
        q = q - alpha[:, i, None] * Y[:, i]
    yy = _dot(Y[:, -1], Y[:, -1])
    gamma = torch.where(count > 0, sy[:, -1] / torch.where(count > 0, yy, torch.ones_like(yy)), torch.ones_like(yy))
    r = gamma[:, None] * q
    for i in range(m):
        beta = rho[:, i] * _dot(Y[:, i], r)
        r = r + (alpha[:, i] - beta)[:, None] * S[:, i]
    return -r


def _first_step(g: torch.Tensor) -> torch.Tensor:
    """Step length along -g where there is no curvature yet: min(1, 1 / |g|_1) per row (torch's choice)."""
    return torch.clamp(1.0 / g.abs().sum(1).clamp_min(1e-12), max=1.0)


def lbfgs_rows(u0: torch.Tensor, evaluate: Evaluate, max_evals: int, history: int = HISTORY,
               should_stop: Callable[[], bool] | None = None, patience: int = PATIENCE) -> list[int]:
    """Minimise N independent functions, row i from u0[i] (N, ...), by L-BFGS (see the module docstring).

    `evaluate(rows, u)`: rows (k,) long, the unfinished rows, u (k, *u0.shape[1:]) their trial points ->
    (loss (k,), grad (k, ...)); the caller keeps any best-so-far record there (the iterate itself is
    not returned). Returns the evaluations each row used (<= max_evals). Raises ValueError for
    max_evals < 0, history < 1 or patience < 1."""
    if max_evals < 0 or history < 1 or patience < 1:
        raise ValueError("max_evals must be >= 0, history and patience >= 1")
    n, shape = u0.shape[0], u0.shape[1:]
    dt = torch.float64
    x = u0.detach().reshape(n, -1).to(dt).clone()
    d_ = x.shape[1]
    used = torch.zeros(n, dtype=torch.long)
    if n == 0 or max_evals == 0:
        return used.tolist()
    S = torch.zeros(n, history, d_, dtype=dt)
    Y = torch.zeros_like(S)
    count = torch.zeros(n, dtype=torch.long)
    live = torch.ones(n, dtype=torch.bool)

    def run(rows: torch.Tensor, pts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f, g = evaluate(rows, pts.to(u0.dtype).reshape(len(rows), *shape))
        used[rows] += 1
        return f.detach().cpu().to(dt), g.detach().cpu().reshape(len(rows), -1).to(dt)

    if should_stop is not None and should_stop():
        return used.tolist()
    f, g = run(torch.arange(n), x)
    d = -g
    best, last_gain = f.clone(), used.clone()                # best loss per row, and when it last fell
    t = _first_step(g)
    while True:
        live &= (used < max_evals) & (t > MIN_STEP) & (used - last_gain < patience)
        rows = torch.nonzero(live)[:, 0]
        if not len(rows) or (should_stop is not None and should_stop()):
            break
        xt = x[rows] + t[rows, None] * d[rows]
        ft, gt = run(rows, xt)
        gain = ft < best[rows] - REL_TOL * best[rows].abs()
        best[rows] = torch.minimum(best[rows], torch.nan_to_num(ft, nan=float("inf")))
        last_gain[rows[gain]] = used[rows[gain]]
        gd = _dot(g[rows], d[rows])
        ok = (ft <= f[rows] + ARMIJO * t[rows] * gd) & torch.isfinite(ft)
        # rejected: shrink the step (the minimum of the quadratic through f, g'd and ft, kept in [0.1t, 0.5t])
        bad = rows[~ok]
        if len(bad):
            tb, gdb = t[bad], gd[~ok]
            curv = ft[~ok] - f[bad] - gdb * tb
            quad = torch.where(torch.isfinite(curv) & (curv > 0), -gdb * tb * tb / (2 * curv.clamp_min(1e-300)),
                               0.5 * tb)
            t[bad] = torch.minimum(torch.maximum(quad, 0.1 * tb), 0.5 * tb)
        good = rows[ok]
        if len(good):
            s, y = xt[ok] - x[good], gt[ok] - g[good]
            keep = _dot(s, y) > 1e-10 * _dot(y, y).clamp_min(1e-300)
            kg = good[keep]
            S[kg] = torch.cat([S[kg, 1:], s[keep, None]], 1)
            Y[kg] = torch.cat([Y[kg, 1:], y[keep, None]], 1)
            count[kg] = (count[kg] + 1).clamp(max=history)
            x[good], f[good], g[good] = xt[ok], ft[ok], gt[ok]
            dg = _direction(g[good], S[good], Y[good], count[good])
            downhill = _dot(dg, g[good]) < 0
            restart = good[~downhill]
            count[restart] = 0
            dg[~downhill] = -g[restart]
            d[good] = dg
            t[good] = torch.where(downhill, torch.ones_like(t[good]), _first_step(g[good]))
    return used.tolist()
