"""The `latent-explorer` command end to end on tiny models: train, resume, sample, export, list,
evaluate, bench, and one-line errors for bad input."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from explorer.cli import main
from tests.factories import make_dataset


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "imgs"
    for cls in ("dark", "light"):
        (d / cls).mkdir(parents=True)
    ds = make_dataset(n=24, classes=2)
    for i in range(len(ds)):
        cls = ("dark", "light")[int(ds.labels[i])]
        Image.fromarray(ds.images[i, 0].numpy()).save(d / cls / f"{i}.png")
    (d / "dark" / "broken.png").write_bytes(b"not an image")
    return d


def test_train_resume_sample_export_list(tmp_path, folder, capsys, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(tmp_path / "data"))
    run = tmp_path / "data" / "runs" / "r"
    assert main(["train", "--data", str(folder), "--labels", "--preset", "tiny", "--steps", "2",
                 "--out", str(run), "--json"]) == 0
    out = capsys.readouterr().out
    assert "skipped 1 file(s)" in out and "step       2/2" in out and "img/s" in out and "ETA" in out
    assert json.loads(out.strip().splitlines()[-1])["step"] == 2
    # resume: picks up config and data from the run folder, continues from step 2
    assert main(["train", "--out", str(run), "--resume", "--steps", "3"]) == 0
    assert "resumed from step 2" in capsys.readouterr().out
    assert main(["sample", str(run), "--out", str(tmp_path / "g.png"), "--n", "8", "--class", "light"]) == 0
    assert Image.open(tmp_path / "g.png").size[0] > 32
    assert main(["export", str(run), str(tmp_path / "exp" / "m"), "--reproduce", "latent-explorer train ..."]) == 0
    meta = json.loads((tmp_path / "exp" / "m.json").read_text())
    assert meta["reproduce"] == "latent-explorer train ..." and meta["training"]["steps"] == 3
    assert "## Reproduce" in meta["model_card"] and "3 steps" in meta["model_card"]
    capsys.readouterr()
    assert main(["list"]) == 0
    assert "r " in capsys.readouterr().out


def test_evaluate_and_bench_on_tiny_model(tmp_path, folder, capsys, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(tmp_path / "data"))
    run = tmp_path / "run"
    assert main(["train", "--data", str(folder), "--preset", "tiny", "--steps", "2", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--n", "40", "--json"]) == 0
    fig = json.loads(capsys.readouterr().out)
    assert fig["samples"] == 40 and fig["swd"]["avg"] > 0 and "memorised" in fig["memorisation"]
    assert main(["bench", "--model", str(run / "model.json"), "--train-seconds", "2", "--json",
                 "--parts", "render,directions,train", "--loop-runs", "0"]) == 0   # browser: tests/ui/test_browser.py;
                                                                                      # loop comparison: tests/bench
    b = json.loads(capsys.readouterr().out)
    assert b["directions_s"]["pca"] > 0 and b["directions_s"]["sefa"] > 0
    for k in ("batch_1", "batch_64"):
        assert b["generator_latency"][k]["p50_ms"] > 0
    assert b["training"]["img_per_s_median"] > 0
    assert 0 <= b["training"]["projected_bookkeeping_share"] < 1


@pytest.mark.parametrize("argv,msg", [
    (["sample", "/nonexistent/model"], "no model found"),
    (["train", "--preset", "tiny"], "--data is required"),
    (["train", "--data", "/nonexistent/folder", "--preset", "tiny"], "nonexistent"),
    (["evaluate", "/nonexistent"], "no model found"),
])
def test_errors_are_one_line(argv, msg, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
