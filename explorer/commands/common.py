"""What several commands share: the --device help, the --seed bounds, a class given by name or index.

    check_seed(a.seed); c = class_index(meta, G.cfg.num_classes, a.cls)    # ValueError: one line for the user
"""

from __future__ import annotations

from typing import Any

from explorer.config import DEVICES

DEVICE_HELP = f"{' | '.join(DEVICES)} | cuda:N (default: auto = CUDA, then MPS, then CPU)"


def check_seed(seed: int) -> None:
    """Raise ValueError unless `seed` is in 0..SEED_MAX (the app's bounds)."""
    from explorer.explore.latents import SEED_MAX
    if not 0 <= seed <= SEED_MAX:
        raise ValueError(f"--seed must be between 0 and {SEED_MAX}, not {seed}")


def class_index(meta: dict[str, Any], num_classes: int, text: str) -> int:
    """A class given by name or index -> its index. Raises ValueError listing the model's classes."""
    from explorer.gan.classes import show

    names = list(meta.get("class_names") or [])
    if text in names:
        return names.index(text)
    if text.strip().lstrip("-").isdigit() and 0 <= int(text) < num_classes:
        return int(text)
    listed = show(names) if len(names) == num_classes else f"indices 0..{num_classes - 1}"
    raise ValueError(f"{meta.get('name', 'the model')} has no class {text!r}; its classes: {listed} "
                     f"(give a name or an index 0..{num_classes - 1})")
