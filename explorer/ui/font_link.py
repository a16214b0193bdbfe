"""A font model's specimen text and size in the page link (query parameters t and sz, recipes.VIEW_KEYS),
so a shared link or a reload shows the same words at the same size, not only the same typeface; tr=1 when
the specimen is set from the downloaded font's traced outlines (the "Traced" toggle).

The text goes in whenever it is not the default pangram: the text box holds at most MAX_TEXT characters,
and a link of that much text (a few kB once URL-encoded) opens in every current browser; it used to stop at
200 characters and leave longer text out of the link without a word. Read back from a link only
through `apply_view_params`, which checks both values; they are shown as text, never as Markdown.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from explorer.explore.specimen import PANGRAM
from explorer.ui import sticky

SIZES = (16, 24, 32, 48, 64, 96)       # cap height on screen, px (the Size control's choices)
DEFAULT_SIZE = 24                       # cap height, px: the pangram in three lines of the Explore column
MAX_TEXT = 500                          # the text box's own limit, and so the link's


def view_params(ss: MutableMapping[str, Any] | None = None) -> dict[str, str]:
    """{"t": text, "sz": size, "tr": "1"} for the link, each only when it differs from the default."""
    out: dict[str, str] = {}
    text = str(sticky.get("font_text", PANGRAM, ss))
    if text != PANGRAM:
        out["t"] = text[:MAX_TEXT]
    size = sticky.get("font_size", DEFAULT_SIZE, ss)
    if size in SIZES and size != DEFAULT_SIZE:
        out["sz"] = str(size)
    if sticky.get("font_traced", False, ss):
        out["tr"] = "1"
    return out


def apply_view_params(qp: Mapping[str, Any], ss: MutableMapping[str, Any] | None = None) -> list[str]:
    """Set the specimen text and size from a link's t and sz (before the widgets are drawn); a link
    without them restores the defaults. A size outside SIZES falls back to DEFAULT_SIZE, a text longer than
    MAX_TEXT is cut; returns a warning for each (plain text, a size cut to 20 characters).
    A recipe's "view" (`recipes.recipe_view`) is read the same way."""
    def last(k: str) -> str | None:
        v = qp.get(k)
        if isinstance(v, (list, tuple)):
            v = v[-1] if v else None
        return None if v is None else str(v)
    text = last("t")
    sticky.put("font_text", PANGRAM if text is None else text[:MAX_TEXT], ss)
    out = []
    if text is not None and len(text) > MAX_TEXT:
        out.append(f"the specimen text has {len(text)} characters; showing its first {MAX_TEXT} (the text box's limit)")
    traced = last("tr")
    sticky.put("font_traced", traced == "1", ss)
    if traced not in (None, "0", "1"):
        shown = traced if len(traced) <= 20 else traced[:20] + "…"
        out.append(f"tr={shown!r} is not 0 or 1; the specimen shows the glyph bitmaps")
    size = last("sz")
    ok = size is not None and size.isdigit() and int(size) in SIZES
    sticky.put("font_size", int(size) if ok and size is not None else DEFAULT_SIZE, ss)
    if size is None or ok:
        return out
    shown = size if len(size) <= 20 else size[:20] + "…"
    return [*out, f"specimen size sz={shown!r} is not one of the sizes offered "
                  f"({', '.join(map(str, SIZES))} px); showing {DEFAULT_SIZE} px"]
