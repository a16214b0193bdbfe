"""An encoder per model: a small CNN image -> w+ (and class logits), the projection's first guess.

Trained by the project in two phases (`train_encoder_for_model`, used by `latent-explorer
train-encoder` and the background job alike): first on the model's own samples, pairs (w+, G(w+))
drawn on the fly (half of them style-mixed at a random layer, so the encoder learns w+ and not only
w), with a latent loss (MSE of w normalised per dimension) and, for conditional models,
cross-entropy on the class, as in Zhu et al. 2020's "domain-guided encoder" warm start; then on the
model's real training images through the frozen generator with the projection's own loss
(explorer/explore/encoder_finetune.py), the pSp / e4e recipe (Richardson et al. 2021, Tov et al.
2021), which closes the gap between the model's samples and real images.

Saved beside the model like its discriminator: `<dir>/<name>-encoder.safetensors` (weights, float16,
with the w mean and std it normalises by) + `<dir>/<name>-encoder.json` (format
"latent-explorer-encoder" version 1: config, the generator's sha256, training summary, the weights'
sha256). Written atomically, weights first. A mismatched or corrupt file raises EncoderError.

    path, summary = train_encoder_for_model("fashion-mnist", max_seconds=240)   # both phases, saved
    enc, summary = train_encoder(G, max_seconds=240)          # phase 1 only
    save_encoder(enc, meta["path"], meta["sha256"], summary)
    enc = load_encoder(meta)                                   # Encoder | None when the model has none
    ws, logits = enc.predict(x)                                # x (B, C, H, W) in [-1, 1] -> (B, num_ws, width)
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from explorer import fileio
from explorer.config import from_dict, to_dict
from explorer.explore.encoder_finetune import cosine_lr_within_budget
from explorer.explore.latent_prior import sample_w, w_width
from explorer.gan.protocol import Generator

FORMAT = "latent-explorer-encoder"
FORMAT_VERSION = 1
SUFFIX = "-encoder"
REAL_SHARE = 0.5            # share of an encoder's training time spent on real images (encoder_finetune.py)


class EncoderError(ValueError):
    """An encoder file exists but cannot be used; the message says why."""


@dataclass(frozen=True)
class EncoderConfig:
    resolution: int
    channels: int
    num_ws: int
    width: int                  # one row of ws (latent_prior.w_width)
    num_classes: int = 0
    base: int = 32              # channels after the stem; doubled per downsampling, up to max_channels
    max_channels: int = 128
    hidden: int = 256

    @staticmethod
    def of(G: Generator) -> EncoderConfig:
        c = G.cfg
        return EncoderConfig(c.resolution, c.channels, G.num_ws, w_width(G), c.num_classes)


class Encoder(nn.Module):
    """conv4x4 stride 2 stem -> [conv3x3, conv4x4 stride 2] until 4x4 -> MLP -> normalised w+ (and class logits)."""

    w_mean: torch.Tensor            # registered buffers: (width,) mean and std of w the outputs are scaled by
    w_std: torch.Tensor

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = [nn.Conv2d(cfg.channels, cfg.base, 4, 2, 1), nn.LeakyReLU(0.2)]
        cin, res = cfg.base, cfg.resolution // 2
        while res > 4:
            cout = min(cin * 2, cfg.max_channels)
            layers += [nn.Conv2d(cin, cin, 3, 1, 1), nn.LeakyReLU(0.2),
                       nn.Conv2d(cin, cout, 4, 2, 1), nn.LeakyReLU(0.2)]
            cin, res = cout, res // 2
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(cin * res * res, cfg.hidden), nn.LeakyReLU(0.2),
                                  nn.Linear(cfg.hidden, cfg.num_ws * cfg.width + cfg.num_classes))
        self.register_buffer("w_mean", torch.zeros(cfg.width))
        self.register_buffer("w_std", torch.ones(cfg.width))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, C, H, W) in [-1, 1] -> (normalised w+ (B, num_ws, width), class logits (B, K) or None)."""
        out = self.head(self.body(x))
        n = self.cfg.num_ws * self.cfg.width
        t = out[:, :n].view(-1, self.cfg.num_ws, self.cfg.width)
        return t, (out[:, n:] if self.cfg.num_classes else None)

    def predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, C, H, W) in [-1, 1] -> (ws (B, num_ws, width) in w units, class logits or None)."""
        t, logits = self(x.float())
        return self.w_mean + t * self.w_std, logits


# ------------------------------------------------------------------ training


def _spread(G: Generator, w: torch.Tensor, c: torch.Tensor | None, psi: torch.Tensor) -> torch.Tensor:
    """w (n, width) moved away from (psi > 1) or toward (psi < 1) its class's mean w, per row: truncation's
    formula with psi beyond 1 too, so training covers the atypical w that real images project to."""
    if G.cfg.arch == "dcgan":                                  # w = [z, one-hot]: z's mean is 0
        d = G.cfg.z_dim
        return torch.cat([w[:, :d] * psi[:, None], w[:, d:]], dim=1)
    avg = G.w_avg[c] if c is not None else G.w_avg[0].expand_as(w)
    return avg + psi[:, None] * (w - avg)


def sample_pairs(G: Generator, n: int, gen: torch.Generator, mix: float,
           psi_range: tuple[float, float] = (1.0, 1.0)) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """n samples: ws (n, num_ws, width), images (n, C, H, W), classes (n,) or None; a share `mix` style-mixed,
    each w spread from its class mean by a psi drawn uniformly from `psi_range`."""
    dev = G.w_avg.device
    nc = G.cfg.num_classes
    c = torch.randint(nc, (n,), generator=gen) if nc else None
    z = torch.randn(2, n, G.cfg.z_dim, generator=gen)
    lo, hi = psi_range
    psi = (lo + (hi - lo) * torch.rand(2, n, generator=gen)).to(dev)
    cd = None if c is None else c.to(dev)
    with torch.no_grad():
        w1 = _spread(G, G.mapping(z[0].to(dev), cd), cd, psi[0])
        ws = w1[:, None].repeat(1, G.num_ws, 1)
        if G.num_ws > 1 and mix > 0:
            w2 = _spread(G, G.mapping(z[1].to(dev), cd), cd, psi[1])
            cut = torch.randint(1, G.num_ws, (n,), generator=gen).to(dev)
            mixed = (torch.rand(n, generator=gen) < mix).to(dev)
            later = torch.arange(G.num_ws, device=dev)[None] >= cut[:, None]          # (n, num_ws)
            ws = torch.where((later & mixed[:, None])[..., None], w2[:, None], ws)
        x = G.synthesis(ws)
    return ws, x, None if c is None else c.to(dev)


def pair_loss(enc: Encoder, ws: torch.Tensor, x: torch.Tensor, c: torch.Tensor | None
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss on the model's own sample pairs (ws (B, num_ws, width), images x (B, C, H, W), classes
    c (B,) or None): MSE of the encoder's whitened w+ against the true one, plus 0.1 class
    cross-entropy when both exist. Returns (loss, the encoder's whitened w+ (B, num_ws, width))."""
    t, logits = enc(x)
    loss = F.mse_loss(t, (ws - enc.w_mean) / enc.w_std)
    if logits is not None and c is not None:
        loss = loss + 0.1 * F.cross_entropy(logits, c)
    return loss, t


def train_encoder(G: Generator, steps: int = 100_000, batch: int = 32, lr: float = 1e-3, seed: int = 0,
                  image_weight: float = 0.0, mix: float = 0.5, psi_range: tuple[float, float] = (0.6, 1.8),
                  max_seconds: float | None = None,
                  should_stop: Callable[[], bool] | None = None,
                  on_progress: Callable[[dict], None] | None = None) -> tuple[Encoder, dict]:
    """Train an encoder for G on its own samples until `steps`, `max_seconds` or `should_stop()`.

    Adam with a cosine-decayed learning rate (over `steps`, or over the time budget when it ends
    first). `image_weight` adds the image loss through G (measured on Fashion-MNIST over 90 CPU seconds:
    it costs 2.3x per step and gave a worse encoder than the latent loss alone in the same time).
    `psi_range`: each sample's w is spread from its class mean by a psi drawn from it, so the encoder also
    sees the atypical w (beyond psi 1) that real images project to.
    `on_progress` gets {"step", "steps", "loss", "elapsed_s", "eta_s"} about once a second.
    Returns (encoder in eval mode, summary with held-out figures: latent RMSE in std units, image
    PSNR of G(encoder(x)) against x, class accuracy)."""
    torch.manual_seed(seed)
    dev = G.w_avg.device
    enc = Encoder(EncoderConfig.of(G)).to(dev)
    w = sample_w(G, 8192, None, seed + 7).float()
    enc.w_mean.copy_(w.mean(0))
    enc.w_std.copy_(w.std(0).clamp_min(1e-3))
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(enc.parameters(), lr=lr, betas=(0.9, 0.99))
    t0 = last = time.perf_counter()
    step, loss_avg = 0, float("nan")
    while step < steps:
        done = cosine_lr_within_budget(opt, lr, step, steps, t0, max_seconds, should_stop)
        if done is None:
            break
        ws, x, c = sample_pairs(G, batch, gen, mix, psi_range)
        loss, t = pair_loss(enc, ws, x, c)
        if image_weight:
            loss = loss + image_weight * F.mse_loss(G.synthesis(enc.w_mean + t * enc.w_std), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        lv = float(loss.detach())
        loss_avg = lv if math.isnan(loss_avg) else 0.98 * loss_avg + 0.02 * lv
        if on_progress is not None and time.perf_counter() - last >= 1.0:
            last = time.perf_counter()
            el = last - t0
            eta = el / max(done, 1e-9) - el if done > 0 else None
            on_progress({"step": step, "steps": steps, "loss": loss_avg, "elapsed_s": el, "eta_s": eta})
    enc.eval().requires_grad_(False)
    summary = {"steps": step, "batch": batch, "seconds": round(time.perf_counter() - t0, 1), "seed": seed,
               "threads": torch.get_num_threads(), "lr": lr, "image_weight": image_weight, "mix": mix,
               "psi_range": list(psi_range), **evaluate_encoder(G, enc)}
    return enc, summary


@torch.no_grad()
def evaluate_encoder(G: Generator, enc: Encoder, n: int = 256, seed: int = 10**6) -> dict:
    """Held-out figures on n fresh samples (no mixing): latent RMSE in std units, image PSNR (dB), class accuracy."""
    from explorer.explore.ssim import psnr
    ws, x, c = sample_pairs(G, n, torch.Generator().manual_seed(seed), 0.0)
    pred, logits = enc.predict(x)
    rmse = float(((pred - ws) / enc.w_std).square().mean().sqrt())
    out = {"latent_rmse_std": round(rmse, 4), "image_psnr_db": round(float(psnr(G.synthesis(pred), x).mean()), 2)}
    if logits is not None and c is not None:
        out["class_accuracy"] = round(float((logits.argmax(1) == c).float().mean()), 4)
    return out


# ------------------------------------------------------------------ files


def encoder_stem(model_json: str | os.PathLike) -> Path:
    """<dir>/<name>.json -> <dir>/<name>-encoder (no suffix)."""
    p = Path(model_json)
    stem = p.with_suffix("") if p.suffix in (".json", ".safetensors") else p
    return stem.with_name(stem.name + SUFFIX)


def save_encoder(enc: Encoder, model_json: str | os.PathLike, generator_sha256: str, summary: dict) -> Path:
    """Write `<stem>-encoder.safetensors` (float16 weights) then its JSON; returns the JSON path."""
    stem = encoder_stem(model_json)
    w = stem.with_name(stem.name + ".safetensors")
    tensors = {k: (v.half() if k not in ("w_mean", "w_std") else v.float()).contiguous().cpu()
               for k, v in enc.state_dict().items()}
    sha = fileio.atomic_save_tensors(w, tensors, metadata={"format": FORMAT})
    j = stem.with_name(stem.name + ".json")
    fileio.atomic_write_json(j, {"format": FORMAT, "format_version": FORMAT_VERSION, "config": to_dict(enc.cfg),
                                 "generator_sha256": generator_sha256, "summary": summary, "weights": w.name,
                                 "sha256": sha, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    return j


def load_encoder(meta: dict, device: str | torch.device = "cpu") -> Encoder | None:
    """The encoder beside a loaded model (`meta` from load_generator, with "path" and "sha256"), or None
    when it has none. Raises EncoderError when the file is corrupt, of another format or version, or
    was trained for another version of the generator."""
    from safetensors.torch import load as st_load
    stem = encoder_stem(meta["path"])
    j, w = stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".safetensors")
    if not j.exists():
        return None
    side = fileio.read_json_object(j, "an encoder description", EncoderError)
    if side.get("format") != FORMAT:
        raise EncoderError(f"{j.name} is not a Latent Explorer encoder (format {side.get('format')!r})")
    v = side.get("format_version")
    if not isinstance(v, int) or v > FORMAT_VERSION:
        raise EncoderError(f"{j.name} has format version {v!r}; this program reads version {FORMAT_VERSION}")
    want = side.get("generator_sha256")
    if meta.get("sha256") and want != meta.get("sha256"):
        raise EncoderError(f"{j.name} was trained for another version of this generator: train it again "
                           f"(latent-explorer train-encoder {meta.get('name', 'MODEL')})")
    if not w.exists():
        raise EncoderError(f"missing encoder weights {w.name}")
    data = w.read_bytes()
    import hashlib
    if hashlib.sha256(data).hexdigest() != side.get("sha256"):
        raise EncoderError(f"{w.name} is corrupt: it does not match the sha256 in {j.name}")
    try:
        cfg = from_dict(EncoderConfig, side.get("config"))
        enc = Encoder(cfg)
        tensors = {k: t.float() for k, t in st_load(data).items()}
        enc.load_state_dict(tensors)
    except (TypeError, ValueError, KeyError, RuntimeError) as e:
        raise EncoderError(f"{w.name} cannot be loaded: {e}") from None
    return enc.to(device).eval().requires_grad_(False)


def load_encoder_or_none(meta: dict) -> Encoder | None:
    """load_encoder, with None (not an error) for a missing or unusable encoder: projection starts from the mean."""
    try:
        return load_encoder(meta)
    except (EncoderError, OSError):
        return None


def _real_rounds(summary: dict) -> list[dict]:
    """The rounds on real images an encoder's summary records: its `real_rounds`, or its one round's
    `real_*` figures, or none."""
    rounds = summary.get("real_rounds")
    if isinstance(rounds, list):
        return [dict(r) for r in rounds if isinstance(r, dict)]
    one = {k: v for k, v in summary.items() if k.startswith("real_") and k != "real_images"}
    return [one] if one.get("real_steps") else []


def train_encoder_for_model(model: str | os.PathLike, max_seconds: float = 240.0, seed: int = 0,
                            should_stop: Callable[[], bool] | None = None,
                            on_progress: Callable[[dict], None] | None = None,
                            device: str = "cpu", real_share: float = REAL_SHARE,
                            from_existing: bool = False) -> tuple[Path, dict]:
    """Load a model (name, path or run folder), train its encoder, save it beside the model.

    The recipe: (1) `train_encoder` on the model's own samples for (1 - real_share) of `max_seconds`,
    then (2) `encoder_finetune.finetune_encoder` on the model's real training images (its card's dataset,
    held-out images excluded) through the frozen generator for the rest; without usable images (no
    dataset on the card, or it is gone) phase 1 gets all the time. `from_existing`: skip phase 1 and
    fine-tune the model's current encoder for all of `max_seconds` (raises EncoderError when it has none);
    the summary then lists every round on real images so far (`real_rounds`) with their totals.
    Returns (the encoder's JSON path, summary). Raises CheckpointError when the model cannot be loaded."""
    from explorer.explore.encoder_finetune import finetune_encoder, real_images
    from explorer.explore.projection_metrics import FeatureNets
    from explorer.gan.device import load_generator
    G, meta = load_generator(model, device)
    images, labels, source = real_images(meta, G) if real_share > 0 else (None, None, "real_share 0")
    real_s = max_seconds * (1.0 if from_existing else real_share) if images is not None else 0.0
    if from_existing:
        enc = load_encoder(meta, device)
        if enc is None:
            raise EncoderError("the model has no encoder to fine-tune: train one first")
        j = encoder_stem(meta["path"])
        old = fileio.read_json_object(j.with_name(j.name + ".json"), "an encoder description", EncoderError)
        summary = dict(old.get("summary") or {})
        rounds = _real_rounds(summary)
        summary = {k: v for k, v in summary.items() if not k.startswith("real_")}
    else:
        rounds = []

        def phase1(d: dict) -> None:
            if on_progress is not None:
                on_progress({**d, "eta_s": None if d.get("eta_s") is None else d["eta_s"] + real_s})
        enc, summary = train_encoder(G, max_seconds=max_seconds - real_s, seed=seed, should_stop=should_stop,
                                     on_progress=phase1)
    summary["real_images"] = source
    if images is not None and real_s > 0:
        this = finetune_encoder(G, enc, images, labels, FeatureNets.for_model(G, meta), seed=seed,
                                max_seconds=real_s, should_stop=should_stop, on_progress=on_progress)
        rounds.append({k: v for k, v in this.items() if k.startswith("real_")})
        if len(rounds) == 1:
            summary.update(this)
        else:                                     # each round's figures in real_rounds, their totals beside them
            summary.update(real_steps=sum(int(r.get("real_steps") or 0) for r in rounds),
                           real_seconds=round(sum(float(r.get("real_seconds") or 0) for r in rounds), 1),
                           real_rounds=rounds)
        summary.update(evaluate_encoder(G, enc))
    return save_encoder(enc, meta["path"], str(meta.get("sha256") or ""), summary), summary
