"""Directions taught from a dozen examples marked "more" and "less"."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from explorer.explore import taught as T
from explorer.explore.direction_cache import get_directions
from tests.explore.planted import PlantedGenerator, units


def labelled(u: torch.Tensor, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n latents clearly "more" (w . u > 0.5) and n clearly "less" (w . u < -0.5)."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(40 * n, u.shape[0], generator=g)
    s = w @ u
    return w[s > 0.5][:n], w[s < -0.5][:n]


def test_a_dozen_examples_separate_held_out_ones():
    u = units(16, 0.0)[0]
    G = PlantedGenerator(units(16, 0.0))
    more, less = labelled(u, 12, seed=0)
    t = T.teach(G, "  rounder   corners ", more, less, examples={"more": [1, 2], "less": [3]})
    v = torch.tensor(t.vector)
    assert t.name == "rounder corners" and t.n_more == t.n_less == 12 and t.accuracy >= 0.75
    assert abs(float(v.norm()) - 1) < 1e-6 and float(v @ u) > 0.7
    held_more, held_less = labelled(u, 200, seed=1)
    right = float(((held_more @ v) > 0).float().mean() + ((held_less @ v) < 0).float().mean()) / 2
    assert right >= 0.9, right
    assert 0.8 < t.sigma < 1.2                                     # w = z: unit std along any direction


def test_teaching_refuses_too_few_examples_or_no_name():
    G = PlantedGenerator(units(8, 0.0))
    more, less = labelled(units(8, 0.0)[0], 12, seed=0)
    with pytest.raises(ValueError, match="at least 6"):
        T.teach(G, "x", more[:5], less)
    assert T.is_weak(0.25) and T.is_weak(0.55) and T.is_weak(float("nan")) and not T.is_weak(0.8)
    with pytest.raises(ValueError, match="name"):
        T.teach(G, "   ", more, less)


def test_a_taught_name_may_not_repeat_a_measured_one():
    measured = ["brightness", "object size"]
    with pytest.raises(ValueError, match="measured attribute direction"):
        T.check_name("  Brightness ", measured)
    assert T.check_name(" rounder  edges ", measured) == "rounder edges"
    with pytest.raises(ValueError, match="name"):
        T.check_name("", measured)


def test_random_labels_give_chance_accuracy():
    rng = np.random.default_rng(0)
    accs = [T.fit_boundary(rng.normal(size=(12, 16)), rng.normal(size=(12, 16)), seed=s)[1] for s in range(5)]
    assert np.mean(accs) < 0.75                                    # no signal: the number says so


def test_taught_directions_follow_the_attribute_ones(tmp_path):
    u = units(8, 0.0)
    G = PlantedGenerator(u)
    meta = {"sha256": "cd" * 32}
    s = {"n_samples": 300}
    base = get_directions(G, meta, "attr", settings=s, cache_dir=tmp_path)
    more, less = labelled(u[0], 12, seed=0)
    assert T.save_taught(meta, T.teach(G, "left blob", more, less), tmp_path) == 0
    assert T.save_taught(meta, T.teach(G, "right blob", *labelled(u[1], 12, seed=2)), tmp_path) == 1
    d = get_directions(G, meta, "attr", settings=s, cache_dir=tmp_path)
    assert d.k == base.k + 2 and d.names[-2:] == ["left blob", "right blob"] and d.settings["taught"] == 2
    assert float(d.vectors[base.k] @ u[0]) > 0.7 and 0 < float(d.explained[base.k]) <= 1
    # re-teaching a name replaces it in place (indices in links stay valid)
    assert T.save_taught(meta, T.teach(G, "Left Blob", less, more), tmp_path) == 0
    d2 = get_directions(G, meta, "attr", settings=s, cache_dir=tmp_path)
    assert d2.k == d.k and d2.names[base.k] == "Left Blob" and float(d2.vectors[base.k] @ u[0]) < -0.7
    # another model version has none
    assert get_directions(G, {"sha256": "ef" * 32}, "attr", settings=s, cache_dir=tmp_path).k == base.k


def test_concurrent_teaching_keeps_every_direction(tmp_path):
    G = PlantedGenerator(units(8, 0.0))
    meta = {"sha256": "aa" * 32}
    more, less = labelled(units(8, 0.0)[0], 6, seed=0)
    ts = [T.teach(G, f"d{i}", more, less) for i in range(8)]
    threads = [threading.Thread(target=T.save_taught, args=(meta, t, tmp_path)) for t in ts]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(t.name for t in T.load_taught(meta, tmp_path)) == [f"d{i}" for i in range(8)]
    with pytest.raises(ValueError, match="taught directions already"):
        for i in range(T.MAX_TAUGHT):
            T.save_taught(meta, T.teach(G, f"more{i}", more, less), tmp_path)
