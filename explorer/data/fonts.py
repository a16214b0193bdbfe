"""The typefaces dataset: ~3,600 distinct Latin faces from Debian font packages, as glyph stacks.

    latent-explorer datasets fonts [--no-tex] [--limit-packages N] [--out DIR]

builds it into <data>/datasets/fonts (or fonts-notex), fetching the packages listed in
font_packages.txt (font_packages_no_tex.txt with --no-tex) into <data>/fonts with `apt-get
download` + `dpkg-deb -x` (no install, no root; a rerun reuses them; see fontfetch). Each face
becomes 62 glyphs A-Z a-z 0-9 in 64x64 uint8 cells on one scale and baseline (see fontrender).
Files: .ttf .otf .ttc/.otc (every face of a collection) .pfb .pfa .t1 (symlinks skipped: Debian links
the same file into several folders); a variable font gives its default instance only.
Dropped, each with its reason in report.json: unreadable files ("broken file"), byte-identical
files ("duplicate file"), faces missing a glyph, bitmap-only faces, blank glyphs, .notdef boxes,
one glyph repeated for many characters (fontrender), symbol fonts and near-duplicates
(fontfilter). Kept faces are split by family into train and a held-out test split (~10 % of
families, by a hash of the family name, so no family is on both sides), with per-face weights
1 / (faces of its family in the split) for sampling by family. Output (fontstore): train.safetensors,
test.safetensors, fonts.json (per-face metadata), report.json (drops, counts, build time).

    from explorer.data.fonts import build_fonts
    from explorer.data.fontstore import load_fonts, sample_faces
    summary = build_fonts()                 # about 3 minutes of download/unpack + ~10 min on one core
    train = load_fonts("train")             # FontSet: glyphs (N, 62, 64, 64) uint8, faces, ...
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from explorer.data import fontfilter, fontstore, glyphmetrics
from explorer.data.fontfetch import fetch_packages, font_files, package_licence, read_package_list
from explorer.data.fontrender import CELL, CHARS, FaceRejected, face_count, render_face

HERE = Path(__file__).resolve().parent
PACKAGE_LISTS = {False: HERE / "font_packages.txt", True: HERE / "font_packages_no_tex.txt"}
TEST_FRACTION = 0.1
Progress = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class FontSource:
    package: str        # the Debian package (or any label)
    root: Path          # the unpacked package folder; `file` is recorded relative to it
    path: Path          # the font file

    @property
    def relpath(self) -> str:
        try:
            return str(self.path.relative_to(self.root))
        except ValueError:
            return self.path.name


def default_out(no_tex: bool = False) -> Path:
    from explorer.settings import data_dir
    return data_dir() / "datasets" / ("fonts-notex" if no_tex else "fonts")


def family_split(family: str, test_fraction: float = TEST_FRACTION) -> str:
    """'test' for ~test_fraction of family names (by sha256 of the case-folded name), else 'train'."""
    h = int(hashlib.sha256(family.strip().casefold().encode("utf-8")).hexdigest()[:8], 16)
    return "test" if h / 2 ** 32 < test_fraction else "train"


def _render_file(src: tuple[str, str]) -> list[tuple[int, Any]]:
    """All faces of one file: [(index, (FaceRender, pool16, shape features) | (reason, detail))];
    never raises."""
    path, _ = src
    try:
        n = face_count(path)
    except Exception as e:  # noqa: BLE001 - any failure of a font file is a reason, not a crash
        return [(0, ("broken file", f"{type(e).__name__}: {e}"[:300]))]
    out: list[tuple[int, Any]] = []
    for index in range(n):
        try:
            r = render_face(path, index)
            out.append((index, (r, fontfilter.pool16(r.glyphs[None])[0].astype(np.float16),
                                fontfilter.shape_features(r.glyphs))))
        except FaceRejected as e:
            out.append((index, (e.reason, e.detail)))
        except Exception as e:  # noqa: BLE001
            out.append((index, ("broken file", f"{type(e).__name__}: {e}"[:300])))
    return out


def _outcomes(sources: list[FontSource], workers: int) -> Iterator[list[tuple[int, Any]]]:
    args = [(str(s.path), s.package) for s in sources]
    if workers <= 1:
        yield from map(_render_file, args)
        return
    import multiprocessing as mp
    with mp.get_context("fork" if sys.platform == "linux" else "spawn").Pool(workers) as pool:
        yield from pool.imap(_render_file, args, chunksize=4)


def _preference(face: dict[str, Any]) -> tuple[Any, ...]:
    """Which of two near-duplicates is kept: OpenType/TrueType over Type 1 (richer metadata), a
    face that fits at the common scale, a non-TeX package, then package and path in sorted order."""
    return (face["format"] == "Type 1", face["fit_scale"] < 1.0, face["package"].startswith("texlive"),
            face["package"], face["file"], face["face_index"])


def build_from_sources(sources: list[FontSource], out: str | os.PathLike, workers: int = 1,
                       test_fraction: float = TEST_FRACTION, progress: Progress = _stderr,
                       extra: dict[str, Any] | None = None, started: float | None = None) -> dict[str, Any]:
    """Render, filter, split and save the faces of `sources` into `out`; returns the summary.
    `started`: a time.perf_counter() value the reported build time counts from (default: now)."""
    t0 = started if started is not None else time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dropped: list[dict[str, Any]] = []
    faces: list[dict[str, Any]] = []
    seen_bytes: dict[str, str] = {}
    todo: list[FontSource] = []
    for s in sources:
        try:
            digest = hashlib.sha1(s.path.read_bytes()).hexdigest()
        except OSError as e:
            dropped.append({"package": s.package, "file": s.relpath, "face_index": 0, "reason": "broken file",
                            "detail": str(e)})
            continue
        if digest in seen_bytes:
            dropped.append({"package": s.package, "file": s.relpath, "face_index": 0,
                            "reason": "duplicate file", "detail": seen_bytes[digest]})
            continue
        seen_bytes[digest] = f"{s.package}/{s.relpath}"
        todo.append(s)
    for stale in out.glob(".glyphs-*.spool"):          # left by a build that was killed
        pid = stale.name.split("-")[1].split(".")[0]
        if not pid.isdigit() or not Path(f"/proc/{pid}").exists():
            stale.unlink(missing_ok=True)
    spool_path = out / f".glyphs-{os.getpid()}.spool"
    t1 = time.perf_counter()
    extras: dict[str, list[np.ndarray]] = {"advance": [], "origin_x": []}
    pooled: list[np.ndarray] = []
    shapes: list[np.ndarray] = []
    try:
        with open(spool_path, "wb") as spool:
            last_pkg = ""
            for k, (src, results) in enumerate(zip(todo, _outcomes(todo, workers)), 1):
                if src.package != last_pkg or k % 500 == 0 or k == len(todo):
                    progress(f"[{k}/{len(todo)} files] {src.package}: {len(faces)} faces rendered, "
                             f"{len(dropped)} dropped")
                    last_pkg = src.package
                for index, r in results:
                    base = {"package": src.package, "file": src.relpath, "face_index": index}
                    if isinstance(r[0], str):
                        dropped.append({**base, "reason": r[0], "detail": r[1]})
                        continue
                    r, pool, shape = r
                    spool.write(r.glyphs.tobytes())
                    pooled.append(pool)
                    shapes.append(shape)
                    extras["advance"].append(r.advance)
                    extras["origin_x"].append(r.origin_x)
                    faces.append({**r.meta, **base, "licence": package_licence(src.root, src.package, src.relpath),
                                  "ppem": r.ppem, "fit_scale": r.fit_scale})
        t_render = time.perf_counter() - t1
        n = len(faces)
        glyphs = (np.memmap(spool_path, dtype=np.uint8, mode="r", shape=(n, len(CHARS), CELL, CELL))
                  if n else np.zeros((0, len(CHARS), CELL, CELL), dtype=np.uint8))
        feats = np.stack(pooled) if n else np.zeros((0, len(CHARS), 16, 16), dtype=np.float16)
        progress(f"rendered {n} faces in {t_render:.0f} s; filtering symbol fonts and near-duplicates")
        scores = fontfilter.letter_scores(np.stack(shapes)) if n else np.zeros((0, 3), dtype=np.float32)
        shapes.clear()
        symbol = fontfilter.is_symbol(scores)
        alive = [i for i in range(n) if not symbol[i]]
        for i in range(n):
            faces[i]["letter_accuracy"] = round(float(scores[i, 0]), 3)
            if symbol[i]:
                dropped.append(_drop(faces[i], "symbol font", "glyphs read as letters: {:.2f} (A-Z {:.2f}, a-z "
                                     "{:.2f})".format(*scores[i])))
        order = sorted(range(len(alive)), key=lambda j: _preference(faces[alive[j]]))
        dups = fontfilter.near_duplicates(feats[alive], order)
        for j, kept_j in sorted(dups.items()):
            f, g = faces[alive[j]], faces[alive[kept_j]]
            dropped.append(_drop(f, "duplicate", f"{g['package']}/{g['file']}#{g['face_index']}"))
        keep = [alive[j] for j in range(len(alive)) if j not in dups]
        t_filter = time.perf_counter() - t1 - t_render
        summary = _save(out, glyphs, faces, extras, keep, dropped, test_fraction, progress,
                        {"render_s": round(t_render, 1), "filter_s": round(t_filter, 1)}, t0, extra or {})
        del glyphs
    finally:
        spool_path.unlink(missing_ok=True)
    return summary


def _drop(face: dict[str, Any], reason: str, detail: str) -> dict[str, Any]:
    return {"package": face["package"], "file": face["file"], "face_index": face["face_index"],
            "reason": reason, "detail": detail, "family": face["family"], "style": face["style"]}


def _save(out: Path, glyphs: np.ndarray, faces: list[dict[str, Any]], extras: dict[str, list[np.ndarray]],
          keep: list[int], dropped: list[dict[str, Any]], test_fraction: float, progress: Progress,
          timing: dict[str, float], t0: float, extra: dict[str, Any]) -> dict[str, Any]:
    split_of = {i: family_split(faces[i]["family"], test_fraction) for i in keep}
    fams = sorted({faces[i]["family"].strip().casefold() for i in keep})
    if len(fams) >= 2 and all(v == "train" for v in split_of.values()):   # tiny sets: one test family
        first = min(fams, key=lambda f: hashlib.sha256(f.encode()).hexdigest())
        split_of = {i: "test" if faces[i]["family"].strip().casefold() == first else "train" for i in keep}
    counts_by_split: dict[str, int] = {}
    files: dict[str, dict[str, Any]] = {}
    for split in ("train", "test"):
        idx = [i for i in keep if split_of[i] == split]
        stack = np.stack([glyphs[i] for i in idx]) if idx else np.zeros((0, len(CHARS), CELL, CELL), np.uint8)
        attrs = glyphmetrics.face_attributes(stack) if idx else {k: np.zeros(0) for k in glyphmetrics.ATTRIBUTES}
        recs = []
        for r, i in enumerate(idx):
            rec = dict(faces[i])
            rec["attributes"] = {k: (None if np.isnan(v[r]) else round(float(v[r]), 4)) for k, v in attrs.items()}
            recs.append(rec)
        files[split] = fontstore.save_split(out, split, stack, recs,
                                            {k: np.stack([extras[k][i] for i in idx]) if idx else
                                             np.zeros((0, len(CHARS)), np.float32) for k in extras})
        counts_by_split[split] = len(idx)
        progress(f"wrote {split}: {len(idx)} faces, {files[split]['families']} families")
    reasons = Counter(d["reason"] for d in dropped)
    summary = {"kept": len(keep), "families": len(fams), "splits": counts_by_split,
               "family_counts": {s: files[s]["families"] for s in files},
               "dropped": dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
               "faces_rendered": len(faces), "seconds": round(time.perf_counter() - t0, 1), **timing,
               "test_fraction": test_fraction, "out": str(out), **extra}
    fontstore.save_meta(out, summary, files, dropped)
    return summary


def sources_from_packages(folders: dict[str, Path]) -> list[FontSource]:
    """Every font file of every unpacked package, in package order then path order."""
    return [FontSource(pkg, folder, p) for pkg, folder in folders.items() for p in font_files(folder)]


def build_fonts(out: str | os.PathLike | None = None, no_tex: bool = False, packages: list[str] | None = None,
                limit_packages: int | None = None, cache: str | os.PathLike | None = None, workers: int = 1,
                progress: Progress = _stderr) -> dict[str, Any]:
    """Fetch the package list into `cache` (default <data>/fonts) and build the dataset into `out`."""
    from explorer.settings import data_dir
    t0 = time.perf_counter()
    names = packages if packages is not None else read_package_list(PACKAGE_LISTS[no_tex])
    names = names[:limit_packages] if limit_packages else names
    root = Path(cache) if cache else data_dir() / "fonts"
    folders, failed = fetch_packages(names, root, progress)
    if not folders:
        raise ValueError(f"none of the {len(names)} font packages could be fetched: "
                         + "; ".join(f"{k}: {v}" for k, v in list(failed.items())[:3]))
    t_fetch = time.perf_counter() - t0
    progress(f"fetched {len(folders)}/{len(names)} packages in {t_fetch:.0f} s"
             + (f"; skipped {len(failed)}: {', '.join(failed)}" if failed else ""))
    versions = {p: (f / ".deb").read_text(encoding="utf-8").strip() if (f / ".deb").is_file() else ""
                for p, f in folders.items()}
    summary = build_from_sources(sources_from_packages(folders), out or default_out(no_tex), workers=workers,
                                 progress=progress,
                                 extra={"fetch_s": round(t_fetch, 1), "packages": versions,
                                        "packages_failed": failed, "no_tex": no_tex}, started=t0)
    return summary
