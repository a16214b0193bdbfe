"""evaluate on a Fashion-MNIST-shaped model: classifier figures, floors, SWD and memorisation."""

from __future__ import annotations

import pytest
import torch

from explorer.evaluation.evaluate import evaluate_model, generate
from explorer.gan import checkpoint as ckpt
from explorer.settings import pretrained_dir
from tests.factories import tiny_generator

needs_fm = pytest.mark.skipif(
    not (pretrained_dir() / "fashion-mnist-classifier.json").exists()
    or not __import__("pathlib").Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").exists(),
    reason="needs Debian's dataset-fashion-mnist and the shipped classifier")


def test_generate_is_deterministic_and_balanced():
    G = tiny_generator(3)
    a, la = generate(G, 10, seed=1)
    b, lb = generate(G, 10, seed=1, batch=3)
    assert torch.equal(a, b) and a.dtype == torch.uint8 and a.shape == (10, 1, 32, 32)
    assert la.tolist() == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]


def test_generate_can_follow_the_data_class_proportions():
    G = tiny_generator(3)
    _, la = generate(G, 3000, class_weights=torch.tensor([6, 3, 1]))
    share = torch.bincount(la, minlength=3).double() / 3000
    assert torch.allclose(share, torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64), atol=0.03)
    _, again = generate(G, 3000, class_weights=torch.tensor([6, 3, 1]))
    assert torch.equal(la, again)


@needs_fm
def test_evaluate_fashion_mnist_shaped_model(tmp_path):
    G = tiny_generator(10)
    ckpt.save_generator(tmp_path / "m", G, {"dataset": {"spec": "fashion-mnist", "source": "fashion-mnist:train"},
                                             "training": {"steps": 12, "train_seconds": 34.56}})
    fig = evaluate_model(str(tmp_path / "m"), n=200, device="cpu", memorisation_n=200)
    assert fig["trained"] == {"steps": 12, "seconds": 34.6}          # so a comparison can show equal time
    assert fig["reference"] == "fashion-mnist" and fig["feature_space"] == "fashion-mnist-classifier"
    # an untrained generator is far from the data; real train-vs-test is close: the floor
    assert fig["fd"] > 10 * fig["fd_train_vs_test"]
    assert fig["swd"]["avg"] > fig["swd_train_vs_test"]["avg"]
    assert 0.0 <= fig["cond_accuracy"] <= 0.5            # noise is not classified as its label
    assert 0.0 <= fig["precision"] <= 1.0 and 0.0 <= fig["recall"] <= 1.0
    assert fig["memorisation"]["memorised"] is False
