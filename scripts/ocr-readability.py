"""Readability checked by a reader the project did not train: Tesseract 5 (Debian `tesseract-ocr`, LSTM,
English) reads text typeset from each face with the explorer's own specimen layout.

    apt-get install tesseract-ocr          # not a project dependency: only this check uses it
    OMP_THREAD_LIMIT=1 python scripts/ocr-readability.py real 100             # held-out real faces
    OMP_THREAD_LIMIT=1 python scripts/ocr-readability.py pretrained/fonts 100  # generated faces, seeds 0..99

Per face: two lines (a lower-case pangram; capitals and the digits), the image doubled (Lanczos) and read
with `--psm 6`; score = 1 - (edit distance between Tesseract's output and the text) / text length, spaces
ignored, case kept. Prints the mean, the median and the share of faces scoring at least 0.8.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from explorer.data.datasets import load_fonts_dataset
from explorer.evaluation.typefaces import generate_faces
from explorer.explore.specimen import typeset
from explorer.gan.checkpoint import load_generator

TEXT = "Sphinx of black quartz judge my vow\nTHE QUICK BROWN FOX JUMPS 0123456789"


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions all cost 1)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def score(stack: np.ndarray) -> float:
    """Tesseract's character accuracy on TEXT set from one (62, 64, 64) uint8 face, in [0, 1]."""
    s = typeset(stack, TEXT)
    img = Image.fromarray(s.image).convert("L")
    img = img.resize((img.width * 2, img.height * 2), Image.LANCZOS)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "x.png"
        img.save(p)
        out = subprocess.run(["tesseract", str(p), "stdout", "--psm", "6", "-l", "eng"],
                             capture_output=True, text=True, check=False).stdout
    ref = TEXT.replace(" ", "").replace("\n", "")
    got = out.replace(" ", "").replace("\n", "").strip()
    return max(0.0, 1 - edit_distance(got, ref) / len(ref))


def main() -> None:
    if shutil.which("tesseract") is None:
        sys.exit("tesseract is not installed (apt-get install tesseract-ocr)")
    torch.set_num_threads(1)
    which, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 100
    if which == "real":
        faces = load_fonts_dataset("test", 64).images
        faces = faces[np.linspace(0, len(faces) - 1, n).astype(int)]
    else:
        G, _ = load_generator(which)
        faces = generate_faces(G, n, seed=0)
    sc = np.array([score(f.numpy()) for f in faces])
    print(f"{which}: {n} faces, Tesseract character accuracy mean {sc.mean():.3f}, median {np.median(sc):.3f}, "
          f"share >= 0.8 {(sc >= 0.8).mean():.3f}")


if __name__ == "__main__":
    main()
