"""The Fashion-MNIST feature classifier: tiny training, save/load validation, the shipped weights."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.evaluation.classifier import (
    ClassifierConfig,
    FashionClassifier,
    accuracy,
    load_classifier,
    save_classifier,
    train_classifier,
)

TINY = ClassifierConfig(width=4, feature_dim=16)
FM_DIR = Path("/usr/share/datasets/fashion-mnist")
SHIPPED = Path(__file__).resolve().parents[2] / "pretrained" / "fashion-mnist-classifier"


def _data(n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 1, 32, 32), generator=g, dtype=torch.uint8)
    return images, torch.randint(0, 10, (n,), generator=g)


def _train(seed: int = 0, **kw) -> FashionClassifier:
    x, y = _data()
    return train_classifier(x, y, epochs=1, seed=seed, batch_size=32, config=TINY, **kw)


def test_shapes_and_input_forms():
    model = _train()
    x, _ = _data(4)
    assert model.features(x).shape == (4, 16)
    logits = model(x)
    assert logits.shape == (4, 10)
    with torch.inference_mode():
        as_float = model(x.float() / 127.5 - 1)
        rgb = model(x.repeat(1, 3, 1, 1))                                    # gray RGB averages to the same
        big = model(torch.nn.functional.interpolate(x.float() / 127.5 - 1, scale_factor=2.0))
    torch.testing.assert_close(as_float, logits.detach())
    torch.testing.assert_close(rgb, logits.detach())
    assert big.shape == (4, 10)


def test_training_is_deterministic_and_reports_progress():
    seen = []
    a, b = _train(on_progress=seen.append), _train()
    assert [p["epoch"] for p in seen] == [1] and seen[0]["steps"] == 2
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k
    assert not a.training


def test_rejects_float_training_images():
    x, y = _data()
    with pytest.raises(ValueError, match="uint8"):
        train_classifier(x.float(), y, epochs=1, config=TINY)


def test_save_load_round_trip(tmp_path):
    model = _train()
    save_classifier(model, tmp_path / "clf", {"test_accuracy": 0.5, "train_seconds": 1.0, "epochs": 1})
    meta = json.loads((tmp_path / "clf.json").read_text())
    assert meta["format"] == "latent-explorer-classifier" and meta["format_version"] == 1
    assert meta["config"]["width"] == 4 and len(meta["class_names"]) == 10
    loaded, meta2 = load_classifier(tmp_path / "clf")
    assert meta2["summary"]["test_accuracy"] == 0.5 and not loaded.training
    x, _ = _data(8, seed=1)
    with torch.inference_mode():
        assert torch.equal(model(x), loaded(x))
    load_classifier(tmp_path / "clf.safetensors")                           # either file name works


def _saved(tmp_path) -> Path:
    save_classifier(_train(), tmp_path / "clf", {"test_accuracy": 0.5})
    return tmp_path / "clf"


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        load_classifier(tmp_path / "nothing")
    stem = _saved(tmp_path)
    stem.with_suffix(".safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="clf.safetensors"):
        load_classifier(stem)


def test_corrupt_weights(tmp_path):
    st = _saved(tmp_path).with_suffix(".safetensors")
    data = bytearray(st.read_bytes())
    data[-10] ^= 0xFF
    st.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt"):
        load_classifier(tmp_path / "clf")


def test_wrong_format_and_version(tmp_path):
    js = _saved(tmp_path).with_suffix(".json")
    meta = json.loads(js.read_text())
    js.write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(ValueError, match="format_version 99"):
        load_classifier(tmp_path / "clf")
    js.write_text(json.dumps({**meta, "format": "something-else"}))
    with pytest.raises(ValueError, match="not a classifier"):
        load_classifier(tmp_path / "clf")
    js.write_text("{not json")
    with pytest.raises(ValueError, match="JSON"):
        load_classifier(tmp_path / "clf")


def test_shape_mismatch(tmp_path):
    js = _saved(tmp_path).with_suffix(".json")
    meta = json.loads(js.read_text())
    meta["config"]["width"] = 8
    js.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="shape"):
        load_classifier(tmp_path / "clf")


def _fm_test(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    with gzip.open(FM_DIR / "t10k-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)[:n]
    with gzip.open(FM_DIR / "t10k-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:n].astype(np.int64)
    x = np.pad(x, ((0, 0), (2, 2), (2, 2)))                                  # 28 -> 32 with black borders
    return torch.from_numpy(x.copy())[:, None], torch.from_numpy(y)


@pytest.mark.skipif(not SHIPPED.with_suffix(".json").exists(), reason="no shipped classifier")
@pytest.mark.skipif(not (FM_DIR / "t10k-images-idx3-ubyte.gz").exists(), reason="Fashion-MNIST not installed")
def test_shipped_classifier_accuracy():
    model, meta = load_classifier(SHIPPED)
    x, y = _fm_test(1000)
    assert accuracy(model, x, y) >= 0.85
    assert meta["summary"]["test_accuracy"] >= 0.85
    assert SHIPPED.with_suffix(".safetensors").stat().st_size < 2 * 1024 * 1024
