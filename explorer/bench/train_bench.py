"""Benchmarks of the Train page (figures printed, never asserted): `latent-explorer bench --parts ...`.

* `train-page` ("watching costs nothing"): one training job runs through the real scheduler and
  worker while a Streamlit server serves the app; phases alternate between no page open and the
  job's progress page open in Chromium (curves, samples and the bar refreshing every 3 s). The
  job's img/s is measured per phase from its metrics.jsonl rows (timestamped as they appear);
  alternating cancels slow drift. Also the server's CPU seconds per phase.
* `finetune` ("fine-tuning pays"): on ~200 RGB 64x64 images the source model never saw
  (Fashion-MNIST items colourised at random on coloured backgrounds, `colour_fashion`), a
  fine-tuning job from a shipped model and a from-scratch job of the same architecture and
  training settings run for the same minutes, side by side (one CPU thread each, two job queues);
  both quality curves (SWD x1e3 vs training seconds, from the workers' QualityProbe) and a
  final SWD with the paper's settings on all images are reported.

    from explorer.bench.train_bench import watch_bench, finetune_bench
    watch_bench(phase_s=60, phases=6); finetune_bench("emoji", minutes=10)
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from explorer.data.datasets import ImageDataset, load_fashion_mnist

if TYPE_CHECKING:
    from explorer.jobs.registry import JobRegistry

Say = Callable[[str], None]


def colour_fashion(n: int = 200, resolution: int = 64, seed: int = 0) -> ImageDataset:
    """n Fashion-MNIST test items (classes balanced), each in a random saturated colour with its
    texture kept as shading, on a random background of another hue and brightness. (N, 3, R, R) uint8."""
    fm = load_fashion_mnist("test", resolution=resolution, channels=1)
    rng = np.random.default_rng(seed)
    per = -(-n // 10)
    labels = fm.labels
    assert labels is not None                                                          # Fashion-MNIST is labelled
    idx = np.concatenate([rng.permutation(np.flatnonzero(labels.numpy() == c))[:per] for c in range(10)])[:n]
    gray = fm.images[idx, 0].numpy().astype(np.float32) / 255.0                       # (n, R, R)

    def hsv(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:            # (n,) each -> (n, 3)
        k = (np.array([5.0, 3.0, 1.0])[None] + h[:, None] * 6) % 6
        return v[:, None] - v[:, None] * s[:, None] * np.clip(np.minimum(k, 4 - k), 0, 1)
    hue = rng.random(n)
    item = hsv(hue, rng.uniform(0.6, 1.0, n), rng.uniform(0.7, 1.0, n))
    bg = hsv((hue + rng.uniform(0.25, 0.75, n)) % 1.0, rng.uniform(0.2, 0.7, n), rng.uniform(0.25, 0.95, n))
    alpha = np.clip(gray * 2.0, 0, 1)[:, None]                                        # (n, 1, R, R)
    shade = (0.35 + 0.65 * gray)[:, None]
    img = bg[:, :, None, None] * (1 - alpha) + item[:, :, None, None] * shade * alpha
    x = torch.from_numpy(np.round(img * 255).clip(0, 255).astype(np.uint8))
    return ImageDataset(x, None, [], {"source": "colourised Fashion-MNIST (test split)", "count": n,
                                      "resolution": resolution, "channels": 3, "fit": "pad", "skipped": 0})


def _env(tmp: Path, threads: int) -> dict[str, str]:
    return {"LATENT_EXPLORER_DATA": str(tmp / "data"), "LATENT_EXPLORER_THREADS": str(threads)}


def _cpu_s(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def _run_jobs(reg: JobRegistry, scheds: list, ids: list[str], until: Callable[[], bool],
              on_poll: Callable[[], None]) -> None:
    while not until():
        for s in scheds:
            s.tick()
        on_poll()
        if all(reg.require(i).status in ("done", "failed", "cancelled") for i in ids):
            return
        time.sleep(0.5)


# ----------------------------------------------------------------------------- watching costs nothing

def watch_bench(phase_s: float = 60.0, phases: int = 6, settle_s: float = 10.0, recipe: str = "film",
                resolution: int = 64, threads: int = 1, say: Say | None = None) -> dict:
    """Job img/s with the progress page closed vs open, alternating phases (closed first)."""
    from explorer.bench.browser import chromium, streamlit_server, wait_idle
    from explorer.data.store import save_dataset
    from explorer.jobs import scheduler
    from explorer.jobs.plan import plan, with_overrides
    from explorer.jobs.registry import JobRegistry, make_spec
    from explorer.jobs.runlog import read_metrics
    say = say or (lambda m: None)
    with tempfile.TemporaryDirectory() as tmp_, chromium() as browser:
        tmp = Path(tmp_)
        env = _env(tmp, threads)
        ds = colour_fashion(200, resolution)
        folder = save_dataset(ds, tmp / "data" / "uploads" / "bench")
        cfg = with_overrides(plan(recipe, resolution, 3, 0, len(ds)), steps=10**7, log_every=2, sample_every=20,
                             checkpoint_every=50, max_minutes=(phases * phase_s + 300) / 60)
        reg = JobRegistry(tmp / "data" / "jobs.sqlite3")
        job_id = reg.submit("bench", make_spec(folder, config=cfg, name="watch bench"))
        sched = scheduler.Scheduler(reg, env={**os.environ, **env})
        seen: list[tuple[float, dict]] = []

        def poll() -> None:
            rows = read_metrics(Path(reg.require(job_id).run_dir) / "metrics.jsonl")[0]
            seen.extend((time.monotonic(), r) for r in rows[len(seen):])
        with streamlit_server("streamlit_app.py", env=env) as (url, server):
            sched.tick()
            say("waiting for the job's first steps")
            _run_jobs(reg, [sched], [job_id], lambda: len(seen) >= 3, poll)
            out_phases: list[dict[str, Any]] = []
            for k in range(phases):
                opened = k % 2 == 1
                page = None
                if opened:
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    page.goto(f"{url}/train?job={job_id}")
                    page.wait_for_selector('[data-testid="stPlotlyChart"]', timeout=120_000)
                    wait_idle(page)
                say(f"phase {k + 1}/{phases}: page {'open' if opened else 'closed'} for {phase_s:.0f} s")
                t0, cpu0 = time.monotonic(), _cpu_s(server.pid)
                _run_jobs(reg, [sched], [job_id], lambda: time.monotonic() - t0 >= phase_s, poll)  # noqa: B023 (now)
                cpu = _cpu_s(server.pid) - cpu0
                if page is not None:
                    page.close()
                rows = [r for t, r in seen if t0 + settle_s <= t <= t0 + phase_s]
                span = rows[-1]["elapsed_s"] - rows[0]["elapsed_s"] if len(rows) >= 2 else 0.0
                rate = (rows[-1]["images_seen"] - rows[0]["images_seen"]) / span if span > 0 else float("nan")
                out_phases.append({"page": "open" if opened else "closed", "img_per_s": round(rate, 2),
                                   "rows": len(rows), "server_cpu_s": round(cpu, 2)})
            reg.cancel(job_id)
            _run_jobs(reg, [sched], [job_id], lambda: False, lambda: None)
    closed = [p["img_per_s"] for p in out_phases if p["page"] == "closed"]
    open_ = [p["img_per_s"] for p in out_phases if p["page"] == "open"]
    ratio = statistics.mean(open_) / statistics.mean(closed)
    return {"config": f"{recipe} {resolution}x{resolution} RGB, batch {cfg.train.batch_size}, {threads} thread(s)",
            "phase_s": phase_s, "settle_s": settle_s, "phases": out_phases,
            "img_per_s_closed": round(statistics.mean(closed), 2), "img_per_s_open": round(statistics.mean(open_), 2),
            "open_vs_closed": round(ratio, 4), "within_5_percent": abs(ratio - 1) <= 0.05}


# ----------------------------------------------------------------------------- fine-tuning pays

def finetune_bench(source: str = "emoji", minutes: float = 10.0, n_images: int = 200, resolution: int = 64,
                   checkpoint_every: int = 50, parallel: bool = True, keep: str | os.PathLike | None = None,
                   say: Say | None = None) -> dict:
    """Fine-tune `source` vs train its architecture from scratch, same minutes and settings. `keep`: a
    folder to copy each run's sample grids (samples/step-*.png) and metrics.jsonl into."""
    from explorer.data.store import save_dataset
    from explorer.evaluation.quality import QualityProbe
    from explorer.evaluation.swd import sliced_wasserstein
    from explorer.gan import checkpoint as ckpt
    from explorer.gan.device import model_search_path
    from explorer.gan.finetune import Source, sources
    from explorer.jobs import scheduler
    from explorer.jobs.plan import plan, with_overrides
    from explorer.jobs.registry import JobRegistry, make_spec
    from explorer.jobs.runlog import read_metrics
    say = say or (lambda m: None)
    path = ckpt.resolve(source, model_search_path())
    info = ckpt.ModelInfo(Path(path).stem, Path(path), "pretrained", ckpt.read_meta(path))
    src: Source = sources([info], resolution, 3, 0)[0]
    if not src.usable:
        raise ValueError(f"{source} cannot be fine-tuned on {resolution}x{resolution} RGB images: {src.note}")
    ds = colour_fashion(n_images, resolution)
    cfg = with_overrides(plan("balanced", resolution, 3, 0, len(ds), source=src), steps=10**7,
                         max_minutes=float(minutes), checkpoint_every=checkpoint_every, sample_every=checkpoint_every,
                         log_every=10)
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        folder = save_dataset(ds, tmp / "uploads" / "set")
        reg = JobRegistry(tmp / "jobs.sqlite3")
        env = {**os.environ, "LATENT_EXPLORER_DATA": str(tmp), "LATENT_EXPLORER_THREADS": "1"}
        ids = {"finetuned": reg.submit("bench", make_spec(folder, config=cfg, name="finetune", init_from=src.init_path,
                                                          device="auto")),
               "scratch": reg.submit("bench", make_spec(folder, config=with_overrides(cfg, freeze_d=0), name="scratch",
                                                        device="cpu" if parallel else "auto"))}
        scheds = [scheduler.Scheduler(reg, d, env=env) for d in (("auto", "cpu") if parallel else ("auto",))]
        say(f"{'side by side' if parallel else 'one after the other'}: fine-tuning {info.name} and from scratch, "
            f"{minutes:g} min each, {len(ds)} images")
        _run_jobs(reg, scheds, list(ids.values()), lambda: False, lambda: None)
        out: dict = {"source": str(path), "images": len(ds), "dataset": ds.description["source"], "minutes": minutes,
                     "side_by_side": parallel, "config": f"{cfg.generator.arch} G / {cfg.discriminator.arch} D, "
                     f"loss {cfg.train.loss}, batch {cfg.train.batch_size}, augment {cfg.train.augment or 'none'}, "
                     f"FreezeD {cfg.train.freeze_d} block(s) when fine-tuning, 1 thread each",
                     "source_note": src.note}
        full_probe = QualityProbe(ds, samples=len(ds), swd={"nhoods_per_image": 128, "dir_repeats": 4,
                                                             "dirs_per_repeat": 128})
        for name, jid in ids.items():
            job = reg.require(jid)
            if job.status != "done":
                raise RuntimeError(f"{name} job {job.status}: {job.error}")
            _, q = read_metrics(Path(job.run_dir) / "metrics.jsonl")
            G, _ = ckpt.load_generator(Path(job.run_dir) / "model.json")
            if keep:
                import shutil
                shutil.copytree(job.run_dir, Path(keep) / name, ignore=shutil.ignore_patterns("*.safetensors"),
                                dirs_exist_ok=True)
            out[name] = {"steps": job.result["step"], "train_seconds": job.result["train_seconds"],
                         "img_per_s": job.result["img_per_s"],
                         "curve_seconds_to_swd": " ".join(f"{q_['elapsed_s']:.0f}:{q_['swd']:.1f}" for q_ in q),
                         "final_swd_probe": q[-1]["swd"] if q else None,
                         "final_swd_full": round(full_probe(G, 0)["swd"], 3)}
        half = len(ds) // 2
        floor = sliced_wasserstein(ds.images[:half], ds.images[half:2 * half])["avg"]
        out["real_vs_real_swd_full_half_sets"] = round(floor, 3)
    f, s = out["finetuned"]["final_swd_full"], out["scratch"]["final_swd_full"]
    out["finetuning_better"] = f < s
    return out
