"""Tests for explorer.data.datasets: IDX parsing, Fashion-MNIST, and safe ingestion of folders and zips.

All inputs are tiny files generated in tmp_path; Fashion-MNIST tests skip without the Debian package.
"""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
import zlib
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.data import datasets as data
from explorer.data.datasets import (
    Limits,
    decode_image,
    load_dataset,
    load_fashion_mnist,
    load_image_folder,
    load_zip,
    preprocess,
    read_idx,
)

FMNIST = Path(data.FMNIST_ROOT)


def _png(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=kw.pop("format", "PNG"), **kw)
    return buf.getvalue()


def _noise(seed: int, size=(20, 12), mode="RGB") -> Image.Image:
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    return Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)


@cache
def _bomb_png(side: int = 20000) -> bytes:
    """A valid side x side 1-bit black PNG, built row by row: tiny on disk, side**2 pixels decoded."""
    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))
    z = zlib.compressobj(9)
    row = b"\0" * (1 + (side + 7) // 8)                          # filter byte + packed bits
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)     # 1-bit grayscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# ----------------------------------------------------------------------------- IDX and Fashion-MNIST

def _idx_bytes(a: np.ndarray, code: int) -> bytes:
    head = bytes([0, 0, code, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    return head + a.astype(a.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, gz):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    b = np.array([-5, 70000, 3], dtype=np.int32)
    for arr, code, name in ((a, 0x08, "a"), (b, 0x0C, "b")):
        raw = _idx_bytes(arr, code)
        path = tmp_path / (name + (".gz" if gz else ""))
        path.write_bytes(gzip.compress(raw) if gz else raw)
        out = read_idx(path)
        assert out.dtype == arr.dtype and np.array_equal(out, arr)


def test_idx_corruption(tmp_path):
    raw = _idx_bytes(np.zeros((4, 5), np.uint8), 0x08)
    cases = {"trunc": raw[:-3], "trail": raw + b"x", "magic": b"\x01" + raw[1:], "dtype": raw[:2] + b"\x42" + raw[3:],
             "header": raw[:6], "empty": b""}
    for name, blob in cases.items():
        (tmp_path / name).write_bytes(blob)
        with pytest.raises(ValueError):
            read_idx(tmp_path / name)
    (tmp_path / "cut.gz").write_bytes(gzip.compress(raw)[:-10])   # truncated gzip stream
    with pytest.raises(ValueError, match="IDX"):
        read_idx(tmp_path / "cut.gz")


@pytest.mark.skipif(not (FMNIST / "t10k-images-idx3-ubyte.gz").exists(), reason="dataset-fashion-mnist not installed")
def test_fashion_mnist_test_split():
    ds = load_fashion_mnist("test")
    assert ds.images.shape == (10000, 1, 32, 32) and ds.images.dtype == torch.uint8
    assert ds.labels.shape == (10000,) and int(ds.labels.min()) == 0 and int(ds.labels.max()) == 9
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    border = torch.ones(32, 32, dtype=torch.bool)
    border[2:30, 2:30] = False
    assert int(ds.images[:, 0][:, border].max()) == 0          # 2-px black border
    assert int(ds.images.max()) == 255
    assert ds.description["count"] == 10000 and ds.description["class_counts"]["Bag"] == 1000
    x = ds.to_float(torch.arange(4))
    assert x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1


def test_fashion_mnist_missing(tmp_path, monkeypatch):
    monkeypatch.setenv(data.FMNIST_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("test")
    with pytest.raises(ValueError):
        load_fashion_mnist("validation")


def test_fashion_mnist_fake_root_resized(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(imgs, 0x08)))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(np.arange(5, dtype=np.uint8), 0x08))
    ds = load_fashion_mnist("test", resolution=64, channels=3, root=tmp_path)
    assert ds.images.shape == (5, 3, 64, 64) and ds.labels.tolist() == [0, 1, 2, 3, 4]
    assert torch.equal(ds.images[:, 0], ds.images[:, 2])
    small = load_fashion_mnist("test", root=tmp_path)
    assert torch.equal(small.images[:, 0, 2:30, 2:30], torch.from_numpy(imgs))


# ----------------------------------------------------------------------------- decoding one image

def test_decode_modes():
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    img, why = decode_image(_png(rgba), "a.png", background=(0, 0, 255))
    assert why is None and img.mode == "RGB" and img.getpixel((0, 0)) == (0, 0, 255)
    img16 = Image.fromarray(np.full((4, 4), 65535, np.uint16))
    img, why = decode_image(_png(img16), "16.png")
    assert why is None and img.mode == "L" and img.getpixel((0, 0)) == 255
    one = Image.new("1", (5, 5), 1)
    img, why = decode_image(_png(one, format="BMP"), "one.bmp")
    assert why is None and img.mode == "L" and img.getpixel((0, 0)) == 255
    cmyk = Image.new("CMYK", (6, 6), (0, 255, 255, 0))
    img, why = decode_image(_png(cmyk, format="JPEG"), "c.jpg")
    assert why is None and img.mode == "RGB" and img.getpixel((3, 3))[0] > 200


@pytest.mark.parametrize("blob,kind", [
    (b"", "empty"), (b"hello, I am text", "unsupported format"), (b"%PDF-1.4\n", "unsupported format"),
    (_png(Image.new("RGB", (4, 4)), format="TIFF"), "unsupported format"),
    (_png(_noise(1))[:-40], "corrupt"),
    (_bomb_png(20000), "too large"),   # > 2x Image.MAX_IMAGE_PIXELS: Pillow's DecompressionBombError
    (_bomb_png(10000), "too large"),   # > 1x: Pillow's DecompressionBombWarning, turned into an error
    (_bomb_png(7500), "too large"),    # 56 M pixels: our own header check (Limits.max_pixels = 50 M)
])
def test_decode_rejects(blob, kind):
    img, why = decode_image(blob, "x.png")
    assert img is None and why.startswith(kind), why


def test_decode_gif_first_frame():
    frames = [Image.new("RGB", (6, 6), c) for c in ((255, 0, 0), (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    img, why = decode_image(buf.getvalue(), "a.gif")
    assert why is None and img.getpixel((3, 3)) == (255, 0, 0)


def test_decode_limits_from_header():
    img, why = decode_image(_png(Image.new("L", (300, 10))), "wide.png", max_pixels=10**6, max_side=200)
    assert img is None and why.startswith("too large")


def test_preprocess_crop_and_pad():
    img = Image.new("RGB", (40, 20), (10, 200, 30))
    a = preprocess(img, 16, 3, "crop")
    assert a.shape == (3, 16, 16) and a.dtype == np.uint8 and abs(int(a[1, 8, 8]) - 200) <= 1
    b = preprocess(Image.new("L", (40, 20), 255), 16, 1, "pad", background=0)
    assert b.shape == (1, 16, 16) and b[0, 0, 8] == 0 and b[0, 8, 8] == 255
    with pytest.raises(ValueError):
        preprocess(img, 16, 2)


# ----------------------------------------------------------------------------- folders

def _fill_folder(root: Path) -> dict[str, str | None]:
    """Write one file per case; return name -> expected reason kind (None = accepted)."""
    frames = [_noise(i, (16, 16)) for i in (10, 11, 12)]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    pal = Image.new("P", (10, 10), 0)
    pal.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    pal.putpixel((5, 5), 1)
    files = {
        "good.png": (_png(_noise(1)), None),
        "good.jpg": (_png(_noise(2), format="JPEG"), None),
        "good.webp": (_png(_noise(3), format="WEBP", lossless=True), None),
        "good.bmp": (_png(_noise(4), format="BMP"), None),
        "anim.gif": (gif.getvalue(), None),
        "cmyk.jpg": (_png(Image.new("CMYK", (9, 9), (200, 0, 0, 0)), format="JPEG"), None),
        "deep.png": (_png(Image.fromarray((np.arange(64, dtype=np.uint16) * 1000).reshape(8, 8))), None),
        "pal.png": (_png(pal, transparency=0), None),
        "rgba.png": (_png(_noise(5, mode="RGB").convert("RGBA")), None),
        "sub/copy.png": (_png(_noise(1)), "duplicate"),
        "trunc.png": (_png(_noise(6))[:-50], "corrupt"),
        "text.png": (b"not an image at all\n", "unsupported format"),
        "bomb.png": (_bomb_png(), "too large"),
    }
    for name, (blob, _) in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(blob)
    (root / ".DS_Store").write_bytes(b"junk")                   # hidden: ignored silently
    return {name: kind for name, (_, kind) in files.items()}


def test_folder_ingestion(tmp_path):
    expected = _fill_folder(tmp_path)
    ds = load_image_folder(tmp_path, resolution=16, channels=3)
    reasons = dict(ds.skipped)
    assert len(ds) == sum(k is None for k in expected.values()) == 9
    assert ds.images.shape == (9, 3, 16, 16) and ds.labels is None and ds.class_names == []
    for name, kind in expected.items():
        if kind is None:
            assert name not in reasons
        else:
            assert reasons[name].startswith(kind), (name, reasons[name])
    assert reasons["sub/copy.png"] == "duplicate: same file as good.png"        # the app's reasons, word for word
    assert reasons[".DS_Store"] == "ignored: hidden or system file"
    d = ds.description
    assert d["count"] == 9 and d["skipped"] == 5 and d["fit"] == "crop"
    assert d["skip_reasons"] == {"corrupt": 1, "duplicate": 1, "ignored": 1, "too large": 1, "unsupported format": 1}
    gray = load_image_folder(tmp_path, resolution=8, channels=1, fit="pad")
    assert gray.images.shape == (9, 1, 8, 8)


def test_folder_deterministic_and_labels(tmp_path):
    for cls, seeds in (("cats", (1, 2)), ("dogs", (3,))):
        (tmp_path / cls).mkdir()
        for s in seeds:
            (tmp_path / cls / f"{s}.png").write_bytes(_png(_noise(s)))
    (tmp_path / "loose.png").write_bytes(_png(_noise(9)))
    ds = load_image_folder(tmp_path, 8, 1, labels_from_subfolders=True)
    assert ds.class_names == ["cats", "dogs"] and ds.labels.tolist() == [0, 0, 1]
    assert ds.description["class_counts"] == {"cats": 2, "dogs": 1}
    assert dict(ds.skipped)["loose.png"].startswith("no class")
    again = load_image_folder(tmp_path, 8, 1, labels_from_subfolders=True)
    assert torch.equal(ds.images, again.images)


def test_folder_symlink_outside_is_skipped(tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(_png(_noise(1)))
    root = tmp_path / "data"
    root.mkdir()
    (root / "ok.png").write_bytes(_png(_noise(2)))
    (root / "link.png").symlink_to(outside)
    ds = load_image_folder(root, 8, 1)
    assert len(ds) == 1 and dict(ds.skipped)["link.png"] == "unsafe name: a link that leads outside the folder"


def test_folder_limits(tmp_path):
    for i in range(5):
        (tmp_path / f"{i}.png").write_bytes(_png(_noise(i)))
    ds = load_image_folder(tmp_path, 8, 1, limits=Limits(max_files=3))
    assert len(ds) == 3 and ds.description["stopped"].startswith("stopped")
    big = load_image_folder(tmp_path, 8, 1, limits=Limits(max_file_bytes=100))
    assert len(big) == 0 and all(r.startswith("too large") for _, r in big.skipped)


# ----------------------------------------------------------------------------- zips

def test_zip_ingestion(tmp_path):
    zpath = tmp_path / "up" / "data.zip"
    zpath.parent.mkdir()
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/one.png", _png(_noise(1)))
        zf.writestr("b/two.jpg", _png(_noise(2), format="JPEG"))
        zf.writestr("../../evil.png", _png(_noise(3)))          # zip-slip name: rejected, as the app does
        zf.writestr("__MACOSX/a/._one.png", b"resource fork")
        zf.writestr("a/.hidden.png", _png(_noise(4)))
        zf.writestr("a/", b"")
        zf.writestr("bomb.bin", b"\0" * 2_000_000)              # ratio ~1000:1
        zf.writestr("a/bad.png", b"text")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    ds = load_zip(zpath, 8, 3)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before    # nothing extracted anywhere
    reasons = dict(ds.skipped)
    assert len(ds) == 2 and reasons["../../evil.png"] == "unsafe name: '..' in path"
    assert reasons["bomb.bin"].startswith("zip bomb") and reasons["a/bad.png"].startswith("unsupported")
    assert reasons["__MACOSX/a/._one.png"] == reasons["a/.hidden.png"] == "ignored: hidden or system file"
    labelled = load_zip(zpath, 8, 1, labels_from_subfolders=True)
    assert labelled.class_names == ["a", "b"] and dict(labelled.skipped)["bomb.bin"].startswith("zip bomb")


def test_zip_of_a_folder_drops_the_top_level(tmp_path):
    zpath = tmp_path / "pets.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for i, name in enumerate(("pets/cats/1.png", "pets/cats/2.png", "pets/dogs/3.png")):
            zf.writestr(name, _png(_noise(i)))
    ds = load_zip(zpath, 8, 1, labels_from_subfolders=True)
    assert ds.class_names == ["cats", "dogs"] and ds.labels.tolist() == [0, 0, 1]


def test_zip_caps(tmp_path):
    zpath = tmp_path / "many.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_STORED) as zf:
        for i in range(6):
            zf.writestr(f"{i}.png", _png(_noise(i)))
    ds = load_zip(zpath, 8, 1, limits=Limits(max_files=4))
    assert len(ds) == 4 and ds.description["stopped"].startswith("stopped: more than 4 files")
    assert ds.skipped == [("4.png", "not read: more than 4 files"), ("5.png", "not read: more than 4 files")]
    size = len(_png(_noise(0)))
    ds = load_zip(zpath, 8, 1, limits=Limits(max_total_bytes=size * 2 + 10))
    assert len(ds) == 2 and "bytes" in ds.description["stopped"]
    (tmp_path / "fake.zip").write_bytes(b"PK not really")
    with pytest.raises(ValueError):
        load_zip(tmp_path / "fake.zip")


# ----------------------------------------------------------------------------- load_dataset

def test_load_dataset_dispatch_and_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_dataset(str(tmp_path / "nope"))
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ValueError, match="neither"):
        load_dataset(str(tmp_path / "notes.txt"))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "x.png").write_bytes(b"junk")
    with pytest.raises(ValueError, match="x.png: unsupported format"):
        load_dataset(str(empty))
    with pytest.raises(ValueError):
        load_dataset("fashion-mnist:validation")
    (empty / "y.png").write_bytes(_png(_noise(0)))
    assert len(load_dataset(str(empty), resolution=8)) == 1
    zpath = tmp_path / "d.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("y.png", _png(_noise(0)))
    assert load_dataset(str(zpath), resolution=8).description["source"] == "zip:d.zip"
