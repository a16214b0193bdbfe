"""Checkpoints: round trip, rebuild from config alone, and clear errors for every kind of damage."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from explorer.gan import checkpoint as ckpt
from tests.factories import tiny_generator


@pytest.fixture
def exported(tmp_path):
    G = tiny_generator(3)
    path = ckpt.save_generator(tmp_path / "m", G, {"class_names": ["a", "b", "c"], "model_card": "hi"})
    return G, path


def test_round_trip_rebuilds_from_config(exported):
    G, path = exported
    G2, meta = ckpt.load_generator(path)
    z, c = torch.randn(4, G.cfg.z_dim), torch.tensor([0, 1, 2, 0])
    sd, sd2 = G.state_dict(), G2.state_dict()
    assert sd.keys() == sd2.keys() and all(torch.equal(sd[k], sd2[k]) for k in sd)     # the weights exactly
    torch.testing.assert_close(G(z, c), G2(z, c), rtol=0, atol=1e-5)   # channels-last convolutions: rounding only
    assert meta["class_names"] == ["a", "b", "c"] and meta["format_version"] == ckpt.FORMAT_VERSION
    assert not any(p.requires_grad for p in G2.parameters())
    # the same model is found by stem, by .safetensors path and by name in a search folder
    for ref in (path.with_suffix(""), path.with_suffix(".safetensors")):
        assert ckpt.load_generator(ref)[1]["sha256"] == meta["sha256"]
    assert ckpt.load_generator("m", search=[path.parent])[1]["sha256"] == meta["sha256"]


def test_no_temp_files_left(exported):
    _, path = exported
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.json", "m.safetensors"]


def test_missing_weights(exported):
    _, path = exported
    path.with_suffix(".safetensors").unlink()
    with pytest.raises(ckpt.CheckpointError, match="missing weights file"):
        ckpt.load_generator(path)


def test_missing_model():
    with pytest.raises(ckpt.CheckpointError, match="no model found"):
        ckpt.load_generator("/nonexistent/model")


def test_corrupt_bytes(exported):
    _, path = exported
    w = path.with_suffix(".safetensors")
    data = bytearray(w.read_bytes())
    data[-10] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(ckpt.CheckpointError, match="corrupt"):
        ckpt.load_generator(path)


def test_truncated_unhashed_file_is_unreadable(exported):
    _, path = exported
    meta = json.loads(path.read_text())
    del meta["sha256"]
    path.write_text(json.dumps(meta))
    w = path.with_suffix(".safetensors")
    w.write_bytes(w.read_bytes()[:100])
    with pytest.raises(ckpt.CheckpointError, match="not a readable safetensors"):
        ckpt.load_generator(path)


def test_newer_version(exported):
    _, path = exported
    meta = json.loads(path.read_text())
    meta["format_version"] = ckpt.FORMAT_VERSION + 1
    path.write_text(json.dumps(meta))
    with pytest.raises(ckpt.CheckpointError, match="newer than this program"):
        ckpt.load_generator(path)


def test_old_version_is_upgraded(exported, monkeypatch):
    _, path = exported
    meta = json.loads(path.read_text())
    meta["format_version"] = 0
    meta["cfg_v0"] = meta.pop("generator")          # pretend version 0 used another key
    path.write_text(json.dumps(meta))
    with pytest.raises(ckpt.CheckpointError, match="can no longer be upgraded"):
        ckpt.load_generator(path)

    def up(m):
        m["generator"] = m.pop("cfg_v0")
        return m

    monkeypatch.setitem(ckpt.UPGRADES, 0, up)
    G, meta2 = ckpt.load_generator(path)
    assert meta2["format_version"] == ckpt.FORMAT_VERSION


def test_not_json_and_not_ours(exported):
    _, path = exported
    path.write_text("{not json")
    with pytest.raises(ckpt.CheckpointError, match="not valid JSON"):
        ckpt.load_generator(path)
    path.write_text(json.dumps({"hello": 1}))
    with pytest.raises(ckpt.CheckpointError, match="not a Latent Explorer checkpoint"):
        ckpt.load_generator(path)


def test_shape_mismatch(exported):
    _, path = exported
    meta = json.loads(path.read_text())
    meta["generator"]["w_dim"] = 16
    path.write_text(json.dumps(meta))
    with pytest.raises(ckpt.CheckpointError, match="shape mismatch"):
        ckpt.load_generator(path)


def test_bad_config_value(exported):
    _, path = exported
    meta = json.loads(path.read_text())
    meta["generator"]["resolution"] = 48
    path.write_text(json.dumps(meta))
    with pytest.raises(ckpt.CheckpointError, match="resolution must be"):
        ckpt.load_generator(path)


def test_training_checkpoint_keeps_newest_and_skips_corrupt(tmp_path):
    for step in (1, 2, 3):
        ckpt.save_training(tmp_path, step, {"x": torch.full((2,), float(step))}, {"config": {}})
    names = sorted(p.name for p in (tmp_path / "checkpoints").glob("*.json"))
    assert names == ["step-00000002.json", "step-00000003.json"]
    (tmp_path / "checkpoints" / "step-00000003.safetensors").write_bytes(b"garbage")
    assert ckpt.latest_training(tmp_path).name == "step-00000002.json"
    tensors, meta = ckpt.load_training(tmp_path)
    assert meta["step"] == 2 and tensors["x"].tolist() == [2.0, 2.0]


def test_generator_export_cannot_resume(exported):
    _, path = exported
    with pytest.raises(ckpt.CheckpointError, match="cannot resume"):
        ckpt.load_training(path)


def test_list_models(tmp_path, exported):
    _, path = exported
    (tmp_path / "junk.json").write_text("{}")
    models = ckpt.list_models(tmp_path)
    assert [m.name for m in models] == ["m"] and models[0].source == "pretrained"


def test_a_runs_export_is_named_by_its_run_folder(tmp_path):
    """runs/<run>/model.json: the run's name everywhere (links, recipes, cards), also for older exports
    that recorded 'model' for every run."""
    G = tiny_generator(0)
    legacy = ckpt.save_generator(tmp_path / "runs" / "cats-1" / "model", G, {})
    assert json.loads(legacy.read_text())["name"] == "model"          # what older exports wrote
    assert ckpt.load_generator(legacy)[1]["name"] == "cats-1"
    assert [m.name for m in ckpt.list_models(tmp_path / "none", tmp_path / "runs")] == ["cats-1"]

    from explorer.gan.export import export_model
    again = export_model(legacy, tmp_path / "runs" / "dogs-2" / "model")
    meta = json.loads(again.read_text())
    assert meta["name"] == "dogs-2" and meta["model_card"].startswith("# dogs-2")

    shutil.copytree(tmp_path / "runs" / "dogs-2", tmp_path / "runs" / "dogs-3")   # a copy: its own name
    assert [m.name for m in ckpt.list_models(tmp_path / "none", tmp_path / "runs")] == ["cats-1", "dogs-2", "dogs-3"]


def test_a_run_resolves_to_a_checkpoint_newer_than_its_exported_model(tmp_path):
    """A finished run (model.json) that was resumed and then stopped: its newer checkpoint is the model."""
    from tests.factories import make_run, tiny_generator
    run = tmp_path / "run"
    latest, _ = make_run(run, step=40)
    G = tiny_generator(3)
    ckpt.save_generator(run / "model", G, {"training": {"steps": 20}})
    assert ckpt.resolve(run) == latest
    ckpt.save_generator(run / "model", G, {"training": {"steps": 40}})      # exported at the last step
    assert ckpt.resolve(run) == run / "model.json"
    ckpt.save_generator(run / "model", G, {})                               # steps unknown: the export
    assert ckpt.resolve(run) == run / "model.json"
