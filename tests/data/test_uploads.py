"""Tests for explorer.data.uploads: a generated corpus of hostile and awkward uploads, each with the reason
it must be rejected for (or the note it must carry), good images in every accepted format, conversions,
duplicates, labels, and the saved upload set round trip. Everything is built in memory here."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.data.archives import UploadLimits, display_name, unsafe_name, zip_entry_count
from explorer.data.store import load_upload_set, save_upload_set
from explorer.data.uploads import ingest_uploads
from explorer.imaging.decode import Limits


def enc(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def noise(seed: int, mode: str = "RGB", size: tuple[int, int] = (24, 20)) -> Image.Image:
    a = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(a).convert(mode)


def forged_png(w: int, h: int) -> bytes:
    """A 1x1 PNG whose header claims w x h pixels (a decompression bomb's header, without the bytes)."""
    raw = enc(Image.new("L", (1, 1)))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return raw[:8] + chunk + raw[8 + len(chunk):]


def make_zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buf.getvalue()


def encrypted_zip(name: str, data: bytes) -> bytes:
    """A zip whose member is flagged encrypted (zipfile cannot write encryption; set the flag bits)."""
    z = bytearray(make_zip({name: data}, zipfile.ZIP_STORED))
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = z.find(sig)
        z[i + off] |= 0x1
    return bytes(z)


def reasons(report) -> dict[str, str]:
    return dict(report.rejected)


# ----------------------------------------------------------------------------- the hostile corpus

JPEG = enc(noise(3, size=(64, 64)), "JPEG", quality=90)
BAD = {  # display name -> (bytes, expected reason prefix)
    "empty.png": (b"", "empty file"),
    "truncated.png": (enc(noise(1, size=(64, 64)))[:-300], "corrupt"),
    "truncated.jpg": (JPEG[: len(JPEG) * 3 // 4], "corrupt"),
    "header-cut.jpg": (JPEG[:40], "corrupt: starts like a JPEG"),
    "text.png": (b"hello, I am not a picture at all", "unsupported format"),
    "pdf.jpg": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "unsupported format"),
    "tiff.png": (enc(noise(2), "TIFF"), "unsupported format"),
    "bomb.png": (forged_png(30_000, 30_000), "too large"),      # Pillow's DecompressionBombError at open
    "bomb-warning.png": (forged_png(10_000, 10_000), "too large"),  # its warning, turned into an error
    "huge.png": (forged_png(7_500, 7_500), "too large: 7500x7500"),   # our header check (50 M pixels)
    "wide.png": (forged_png(20_000, 10), "too large: 20000x10"),      # longest side over 12,000
}


def test_hostile_corpus_every_file_gets_its_reason():
    files = [(name, data) for name, (data, _) in BAD.items()]
    files += [("good.png", enc(noise(10)))]
    r = ingest_uploads(files, resolution=16, channels=3)
    got = reasons(r)
    for name, (_, want) in BAD.items():
        assert got.get(name, "").startswith(want), (name, got.get(name))
    assert r.names == ["good.png"] and r.images.shape == (1, 3, 16, 16)
    assert r.counts == {"corrupt": 3, "empty file": 1, "too large": 4, "unsupported format": 3}
    assert sum(r.counts.values()) == len(BAD)


def test_zip_bombs_and_archive_problems():
    zeros = b"\0" * (3 << 20)                                           # 3 MiB that deflate ~1000:1
    files = [
        ("ratio.zip", make_zip({"bomb.png": zeros})),
        ("big.zip", make_zip({"big.bmp": enc(noise(1, size=(200, 200)), "BMP")})),
        ("many.zip", make_zip({f"{i}.png": b"x" for i in range(12)}, zipfile.ZIP_STORED)),
        ("broken.zip", b"PK\x03\x04 this is not really a zip"),
        ("nested.zip", make_zip({"inner.zip": make_zip({"a.png": enc(noise(2))})})),
        ("locked.zip", encrypted_zip("secret.png", enc(noise(3)))),
        ("ok.zip", make_zip({"fine.png": enc(noise(4))})),
        ("empty.zip", make_zip({})),
    ]
    lim = UploadLimits(max_file_bytes=100_000, max_members=10)
    r = ingest_uploads(files, resolution=8, channels=1, limits=lim)
    got = reasons(r)
    assert got["ratio.zip/bomb.png"].startswith("too large: expands to 3,145,728 bytes")
    r2 = ingest_uploads(files[:1], resolution=8, channels=1, limits=UploadLimits(max_file_bytes=10 << 20))
    assert reasons(r2)["ratio.zip/bomb.png"].startswith("zip bomb: compression ratio")
    assert got["big.zip/big.bmp"].startswith("too large: expands to 120,054 bytes")
    assert got["many.zip"] == "zip bomb: 12 entries (limit 10)"
    assert got["broken.zip"].startswith("corrupt archive")
    assert got["nested.zip/inner.zip"].startswith("nested archive")
    assert got["locked.zip/secret.png"].startswith("encrypted")
    assert got["empty.zip"] == "empty archive: no files inside"          # said, not silently dropped
    assert r.names == ["ok.zip/fine.png"]
    assert zip_entry_count(files[2][1]) == 12


def test_total_size_and_file_count_caps_stop_reading():
    files = [(f"{i}.png", enc(noise(i))) for i in range(6)]
    r = ingest_uploads(files, resolution=8, channels=1, limits=Limits(max_files=4))
    assert len(r) == 4 and r.stopped == "stopped: more than 4 files; 2 file(s) were not read"
    assert r.rejected == [("4.png", "not read: more than 4 files"), ("5.png", "not read: more than 4 files")]
    assert r.counts == {"not read": 2} and r.partial
    size = len(files[0][1])
    r = ingest_uploads([("z.zip", make_zip(dict(files)))], resolution=8, channels=1,
                       limits=Limits(max_total_bytes=2 * size + size // 2))
    assert len(r) == 2 and "bytes in all" in r.stopped


def test_zip_slip_names_are_rejected_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    png = enc(noise(5))
    evil = make_zip({"../../evil.png": png, "/etc/abs.png": png, "C:\\win\\x.png": enc(noise(6)),
                     "ok/../../up.png": enc(noise(7)), "good.png": enc(noise(8))})
    r = ingest_uploads([("evil.zip", evil), ("../../top.png", enc(noise(9)))], resolution=8, channels=3)
    got = reasons(r)
    assert got["evil.zip/../../evil.png"] == "unsafe name: '..' in path"
    assert got["evil.zip//etc/abs.png"] == "unsafe name: absolute path"
    assert got["evil.zip/C:/win/x.png"] == "unsafe name: absolute path"
    assert got["evil.zip/ok/../../up.png"] == "unsafe name: '..' in path"
    assert got["../../top.png"] == "unsafe name: '..' in path"
    assert r.names == ["evil.zip/good.png"] and r.counts == {"unsafe name": 5}
    assert list(tmp_path.iterdir()) == [] and not (tmp_path.parent / "evil.png").exists()
    assert unsafe_name("a/b.png") is None and display_name("a\u202eb\x00c.png") == "a?b?c.png"


def test_hidden_files_and_no_class():
    files = [("photos/.DS_Store", b"\0\0\0\1Bud1"), ("photos/__MACOSX/._a.png", b"junk"),
             ("photos/cats/a.png", enc(noise(1))), ("photos/loose.png", enc(noise(2)))]
    r = ingest_uploads(files, resolution=8, channels=3, labels=True)
    got = reasons(r)
    assert got["photos/.DS_Store"].startswith("ignored") and got["photos/__MACOSX/._a.png"].startswith("ignored")
    assert got["photos/loose.png"].startswith("no class")
    assert r.class_names == ["cats"] and r.labels.tolist() == [0]


# ----------------------------------------------------------------------------- good files, conversions

def test_every_accepted_format():
    files = [(f"img.{ext}", enc(noise(i, size=(30, 20)), fmt)) for i, (ext, fmt) in
             enumerate([("png", "PNG"), ("jpg", "JPEG"), ("webp", "WEBP"), ("bmp", "BMP"), ("gif", "GIF")])]
    files.append(("misnamed.txt", enc(noise(9), "PNG")))          # the content decides, not the name
    r = ingest_uploads(files, resolution=16, channels=3)
    assert r.rejected == [] and len(r) == 6
    assert r.images.dtype == np.uint8 and r.images.shape == (6, 3, 16, 16)


def test_animated_gif_gives_first_frame_and_a_note():
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    r = ingest_uploads([("anim.gif", buf.getvalue())], resolution=8, channels=3)
    assert tuple(r.images[0, :, 4, 4]) == (255, 0, 0)
    assert ("anim.gif", "animated GIF: first frame used") in r.notes


def test_mode_conversions_are_correct_and_noted():
    p = Image.new("P", (8, 8), 1)
    p.putpalette([0, 0, 0, 10, 200, 30])
    files = {
        "cmyk.jpg": enc(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG", quality=100),
        "i16-max.png": enc(Image.fromarray(np.full((8, 8), 65535, np.uint16))),
        "i16-mid.png": enc(Image.fromarray(np.full((8, 8), 32896, np.uint16))),
        "palette.png": enc(p),
        "rgba-clear.png": enc(Image.new("RGBA", (8, 8), (255, 0, 0, 0))),
        "rgba-half.png": enc(Image.new("RGBA", (8, 8), (255, 0, 0, 128))),
        "la-quarter.png": enc(Image.new("LA", (8, 8), (0, 64))),
    }
    rgb = ingest_uploads([(n, b) for n, b in files.items() if not n.startswith("i16")], resolution=8, channels=3)
    assert rgb.rejected == []
    px = {n: tuple(int(v) for v in rgb.images[i, :, 4, 4]) for i, n in enumerate(rgb.names)}
    assert px["cmyk.jpg"][0] > 240 and max(px["cmyk.jpg"][1:]) < 15      # CMYK (0, 255, 255, 0) is red
    assert px["palette.png"] == (10, 200, 30)
    assert px["rgba-clear.png"] == (255, 255, 255)                     # alpha composited onto white
    assert px["rgba-half.png"][0] == 255 and all(abs(v - 127) <= 1 for v in px["rgba-half.png"][1:])
    assert all(abs(v - 191) <= 1 for v in px["la-quarter.png"])
    grey = ingest_uploads([(n, files[n]) for n in ("i16-max.png", "i16-mid.png", "la-quarter.png")],
                          resolution=8, channels=1)
    assert grey.images.shape == (3, 1, 8, 8) and grey.names == ["i16-max.png", "i16-mid.png", "la-quarter.png"]
    assert [int(grey.images[i, 0, 4, 4]) for i in range(2)] == [255, 128]
    assert abs(int(grey.images[2, 0, 4, 4]) - 191) <= 1
    notes = dict(rgb.notes + grey.notes)
    assert notes["cmyk.jpg"].startswith("CMYK") and notes["i16-max.png"].startswith("16-bit")
    assert notes["palette.png"].startswith("palette")
    assert notes["rgba-clear.png"].startswith("alpha") and notes["la-quarter.png"].startswith("alpha")
    assert rgb.note_counts == {"CMYK": 1, "alpha": 3, "palette": 1}
    assert grey.note_counts == {"16-bit": 2, "alpha": 1}


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (20, 10), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 10, 10))                     # left half white
    exif = Image.Exif()
    exif[0x0112] = 6                                              # "rotate 90 CW to view"
    r = ingest_uploads([("phone.jpg", enc(img, "JPEG", quality=100, exif=exif.tobytes()))], resolution=10,
                       channels=1, fit="pad")
    a = r.images[0, 0]
    assert a[1, 5] > 200 and a[8, 5] < 50                         # white half now on top
    assert "EXIF orientation 6" in dict(r.notes)["phone.jpg"]


def test_duplicates_removed_and_noted():
    base = noise(4)
    files = [("a.png", enc(base)), ("b-copy.png", enc(base)), ("c.bmp", enc(base, "BMP")),
             ("other.png", enc(noise(5)))]
    r = ingest_uploads(files, resolution=8, channels=3)
    got = reasons(r)
    assert got["b-copy.png"] == "duplicate: same file as a.png"
    assert got["c.bmp"] == "duplicate: same pixels as a.png after resizing"
    assert r.names == ["a.png", "other.png"] and r.counts == {"duplicate": 2}


def test_fuzzed_headers_never_raise():
    rng = np.random.default_rng(0)
    heads = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"RIFF\0\0\0\0WEBPVP8 ", b"PK\x03\x04",
             b"PK\x05\x06"]
    files = [(f"f{i}.png", h + rng.integers(0, 256, int(rng.integers(0, 200)), dtype=np.uint8).tobytes())
             for i, h in enumerate(heads * 8)]
    r = ingest_uploads(files, resolution=8, channels=1)
    assert len(r) == 0 and len(r.rejected) == len(files)


# ----------------------------------------------------------------------------- labels, report, saving

def test_labels_from_folders_and_zip_names():
    cats = make_zip({"1.png": enc(noise(1)), "2.png": enc(noise(2))})
    dogs = make_zip({"dogs/3.png": enc(noise(3))})               # a zipped folder: its name is no extra level
    r = ingest_uploads([("cats.zip", cats), ("dogs.zip", dogs)], resolution=8, channels=3, labels=True)
    assert r.class_names == ["cats", "dogs"] and r.labels.tolist() == [0, 0, 1]
    d = ingest_uploads([("photos/birds/a.png", enc(noise(4))), ("photos/fish/b.png", enc(noise(5)))],
                       resolution=8, channels=3, labels=True)              # a directory upload
    assert d.class_names == ["birds", "fish"] and d.labels.tolist() == [0, 1]
    ds = d.to_dataset()
    assert ds.description["class_counts"] == {"birds": 1, "fish": 1} and ds.labels.dtype == torch.int64


def test_report_preview_and_save_load_round_trip(tmp_path):
    files = [("set/a/1.png", enc(noise(1))), ("set/b/2.jpg", enc(noise(2), "JPEG")), ("set/b/bad.png", b"nope")]
    r = ingest_uploads(files, resolution=32, channels=3, labels=True)
    grid = r.preview()
    assert grid.dtype == np.uint8 and grid.shape == (2 + 34, 2 + 2 * 34, 3)   # 2 images, one row
    assert r.preview_png().startswith(b"\x89PNG") and "2 image(s) accepted" in r.summary()
    folder = save_upload_set(r, tmp_path / "up")
    assert sorted(p.name for p in folder.iterdir()) == ["dataset.json", "images.safetensors"]
    ds = load_upload_set(folder)
    assert torch.equal(ds.images, torch.from_numpy(r.images)) and ds.labels.tolist() == [0, 1]
    assert ds.class_names == ["a", "b"] and ds.skipped == [("set/b/bad.png", r.rejected[0][1])]
    raw = bytearray((folder / "images.safetensors").read_bytes())
    raw[-1] ^= 0xFF
    (folder / "images.safetensors").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="corrupt"):
        load_upload_set(folder)
    with pytest.raises(FileNotFoundError):
        load_upload_set(tmp_path)
    with pytest.raises(ValueError, match="no usable images"):
        save_upload_set(ingest_uploads([("x.png", b"")], resolution=8, channels=1), tmp_path / "empty")


def test_identical_upload_sets_are_stored_once(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(tmp_path))
    files = [("cats/a.png", enc(noise(1))), ("dogs/b.png", enc(noise(2)))]
    r = ingest_uploads(files, resolution=8, channels=3, labels=True)
    a = save_upload_set(r)
    stamp = (a / "images.safetensors").stat().st_mtime_ns
    again = ingest_uploads(list(reversed(files)), resolution=8, channels=3, labels=True)   # another Start
    renamed = ingest_uploads([("cats/x.png", files[0][1]), ("dogs/y.png", files[1][1])], resolution=8,
                             channels=3, labels=True)
    assert save_upload_set(r) == save_upload_set(again) == save_upload_set(renamed) == a
    assert (a / "images.safetensors").stat().st_mtime_ns == stamp                   # not written again
    assert [p.name for p in (tmp_path / "uploads").iterdir() if not p.name.startswith(".")] == [a.name]
    other = save_upload_set(ingest_uploads(files, resolution=8, channels=3, labels=False))   # no labels: new set
    grey = save_upload_set(ingest_uploads(files, resolution=8, channels=1, labels=True))
    assert len({a, other, grey}) == 3 and a.parent == other.parent == tmp_path / "uploads"
    assert len(a.name) >= 32 and load_upload_set(a).class_names == ["cats", "dogs"]
    (a / "dataset.json").unlink()                                   # a half-written set is written again
    assert save_upload_set(r) == a and load_upload_set(a).labels.tolist() == [0, 1]
