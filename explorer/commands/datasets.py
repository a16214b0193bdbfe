"""`latent-explorer datasets`: build a dataset on demand (emoji from the Noto Color Emoji font, typefaces
from Debian font packages).

    latent-explorer datasets fonts --workers 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


def _nearest_index(folder: str) -> float | None:
    """Build the "nearest real fonts" index of a new fonts dataset now (explore/nearest.py caches it beside
    the dataset), so no designer waits for it on the Font panel's first view: its seconds, or None (a set
    with no train faces)."""
    from explorer.explore.nearest import load_index
    t0 = time.perf_counter()
    try:
        load_index(folder)
    except (FileNotFoundError, ValueError) as e:
        print(f"nearest-fonts index not built: {e}", file=sys.stderr)
        return None
    return round(time.perf_counter() - t0, 1)


def cmd_datasets(a: argparse.Namespace) -> int:
    """`datasets`: build the emoji or fonts dataset, with its figures; exit code."""
    if a.name == "fonts":
        from explorer.data.fonts import build_fonts
        info = build_fonts(out=a.out, no_tex=a.no_tex, limit_packages=a.limit_packages, workers=a.workers)
        info["nearest_index_s"] = _nearest_index(info["out"])
        if a.json:
            print(json.dumps(info))
        else:
            print(f"{info['kept']} faces, {info['families']} families (train {info['splits']['train']}, test "
                  f"{info['splits']['test']}); dropped {info['dropped']} -> {info['out']} in {info['seconds']} s"
                  + ("" if info["nearest_index_s"] is None else f"; nearest-fonts index {info['nearest_index_s']} s"))
        return 0
    from explorer.data.emoji import build_emoji

    def show(i: int, n: int) -> None:
        print(f"\rrendering {i}/{n}", end="" if i < n else "\n", file=sys.stderr, flush=True)

    info = build_emoji(resolution=a.resolution, out=a.out, emoji_test=a.emoji_test,
                       progress=None if a.json else show)
    if a.json:
        print(json.dumps(info))
    else:
        print(f"{info['count']} emoji images ({info['resolution']}x{info['resolution']} RGB) from "
              f"{info['candidates']} candidates; dropped {info['dropped']}; {len(info['class_names'])} groups "
              f"{info['class_counts']} -> {info['path']} in {info['seconds']} s")
    return 0


def add_parsers(sub: Any) -> None:
    """`latent-explorer datasets`' options."""
    d = sub.add_parser("datasets", help="build a dataset on demand (emoji: from the Noto Color Emoji font; "
                       "fonts: typefaces from Debian font packages)")
    d.add_argument("name", choices=("emoji", "fonts"))
    d.add_argument("--resolution", type=int, default=64, help="emoji: image side")
    d.add_argument("--out", help="emoji: output .safetensors (default <data>/datasets/emoji-<res>.safetensors); "
                   "fonts: output folder (default <data>/datasets/fonts, fonts-notex with --no-tex)")
    d.add_argument("--no-tex", action="store_true", help="fonts: the lighter package list without TeX Live")
    d.add_argument("--limit-packages", type=int, help="fonts: only the first N packages of the list")
    d.add_argument("--workers", type=int, default=1, help="fonts: rendering processes")
    d.add_argument("--emoji-test", default="/usr/share/unicode/emoji/emoji-test.txt",
                   help="Unicode's emoji-test.txt (sequences and groups; Debian's unicode-data)")
    d.add_argument("--json", action="store_true")
    d.set_defaults(fn=cmd_datasets)
