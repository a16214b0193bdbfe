"""Recipes: a `LatentState` as a JSON document or as URL query parameters, and back.

`to_recipe` / `from_recipe` (a JSON document, "format": "latent-explorer-recipe") and
`to_query_params` / `from_query_params` (compact strings for st.query_params). Decoding never
trusts its input: bad values become defaults plus one human-readable warning each; only input
that is not a recipe at all raises ValueError.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from explorer import fileio
from explorer.explore.latents import (
    AMOUNT_LIMIT,
    HEX12,
    MAX_ITEMS,
    MAX_PROJECTED_CHARS,
    METHODS,
    PSI_MAX,
    PSI_MIN,
    RECIPE_FORMAT,
    RECIPE_VERSION,
    SEED_MAX,
    Edit,
    LatentState,
    Limits,
    decode_ws,
)
from explorer.explore.taught_refs import LINK_KEY

# ---------------------------------------------------------------- validation (never raises)


class _Parser:
    """Collects warnings while coercing untrusted values; a default of None means "drop it"."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)

    def _fallback(self, default: Any) -> str:
        return "ignored" if default is None else f"using {default}"

    def int_(self, v: Any, what: str, default: Any, lo: int | None = None, hi: int | None = None) -> Any:
        try:
            if isinstance(v, bool) or (isinstance(v, float) and not v.is_integer()):
                raise ValueError
            x = int(v.strip()) if isinstance(v, str) else int(v)
        except (TypeError, ValueError, OverflowError):
            self.warn(f"{what} {short_repr(v)} is not a whole number; {self._fallback(default)}")
            return default
        y = max(x, lo) if lo is not None else x
        y = min(y, hi) if hi is not None else y
        if y != x:
            where = f"below {lo}" if hi is None else f"outside {lo}..{hi}"
            self.warn(f"{what} {short_repr(x)} is {where}; using {y}")
        return y

    def float_(self, v: Any, what: str, default: Any, lo: float, hi: float) -> Any:
        try:
            if isinstance(v, bool):
                raise ValueError
            x = float(v.strip()) if isinstance(v, str) else float(v)
        except (TypeError, ValueError, OverflowError):
            self.warn(f"{what} {short_repr(v)} is not a number; {self._fallback(default)}")
            return default
        if not math.isfinite(x):
            self.warn(f"{what} {short_repr(v)} is not finite; {self._fallback(default)}")
            return default
        y = min(max(x, lo), hi)
        if y != x:
            self.warn(f"{what} {short_repr(x)} is outside [{lo}, {hi}]; using {y}")
        return y


def short_repr(v: Any) -> str:
    """repr(v) cut to 40 characters (a huge integer shown by its first digits and its length)."""
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10 ** 36:
        digits = str(abs(v))[:12]
        return f"{'-' if v < 0 else ''}{digits}... ({len(str(abs(v)))} digits)"
    s = repr(v)
    if len(s) <= 40:
        return s
    return s[:36] + "..." + s[-1] if s[-1] in "'\"])}" else s[:37] + "..."   # a cut quote keeps its closing mark


def _rng(start: int, end: int | None) -> str:
    return f"{start}..{'end' if end is None else end}"


def sanitize(state: LatentState, limits: Limits = Limits()) -> tuple[LatentState, list[str]]:
    """Clamp or drop whatever in `state` a model with these limits cannot use, with a warning each."""
    warnings: list[str] = []
    nc, n = limits.num_classes, limits.num_ws
    cls = state.class_index
    if cls is not None and (cls < 0 or (nc is not None and cls >= nc)):
        why = "it is unconditional" if nc == 0 else f"it has {nc} classes" if nc else "classes start at 0"
        warnings.append(f"class {cls} does not exist in this model ({why}); class ignored")
        cls = None
    edits = []
    for e in state.edits:
        if e.direction < 0 or (limits.num_directions is not None and e.direction >= limits.num_directions):
            warnings.append(f"edit of direction {e.direction} ignored: "
                            + (f"there are only {limits.num_directions} directions"
                               if e.direction >= 0 else "directions start at 0"))
            continue
        start, end = max(e.layer_start, 0), None if e.layer_end is None else max(e.layer_end, 0)
        if n is not None:
            start, end = min(start, n), None if end is None else min(end, n)
        if (end is not None and start >= end) or (n is not None and start >= n):
            warnings.append(f"edit of direction {e.direction} ignored: layers {_rng(e.layer_start, e.layer_end)} "
                            f"select no layer" + (f" (there are {n})" if n is not None else ""))
            continue
        if (start, end) != (e.layer_start, e.layer_end):
            warnings.append(f"layers {_rng(e.layer_start, e.layer_end)} of the direction {e.direction} edit "
                            f"clamped to {_rng(start, end)}")
        follow = e.follow
        if follow and state.method != "attr":
            warnings.append(f"edit of direction {e.direction}: only attribute directions can follow the image; "
                            f"it is applied as a plain edit")
            follow = False
        edits.append(Edit(e.direction, e.amount, start, end, _ortho(state.method, e, limits, warnings), follow))
    offs = []
    for d, v in state.z_offsets:
        if d < 0 or (limits.z_dim is not None and d >= limits.z_dim):
            top = limits.z_dim - 1 if limits.z_dim else ""
            warnings.append(f"z offset of dimension {d} ignored: z has dimensions 0..{top}")
            continue
        offs.append((d, v))
    projected = state.projected
    if projected and limits.num_ws is not None and limits.w_width is not None:
        try:
            decode_ws(projected, limits.num_ws, limits.w_width)
        except ValueError as e:
            warnings.append(f"{e}: the projected latent was ignored (showing the seed instead)")
            projected = ""
    return dataclasses.replace(state, class_index=cls, edits=tuple(edits), z_offsets=tuple(offs),
                               projected=projected), warnings


def _retarget(state: LatentState, warnings: list[str], expected_model: str | None,
              expected_checkpoint: str | None) -> LatentState:
    """Warn when a state was made for another model or checkpoint, and point it at the expected one."""
    if expected_model is not None and state.model and state.model != expected_model:
        warnings.append(f"this was made with model {state.model!r}; showing it with {expected_model!r}")
    if (expected_checkpoint is not None and state.checkpoint
            and state.checkpoint != expected_checkpoint[:12].lower()):
        warnings.append(f"this was made with checkpoint {state.checkpoint}, not the loaded "
                        f"{expected_checkpoint[:12].lower()}: the image will differ")
    return dataclasses.replace(
        state, model=state.model if expected_model is None else expected_model,
        checkpoint=state.checkpoint if expected_checkpoint is None else expected_checkpoint[:12].lower())


def _checkpoint(p: _Parser, v: Any) -> str:
    s = str(v).strip().lower()
    if not HEX12.match(s):
        p.warn(f"checkpoint id {short_repr(v)} is not 12 hex digits; ignored")
        return ""
    return s


def _method(p: _Parser, v: Any) -> str:
    if v in METHODS:
        return v
    p.warn(f"direction method {short_repr(v)} is unknown (use {' or '.join(METHODS)}); using pca")
    return "pca"


def _edit(p: _Parser, parts: list[Any], where: str) -> Edit | None:
    """[direction, amount, layer_start?, layer_end?, ortho?, follow?] -> Edit, or None (warned) if unusable."""
    if not 2 <= len(parts) <= 6:
        p.warn(f"{where} {short_repr(':'.join(map(str, parts)))} should be "
               f"direction:amount[:start:end[:orthogonal to[:f]]]; ignored")
        return None
    d = p.int_(parts[0], f"{where}: direction", None)
    a = p.float_(parts[1], f"{where}: amount", None, -AMOUNT_LIMIT, AMOUNT_LIMIT)
    s = p.int_(parts[2], f"{where}: layer start", 0, lo=0) if len(parts) > 2 and parts[2] not in ("", None) else 0
    e = p.int_(parts[3], f"{where}: layer end", None, lo=0) if len(parts) > 3 and parts[3] not in ("", None) else None
    o = _ortho_parse(p, parts[4], where) if len(parts) > 4 else ()
    f = False
    if len(parts) > 5 and parts[5] not in ("", None, False):
        f = parts[5] is True or parts[5] == "f"
        if not f:
            p.warn(f"{where}: {short_repr(parts[5])} should be 'f' (follow the image) or nothing; ignored")
    return None if d is None or a is None else Edit(d, a, s, e, o, f)


def _ortho(method: str, e: Edit, limits: Limits, warnings: list[str]) -> tuple[int, ...]:
    """The attribute directions a conditional edit may be orthogonal to: existing ones, not itself, sorted."""
    n = limits.num_attributes if limits.num_attributes is not None else (
        limits.num_directions if method == "attr" else None)
    known = limits.num_attributes is not None           # else n may be only an upper bound of the directions
    keep = []
    for i in dict.fromkeys(e.ortho):
        if i < 0 or (n is not None and i >= n):
            count = " (they start at 0)" if i < 0 else f" (there are {n})" if known else ""
            warnings.append(f"edit of direction {e.direction}: attribute direction {i} to stay orthogonal to "
                            f"does not exist{count}; ignored")
        elif method == "attr" and i == e.direction:
            warnings.append(f"edit of direction {e.direction}: it cannot stay orthogonal to itself; ignored that")
        else:
            keep.append(i)
    return tuple(sorted(keep))


def _ortho_parse(p: _Parser, v: Any, where: str) -> tuple[int, ...]:
    """A conditional edit's attribute indices: a list (JSON) or "3.5.7" (links) -> ints (bad ones warned)."""
    items = v if isinstance(v, list) else str(v).split(".") if v not in (None, "") else []
    if len(items) > MAX_ITEMS:
        p.warn(f"{where}: only the first {MAX_ITEMS} attribute directions to stay orthogonal to were read")
    got = [p.int_(x, f"{where}: attribute direction", None) for x in items[:MAX_ITEMS]]
    return tuple(x for x in got if x is not None)


def _offset(p: _Parser, parts: list[Any], where: str) -> tuple[int, float] | None:
    if len(parts) != 2:
        p.warn(f"{where} {short_repr(':'.join(map(str, parts)))} should be dimension:delta; ignored")
        return None
    d = p.int_(parts[0], f"{where}: dimension", None)
    v = p.float_(parts[1], f"{where}: delta", None, -AMOUNT_LIMIT, AMOUNT_LIMIT)
    return None if d is None or v is None else (d, v)


def _decode(p: _Parser, raw: Mapping[str, Any], edits: list[list], offsets: list[list],
            expected_model: str | None, expected_checkpoint: str | None,
            limits: Limits) -> tuple[LatentState, list[str]]:
    """Shared by both decoders: raw field values (None or missing = default) -> checked state."""
    model = raw.get("model") or ""
    if not isinstance(model, str):
        p.warn(f"model name {short_repr(model)} is not text; ignored")
        model = ""
    ck = _checkpoint(p, raw["checkpoint"]) if raw.get("checkpoint") else ""
    seed = p.int_(raw["seed"], "seed", 0, 0, SEED_MAX) if raw.get("seed") is not None else 0
    ci = p.int_(raw["class_index"], "class", None) if raw.get("class_index") not in (None, "") else None
    psi = p.float_(raw["psi"], "psi", 1.0, PSI_MIN, PSI_MAX) if raw.get("psi") is not None else 1.0
    method = _method(p, raw["method"]) if raw.get("method") is not None else "pca"
    if len(edits) > MAX_ITEMS or len(offsets) > MAX_ITEMS:
        p.warn(f"only the first {MAX_ITEMS} edits and z offsets were read")
    es = [_edit(p, parts, f"edit {i + 1}") for i, parts in enumerate(edits[:MAX_ITEMS])]
    zs = [_offset(p, parts, f"z offset {i + 1}") for i, parts in enumerate(offsets[:MAX_ITEMS])]
    projected = raw.get("projected") or ""
    if not isinstance(projected, str) or len(projected) > MAX_PROJECTED_CHARS:
        p.warn("the projected latent is not text of a sane length; ignored")
        projected = ""
    state = LatentState(model, ck, seed, ci, psi, method, tuple(e for e in es if e is not None),
                        tuple(z for z in zs if z is not None), projected=projected)
    state = _retarget(state, p.warnings, expected_model, expected_checkpoint)
    state, more = sanitize(state, limits)
    return state, p.warnings + more


# ---------------------------------------------------------------- JSON recipes


def to_recipe(state: LatentState, view: Mapping[str, str] | None = None,
              taught: Sequence[Mapping[str, Any]] | None = None) -> dict:
    """A JSON-able recipe that reproduces the image ("projected" only when the state holds a projected latent);
    `view` (VIEW_KEYS: a font model's specimen text and size, as the link carries them) goes in as "view",
    `taught` (taught_refs.recipe_field: the taught directions the edits use, whole) as "taught"."""
    out: dict[str, Any] = {"format": RECIPE_FORMAT, "version": RECIPE_VERSION, "model": state.model,
           "checkpoint": state.checkpoint, "seed": state.seed, "class_index": state.class_index,
           "psi": state.psi, "method": state.method,
           "edits": [_edit_dict(e) for e in state.edits],
           "z_offsets": [[d, v] for d, v in state.z_offsets]}
    if state.projected:
        out["projected"] = state.projected
    shown = {k: str(v) for k, v in (view or {}).items() if k in VIEW_KEYS}
    if shown:
        out["view"] = shown
    if taught:
        out["taught"] = [dict(t) for t in taught]
    return out


def recipe_view(d: Any) -> dict[str, str]:
    """The "view" of a recipe dict (`to_recipe`): {key: text} for the VIEW_KEYS it holds as strings; anything
    else, or no view, gives {} (the page checks the values themselves, as it does a link's; `view_problems`
    names what was not read)."""
    v = d.get("view") if isinstance(d, Mapping) else None
    return {k: v[k] for k in VIEW_KEYS if isinstance(v, Mapping) and isinstance(v.get(k), str)}


def view_problems(d: Any) -> list[str]:
    """What `recipe_view` could not read from a recipe dict's "view", as sentences: a view that is not an
    object, or a value of it that is not text ([] when there is no view)."""
    v = d.get("view") if isinstance(d, Mapping) else None
    if v is None:
        return []
    if not isinstance(v, Mapping):
        return [f"view should be an object like {{\"t\": \"text\", \"sz\": \"24\"}}, not {short_repr(v)}; ignored"]
    return [f"view {k} should be text, not {short_repr(v[k])}; ignored" for k in VIEW_KEYS
            if k in v and not isinstance(v[k], str)]


def _edit_dict(e: Edit) -> dict:
    """An edit as JSON; "ortho" (a conditional edit's attribute directions) only when it has some,
    "follow" only when it follows the image."""
    d = dataclasses.asdict(e)
    d["ortho"] = list(e.ortho)
    if not e.ortho:
        del d["ortho"]
    if not e.follow:
        del d["follow"]
    return d


def recipe_json(state: LatentState, view: Mapping[str, str] | None = None,
                taught: Sequence[Mapping[str, Any]] | None = None) -> str:
    return json.dumps(to_recipe(state, view, taught), indent=2, allow_nan=False) + "\n"


def from_recipe(d: Any, expected_model: str | None = None, expected_checkpoint: str | None = None,
                limits: Limits = Limits()) -> tuple[LatentState, list[str]]:
    """Recipe dict -> (state, warnings). Raises ValueError only if `d` is not a recipe at all.

    A recipe made for another model or checkpoint gives a warning and is re-targeted at the
    expected one; bad fields fall back to defaults with a warning each.
    """
    if not isinstance(d, Mapping):
        raise ValueError(f"a recipe must be a JSON object, not {type(d).__name__}")
    if d.get("format") != RECIPE_FORMAT:
        raise ValueError(f"not a Latent Explorer recipe: 'format' is {short_repr(d.get('format'))}, "
                         f"expected {RECIPE_FORMAT!r}")
    p = _Parser()
    version = p.int_(d.get("version", RECIPE_VERSION), "recipe version", RECIPE_VERSION)
    if version > RECIPE_VERSION:
        p.warn(f"recipe version {version} is newer than this program's {RECIPE_VERSION}; reading what it can")
    lists = {}
    for key in ("edits", "z_offsets"):
        lists[key] = d.get(key) or []
        if not isinstance(lists[key], list):
            p.warn(f"'{key}' is not a list; ignored")
            lists[key] = []
    edits = [[i.get("direction"), i.get("amount"), i.get("layer_start"), i.get("layer_end"), i.get("ortho") or "",
              i.get("follow") or ""]
             if isinstance(i, Mapping) else i if isinstance(i, list) else [i] for i in lists["edits"]]
    offsets = [i if isinstance(i, list) else [i] for i in lists["z_offsets"]]
    return _decode(p, d, edits, offsets, expected_model, expected_checkpoint, limits)


MAX_RECIPE_BYTES = 1024 ** 2      # an uploaded recipe; the largest real one (a w+ latent at MAX_PROJECTED_CHARS,
                                  # twelve taught directions) is under a quarter of it


def load_recipe(text: str | bytes) -> Any:
    """An uploaded recipe file's JSON (not yet checked as a recipe: `from_recipe` does that). Raises ValueError
    for a file over MAX_RECIPE_BYTES (before parsing) or text that is not JSON."""
    if len(text) > MAX_RECIPE_BYTES:
        raise ValueError(f"the file is too large for a recipe: {fileio.megabytes(len(text))} (the limit is "
                         f"{fileio.megabytes(MAX_RECIPE_BYTES)})")
    return fileio.loads_json(text, "the recipe")


def parse_recipe_json(text: str | bytes, expected_model: str | None = None, expected_checkpoint: str | None = None,
                      limits: Limits = Limits()) -> tuple[LatentState, list[str]]:
    """Recipe file contents -> (state, warnings); ValueError with a clear message if it is not one."""
    d = load_recipe(text)
    return from_recipe(d, expected_model, expected_checkpoint, limits)


# ---------------------------------------------------------------- query parameters

# m=model ck=checkpoint s=seed c=class p=psi d=method w=projected latent
# e=dir:amount:start:end[:a.b.c[:f]],... (a.b.c: attribute directions a conditional edit is orthogonal to, or
#   a followed edit holds; f: the edit follows the image) z=dim:delta,...
# beside the state: t=specimen text sz=specimen size tr=traced specimen (VIEW_KEYS), tn=index:name,... of the
#   taught directions the edits use (taught_refs.LINK_KEY, matched by name where the link is opened)
_KEYS = {"m": "model", "ck": "checkpoint", "s": "seed", "c": "class_index", "p": "psi", "d": "method",
         "w": "projected"}
_STREAMLIT_KEYS = ("embed", "embed_options")          # Streamlit's own link options
VIEW_KEYS = ("t", "sz", "tr")  # how the image is viewed, not what it is: a font model's specimen text, size and
                               # whether it is set from the traced outlines (explorer/ui/font_link.py)


def _num(x: float) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def to_query_params(state: LatentState) -> dict[str, str]:
    """Compact strings for st.query_params; keys holding defaults are left out."""
    q = {"m": state.model, "ck": state.checkpoint, "s": str(state.seed)}
    if state.class_index is not None:
        q["c"] = str(state.class_index)
    if state.psi != 1.0:
        q["p"] = _num(state.psi)
    if state.method != "pca":
        q["d"] = state.method
    if state.edits:
        q["e"] = ",".join(f"{e.direction}:{_num(e.amount)}:{e.layer_start}:{'' if e.layer_end is None else e.layer_end}"
                          + (":" + ".".join(map(str, e.ortho)) if e.ortho or e.follow else "")
                          + (":f" if e.follow else "") for e in state.edits)
    if state.z_offsets:
        q["z"] = ",".join(f"{d}:{_num(v)}" for d, v in state.z_offsets)
    if state.projected:
        q["w"] = state.projected
    return q


def from_query_params(qp: Mapping[str, str | list[str]], expected_model: str | None = None,
                      expected_checkpoint: str | None = None,
                      limits: Limits = Limits()) -> tuple[LatentState | None, list[str]]:
    """st.query_params -> (state, warnings); (None, []) when no state is encoded. Never raises."""
    def get(k: str) -> str | None:
        v = qp.get(k)
        if isinstance(v, (list, tuple)):                 # several values for one key: the last one wins
            v = v[-1] if v else None
        return None if v is None else str(v)

    unknown = sorted(str(k) for k in qp if k not in (*_KEYS, "e", "z", *VIEW_KEYS, LINK_KEY, *_STREAMLIT_KEYS))
    ours = ", ".join((*_KEYS, "e", "z", *VIEW_KEYS, LINK_KEY))
    note = [f"ignored unknown link parameter(s) {', '.join(short_repr(k) for k in unknown[:5])}"
            f"{' …' if len(unknown) > 5 else ''} (this app's are {ours})"] if unknown else []
    if all(get(k) is None for k in (*_KEYS, "e", "z")):
        return None, note
    raw = {field: get(k) for k, field in _KEYS.items()}
    edits, offsets = ([s.split(":") for s in (get(k) or "").split(",") if s.strip()] for k in ("e", "z"))
    state, warns = _decode(_Parser(), raw, edits, offsets, expected_model, expected_checkpoint, limits)
    return state, note + warns
