"""What a state loaded from a link, a recipe or the history may hold on this model: edits of directions
it has, conditional edits naming attribute directions it has, followed edits of attributes it can
follow (explorer/explore/local_edits.py). Each check returns the state with what cannot be shown made
plain or dropped, and a note per change (`checked`). Also what a model's edits follow and hold until
someone says otherwise (`default_follow_set`, `default_holds`).
"""

from __future__ import annotations

import dataclasses

from explorer.explore.engine import Engine
from explorer.explore.latents import LatentState, Limits


def checked(state: LatentState, eng: Engine) -> tuple[LatentState, list[str]]:
    """`state` with edits this model cannot show dropped or made plain, and a note for each."""
    notes: list[str] = []
    for check in (_checked_directions, _checked_orthos, _checked_follows):
        state, more = check(state, eng)
        notes += more
    return state, notes


def followable_attributes(eng: Engine) -> set[int]:
    """Indices of the model's attribute directions whose edits can follow the image (empty when the
    attribute directions cannot be had)."""
    from explorer.explore.local_edits import followable
    try:
        keys = list(eng.directions("attr").settings.get("attributes", []))
    except Exception:  # noqa: BLE001 - then nothing follows; the page says why elsewhere
        return set()
    can = set(followable(eng.G))
    return {i for i, k in enumerate(keys) if k in can}


def _checked_follows(state: LatentState, eng: Engine) -> tuple[LatentState, list[str]]:
    """Followed edits of attributes this model cannot follow (or holding ones it cannot) become plain
    edits, with a note each (a link or a recipe may be wrong)."""
    if not any(e.follow for e in state.edits):
        return state, []
    try:
        D = eng.directions("attr")
    except Exception as err:  # noqa: BLE001 - the edits still show, as plain edits
        plain = tuple(dataclasses.replace(x, follow=False) for x in state.edits)
        return dataclasses.replace(state, edits=plain), [
            f"edits that follow the image are shown as plain edits: the attribute directions could not be "
            f"computed ({err})"]
    can = followable_attributes(eng)
    edits, notes = [], []
    for e in state.edits:
        if e.follow and e.direction not in can:
            why = (f"this model cannot follow {D.names[e.direction]}" if 0 <= e.direction < D.k
                   else "that direction does not exist")
            notes.append(f"the edit of attribute direction {e.direction} is shown as a plain edit: {why}")
            e = dataclasses.replace(e, follow=False)
        elif e.follow and not set(e.ortho) <= can:
            bad = ", ".join(D.names[i] if 0 <= i < D.k else str(i) for i in e.ortho if i not in can)
            notes.append(f"the edit of attribute direction {e.direction} is shown as a plain edit: while it follows "
                         f"the image it cannot hold {bad}")
            e = dataclasses.replace(e, follow=False)
        edits.append(e)
    return dataclasses.replace(state, edits=tuple(edits)), notes


def _checked_directions(state: LatentState, eng: Engine) -> tuple[LatentState, list[str]]:
    """Drop edits of directions the model does not have (a link or recipe is checked against 32 before the
    method's directions are known; attribute directions are fewer), with a note each."""
    if not state.edits:
        return state, []
    try:
        k = eng.directions(state.method).k
    except Exception:  # noqa: BLE001 - rendering will say what is wrong with the directions
        return state, []
    bad = [e for e in state.edits if e.direction >= k]
    if not bad:
        return state, []
    notes = [f"edit of direction {e.direction} ignored: there are only {k} {state.method} directions" for e in bad]
    return dataclasses.replace(state, edits=tuple(e for e in state.edits if e.direction < k)), notes


def _checked_orthos(state: LatentState, eng: Engine) -> tuple[LatentState, list[str]]:
    """Drop the attribute directions a conditional edit names that this model does not have (a link or a
    recipe may be wrong), with a note each; needs the model's attribute directions only when there are some."""
    if not any(e.ortho for e in state.edits):
        return state, []
    from explorer.explore.recipes import sanitize
    try:
        n = eng.directions("attr").k
    except Exception as e:  # noqa: BLE001 - the edits still show, as plain edits
        plain = tuple(dataclasses.replace(x, ortho=()) for x in state.edits)
        return dataclasses.replace(state, edits=plain), [f"conditional edits are shown as plain edits: the "
                                                         f"attribute directions could not be computed ({e})"]
    return sanitize(state, Limits(num_attributes=n))


def default_follow_set(eng: Engine, method: str) -> set[int]:
    """The directions of `method` whose edits follow the image until someone says otherwise: on a font
    model every attribute direction it can follow (one fitted direction there moves weight the wrong way
    for a quarter of the faces, docs/fonts-design.md); none elsewhere."""
    from explorer.explore.attributes import GLYPH_CHANNELS
    if method != "attr" or eng.G.cfg.channels != GLYPH_CHANNELS:
        return set()
    return followable_attributes(eng)


def default_holds(eng: Engine, method: str) -> dict[int, tuple[int, ...]]:
    """{direction: attribute directions its followed edit holds} until someone says otherwise: on a font
    model, stroke weight, slant and width each hold the other two (the fonts bar of issue 15 is measured
    so: 200 seeds, +2 std, 100 / 100 / 95.5 % right way with the other two moving 0.10 / 0.16 / 0.13 as
    much; holding nothing they move 0.24 / 0.66 / 0.52 as much on 40 seeds); nothing elsewhere."""
    from explorer.explore.direction_quality import FONT_GROUP
    can = default_follow_set(eng, method)
    if not can:
        return {}
    keys = list(eng.directions("attr").settings.get("attributes", []))
    group = [i for i, k in enumerate(keys) if k in FONT_GROUP and i in can]
    return {i: tuple(j for j in group if j != i) for i in group} if len(group) > 1 else {}
