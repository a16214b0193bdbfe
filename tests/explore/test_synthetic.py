"""Synthetic dataset export: counts, labels, seeds that reproduce each image."""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.explore.synthetic import synthetic_zip
from explorer.imaging.render import to_uint8
from tests.factories import tiny_generator


def _gen(nc: int):
    return tiny_generator(nc)


def test_conditional_zip_has_every_class_and_reproducible_rows():
    G = _gen(3)
    ticks = []
    data = synthetic_zip(G, per_class=5, psi=0.7, seed=10, class_names=["a", "b", "c"], batch=2,
                         progress=lambda d, t: ticks.append((d, t)))
    zf = zipfile.ZipFile(io.BytesIO(data))
    rows = list(csv.DictReader(io.StringIO(zf.read("labels.csv").decode())))
    assert len(rows) == 15 and {r["class_name"] for r in rows} == {"a", "b", "c"}
    assert rows[0]["file"] == "images/00-a/seed10.png" and rows[14]["file"] == "images/02-c/seed14.png"
    assert ticks[-1] == (15, 15)
    r = rows[7]                                           # class b, 3rd seed
    img = np.asarray(Image.open(io.BytesIO(zf.read(r["file"]))))
    z = torch.randn(1, G.cfg.z_dim, generator=torch.Generator().manual_seed(int(r["seed"])))
    with torch.no_grad():
        want = to_uint8(G(z, torch.tensor([int(r["class_index"])]), psi=0.7))[0, ..., 0]
    assert np.array_equal(img, want)


def test_unconditional_and_limits():
    G = _gen(0)
    zf = zipfile.ZipFile(io.BytesIO(synthetic_zip(G, per_class=3)))
    assert sum(n.endswith(".png") for n in zf.namelist()) == 3
    with pytest.raises(ValueError, match="images per class"):
        synthetic_zip(G, per_class=0)
    with pytest.raises(ValueError, match="images per class"):
        synthetic_zip(G, per_class=10**6)


def test_class_folders_are_safe_names():
    G = _gen(3)
    zf = zipfile.ZipFile(io.BytesIO(synthetic_zip(G, per_class=1, class_names=["T-shirt/top", "../../etc", "✨ ✨"])))
    pngs = sorted(n for n in zf.namelist() if n.endswith(".png"))
    assert pngs == ["images/00-T-shirt_top/seed0.png", "images/01-etc/seed0.png", "images/02-class/seed0.png"]


def test_non_ascii_class_names_are_kept_in_nfc_with_the_utf8_flag():
    G = _gen(4)
    nfd = unicodedata.normalize("NFD", "café")
    data = synthetic_zip(G, per_class=1, class_names=["猫", "犬", "Ørken", nfd + "/..\\x:y"])
    zf = zipfile.ZipFile(io.BytesIO(data))
    pngs = sorted((i for i in zf.infolist() if i.filename.endswith(".png")), key=lambda i: i.filename)
    assert [i.filename for i in pngs] == [
        "images/00-猫/seed0.png", "images/01-犬/seed0.png", "images/02-Ørken/seed0.png",
        "images/03-café_.._x_y/seed0.png"]
    assert all(i.flag_bits & 0x800 for i in pngs)                        # names stored as UTF-8
    assert all(unicodedata.is_normalized("NFC", i.filename) for i in pngs)
    rows = list(csv.DictReader(io.StringIO(zf.read("labels.csv").decode())))
    assert [r["class_name"] for r in rows] == ["猫", "犬", "Ørken", unicodedata.normalize("NFC", nfd) + "/..\\x:y"]
