"""Data-parallel training with 2 CPU ranks (gloo): weights stay identical, only rank 0 writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[2]


def _torchrun(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", LATENT_EXPLORER_THREADS="1", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", "0",
           "--rdzv-backend", "c10d", "--rdzv-endpoint", "127.0.0.1:0", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)


def test_two_ranks_stay_identical(tmp_path):
    p = _torchrun(["tests/helpers/ddp_worker.py", str(tmp_path)], tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    w0, w1 = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    assert w0.keys() == w1.keys() and len(w0) > 10
    for k in w0:
        assert torch.equal(w0[k], w1[k]), f"{k} differs between ranks"
    # training moved the weights (so "identical" is not trivially "untouched")
    ckpts = sorted((tmp_path / "run" / "checkpoints").glob("step-*.json"))
    assert [c.name for c in ckpts] == ["step-00000003.json"]      # only rank 0 wrote, once


def test_cli_under_torchrun(tmp_path):
    from PIL import Image
    data = tmp_path / "imgs"
    data.mkdir()
    g = torch.Generator().manual_seed(0)
    for i in range(16):
        arr = (torch.rand(32, 32, generator=g) * 255).to(torch.uint8).numpy()
        Image.fromarray(arr).save(data / f"{i}.png")
    p = _torchrun(["-m", "explorer", "train", "--data", str(data), "--preset", "tiny", "--steps", "2",
                   "--out", str(tmp_path / "run"), "--json"], tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.count('"reason": "done"') == 1                  # one summary: rank 0's
    assert (tmp_path / "run" / "model.json").exists()
