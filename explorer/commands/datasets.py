"""`latent-explorer datasets`: build a dataset on demand (emoji from the Noto Color Emoji font, typefaces
from Debian font packages).

    latent-explorer datasets fonts --workers 2
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def cmd_datasets(a: argparse.Namespace) -> int:
    """`datasets`: build the emoji or fonts dataset, with its figures; exit code."""
    if a.name == "fonts":
        from explorer.data.fonts import build_fonts
        info = build_fonts(out=a.out, no_tex=a.no_tex, limit_packages=a.limit_packages, workers=a.workers)
        if a.json:
            print(json.dumps(info))
        else:
            print(f"{info['kept']} faces, {info['families']} families (train {info['splits']['train']}, test "
                  f"{info['splits']['test']}); dropped {info['dropped']} -> {info['out']} in {info['seconds']} s")
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
