"""Generator-only exports (what pretrained/ ships and the app lists), with an auto-written model card."""

from __future__ import annotations

from pathlib import Path

from explorer.config import to_dict
from explorer.gan import checkpoint as ckpt
from explorer.gan.card import model_card
from explorer.gan.nets import compute_w_avg


def export_model(training_json: str | Path, stem: str | Path, extra: dict | None = None,
                 weights: str = "G_ema") -> Path:
    """Write the generator-only export (G_ema) of a training checkpoint (or re-export an export) with
    its summary; the model card is written automatically unless `extra` brings one."""
    G, meta = ckpt.load_generator(training_json, weights=weights)
    compute_w_avg(G)                                 # truncation's centre, from the exported weights themselves
    if meta["format"] == ckpt.FORMAT_GENERATOR:      # re-export (e.g. with figures added)
        out = {k: meta[k] for k in ("class_names", "dataset", "training", "metrics", "baseline_metrics",
                                    "reproduce", "notes") if k in meta}
    else:
        cfg = meta["config"]
        out = {"class_names": meta.get("class_names", []), "dataset": meta.get("dataset", {}),
               "training": {"preset": cfg["train"]["preset"], "steps": meta["step"],
                            "images_seen": meta["images_seen"], "train_seconds": round(meta.get("elapsed_s", 0.0), 1),
                            "rollbacks": meta.get("rollbacks", 0), "augment_p": meta.get("augment_p"),
                            "train_config": cfg["train"], "discriminator": cfg["discriminator"],
                            "timing": meta.get("timing", {}), "exported_weights": weights}}
    out.update(extra or {})
    out["name"] = out.get("name") or ckpt.model_name(Path(stem).with_suffix(".json"))    # a run's: its folder
    if "model_card" not in (extra or {}):
        out["model_card"] = model_card(out["name"], {**out, "generator": to_dict(G.cfg)}, out.get("metrics"),
                                       out.get("baseline_metrics"), reproduce=out.get("reproduce"))
    return ckpt.save_generator(stem, G, out)
