"""How close the composed accented letters (explorer/explore/accents.py) come to real fonts' own.

For each held-out face of the fonts dataset (families never trained on) whose font file maps the letter,
the letter is composed from the face's own 62 rendered glyphs and compared with the font's real glyph,
drawn by FreeType at the dataset's scale and placed at the same pen origin as its base letter. Only the
mark is compared (ink >= 128 that the base letter does not have): its IoU with the real mark, the
distance between the two marks' centres and the difference of their heights, in cap heights.

    .venv/bin/python scripts/accents-vs-real.py [--faces 273] [--chars "éèêëüñçåőžąďİ"]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
from scipy import ndimage

from explorer.data.fontrender import CAP_PX, render_chars
from explorer.data.fontstore import load_fonts
from explorer.explore.accents import ACCENTED, accented_cells, base_of
from explorer.explore.specimen import CHARS
from explorer.settings import data_dir

DEFAULT = "áàâäãåéèêëíîïóôöõúüñçýÿőűžščřůďťąęİ"


def _mark(cell: np.ndarray, base: np.ndarray) -> np.ndarray:
    """The ink of an accented letter's cell that its base letter (grown by a pixel) does not have."""
    return (cell >= 128) & ~ndimage.binary_dilation(base >= 64, np.ones((3, 3)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--faces", type=int, default=273)
    ap.add_argument("--chars", default=DEFAULT)
    ap.add_argument("--split", default="test", choices=("train", "test"))
    ap.add_argument("--every", type=int, default=1, help="every k-th face of the split")
    args = ap.parse_args()
    chars = "".join(c for c in args.chars if c in ACCENTED)
    fs = load_fonts(args.split)
    root = data_dir() / "fonts" / "pkgs"
    per: dict[str, list[tuple[float, ...]]] = {c: [] for c in chars}
    missing = 0
    faces = list(range(0, len(fs), args.every))[:args.faces]
    leaning = []
    for k in faces:
        f = fs.faces[k]
        stack = fs.glyphs[k].numpy()
        try:
            real = render_chars(root / f["package"] / f["file"], int(f.get("face_index", 0)),
                                chars + "".join({base_of(c) for c in chars}), float(f["ppem"]))
        except Exception:                                    # a file gone or unreadable: counted, skipped
            missing += 1
            continue
        made = accented_cells(stack, CHARS, chars)
        for c in chars:
            b = base_of(c)
            if c not in real or c not in made or b not in real:
                continue
            cell, _, origin = real[c]
            shift = int(round(real[b][2] - origin))          # the real letter at its base's pen origin
            cell = np.roll(cell, shift, 1)
            base = stack[CHARS.index(b)]
            mine, theirs = _mark(made[c], base), _mark(cell, base)
            if not theirs.any() or not mine.any():
                continue
            iou = float((mine & theirs).sum() / (mine | theirs).sum())
            cy = [np.argwhere(m).mean(0) for m in (mine, theirs)]
            dy, dx = (cy[0] - cy[1]) / CAP_PX                # ours minus theirs: + is lower / to the right
            dist = float(np.hypot(dy, dx))
            rows = [np.flatnonzero(m.any(1)) for m in (mine, theirs)]
            dh = float((rows[0][-1] - rows[0][0]) - (rows[1][-1] - rows[1][0])) / CAP_PX
            per[c].append((iou, dist, dh, float(dy), float(dx)))
            leaning.append((abs(float(f.get("italic_angle") or 0.0)) > 1, float(dx)))
    print(f"faces {len(faces)} of the {args.split} split, unreadable files {missing}")
    print("char  n    medians: mark IoU, centre distance, ours lower by, ours right by, height ours - theirs "
          "(cap heights)")
    allv = []
    for c in chars:
        v = per[c]
        if not v:
            continue
        allv += v
        print(f"{c}   {len(v):4d}  {statistics.median(x[0] for x in v):.3f}  "
              f"{statistics.median(x[1] for x in v):.3f}  {statistics.median(x[3] for x in v):+.3f}  "
              f"{statistics.median(x[4] for x in v):+.3f}  {statistics.median(x[2] for x in v):+.3f}")
    print(f"all {len(allv)}: IoU median {statistics.median(x[0] for x in allv):.3f}, "
          f"centre within 0.1 cap height {100 * np.mean([x[1] <= 0.1 for x in allv]):.1f} %, "
          f"centre distance median {statistics.median(x[1] for x in allv):.3f} (ours lower by "
          f"{statistics.median(x[3] for x in allv):+.3f}, right by {statistics.median(x[4] for x in allv):+.3f}), "
          f"height ours - theirs {statistics.median(x[2] for x in allv):+.3f}")
    for lean, name in ((False, "upright"), (True, "italic (italicAngle over 1 degree)")):
        dx = [d for it, d in leaning if it == lean]
        if dx:
            print(f"{name}: {len(dx)} marks, ours right by {statistics.median(dx):+.3f} (median)")


if __name__ == "__main__":
    main()
