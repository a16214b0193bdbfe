"""What a run folder says about its training, read cheaply and often: metrics, quality, samples, card.

`read_metrics` tails `<run>/metrics.jsonl` incrementally: each call reads only the bytes appended
since the last call for that file (a half-written last line waits for the next call), so a page
polling every few seconds costs a `stat` and a small read however long the run is. Rows are
split into progress rows (step, loss_g, loss_d, d_real, d_fake, augment_p, img_per_s, ...) and
quality rows (step, elapsed_s, swd, ...), each list in increasing step order: a row whose step is not
past the last one's replaces the rows from that step on (logs of runs that replayed steps after a
crash, written before the trainer rewound its log itself, draw no backward segment). `sample_steps`
lists the sample grids written from fixed noise (`samples/step-XXXXXXXX.png`), oldest first.
`job_card` writes the model card of a finished browser job from what the run folder and its dataset know.

    progress, quality = read_metrics(run / "metrics.jsonl")
    steps = sample_steps(run)           # [(250, Path(".../step-00000250.png")), ...]
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from explorer.gan.card import md_escape, md_value

_MAX_FILES = 64                      # tails kept in memory (least recently used dropped)


@dataclass
class _Tail:
    ident: tuple[int, int]           # (device, inode): a replaced file starts over
    offset: int = 0
    progress: list[dict] = field(default_factory=list)
    quality: list[dict] = field(default_factory=list)


_TAILS: OrderedDict[str, _Tail] = OrderedDict()
_LOCK = threading.Lock()


def read_metrics(path: str | os.PathLike) -> tuple[list[dict], list[dict]]:
    """(progress rows, quality rows) of a metrics.jsonl, reading only what was appended since the last
    call. Missing file: ([], []). Unparsable lines are skipped. The lists are shared: do not modify."""
    key = str(Path(path).resolve())
    try:
        st = os.stat(key)
    except OSError:
        return [], []
    with _LOCK:
        tail = _TAILS.get(key)
        if tail is None or tail.ident != (st.st_dev, st.st_ino) or st.st_size < tail.offset:
            tail = _Tail((st.st_dev, st.st_ino))
        _TAILS[key] = tail
        _TAILS.move_to_end(key)
        while len(_TAILS) > _MAX_FILES:
            _TAILS.popitem(last=False)
        if st.st_size > tail.offset:
            with open(key, "rb") as f:
                f.seek(tail.offset)
                chunk = f.read(st.st_size - tail.offset)
            end = chunk.rfind(b"\n") + 1                   # only complete lines
            tail.offset += end
            for line in chunk[:end].splitlines():
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(row, dict):
                    continue
                if row.get("kind") == "quality":
                    _add(tail.quality, row)
                elif row.get("kind") == "progress":
                    _add(tail.progress, row)
        return tail.progress, tail.quality


def _add(rows: list[dict], row: dict) -> None:
    """Append a row; a row at or before the last one's step starts over from there (steps a run replayed
    after a crash or a rollback, in logs written before the trainer dropped them itself)."""
    step = row.get("step")
    if isinstance(step, (int, float)):
        while rows and isinstance(rows[-1].get("step"), (int, float)) and rows[-1]["step"] >= step:
            rows.pop()
    rows.append(row)


def thin(rows: list[dict], limit: int = 400) -> list[dict]:
    """At most about `limit` rows, evenly spaced, always keeping the last (for plotting long runs)."""
    if len(rows) <= limit:
        return rows
    stride = -(-len(rows) // limit)
    out = rows[::stride]
    return out if out[-1] is rows[-1] else out + [rows[-1]]


def sample_steps(run_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """The sample grids of a run as (step, path), oldest first."""
    folder = Path(run_dir) / "samples"
    out = []
    try:
        with os.scandir(folder) as it:
            for e in it:
                n = e.name
                if n.startswith("step-") and n.endswith(".png") and n[5:-4].isdigit():
                    out.append((int(n[5:-4]), Path(e.path)))
    except OSError:
        return []
    return sorted(out)


# ----------------------------------------------------------------------------- model card

def _duration(s: float | None) -> str:
    s = int(s or 0)
    return f"{s // 3600} h {s % 3600 // 60:02d} min" if s >= 3600 else f"{s // 60} min {s % 60:02d} s"


def job_card(name: str, meta: dict, spec: dict, quality: list[dict], upload: dict | None = None) -> str:
    """Markdown model card of a browser job: data, starting point, settings, duration, quality curve."""
    g, tr, ds = meta.get("generator", {}), meta.get("training", {}), meta.get("dataset", {})
    tc = tr.get("train_config", {})
    kind = f"conditional on {g.get('num_classes')} classes" if g.get("num_classes") else "unconditional"
    colour = "RGB" if g.get("channels") == 3 else "greyscale"
    out = [f"# {md_escape(name)}", "",
           f"A {g.get('resolution')}x{g.get('resolution')} {colour} GAN generator "
           f"({md_escape(g.get('arch'))} architecture, "
           f"{kind}), trained in the browser with Latent Explorer.", "", "## Data",
           f"- {ds.get('count', '?')} uploaded images, fitted by {ds.get('fit', '?')} to "
           f"{ds.get('resolution', '?')}x{ds.get('resolution', '?')}"]
    if ds.get("skipped"):
        reasons = ", ".join(f"{k}: {v}" for k, v in (ds.get("skip_reasons") or {}).items())
        out.append(f"- {ds['skipped']} file(s) left out ({reasons})")
    if upload and upload.get("notes"):
        out.append(f"- {len(upload['notes'])} file(s) converted (alpha, palette, 16-bit, EXIF rotation, ...)")
    if meta.get("class_names"):
        out.append(f"- classes: {', '.join(md_escape(c) for c in meta['class_names'])}")
    init = spec.get("init_from")
    out += ["", "## Training",
            f"- started from: {md_escape(Path(init).name) + ' (fine-tuned)' if init else 'scratch'}",
            f"- recipe {md_value(tc.get('preset', tr.get('preset', '?')))}: loss {md_value(tc.get('loss', '?'))}, "
            f"lr G {md_value(tc.get('lr_g', '?'))} / D {md_value(tc.get('lr_d', '?'))}, "
            f"batch {md_value(tc.get('batch_size', '?'))}, EMA half-life {md_value(tc.get('ema_half_life_k', '?'))}k "
            f"images, augmentation {md_value(tc.get('augment') or 'none')}"
            + (f" (adaptive, target {md_value(tc.get('ada_target'))})" if tc.get("ada_target") else "")
            + (f", FreezeD {md_value(tc.get('freeze_d'))} block(s)" if tc.get("freeze_d") else ""),
            f"- {tr.get('steps', '?')} steps, {tr.get('images_seen', '?')} images seen, "
            f"{_duration(tr.get('train_seconds'))} of training"
            + (f", {tr.get('rollbacks')} divergence rollback(s)" if tr.get("rollbacks") else "")]
    if quality:
        first, best, last = quality[0], min(quality, key=lambda q: q["swd"]), quality[-1]
        out += ["", "## Quality",
                f"SWD x1e3 of {last.get('n', '?')} samples against {last.get('n', '?')} training images "
                f"(lower is better; a quick probe, compare within this curve):", "",
                "| step | training time | SWD |", "|---|---|---|"]
        for q in sorted({q["step"]: q for q in (first, best, last)}.values(), key=lambda q: q["step"]):
            out.append(f"| {q['step']} | {_duration(q.get('elapsed_s'))} | {q['swd']:.2f} |")
    return "\n".join(out) + "\n"
