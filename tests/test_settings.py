"""explorer.settings: folders from the environment and the one thread-count policy."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
import torch

from explorer import settings


def test_folders_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(settings.DATA_ENV, str(tmp_path / "d"))
    monkeypatch.setenv(settings.PRETRAINED_ENV, str(tmp_path / "p"))
    assert settings.data_dir() == tmp_path / "d" and settings.pretrained_dir() == tmp_path / "p"
    monkeypatch.delenv(settings.DATA_ENV)
    monkeypatch.delenv(settings.PRETRAINED_ENV)
    assert settings.data_dir() == Path("data")
    assert settings.pretrained_dir() == Path(settings.__file__).resolve().parents[1] / "pretrained"


def test_thread_policy_explicit_then_environment_then_role(monkeypatch):
    monkeypatch.delenv(settings.THREADS_ENV, raising=False)
    assert settings.thread_count("work") == (os.cpu_count() or 1)     # a CLI command or worker owns the CPU
    assert settings.thread_count("serve") == 1                        # the server renders many small batches
    monkeypatch.setenv(settings.THREADS_ENV, "3")
    assert settings.thread_count("work") == 3 and settings.thread_count("serve") == 3
    assert settings.thread_count("serve", n=2) == 2                   # --threads wins
    monkeypatch.setenv(settings.THREADS_ENV, "0")                     # 0 = the role's default
    assert settings.thread_count("serve") == 1
    monkeypatch.setenv(settings.THREADS_ENV, "many")
    with pytest.raises(ValueError, match="must be an integer"):
        settings.thread_count()


def test_use_threads_sets_torch_and_blas(monkeypatch):
    from threadpoolctl import threadpool_info, threadpool_limits
    monkeypatch.setenv(settings.THREADS_ENV, "1")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "9")                    # the user's own setting is kept
    monkeypatch.setenv("OMP_NUM_THREADS", "9")
    before = torch.get_num_threads()
    with threadpool_limits(limits=None):                                # restores the BLAS pools afterwards
        try:
            threadpool_limits(limits=2, user_api="blas")
            assert settings.use_threads("serve") == 1 and torch.get_num_threads() == 1
            blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
            assert blas and set(blas) == {1}
            assert {p["num_threads"] for p in threadpool_info()} == {1}          # OpenMP pools too
            assert os.environ["OPENBLAS_NUM_THREADS"] == "9"
        finally:
            torch.set_num_threads(before)


def test_every_variable_the_package_names_is_documented():
    src = Path(settings.__file__).resolve().parent
    named = {m for p in src.rglob("*.py") for m in re.findall(r"LATENT_EXPLORER_[A-Z_]*[A-Z]", p.read_text("utf-8"))}
    assert settings.THREADS_ENV in named and named <= set(settings.ENV)


def _faults_of_a_fresh_array(mb: int) -> int:
    import resource

    import numpy as np
    a = np.ones(mb << 18, np.float32)                                  # mb MB, every page touched
    del a
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    b = np.ones(mb << 18, np.float32)                                  # the same size again
    after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    del b
    return after - before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_keep_freed_memory_reuses_freed_pages(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1")                  # the user's own glibc setting wins
    assert settings.keep_freed_memory() is False
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert settings.keep_freed_memory() is True
    # 48 MB is above glibc's largest adaptive mmap threshold (32 MiB): without the setting, every such
    # array is fresh pages from the kernel (536 faults here with transparent huge pages, ~12,000 without);
    # with it, the freed block is reused (0 faults)
    assert _faults_of_a_fresh_array(48) < 50
