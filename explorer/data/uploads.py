"""Browser uploads -> a checked, re-encoded training set, with a reason for every file left out.

Input is what `st.file_uploader(accept_multiple_files=True | "directory")` gives: a list of
(client-provided name, bytes), where a name may hold folders ("photos/cats/a.jpg") and any
file may be a .zip. The rules are those of the one ingestion core, `explorer.data.ingest`,
which `train --data folder|zip` uses too: nothing from the client is ever used as a path, zips
are read in memory and never extracted, names are NFC-normalised display strings and class
labels, every accepted image is decoded (`explorer.imaging.decode`: EXIF orientation, modes)
and re-encoded by the app, duplicates are dropped without using the file budget, and every
file left out, including each one not read once a cap is reached, gets a "category: detail"
reason (`REASONS`). Conversions are kept and noted (CMYK, 16-bit, palette, alpha, animation).

    from explorer.data.uploads import ingest_uploads
    from explorer.data.store import save_upload_set, load_upload_set
    files = [(f.name, f.getvalue()) for f in st.file_uploader("Images", accept_multiple_files=True)]
    report = ingest_uploads(files, resolution=64, channels=3, labels=True)
    st.image(report.preview_png()); st.text(report.summary()); st.dataframe(report.reason_groups())
    folder = save_upload_set(report)                 # data/uploads/<content hash>/{images.safetensors, dataset.json}
    ds = load_upload_set(folder)                     # an ImageDataset the trainer reads
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from explorer.data.archives import UploadLimits
from explorer.data.datasets import ImageDataset, describe_source
from explorer.data.ingest import REASONS, file_entries, ingest
from explorer.imaging.decode import Limits
from explorer.imaging.render import make_grid, png_bytes

__all__ = ["DEFAULT_LIMITS", "REASONS", "UploadLimits", "UploadReport", "ingest_uploads"]
DEFAULT_LIMITS = UploadLimits()        # what the Train page applies


@dataclass
class UploadReport:
    images: np.ndarray                          # (N, C, H, W) uint8, re-encoded from decoded pixels
    names: list[str]                            # sanitised display name of each accepted image
    labels: np.ndarray | None                   # (N,) int64 class indices, or None without labels
    class_names: list[str]
    rejected: list[tuple[str, str]]             # (display name, "category: detail")
    notes: list[tuple[str, str]]                # (display name, what was converted) for accepted files
    resolution: int
    channels: int
    fit: str
    stopped: str | None = None                  # why a cap stopped reading early (the files not read are in rejected)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def counts(self) -> dict[str, int]:
        """Rejections per category ('duplicate', 'too large', ...)."""
        return dict(sorted(Counter(r.split(":", 1)[0] for _, r in self.rejected).items()))

    @property
    def note_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(n.split(":", 1)[0] for _, n in self.notes).items()))

    @property
    def partial(self) -> bool:
        """Whether some files were not read because a cap was reached."""
        return self.stopped is not None

    def reason_groups(self, examples: int = 3) -> list[dict[str, object]]:
        """Identical reasons grouped, most frequent first: {"reason", "files", "examples"} (a few names;
        the per-file list is `rejected`)."""
        groups: dict[str, list[str]] = {}
        for name, why in self.rejected:
            groups.setdefault(why, []).append(name)
        rows = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        return [{"reason": why, "files": len(names),
                 "examples": ", ".join(names[:examples]) + (", …" if len(names) > examples else "")}
                for why, names in rows]

    def summary(self) -> str:
        parts = [f"{len(self)} image(s) accepted"]
        if self.rejected:
            kinds = ", ".join(f"{k}: {v}" for k, v in self.counts.items())
            parts.append(f"{len(self.rejected)} left out ({kinds})")
        if self.notes:
            parts.append(f"{len(self.notes)} conversion note(s)")
        if self.class_names:
            parts.append(f"{len(self.class_names)} classes: {', '.join(self.class_names)}")
        return "; ".join(parts)

    def preview(self, n: int = 64, nrow: int | None = None) -> np.ndarray:
        """A grid of the first n accepted images as (H, W, C) uint8 (one pixel of padding if empty)."""
        imgs = self.images[:n].transpose(0, 2, 3, 1)
        if len(imgs) == 0:
            return np.zeros((1, 1, self.channels), dtype=np.uint8)
        return make_grid(imgs, nrow=nrow)

    def preview_png(self, n: int = 64, scale: int = 2) -> bytes:
        return png_bytes(self.preview(n), scale=scale)

    def to_dataset(self, source: str = "upload") -> ImageDataset:
        labels = torch.from_numpy(self.labels) if self.labels is not None else None
        class_counts = dict(sorted(Counter(self.class_names[i] for i in self.labels.tolist()).items())) \
            if self.labels is not None else {}
        desc = describe_source(source, len(self), self.resolution, self.channels, self.fit, self.rejected,
                              class_counts, self.stopped)
        return ImageDataset(torch.from_numpy(np.ascontiguousarray(self.images)), labels, list(self.class_names),
                            desc, list(self.rejected))


def ingest_uploads(files: list[tuple[str, bytes]], *, resolution: int = 64, channels: int = 3,
                   fit: str = "crop", labels: bool = False, limits: Limits | None = None) -> UploadReport:
    """Decode, check, convert, fit and de-duplicate uploaded files (and zip members) through the ingestion
    core. Never raises on file contents; raises ValueError only for bad arguments. `labels`: top-level
    folder (or .zip) names become classes (files outside any folder are then rejected as 'no class')."""
    lim = limits if limits is not None else DEFAULT_LIMITS
    out = ingest(file_entries(files, lim), resolution=resolution, channels=channels, fit=fit, labels=labels,
                 limits=lim)
    class_names = sorted(set(out.classes)) if labels else []
    y = np.array([class_names.index(c) for c in out.classes], dtype=np.int64) if labels else None
    return UploadReport(out.images, out.names, y, class_names, out.rejected, out.notes, resolution, channels, fit,
                        out.stopped)
