"""The process environment in one place: data and model folders, CPU threads, environment variables.

Every environment variable the package reads is named here (`ENV`), and the folders and the
thread-count policy are read through the functions below, never from `os.environ` elsewhere.
A leaf module: it imports nothing from `explorer`, and does nothing at import time.

    from explorer.settings import data_dir, use_threads
    use_threads("work")                  # CLI, training worker: $LATENT_EXPLORER_THREADS, else all cores
    runs = data_dir() / "runs"
"""

from __future__ import annotations

import ctypes
import os
import sys
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
    "MALLOC_MMAP_THRESHOLD_": "glibc's own; set (or MALLOC_TRIM_THRESHOLD_): keep_freed_memory does nothing",
    "WORLD_SIZE": "torchrun: number of data-parallel processes",
    "LOCAL_RANK": "torchrun: this process's device index",
}

ThreadRole = Literal["work", "serve"]

# glibc's malloc, as `keep_freed_memory` sets it: blocks under MMAP_THRESHOLD come from the heap, and up to
# TRIM_THRESHOLD of free memory at its top stays mapped (glibc's defaults start at 128 KiB and adapt up to
# 32 MiB and 64 MiB).
MALLOC_MMAP_THRESHOLD = 128 << 20
MALLOC_TRIM_THRESHOLD = 256 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3          # mallopt's parameter numbers (glibc malloc.h)


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
    keep_freed_memory()
    return count


def keep_freed_memory() -> bool:
    """Keep freed memory in the process for reuse instead of returning it to the kernel (glibc's mallopt:
    MALLOC_MMAP_THRESHOLD, MALLOC_TRIM_THRESHOLD above); returns whether it was set.

    Measuring and rendering glyph stacks allocates and frees arrays of tens of MB per chunk; with glibc's
    defaults each one was fresh pages from the kernel, and the page faults were half the time: the fonts
    heat map of 10 directions (240 faces) spent 0.47-0.64 s per run in system time, median 1.04-1.31 s,
    against 0.01-0.05 s and 0.56-0.77 s with these settings, the same peak memory (2 threads, measured
    side by side, `bench --parts directions` figures). Called by `use_threads`, so by every entry point.
    A no-op (False) off glibc (macOS, Windows, musl) and when the user set glibc's own MALLOC_MMAP_THRESHOLD_
    or MALLOC_TRIM_THRESHOLD_."""
    if not sys.platform.startswith("linux") or any(k in os.environ for k in
                                                   ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD))
