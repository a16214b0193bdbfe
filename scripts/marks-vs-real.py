"""How close the built ? ¿ ¡ (explorer/explore/question.py), ( ) / + = (drawn_marks.py) and ! (punctuation.py)
come to real fonts' own.

For each held-out face of the fonts dataset (families never trained on) whose font file maps the mark, the
mark is built from the face's own 62 rendered glyphs and compared with the font's real glyph, drawn by
FreeType at the dataset's scale: the IoU of their ink (>= 128) as placed, the IoU with the built mark's ink
box moved onto the real one's centre (the shape alone), the same for another family's real mark (the
previous face's with it: how much any real mark would match), and the differences of their tops and heights in
cap heights.

    .venv/bin/python scripts/marks-vs-real.py [--faces 273] [--split test] [--every 1] [--hook-share 0.6]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from explorer.data.fontrender import CAP_PX, render_chars
from explorer.data.fontstore import load_fonts
from explorer.explore import question
from explorer.explore.built_glyphs import complete
from explorer.explore.specimen import CHARS
from explorer.settings import data_dir

MARKS = "?\u00bf\u00a1()/+=!"


def _box(m: np.ndarray) -> tuple[int, int, int, int]:
    r, c = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
    return int(r[0]), int(r[-1]), int(c[0]), int(c[-1])


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def _centred(m: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Mask m moved so that its ink box's centre is on `on`'s ink box's centre."""
    b1, b2 = _box(m), _box(on)
    dy = round(((b2[0] + b2[1]) - (b1[0] + b1[1])) / 2)
    dx = round(((b2[2] + b2[3]) - (b1[2] + b1[3])) / 2)
    return np.roll(np.roll(m, dy, 0), dx, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--faces", type=int, default=273)
    ap.add_argument("--split", default="test", choices=("train", "test"))
    ap.add_argument("--every", type=int, default=1, help="every k-th face of the split")
    ap.add_argument("--hook-share", type=float, default=question.HOOK_SHARE, help="to fit it (on the train split)")
    args = ap.parse_args()
    question.HOOK_SHARE = args.hook_share
    fs = load_fonts(args.split)
    root = data_dir() / "fonts" / "pkgs"
    per: dict[str, list[tuple[float, ...]]] = {c: [] for c in MARKS}
    missing = 0
    previous: dict[str, np.ndarray] = {}
    faces = list(range(0, len(fs), args.every))[:args.faces]
    for k in faces:
        f = fs.faces[k]
        try:
            real = render_chars(root / f["package"] / f["file"], int(f.get("face_index", 0)), MARKS, float(f["ppem"]))
        except Exception:                                    # a file gone or unreadable: counted, skipped
            missing += 1
            continue
        stack, glyphs = complete(fs.glyphs[k].numpy(), CHARS, MARKS)
        for c in MARKS:
            if c not in real or c not in glyphs:
                continue
            ours, theirs = stack[glyphs.index(c)] >= 128, real[c][0] >= 128
            if not ours.any() or not theirs.any():
                continue
            b1, b2 = _box(ours), _box(theirs)
            stranger = previous.get(c)
            previous[c] = theirs
            if stranger is None or stranger is theirs:
                continue
            per[c].append((_iou(ours, theirs), _iou(_centred(ours, theirs), theirs),
                           _iou(_centred(stranger, theirs), theirs), (b1[0] - b2[0]) / CAP_PX,
                           ((b1[1] - b1[0]) - (b2[1] - b2[0])) / CAP_PX))
    print(f"{args.split} faces: {len(faces)}, hook share {args.hook_share} ({missing} font files unreadable);"
          " medians, cap heights")
    print("mark  faces  IoU as placed  IoU box-centred  another real, box-centred  top ours-real  height ours-real")
    for c, rows in per.items():
        if rows:
            cols = list(zip(*rows))
            print(f"{c:4}  {len(rows):5}  {statistics.median(cols[0]):13.3f}  {statistics.median(cols[1]):15.3f}"
                  f"  {statistics.median(cols[2]):26.3f}  {statistics.median(cols[3]):+13.3f}"
                  f"  {statistics.median(cols[4]):+16.3f}")


if __name__ == "__main__":
    main()
