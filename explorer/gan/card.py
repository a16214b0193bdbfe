"""Auto-written model cards: markdown from what a checkpoint already knows (data, settings,
duration) plus the figures `evaluate` measured. Pure string building; no I/O.

Every value a person chose (model, job and class names, dataset paths, recipe fields) goes in
through `md_escape`, so a name like `[x](http://example.invalid)` stays text in the exported
card and in every page that shows it (`md_value` keeps plain settings such as `color,translation` as
inline code); `code_block` fences a command however many backticks it holds.

    card = model_card("cats", meta, figures)          # markdown
    md_escape("![i](http://127.0.0.1:9/p.png)")       # '!\\[i\\](http:\\u2060//127.0.0.1:9/p.png)': shows as text
"""

from __future__ import annotations

import re

# Backslash-escaped (CommonMark allows it for any ASCII punctuation): what starts a link or image ([ ]), an
# autolink or HTML (< >), emphasis and code (* _ `), strikethrough (~), maths ($), an entity (&), a table cell
# (|), and the backslash itself; Streamlit's `:color[...]` directives need '[' too. Bare URLs and e-mail
# addresses are linkified from the *text* after escapes are resolved (remark-gfm's autolink-literal
# transform), so escaping cannot stop them: an invisible word joiner (U+2060) breaks their only entry points,
# "scheme:" + "//", "www" + "." and "@". Mid-line nothing else has a meaning: "my-gan 0.7 (x)" stays as it is.
_INLINE = re.compile(r"([\\`*_\[\]<>~$&|])")
_WJ = "\u2060"
_AUTOLINK = re.compile(r"(?i)(:)(?=//)|\b(www)(?=\.)|(?=@)")
# Streamlit's colon directives (`:red[...]`, `:material/home:`, emoji shortcodes `:smile:`) start with a
# colon followed by a name; a word joiner after such a colon leaves the text as shown but no longer a name.
_DIRECTIVE = re.compile(r":(?=[A-Za-z0-9_+-]|/(?!/))")
_BLOCK = re.compile(r"^(?:([#>+=-])|(\d+)([.)]))")            # what starts a heading, quote, list, rule
_SPACE = re.compile(r"[\s\u2028\u2029]+")
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ,._+-]{0,79}")


# One canonical (SPDX-style) name per licence. Rule: a spelling's key is its lower case with spaces, "_" and
# "-" removed ("SIL OFL 1.1" -> "silofl1.1"); a key listed here is that licence. Only the version a spelling
# names is kept: an unversioned "ofl" stays "OFL", never guessed to be 1.1. Anything else is kept as spelt.
_LICENCES = {
    **dict.fromkeys(("ofl1.1", "silofl1.1", "sil1.1", "silopenfontlicense1.1", "siloflv1.1", "ofl11"), "OFL-1.1"),
    **dict.fromkeys(("ofl", "silofl", "sil", "silopenfontlicense"), "OFL"),
    **dict.fromkeys(("ofl1.0", "silofl1.0", "silopenfontlicense1.0"), "OFL-1.0"),
    **dict.fromkeys(("lppl",), "LPPL"), "lppl1.2": "LPPL-1.2", "lppl1.3": "LPPL-1.3", "lppl1.3c": "LPPL-1.3c",
    "gpl": "GPL", **dict.fromkeys(("gpl2", "gpl2.0"), "GPL-2.0"), **dict.fromkeys(("gpl2+", "gpl2.0+"), "GPL-2.0+"),
    **dict.fromkeys(("gpl3", "gpl3.0"), "GPL-3.0"), **dict.fromkeys(("gpl3+", "gpl3.0+"), "GPL-3.0+"),
    **dict.fromkeys(("apache2", "apache2.0"), "Apache-2.0"), "mit": "MIT", "cc01.0": "CC0-1.0",
    **dict.fromkeys(("bsd3clause", "bsd3"), "BSD-3-Clause"), **dict.fromkeys(("bsd2clause", "bsd2"), "BSD-2-Clause"),
    **dict.fromkeys(("publicdomain", "pd"), "public domain"),
    **dict.fromkeys(("bitstreamvera", "bitstreamveracopyright"), "Bitstream-Vera"),
}
_LICENCE_JOIN = re.compile(r"(\s+(?:and|or)\s+|\|)")


def canonical_licence(spelling: str) -> str:
    """One licence spelling as its canonical name (see _LICENCES): "SIL OFL 1.1", "sil-1.1" -> "OFL-1.1".
    A combination ("A and B", "A or B", "A|B") maps each side; a Debian/TeX Live list of licences ("ofl lppl")
    maps each word and sorts them, when every word is known. Unknown spellings come back unchanged."""
    s = " ".join(str(spelling).split())
    known = _LICENCES.get(re.sub(r"[\s_-]", "", s.lower()))
    if known:
        return known
    parts = _LICENCE_JOIN.split(s)
    if len(parts) > 1:
        return "".join(p if i % 2 else canonical_licence(p) for i, p in enumerate(parts))
    words = [_LICENCES.get(w.lower().replace("_", "").replace("-", "")) for w in s.split()]
    if len(words) > 1 and all(words):
        return " ".join(sorted(dict.fromkeys(w for w in words if w)))
    return s


def licence_counts(counts: dict) -> dict[str, int]:
    """{spelling: faces} merged under canonical names (canonical_licence), most faces first."""
    out: dict[str, int] = {}
    for k, v in counts.items():
        c = canonical_licence(k)
        out[c] = out.get(c, 0) + int(v)
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def md_escape(value: object, limit: int | None = None) -> str:
    """`value` as a Markdown fragment that renders as exactly its text, on one line, with no link, image,
    autolink, HTML, emphasis, maths ($ is escaped) or Streamlit colon directive (`:red[...]`,
    `:material/home:`, `:smile:`: a word joiner follows the colon) in it.

    Line breaks, tabs and runs of spaces become one space (no block can start inside it); control and
    format characters (bidi overrides) are dropped; a leading '#', '>', '-', '+', '=' or "1." is escaped;
    URLs and e-mail addresses get an invisible word joiner after "scheme:", after "www" and before "@".
    `limit`: at most this many characters of the text (the last one "…")."""
    s = "".join(c for c in str(value) if c.isprintable() or c.isspace())
    s = _SPACE.sub(" ", s).strip()
    if limit is not None and len(s) > limit:
        s = s[: max(limit - 1, 0)] + "…"
    s = _DIRECTIVE.sub(":" + _WJ, _INLINE.sub(r"\\\1", s))
    s = _AUTOLINK.sub(lambda m: (m.group(1) or m.group(2) or "") + _WJ, s)
    return _BLOCK.sub(lambda m: "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3), s)


def code_block(text: str) -> str:
    """`text` in a fenced code block whose fence is longer than any run of backticks inside it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def _fmt(v: object, digits: int = 3) -> str:
    if isinstance(v, float):
        return f"{v:.{digits}g}" if abs(v) < 1e4 else f"{v:.0f}"
    return str(v)


def md_value(v: object) -> str:
    """A setting as inline code when it is a plain word list ("color,translation"), else as escaped text."""
    t = " ".join(str(v).split())
    return f"`{t}`" if _PLAIN.fullmatch(t) else md_escape(t)


def _duration(s: float) -> str:
    s = int(s)
    return f"{s // 3600} h {s % 3600 // 60:02d} min" if s >= 3600 else f"{s // 60} min {s % 60:02d} s"


def figures_table(m: dict, baseline: dict | None = None, baseline_name: str = "baseline") -> str:
    """A markdown table of the headline figures, a baseline's beside them, and real data as the floor."""
    floor = {"fd": m.get("fd_train_vs_test"), "swd": (m.get("swd_train_vs_test") or {}).get("avg")}
    rows = [("FD, classifier features (lower is better)", "fd"), ("KID", "kid"),
            ("conditional accuracy", "cond_accuracy"), ("precision (k=3)", "precision"),
            ("recall (k=3)", "recall"), ("SWD x1e3, Laplacian pyramid (lower is better)", "swd"),
            ("memorisation ratio (sample / test NN distance; < 0.8 flags)", "memorisation"),
            ("trained for", "trained")]
    if m.get("glyph_accuracy") is not None:          # a font model: the typefaces figures
        floor.update(glyph_accuracy=m.get("glyph_accuracy_real_test"),
                     **{f"style:{a}": 1.0 for a in m.get("style_consistency") or {}})
        rows = [("glyph accuracy (glyph classifier, look-alikes merged)", "glyph_accuracy"),
                *[(f"glyph accuracy at truncation psi {p}", f"psi:{p}") for p in m.get("glyph_accuracy_at_psi") or {}],
                *rows[:1], *rows[3:5],
                *[(f"style spread across a face's glyphs, {a.replace('_', ' ')} (generated / real)", f"style:{a}")
                  for a in m.get("style_consistency") or {}], *rows[6:]]

    def get(d: dict | None, key: str) -> object:
        if key.startswith("style:"):                 # style consistency of a font model: generated / real
            return ((d or {}).get("style_consistency") or {}).get(key[6:], {}).get("ratio")
        if key.startswith("psi:"):                   # glyph accuracy of a font model at a truncation psi
            return ((d or {}).get("glyph_accuracy_at_psi") or {}).get(key[4:])
        if not d or d.get(key) is None:
            return None
        v = d[key]
        if key == "trained":
            return f"{v['steps']} steps" + (f", {v['seconds'] / 60:.1f} min" if v.get("seconds") is not None else "")
        return v["avg"] if key == "swd" else v["ratio"] if key == "memorisation" else v

    floor_name = "real vs real (floor)" if m.get("reference_images") else "real train vs test"
    lines = ["| figure | this model |" + (f" {baseline_name} |" if baseline else "") + f" {floor_name} |",
             "|---|---|" + ("---|" if baseline else "") + "---|"]
    for label, key in rows:
        if get(m, key) is None:
            continue
        cells = [_fmt(get(m, key))] + ([_fmt(get(baseline, key)) if get(baseline, key) is not None else "–"]
                                       if baseline else [])
        cells.append(_fmt(floor[key]) if floor.get(key) is not None else "–")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def model_card(name: str, meta: dict, figures: dict | None = None, baseline: dict | None = None,
               baseline_name: str = "classic-dcgan", reproduce: str | None = None) -> str:
    g = meta.get("generator", {})
    tr = meta.get("training", {})
    ds = meta.get("dataset", {})
    tc = tr.get("train_config", {})
    kind = f"conditional on {g.get('num_classes')} classes" if g.get("num_classes") else "unconditional"
    what = (f"glyph-stack GAN generator (one latent = one typeface: {len(g['glyphs'])} glyphs "
            f"{md_escape(g['glyphs'][:3])}…, {g.get('resolution')}x{g.get('resolution')} px each; "
            if g.get("glyphs") else
            f"{g.get('resolution')}x{g.get('resolution')} {'RGB' if g.get('channels') == 3 else 'greyscale'} "
            "GAN generator (")
    out = [f"# {md_escape(name)}", "",
           f"A {what}{md_escape(g.get('arch'))} architecture, {kind}), trained by Latent Explorer.", "",
           "## Data",
           f"- source: {md_escape(ds.get('spec') or ds.get('source', '?'))}, {md_escape(ds.get('count', '?'))} images"
           + (f", {ds.get('skipped')} skipped" if ds.get("skipped") else ""),
           ]
    if meta.get("class_names"):
        out.append(f"- classes: {', '.join(md_escape(c) for c in meta['class_names'])}")
    if ds.get("packages"):                            # fonts: where the training faces come from
        out.append(f"- {len(ds['packages'])} Debian packages: {', '.join(md_escape(x) for x in ds['packages'])}")
    if ds.get("licences"):
        out.append("- licences of the training faces (faces each): "
                   + ", ".join(f"{md_escape(k)} {v}" for k, v in licence_counts(ds["licences"]).items()))
    out += ["", "## Training",
            f"- preset {md_value(tr.get('preset', '?'))}: loss {md_value(tc.get('loss', '?'))}, "
            f"lr G {md_value(tc.get('lr_g', '?'))} / D {md_value(tc.get('lr_d', '?'))}, "
            f"batch {md_value(tc.get('batch_size', '?'))}, EMA half-life {md_value(tc.get('ema_half_life_k', '?'))}k "
            f"images, augmentation {md_value(tc.get('augment') or 'none')}"
            + ("" if not tc.get("augment") else f" (adaptive, final p {_fmt(tr.get('augment_p'))})"
               if tc.get("ada_target") else f" (p {_fmt(tc.get('augment_p'))})"),
            f"- {tr.get('steps', '?')} steps, {tr.get('images_seen', '?')} images seen, "
            f"{_duration(tr.get('train_seconds', 0))} of training"
            + (f", {tr.get('rollbacks')} rollback(s) (divergence or collapse)" if tr.get("rollbacks") else "")]
    if tc.get("reader_weight"):                       # glyph stacks: the reading loss (glyph_reading_loss.py)
        out.append(f"- glyph reader loss, weight {md_value(tc['reader_weight'])}, {md_value(tc.get('reader_glyphs'))} "
                   f"glyphs a face per step: a frozen glyph classifier ({md_value(tc.get('reader'))}, another seed "
                   f"and validation split than the classifier behind the figures) reads G's glyphs")
    if tc.get("style_weight"):                        # glyph stacks: style_consistency_loss.py
        out.append(f"- style-consistency loss, weight {md_value(tc['style_weight'])}: G pays when the spread of "
                   f"stroke width, slant and contrast across one face's glyphs exceeds real faces' mean spread"
                   + (f"; texture terms (dithered strokes, specks) weight {md_value(tc['style_texture_weight'])}"
                      if tc.get("style_texture_weight") else ""))
    if meta.get("notes"):                             # the project's own design notes (markdown)
        out += ["", "## Design", str(meta["notes"]).strip()]
    if reproduce:
        out += ["", "## Reproduce", code_block(reproduce)]
    if figures:
        if figures.get("reference_images"):
            against = (f"the whole {md_value(figures.get('reference', '?'))} dataset "
                       f"({md_value(figures['reference_images'])} images). SWD uses "
                       f"{md_value(figures.get('swd_images', '?'))} images per side; its floor compares "
                       f"two halves of the dataset. Precision/recall features: "
                       f"{md_escape(figures.get('feature_space', '?'))}.")
        else:
            against = f"the {md_escape(figures.get('reference', '?'))} held-out/test images:"
        out += ["", "## Quality",
                f"{figures.get('samples', '?')} samples (seed {figures.get('seed', 0)}, psi 1) against {against}", "",
                figures_table(figures, baseline, baseline_name)]
        mem = figures.get("memorisation")
        if mem:
            out.append(f"\nMemorisation check: {'FLAGGED' if mem['memorised'] else 'no memorisation found'} "
                       f"(median nearest-train distance {_fmt(mem['sample_median'])} for samples vs "
                       f"{_fmt(mem['test_median'])} for test images).")
        if figures.get("directions"):
            out += ["", directions_section(figures["directions"])]
    return "\n".join(out) + "\n"


DIRECTIONS_HEADING = "## Edit directions"


def direction_quality_table(q: dict) -> str:
    """Markdown table of explorer/explore/direction_quality.py figures: per named direction its fit, the
    share of seeds where +2 std moves its attribute the right way, and the leak (mean change of the other
    attributes / its own), before and after orthogonalisation. Names are escaped (users may type them)."""
    lines = ["| direction | fit | right way (+2σ) | leak | right way, orthogonalised | leak, orthogonalised |",
             "|---|---|---|---|---|---|"]
    for r in q.get("rows", []):
        lines.append(f"| {md_escape(r.get('name'), 60)} | {md_escape(r.get('metric'))} {_fmt(r.get('fit'), 2)} | "
                     f"{_fmt(100 * r.get('right_way', float('nan')), 3)} % | {_fmt(r.get('leak'), 2)} | "
                     f"{_fmt(100 * r.get('right_way_orth', float('nan')), 3)} % | {_fmt(r.get('leak_orth'), 2)} |")
    return "\n".join(lines)


def directions_section(q: dict) -> str:
    """The model card's "Edit directions" section from direction-quality figures."""
    return (f"{DIRECTIONS_HEADING}\nAttribute directions (measured, no labels), each checked on "
            f"{_fmt(q.get('n_seeds', '?'))} random seeds: right way = share of seeds where +{_fmt(q.get('step', 2))}σ "
            f"increases its attribute; leak = mean change of the other attributes relative to its own (attribute std "
            f"units; lower is cleaner); orthogonalised = made orthogonal to the other attribute directions "
            f"(InterFaceGAN).\n\n" + direction_quality_table(q)
            + ("\n\nWeight, slant and width measured against each other only:\n\n"
               + direction_quality_table(q["font_group"]) if q.get("font_group") else "")
            + (follow_section(q["follow"]) if q.get("follow") else ""))


def follow_section(f: dict) -> str:
    """The card's table of followed edits (explorer/explore/local_edits.py): right way and leak at +step σ."""
    names = [str(r.get("name", r.get("key", ""))) for r in f.get("rows", [])]
    held = ("each holding the others of " + ", ".join(md_escape(n, 60) for n in names)
            if f.get("hold_others") else "holding nothing")
    lines = [f"\n\nEdits that follow the image (re-aimed along the model's own gradient at every quarter σ, "
             f"{held}; leak against the same attributes), on the same {_fmt(f.get('n_seeds', '?'))} seeds:\n",
             "| attribute | right way (+2σ) | leak | mean change (σ) |", "|---|---|---|---|"]
    for r in f.get("rows", []):
        lines.append(f"| {md_escape(r.get('name'), 60)} | {_fmt(100 * r.get('right_way', float('nan')), 3)} % | "
                     f"{_fmt(r.get('leak'), 2)} | {_fmt(r.get('change'), 2)} |")
    return "\n".join(lines)


def with_directions_section(card: str, q: dict) -> str:
    """`card` with its "Edit directions" section replaced by (or, if it has none, followed by) one for `q`."""
    head, sep, tail = card.partition(DIRECTIONS_HEADING)
    rest = tail.split("\n## ", 1)[1] if sep and "\n## " in tail else ""
    base = head.rstrip("\n") if sep else card.rstrip("\n")
    return base + "\n\n" + directions_section(q) + "\n" + ("\n## " + rest if rest else "")
