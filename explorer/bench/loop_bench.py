"""The project's training loop against a plain textbook DCGAN loop (figures printed, never asserted).

Part of `latent-explorer bench --parts train`. Both loops train the same architecture widths (the
`classic-dcgan` preset: BatchNorm G and D, non-saturating BCE, Adam 2e-4 / (0.5, 0.999)) on the
same data (Fashion-MNIST padded to 32x32; random images of that shape when it is not installed),
with the same batch size and the same number of CPU threads (1). The plain loop is the PyTorch
DCGAN example (Radford et al. 2015; pytorch/examples `dcgan/main.py`): one G forward per step,
D on real and on the detached fakes, then G through D on the same fakes; no logging. The project's
loop runs through `train_loop` with its preset's bookkeeping, logging every `MARK_EVERY` steps.
Runs alternate (project, plain, plain, project, ...) so drift on a shared machine cancels; each
reports img/s between its first and last mark (warm-up and the final save are left out), per second of
wall time and per second of this process's CPU time (steadier on a shared machine: with one thread,
time the process waits for a core is not counted).

    figures = compare_loops(seconds=20, runs=3)     # {"project_img_per_s": [...], "ratio_median": ...}

A mark is (wall seconds, CPU seconds, images seen).
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from explorer.config import ModelConfig, preset
from explorer.data.datasets import ImageDataset, load_fashion_mnist

MARK_EVERY = 10          # steps between the marks both loops record
Mark = tuple[float, float, int]                  # (perf_counter s, process CPU s, images seen)
PRESET = "classic-dcgan"


def bench_data(resolution: int = 32) -> ImageDataset:
    """Fashion-MNIST (train split) at `resolution`; random uint8 images of that shape if it is missing."""
    try:
        return load_fashion_mnist("train", resolution=resolution, channels=1)
    except FileNotFoundError:
        gen = torch.Generator().manual_seed(0)
        x = torch.randint(0, 256, (4096, 1, resolution, resolution), dtype=torch.uint8, generator=gen)
        return ImageDataset(x, None, [], {"source": "random (Fashion-MNIST not installed)"})


def plain_nets(cfg: ModelConfig) -> tuple[nn.Module, nn.Module]:
    """Textbook DCGAN G and D (nn.Sequential) with the widths of `cfg` (an unconditional dcgan config)."""
    g, d = cfg.generator, cfg.discriminator
    c = [g.channels_at(4 * 2 ** i) for i in range(g.num_blocks)]            # 4x4 ... R/2 x R/2
    layers: list[nn.Module] = [nn.ConvTranspose2d(g.z_dim, c[0], 4, 1, 0, bias=False), nn.BatchNorm2d(c[0]),
                               nn.ReLU(True)]
    for a, b in zip(c, c[1:]):
        layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
    layers += [nn.ConvTranspose2d(c[-1], g.channels, 4, 2, 1, bias=False), nn.Tanh()]
    G = nn.Sequential(*layers)
    layers, cin = [], d.channels
    for i in range(d.num_blocks):
        cout = min(d.base_channels * 2 ** i, d.max_channels)
        layers += [nn.Conv2d(cin, cout, 4, 2, 1, bias=False)] + ([nn.BatchNorm2d(cout)] if i else [])
        layers += [nn.LeakyReLU(0.2, True)]
        cin = cout
    layers += [nn.Conv2d(cin, 1, 4, 1, 0, bias=False), nn.Flatten(0)]        # (B,) logits
    D = nn.Sequential(*layers)
    for m in list(G.modules()) + list(D.modules()):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return G, D


def plain_loop(cfg: ModelConfig, data: ImageDataset, seconds: float, seed: int = 0,
               mark_every: int = MARK_EVERY) -> list[Mark]:
    """Train the textbook DCGAN for `seconds`; a mark every `mark_every` steps."""
    torch.manual_seed(seed)
    G, D = plain_nets(cfg)
    t = cfg.train
    opt_g = torch.optim.Adam(G.parameters(), lr=t.lr_g, betas=(t.beta1, t.beta2))
    opt_d = torch.optim.Adam(D.parameters(), lr=t.lr_d, betas=(t.beta1, t.beta2))
    bce = nn.BCEWithLogitsLoss()                     # = Sigmoid + BCELoss, numerically stable
    b, n = t.batch_size, len(data)
    ones, zeros = torch.ones(b), torch.zeros(b)
    marks: list[Mark] = []
    end = time.perf_counter() + seconds
    step = 0
    while time.perf_counter() < end:
        real = data.images[torch.randint(n, (b,))].float() / 127.5 - 1.0      # (B, 1, R, R) in [-1, 1]
        fake = G(torch.randn(b, cfg.generator.z_dim, 1, 1))
        opt_d.zero_grad(set_to_none=True)
        loss_d = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        loss_g = bce(D(fake), ones)
        loss_g.backward()
        opt_g.step()
        step += 1
        if step % mark_every == 0:
            marks.append((time.perf_counter(), time.process_time(), step * b))
    return marks


def project_loop(cfg: ModelConfig, data: ImageDataset, seconds: float,
                 mark_every: int = MARK_EVERY) -> list[Mark]:
    """Train `cfg` through `train_loop` (a temporary run folder) for `seconds`; marks as plain_loop's."""
    from explorer.gan.events import Progress
    from explorer.gan.train import train_loop
    marks: list[Mark] = []

    def on_progress(e: object) -> None:
        if isinstance(e, Progress):
            marks.append((time.perf_counter(), time.process_time(), e.images_seen))
    t = dataclasses.replace(cfg.train, steps=10**9, max_minutes=seconds / 60, log_every=mark_every)
    with tempfile.TemporaryDirectory() as tmp:
        train_loop(dataclasses.replace(cfg, train=t), data, on_progress=on_progress, run_dir=Path(tmp) / "run")
    return marks


def rate(marks: list[Mark], clock: int = 0) -> float:
    """Images per second between the first and the last mark, of wall time (clock 0) or CPU time (1);
    nan with fewer than two marks."""
    if len(marks) < 2 or marks[-1][clock] <= marks[0][clock]:
        return float("nan")
    return (marks[-1][2] - marks[0][2]) / (marks[-1][clock] - marks[0][clock])


def compare_loops(seconds: float = 20.0, runs: int = 3, threads: int = 1,
                  say: Callable[[str], None] | None = None, cfg: ModelConfig | None = None,
                  mark_every: int = MARK_EVERY) -> dict:
    """`runs` alternations of the project's loop and the plain loop, `seconds` each, on `threads` threads.
    `cfg`: an unconditional 32x32 greyscale dcgan config (default: the classic-dcgan preset)."""
    say = say or (lambda m: None)
    data = bench_data(32)
    cfg = cfg or preset(PRESET, 32, 1, 0)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    marks: dict[str, list[list[Mark]]] = {"project": [], "plain": []}
    try:
        for k in range(runs):
            order = ("project", "plain") if k % 2 == 0 else ("plain", "project")
            for which in order:
                say(f"loop comparison {k + 1}/{runs}: {which} loop for {seconds:g} s")
                loop = project_loop if which == "project" else plain_loop
                marks[which].append(loop(cfg, data, seconds, mark_every=mark_every))
    finally:
        torch.set_num_threads(before)
    out: dict = {"config": f"{cfg.train.preset} 32x32 greyscale, batch {cfg.train.batch_size}, {threads} thread(s)",
                 "data": data.description.get("source", "?"), "seconds_per_run": seconds, "runs": runs}
    for clock, name in ((0, "img_per_s"), (1, "img_per_cpu_s")):
        ours = [rate(m, clock) for m in marks["project"]]
        plain = [rate(m, clock) for m in marks["plain"]]
        out[name] = {"project": [round(x, 1) for x in ours], "plain": [round(x, 1) for x in plain],
                     "project_median": round(statistics.median(ours), 1),
                     "plain_median": round(statistics.median(plain), 1),
                     "ratio_median": round(statistics.median(ours) / statistics.median(plain), 3),
                     "ratio_per_pair": [round(a / b, 3) for a, b in zip(ours, plain)]}
    return out
