"""The one ingestion core (explorer.data.ingest): the app's uploads and the CLI's `--data folder|zip` (through
load_dataset) must decode, name, reject and budget files the same way. Each input comes in through every entry
point: uploaded files, an uploaded zip, a folder on disk, a folder holding the zip, and the zip itself."""

from __future__ import annotations

import io
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from explorer.data.datasets import load_dataset, load_image_folder
from explorer.data.uploads import ingest_uploads
from explorer.imaging.decode import Limits


def enc(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def noise(seed: int, size: tuple[int, int] = (16, 16)) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def make_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return buf.getvalue()


def write(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def sideways_jpeg() -> bytes:
    """A 20x10 JPEG whose left half is white, stored sideways with EXIF Orientation 6 (rotate 90 CW to view)."""
    img = Image.new("RGB", (20, 10), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6
    return enc(img, "JPEG", quality=100, exif=exif.tobytes())


# ----------------------------------------------------------------------------- one decode path

def test_exif_orientation_is_applied_by_every_entry_point(tmp_path):
    jpg = sideways_jpeg()
    kw = {"resolution": 10, "channels": 1, "fit": "pad"}
    up = ingest_uploads([("phone.jpg", jpg)], **kw).images[0, 0]
    folder = load_dataset(str(write(tmp_path / "folder", {"phone.jpg": jpg})), **kw).images[0, 0].numpy()
    zpath = tmp_path / "photos.zip"
    zpath.write_bytes(make_zip({"phone.jpg": jpg}))
    zipped = load_dataset(str(zpath), **kw).images[0, 0].numpy()
    assert up[1, 5] > 200 and up[8, 5] < 50                       # white half on top: upright
    assert np.array_equal(up, folder) and np.array_equal(up, zipped)


UNSAFE = {"../../x.png": "unsafe name: '..' in path", "/abs.png": "unsafe name: absolute path",
          "..\\..\\y.png": "unsafe name: '..' in path", "C:\\win\\z.png": "unsafe name: absolute path"}


def _archive_reasons(rejected: list[tuple[str, str]], prefix: str = "") -> dict[str, str]:
    return {n[len(prefix):]: r for n, r in rejected if n.startswith(prefix)}


def test_unsafe_zip_member_names_get_the_same_reason_everywhere(tmp_path):
    members = {name: enc(noise(i)) for i, name in enumerate(UNSAFE)}
    members["good/ok.png"] = enc(noise(9))
    data = make_zip(members)
    zpath = tmp_path / "evil.zip"
    zpath.write_bytes(data)
    folder = write(tmp_path / "holder", {"evil.zip": data, "other.png": enc(noise(10))})
    before = sorted(p.name for p in tmp_path.rglob("*"))

    app = ingest_uploads([("evil.zip", data)], resolution=8, channels=3)
    cli_zip = load_dataset(str(zpath), resolution=8, channels=3)
    cli_folder = load_dataset(str(folder), resolution=8, channels=3)

    want = {n.replace("\\", "/"): why for n, why in UNSAFE.items()}
    assert _archive_reasons(app.rejected, "evil.zip/") == want
    assert _archive_reasons(cli_zip.skipped) == want                    # the CLI used to train on them
    assert _archive_reasons(cli_folder.skipped, "evil.zip/") == want
    assert len(app) == len(cli_zip) == 1 and len(cli_folder) == 2
    assert sorted(p.name for p in tmp_path.rglob("*")) == before        # nothing extracted anywhere
    assert not (tmp_path.parent / "x.png").exists()


def test_nested_archives_get_the_same_reason_everywhere(tmp_path):
    inner = make_zip({"a.png": enc(noise(1))})
    data = make_zip({"inner.zip": inner, "disguised.png": inner, "fine.png": enc(noise(2))})
    zpath = tmp_path / "outer.zip"
    zpath.write_bytes(data)
    folder = write(tmp_path / "holder", {"outer.zip": data})
    app = _archive_reasons(ingest_uploads([("outer.zip", data)], resolution=8, channels=3).rejected, "outer.zip/")
    cli = _archive_reasons(load_dataset(str(zpath), resolution=8, channels=3).skipped)
    via_folder = _archive_reasons(load_dataset(str(folder), resolution=8, channels=3).skipped, "outer.zip/")
    nested = "nested archive: archives inside archives are not opened"
    assert app == cli == via_folder == {"inner.zip": nested, "disguised.png": nested}


def test_upload_names_are_untrusted_in_folders_too(tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(enc(noise(1)))
    root = write(tmp_path / "data", {"ok.png": enc(noise(2)), ".hidden/x.png": enc(noise(3))})
    (root / "link.png").symlink_to(outside)
    (root / "linked_dir").symlink_to(tmp_path, target_is_directory=True)
    ds = load_dataset(str(root), resolution=8, channels=3)
    got = dict(ds.skipped)
    assert len(ds) == 1 and got["link.png"] == "unsafe name: a link that leads outside the folder"
    assert got[".hidden/"].startswith("ignored") and got["linked_dir/"].startswith("ignored: a link to a folder")


# ----------------------------------------------------------------------------- Unicode names

CAFE_NFC = unicodedata.normalize("NFC", "café")
CAFE_NFD = unicodedata.normalize("NFD", "café")


def test_nfc_and_nfd_folder_names_are_one_class_everywhere(tmp_path):
    assert CAFE_NFC != CAFE_NFD
    files = {f"{CAFE_NFC}/a.png": enc(noise(1)), f"{CAFE_NFD}/b.png": enc(noise(2)), "tea/c.png": enc(noise(3))}
    root = write(tmp_path / "set", files)
    assert len(list(root.iterdir())) == 3                              # two folders on disk spell café
    zpath = tmp_path / "set.zip"
    zpath.write_bytes(make_zip(files))
    for ds in (load_dataset(str(root), resolution=8, channels=3, labels_from_subfolders=True),
               load_dataset(str(zpath), resolution=8, channels=3, labels_from_subfolders=True)):
        assert ds.class_names == [CAFE_NFC, "tea"] and ds.labels.tolist() == [0, 0, 1]
    up = ingest_uploads(list(files.items()), resolution=8, channels=3, labels=True)
    assert up.class_names == [CAFE_NFC, "tea"] and up.labels.tolist() == [0, 0, 1]
    assert all(unicodedata.is_normalized("NFC", n) for n in up.names)


def test_utf8_member_names_without_the_flag_keep_their_letters():
    raw = bytearray(make_zip({"猫/a.png": enc(noise(1)), "犬/b.png": enc(noise(2))}))
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):             # clear the UTF-8 flag (bit 11)
        i = raw.find(sig)
        while i >= 0:
            raw[i + off + 1] &= ~0x08
            i = raw.find(sig, i + 4)
    assert not zipfile.ZipFile(io.BytesIO(bytes(raw))).infolist()[0].flag_bits & 0x800
    up = ingest_uploads([("pets.zip", bytes(raw))], resolution=8, channels=3, labels=True)
    assert up.class_names == ["犬", "猫"]


# ----------------------------------------------------------------------------- budgets

def test_a_zip_of_duplicates_does_not_starve_the_other_files(tmp_path):
    tiny = enc(Image.new("L", (4, 4), 7))
    spam = make_zip({f"{i:05d}.png": tiny for i in range(400)})
    good = {f"photos/z{i:02d}.png": enc(noise(100 + i)) for i in range(24)}
    files = [("photos/aaa.zip", spam), *good.items()]                    # the zip sorts first
    lim = Limits(max_files=30)
    r = ingest_uploads(files, resolution=8, channels=3, limits=lim)
    assert len(r) == 25 and r.stopped is None and not r.partial           # the 24 images + one tiny PNG
    assert r.counts == {"duplicate": 399}
    groups = r.reason_groups()
    assert groups[0] == {"reason": "duplicate: same file as photos/aaa.zip/00000.png", "files": 399,
                         "examples": "photos/aaa.zip/00001.png, photos/aaa.zip/00002.png, photos/aaa.zip/00003.png, …"}
    folder = write(tmp_path / "photos", {"aaa.zip": spam, **{n.split("/", 1)[1]: b for n, b in good.items()}})
    ds = load_dataset(str(folder), resolution=8, channels=3)
    assert len(ds) == 25 and ds.description["stopped"] is None            # the CLI: the same budget rules


def test_every_file_not_read_is_named_with_its_reason(tmp_path):
    files = [(f"set/{i:02d}.png", enc(noise(i))) for i in range(8)]
    files += [("set/zz.zip", make_zip({"m1.png": enc(noise(50)), "m2.png": enc(noise(51))}))]
    r = ingest_uploads(files, resolution=8, channels=3, limits=Limits(max_files=5))
    unread = [n for n, why in r.rejected if why == "not read: more than 5 files"]
    assert unread == ["set/05.png", "set/06.png", "set/07.png", "set/zz.zip/m1.png", "set/zz.zip/m2.png"]
    assert r.partial and r.stopped == "stopped: more than 5 files; 5 file(s) were not read"
    assert r.reason_groups() == [{"reason": "not read: more than 5 files", "files": 5,
                                  "examples": "set/05.png, set/06.png, set/07.png, …"}]
    assert "(rest)" not in dict(r.rejected)
    folder = write(tmp_path / "set", {n.split("/", 1)[1]: b for n, b in files})
    ds = load_image_folder(folder, resolution=8, channels=3, limits=Limits(max_files=5))   # the CLI's path
    assert ds.skipped == [(n.split("/", 1)[1], why) for n, why in r.rejected] and len(ds) == 5
    assert ds.description["stopped"] == r.stopped
    assert len(load_dataset(str(folder), resolution=8, channels=3)) == 10  # default limits: all read
