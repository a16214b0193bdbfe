"""The discriminator that belongs to a model: found in a run, exported beside a shipped model, scored."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from explorer.gan import checkpoint as ckpt
from explorer.gan import critic
from explorer.gan.export import export_model
from explorer.imaging.render import to_uint8
from tests.factories import make_run


def _images(n: int = 6, seed: int = 0) -> np.ndarray:
    g = torch.Generator().manual_seed(seed)
    return to_uint8(torch.rand(n, 1, 32, 32, generator=g) * 2 - 1)          # (n, 32, 32, 1) uint8


@pytest.mark.parametrize("d_arch", ["resnet", "dcgan"])
def test_export_and_load_round_trip(tmp_path, d_arch):
    j, nets = make_run(tmp_path / "runs" / "r", d_arch)
    stem = tmp_path / "pre" / "tiny"
    export_model(j, stem)
    side = critic.export_discriminator(tmp_path / "runs" / "r", stem)
    assert side == tmp_path / "pre" / "tiny-discriminator.json"
    meta = json.loads(side.read_text())
    assert meta["format"] == critic.FORMAT_DISCRIMINATOR and meta["step"] == 4
    assert meta["generator_sha256"] == json.loads((tmp_path / "pre" / "tiny.json").read_text())["sha256"]
    assert meta["discriminator"]["arch"] == d_arch and meta["loss"] == "hinge"

    shipped = critic.load_critic(tmp_path / "pre" / "tiny.json")
    from_run = critic.load_critic(j)
    assert shipped is not None and from_run is not None and shipped.conditional
    x, labels = _images(), torch.tensor([0, 1, 2, 0, 1, 2])
    a, b = critic.realness(shipped, x, labels), critic.realness(from_run, x, labels)
    assert a.shape == (6,) and torch.equal(a, b)                             # identical logits
    with torch.no_grad():                                                    # and those of the training D
        want = torch.cat([nets.D(critic.as_model_input(x[i:i + 1]), labels[i:i + 1]) for i in range(6)])
    assert torch.equal(a, want)
    # the discriminator's sidecar is not mistaken for a model
    assert [m.name for m in ckpt.list_models(tmp_path / "pre")] == ["tiny"]


def test_run_model_json_uses_latest_checkpoint(tmp_path):
    run = tmp_path / "runs" / "r"
    j, _ = make_run(run, "dcgan")
    export_model(j, run / "model")
    c = critic.load_critic(run / "model.json")
    assert c is not None and c.step == 4 and c.source == str(j) and c.note == ""
    assert critic.load_critic(run) is not None                               # a run folder works too
    make_run(run, "dcgan", step=9)                                           # the run went on after the export
    assert "step 9" in critic.load_critic(run / "model.json").note


def test_model_without_discriminator_is_none(tmp_path):
    j, _ = make_run(tmp_path / "runs" / "r")
    export_model(j, tmp_path / "pre" / "plain")
    assert critic.load_critic(tmp_path / "pre" / "plain.json") is None
    c, why = critic.critic_or_reason(tmp_path / "pre" / "plain.json")
    assert c is None and "no discriminator" in why
    assert critic.load_critic(tmp_path) is None                              # a folder with no checkpoints


def test_wrong_generator_or_corrupt_weights_are_refused(tmp_path):
    j, _ = make_run(tmp_path / "runs" / "r")
    stem = tmp_path / "pre" / "tiny"
    export_model(j, stem)
    critic.export_discriminator(j, stem)
    with pytest.raises(critic.CriticError, match="export the generator first"):
        critic.export_discriminator(j, tmp_path / "pre" / "missing")
    dj = tmp_path / "pre" / "tiny-discriminator.json"                       # as if the generator was replaced
    dj.write_text(dj.read_text().replace(json.loads(dj.read_text())["generator_sha256"], "ab" * 32))
    c, why = critic.critic_or_reason(stem.with_suffix(".json"))
    assert c is None and "another version of this generator" in why
    critic.export_discriminator(j, stem)
    w = tmp_path / "pre" / "tiny-discriminator.safetensors"
    w.write_bytes(w.read_bytes()[:-8] + b"\0" * 8)
    c, why = critic.critic_or_reason(stem.with_suffix(".json"))
    assert c is None and "corrupt" in why


def test_realness_is_per_image_and_checks_its_input(tmp_path):
    j, _ = make_run(tmp_path / "runs" / "r", "resnet", classes=0)
    c = critic.load_critic(j)
    x = _images(5)
    alone = torch.cat([critic.realness(c, x[i:i + 1]) for i in range(5)])
    assert torch.equal(critic.realness(c, x), alone)                         # minibatch std sees one image
    assert torch.allclose(critic.realness(c, critic.as_model_input(x)), alone)   # float input, same scores
    p = critic.probability_real(alone)
    assert torch.allclose(p, torch.sigmoid(alone)) and 0 < critic.probability_real(0.3) < 1
    with pytest.raises(ValueError, match="takes 1x32x32"):
        critic.realness(c, np.zeros((1, 16, 16, 1), np.uint8))
    jc, _ = make_run(tmp_path / "runs" / "c", "dcgan", classes=3)
    with pytest.raises(ValueError, match="conditional"):
        critic.realness(critic.load_critic(jc), x)
    assert critic.realness(critic.load_critic(jc), x, 2).shape == (5,)      # one class for all
