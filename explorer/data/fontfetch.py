"""Fetch Debian font packages into the data folder, without installing them.

`apt-get download` puts each package's .deb into <data>/fonts/debs and `dpkg-deb -x` unpacks it
into <data>/fonts/pkgs/<package>/ (neither needs root; `apt-get update` must have run once so apt
knows the packages). A rerun reuses every .deb and unpacked folder already there. A package that
cannot be downloaded or unpacked is reported and skipped, never fatal.

    from explorer.data.fontfetch import fetch_packages, font_files, package_licence
    pkgs, failed = fetch_packages(["fonts-dejavu-core"], root=data_dir() / "fonts")
    for path in font_files(pkgs["fonts-dejavu-core"]): ...
"""

from __future__ import annotations

import fnmatch
import functools
import gzip
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc", ".pfb", ".pfa", ".t1")
APT_LISTS = Path("/var/lib/apt/lists")
Progress = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def read_package_list(path: str | Path) -> list[str]:
    """Package names from a list file: one per line; blank lines and `#` comments ignored."""
    names = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            names.append(name)
    return names


def _deb_for(debs: Path, pkg: str) -> Path | None:
    found = sorted(debs.glob(f"{pkg}_*.deb"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def apt_ready() -> bool:
    """True when apt has package lists (else `apt-get download` cannot find anything)."""
    return APT_LISTS.is_dir() and any(APT_LISTS.glob("*_Packages*"))


def _apt_download(names: list[str], debs: Path, progress: Progress, done: int, total: int) -> tuple[int, str]:
    """Run one `apt-get download` for `names` in `debs`, echoing a progress line per fetched file."""
    proc = subprocess.Popen(["apt-get", "download", *names], cwd=debs, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        m = re.match(r"Get:\d+ \S+ \S+ \S+ (\S+) ", line)
        if m:
            done += 1
            progress(f"[{done}/{total}] downloaded {m.group(1)}")
    err = proc.stderr.read() if proc.stderr else ""
    errors = [ln[3:].strip() for ln in err.splitlines() if ln.startswith("E:")]
    return proc.wait(), "; ".join(errors) or err.strip()[-300:]


def download_debs(names: list[str], debs: Path, progress: Progress = _stderr) -> dict[str, str]:
    """Download the .debs of `names` that are not in `debs` yet; return {package: why it failed}."""
    debs.mkdir(parents=True, exist_ok=True)
    missing = [n for n in names if _deb_for(debs, n) is None]
    if not missing:
        return {}
    if shutil.which("apt-get") is None:
        return {n: "apt-get not found (this needs a Debian/Ubuntu system)" for n in missing}
    if not apt_ready():
        why = "apt has no package lists: run `apt-get update` once (as root), then rerun"
        progress(f"warning: {why}")
        return {n: why for n in missing}
    done = len(names) - len(missing)
    rc, err = _apt_download(missing, debs, progress, done, len(names))
    failed: dict[str, str] = {}
    if rc != 0:                      # one unknown package fails the whole batch: retry one by one
        for n in missing:
            if _deb_for(debs, n) is None:
                rc1, err1 = _apt_download([n], debs, progress, 0, 0)
                if rc1 != 0 or _deb_for(debs, n) is None:
                    failed[n] = err1 or f"apt-get download exited {rc1}"
                    progress(f"skipped {n}: {failed[n]}")
    return failed


def unpack_deb(deb: Path, dest: Path) -> None:
    """`dpkg-deb -x deb dest`, into a temporary folder renamed at the end (a crash leaves no half folder)."""
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    r = subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], capture_output=True, text=True)
    if r.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError(f"dpkg-deb -x failed: {r.stderr.strip()[-300:]}")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    (dest / ".deb").write_text(deb.name + "\n", encoding="utf-8")


def fetch_packages(names: list[str], root: Path, progress: Progress = _stderr
                   ) -> tuple[dict[str, Path], dict[str, str]]:
    """Download and unpack `names` under `root` (debs/, pkgs/), reusing what is there.

    Returns ({package: unpacked folder}, {package: why it was skipped})."""
    debs, pkgs = root / "debs", root / "pkgs"
    failed = download_debs(names, debs, progress)
    folders: dict[str, Path] = {}
    for i, name in enumerate(names, 1):
        if name in failed:
            continue
        deb = _deb_for(debs, name)
        dest = pkgs / name
        if deb is None:
            failed[name] = "no .deb downloaded"
            continue
        marker = dest / ".deb"
        if marker.is_file() and marker.read_text(encoding="utf-8").strip() == deb.name:
            folders[name] = dest
            continue
        if shutil.which("dpkg-deb") is None:
            failed[name] = "dpkg-deb not found (this needs a Debian/Ubuntu system)"
            continue
        progress(f"[{i}/{len(names)}] unpacking {name}")
        try:
            unpack_deb(deb, dest)
            folders[name] = dest
        except (RuntimeError, OSError) as e:
            failed[name] = str(e)
            progress(f"skipped {name}: {e}")
    return folders, failed


def font_files(folder: Path) -> Iterator[Path]:
    """Font files (regular files, not symlinks) under an unpacked package, in sorted order."""
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() in FONT_SUFFIXES and p.is_file() and not p.is_symlink():
            yield p


_SHORT = [("OFL", r"\bOFL\b|Open Font License"), ("Apache-2.0", r"Apache"), ("LPPL", r"LPPL|LaTeX Project Public"),
          ("GPL", r"\bGPL\b|General Public License"), ("Bitstream-Vera", r"Bitstream Vera"),
          ("MIT", r"\bMIT\b|Expat"), ("public-domain", r"public domain"), ("BSD", r"\bBSD\b")]


def _paragraphs(text: str) -> list[dict[str, str]]:
    out = []
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = ""
        for line in block.splitlines():
            m = re.match(r"^([A-Za-z][A-Za-z-]*):\s*(.*)$", line)
            if m:
                key = m.group(1).lower()
                fields[key] = m.group(2).strip()
            elif key and line.startswith((" ", "\t")):
                fields[key] += "\n" + line.strip()
        if fields:
            out.append(fields)
    return out


def _texlive_licences(doc: Path) -> list[tuple[str, str]]:
    """(path glob, licence) pairs from TeX Live's Licenses.gz (`name: licence` headers, then paths)."""
    path = doc / "Licenses.gz"
    if not path.is_file():
        return []
    out, lic = [], ""
    for line in gzip.decompress(path.read_bytes()).decode("utf-8", "replace").splitlines():
        m = re.match(r"^(\S+):\s*(.*)$", line)
        if m and not line.startswith("texmf"):
            lic = m.group(2).strip()
        elif line.strip().startswith("texmf") and lic:
            out.append((line.strip(), lic))
    return out


@functools.lru_cache(maxsize=512)
def _licence_rules(doc: Path) -> tuple[list[tuple[str, str]], list[dict[str, str]], str]:
    path = doc / "copyright"
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    return _texlive_licences(doc), _paragraphs(text), text


def package_licence(folder: Path, package: str, relpath: str = "") -> str:
    """Short licence name of a font file (`relpath` inside the unpacked package) from the package's docs.

    TeX Live packages: the licence TeX Live's Licenses.gz lists for the file's directory (lppl, ofl,
    gpl, ...). Machine-readable (DEP-5) copyright files: the `License:` of the last `Files:` paragraph
    whose glob matches the font's file name (later paragraphs win, as in Debian), else `Files: *`'s,
    else the first `License:`. Free-form files: the first known licence named in the text.
    '' when the package has no copyright file."""
    doc = folder / "usr/share/doc" / package
    tex, paras, text = _licence_rules(doc)
    if not text and not tex:
        return ""
    if tex and "texmf-dist/" in relpath:
        sub = relpath[relpath.index("texmf-dist/"):]
        for glob, lic in tex:
            if fnmatch.fnmatch(sub, glob):
                return lic
    name = Path(relpath).name
    best = ""
    for p in paras:
        if "files" in p and "license" in p:
            lic = p["license"].split("\n", 1)[0].strip()
            globs = p["files"].split()
            if "*" in globs and not best:
                best = lic
            if name and any(Path(g).name not in ("*", "*.*") and fnmatch.fnmatch(name, Path(g).name)
                            for g in globs):
                best = lic
    if not best:
        best = next((p["license"].split("\n", 1)[0].strip() for p in paras if "license" in p
                     and not p.get("files", "").startswith("debian/")), "")
    if not best:
        best = next((short for short, rx in _SHORT if re.search(rx, text)), "unknown")
    return best
