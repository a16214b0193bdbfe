"""Fine-tuning jobs and class lists: a job whose model's classes are not its data's needs a class map
(refused at submit time, and by the worker with a readable job error); the Train page's sources say so."""

from __future__ import annotations

import pytest

from explorer.data.datasets import ImageDataset
from explorer.data.store import save_dataset
from explorer.gan import checkpoint as ckpt
from explorer.gan.classes import ClassMismatch
from explorer.gan.finetune import prepare_init, sources
from explorer.gan.train import train_loop
from explorer.jobs.spec import JobError, make_spec, validate_spec
from explorer.jobs.worker import describe_failure
from tests.factories import make_dataset, tiny_config


def _named(names: list[str]) -> ImageDataset:
    ds = make_dataset(n=32, classes=len(names))
    return ImageDataset(ds.images, ds.labels, names, ds.description)


@pytest.fixture
def base(tmp_path):
    run = tmp_path / "base"
    train_loop(tiny_config(classes=2, steps=2), _named(["a", "b"]), run_dir=run)
    return run


def test_a_finetuning_job_on_other_classes_needs_a_class_map(tmp_path, base):
    data = save_dataset(_named(["b", "c"]), tmp_path / "upload")
    cfg = tiny_config(classes=2, steps=2)
    with pytest.raises(JobError, match=r"classes \[a, b\] but the data has \[b, c\]"):
        validate_spec(make_spec(data, config=cfg, init_from=base))
    assert validate_spec(make_spec(data, config=cfg, init_from=base, class_map="new"))["class_map"] == "new"
    assert validate_spec(make_spec(data, config=cfg, init_from=base, class_map="a=c,b=b"))["class_map"] == "a=c,b=b"
    with pytest.raises(JobError, match="needs init_from"):
        validate_spec(make_spec(data, config=cfg, class_map="new"))
    same = save_dataset(_named(["a", "b"]), tmp_path / "same")
    assert "class_map" not in validate_spec(make_spec(same, config=cfg, init_from=base))


def test_the_worker_refuses_too_with_a_readable_error(tmp_path, base):
    with pytest.raises(ClassMismatch) as err:                      # what the worker calls with the job's data
        prepare_init(base, tiny_config(classes=2), tmp_path / "job", ["b", "c"], None)
    msg = describe_failure(err.value, None)
    assert msg.startswith("Training could not run") and "[a, b]" in msg and "[b, c]" in msg


def test_sources_mark_a_model_whose_classes_are_not_the_uploads(base):
    info = ckpt.ModelInfo("base", base / "model.json", "trained", ckpt.read_meta(base / "model.json"))
    same, = sources([info], 32, 1, 2, class_names=["a", "b"])
    other, = sources([info], 32, 1, 2, class_names=["b", "c"])
    assert same.class_map is None and same.run_as_is
    assert other.class_map == "new" and not other.run_as_is and "start afresh" in other.note
