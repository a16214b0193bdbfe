"""The inversion bench on a tiny font model and a tiny fonts dataset: its images are the test split's glyph
stacks, evenly spaced; it projects in batches and reports per-image rows, the single-image time and the
single-vs-batch comparison (no timing is asserted); a missing fonts dataset skips the model with a reason."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.bench.inversion_bench import bench_model, bench_targets, inversion_bench
from tests.explore.test_nearest import write_fonts_dataset
from tests.factories import use_dirs
from tests.ui.test_app_fonts import export_font_model


@pytest.fixture
def fonts_data(tmp_path, monkeypatch) -> np.ndarray:
    export_font_model(tmp_path / "pre" / "fonts")
    use_dirs(monkeypatch, tmp_path)
    return write_fonts_dataset(tmp_path / "data" / "datasets" / "fonts", n_train=2, n_test=5)


def test_fonts_targets_are_the_test_splits_glyph_stacks_evenly_spaced(fonts_data) -> None:
    imgs, labels, source = bench_targets("fonts", 3, {"generator": {"resolution": 64}})
    assert imgs.shape == (3, 64, 64, 62) and imgs.dtype == np.uint8 and labels is None
    test = fonts_data[2:]                                                     # (5, 62, 64, 64): the test faces
    for got, k in zip(imgs, (0, 2, 4), strict=True):
        assert np.array_equal(got, test[k].transpose(1, 2, 0))
    assert "test split (3 of its 5" in source
    with pytest.raises(ValueError, match="no benchmark images"):
        bench_targets("mnist", 3, {"generator": {"resolution": 64}})


def test_bench_model_projects_fonts_in_batches_and_compares_single_runs(fonts_data) -> None:
    said: list[str] = []
    out = bench_model("fonts", 3, steps=(2,), say=said.append, batch=2, single_runs=1, speedup_images=2,
                      user_steps=3)
    way = out["ways"]["optimisation 2"]
    assert way["n"] == 3 and out["batch"] == 2 and "test split" in out["images"]
    assert 0 < way["psnr"]["mean"] < 100 and way["cpu_s"]["mean"] > 0
    assert out["single_image"]["runs"] == 1 and out["single_image"]["way"] == "optimisation 3"
    sp = out["batch_speedup"]
    assert sp["images"] == 2 and sp["speedup_cpu"] > 0 and sp["max_psnr_difference_db"] < 0.05
    assert any("no encoder" in s for s in said)
    assert list(out["targets"]) == ["optimisation 3 under 10 s (one image, median wall)"]
    assert out["optimizer"] == "lbfgs"


def test_bench_model_runs_the_chosen_optimiser_and_ways_only(fonts_data, monkeypatch) -> None:
    from explorer.explore.inversion import Projector
    seen = []
    real = Projector.project_batch

    def spy(self, targets, cfg, *a, **k):
        seen.append((cfg.optimizer, cfg.steps, cfg.start))
        return real(self, targets, cfg, *a, **k)

    monkeypatch.setattr(Projector, "project_batch", spy)
    out = bench_model("fonts", 2, steps=(2, 3), batch=2, single_runs=0, speedup_images=0, optimizer="adam",
                      only=("optimisation 3",))
    assert out["optimizer"] == "adam" and list(out["ways"]) == ["optimisation 3"]
    assert seen == [("adam", 3, "mean")]
    with pytest.raises(ValueError, match="no way named 'optimisation 7'.*the ways: optimisation 2"):
        bench_model("fonts", 2, steps=(2,), single_runs=0, speedup_images=0, only=("optimisation 7",))


def test_a_missing_fonts_dataset_skips_fonts_with_the_reason(tmp_path, monkeypatch) -> None:
    export_font_model(tmp_path / "pre" / "fonts")
    use_dirs(monkeypatch, tmp_path)
    said: list[str] = []
    out = inversion_bench({"fonts": 2}, steps=(1,), figure="unused.png", say=said.append)
    assert "fonts dataset" in out["fonts"]["skipped"] and "figure" not in out
    assert said and "skipped" in said[-1]


def test_the_figure_draws_a_typeface_as_ag_set_in_it() -> None:
    from explorer.bench.inversion_figure import CELL, face_cell
    from tests.glyph_stacks import render_stacks
    stack = render_stacks(1, res=64)[0].numpy().transpose(1, 2, 0)          # (64, 64, 62), ink = 255
    cell = face_cell(stack)
    assert cell.shape == (CELL, CELL, 3) and cell.dtype == np.uint8
    dark = cell.min(-1) < 128
    assert 0.02 < dark.mean() < 0.5                                          # "Ag" in ink on white paper
    assert (face_cell(np.zeros_like(stack)) == 255).all()                         # a blank face: white
