"""Auto-written model cards: markdown from what a checkpoint already knows (data, settings,
duration) plus the figures `evaluate` measured. Pure string building; no I/O."""

from __future__ import annotations


def _fmt(v: object, digits: int = 3) -> str:
    if isinstance(v, float):
        return f"{v:.{digits}g}" if abs(v) < 1e4 else f"{v:.0f}"
    return str(v)


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

    def get(d: dict | None, key: str) -> object:
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
    out = [f"# {name}", "",
           f"A {g.get('resolution')}x{g.get('resolution')} {'RGB' if g.get('channels') == 3 else 'greyscale'} "
           f"GAN generator ({g.get('arch')} architecture, {kind}), trained by Latent Explorer.", "",
           "## Data",
           f"- source: `{ds.get('spec') or ds.get('source', '?')}`, {ds.get('count', '?')} images"
           + (f", {ds.get('skipped')} skipped" if ds.get("skipped") else ""),
           ]
    if meta.get("class_names"):
        out.append(f"- classes: {', '.join(meta['class_names'])}")
    out += ["", "## Training",
            f"- preset `{tr.get('preset', '?')}`: loss {tc.get('loss', '?')}, lr G {tc.get('lr_g', '?')} / "
            f"D {tc.get('lr_d', '?')}, batch {tc.get('batch_size', '?')}, EMA half-life "
            f"{tc.get('ema_half_life_k', '?')}k images, augmentation `{tc.get('augment') or 'none'}`"
            + ("" if not tc.get("augment") else f" (adaptive, final p {_fmt(tr.get('augment_p'))})"
               if tc.get("ada_target") else f" (p {_fmt(tc.get('augment_p'))})"),
            f"- {tr.get('steps', '?')} steps, {tr.get('images_seen', '?')} images seen, "
            f"{_duration(tr.get('train_seconds', 0))} of training"
            + (f", {tr.get('rollbacks')} rollback(s) (divergence or collapse)" if tr.get("rollbacks") else "")]
    if reproduce:
        out += ["", "## Reproduce", "```", reproduce, "```"]
    if figures:
        if figures.get("reference_images"):
            against = (f"the whole `{figures.get('reference', '?')}` dataset ({figures['reference_images']} images). "
                       f"SWD uses {figures.get('swd_images', '?')} images per side; its floor compares two halves of "
                       f"the dataset. Precision/recall features: {figures.get('feature_space', '?')}.")
        else:
            against = f"the {figures.get('reference', '?')} held-out/test images:"
        out += ["", "## Quality",
                f"{figures.get('samples', '?')} samples (seed {figures.get('seed', 0)}, psi 1) against {against}", "",
                figures_table(figures, baseline, baseline_name)]
        mem = figures.get("memorisation")
        if mem:
            out.append(f"\nMemorisation check: {'FLAGGED' if mem['memorised'] else 'no memorisation found'} "
                       f"(median nearest-train distance {_fmt(mem['sample_median'])} for samples vs "
                       f"{_fmt(mem['test_median'])} for test images).")
    return "\n".join(out) + "\n"
