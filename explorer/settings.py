"""The process environment in one place: data and model folders, CPU threads, environment variables.

Every environment variable the package reads is named here (`ENV`), and the folders and the
thread-count policy are read through the functions below, never from `os.environ` elsewhere.
A leaf module: it imports nothing from `explorer`, and does nothing at import time.

    from explorer.settings import data_dir, use_threads
    use_threads("work")                  # CLI, training worker: $LATENT_EXPLORER_THREADS, else all cores
    runs = data_dir() / "runs"
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

DATA_ENV = "LATENT_EXPLORER_DATA"
PRETRAINED_ENV = "LATENT_EXPLORER_PRETRAINED"
THREADS_ENV = "LATENT_EXPLORER_THREADS"

# Every variable the package reads, with what it does (the names used by other modules are theirs
# to read, but are listed here so one file documents the whole environment).
ENV = {
    DATA_ENV: "datasets, runs and caches (default ./data, git-ignored)",
    PRETRAINED_ENV: "the shipped models (default pretrained/ beside the package)",
    THREADS_ENV: "torch intra-op CPU threads (see thread_count)",
    "LATENT_EXPLORER_FMNIST": "the Fashion-MNIST IDX folder (default: the Debian package's)",
    "LATENT_EXPLORER_CHROMIUM": "the Chromium binary the browser bench and tests drive",
    "LATENT_EXPLORER_FAULT_DISK_FULL": "test-only fault injection in the training worker (<job id>:<step>)",
    "WORLD_SIZE": "torchrun: number of data-parallel processes",
    "LOCAL_RANK": "torchrun: this process's device index",
}

ThreadRole = Literal["work", "serve"]


def data_dir() -> Path:
    """Where datasets, runs and caches live: $LATENT_EXPLORER_DATA, else ./data (git-ignored)."""
    return Path(os.environ.get(DATA_ENV, "data")).expanduser()


def pretrained_dir() -> Path:
    """The shipped models: $LATENT_EXPLORER_PRETRAINED, else pretrained/ beside the package."""
    env = os.environ.get(PRETRAINED_ENV)
    return Path(env) if env else Path(__file__).resolve().parent.parent / "pretrained"


def thread_count(role: ThreadRole = "work", n: int | None = None) -> int:
    """The number of torch intra-op CPU threads a process should use.

    The one policy, in order: an explicit `n` (the CLI's `--threads`), then $LATENT_EXPLORER_THREADS,
    then a default by role:
    - "work" (CLI commands, the training worker, speed probes): all cores, since one job owns the CPU;
    - "serve" (the Streamlit server: renders, the playground): 1 thread, since a batch-1 render takes a
      few ms and two OpenMP threads on a busy 2-core machine spin against each other (a 4 ms render
      measured at 220 ms), while concurrent sessions already use the other cores.
    Raises ValueError when $LATENT_EXPLORER_THREADS is set but is not an integer.
    """
    if n:
        return max(1, n)
    env = os.environ.get(THREADS_ENV, "").strip()
    if env:
        try:
            value = int(env)
        except ValueError:
            raise ValueError(f"${THREADS_ENV} must be an integer, not {env!r}") from None
        if value > 0:
            return value
    return (os.cpu_count() or 1) if role == "work" else 1


def use_threads(role: ThreadRole = "work", n: int | None = None) -> int:
    """Set torch's intra-op thread count, and the BLAS and OpenMP threads of NumPy/SciPy/scikit-learn,
    by `thread_count(role, n)`; returns the count set. They get the same cap because each otherwise
    starts one thread per core whatever torch uses, and on a busy machine the threads spin against each
    other: on the shared 2-core machine a 150 x 128 SVD took 2.4 s instead of 6 ms, and a t-SNE of 150
    points 45 s instead of 0.9 s. Libraries already loaded are capped through threadpoolctl, later ones
    by $OPENBLAS_NUM_THREADS and $OMP_NUM_THREADS (each left alone when the user set it)."""
    import numpy  # noqa: F401  (loads NumPy's BLAS, so threadpoolctl can find it)
    import torch  # here, not at import time: the leaf stays cheap to import
    from threadpoolctl import threadpool_limits

    count = thread_count(role, n)
    torch.set_num_threads(count)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(count))
    os.environ.setdefault("OMP_NUM_THREADS", str(count))
    threadpool_limits(limits=count)
    return count
