"""Synthetic datasets for data augmentation: N generated samples as a zip of PNGs + labels.csv.

    data = synthetic_zip(G, per_class=100, psi=0.8, class_names=names)   # bytes of a .zip

Conditional models get `per_class` samples of every class, one folder each (`images/03-Dress/`:
index and name, the layout image-folder loaders expect; names in any script are kept, NFC, and
stored as UTF-8: `images/00-猫/`); unconditional ones `per_class` in all.
Seeds are consecutive from `seed` and name the files (`seed12.png`), so a row of labels.csv says
exactly how to remake its image.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable

import numpy as np
import torch

from explorer.gan.protocol import Generator
from explorer.imaging.render import png_bytes, to_uint8

MAX_IMAGES = 20_000


def _slug(name: str) -> str:
    """A class name as a safe folder name, in any script: NFC letters, digits and marks of every language
    (猫, Ørken, café), '.', '-' and '_' (anything else, path separators and controls included, becomes '_';
    at most 40 characters, no leading dot). Non-ASCII names are stored with the zip's UTF-8 flag."""
    out = re.sub(r"[^\w.-]+", "_", unicodedata.normalize("NFC", str(name))).strip("._")[:40].strip("._")
    return out or "class"


@torch.inference_mode()
def synthetic_zip(G: Generator, per_class: int, psi: float = 1.0, seed: int = 0,
                  class_names: list[str] | None = None, batch: int = 100,
                  progress: Callable[[int, int], None] | None = None,
                  render: Callable[[torch.Tensor], np.ndarray] | None = None) -> bytes:
    """The zip's bytes. `render` maps ws to images (default: G.synthesis on G's device)."""
    nc = G.cfg.num_classes
    classes = list(range(nc)) if nc else [None]
    total = per_class * len(classes)
    if per_class < 1 or total > MAX_IMAGES:
        raise ValueError(f"ask for 1..{MAX_IMAGES // len(classes)} images per class (got {per_class})")
    names = ([unicodedata.normalize("NFC", str(n)) for n in class_names] if class_names and len(class_names) == nc
             else [str(i) for i in range(nc)])
    dev = G.w_avg.device
    synth = render or (lambda ws: to_uint8(G.synthesis(ws)))
    buf, rows, done = io.BytesIO(), [], 0
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:   # PNGs are compressed already
        for c in classes:
            for i in range(0, per_class, batch):
                n = min(batch, per_class - i)
                seeds = [seed + i + j for j in range(n)]
                z = torch.cat([torch.randn(1, G.cfg.z_dim, generator=torch.Generator().manual_seed(s)) for s in seeds])
                cls = None if c is None else torch.full((n,), c, dtype=torch.long, device=dev)
                ws = G.mapping(z.to(dev), cls, psi=psi)
                imgs = synth(ws)
                for j, s in enumerate(seeds):
                    folder = "" if c is None else f"{c:02d}-{_slug(names[c])}/"
                    name = f"images/{folder}seed{s}.png"
                    zf.writestr(name, png_bytes(imgs[j]))
                    rows.append([name, s, "" if c is None else c, "" if c is None else names[c], psi])
                    done += 1
                if progress:
                    progress(done, total)
        text = io.StringIO()
        w = csv.writer(text)
        w.writerow(["file", "seed", "class_index", "class_name", "psi"])
        w.writerows(rows)
        zf.writestr("labels.csv", text.getvalue())
    return buf.getvalue()
