"""The style an exported typeface declares: its weight class and whether it is italic, measured from its glyphs.

A generated face has no metadata, so `build_font` used to call every face "Regular", weight 400,
upright, and a font menu filed a black italic among the regulars. Here the face is measured with the
fonts dataset's own measures (explorer/data/glyphmetrics.py) and placed the way the training fonts
declare themselves:
- weight class: the OpenType usWeightClass (100-900) most training faces of that stroke width declare
  (WEIGHT_BOUNDS: where the majority class among the 60 train-split faces of nearest stroke width
  changes, made monotone; 2,847 faces with a class, measured 2026-11-30; 600 is never the majority).
  Stroke width and class correlate at r = 0.55 only (one family's 400 is another's 500), so this is
  the likeliest class, not a certainty: DejaVu Sans measures 400, its Bold 800, its ExtraLight 200;
- italic: slant above ITALIC_SLANT degrees (this rule agrees with the italic bit of fsSelection for
  88 % of the training faces); the italic angle is minus the measured slant (OpenType: negative leans
  right).
- PANOSE (OS/2 panose, the ten digits font matchers compare): family kind 2 (Latin Text: 1,385 of the
  1,406 training faces that declare a family kind), and the weight digit usWeightClass / 100 + 1, the digit
  most training faces of each weight class declare (every class, 100-900: 2 Very Light .. 10 Black); the
  others stay 0 (Any, a wildcard to a matcher). Tried and not declared: a contrast digit from the measured
  thick/thin ratio (majority bounds like WEIGHT_BOUNDS) agreed with the declared digit for 44 % of the
  training faces but for none of the 21 held-out faces that declare one (within one step: 76 % / 19 %),
  so a measured contrast digit would mislead a matcher more often than "Any".
Names follow OpenType's style linking: the typographic family and subfamily (name IDs 16 and 17) carry
the full style ("SemiBold Italic"); the legacy family and subfamily (IDs 1 and 2) keep to Regular,
Italic, Bold and Bold Italic, with other weights moved into the legacy family name.

    style = font_style(stack)       # FontStyle(weight_class=700, italic=True, ..., style_name="Bold Italic")
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from explorer.data.glyphmetrics import CHARS, face_attributes

WEIGHT_BOUNDS = ((0.045, 100), (0.06, 200), (0.075, 300), (0.1225, 400), (0.14, 500), (0.1925, 700),
                 (0.205, 800))       # (stroke width / cap height below which, class); above all: 900
WEIGHT_NAMES = {100: "Thin", 200: "ExtraLight", 300: "Light", 400: "Regular", 500: "Medium",
                600: "SemiBold", 700: "Bold", 800: "ExtraBold", 900: "Black"}
ITALIC_SLANT = 4.0           # degrees
PANOSE_LATIN_TEXT = 2        # PANOSE family kind "Latin Text"


@dataclass(frozen=True)
class FontStyle:
    """What an exported font declares about its style."""
    weight_class: int        # usWeightClass, 100..900
    italic: bool
    italic_angle: float      # post.italicAngle, degrees (negative leans right); 0 when upright

    @property
    def panose(self) -> tuple[int, ...]:
        """The OS/2 PANOSE digits (bFamilyType, bSerifStyle, bWeight, ..., bXHeight): see the module docstring."""
        return (PANOSE_LATIN_TEXT, 0, self.weight_class // 100 + 1) + (0,) * 7

    @property
    def style_name(self) -> str:
        """The full style: "Regular", "Italic", "Bold", "Light Italic", ..."""
        w = WEIGHT_NAMES[self.weight_class]
        if not self.italic:
            return w
        return "Italic" if self.weight_class == 400 else f"{w} Italic"

    @property
    def legacy(self) -> tuple[str, str]:
        """(suffix of the legacy family name, legacy subfamily): RIBBI only (name IDs 1 and 2)."""
        bold = self.weight_class == 700
        sub = ("Bold " if bold else "") + ("Italic" if self.italic else "") if (bold or self.italic) else "Regular"
        suffix = "" if self.weight_class in (400, 700) else WEIGHT_NAMES[self.weight_class]
        return suffix, sub.strip()


REGULAR = FontStyle(400, False, 0.0)


def weight_class(stroke_width: float) -> int:
    """The usWeightClass most training faces of this stroke width (a fraction of the cap height)
    declare (WEIGHT_BOUNDS); 400 for a NaN."""
    if not math.isfinite(stroke_width):
        return 400
    return next((w for bound, w in WEIGHT_BOUNDS if stroke_width < bound), 900)


def font_style(stack: np.ndarray, glyphs: str = CHARS) -> FontStyle:
    """The style of one face, a glyph stack (G, R, R) uint8 (ink = 255) whose channel i draws glyphs[i].
    Faces without the 62 glyphs A-Z a-z 0-9 (which the measures need) are declared Regular."""
    a = np.asarray(stack)
    if glyphs != CHARS or a.ndim != 3 or a.shape[0] != len(CHARS):
        return REGULAR
    attrs = face_attributes(a)
    slant = float(attrs["slant"][0])
    italic = math.isfinite(slant) and slant > ITALIC_SLANT
    return FontStyle(weight_class(float(attrs["stroke_width"][0])), italic, round(-slant, 1) if italic else 0.0)
