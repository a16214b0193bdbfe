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
    """A markdown table of the headline figures (and a baseline's, side by side)."""
    rows = [("FD (classifier features, lower is better)", "fd"), ("KID", "kid"),
            ("conditional accuracy", "cond_accuracy"), ("precision (k=3)", "precision"),
            ("recall (k=3)", "recall")]
    head = "| figure | this model |" + (f" {baseline_name} |" if baseline else "")
    sep = "|---|---|" + ("---|" if baseline else "")
    lines = [head, sep]
    for label, key in rows:
        if m.get(key) is None:
            continue
        b = f" {_fmt(baseline.get(key))} |" if baseline and baseline.get(key) is not None else (" – |" if baseline else "")
        lines.append(f"| {label} | {_fmt(m[key])} |{b}")
    if "swd" in m:
        b = f" {_fmt(baseline['swd']['avg'])} |" if baseline and "swd" in baseline else (" – |" if baseline else "")
        lines.append(f"| SWD x1e3 (Laplacian pyramid, avg) | {_fmt(m['swd']['avg'])} |{b}")
    mem = m.get("memorisation")
    if mem:
        b = (f" {_fmt(baseline['memorisation']['ratio'])} |" if baseline and "memorisation" in baseline
             else (" – |" if baseline else ""))
        lines.append(f"| memorisation ratio (sample NN dist / test NN dist; ~1 = none) | {_fmt(mem['ratio'])} |{b}")
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
            + (f" (adaptive, final p {_fmt(tr.get('augment_p'))})" if tc.get("ada_target") else ""),
            f"- {tr.get('steps', '?')} steps, {tr.get('images_seen', '?')} images seen, "
            f"{_duration(tr.get('train_seconds', 0))} of training"
            + (f", {tr.get('rollbacks')} divergence rollback(s)" if tr.get("rollbacks") else "")]
    if reproduce:
        out += ["", "## Reproduce", "```", reproduce, "```"]
    if figures:
        out += ["", "## Quality",
                f"{figures.get('samples', '?')} samples (seed {figures.get('seed', 0)}, psi 1) against the "
                f"{figures.get('reference', '?')} held-out/test images:", "",
                figures_table(figures, baseline, baseline_name)]
        if figures.get("fd_train_vs_test") is not None:
            out.append(f"\nFloor: FD between real train and test images = {_fmt(figures['fd_train_vs_test'])}.")
        mem = figures.get("memorisation")
        if mem:
            out.append(f"Memorisation check: {'FLAGGED' if mem['memorised'] else 'no memorisation found'} "
                       f"(median nearest-train distance {_fmt(mem['sample_median'])} for samples vs "
                       f"{_fmt(mem['test_median'])} for test images).")
    return "\n".join(out) + "\n"
