"""Model cards: the figures table (with a baseline and the training each model had) and the settings line."""

from __future__ import annotations

from explorer.gan.card import canonical_licence, figures_table, model_card

FIG = {"precision": 0.5, "recall": 0.4, "swd": {"avg": 40.0}, "swd_train_vs_test": {"avg": 6.5},
       "memorisation": {"ratio": 2.1, "memorised": False, "sample_median": 47.0, "test_median": 22.0},
       "reference": "emoji", "reference_images": 3641, "trained": {"steps": 3000, "seconds": 3600.0}}
BASE = {"precision": 0.6, "recall": 0.2, "swd": {"avg": 45.0}, "trained": {"steps": 3400, "seconds": 3590.0}}


def test_figures_table_shows_both_models_and_their_training():
    t = figures_table(FIG, BASE, "classic-dcgan")
    assert "| figure | this model | classic-dcgan | real vs real (floor) |" in t
    assert "| SWD x1e3, Laplacian pyramid (lower is better) | 40 | 45 | 6.5 |" in t
    assert "| trained for | 3000 steps, 60.0 min | 3400 steps, 59.8 min | – |" in t
    assert "trained for" not in figures_table({"swd": {"avg": 1.0}})


def test_card_states_a_fixed_or_adaptive_augmentation_probability():
    meta = {"generator": {"resolution": 64, "channels": 3, "arch": "dcgan", "num_classes": 9},
            "training": {"steps": 10, "train_seconds": 65, "augment_p": 0.7,
                         "train_config": {"augment": "color,translation", "augment_p": 0.2, "ada_target": 0.0}}}
    assert "augmentation `color,translation` (p 0.2)" in model_card("m", meta)
    meta["training"]["train_config"]["ada_target"] = 0.6
    assert "(adaptive, final p 0.7)" in model_card("m", meta)
    meta["training"]["train_config"]["augment"] = ""
    card = model_card("m", meta)
    assert "augmentation `none`" in card and "adaptive" not in card and "reader" not in card


def test_card_names_the_glyph_reader_a_font_model_trained_with():
    meta = {"generator": {"resolution": 64, "channels": 62, "arch": "film"},
            "training": {"steps": 10, "train_seconds": 65,
                         "train_config": {"reader": "data/readers/r", "reader_weight": 1.0, "reader_glyphs": 16}}}
    assert ("glyph reader loss, weight `1.0`, `16` glyphs a face per step: a frozen glyph classifier "
            "(data/readers/r, another seed") in model_card("m", meta)
    assert "style-consistency" not in model_card("m", meta)
    meta["training"]["train_config"] |= {"style_weight": 1.0}
    card = model_card("m", meta)
    assert "style-consistency loss, weight `1.0`" in card and "texture terms" not in card
    meta["training"]["train_config"] |= {"style_texture_weight": 0.2}
    assert "texture terms (dithered strokes, specks) weight `0.2`" in model_card("m", meta)


def test_font_figures_table_has_glyph_rows_and_truncated_accuracy():
    m = {"glyph_accuracy": 0.7, "glyph_accuracy_real_test": 0.9, "glyph_accuracy_at_psi": {"0.7": 0.81},
         "fd": 6.9, "fd_train_vs_test": 0.7, "style_consistency": {"slant": {"ratio": 2.3}}}
    t = figures_table(m, {"glyph_accuracy": 0.04, "fd": 37.5}, "classic-dcgan")
    assert "| glyph accuracy (glyph classifier, look-alikes merged) | 0.7 | 0.04 | 0.9 |" in t
    assert "| glyph accuracy at truncation psi 0.7 | 0.81 | – | – |" in t
    assert "slant (generated / real) | 2.3 | – | 1 |" in t


def test_card_lists_each_licence_once_under_one_canonical_name():
    meta = {"generator": {"resolution": 64, "channels": 62, "arch": "film"}, "training": {},
            "dataset": {"licences": {"OFL-1.1": 5, "SIL OFL 1.1": 3, "OFL 1.1": 2, "sil-1.1": 1, "ofl lppl": 4,
                                     "lppl ofl": 1, "Madduck-Special": 2, "ofl": 7}}}
    line = next(x for x in model_card("m", meta).splitlines() if x.startswith("- licences"))
    assert line.endswith("faces each): OFL-1.1 11, OFL 7, LPPL OFL 5, Madduck-Special 2"), line
    assert canonical_licence("SIL_Open_Font_License_1.1") == "OFL-1.1"                # spelling, not version:
    assert canonical_licence("OFL-1.0") == "OFL-1.0" and canonical_licence("gpl2+") == "GPL-2.0+"
    assert canonical_licence("OFL 1.1 or BSD-3-clause") == "OFL-1.1 or BSD-3-Clause"   # each side of a choice
    assert canonical_licence("Some Foundry EULA") == "Some Foundry EULA"              # unknown: kept as spelt
