"""The explorer's state in st.session_state: widgets <-> one `LatentState`, per-method edits, undo history.

Widget keys (stable, used by tests): seed, psi, cls, method, k, amt{i} (direction i's amount),
lr{i} (its layer range, inclusive), layer_preset, zgroup and z{d} (the shown group of raw-z sliders).
Edits and nudges live in plain dicts — session_state["amts"] {i: amount}, ["ranges"] {i: (lo, hi)}
and ["zoff"] {dim: delta}, and ["_orthos"] {(model key, method): {i: attribute indices}} for the
conditional edits (an edit of direction i made orthogonal to attribute directions, `set_ortho`) and
["_follows"] {(model key, "attr"): {i, ...}} for attribute edits that follow the image (`set_follow`) —
which the sliders show and update through on_change callbacks, because
only one panel of sliders is drawn at a time (fewer widgets, faster reruns). "amts" and "ranges"
belong to the shown method; switching methods keeps each method's edits (`switch_method`) and the
page says which are kept but not applied. The last state is kept in session_state["current"] (and
per model in ["_by_model"]), so it survives other pages and model switches.

To load a state (a recipe, a gallery pick, a link, an undo), call `request(ss, state)` from a
callback: the explore page applies it with `write_state` before it draws any widget. Every state the
page shows is recorded (`record`) in a per-model history that `undo` and `redo` walk.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, MutableMapping
from typing import Any

from explorer.explore.engine import MAX_DIRECTIONS, Engine
from explorer.explore.latents import AMOUNT_LIMIT, SEED_MAX, Edit, LatentState, checkpoint_id, seed_to_z
from explorer.ui import sticky
from explorer.ui.state_checks import checked, default_follow_set, default_holds, followable_attributes

DEFAULT_K = 10
Z_GROUP = 16
Z_RANGE = 5.0          # the z sliders show z itself (seed noise + nudge), clamped to +-Z_RANGE
AMT_RANGE = AMOUNT_LIMIT
LAYER_PRESETS = ("all", "coarse", "middle", "fine")
HISTORY_MAX = 100      # states kept per model for undo


def layer_names(num_ws: int) -> list[str]:
    """Human names of the ws entries: coarse, middle, fine thirds."""
    if num_ws <= 1:
        return ["all"]
    return [f"{i} {('coarse', 'middle', 'fine')[min(2, 3 * i // num_ws)]}" for i in range(num_ws)]


def preset_range(preset: str, num_ws: int) -> tuple[int, int]:
    """Inclusive (start, end) of a named layer range."""
    if preset == "all" or num_ws <= 1:
        return 0, num_ws - 1
    idx = [i for i in range(num_ws) if ("coarse", "middle", "fine")[min(2, 3 * i // num_ws)] == preset]
    return (idx[0], idx[-1]) if idx else (0, num_ws - 1)


def preset_of(ranges: Mapping[int, tuple[int, int]], num_ws: int) -> str | None:
    """The preset every range is ("all" for none), or None when they differ or match no preset."""
    used = set(ranges.values()) or {(0, num_ws - 1)}
    if len(used) != 1:
        return None
    by_range = {preset_range(name, num_ws): name for name in reversed(LAYER_PRESETS)}   # "all" wins ties
    return by_range.get(next(iter(used)))


def layer_range(v: Any, num_ws: int) -> tuple[int, int]:
    """A layer-range value (a pair, or one index when both ends meet) -> inclusive (lo, hi)."""
    if num_ws <= 1 or v is None:
        return 0, max(num_ws - 1, 0)
    if isinstance(v, (list, tuple)) and len(v) == 2:
        return int(min(v)), int(max(v))
    return int(v), int(v)


def clamp_seed(seed: int, span: int = 1) -> int:
    """A seed (or the first of `span` consecutive seeds) inside 0..SEED_MAX."""
    return max(0, min(int(seed), SEED_MAX - (span - 1)))


def default_state(eng: Engine, seed: int = 0) -> LatentState:
    return LatentState(model=eng.name, checkpoint=checkpoint_id(eng.meta), seed=clamp_seed(seed),
                       class_index=0 if eng.G.cfg.num_classes else None)


def read_state(ss: Mapping[str, Any], eng: Engine) -> LatentState:
    """The LatentState the explorer's session state describes (edits of the shown method only)."""
    num_ws = eng.G.num_ws
    k = min(int(ss.get("k", DEFAULT_K)), MAX_DIRECTIONS)
    amts, ranges = ss.get("amts", {}), ss.get("ranges", {})
    method = str(ss.get("method", "pca"))
    edits = []
    for i in sorted(amts):
        if not 0 <= i < k or float(amts[i]) == 0.0:
            continue
        lo, hi = layer_range(ranges.get(i), num_ws)
        held, follow = edit_flags(ss, eng, method, i)
        edits.append(Edit(i, float(amts[i]), lo, None if hi >= num_ws - 1 else hi + 1, held, follow))
    zoff = ss.get("zoff", {})
    seed = int(ss.get("seed", 0))
    return LatentState(
        model=eng.name, checkpoint=checkpoint_id(eng.meta), seed=seed,
        class_index=int(ss.get("cls", 0)) if eng.G.cfg.num_classes else None,
        psi=float(ss.get("psi", 1.0)), method=method, edits=tuple(edits),
        z_offsets=tuple(sorted((int(d), float(v)) for d, v in zoff.items() if float(v) != 0.0)),
        projected=projected_of(ss, seed))


def orthos(ss: Mapping[str, Any], model_key: str, method: str) -> dict[int, tuple[int, ...]]:
    """{direction: attribute directions its edit is orthogonal to} for one model and method."""
    return dict(ss.get("_orthos", {}).get((model_key, method), {}))


def set_ortho(ss: MutableMapping[str, Any], model_key: str, method: str, i: int, ortho: Any) -> None:
    """Make direction i's edit (of this model and method) orthogonal to attribute directions `ortho`
    (an empty list makes it a plain edit again). A callback: the next run shows it."""
    all_ = dict(ss.get("_orthos", {}))
    mine = dict(all_.get((model_key, method), {}))
    cleaned = tuple(sorted({int(j) for j in ortho if not (method == "attr" and int(j) == i)}))
    if cleaned:
        mine[int(i)] = cleaned
    else:
        mine.pop(int(i), None)
    all_[(model_key, method)] = mine
    ss["_orthos"] = all_


def follows(ss: Mapping[str, Any], model_key: str, method: str) -> set[int]:
    """The attribute directions whose edits follow the image (explorer/explore/local_edits.py)."""
    return set(ss.get("_follows", {}).get((model_key, method), ())) if method == "attr" else set()


def set_follow(ss: MutableMapping[str, Any], model_key: str, method: str, i: int, on: Any) -> None:
    """Make direction i's edit follow the image (on) or be a plain linear edit (off). A callback."""
    all_ = dict(ss.get("_follows", {}))
    mine = set(all_.get((model_key, method), ()))
    (mine.add if on and method == "attr" else mine.discard)(int(i))
    all_[(model_key, method)] = frozenset(mine)
    ss["_follows"] = all_


def projected_of(ss: Mapping[str, Any], seed: int) -> str:
    """The shown projected latent (explorer/ui/explore_invert_panel.py): kept while the seed stays the one
    it was loaded with, so choosing another seed (box, buttons, gallery) goes back to seeds."""
    return str(ss.get("projected") or "") if ss.get("_projected_seed") == seed else ""


def _stash(ss: MutableMapping[str, Any]) -> None:
    """Keep the shown edits aside, under the (model, method) they belong to (see switch_method)."""
    owner = ss.get("_edits_of")
    if owner is not None:
        ss.setdefault("_edits_by_method", {})[owner] = (dict(ss.get("amts", {})), dict(ss.get("ranges", {})))


def _show(ss: MutableMapping[str, Any], owner: tuple[str, str], amts: dict, ranges: dict) -> None:
    ss.get("_edits_by_method", {}).pop(owner, None)
    ss["amts"], ss["ranges"], ss["_edits_of"] = amts, ranges, owner


def switch_method(ss: MutableMapping[str, Any], model_key: str, num_ws: int) -> None:
    """on_change of the method radio: keep the old method's edits and layer ranges, show the new one's."""
    _stash(ss)
    owner = (model_key, str(ss.get("method", "pca")))
    amts, ranges = ss.get("_edits_by_method", {}).get(owner, ({}, {}))
    _show(ss, owner, amts, ranges)
    sticky.put("layer_preset", preset_of(ranges, num_ws) or "all", ss)


def kept_edits(ss: Mapping[str, Any], model_key: str) -> dict[str, int]:
    """{method: number of edits} kept for this model's other methods (not applied to the image)."""
    out = {}
    for (key, method), (amts, _) in ss.get("_edits_by_method", {}).items():
        n = sum(1 for v in amts.values() if float(v) != 0.0)
        if key == model_key and (key, method) != ss.get("_edits_of") and n:
            out[method] = n
    return out


def write_state(ss: MutableMapping[str, Any], state: LatentState, eng: Engine) -> list[str]:
    """Set the session from a state (before any widget is drawn); returns notes on what could not be shown."""
    state, notes = checked(state, eng)
    num_ws = eng.G.num_ws
    if ss.get("_edits_of") != (eng.key, state.method):    # the shown edits stay kept, not lost
        _stash(ss)
    ss["seed"], ss["psi"], ss["method"] = clamp_seed(state.seed), float(state.psi), state.method
    if eng.G.cfg.num_classes:
        ss["cls"] = int(state.class_index or 0)
    amts, ranges = {}, {}
    for e in state.edits:
        if e.direction in amts:
            notes.append(f"direction {e.direction} is edited twice; the page shows the first edit only")
            continue
        amts[e.direction] = max(-AMT_RANGE, min(AMT_RANGE, float(e.amount)))
        end = num_ws - 1 if e.layer_end is None else int(e.layer_end) - 1
        ranges[e.direction] = (int(e.layer_start), max(int(e.layer_start), end))
    _show(ss, (eng.key, state.method), amts, ranges)
    # sliders at 0 keep theirs (or the model's default holds, when this session has not chosen yet)
    chose_orth = (eng.key, state.method) in ss.get("_orthos", {})
    kept_orth = {i: o for i, o in (orthos(ss, eng.key, state.method) if chose_orth
                                   else default_holds(eng, state.method)).items() if i not in amts}
    ss["_orthos"] = {**ss.get("_orthos", {}), (eng.key, state.method): {
        **kept_orth, **{e.direction: tuple(e.ortho) for e in state.edits if e.ortho}}}
    # sliders at 0 keep theirs (or the model's default, when this session has not chosen yet): a link or a
    # recipe decides only for the directions it edits
    chosen = (eng.key, state.method) in ss.get("_follows", {})
    before = follows(ss, eng.key, state.method) if chosen else default_follow_set(eng, state.method)
    kept_follow = {i for i in before if i not in amts}
    ss["_follows"] = {**ss.get("_follows", {}), (eng.key, state.method): frozenset(
        kept_follow | {e.direction for e in state.edits if e.follow})}
    preset = preset_of(ranges, num_ws)
    if preset is not None:
        sticky.put("layer_preset", preset, ss)     # every edit on one preset's layers: show that preset
    if amts:
        ss["k"] = max(int(ss.get("k", DEFAULT_K)), max(amts) + 1)
    ss["zoff"] = {int(d): float(v) for d, v in state.z_offsets}
    ss["projected"], ss["_projected_seed"] = state.projected, clamp_seed(state.seed)
    ss["current"] = state
    return notes


def edit_flags(ss: Mapping[str, Any], eng: Engine, method: str, i: int) -> tuple[tuple[int, ...], bool]:
    """(attribute directions held or made orthogonal to, whether it follows the image) of direction i's
    edit: a followed edit only of an attribute the model can follow, holding only such attributes."""
    held = tuple(orthos(ss, eng.key, method).get(i, ()))
    if method != "attr" or i not in follows(ss, eng.key, method):
        return held, False
    can = followable_attributes(eng)
    if i not in can:
        return held, False
    return tuple(j for j in held if j in can), True


def default_follows(ss: MutableMapping[str, Any], eng: Engine) -> None:
    """A font model's attribute sliders follow the image, and weight, slant and width hold the other two
    (`default_holds`), unless this session said otherwise (a link or a recipe says so only for the
    directions it edits: `write_state`). Called before the widgets, once the attribute method is shown."""
    if ss.get("method") != "attr":
        return
    if (eng.key, "attr") not in ss.get("_follows", {}):
        ss["_follows"] = {**ss.get("_follows", {}), (eng.key, "attr"): frozenset(default_follow_set(eng, "attr"))}
    if (eng.key, "attr") not in ss.get("_orthos", {}):
        ss["_orthos"] = {**ss.get("_orthos", {}), (eng.key, "attr"): default_holds(eng, "attr")}


def reset_edits(ss: MutableMapping[str, Any]) -> None:
    """Every direction slider of the shown method back to 0 over all layers, none conditional or followed
    (a font model's defaults come back on the next run: `default_follows`)."""
    ss["amts"], ss["ranges"] = {}, {}
    for store in ("_orthos", "_follows"):
        if ss.get("_edits_of") in ss.get(store, {}):
            ss[store] = {k: v for k, v in ss[store].items() if k != ss["_edits_of"]}


def reset_all_edits(ss: MutableMapping[str, Any], model_key: str) -> None:
    """`reset_edits`, and the edits this model's other methods keep aside (`kept_edits`) dropped too."""
    reset_edits(ss)
    kept = ss.get("_edits_by_method", {})
    ss["_edits_by_method"] = {owner: v for owner, v in kept.items() if owner[0] != model_key}


def apply_preset(ss: MutableMapping[str, Any], num_ws: int) -> None:
    """on_change of the layer preset box: every slider of the shown method edits those layers."""
    sticky.remember(["layer_preset"], ss)
    lo, hi = preset_range(str(ss["layer_preset"]), num_ws)
    ss["ranges"] = {i: (lo, hi) for i in range(MAX_DIRECTIONS)}


def sync_amount(ss: MutableMapping[str, Any], i: int) -> None:
    """on_change of slider amt{i}."""
    ss["amts"] = {**ss.get("amts", {}), i: float(ss[f"amt{i}"])}


def sync_range(ss: MutableMapping[str, Any], i: int, num_ws: int) -> None:
    """on_change of layer range lr{i}."""
    ss["ranges"] = {**ss.get("ranges", {}), i: layer_range(ss[f"lr{i}"], num_ws)}


def z_values(state: LatentState, z_dim: int) -> list[float]:
    """z itself (seed noise plus nudges), one value per dimension."""
    z = seed_to_z(state.seed, z_dim)[0]
    for d, v in state.z_offsets:
        z[d] += v
    return [float(x) for x in z]


def sync_z_slider(ss: MutableMapping[str, Any], dim: int, z_dim: int) -> None:
    """on_change of slider z{dim}: store the nudge that makes z[dim] the slider's value."""
    base = float(seed_to_z(int(ss.get("seed", 0)), z_dim)[0, dim])
    delta = round(float(ss[f"z{dim}"]) - base, 4)
    zoff = dict(ss.get("zoff", {}))
    if abs(delta) < 1e-4:
        zoff.pop(dim, None)
    else:
        zoff[dim] = delta
    ss["zoff"] = zoff


def request(ss: MutableMapping[str, Any], state: LatentState, exact: bool = False) -> None:
    """Ask the explore page to load this state on its next run (a full run, even from a fragment's widget).
    `exact` (a recipe opened): the edits other methods keep aside for its model are dropped, so switching
    method afterwards shows none the recipe did not have (`load_exactly`)."""
    ss["_pending"] = state
    ss["_pending_exact"] = exact
    ss["current"] = state
    ss["_full_rerun"] = True


def load_exactly(ss: MutableMapping[str, Any], model_key: str) -> None:
    """Before `write_state` of a recipe or a link: drop this model's edits kept for other methods and the
    shown method's own, so the page shows the state and nothing else (their holds and follows go back to
    the model's defaults for the sliders the state leaves at 0)."""
    reset_all_edits(ss, model_key)
    ss.pop("_edits_of", None)


def with_seed(state: LatentState, seed: int) -> LatentState:
    return dataclasses.replace(state, seed=clamp_seed(seed))


# ---------------------------------------------------------------- undo / redo
def _history(ss: MutableMapping[str, Any], model_key: str) -> dict[str, Any]:
    return ss.setdefault("_history", {}).setdefault(model_key, {"states": [], "at": -1})


def record(ss: MutableMapping[str, Any], model_key: str, state: LatentState) -> bool:
    """Note the state the page shows; a new one drops the redo tail. True when it was new."""
    h = _history(ss, model_key)
    if h["at"] >= 0 and h["states"][h["at"]] == state:
        return False
    h["states"] = (h["states"][:h["at"] + 1] + [state])[-HISTORY_MAX:]
    h["at"] = len(h["states"]) - 1
    return True


def can_undo(ss: MutableMapping[str, Any], model_key: str) -> bool:
    return _history(ss, model_key)["at"] > 0


def can_redo(ss: MutableMapping[str, Any], model_key: str) -> bool:
    h = _history(ss, model_key)
    return h["at"] < len(h["states"]) - 1


def step_history(ss: MutableMapping[str, Any], model_key: str, delta: int) -> None:
    """on_click of Undo (-1) / Redo (+1): load the previous / next recorded state."""
    h = _history(ss, model_key)
    at = max(0, min(h["at"] + delta, len(h["states"]) - 1))
    if at != h["at"]:
        h["at"] = at
        request(ss, h["states"][at])
