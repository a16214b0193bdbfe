"""What goes into a projection and what comes out: fitted uploads, the state it becomes, its link.

Uploads are decoded by the one hostile-input path the Train page uses (explorer/imaging/decode.py:
header size checks before decoding, decompression bombs, truncated files, modes and alpha), then
fitted to the model's resolution and channels by centre crop or pad. A projection becomes a
`LatentState` carrying its latent (`projected`, float16 base64), so directions, strips,
interpolation, exports and recipes work on it like on a seed; a link carries it when the URL stays
under `LINK_MAX_CHARS`, else the page offers the recipe file instead.

    target, why, notes = fit_image(data, "me.jpg", 32, 1, fit="pad", background=model_background(G))
                                                                 # (32, 32, 1) uint8, or (None, reason, [])
    state = projected_state(base_state, projection)
    fits, n = link_fits(state)
    run = ProjectionRun(projector, target, ProjectConfig(steps=200)).start()   # polled by the page; run.stop()
"""

from __future__ import annotations

import dataclasses
import io
import threading
from urllib.parse import urlencode

import numpy as np
import torch
from PIL import Image

from explorer.explore.inversion import ProjectConfig, Projection, Projector
from explorer.explore.latents import LatentState, encode_ws
from explorer.explore.recipes import to_query_params
from explorer.fileio import megabytes
from explorer.gan.protocol import Generator
from explorer.imaging.decode import FITS, Background, Limits, decode_with_notes, preprocess

MAX_UPLOAD_BYTES = Limits.max_file_bytes          # one file, as on the Train page (20 MB)
LINK_MAX_CHARS = 2000                             # query string length a link may reach (browsers, chat apps)
TONES = {"auto": "auto", "keep": "as uploaded", "invert": "inverted"}   # a greyscale model's choice: label
FLIP_CONTRAST = 160                               # grey levels between an image's border and the model's paper
CLEAR_PAPER = 64                                  # a cut-out is judged only on paper this far from mid-grey


def fit_image(data: bytes, name: str, resolution: int, channels: int, fit: str = "crop",
              background: Background = (255, 255, 255), tones: str = "auto"
              ) -> tuple[np.ndarray | None, str | None, list[str]]:
    """Untrusted upload bytes -> ((H, W, C) uint8 at the model's size, None, notes) or (None, a reason, []).
    Transparency is composited onto `background` (the model's own: `model_background`); `notes` say what
    the decoder converted (alpha, EXIF orientation, the first frame of an animation, 16-bit, CMYK, palette)
    and whether the tones were inverted. `tones` (one of TONES) for a greyscale model: "auto" inverts an
    image whose border is light where the model's paper is dark, or the other way round (`paper_flipped`:
    a product photo of a dark shirt on white, for Fashion-MNIST's light garments on black), and, on paper
    clearly dark or light (CLEAR_PAPER), a cut-out (transparency) whose opaque content is on the paper's
    side of mid-grey: set on the other paper and inverted (a dark shirt cut out would vanish on black).
    "invert" always inverts, "keep" never. A colour model's image is never inverted (its colours would
    change). Never raises for bad input (ValueError only for a `fit` other than "crop" / "pad" or unknown
    `tones`)."""
    if fit not in FITS:
        raise ValueError(f"fit must be one of {FITS}, not {fit!r}")
    if tones not in TONES:
        raise ValueError(f"tones must be one of {tuple(TONES)}, not {tones!r}")
    if not data:
        return None, "the file is empty", []
    if len(data) > MAX_UPLOAD_BYTES:
        return None, (f"the file is too large: {megabytes(len(data))} (the limit is "
                      f"{megabytes(MAX_UPLOAD_BYTES)})"), []
    if channels not in (1, 3):
        return None, "this model makes glyph stacks, not pictures: start from a font instead", []
    img, why, notes = decode_with_notes(data, name, background=background)
    if img is None:
        return None, f"not a usable image ({why})", []
    def fitted(im) -> np.ndarray:                                       # (H, W, C) uint8 at the model's size
        return np.ascontiguousarray(preprocess(im, resolution, channels, fit).transpose(1, 2, 0))
    a = fitted(img)
    if channels != 1 or tones == "keep":
        return a, None, notes
    paper = float(np.mean(background))
    dark, why = paper < 127.5, "as asked"
    if tones == "auto" and paper_flipped(a, background):
        why = (f"its background is {'light' if dark else 'dark'} where this model draws on "
               f"{'black' if dark else 'white'}")
    elif tones == "auto" and abs(paper - 127.5) >= CLEAR_PAPER and any(n.startswith("alpha") for n in notes):
        # a cut-out: on the model's paper a dark shirt vanishes on black. Its opaque pixels (the same on
        # either paper) decide: content on the paper's side of mid-grey goes onto the other paper, inverted
        opposite = int(round(255 - paper))
        img2, _, notes2 = decode_with_notes(data, name, background=(opposite,) * 3)
        if img2 is None:
            return a, None, notes
        a2 = fitted(img2)
        opaque = a == a2
        content = float(np.median(a[opaque])) if opaque.any() else paper
        if (content < 127.5) != dark:                     # light on black already: as it is
            return a, None, notes
        a, notes = a2, notes2
        why = f"a {'dark' if dark else 'light'} cut-out, set on {'white' if dark else 'black'} and inverted, " \
              f"as this model draws on {'black' if dark else 'white'}"
    elif tones == "auto":
        return a, None, notes
    return 255 - a, None, [*notes, f"tones inverted: {why}"]


def paper_flipped(image: np.ndarray, background: Background) -> bool:
    """Whether an (H, W, C) uint8 image's border (the median of its outermost ring of pixels, as
    `model_background` takes the model's) is on the other side of mid-grey from the model's paper
    colour `background` and at least FLIP_CONTRAST grey levels from it: a dark-on-light image for a
    light-on-dark model, or the reverse."""
    a = np.asarray(image, dtype=np.float32).mean(-1)
    ring = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    border, paper = float(np.median(ring)), float(np.mean(background))
    return abs(border - paper) >= FLIP_CONTRAST and (border < 127.5) != (paper < 127.5)


def model_background(G: Generator, n: int = 16, seed: int = 0) -> tuple[int, int, int]:
    """The model's paper colour (R, G, B) 0..255: the median colour of the outermost ring of pixels of `n`
    samples (seeded z, psi 1; classes in turn for a conditional model). Black for Fashion-MNIST, white for
    emoji: what an upload's transparency becomes, so a cut-out garment lands on the background the model
    draws (composited onto white, a shirt from Fashion-MNIST projected as a sandal at 17 dB)."""
    z = torch.randn(n, G.cfg.z_dim, generator=torch.Generator().manual_seed(seed))
    c = torch.arange(n) % G.cfg.num_classes if G.cfg.num_classes else None
    dev = next(G.parameters()).device
    with torch.no_grad():
        x = G(z.to(dev), None if c is None else c.to(dev)).float().clamp(-1, 1).cpu()
    a = ((x + 1) * 127.5).round()                                           # (n, C, H, W)
    ring = torch.cat([a[:, :, 0], a[:, :, -1], a[:, :, :, 0], a[:, :, :, -1]], dim=2)   # (n, C, 4R)
    med = ring.permute(1, 0, 2).reshape(a.shape[1], -1).median(dim=1).values
    v = [int(m) for m in med.tolist()]
    return (v[0], v[0], v[0]) if len(v) == 1 else (v[0], v[1], v[2])


def enlarged_note(data: bytes, resolution: int, fit: str = "crop") -> str | None:
    """A note when an upload (already accepted by `fit_image`) leaves the model little to match: cropped, its
    short side under half the model's resolution (it is enlarged, so the model sees a blurred or flat
    image); padded, its short side under half the model's resolution once the long side fits (a thin strip
    on a square of background). None otherwise (or when its size cannot be read). Reads the header only."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    short, long_ = max(min(w, h), 1), max(w, h)
    fitted = short if fit == "crop" else long_            # the side scaled to the model's size
    if fitted * 2 < resolution:
        return (f"Your image is {w}x{h} px, under half the model's {resolution} px: it was enlarged "
                f"{resolution / fitted:.0f}x to fit, so it holds little detail for the model to match.")
    left = short * resolution / long_                      # padded: what is left of the short side
    if fit != "pad" or left * 2 >= resolution:
        return None
    return (f"Your image is {w}x{h} px: padded to a square and fitted to the model's {resolution} px, it is "
            f"{left:.1f} px {'tall' if h < w else 'wide'}, so little of it is left for the model to match. "
            "Crop keeps more of it.")


def projected_state(base: LatentState, proj: Projection) -> LatentState:
    """The state of a projection: `base`'s model, checkpoint and method, the found class, no edits."""
    ws = proj.ws if proj.space == "w+" else proj.ws[:, :1]
    return dataclasses.replace(base, projected=encode_ws(ws), class_index=proj.class_index, psi=1.0,
                               edits=(), z_offsets=())


def link_fits(state: LatentState) -> tuple[bool, int]:
    """(whether the state's link stays under LINK_MAX_CHARS, the query string's length)."""
    n = len(urlencode(to_query_params(state)))
    return n <= LINK_MAX_CHARS, n


def side_by_side(*images: np.ndarray, pad: int = 2, scale: int = 1) -> np.ndarray:
    """(H, W, C) uint8 images of one shape -> one row (H, n * W + gaps, C), white gaps, nearest upscaled."""
    h, w, c = images[0].shape
    row = np.full((h, len(images) * (w + pad) - pad, c), 255, np.uint8)
    for i, im in enumerate(images):
        row[:, i * (w + pad):i * (w + pad) + w] = im
    return row.repeat(scale, 0).repeat(scale, 1) if scale > 1 else row


class ProjectionRun:
    """One projection in a background thread, watched by a page: progress, the latest image, a stop flag.

    The thread only sets attributes (never calls a UI); a page polls them and calls `stop()`.

        run = ProjectionRun(projector, target, cfg).start()
        run.step, run.steps, run.image, run.done, run.result, run.error; run.stop()
    """

    def __init__(self, projector: Projector, target: np.ndarray, cfg: ProjectConfig) -> None:
        self.projector, self.target, self.cfg = projector, target, cfg
        self.steps = cfg.steps
        self.step = 0
        self.loss = float("nan")
        self.image: np.ndarray | None = None
        self.result: Projection | None = None
        self.error: str | None = None
        self.applied = False                     # for the page: its result was loaded as the current image
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _progress(self, step: int, loss: float, image: np.ndarray) -> None:
        self.step, self.loss, self.image = step, loss, image

    def _run(self) -> None:
        try:
            self.result = self.projector.project(self.target, self.cfg, should_stop=self._stop.is_set,
                                                 on_progress=self._progress)
        except Exception as e:  # noqa: BLE001 - the page shows it; the thread must end cleanly
            self.error = f"{type(e).__name__}: {e}"

    def start(self) -> ProjectionRun:
        self._thread = threading.Thread(target=self._run, name="projection", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the projection to end after its current step (it keeps the best latent so far)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the thread ends (tests, the CLI); True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.done

    @property
    def done(self) -> bool:
        return self.result is not None or self.error is not None
