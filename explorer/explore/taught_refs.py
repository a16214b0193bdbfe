"""Taught directions in recipes and links: which taught direction an edit means, by its name.

An edit names its direction by index, and a taught direction's index is its place in one server's taught
list (explorer/explore/taught.py), after the model's measured attribute directions. A recipe or a link
opened on another server, or after the list changed, would then move another direction, or none. So:

* a recipe carries every taught direction its edits use (as the direction or as one a conditional edit
  holds), whole: index, name, unit vector (float16, URL-safe base64, as projected latents are kept),
  sigma and held-out accuracy (`recipe_field`). Opening it where that name is missing teaches it there
  (`install`), so the recipe shows the same image anywhere;
* a link carries the names only (query parameter `tn`, `link_param`): a vector is too long for a URL.
  Opening it where a name is missing drops that edit with a warning, never applying it to whatever
  direction sits at its index.

`resolve` maps each referenced index to the index its name has here (or drops the edit).

    refs = refs_of(state, A)                                   # A: the model's "attr" directions
    d = to_recipe(state, taught=recipe_field(refs))            # ... then, on another server:
    refs, warns = from_recipe_field(d.get("taught"), width)
    refs, added, more = install(meta, G, refs, A)              # then get the directions again
    state, more = resolve(state, refs, A2.names, n_measured(A2))
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, unquote

import numpy as np

from explorer.explore.latents import Edit, LatentState

LINK_KEY = "tn"             # the link's parameter: "index:name,..." (names percent-encoded)
MAX_REFS = 32               # taught directions one recipe or link may name (a model keeps at most 12)


@dataclasses.dataclass(frozen=True)
class TaughtRef:
    direction: int              # the index the recipe's (or link's) edits use for it
    name: str
    vector: str = ""            # (w width,) float16, URL-safe base64 without padding; "" in a link
    sigma: float = 0.0          # within-class std of w along it
    accuracy: float = 0.0       # held-out accuracy when it was taught


def n_measured(A: Any) -> int:
    """The number of measured attribute directions in `A` (the "attr" Directions): taught ones follow them."""
    return int(A.k) - int(A.settings.get("taught", 0))


def _used(state: LatentState) -> set[int]:
    """Attribute-direction indices a state's edits use: the edited direction (method "attr") and the
    directions conditional edits hold (any method)."""
    out = {e.direction for e in state.edits} if state.method == "attr" else set()
    return out | {j for e in state.edits for j in e.ortho}


def refs_of(state: LatentState, A: Any) -> list[TaughtRef]:
    """The taught directions of `A` (the model's "attr" Directions) that `state` uses, with their vectors."""
    first = n_measured(A)
    out = []
    for i in sorted(j for j in _used(state) if first <= j < A.k):
        v = A.vectors[i].detach().float().cpu().numpy().astype("<f2").tobytes()
        out.append(TaughtRef(i, str(A.names[i]), base64.urlsafe_b64encode(v).decode("ascii").rstrip("="),
                             round(float(A.sigma[i]), 6), round(float(A.explained[i]), 4)))
    return out


def recipe_field(refs: Sequence[TaughtRef]) -> list[dict]:
    """refs as the recipe's "taught" list."""
    return [dataclasses.asdict(r) for r in refs]


def link_param(refs: Sequence[TaughtRef]) -> dict[str, str]:
    """{LINK_KEY: "index:name,..."} for a link, or {} when no taught direction is used."""
    if not refs:
        return {}
    return {LINK_KEY: ",".join(f"{r.direction}:{quote(r.name, safe='')}" for r in refs)}


def _vector(code: Any, width: int) -> np.ndarray:
    if not isinstance(code, str) or len(code) > 4 * width:
        raise ValueError("its vector is not text of a sane length")
    try:
        raw = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("its vector is not base64") from None
    if len(raw) != 2 * width:
        raise ValueError(f"its vector has {len(raw) // 2} values; this model's w has {width}")
    v = np.frombuffer(raw, dtype="<f2").astype(np.float64)
    if not np.isfinite(v).all() or float(np.linalg.norm(v)) < 1e-3:
        raise ValueError("its vector is not finite or is zero")
    return v / np.linalg.norm(v)


def from_recipe_field(raw: Any, width: int) -> tuple[list[TaughtRef], list[str]]:
    """A recipe's "taught" list -> (refs, warnings). A ref whose vector does not suit a w of `width` (or whose
    sigma is not a number) is kept without its vector, so it is matched by name only; one without an index
    or a name is left out. A warning each. Never raises: a recipe is untrusted input."""
    from explorer.explore.taught import clean_name
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], ["'taught' is not a list; ignored"]
    refs, warns = [], []
    for k, item in enumerate(raw[:MAX_REFS]):
        try:
            if not isinstance(item, Mapping):
                raise ValueError("it is not an object")
            i = item.get("direction")
            if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < 1000:
                raise ValueError("its direction is not an index")
            name = clean_name(str(item.get("name", "")))
        except (ValueError, TypeError, OverflowError) as e:
            warns.append(f"taught direction {k + 1} of the recipe ignored: {e}")
            continue
        try:                    # without a usable vector it still names its direction (matched by name only)
            vec = _vector(item.get("vector"), width)
            sigma, acc = float(item.get("sigma", 0.0)), float(item.get("accuracy", 0.0))
            if not (math.isfinite(sigma) and sigma > 0 and math.isfinite(acc)):
                raise ValueError("its sigma or accuracy is not a number")
        except (ValueError, TypeError, OverflowError) as e:
            warns.append(f"taught direction {name!r} of the recipe is matched by name only: {e}")
            refs.append(TaughtRef(i, name))
            continue
        code = base64.urlsafe_b64encode(vec.astype("<f2").tobytes()).decode("ascii").rstrip("=")
        refs.append(TaughtRef(i, name, code, sigma, min(max(acc, 0.0), 1.0)))
    if len(raw) > MAX_REFS:
        warns.append(f"the recipe names {len(raw)} taught directions; read the first {MAX_REFS}")
    return refs, warns


def from_link_param(value: str | None) -> tuple[list[TaughtRef], list[str]]:
    """A link's `tn` -> (refs without vectors, warnings). Never raises."""
    if not value:
        return [], []
    refs, warns = [], []
    for part in str(value).split(",")[:MAX_REFS]:
        i, sep, name = part.partition(":")
        name = " ".join(unquote(name).split())
        if not sep or not i.isdigit() or not name:
            warns.append(f"taught direction {part[:40]!r} in the link is not index:name; ignored")
            continue
        refs.append(TaughtRef(int(i), name[:60]))
    return refs, warns


SAME = 0.999               # cosine above which a recipe's taught direction is the one of its name here


def install(meta: Mapping[str, Any] | None, G: Any, refs: Sequence[TaughtRef], A: Any,
            folder: Any = None, dry: bool = False) -> tuple[list[TaughtRef], list[str], list[str]]:
    """Teach this model the directions of `refs` (a recipe's, with vectors) it does not have: returns (the
    refs with the names they have here, the names taught, warnings). A name this model's taught list already
    holds with the same vector (cosine >= SAME) is used as it is; with another vector, the recipe's is taught
    as "name (2)" (or 3, ...) and its edits use that, so the recipe shows its own image, and a warning says
    so. Directions that cannot be taught (a measured direction's name, MAX_TAUGHT reached) are warned of.
    `dry`: only say what would be taught (the names, the same warnings), saving nothing: a recipe looked at,
    not yet opened, changes nothing on the server. Re-read the directions afterwards
    (`Engine.refresh_directions("attr")`)."""
    from explorer.explore.taught import MAX_TAUGHT, NAME_MAX, Taught, check_name, save_taught
    first, width = n_measured(A), int(A.vectors.shape[1])
    here = {str(A.names[j]).casefold(): A.vectors[j].double().cpu().numpy() for j in range(first, A.k)}
    out, taught, warns = [], [], []
    for r in refs:
        if not r.vector:
            out.append(r)
            continue
        try:
            v = _vector(r.vector, width)
            name = r.name
            for n in range(2, MAX_TAUGHT + 3):                 # a free name, or the one with this vector
                other = here.get(name.casefold())
                if other is None or float(other @ v) / max(float(np.linalg.norm(other)), 1e-12) >= SAME:
                    break
                name = f"{r.name[:NAME_MAX - 5]} ({n})"
            if name.casefold() not in here:
                check_name(name, A.names[:first])
                if dry and len(here) >= MAX_TAUGHT:          # what save_taught would refuse
                    raise ValueError(f"this model has {MAX_TAUGHT} taught directions already; re-teach one by "
                                     "its name")
                if not dry:
                    save_taught(meta, Taught(name, [float(x) for x in v], r.sigma, r.accuracy, 0, 0,
                                             {"from": ["a recipe"]}), folder, G)
                here[name.casefold()] = v
                taught.append(name)
                if name != r.name:
                    warns.append(f"this model's taught direction {r.name!r} is not the recipe's; the recipe's "
                                 f"was added as {name!r}")
        except (ValueError, OSError) as e:
            warns.append(f"the recipe's taught direction {r.name!r} could not be added here: {e}")
            out.append(r)
            continue
        out.append(dataclasses.replace(r, name=name))
    return out, taught, warns


def resolve(state: LatentState, refs: Sequence[TaughtRef], names: Sequence[str], measured: int
            ) -> tuple[LatentState, list[str]]:
    """`state` with each taught direction a ref names moved to the index that name has here (among the
    taught ones, from `measured` on); edits of a taught direction missing here are dropped, and so are
    the held directions it names, with a warning each. Indices no ref names are left as they are (links
    and recipes made before names travelled)."""
    here = {str(n).casefold(): j for j, n in enumerate(names) if j >= measured}
    move = {r.direction: here[r.name.casefold()] for r in refs if r.name.casefold() in here}
    dropped = {r.direction for r in refs if r.name.casefold() not in here}
    warns = [f"the taught direction {r.name!r} is not on this server; its edit was left out"
             for r in refs if r.direction in dropped]
    edits: list[Edit] = []
    for e in state.edits:
        if state.method == "attr" and e.direction in dropped:
            continue
        d = move.get(e.direction, e.direction) if state.method == "attr" else e.direction
        ortho = tuple(move.get(j, j) for j in e.ortho if j not in dropped)
        edits.append(dataclasses.replace(e, direction=d, ortho=ortho))
    return dataclasses.replace(state, edits=tuple(edits)), warns
