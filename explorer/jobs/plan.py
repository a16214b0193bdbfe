"""The Train page's recipes: a named starting point -> a full ModelConfig, with small-set defaults.

From scratch a recipe is a preset and a step budget; when fine-tuning, the source model's own
architecture and losses are kept (`finetune.finetune_config`) and the recipe only sets the
budget. Small sets (fewer than `SMALL_SET` images) get DiffAugment at full strength with the
adaptive probability on, and, when a discriminator is fine-tuned too, FreezeD on its lower half.
`ADVANCED` lists the TrainConfig fields the page's advanced panel may override.

    cfg = plan("balanced", resolution=64, channels=3, num_classes=0, n_images=200)
    cfg = plan("quick", 64, 3, 0, 200, source=fits[0])          # fine-tuning (finetune.Source)
    cfg = with_overrides(cfg, lr_g=1e-4, steps=800)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from explorer.config import AUGMENTS, ModelConfig
from explorer.config import preset as build_preset
from explorer.gan.finetune import Source, finetune_config

SMALL_SET = 1000
# page name -> (label, preset from scratch, steps from scratch, steps when fine-tuning or 0 = scratch only)
RECIPES: dict[str, tuple[str, str, int, int]] = {
    "quick": ("quick look", "quick", 500, 300),
    "balanced": ("balanced", "balanced", 5000, 1500),
    "best": ("best quality", "best", 20000, 5000),
    "film": ("fast on a CPU (FiLM generator)", "film", 3000, 0),
    "classic-dcgan": ("textbook DCGAN baseline", "classic-dcgan", 3000, 0),
}
ADVANCED = ("loss", "augment", "ada_target", "freeze_d", "lr_g", "lr_d", "batch_size", "steps",
            "ema_half_life_k", "max_minutes", "checkpoint_every", "sample_every")


def recipes(finetuning: bool) -> list[str]:
    return [k for k, v in RECIPES.items() if v[3] or not finetuning]


def intervals(steps: int) -> dict[str, int]:
    """Checkpoint (and quality point) about 10 times a run, sample grids about 25 times, log often."""
    return {"checkpoint_every": max(steps // 10, 10), "sample_every": max(steps // 25, 5),
            "log_every": max(min(steps // 200, 20), 1)}


def plan(recipe: str, resolution: int, channels: int, num_classes: int, n_images: int,
         source: Source | None = None) -> ModelConfig:
    """The default config of a recipe for an upload (and a fine-tuning source)."""
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; choose from {sorted(RECIPES)}")
    _, preset, steps, ft_steps = RECIPES[recipe]
    small = n_images < SMALL_SET
    if source is not None:
        if not ft_steps:
            raise ValueError(f"the {recipe!r} recipe trains from scratch only")
        cfg = finetune_config(source.info.meta, num_classes, source.d_config, steps=ft_steps)
        freeze = cfg.discriminator.num_blocks // 2 if (small and source.has_d) else 0
        cfg = with_overrides(cfg, freeze_d=freeze)
    else:
        cfg = build_preset(preset, resolution, channels, num_classes)
        cfg = with_overrides(cfg, steps=steps, seed=0, max_minutes=0.0)
    if small:
        cfg = with_overrides(cfg, augment=",".join(AUGMENTS), augment_p=1.0, ada_target=0.6)
    return with_overrides(cfg, **intervals(cfg.train.steps))


def with_overrides(cfg: ModelConfig, **train: Any) -> ModelConfig:
    """The config with TrainConfig fields replaced (validated by TrainConfig itself)."""
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, **train))
