"""Tiny, deterministic things the tests build: datasets, configs, generators, exported models, runs, the app.

Everything is CPU-only, seeded and small (the `tiny` preset: a few thousand parameters), so each
builds in milliseconds. Import what you need; conftest.py turns the common ones into fixtures.

    ds = make_dataset(n=32, classes=3)                        # ImageDataset of class-dependent blobs
    cfg = tiny_config(classes=0, steps=2)                     # ModelConfig from the `tiny` preset
    G = tiny_generator(classes=3, arch="film", w_avg=True)    # eval mode, same weights for the same seed
    G, sidecar = export_generator(tmp_path / "pre" / "tiny", classes=["cat", "dog", "owl"])
    j, nets = make_run(tmp_path / "runs" / "r", d_arch="dcgan")   # a training checkpoint with G, G_ema, D
    use_dirs(monkeypatch, tmp_path)                           # models, data and threads of the app under test
    with served_app(server_env(tmp_path)) as (url, page): ... # the real app on a free port, in Chromium
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from explorer.config import GeneratorArch, ModelConfig, preset, to_dict
from explorer.data.datasets import ImageDataset
from explorer.gan import checkpoint as ckpt
from explorer.gan.generators import build_generator
from explorer.gan.nets import Nets, build_nets, compute_w_avg, state_tensors
from explorer.gan.protocol import Generator
from explorer.settings import DATA_ENV, PRETRAINED_ENV, THREADS_ENV

APP = "streamlit_app.py"                  # relative to the repository root, where the servers run


def make_dataset(n: int = 64, res: int = 32, ch: int = 1, classes: int = 3, seed: int = 0) -> ImageDataset:
    """n (ch, res, res) uint8 blobs whose brightness depends on the class, so there is something to learn."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(classes, (n,), generator=g) if classes else None
    base = torch.rand(n, ch, res, res, generator=g) * 60
    if labels is not None:
        base += labels.view(-1, 1, 1, 1) * 60
    imgs = base.clamp(0, 255).to(torch.uint8)
    names = [f"class{i}" for i in range(classes)]
    return ImageDataset(images=imgs, labels=labels, class_names=names if classes else [],
                        description={"source": "synthetic", "count": n})


def tiny_config(classes: int = 3, steps: int = 4, **train: Any) -> ModelConfig:
    """The `tiny` preset at 32x32 grayscale, with `steps` and any other TrainConfig fields overridden."""
    m = preset("tiny", 32, 1, classes)
    return dataclasses.replace(m, train=dataclasses.replace(m.train, steps=steps, **train))


def tiny_generator(classes: int = 3, arch: GeneratorArch = "style", res: int = 32, ch: int = 1, seed: int = 0,
                   w_avg: bool = False) -> Generator:
    """A `tiny`-preset generator in eval mode. torch's global RNG is seeded with `seed` first, so the weights
    (and any later draws from the global RNG) repeat. w_avg=True computes the mean w, as a trained and
    exported model has (the truncation centre)."""
    torch.manual_seed(seed)
    G = build_generator(dataclasses.replace(preset("tiny", res, ch, classes).generator, arch=arch)).eval()
    if w_avg:
        compute_w_avg(G)
    return G


def export_generator(stem: Path, classes: list[str] | None = None, arch: GeneratorArch = "film", seed: int = 0,
                     res: int = 32, ch: int = 1, **meta: Any) -> tuple[Generator, Path]:
    """A tiny generator (with its mean w) exported at `stem` as a shipped model is: (G, sidecar .json path).

    `classes` are the class names (None: unconditional); `meta` adds sidecar fields such as model_card."""
    names = list(classes or [])
    G = tiny_generator(len(names), arch, res, ch, seed, w_avg=True)
    return G, ckpt.save_generator(stem, G, {"class_names": names, **meta})


def make_run(run: Path, d_arch: str = "resnet", classes: int = 3, dataset: dict | None = None,
             class_names: list[str] | None = None, step: int = 4) -> tuple[Path, Nets]:
    """checkpoints/step-XXXXXXXX.json of a tiny film generator and a `d_arch` discriminator. The D has been
    run in train mode a few times, so BatchNorm statistics and spectral-norm vectors are not at their defaults."""
    m = preset("tiny", 32, 1, classes)
    disc = dataclasses.replace(m.discriminator, arch=d_arch, spectral_norm=d_arch == "resnet")
    cfg = dataclasses.replace(m, generator=dataclasses.replace(m.generator, arch="film"), discriminator=disc)
    nets = build_nets(cfg, torch.device("cpu"), seed=0)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for _ in range(3):
            x = torch.rand(8, 1, 32, 32, generator=g) * 2 - 1
            nets.D(x, torch.randint(classes, (8,), generator=g) if classes else None)
    nets.D.eval()
    compute_w_avg(nets.G_ema)
    tensors, opt = state_tensors(nets, g)
    meta = {"optimizers": opt, "images_seen": 32, "elapsed_s": 1.0, "config": to_dict(cfg),
            "class_names": class_names or [f"class{i}" for i in range(classes)], "dataset": dataset or {}}
    return ckpt.save_training(run, step, tensors, meta), nets


def server_env(tmp_path: Path, pretrained: Path | None = None) -> dict[str, str]:
    """Environment of an app under test: models from `pretrained` (default tmp/pre), data under tmp/data,
    one torch thread."""
    return {PRETRAINED_ENV: str(pretrained or tmp_path / "pre"), DATA_ENV: str(tmp_path / "data"),
            THREADS_ENV: "1"}


def use_dirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pretrained: Path | None = None) -> dict[str, str]:
    """Point this process (an AppTest app, the CLI, the scheduler) at `server_env(tmp_path, pretrained)`, and
    forget what Streamlit cached for earlier tests (their models share names and hashes)."""
    import streamlit as st

    env = server_env(tmp_path, pretrained)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    st.cache_resource.clear()
    st.cache_data.clear()
    return env


@contextlib.contextmanager
def served_app(env: dict[str, str], accept_downloads: bool = False) -> Iterator[tuple[str, Any]]:
    """(url, page): `streamlit run streamlit_app.py` with `env` on a free port, and a Chromium page
    (1400 x 1000) to drive it; both stopped on exit. Skip the test first if `chromium_available()` says why not."""
    from explorer.bench.browser import chromium, streamlit_server

    with streamlit_server(APP, env=env) as (url, _), chromium() as browser:
        yield url, browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=accept_downloads)


def run_app(at: Any) -> Any:
    """Run a `streamlit.testing.v1.AppTest` once and fail on any exception the page raised; returns it."""
    at.run()
    assert not at.exception, at.exception
    return at


def page_text(at: Any) -> str:
    """Every info, caption, warning, markdown and error text the page shows, joined by spaces."""
    return " ".join(str(getattr(x, "value", "")) for kind in ("info", "caption", "warning", "markdown", "error")
                    for x in at.get(kind))


def map_rows(at: Any) -> list[dict]:
    """The latent map's data rows as the page sent them to the browser: Streamlit moves a Vega-Lite spec's
    inline data into an Arrow stream beside the spec."""
    import pyarrow as pa
    return pa.ipc.open_stream(at.get("vega_lite_chart")[0].proto.data.data).read_all().to_pylist()


def upload_recipe(at: Any, text: str | bytes) -> Any:
    """On the Export page of AppTest `at`: upload a recipe file (shown with its warnings, not opened yet)."""
    at.switch_page("explorer/ui/export_page.py")
    run_app(at)
    data = text.encode() if isinstance(text, str) else text
    at.file_uploader(key="recipe_upload").set_value(("recipe.json", data, "application/json"))
    return run_app(at)


def open_recipe(at: Any, text: str | bytes) -> Any:
    """`upload_recipe`, then "Open it in the explorer": `at` shows the Explore page with it."""
    upload_recipe(at, text)
    at.button(key="recipe_open").click()
    return run_app(at)


def slider_of(at: Any, name: str) -> int:
    """The index of the direction slider (key amt<i>) whose label contains `name`."""
    return next(int(s.key[3:]) for s in at.slider if s.key and s.key.startswith("amt") and name in s.label)
