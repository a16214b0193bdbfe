"""How close the automatic kerning (explorer/explore/kerning.py) comes to real fonts' own kerning.

For faces of the fonts dataset whose font file kerns, each pair below is shaped by HarfBuzz (uharfbuzz)
with and without the "kern" feature; the difference of the advances, in px at the dataset's scale (cap
height 32 px), is the font's kern. Ours is computed from the face's rendered 62 glyphs and its own advance
widths (`real_metrics`), so only the kerning is compared, not the spacing. Prints the mean absolute error
against the real kerns (and against no kerning at all), their correlation, and per pair the medians.

    .venv/bin/python scripts/kerning-vs-real.py [--split test] [--every 1] [--pairs all|classic|common]
        [--reach 2] [--strength 0.4] [--dead-zone 0]
"""

from __future__ import annotations

import argparse

import numpy as np
import uharfbuzz as hb

from explorer.data.fontstore import load_fonts
from explorer.explore import kerning
from explorer.explore.specimen import CHARS, real_metrics
from explorer.settings import data_dir


def words(text: str) -> list[str]:
    return text.split()



PAIRS = words("AV AW AY AT Av Aw Ay LT LV LW LY Ly PA TA Ta Te To Tr Tu Tw Ty VA Va Ve Vo WA Wa We Wo YA Ya Ye Yo "
         "Yu FA Fa Fe Fo RT RV RW RY LO OA OV OT OY DA HH nn oo HO no On ll il mn ho bo HI NO EE ss tt")
COMMON = words("th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le ve co "
               "me de hi ri ro ic ne ea ra ce li ch be ma si om ur Th He In Wh It An Th Ma Co St Be 19 20 10 ly "
               "ry wa yo av ew ok ka ky ft fa fo rt rv rw ck")   # common bigrams: mostly left alone


ALL = list(dict.fromkeys(PAIRS + COMMON))


def real_kerns(path: str, index: int, ppem: float) -> dict[str, float]:
    """{pair: kern px} of a font file's face `index` at `ppem` px per em, by HarfBuzz (kern on - off)."""
    face = hb.Face(hb.Blob.from_file_path(path), index)
    font = hb.Font(face)
    out = {}
    for p in ALL:
        adv = []
        for feats in ({"kern": True}, {"kern": False}):
            buf = hb.Buffer()
            buf.add_str(p)
            buf.guess_segment_properties()
            hb.shape(font, buf, feats)
            adv.append(buf.glyph_positions[0].x_advance)
        out[p] = (adv[0] - adv[1]) * ppem / face.upem
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="test", choices=("train", "test"))
    ap.add_argument("--every", type=int, default=1, help="every k-th face of the split")
    ap.add_argument("--reach", type=int, default=kerning.REACH)
    ap.add_argument("--strength", type=float, default=kerning.STRENGTH)
    ap.add_argument("--dead-zone", type=float, default=kerning.DEAD_ZONE)
    ap.add_argument("--pairs", default="all", choices=("all", "classic", "common"))
    args = ap.parse_args()
    kerning.REACH, kerning.STRENGTH, kerning.DEAD_ZONE = args.reach, args.strength, args.dead_zone
    pairs = {"all": ALL, "classic": PAIRS, "common": COMMON}[args.pairs]
    fs = load_fonts(args.split)
    root = data_dir() / "fonts" / "pkgs"
    real, ours = [], []
    faces = unreadable = 0
    for k in range(0, len(fs), args.every):
        f = fs.faces[k]
        try:
            theirs = real_kerns(str(root / f["package"] / f["file"]), int(f.get("face_index", 0)), float(f["ppem"]))
        except Exception:                                     # a file gone or unreadable: counted, skipped
            unreadable += 1
            continue
        if not any(theirs.values()):                          # a face without kerning says nothing here
            continue
        faces += 1
        stack = fs.glyphs[k].numpy()
        mine = kerning.pair_kerns(stack, real_metrics(stack, fs.advance[k], fs.origin_x[k]), CHARS,
                                  [(p[0], p[1]) for p in pairs])
        real.append([theirs[p] for p in pairs])
        ours.append([mine.get((p[0], p[1]), 0.0) for p in pairs])
    r, o = np.array(real), np.array(ours)
    print(f"{args.split}: {faces} faces that kern (every {args.every}th, {unreadable} unreadable), "
          f"{len(pairs)} pairs ({args.pairs}); "
          f"reach {args.reach}, strength {args.strength}, dead zone {args.dead_zone}; px at cap height 32")
    print(f"mean absolute error: ours {np.abs(r - o).mean():.3f}, no kerning {np.abs(r).mean():.3f}; "
          f"correlation {np.corrcoef(r.ravel(), o.ravel())[0, 1]:.3f}")
    kerned = r < -0.5
    print(f"pairs the font kerns by > 0.5 px: {kerned.mean():.1%}; ours kerns {(o[kerned] < 0).mean():.1%} of them; "
          f"of the pairs it leaves alone (|kern| < 0.1 px) ours kerns {(o[np.abs(r) < 0.1] < 0).mean():.1%}")
    print("pair  real median  ours median")
    for p, a, b in zip(pairs, np.median(r, 0), np.median(o, 0)):
        print(f"{p}    {a:+.2f}       {b:+.2f}")


if __name__ == "__main__":
    main()
