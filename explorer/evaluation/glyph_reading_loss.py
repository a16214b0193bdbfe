"""The reading loss of a glyph-stack generator: a frozen glyph classifier (the "reader") reads G's glyphs.

A generated face is a stack (B, G, H, W) in [-1, 1], channel i = glyph i (`GLYPHS[i]`). Each step the
reader reads `per_face` random glyphs of every face, and the loss is the cross-entropy of the glyph
each channel should be, counted at the level of the reader's merge groups (O/0 and I/l read as one, as
in the glyph accuracy). Its gradient pushes a face whose glyphs are blank or shattered towards
readable ones; the discriminator still decides what a real face looks like.

It follows the auxiliary content terms of the font-generation literature (AC-GAN's auxiliary
classifier, Odena et al. 2017; Attribute2Font's character recognition term, Wang et al. 2020), with
the classifier frozen, trained beforehand on train-split faces only. The reader must not be the
classifier behind `evaluate`'s glyph accuracy: train it with another seed and another validation
split (`ship_glyph_classifier(..., seed=1)`), so the figure is measured by a network G never saw.

    reader, groups, _ = load_glyph_classifier("data/readers/fonts-glyph-reader")
    extra = reading_loss(reader, groups, weight=1.0, per_face=16, seed=0)     # extra(fakes, step) -> loss
    train_loop(config, fonts, extra_loss=extra)
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from explorer.evaluation.classifier import FashionClassifier

STEP_STRIDE = 1_000_003        # a glyph draw is seeded by seed * STEP_STRIDE + step (prime: no collisions)


def group_mask(groups: list[list[int]], n: int) -> torch.Tensor:
    """(n, n) additive mask: 0 where glyph j is in glyph i's merge group, -inf elsewhere.
    Raises ValueError when the groups do not cover 0..n-1 exactly once."""
    flat = sorted(i for g in groups for i in g)
    if flat != list(range(n)):
        raise ValueError(f"merge groups must cover glyphs 0..{n - 1} exactly once")
    mask = torch.full((n, n), float("-inf"))
    for g in groups:
        idx = torch.tensor(g)
        mask[idx[:, None], idx[None, :]] = 0.0
    return mask


def reading_loss(reader: FashionClassifier, groups: list[list[int]], weight: float, per_face: int = 16,
                 seed: int = 0) -> Callable[[torch.Tensor, int], torch.Tensor]:
    """A loss for `train_loop(extra_loss=...)`: (fakes (B, G, H, W) in [-1, 1], step) -> weight x the mean
    cross-entropy -log p(group of the true glyph) of `per_face` random glyphs per face (distinct within a
    face, drawn from a stream of their own seeded by `seed` and the step: the run's other randomness is
    unchanged, and a resumed run reads the same glyphs as one that never stopped).
    The reader is frozen (eval mode, no gradients for its weights) and moved to the fakes' device on the
    first call. Raises ValueError when the stack's depth is not the reader's class count."""
    reader.eval()
    for p in reader.parameters():
        p.requires_grad_(False)
    n = reader.config.num_classes
    mask = group_mask(groups, n)

    def loss(fake: torch.Tensor, step: int) -> torch.Tensor:
        b, g, h, w = fake.shape
        if g != n:
            raise ValueError(f"the reader reads {n} glyphs but the stack has {g} channels")
        k = min(per_face, g)
        gen = torch.Generator().manual_seed(seed * STEP_STRIDE + step)
        idx = torch.rand(b, g, generator=gen).argsort(dim=1)[:, :k].to(fake.device)          # (B, k)
        cells = fake.gather(1, idx[:, :, None, None].expand(b, k, h, w))                     # (B, k, H, W)
        if reader.embed.weight.device != fake.device:
            reader.to(fake.device)
        logits = reader(cells.reshape(b * k, 1, h, w)).float()                               # (B*k, n)
        target = idx.reshape(-1)
        in_group = torch.logsumexp(logits + mask.to(fake.device)[target], dim=1)
        return weight * (torch.logsumexp(logits, dim=1) - in_group).mean()

    return loss
