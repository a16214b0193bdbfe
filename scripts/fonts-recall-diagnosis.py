"""Why the fonts model's k-NN recall stays near 0: where its faces sit in the glyph classifier's space.

Prints, for generated faces (psi 1, seeds as `evaluate` draws them) against the held-out real faces, in
the per-face feature space `evaluate fonts` uses (the glyph classifier's penultimate features averaged
over a face's 62 glyphs): the spread (trace of the covariance) and the variance along the real faces'
top principal components; nearest-neighbour distances (real to real, real to generated, generated to
real) for the readable real faces (the classifier reads >= 95 % of their glyphs); the same with every
glyph binarised (is it anti-aliasing?); per glyph, how much farther a generated glyph is from its nearest
training glyph than a held-out one is; and FD / precision / recall of the faces as the downloaded font
draws them (traced with potrace, drawn back by Pillow: explorer.explore.fontexport.drawn_cells).
Writes docs/fonts-simple-glyphs.png: generated I T L o H N (top row of each pair) above the nearest
training glyph of the same character (bottom row).

    .venv/bin/python scripts/fonts-recall-diagnosis.py [model] [faces]     # default pretrained/fonts, 273
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from PIL import Image

from explorer.data.datasets import load_fonts_dataset
from explorer.evaluation import metrics
from explorer.evaluation.glyphs import GLYPHS, face_features, group_accuracy, load_glyph_classifier, predict
from explorer.evaluation.typefaces import generate_faces
from explorer.explore import fontexport as FX
from explorer.gan.checkpoint import load_generator

torch.set_num_threads(1)
model = sys.argv[1] if len(sys.argv) > 1 else "pretrained/fonts"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 273
G, _ = load_generator(model)
clf, groups, _ = load_glyph_classifier("pretrained/fonts-glyph-classifier")
test = load_fonts_dataset("test", 64).images
train = load_fonts_dataset("train", 64).images[:1500]
fake = generate_faces(G, n, seed=0)


def faces(x: torch.Tensor) -> torch.Tensor:
    return face_features(predict(clf, x)[1]).double()


def nearest(a: torch.Tensor, b: torch.Tensor, same: bool = False) -> float:
    d = torch.cdist(a, b)
    if same:
        d.fill_diagonal_(float("inf"))
    return float(d.min(1).values.median())


pt, _ = predict(clf, test)
readable = (pt == torch.arange(len(GLYPHS))).float().mean(1) >= 0.95
Ft, Ff = faces(test), faces(fake)
mu = Ft.mean(0)
_, _, V = torch.pca_lowrank(Ft - mu, q=10, center=False)
print(f"{n} generated faces of {model} against {len(test)} held-out faces ({int(readable.sum())} readable)")
print(f"spread (trace of covariance): real {float(torch.cov(Ft.T).trace()):.2f}, generated "
      f"{float(torch.cov(Ff.T).trace()):.2f}")
print("variance along the real faces' top 10 components: real",
      [round(float(v), 3) for v in ((Ft - mu) @ V).var(0)],
      "generated", [round(float(v), 3) for v in ((Ff - mu) @ V).var(0)])


def binarised(x: torch.Tensor) -> torch.Tensor:
    return (x > 127).to(torch.uint8) * 255


for name, r, f in (("as drawn", test, fake), ("both binarised", binarised(test), binarised(fake))):
    a, b = faces(r), faces(f)
    k = a[readable]
    print(f"{name}: readable real -> nearest real {nearest(k, k, same=True):.3f}, -> nearest generated "
          f"{nearest(k, b):.3f}; generated -> nearest real {nearest(b, a):.3f}")
_, ft = predict(clf, test)
_, ff = predict(clf, fake)
_, ftr = predict(clf, train)
ratio = {g: float(torch.cdist(ff[:, i], ftr[:, i]).min(1).values.median()
                  / torch.cdist(ft[:, i], ftr[:, i]).min(1).values.median()) for i, g in enumerate(GLYPHS)}
worst = sorted(ratio.items(), key=lambda kv: -kv[1])
print("generated / held-out distance to the nearest training glyph, farthest 8:",
      ", ".join(f"{g} {r:.2f}x" for g, r in worst[:8]),
      "| nearest 4:", ", ".join(f"{g} {r:.2f}x" for g, r in worst[-4:]))
traced = torch.from_numpy(np.stack([FX.drawn_cells(FX.build_font(f.numpy(), "{}"), f.numpy()) for f in fake]))
for name, x in (("generated, as drawn", fake), ("generated, as the downloaded font", traced)):
    p, f = predict(clf, x)
    F = face_features(f).double().numpy()
    pr = metrics.precision_recall_balanced(Ft.numpy(), F)
    print(f"{name}: glyph accuracy {group_accuracy(p, groups):.4f}, FD {metrics.frechet_distance(Ft.numpy(), F):.3f}, "
          f"precision {pr[0]:.3f}, recall {pr[1]:.3f}")
rows = []
few = generate_faces(G, 12, seed=3)
_, fw = predict(clf, few)
for g in "ITLoHN":
    i = GLYPHS.index(g)
    j = torch.cdist(fw[:, i], ftr[:, i]).argmin(1)
    top = torch.cat([few[k, i] for k in range(12)], 1)
    bottom = torch.cat([train[int(j[k]), i] for k in range(12)], 1)
    rows += [top, bottom, torch.full((4, top.shape[1]), 128, dtype=torch.uint8)]
Image.fromarray(255 - torch.cat(rows, 0).numpy()).save("docs/fonts-simple-glyphs.png", optimize=True)
print("wrote docs/fonts-simple-glyphs.png")
