"""Typeface attributes measured from glyph stacks: stroke width, slant, width, x-height ratio, contrast.

Works on real faces from the fonts dataset and on generated ones alike: every function takes a
glyph stack of shape (62, H, W) (one face) or (N, 62, H, W) (a batch), as a numpy array or a CPU
torch tensor, either uint8 (0 = background, 255 = full ink) or float ink in [0, 1] (a generator's
[-1, 1] output must be mapped with (x + 1) / 2 first, and inverted if it draws dark on light).
Glyph order is `CHARS` (A-Z a-z 0-9). Measures are scale-free (relative to the measured cap
height), so faces the dataset had to shrink to fit the cell measure like the others.

Definitions (ink = pixel value in [0, 1]; "ink rows/columns" = those whose maximum is >= 0.5):
- extent (px) of a glyph's rows or columns: from the first to the last ink row/column, each end placed
  where the profile of row (column) maxima crosses 0.5, interpolated linearly between the pixel centres
  on either side of it (an edge's sub-pixel position, as in edge localisation). A hard-edged glyph gets
  last - first + 1, as counting pixels gives; a half-inked boundary column moves it by half a pixel.
  (Integer extents stepped by whole pixels, so small edits of width often measured as no change at all:
  11 of the 18 width edits that missed on the fonts model changed neither cap height nor width in px.)
  Measures version `MEASURES_VERSION` (1: integer extents; 2: sub-pixel extents; 3: specks left out;
  4: the generic image measures per cell added; 5: symmetry on the upright-symmetric glyphs only).
- specks: the glyphs whose extents are measured (`EXTENT_GLYPHS`: H E I T N O U n o u x z v w, each one
  connected shape in a real face, so its row and column profiles are each one run) are measured without
  their specks (`profile_specks`): a run of ink rows (columns) shorter than `SPECK_SHARE` of the glyph's
  longest run and parted from every run at least that long by more than `SPECK_GAP` rows (columns) without
  ink. The fonts generator leaves stray dots, most often in the cell's border rows and columns: they made
  the x-height ratio of every generated face of 256 measure the extent from row 0 (0.49 median error, 3.6
  attribute std), and a dot 13 rows above an H made the cap height (a median of four) jump by a fifth in
  one small step of an edit, so its measured width fell while the glyphs widened. The 273 held-out real
  faces measure exactly as before.
- cap height (px): median ink-row extent of the flat-topped capitals H E I T.
- stroke width: per glyph 2 * sum(ink) / sum(|grad ink|) (area over half the perimeter: a stroke of
  width w and length L >> w gives w), face value = median over the 62 glyphs / cap height.
- slant (degrees, > 0 leans right): per glyph atan of the ink-weighted regression slope of x on
  height (cov(x, y_up) / var(y_up)), measured on glyphs that are mirror-symmetric when upright
  (`SLANT_GLYPHS`, NaN on the others); face value = their median.
- width: ink-column extent of H N O U n o u / cap height; face value = their median.
- x-height ratio: median ink-row extent of x z v w / cap height.
- contrast (thick / thin): on O and o, the side strokes' thickness (ink summed along the 3 rows
  through the middle of the ink box, left and right halves averaged) over the top and bottom
  strokes' thickness (the same down the 3 middle columns); ~1 for monoline, 2-5 for Didone.
- The generic image measures (`explorer/explore/attributes.py`), per glyph cell (`cells=True`), face
  value = mean over the glyphs that have ink:
  - edges: mean ink gradient magnitude per pixel of the cell (the perimeter the stroke width divides by);
  - aspect: log(horizontal / vertical spread of the ink), the spreads being standard deviations
    (+ 0.25 px² each, so a dot is 0);
  - symmetry: left-right mirror agreement of the ink, 1 - sum|a - mirror(a)| / sum(a + mirror(a)),
    mirrored about the glyph's own ink centroid (to half a pixel), not the cell's centre, so where the
    glyph sits in its cell does not count; on the glyphs that are mirror-symmetric when upright
    (`SLANT_GLYPHS`, NaN on the others, whose agreement is the letter's shape more than the face's style):
    an upright A, O, H, V is ~1, a slanted, calligraphic or stressed one less.

    from explorer.data.glyphmetrics import face_attributes, glyph_attributes, attribute_spread
    face_attributes(stack)     # {"stroke_width": (N,), "slant": (N,), ...}
"""

from __future__ import annotations

import string
import warnings
from typing import Any

import numpy as np
import torch

CHARS = string.ascii_uppercase + string.ascii_lowercase + string.digits
ATTRIBUTES = ("stroke_width", "slant", "width", "x_height_ratio", "contrast")
CELL_ATTRIBUTES = ("edges", "aspect", "symmetry")        # generic image measures, per glyph cell
CAP_GLYPHS = "HEIT"
SLANT_GLYPHS = "AHIMOTUVWXYiovwx08"
WIDTH_GLYPHS = "HNOUnou"
XHEIGHT_GLYPHS = "xzvw"
CONTRAST_GLYPHS = "Oo"
EXTENT_GLYPHS = "".join(dict.fromkeys(CAP_GLYPHS + WIDTH_GLYPHS + XHEIGHT_GLYPHS))
SPECK_SHARE = 0.25          # a run of ink rows (columns) under this share of the glyph's longest run may be a speck ...
SPECK_GAP = 2               # ... and is one when more than this many rows (columns) without ink part it from every longer run
SPECK_FAINT = 0.1           # "without ink": a row (column) maximum below this; fainter ink links what it joins
MEASURES_VERSION = 5        # part of the key of cached attribute directions (versions: module docstring)


def _idx(chars: str) -> list[int]:
    return [CHARS.index(c) for c in chars]


def as_ink(stack: Any) -> np.ndarray:
    """(N, 62, H, W) float32 ink in [0, 1] from a (62, H, W) or (N, 62, H, W) uint8/float array or tensor."""
    if hasattr(stack, "detach"):
        stack = stack.detach().cpu().numpy()
    a = np.asarray(stack)
    ink = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)
    if ink.ndim == 3:
        ink = ink[None]
    if ink.ndim != 4 or ink.shape[1] != len(CHARS):
        raise ValueError(f"expected a glyph stack (62, H, W) or (N, 62, H, W), got shape {a.shape}")
    return ink


def _t(ink: np.ndarray) -> torch.Tensor:
    # reductions over (N, 62, H, W) stacks run in torch: multi-threaded and without numpy's strided
    # temporaries (a row maximum over 16 faces: 7.0 ms numpy, 0.4 ms torch on 2 cores)
    return torch.from_numpy(np.ascontiguousarray(ink, dtype=np.float32))


def subpixel_extent(profile: torch.Tensor) -> torch.Tensor:
    """(..., n) maxima of ink rows or columns in [0, 1] -> (...,) extent in px between the profile's first
    and last crossings of 0.5, each interpolated linearly between the pixel centres around it (0 where
    no value reaches 0.5; outside the cell the profile counts as 0). Differentiable in the four
    profile values next to the two crossings."""
    n = profile.shape[-1]
    on = profile.detach() >= 0.5
    zero = torch.zeros_like(profile[..., 0])
    first = on.to(torch.uint8).argmax(-1)
    last = n - 1 - on.flip(-1).to(torch.uint8).argmax(-1)

    def at(i: torch.Tensor) -> torch.Tensor:
        inside = (i >= 0) & (i < n)
        return torch.where(inside, profile.gather(-1, i.clamp(0, n - 1)[..., None])[..., 0], zero)

    p0, p0_out = at(first), at(first - 1)                     # p0 >= 0.5 > p0_out
    p1, p1_out = at(last), at(last + 1)
    left = (first - 1).to(profile.dtype) + ((0.5 - p0_out) / (p0 - p0_out).clamp_min(1e-6)).clamp(0, 1)
    right = last.to(profile.dtype) + ((p1 - 0.5) / (p1 - p1_out).clamp_min(1e-6)).clamp(0, 1)
    return torch.where(on.any(-1), right - left, zero)


def profile_specks(profile: np.ndarray) -> np.ndarray:
    """(..., n) maxima of a glyph's ink rows or columns in [0, 1] -> bool (..., n): True on its specks and
    on the one position either side of them (see the module docstring). The profile falls into groups,
    runs of values >= SPECK_FAINT (a faint hairline links the parts it joins); a group's length is its
    number of values >= 0.5; a group is a speck when it is shorter than SPECK_SHARE of the longest one and
    more than SPECK_GAP positions below SPECK_FAINT part it from every group at least that long. A profile
    without ink has none."""
    p = np.asarray(profile)
    flat = p.reshape(-1, p.shape[-1])
    m, n = flat.shape
    if m == 0 or n == 0:
        return np.zeros(p.shape, bool)
    linked, ink = flat >= SPECK_FAINT, flat >= 0.5
    start = linked & ~np.pad(linked, ((0, 0), (1, 0)))[:, :-1]
    group = np.cumsum(start, axis=1) * linked                         # 1, 2, ... along each profile; 0 off
    ids = group + np.arange(m)[:, None] * (n + 1)                      # unique per profile
    length = np.bincount(ids[ink], minlength=m * (n + 1)).reshape(m, n + 1)
    length[:, 0] = 0
    big_group = (length >= SPECK_SHARE * length.max(axis=1, keepdims=True)) & (length > 0)
    big = np.take_along_axis(big_group, group.astype(np.intp), axis=1)   # (m, n) positions in a long group
    pos = np.broadcast_to(np.arange(n), (m, n))
    last = np.maximum.accumulate(np.where(big, pos, -10 * n), axis=1)                 # nearest long group left
    nxt = np.minimum.accumulate(np.where(big, pos, 10 * n)[:, ::-1], axis=1)[:, ::-1]   # ... and right
    dist = np.minimum(pos - last, nxt - pos)                          # positions to the nearest long group
    near = np.full(m * (n + 1), 10 * n)
    np.minimum.at(near, ids[linked], dist[linked])
    speck = linked & (near[ids] > SPECK_GAP + 1) & (length.ravel()[ids] > 0)
    if speck.any():
        speck = speck | np.pad(speck, ((0, 0), (1, 0)))[:, :-1] | np.pad(speck, ((0, 0), (0, 1)))[:, 1:]
    return speck.reshape(p.shape)


def _clean_profile(profile: torch.Tensor, chars: str | None = None) -> torch.Tensor:
    """(N, 62, n) profiles -> the same with the specks of the glyphs in `chars` (default EXTENT_GLYPHS) at 0."""
    idx = _idx(EXTENT_GLYPHS if chars is None else chars)
    part = profile[:, idx]
    out = profile.clone()
    out[:, idx] = part.masked_fill(torch.from_numpy(profile_specks(part.detach().cpu().numpy())), 0.0)
    return out


def ink_heights(ink: np.ndarray, specks: bool = True) -> np.ndarray:
    """(N, 62) ink-row extent in px (sub-pixel: `subpixel_extent`); specks=False: without the specks of
    EXTENT_GLYPHS (`profile_specks`), as the measures take them."""
    rows = _t(ink).amax(-1)
    return subpixel_extent(rows if specks else _clean_profile(rows)).numpy()


def ink_widths(ink: np.ndarray, specks: bool = True) -> np.ndarray:
    """(N, 62) ink-column extent in px (sub-pixel: `subpixel_extent`); specks=False as in `ink_heights`."""
    cols = _t(ink).amax(-2)
    return subpixel_extent(cols if specks else _clean_profile(cols)).numpy()


def cap_height(stack: Any) -> np.ndarray:
    """(N,) cap height in px (median ink height of H E I T, specks left out)."""
    return np.median(ink_heights(as_ink(stack), specks=False)[:, _idx(CAP_GLYPHS)], axis=1)


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan).astype(np.float32)


def _perimeter(ink: np.ndarray) -> np.ndarray:
    """(N, k, H, W) ink -> (N, k) sum of the ink's gradient magnitude (forward differences)."""
    # in torch: its fused, multi-threaded hypot is 1.5-3x numpy's temporaries here (the costliest measure)
    x = _t(ink)
    gx = x[..., :-1, 1:] - x[..., :-1, :-1]
    gy = x[..., 1:, :-1] - x[..., :-1, :-1]
    return torch.hypot(gx, gy).sum((-1, -2)).numpy()


def _stroke(ink: np.ndarray, perimeter: np.ndarray | None = None) -> np.ndarray:
    perimeter = _perimeter(ink) if perimeter is None else perimeter
    return _safe_div(2 * _t(ink).sum((-1, -2)).numpy(), perimeter)


def _aspect(ink: np.ndarray) -> np.ndarray:
    """(N, k, H, W) ink -> (N, k) log(horizontal / vertical ink spread) (module docstring); 0 for a blank glyph."""
    x = _t(ink)
    h, w = x.shape[-2:]
    cols, rows = x.sum(-2), x.sum(-1)                                    # (N, k, W), (N, k, H) ink profiles
    m = cols.sum(-1).clamp_min(1e-6)
    xs, ys = torch.arange(w, dtype=torch.float32), torch.arange(h, dtype=torch.float32)
    cx, cy = (cols @ xs) / m, (rows @ ys) / m
    vx = (cols * (xs - cx[..., None]) ** 2).sum(-1) / m
    vy = (rows * (ys - cy[..., None]) ** 2).sum(-1) / m
    return (0.5 * torch.log((vx + 0.25) / (vy + 0.25))).numpy()


def _symmetry(ink: np.ndarray) -> np.ndarray:
    """(N, k, H, W) ink -> (N, k) mirror agreement about each glyph's ink centroid (module docstring);
    NaN for a blank glyph."""
    x = _t(ink)
    h, w = x.shape[-2:]
    flat = x.reshape(-1, h, w)
    cols = flat.sum(-2)                                                  # (G, W)
    cx = (cols @ torch.arange(w, dtype=torch.float32)) / cols.sum(-1).clamp_min(1e-6)
    # the mirror image about column cx is the flipped glyph shifted by round(2 cx) - (W - 1): one shift per
    # glyph, so glyphs are grouped by shift (a few dozen distinct ones) instead of gathering per pixel
    flipped = flat.flip(-1)
    shift = torch.round(2 * cx).long() - (w - 1)
    diff, total = torch.zeros(flat.shape[0]), torch.zeros(flat.shape[0])
    for s in shift.unique().tolist():
        idx = (shift == s).nonzero()[:, 0]
        a, f = flat[idx], flipped[idx]
        mirror = torch.zeros_like(a)
        if 0 <= s < w:
            mirror[..., s:] = f[..., :w - s]
        elif -w < s < 0:
            mirror[..., :w + s] = f[..., -s:]
        diff[idx] = (a - mirror).abs().sum((-1, -2))
        total[idx] = (a + mirror).sum((-1, -2))
    sym = torch.where(total > 0, 1.0 - diff / total.clamp_min(1e-6), torch.nan)
    return sym.reshape(x.shape[:-2]).numpy()


def _slant(ink: np.ndarray) -> np.ndarray:
    # the ink-weighted moments from row and column profiles (sum_x ink x, sum_y ink, ...) in torch, then
    # the centred (co)variances in float64: the same regression as summing ink * dx * dy over the pixels
    h, w = ink.shape[-2:]
    x = _t(ink)
    xs = torch.arange(w, dtype=torch.float32) - (w - 1) / 2            # centred coordinates: no cancellation
    ys = (h - 1) / 2 - torch.arange(h, dtype=torch.float32)           # y up
    rows = x.sum(-1).double()                                          # (N, k, H) ink per row
    row_x = (x @ xs).double()                                          # (N, k, H) sum_x ink * x per row
    ys64 = ys.double()
    m = rows.sum(-1)
    sx, sy = row_x.sum(-1), rows @ ys64
    sxy, syy = row_x @ ys64, rows @ (ys64 * ys64)
    with np.errstate(divide="ignore", invalid="ignore"):
        m_ = m.numpy()
        cov = (sxy - sx * sy / m).numpy()
        var = (syy - sy * sy / m).numpy()
        ok = m_ > 0
        cov, var = np.where(ok, cov, np.nan), np.where(ok, var, np.nan)
    return np.degrees(np.arctan(_safe_div(cov, var))).astype(np.float32)


def _contrast(ink: np.ndarray) -> np.ndarray:
    """(N, k) thick/thin ratio of round glyphs (see module docstring)."""
    rows_on = ink.max(-1) >= 0.5
    cols_on = ink.max(-2) >= 0.5
    out = np.full(ink.shape[:2], np.nan, dtype=np.float32)
    for n in range(ink.shape[0]):
        for g in range(ink.shape[1]):
            r, c = np.flatnonzero(rows_on[n, g]), np.flatnonzero(cols_on[n, g])
            if len(r) < 6 or len(c) < 6:
                continue
            cy, cx = (r[0] + r[-1]) // 2, (c[0] + c[-1]) // 2
            band_r = ink[n, g, cy - 1:cy + 2, c[0]:c[-1] + 1]
            band_c = ink[n, g, r[0]:r[-1] + 1, cx - 1:cx + 2]
            half_r, half_c = band_r.shape[1] // 2, band_c.shape[0] // 2
            side = (band_r[:, :half_r].sum() + band_r[:, half_r:].sum()) / (2 * band_r.shape[0])
            topbot = (band_c[:half_c].sum() + band_c[half_c:].sum()) / (2 * band_c.shape[1])
            if topbot > 0:
                out[n, g] = side / topbot
    return out


def glyph_attributes(stack: Any, chunk: int = 64, cells: bool = False) -> dict[str, np.ndarray]:
    """Per-glyph values, each (N, 62), NaN where an attribute is not defined for a glyph.

    stroke_width and width are relative to the face's cap height; slant in degrees; contrast only
    on O and o; x_height_ratio only on x z v w; `cells=True` adds the generic image measures per cell
    (CELL_ATTRIBUTES, module docstring; symmetry only on SLANT_GLYPHS). Works through `chunk` faces at a
    time (memory)."""
    if hasattr(stack, "detach"):
        stack = stack.detach().cpu().numpy()
    a = np.asarray(stack)
    if a.ndim == 4 and len(a) > chunk:
        parts = [_glyph_attributes(a[s:s + chunk], cells) for s in range(0, len(a), chunk)]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return _glyph_attributes(a, cells)


def _glyph_attributes(stack: np.ndarray, cells: bool = False) -> dict[str, np.ndarray]:
    ink = as_ink(stack)
    heights = ink_heights(ink, specks=False)                     # extents of EXTENT_GLYPHS without specks
    cap = np.median(heights[:, _idx(CAP_GLYPHS)], axis=1)[:, None]
    perimeter = _perimeter(ink)
    out = {"stroke_width": _safe_div(_stroke(ink, perimeter), np.broadcast_to(cap, ink.shape[:2]))}
    if cells:
        h, w = ink.shape[-2:]
        out["edges"] = (perimeter / float((h - 1) * (w - 1))).astype(np.float32)
        out["aspect"] = _aspect(ink).astype(np.float32)
        sym = np.full(ink.shape[:2], np.nan, dtype=np.float32)
        sym[:, _idx(SLANT_GLYPHS)] = _symmetry(ink[:, _idx(SLANT_GLYPHS)])
        out["symmetry"] = sym
    sl = np.full(ink.shape[:2], np.nan, dtype=np.float32)
    sl[:, _idx(SLANT_GLYPHS)] = _slant(ink[:, _idx(SLANT_GLYPHS)])
    out["slant"] = sl
    out["width"] = _safe_div(ink_widths(ink, specks=False), np.broadcast_to(cap, ink.shape[:2]))
    xh = np.full(ink.shape[:2], np.nan, dtype=np.float32)
    xh[:, _idx(XHEIGHT_GLYPHS)] = _safe_div(heights[:, _idx(XHEIGHT_GLYPHS)],
                                             np.broadcast_to(cap, (ink.shape[0], len(XHEIGHT_GLYPHS))))
    out["x_height_ratio"] = xh
    co = np.full(ink.shape[:2], np.nan, dtype=np.float32)
    co[:, _idx(CONTRAST_GLYPHS)] = _contrast(ink[:, _idx(CONTRAST_GLYPHS)])
    out["contrast"] = co
    return out


def face_attributes(stack: Any, cells: bool = False) -> dict[str, np.ndarray]:
    """Per-face attributes, each (N,) float32 (NaN when undefined, e.g. a blank cap height): ATTRIBUTES,
    medians over their glyphs, and with `cells=True` also CELL_ATTRIBUTES, means over the glyphs with ink."""
    per = glyph_attributes(stack, cells=cells)
    per["width"] = per["width"][:, _idx(WIDTH_GLYPHS)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)          # all-NaN rows give NaN, as documented
        out = {k: np.nanmedian(per[k], axis=1).astype(np.float32) for k in ATTRIBUTES}
        if cells:
            has_ink = per["edges"] > 0                           # blank glyphs (a model's missing ones) left out
            for k in CELL_ATTRIBUTES:
                out[k] = np.nanmean(np.where(has_ink, per[k], np.nan), axis=1).astype(np.float32)
        return out


def attribute_spread(stack: Any) -> dict[str, np.ndarray]:
    """Within-face spread, (N,) each: the standard deviation across a face's glyphs of per-glyph
    stroke width (cap heights), slant (degrees) and log contrast (the style-consistency measure: real
    faces set the scale). Contrast is a ratio, so its spread is taken on a log scale: O at 2:1 and o at
    4:1 differ as much as 1:1 and 2:1, and a thin stroke of a fraction of a pixel (ratio 50 or more on
    a noisy generated glyph) cannot dominate a mean over faces, as it did on the linear scale (the
    generated/real ratio was 412x there, 10x on the log scale, for the same faces)."""
    per = glyph_attributes(stack)
    co = per["contrast"]
    per["contrast"] = np.log(np.where(co > 0, co, np.nan))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return {k: np.nanstd(per[k], axis=1).astype(np.float32) for k in ("stroke_width", "slant", "contrast")}
