"""Classes across fine-tuning: plans by name or by an explicit map, re-indexed weights, and refusals."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from explorer.config import preset
from explorer.data.datasets import ImageDataset
from explorer.gan import checkpoint as ckpt
from explorer.gan.classes import ClassMismatch, ClassPlan, class_plan, remap_discriminator, remap_generator
from explorer.gan.discriminators import build_discriminator
from explorer.gan.finetune import prepare_init
from explorer.gan.train import train_loop
from tests.factories import make_dataset, tiny_config, tiny_generator


def _named(names: list[str]) -> ImageDataset:
    ds = make_dataset(n=32, classes=len(names))
    return ImageDataset(ds.images, ds.labels, names, ds.description)


def test_class_plans():
    assert class_plan(["a", "b"], ["a", "b"], None) == ClassPlan((0, 1))
    assert class_plan(["a", "b"], ["b", "a"], None) == ClassPlan((1, 0))          # same names: kept by name
    assert class_plan(["a", "b"], ["x", "y"], "a=y, b=x") == ClassPlan((1, 0))
    assert class_plan(["a", "b", "c"], ["x"], "c=x") == ClassPlan((2,))
    assert class_plan(["a", "b"], ["x", "y", "z"], "new") == ClassPlan(None)
    assert class_plan([], ["x"], None, source_classes=0) is None                  # unconditional source
    assert class_plan(["a", "b"], [], None, target_classes=0) is None             # unconditional target


@pytest.mark.parametrize("target,class_map,says", [
    (["a", "b", "c"], None, "[a, b] but the data has [a, b, c]"),                # a class more
    (["b", "c"], None, "[a, b] but the data has [b, c]"),                        # a would become b
    (["x", "y"], "a=x", "which of the model's classes ['y']"),                   # the map misses a class
    (["x", "y"], "a=x,q=y", "the model has no class(es) ['q']"),
    (["x", "y"], "a=x,b=z", "the data has no class(es) ['z']"),
    (["x", "y"], "a=x,b", "OLD=NEW"),
])
def test_class_plans_that_are_refused(target, class_map, says):
    with pytest.raises(ValueError) as err:                                      # ClassMismatch is one
        class_plan(["a", "b"], target, class_map)
    assert says in str(err.value)


@pytest.mark.parametrize("arch", ["style", "dcgan"])
def test_remapped_generator_draws_each_class_as_the_one_it_continues(arch):
    G = tiny_generator(classes=3, arch=arch)
    new = remap_generator(G, (2, 0))                                             # its class 0 is G's class 2
    z = torch.randn(4, G.cfg.z_dim, generator=torch.Generator().manual_seed(1))
    for k, src in enumerate((2, 0)):
        c = torch.full((4,), k, dtype=torch.long)
        assert torch.allclose(new(z, c), G(z, torch.full((4,), src, dtype=torch.long)), atol=1e-6)


@pytest.mark.parametrize("name,sn", [("balanced", True), ("classic-dcgan", False), ("classic-dcgan", True)])
def test_remapped_discriminator_scores_each_class_as_the_one_it_continues(name, sn):
    cfg = dataclasses.replace(preset(name, 32, 1, 3).discriminator, num_classes=3, spectral_norm=sn)
    torch.manual_seed(0)
    D = build_discriminator(cfg).eval()
    new = remap_discriminator(D, (1, 2, 0)).eval()
    x = torch.randn(4, 1, 32, 32, generator=torch.Generator().manual_seed(2))
    for k, src in enumerate((1, 2, 0)):
        got = new(x, torch.full((4,), k, dtype=torch.long))
        assert torch.allclose(got, D(x, torch.full((4,), src, dtype=torch.long)), atol=1e-5)


def test_finetuning_onto_other_classes_needs_a_map(tmp_path):
    base = tmp_path / "base"
    train_loop(tiny_config(classes=2, steps=2), _named(["a", "b"]), run_dir=base)
    cfg = tiny_config(classes=2, steps=2)
    with pytest.raises(ClassMismatch, match=r"\[a, b\] but the data has \[b, c\]"):
        prepare_init(base, cfg, tmp_path / "ft0", ["b", "c"])
    with pytest.raises(ClassMismatch, match="adapt it first"):                   # the loop itself refuses too
        train_loop(cfg, _named(["b", "c"]), run_dir=tmp_path / "ft1", init_from=base)
    init = prepare_init(base, cfg, tmp_path / "ft2", ["b", "c"], "a=c,b=b")
    tensors, meta = ckpt.load_training(init)
    assert meta["class_names"] == ["b", "c"]
    src, _ = ckpt.load_training(base)
    assert torch.equal(tensors["G.embed.weight"], src["G_ema.embed.weight"][torch.tensor([1, 0])])
    r = train_loop(cfg, _named(["b", "c"]), run_dir=tmp_path / "ft2", init_from=init)
    assert r.step == 2
    fresh = prepare_init(base, cfg, tmp_path / "ft3", ["b", "c"], "new")
    assert ckpt.load_training(fresh)[1]["class_names"] == ["b", "c"]


def test_same_classes_in_another_order_continue_by_name(tmp_path):
    base = tmp_path / "base"
    train_loop(tiny_config(classes=2, steps=2), _named(["a", "b"]), run_dir=base)
    init = prepare_init(base, tiny_config(classes=2, steps=2), tmp_path / "ft", ["b", "a"])
    tensors, _ = ckpt.load_training(init)
    src, _ = ckpt.load_training(base)
    assert torch.equal(tensors["D.embed.parametrizations.weight.original"],
                       src["D.embed.parametrizations.weight.original"][torch.tensor([1, 0])])
    unchanged = dataclasses.replace(tiny_config(classes=2, steps=2))
    assert prepare_init(base, unchanged, tmp_path / "same", ["a", "b"]) == str(base)     # as is: nothing to adapt
