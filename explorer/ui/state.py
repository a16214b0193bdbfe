"""The explorer's state in st.session_state: widgets <-> one `LatentState`.

Widget keys (stable, used by tests): seed, psi, cls, method, k, amt{i} (direction i's amount),
lr{i} (its layer range, inclusive), zgroup and z{d} (the shown group of raw-z sliders).
Edits and nudges live in plain dicts — session_state["amts"] {i: amount}, ["ranges"] {i: (lo, hi)}
and ["zoff"] {dim: delta} — which the sliders show and update through on_change callbacks, because
only one panel of sliders is drawn at a time (fewer widgets, faster reruns). The last state is kept
in session_state["current"] (and per model in ["_by_model"]), so it survives other pages and model
switches (Streamlit drops the state of widgets a page does not draw).

To load a state (a recipe, a gallery pick, a link), call `request(state)`; the explore page
applies it with `apply_pending` before it draws any widget, and reruns if needed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, MutableMapping
from typing import Any

from explorer.explore.latents import AMOUNT_LIMIT, Edit, LatentState, seed_to_z
from explorer.ui.engine import MAX_DIRECTIONS, Engine

DEFAULT_K = 10
Z_GROUP = 16
Z_RANGE = 5.0          # the z sliders show z itself (seed noise + nudge), clamped to +-Z_RANGE
AMT_RANGE = AMOUNT_LIMIT


def layer_names(num_ws: int) -> list[str]:
    """Human names of the ws entries: coarse, middle, fine thirds (plus the resolution when known)."""
    if num_ws <= 1:
        return ["all"]
    out = []
    for i in range(num_ws):
        third = min(2, 3 * i // num_ws)
        out.append(f"{i} {('coarse', 'middle', 'fine')[third]}")
    return out


LAYER_PRESETS = ("all", "coarse", "middle", "fine")


def preset_range(preset: str, num_ws: int) -> tuple[int, int]:
    """Inclusive (start, end) of a named layer range."""
    if preset == "all" or num_ws <= 1:
        return 0, num_ws - 1
    idx = [i for i in range(num_ws) if ("coarse", "middle", "fine")[min(2, 3 * i // num_ws)] == preset]
    return (idx[0], idx[-1]) if idx else (0, num_ws - 1)


def default_state(eng: Engine, seed: int = 0) -> LatentState:
    from explorer.explore.latents import checkpoint_id
    return LatentState(model=eng.name, checkpoint=checkpoint_id(eng.meta), seed=seed,
                       class_index=0 if eng.G.cfg.num_classes else None)


def read_state(ss: Mapping[str, Any], eng: Engine) -> LatentState:
    """The LatentState the explorer's session state describes."""
    from explorer.explore.latents import checkpoint_id
    num_ws = eng.G.num_ws
    k = min(int(ss.get("k", DEFAULT_K)), MAX_DIRECTIONS)
    amts, ranges = ss.get("amts", {}), ss.get("ranges", {})
    edits = []
    for i in sorted(amts):
        if not 0 <= i < k or float(amts[i]) == 0.0:
            continue
        lo, hi = _range(ranges.get(i), num_ws)
        edits.append(Edit(i, float(amts[i]), lo, None if hi >= num_ws - 1 else hi + 1))
    zoff = ss.get("zoff", {})
    return LatentState(
        model=eng.name, checkpoint=checkpoint_id(eng.meta), seed=int(ss.get("seed", 0)),
        class_index=int(ss.get("cls", 0)) if eng.G.cfg.num_classes else None,
        psi=float(ss.get("psi", 1.0)), method=str(ss.get("method", "pca")), edits=tuple(edits),
        z_offsets=tuple(sorted((int(d), float(v)) for d, v in zoff.items() if float(v) != 0.0)))


def _range(v: Any, num_ws: int) -> tuple[int, int]:
    """A layer-range value (a pair, or one index when both ends meet) -> inclusive (lo, hi)."""
    if num_ws <= 1 or v is None:
        return 0, max(num_ws - 1, 0)
    if isinstance(v, (list, tuple)) and len(v) == 2:
        return int(min(v)), int(max(v))
    return int(v), int(v)


def write_state(ss: MutableMapping[str, Any], state: LatentState, eng: Engine) -> list[str]:
    """Set the session from a state (before any widget is drawn); returns notes on what could not be shown."""
    notes = []
    num_ws = eng.G.num_ws
    ss["seed"], ss["psi"], ss["method"] = int(state.seed), float(state.psi), state.method
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
    ss["amts"], ss["ranges"] = amts, ranges
    by_range = {preset_range(name, num_ws): name for name in reversed(LAYER_PRESETS)}   # "all" wins ties
    used = set(ranges.values())
    if len(used) == 1 and (only := next(iter(used))) in by_range:
        ss["_layer_preset"] = by_range[only]       # every edit on one preset's layers: show that preset
    if amts:
        ss["k"] = max(int(ss.get("k", DEFAULT_K)), max(amts) + 1)
    ss["zoff"] = {int(d): float(v) for d, v in state.z_offsets}
    ss["current"] = state
    return notes


def reset_edits(ss: MutableMapping[str, Any]) -> None:
    """Every direction slider back to 0 over all layers."""
    ss["amts"], ss["ranges"] = {}, {}


def sync_amount(ss: MutableMapping[str, Any], i: int) -> None:
    """on_change of slider amt{i}."""
    ss["amts"] = {**ss.get("amts", {}), i: float(ss[f"amt{i}"])}


def sync_range(ss: MutableMapping[str, Any], i: int, num_ws: int) -> None:
    """on_change of layer range lr{i}."""
    ss["ranges"] = {**ss.get("ranges", {}), i: _range(ss[f"lr{i}"], num_ws)}


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


def request(ss: MutableMapping[str, Any], state: LatentState) -> None:
    """Ask the explore page to load this state on its next run."""
    ss["_pending"] = state
    ss["current"] = state


def with_seed(state: LatentState, seed: int) -> LatentState:
    return dataclasses.replace(state, seed=int(seed))
