"""The `latent-explorer` command end to end on tiny models: train, resume, sample, export, list,
evaluate, bench, and one-line errors for bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from explorer.cli import main
from explorer.gan import checkpoint as ckpt
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
    named = b["named_directions"]                           # issue 15's numbers: speed and direction quality
    assert named["heat_map_10_s"] > 0 and named["attribute_directions_s"] > 0 and named["teach_s"] > 0
    rows = named["quality"]["rows"]
    assert rows and all(0 <= r["right_way"] <= 1 and 0 <= r["right_way_orth"] <= 1 and r["leak"] >= 0 for r in rows)
    assert any(r["name"] == "brightness" for r in rows) and named["quality_table"]
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


# ----------------------------------------------------------------------------- a resumed run records what it ran

def _run(tmp_path, folder, name: str = "run", *extra: str) -> Path:
    run = tmp_path / name
    assert main(["train", "--data", str(folder), "--labels", "--preset", "tiny", "--steps", "2", "--out", str(run),
                 *extra]) == 0
    return run


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def _copy_classes(folder: Path, dest: Path, names: dict[str, str], extra: str = "") -> Path:
    """A folder whose class `new` holds the images of `folder`'s class `old`, for each old -> new, and a
    class `extra` of other images."""
    for old, new in names.items():
        shutil.copytree(folder / old, dest / new)
    if extra:
        (dest / extra).mkdir()
        ds = make_dataset(n=6, classes=0, seed=7)
        for i in range(len(ds)):
            Image.fromarray(ds.images[i, 0].numpy()).save(dest / extra / f"{i}.png")
    return dest


def test_resume_refuses_options_that_would_change_what_the_run_is(tmp_path, folder, capsys):
    run = _run(tmp_path, folder)
    before = (run / "config.json").read_text()
    capsys.readouterr()
    assert main(["train", "--out", str(run), "--resume", "--preset", "quick", "--resolution", "64", "--channels", "3",
                 "--g-arch", "dcgan", "--loss", "hinge", "--steps", "3"]) == 2
    err = _one_line_error(capsys)
    assert all(f in err for f in ("--preset quick", "--resolution 64", "--channels 3", "--g-arch dcgan"))
    assert (run / "config.json").read_text() == before and ckpt.load_training(run)[1]["step"] == 2
    assert main(["train", "--out", str(run), "--resume", "--preset", "tiny", "--steps", "3"]) == 0   # no change


def test_resume_trains_with_the_learning_rates_it_records(tmp_path, folder):
    run = _run(tmp_path, folder)
    assert main(["train", "--out", str(run), "--resume", "--steps", "3", "--lr-g", "1e-5", "--lr-d", "2e-5"]) == 0
    _, meta = ckpt.load_training(run)
    assert meta["config"]["train"]["lr_g"] == 1e-5
    assert meta["optimizers"]["opt_G"]["param_groups"][0]["lr"] == 1e-5      # what the optimiser used
    assert meta["optimizers"]["opt_D"]["param_groups"][0]["lr"] == 2e-5


@pytest.mark.parametrize("classes,extra", [({"dark": "dark", "light": "light"}, "zzz"),      # a class more
                                           ({"dark": "light", "light": "zzz"}, "")])        # "dark" renamed
def test_resume_on_data_with_other_classes_names_both_lists(tmp_path, folder, capsys, classes, extra):
    run = _run(tmp_path, folder)
    data_json = (run / "data.json").read_text()
    other = _copy_classes(folder, tmp_path / "other", classes, extra)
    capsys.readouterr()
    assert main(["train", "--out", str(run), "--resume", "--data", str(other), "--steps", "3"]) == 2
    err = _one_line_error(capsys)
    assert "[dark, light]" in err and f"[{', '.join(sorted({*classes.values(), extra} - {''}))}]" in err
    assert (run / "data.json").read_text() == data_json and ckpt.load_training(run)[1]["step"] == 2


def test_finetuning_onto_other_classes_takes_an_explicit_map(tmp_path, folder, capsys):
    base = _run(tmp_path, folder, "base")
    pets = _copy_classes(folder, tmp_path / "pets", {"dark": "cat", "light": "dog"})
    capsys.readouterr()
    assert main(["train", "--data", str(pets), "--labels", "--preset", "tiny", "--steps", "2",
                 "--out", str(tmp_path / "ft"), "--init", str(base)]) == 2
    err = _one_line_error(capsys)
    assert "[dark, light] but the data has [cat, dog]" in err and "--class-map" in err
    for i, how in enumerate((["--class-map", "dark=cat,light=dog"], ["--new-classes"])):
        ft = tmp_path / f"ft{i}"
        assert main(["train", "--data", str(pets), "--labels", "--preset", "tiny", "--steps", "2", "--out", str(ft),
                     "--init", str(base), *how]) == 0
        assert ckpt.read_meta(ft / "model.json")["class_names"] == ["cat", "dog"]


# ----------------------------------------------------------------------------- every error a person can fix: one line

def test_exploding_losses_end_in_one_line(tmp_path, folder, capsys):
    capsys.readouterr()
    assert main(["train", "--data", str(folder), "--preset", "tiny", "--steps", "200", "--loss", "wgan-gp",
                 "--lr-g", "1e6", "--lr-d", "1e6", "--out", str(tmp_path / "run")]) == 2
    assert "diverged 6 times" in _one_line_error(capsys)


@pytest.mark.parametrize("argv,says", [
    (["--class", "nosuchclass"], "its classes: [dark, light]"),
    (["--class", "7"], "its classes: [dark, light]"),
    (["--psi", "nan"], "--psi must be between 0 and 2"),
    (["--n", "0"], "--n must be between 1 and 1024"),
    (["--scale", "0"], "--scale must be at least 1"),
])
def test_sample_errors_say_what_would_work(tmp_path, folder, capsys, argv, says):
    run = _run(tmp_path, folder)
    capsys.readouterr()
    assert main(["sample", str(run), "--out", str(tmp_path / "g.png"), *argv]) == 2
    assert says in _one_line_error(capsys)


@pytest.mark.parametrize("argv, words", [
    (["evaluate", "fashion-mnist", "--n", "0"], "--n must be at least 2"),
    (["evaluate", "fashion-mnist", "--n", "1"], "--n must be at least 2"),
    (["evaluate", "fashion-mnist", "--seed", "-1"], "--seed must be between 0 and 2147483647"),
    (["sample", "fashion-mnist", "--seed", "-5"], "--seed must be between 0 and 2147483647"),
    (["sample", "fashion-mnist", "--seed", "2147483648"], "--seed must be between 0 and 2147483647"),
    (["sample", "fashion-mnist", "--n", "100000"], "--n must be between 1 and 1024"),
    (["sample", "fashion-mnist", "--n", "0"], "--n must be between 1 and 1024"),
])
def test_bad_numbers_are_one_line_errors_up_front(argv, words, capsys, monkeypatch):
    import explorer.evaluation.evaluate as evaluate
    import explorer.gan.device as device

    def boom(*a, **k):
        raise AssertionError("the model was loaded before the input was checked")
    monkeypatch.setattr(device, "load_generator", boom)
    monkeypatch.setattr(evaluate, "evaluate_model", boom)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1


def test_sample_caps_the_grid_pixels(tmp_path, capsys):
    assert main(["sample", "fashion-mnist", "--n", "1024", "--scale", "50", "--out", str(tmp_path / "g.png")]) == 2
    err = capsys.readouterr().err
    assert "limit is 40,000,000 pixels" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "g.png").exists()


def test_sample_and_evaluate_options_have_help(capsys):
    from explorer.cli import build_parser
    sub = next(a for a in build_parser()._actions if a.dest == "cmd")
    for cmd, opts in (("sample", ("--out", "--n", "--seed")), ("evaluate", ("model", "--n", "--seed", "--json"))):
        acts = {s: a for a in sub.choices[cmd]._actions for s in (a.option_strings or [a.dest])}
        assert all(acts[o].help for o in opts), cmd


def test_train_takes_the_glyph_losses_flags():
    from explorer.cli import build_parser
    a = build_parser().parse_args(["train", "--data", "fonts", "--reader", "r", "--reader-weight", "1",
                                   "--style-weight", "1", "--style-texture-weight", "0.2"])
    assert (a.reader, a.reader_weight, a.style_weight, a.style_texture_weight) == ("r", 1.0, 1.0, 0.2)
