"""Edits that follow the image: a named attribute changed along the generator's own local gradient.

A linear attribute direction (explorer/explore/attribute_directions.py, InterFaceGAN's boundary
normal) is one vector for every image. On a nonlinear generator it is right on average and wrong for
many faces: on the shipped fonts model, +2 std of the fitted "weight" direction made 25 % of 200
faces lighter, and the boldest quarter mostly lighter (docs/fonts-design.md). A *followed* edit
instead walks a path w(t) whose every step is chosen at the current image:

    J = d proxies / d w at the current w          (m, width): the attribute and the ones held fixed
    v = pinv(J)[:, 0] / |pinv(J)[:, 0]|          the step that moves the attribute and, to first
                                                 order, none of the held ones (J v = e_0)
    w <- w + sign(amount) * (sigma / STEPS_PER_STD) * v, |amount| * STEPS_PER_STD times

so the edit moves the attribute the right way at every face and holds the chosen ones where the
local linearisation holds. It is InterFaceGAN's conditional manipulation (Shen et al. 2020, eq. 3:
remove the other attributes' normals) done with local Jacobians instead of global normals, in the
spirit of local latent bases (Choi et al. 2022, "Do not escape from the manifold") and Jacobian
editing (Zhu et al. 2021, LowRankGAN). Its length is in the same std units as the linear
direction's slider (sigma: the std of sampled w along the attribute's fitted normal).

The gradients need differentiable stand-ins ("proxies") for the measured attributes
(explorer/explore/attributes.py, explorer/data/glyphmetrics.py), written here from the same
definitions with hard thresholds made soft:

* glyph stacks: weight (2 ink / perimeter per glyph, mean, over the soft cap height: the median soft
  extent of the rows of H E I T), slant (the per-glyph ink-moment regression of
  `evaluation.style_consistency_loss.glyph_style`, mean over the symmetric glyphs), width (median soft
  extent of the columns of H N O U n o u over the soft cap height), x-height ratio (median soft extent
  of the rows of x z v w over it); each extent is the mean of a soft extent (`_soft_extent`: the
  count from the first to the last row or column whose maximum reaches 0.5, with that threshold a
  steep sigmoid) and the measure's own sub-pixel extent (`_extent_proxy`), each on the glyphs without
  their specks, as the measures take them (`_profile`). Width is the median of
  7 glyphs, and which glyph is the median changes along a path, so a held width also holds the
  glyph widths ranked just below and above the median (`companions_for`);
* every image model: brightness and RMS contrast of luminance, edge density, ink coverage (the
  distance from the border's colour, as `attributes.ink`, the background held as a constant).

    keys = followable(G)                                       # ["stroke_width", "slant", ...]
    ws2 = follow(G, ws, "stroke_width", 2.0, sigma, hold=("slant", "width"))   # (B, num_ws, width)
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Sequence

import torch

from explorer.gan.protocol import Generator

STEPS_PER_STD = 4          # Euler steps per std of travel (on the fonts model: 8 steps for 2 std)
SOFT_SHARPNESS = 12.0      # slope of the soft ">= 0.5" threshold of a soft count (image coverage)
EXTENT_SHARPNESS = 16.0    # ... of a soft extent (fonts model, 100 seeds, followed +2 std, whole-pixel measures and
                           # the soft copy alone, before _extent_proxy: at 16 weight / slant /
                           # width 95 / 100 / 88 % right way, leak 0.23 / 0.51 / 0.12; at 48, 96 / 100 / 88 %,
                           # 0.29 / 0.51 / 0.14; a soft count of columns at 12 instead: 96 / 100 / 89 %, 0.29 /
                           # 0.52 / 0.14; the extent tracks the measured width's change better than the count).
                           # Also tried on those 100 seeds, none kept: a Newton correction of the held proxies'
                           # drift each step (slant leak 0.51 -> 0.41, width right way 88 -> 82 %); steps toward
                           # a target change of the proxy instead of a fixed w length (97 / 96 / 89 %, 0.26 /
                           # 0.53 / 0.13); width as the mean instead of the median soft extent (87 %), as the
                           # glyphs' horizontal ink moment sqrt(12 var) (85 %), a softer extent slope 6 (79 %, with
                           # the correction); 8 steps per std (width 86 %, slant 100 % / 0.37, twice the time).
                           # Of width's 18 misses (with the correction), the proxy itself moved by under 0.04 for 9
                           # (its median change where the edit worked: 0.17): the walk finds no w step that widens
                           # the median glyph there, and 11 of the 18 changed neither cap height nor width in px.
INK_SCALE = 0.3            # as attributes.INK_SCALE: this far from the background is full ink
_CHARS = string.ascii_uppercase + string.ascii_lowercase + string.digits
_EPS = 1e-6
Proxy = Callable[[torch.Tensor], torch.Tensor]          # G's images (B, C, H, W) in [-1, 1] -> (B,)


def _soft_count(profile_max: torch.Tensor) -> torch.Tensor:
    """(..., n) maxima of ink rows or columns -> (...,) soft number of them reaching 0.5."""
    return torch.sigmoid((profile_max - 0.5) * SOFT_SHARPNESS).sum(-1)


def _soft_extent(profile_max: torch.Tensor) -> torch.Tensor:
    """(..., n) maxima of ink rows or columns -> (...,) soft extent (last - first + 1 of those reaching 0.5,
    gaps inside included): the sum over positions of P(an ink row/column at or before it) x P(one at or
    after it), each row/column "on" with probability sigmoid((max - 0.5) * EXTENT_SHARPNESS)."""
    off = 1 - torch.sigmoid((profile_max - 0.5) * EXTENT_SHARPNESS)
    before = 1 - torch.cumprod(off, -1)
    after = (1 - torch.cumprod(off.flip(-1), -1)).flip(-1)
    return (before * after).sum(-1)


def _extent_proxy(profile_max: torch.Tensor) -> torch.Tensor:
    """(..., n) maxima of ink rows or columns -> (...,) the followed copy of an extent: the mean of the soft
    extent (gradients from every row/column) and the measure's own sub-pixel extent
    (glyphmetrics.subpixel_extent: exact, gradients from the crossings only). Measured on the fonts
    model (100 seeds, followed +2 std holding the other two, sub-pixel measures), weight / slant / width
    right way and leak: soft alone 95 / 100 / 94 %, 0.22 / 0.50 / 0.12; sub-pixel alone 96 / 100 / 97 %,
    0.29 / 0.53 / 0.17; the mean 97 / 99 / 95 %, 0.22 / 0.43 / 0.13."""
    from explorer.data.glyphmetrics import subpixel_extent
    return 0.5 * (_soft_extent(profile_max) + subpixel_extent(profile_max))


def _glyphs(chars: str) -> list[int]:
    return [_CHARS.index(c) for c in chars]


def _profile(k: torch.Tensor, chars: str, dim: int) -> torch.Tensor:
    """(B, 62, H, W) ink -> (B, len(chars), n) the row (dim -1) or column (dim -2) maxima of those glyphs
    without their specks, as the measures take them (glyphmetrics.profile_specks, found on the detached
    profile; gradients flow through the rest)."""
    from explorer.data.glyphmetrics import profile_specks
    p = k[:, _glyphs(chars)].amax(dim)
    return p.masked_fill(torch.from_numpy(profile_specks(p.detach().float().cpu().numpy())).to(p.device), 0.0)


def _font_proxies() -> tuple[dict[str, Proxy], dict[str, list[Proxy]]]:
    from explorer.data.glyphmetrics import CAP_GLYPHS, WIDTH_GLYPHS, XHEIGHT_GLYPHS

    def ink(x: torch.Tensor) -> torch.Tensor:
        return (x.float().clamp(-1, 1) + 1) / 2

    latest: list[object] = []                                       # [x, its extents] of the latest call

    def extents(x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every extent proxy of one x, computed once for all the proxies that use them."""
        if latest and latest[0] is x:
            return latest[1]                                         # type: ignore[return-value]
        k = ink(x)
        cap = _extent_proxy(_profile(k, CAP_GLYPHS, -1)).median(dim=1).values.clamp_min(1.0)
        out = {"cap": cap,                                          # (B,) soft cap height, px
               "widths": _extent_proxy(_profile(k, WIDTH_GLYPHS, -2)).sort(dim=1).values / cap[:, None],
               "x_height": _extent_proxy(_profile(k, XHEIGHT_GLYPHS, -1)).median(dim=1).values / cap}
        latest[:] = [x, out]
        return out

    def weight(x: torch.Tensor) -> torch.Tensor:
        k = ink(x)
        gx = k[..., :-1, 1:] - k[..., :-1, :-1]
        gy = k[..., 1:, :-1] - k[..., :-1, :-1]
        perimeter = torch.sqrt(gx * gx + gy * gy + 1e-12).sum((-1, -2))
        return (2 * k.sum((-1, -2)) / perimeter.clamp_min(_EPS)).mean(1) / extents(x)["cap"]

    def slant(x: torch.Tensor) -> torch.Tensor:
        from explorer.evaluation.style_consistency_loss import glyph_style
        return glyph_style(ink(x))["slant"].mean(1)

    mid = len(WIDTH_GLYPHS) // 2                                    # the median's rank (7 glyphs: 3)

    def width(x: torch.Tensor) -> torch.Tensor:                    # (B, 7) sorted glyph widths / cap height
        return extents(x)["widths"][:, mid]

    def x_height(x: torch.Tensor) -> torch.Tensor:
        return extents(x)["x_height"]

    proxies: dict[str, Proxy] = {"stroke_width": weight, "slant": slant, "width": width, "x_height_ratio": x_height}
    # held width also holds the glyph widths ranked just below and above the median: the median glyph
    # changes along a path, and holding it alone let width drift either way while slant moved
    def below(x: torch.Tensor) -> torch.Tensor:
        return extents(x)["widths"][:, mid - 1]

    def above(x: torch.Tensor) -> torch.Tensor:
        return extents(x)["widths"][:, mid + 1]

    companions: dict[str, list[Proxy]] = {"width": [below, above]}
    return proxies, companions


def _image_proxies(channels: int) -> dict[str, Proxy]:
    def rgb(x: torch.Tensor) -> torch.Tensor:                      # (B, H, W, C) in [0, 1]
        return ((x.float().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1)

    def luma(x: torch.Tensor) -> torch.Tensor:
        a = rgb(x)
        if channels == 3:
            return a @ torch.tensor([0.299, 0.587, 0.114], dtype=a.dtype, device=a.device)
        return a.mean(-1)

    def coverage(x: torch.Tensor) -> torch.Tensor:
        a = rgb(x)
        with torch.no_grad():
            border = torch.cat([a[:, 0], a[:, -1], a[:, 1:-1, 0], a[:, 1:-1, -1]], dim=1)   # (B, P, C)
            bg = border.median(dim=1).values                                               # (B, C)
        d = (a - bg[:, None, None, :]).abs().amax(-1)
        return (d / INK_SCALE).clamp(0, 1).mean((1, 2))

    def edges(x: torch.Tensor) -> torch.Tensor:
        lum = luma(x)
        gx, gy = lum[:, :-1, 1:] - lum[:, :-1, :-1], lum[:, 1:, :-1] - lum[:, :-1, :-1]
        return torch.sqrt(gx * gx + gy * gy + 1e-12).mean((1, 2))

    return {"brightness": lambda x: luma(x).mean((1, 2)),
            "contrast": lambda x: luma(x).flatten(1).std(dim=1, unbiased=False),
            "coverage": coverage, "edges": edges}


def proxies_for(G: Generator) -> dict[str, Proxy]:
    """The differentiable attribute stand-ins of G's images, keyed like the measured attributes."""
    from explorer.explore.attributes import GLYPH_CHANNELS
    if G.cfg.channels == GLYPH_CHANNELS:
        return _font_proxies()[0]
    return _image_proxies(G.cfg.channels)


def companions_for(G: Generator) -> dict[str, list[Proxy]]:
    """Extra stand-ins held along with an attribute whenever it is held ({key: [proxy, ...]}; fonts: width)."""
    from explorer.explore.attributes import GLYPH_CHANNELS
    return _font_proxies()[1] if G.cfg.channels == GLYPH_CHANNELS else {}


def followable(G: Generator) -> list[str]:
    """Attribute keys whose edits can follow G's images (see the module docstring)."""
    return list(proxies_for(G))


def _direction(G: Generator, ws: torch.Tensor, rows: torch.Tensor, fns: Sequence[Proxy]) -> torch.Tensor:
    """(B, width) unit steps that move fns[0] and hold fns[1:] to first order at ws (B, num_ws, width),
    the step added to the ws rows where `rows` (num_ws,) is 1. Zero where the image gives no gradient."""
    delta = torch.zeros(ws.shape[0], ws.shape[-1], dtype=ws.dtype, device=ws.device, requires_grad=True)
    x = G.synthesis(ws + rows[None, :, None] * delta[:, None, :])
    values = torch.stack([f(x) for f in fns], 1)                            # (B, m)
    J = torch.stack([torch.autograd.grad(values[:, j].sum(), delta, retain_graph=j < len(fns) - 1)[0]
                     for j in range(len(fns))], 1)                            # (B, m, width)
    J = torch.nan_to_num(J)
    v = torch.linalg.pinv(J.double())[:, :, 0].to(ws.dtype) if len(fns) > 1 else J[:, 0]
    n = v.norm(dim=1, keepdim=True)
    return torch.where(n > 1e-12, v / n.clamp_min(1e-12), torch.zeros_like(v))


def _rows(G: Generator, layer_start: int, layer_end: int | None, ws: torch.Tensor) -> torch.Tensor:
    rows = torch.zeros(G.num_ws, dtype=ws.dtype, device=ws.device)
    rows[layer_start:layer_end] = 1.0
    return rows


def _walk(G: Generator, ws: torch.Tensor, fns: Sequence[Proxy], rows: torch.Tensor, sign: float,
          lengths: Sequence[float]) -> list[torch.Tensor]:
    """Euler steps of the given lengths (w units) from ws, each re-aimed at the current image; the ws
    after every step (detached)."""
    out = []
    cur = ws
    for h in lengths:
        if h <= 0:
            out.append(cur)
            continue
        v = _direction(G, cur, rows, fns)
        cur = (cur + rows[None, :, None] * (sign * h) * v[:, None, :]).detach()
        out.append(cur)
    return out


def _lengths(amount: float, sigma: float, steps_per_std: int) -> list[float]:
    """Full steps of sigma / steps_per_std and one final partial step: |amount| * sigma in all."""
    h = sigma / steps_per_std
    full = int(math.floor(abs(amount) * steps_per_std + 1e-9))
    rest = abs(amount) * sigma - full * h
    return [h] * full + ([rest] if rest > 1e-9 * max(sigma, 1.0) else [])


def _prepare(G: Generator, key: str, hold: Sequence[str]) -> list[Proxy]:
    """[the moved attribute's proxy, then those held (each with its companions)]."""
    proxies, companions = proxies_for(G), companions_for(G)
    missing = [k for k in (key, *hold) if k not in proxies]
    if missing:
        raise ValueError(f"these attributes cannot be followed on this model: {', '.join(missing)} "
                         f"(it can follow: {', '.join(proxies)})")
    held = [k for k in dict.fromkeys(hold) if k != key]
    return [proxies[key], *(proxies[k] for k in held), *(c for k in held for c in companions.get(k, []))]


def follow(G: Generator, ws: torch.Tensor, key: str, amount: float, sigma: float, hold: Sequence[str] = (),
           layer_start: int = 0, layer_end: int | None = None, steps_per_std: int = STEPS_PER_STD) -> torch.Tensor:
    """ws (B, num_ws, width) after a followed edit of attribute `key` by `amount` std (sigma: the w
    length of one std, e.g. the attribute direction's Directions.sigma), holding the attributes in
    `hold` to first order, on the ws rows layer_start:layer_end. Deterministic; no gradients leak out
    (works under torch.inference_mode / no_grad). Raises ValueError for an attribute without a proxy."""
    fns = _prepare(G, key, hold)
    if amount == 0:
        return ws.clone()
    with torch.inference_mode(False), torch.enable_grad():
        start = ws.detach().clone().float()
        rows = _rows(G, layer_start, layer_end, start)
        path = _walk(G, start, fns, rows, 1.0 if amount > 0 else -1.0, _lengths(amount, float(sigma), steps_per_std))
        return (path[-1] if path else start).to(ws.dtype)


def follow_sweep(G: Generator, ws: torch.Tensor, key: str, amounts: Sequence[float], sigma: float,
                 hold: Sequence[str] = (), layer_start: int = 0, layer_end: int | None = None,
                 steps_per_std: int = STEPS_PER_STD) -> torch.Tensor:
    """ws (1, num_ws, width) without the edit -> (len(amounts), num_ws, width): what `follow` gives for
    each amount, walking each side once (amounts on the 1 / steps_per_std grid come out exactly as
    `follow` would give them; others take one partial step from the grid point below)."""
    fns = _prepare(G, key, hold)
    out: dict[float, torch.Tensor] = {}
    with torch.inference_mode(False), torch.enable_grad():
        start = ws.detach().clone().float()
        rows = _rows(G, layer_start, layer_end, start)
        h = float(sigma) / steps_per_std
        for sign in (1.0, -1.0):
            side = sorted({abs(float(a)) for a in amounts if (a > 0) == (sign > 0) and a != 0})
            if not side:
                continue
            grid = [start, *_walk(G, start, fns, rows, sign, [h] * int(math.floor(side[-1] * steps_per_std + 1e-9)))]
            for a in side:
                full = int(math.floor(a * steps_per_std + 1e-9))
                rest = a * float(sigma) - full * h
                tiny = rest <= 1e-9 * max(float(sigma), 1.0)
                out[sign * a] = grid[full] if tiny else _walk(G, grid[full], fns, rows, sign, [rest])[0]
        return torch.cat([out.get(float(a), start) if a != 0 else start for a in amounts]).to(ws.dtype)
