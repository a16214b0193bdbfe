"""Which class is which when a conditional model meets data: resuming, fine-tuning, mapping classes.

A conditional model knows its classes by index; the names it was trained with are saved beside it
(`class_names`). Data whose class list differs would silently rename them (class 0 learned as "a"
becomes "b") or index past the class embedding. So:

* resuming needs the same class list (`check_resume_classes`, else ClassMismatch);
* fine-tuning maps classes by name when both lists hold the same names (in any order), and
  otherwise only through an explicit `class_map` (`class_plan`): "new" (every class starts afresh:
  the model's class inputs are folded away and new ones start with zero weight), or
  "old=new,old2=new2" naming, for every class of the data, the model's class it continues;
* `remap_generator` / `remap_discriminator` re-index a model's class weights to such a plan.

    plan = class_plan(["a", "b"], ["b", "a"], None)       # ClassPlan(order=(1, 0))
    plan = class_plan(["a", "b"], ["x", "y"], "a=y,b=x")  # ClassPlan(order=(1, 0))
    plan = class_plan(["a", "b"], ["x"], "new")           # ClassPlan(order=None)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from explorer.gan.discriminators import Discriminator, build_discriminator
from explorer.gan.generators import build_generator
from explorer.gan.protocol import Generator

NEW_CLASSES = "new"                    # class_map value: every class starts afresh
SHOWN = 12                             # class names quoted in a message


class ClassMismatch(ValueError):
    """The model's classes and the data's differ in a way nothing said how to bridge."""


@dataclass(frozen=True)
class ClassPlan:
    """order[k]: the model's class that the data's class k continues; None: every class starts afresh."""

    order: tuple[int, ...] | None

    def identity(self, n_source: int) -> bool:
        return self.order is not None and self.order == tuple(range(n_source))


def show(names: Sequence[str]) -> str:
    """A class list as a message quotes it: [a, b, c], shortened past SHOWN names."""
    more = f", ... ({len(names)} in all)" if len(names) > SHOWN else ""
    return "[" + ", ".join(names[:SHOWN]) + more + "]"


def check_resume_classes(saved: Sequence[str] | None, data: Sequence[str], conditional: bool) -> None:
    """A conditional run resumes only on data with its class list. Raises ClassMismatch naming both."""
    if conditional and saved is not None and list(saved) != list(data):
        raise ClassMismatch(f"cannot resume: the run was trained on classes {show(list(saved))} but the data has "
                            f"{show(list(data))}; resume it on its own data, or fine-tune a new run from it "
                            f"(--init) with --class-map or --new-classes")


def parse_class_map(text: str) -> dict[str, str]:
    """"old=new,old2=new2" -> {"old": "new", ...}. Raises ValueError on a malformed entry."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        old, eq, new = part.partition("=")
        if not part or not eq or not old.strip() or not new.strip():
            raise ValueError(f"--class-map entries are OLD=NEW separated by commas, not {part!r}")
        if new.strip() in out.values():
            raise ValueError(f"--class-map names the data's class {new.strip()!r} twice")
        out[old.strip()] = new.strip()
    return out


def class_plan(source: Sequence[str] | None, target: Sequence[str], class_map: str | None,
               source_classes: int | None = None, target_classes: int | None = None) -> ClassPlan | None:
    """How a fine-tuned model's classes (names `source`, or None when unknown) continue as the data's
    (`target`). None when there is no class identity to keep (either side unconditional, or the
    source's names are unknown and the counts agree). `source_classes` / `target_classes`: the
    models' class counts, when they differ from the name lists' lengths (0 = unconditional).
    Raises ClassMismatch naming both lists when they differ and `class_map` does not say how."""
    ns = len(source) if source_classes is None and source is not None else (source_classes or 0)
    nt = len(target) if target_classes is None else target_classes
    if class_map == NEW_CLASSES:
        return ClassPlan(None) if ns and nt else None
    if not ns or not nt:
        if class_map:
            raise ClassMismatch("--class-map maps the classes of a conditional model onto labelled data; "
                                f"here the model has {ns or 'no'} classes and the data {nt or 'no labels'}")
        return None
    if not source or len(source) != ns:                       # old exports without names
        if nt == ns and not class_map:
            return None
        raise ClassMismatch(f"the model's {ns} classes have no recorded names, so they cannot be mapped onto "
                            f"the data's {show(list(target))}; use --new-classes to start the classes afresh")
    src, tgt = list(source), list(target)
    if class_map:
        mapping = parse_class_map(class_map)
        unknown = sorted(set(mapping) - set(src))
        stray = sorted(set(mapping.values()) - set(tgt))
        missing = [c for c in tgt if c not in mapping.values()]
        if unknown or stray or missing:
            what = (f"the model has no class(es) {unknown}" if unknown else f"the data has no class(es) {stray}"
                    if stray else f"it does not say which of the model's classes {missing} continue")
            raise ClassMismatch(f"--class-map does not fit: {what}; the model's classes are {show(src)}, "
                                f"the data's {show(tgt)}")
        back = {new: old for old, new in mapping.items()}
        return ClassPlan(tuple(src.index(back[c]) for c in tgt))
    if sorted(src) == sorted(tgt) and len(set(src)) == len(src):
        return ClassPlan(tuple(src.index(c) for c in tgt))        # the same classes, maybe in another order
    raise ClassMismatch(f"the model was trained on classes {show(src)} but the data has {show(tgt)}: say how "
                        f"they map with --class-map OLD=NEW,... (each of the data's classes from one of the "
                        f"model's), or start every class afresh with --new-classes")


@torch.no_grad()
def remap_generator(G: Generator, order: Sequence[int]) -> Generator:
    """G with its classes re-indexed: class k of the result is class order[k] of G (in eval mode)."""
    cfg = dataclasses.replace(G.cfg, num_classes=len(order))
    new = build_generator(cfg)
    state = {k: v.clone() for k, v in G.state_dict().items()}
    idx = torch.tensor(list(order), dtype=torch.long)
    if cfg.arch == "dcgan":                                     # one-hot classes: input channels of the first conv
        z = cfg.z_dim
        state["net.0.weight"] = torch.cat([state["net.0.weight"][:z], state["net.0.weight"][z:][idx]])
        state["embed.weight"] = new.state_dict()["embed.weight"].clone()    # the identity
    else:                                                       # an embedding joins z in the mapping network
        state["embed.weight"] = state["embed.weight"][idx]
        state["w_avg"] = state["w_avg"][idx]
    new.load_state_dict(state)
    return new.eval().requires_grad_(False)


@torch.no_grad()
def remap_discriminator(D: Discriminator, order: Sequence[int]) -> Discriminator:
    """D with its classes re-indexed as `remap_generator` does: the projection embedding's rows (resnet) or
    the one-hot input channels of the first conv (dcgan), spectral-norm vectors alike."""
    cfg = dataclasses.replace(D.cfg, num_classes=len(order))
    new = build_discriminator(cfg)
    state = {k: v.clone() for k, v in D.state_dict().items()}
    idx = torch.tensor(list(order), dtype=torch.long)
    c = cfg.channels
    for k, v in state.items():
        if cfg.arch == "resnet" and k.startswith("embed.") and not k.endswith("._v"):
            state[k] = v[idx]                                   # (K, C) weight, or the (K,) power-iteration u
        elif cfg.arch == "dcgan" and k.startswith("blocks.0.0.") and not k.endswith(("._u", ".bias")):
            cols = torch.cat([torch.arange(c), c + idx])
            if k.endswith("._v"):                               # (in * kh * kw,): rows of the reshaped weight
                state[k] = v.view(D.cfg.channels + D.cfg.num_classes, -1)[cols].flatten()
            else:                                               # (out, C + K, kh, kw)
                state[k] = v[:, cols]
    new.load_state_dict(state)
    return new
