"""The characters a generated typeface gets beyond the glyphs its model draws: punctuation built from its
parts (explorer/explore/punctuation.py; ? ¿ ¡ in explorer/explore/question.py; ( ) / + = drawn at its
weight, explorer/explore/drawn_marks.py) and accented letters
composed from its letters (explorer/explore/accents.py) or with a stroke through them (Ł Đ Ø ...,
explorer/explore/stroked.py). Specimens add the ones their text uses; a downloaded font gets them all.

    BUILT                                          # 27 punctuation marks, 161 accented and 12 stroked letters
    stack2, glyphs2 = complete(stack, CHARS, "Café!")   # (62 + 2, R, R) uint8, CHARS + "é!"
    sources("Café!")                               # "IIejlx..." : the glyphs building them needs
    available(CHARS)                               # CHARS + every character BUILT can make from them
"""

from __future__ import annotations

import numpy as np

from explorer.explore import accents, question
from explorer.explore.accents import ACCENTED, CARON_BESIDE, accented_cells
from explorer.explore.drawn_marks import DRAWN, drawn_cells
from explorer.explore.glyph_ink import significant_ink
from explorer.explore.punctuation import PUNCTUATION as DRAWN_PUNCTUATION
from explorer.explore.punctuation import punctuation_cells
from explorer.explore.question import QUESTION, question_cells
from explorer.explore.stroked import STROKED, stroked_cells

COMPOSED_LETTERS = ACCENTED + "".join(STROKED)     # a letter and a mark: set with its base letter's advance
WIDENED = CARON_BESIDE + "\u013f\u0140"             # ... wider by a mark beside it: ď ľ Ľ ť Ŀ ŀ
WIDE_BOTH = "".join(c for c in STROKED if c not in WIDENED)   # ... by a stroke past either side: Ø Đ ħ ...
PUNCTUATION = DRAWN_PUNCTUATION + QUESTION + DRAWN
BUILT = PUNCTUATION + COMPOSED_LETTERS
DOT_SOURCES = "ij"           # the dot of the punctuation and of ï İ ...
PUNCTUATION_SOURCES = "ijxlI" + question.SOURCES   # ... the x-height of the colon, the stem of !, the 2 of ?


def base_of(c: str) -> str:
    """The letter a composed letter is built on ("é" -> "e", "ı" -> "i", "Ł" -> "L"); c itself otherwise."""
    return STROKED[c][0] if c in STROKED else accents.base_of(c)


def sources(text: str) -> str:
    """The glyphs building `text`'s BUILT characters reads (their base letters, the dot's i and j, the
    x-height's x, the stem of "!", the hook of "?"): a subset of a stack with these measures them as the
    whole face does."""
    need = {base_of(c) for c in text if c in COMPOSED_LETTERS}
    if need or any(c in PUNCTUATION for c in text):
        need |= set(PUNCTUATION_SOURCES)
    return "".join(sorted(need))


def available(glyphs: str) -> str:
    """`glyphs` and the BUILT characters a face with these glyphs gets (when their sources are not blank)."""
    if not any(c in glyphs for c in DOT_SOURCES):
        return glyphs
    return glyphs + "".join(c for c in BUILT if c not in glyphs and all(p in glyphs for p in _parts(c)))


def _parts(c: str) -> str:
    """The glyphs a BUILT character cannot do without, beyond the dot's i or j."""
    if c in QUESTION[:2]:
        return question.HOOK             # ? and ¿: the hook of the 2
    return "" if c in PUNCTUATION else base_of(c)


def complete(stack: np.ndarray, glyphs: str, wanted: str = BUILT) -> tuple[np.ndarray, str]:
    """A glyph stack (G, R, R) uint8 and the characters of its channels, with the characters of `wanted`
    that are BUILT and that it lacks appended: ((G + k, R, R) uint8, glyphs + k characters), in BUILT's
    order. Nothing is built for a face with no "i" or "j", or with both blank (its dot is their tittle);
    a character whose parts the face lacks or whose mark does not fit its cell is left out. A stack that
    already has them comes back as it is. Raises ValueError for a stack that is not (G, R, R)."""
    a = np.asarray(stack)
    if a.ndim != 3 or a.shape[1] != a.shape[2]:
        raise ValueError(f"a glyph stack is (G, R, R), got {a.shape}")
    chars = glyphs[:a.shape[0]]
    need = [c for c in BUILT if c in wanted and c not in chars]
    dots = [chars.index(c) for c in DOT_SOURCES if c in chars]
    if not need or not dots or not significant_ink(a[dots]).any():      # no i or j to build from, or blank
        return a, chars
    cells: dict[str, np.ndarray] = {}
    if any(c in PUNCTUATION for c in need):
        cells.update(punctuation_cells(a, chars))
        if any(c in QUESTION for c in need):
            cells.update(question_cells(a, chars, cells))
        if any(c in DRAWN for c in need):
            cells.update(drawn_cells(a, chars, cells))
    if any(c in ACCENTED for c in need):
        cells.update(accented_cells(a, chars, "".join(need)))
    if any(c in STROKED for c in need):
        cells.update(stroked_cells(a, chars, "".join(need)))
    made = [c for c in need if c in cells]
    if not made:
        return a, chars
    return np.concatenate([a, np.stack([cells[c] for c in made])]).astype(np.uint8), chars + "".join(made)
