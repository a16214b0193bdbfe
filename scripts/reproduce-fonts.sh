#!/usr/bin/env bash
# Reproduces pretrained/fonts (one latent = one typeface: the 62 glyphs A-Z a-z 0-9 of a face as one
# 62-channel 64x64 glyph stack) and the classic-dcgan yardstick it is measured against: the dataset is
# built from Debian font packages, the glyph classifier behind the figures is trained on its train
# split, both GANs train for the same wall-clock time on the same machine (one thread each, side by
# side), both are evaluated against the held-out families (`evaluate` prints the typefaces figures),
# and the model is exported with them; a sample sheet (generated faces beside their nearest training
# faces) is drawn into docs/.
#   bash scripts/reproduce-fonts.sh               # 7.1 hours of training on a 2-core CPU (the shipped model)
#   MINUTES=60 bash scripts/reproduce-fonts.sh    # a shorter, weaker run
#   RESUME=1 bash scripts/reproduce-fonts.sh      # continue both runs from their last checkpoints
#   BASELINE=0 bash scripts/reproduce-fonts.sh    # the fonts model only (no classic-dcgan run, no comparison)
#   READER_FROM=0 bash scripts/reproduce-fonts.sh # the glyph reader from the first step (not what was shipped)
#   MINUTES=336 bash scripts/reproduce-fonts.sh   # the model shipped before the texture phase
# The shipped model trained READER_FROM=187 minutes as the plain GAN, then went on with the glyph reader's
# loss (`--reader`, weight 1): a frozen glyph classifier trained with another seed and validation split
# than the one behind `evaluate`'s figures (explorer/evaluation/glyph_reading_loss.py); from STYLE_FROM
# minutes on, the style-consistency loss joined it (`--style-weight`, explorer/evaluation/
# style_consistency_loss.py: the glyphs of a face pay for spreading in stroke width, slant and contrast
# more than real faces' do). From TEXTURE_FROM minutes on, the style loss weighs 3 and its texture terms
# join at 0.1 (`--style-texture-weight`: dithered strokes and specks around glyphs pay; at weight 1 a run
# diverged). STYLE_FROM=0 uses the style loss from the first reader step.
# Checkpoints every 100 steps (a few minutes at ~15 faces/s), so a killed run loses little: RESUME=1 continues.
set -euo pipefail
cd "$(dirname "$0")/.."
MIN="${MINUTES:-426}"
RUNS="${LATENT_EXPLORER_DATA:-data}/runs"
LE="${LE:-latent-explorer}"
PY="${PY:-python}"
EXTRA=()
[ -n "${RESUME:-}" ] && EXTRA=(--resume)
[ -f "${LATENT_EXPLORER_DATA:-data}/datasets/fonts/train.safetensors" ] || $LE datasets fonts   # a rerun keeps the built set
[ -f pretrained/fonts-glyph-classifier.json ] || $LE train-classifier --fonts --threads 1
READER="${LATENT_EXPLORER_DATA:-data}/readers/fonts-glyph-reader"
[ -f "$READER.json" ] || $LE train-classifier --fonts --seed 1 --epochs 3 --threads 1 --out "$READER"
READ_FROM="${READER_FROM:-187}"
STYLE_AT="${STYLE_FROM:-286}"
TEXTURE_AT="${TEXTURE_FROM:-336}"
# The shipped recipe (preset `fonts`): mapping z -> w, FiLM from one w per generator block, 62 output
# channels; a DCGAN discriminator judging the whole stack of one face; non-saturating loss, EMA,
# translation only (fixed p). Chosen by measured faces per CPU-second: see docs/fonts-design.md (the card).
FONTS=(--threads 1 --checkpoint-every 100 --sample-every 500 --log-every 50 --out "$RUNS/fonts")
READ=(--reader "$READER" --reader-weight 1.0)
STYLE=(--style-weight "${STYLE_WEIGHT:-1.0}")
TEXTURE=(--style-weight "${TEXTURE_STYLE_WEIGHT:-3.0}" --style-texture-weight "${TEXTURE_WEIGHT:-0.1}")
elapsed_min() {   # training minutes of the fonts run's newest checkpoint (0 when there is none)
    $PY -c "from explorer.gan.checkpoint import latest_training, read_meta; import sys
p = latest_training(sys.argv[1]); print(0 if p is None else read_meta(p)['elapsed_s'] / 60)" "$RUNS/fonts"
}
before() { awk "BEGIN { exit !($(elapsed_min) < $1) }"; }   # the run has trained fewer than $1 minutes
upto() { awk "BEGIN { print ($1 < $MIN) ? $1 : $MIN }"; }      # a phase's end, never past MINUTES
(
    if [ -z "${RESUME:-}" ]; then                                                # a new run
        if awk "BEGIN { exit !($READ_FROM > 0) }"; then                           # phase 1: the plain GAN
            $LE train --data fonts --preset fonts --minutes "$(upto "$READ_FROM")" "${FONTS[@]}"
        elif awk "BEGIN { exit !($STYLE_AT > 0) }"; then
            $LE train --data fonts --preset fonts --minutes "$(upto "$STYLE_AT")" "${FONTS[@]}" "${READ[@]}"
        else
            $LE train --data fonts --preset fonts --minutes "$(upto "$TEXTURE_AT")" "${FONTS[@]}" "${READ[@]}" "${STYLE[@]}"
        fi
    fi
    if before "$(upto "$STYLE_AT")"; then                                        # phase 2: with the reader
        $LE train --resume --minutes "$(upto "$STYLE_AT")" "${FONTS[@]}" "${READ[@]}"
    fi
    if before "$(upto "$TEXTURE_AT")"; then                                      # phase 3: and the style loss
        $LE train --resume --minutes "$(upto "$TEXTURE_AT")" "${FONTS[@]}" "${READ[@]}" "${STYLE[@]}"
    fi
    if before "$MIN"; then                                                       # phase 4: and its texture terms
        $LE train --resume --minutes "$MIN" "${FONTS[@]}" "${READ[@]}" "${TEXTURE[@]}"
    fi
) &
if [ "${BASELINE:-1}" != 0 ]; then
    $LE train --data fonts --preset classic-dcgan --steps 1000000 --minutes "$MIN" --threads 1 \
        --checkpoint-every 100 --sample-every 500 --log-every 50 --out "$RUNS/fonts-classic-dcgan" "${EXTRA[@]}" &
fi
wait
LATENT_EXPLORER_THREADS=2 $LE evaluate "$RUNS/fonts" --json --directions > "$RUNS/fonts/eval.json"
BASE=()
if [ "${BASELINE:-1}" != 0 ]; then
    LATENT_EXPLORER_THREADS=2 $LE evaluate "$RUNS/fonts-classic-dcgan" --json > "$RUNS/fonts-classic-dcgan/eval.json"
    BASE=(--baseline-metrics "$RUNS/fonts-classic-dcgan/eval.json")
fi
$LE export "$RUNS/fonts" pretrained/fonts --metrics "$RUNS/fonts/eval.json" "${BASE[@]}" \
    --reproduce "bash scripts/reproduce-fonts.sh   # MINUTES=$MIN" --notes docs/fonts-design.md
$PY -c "from explorer.gan.critic import export_discriminator; export_discriminator('$RUNS/fonts', 'pretrained/fonts')"
$PY -c "from explorer.explore.direction_cache import ship_directions; ship_directions('pretrained/fonts')"   # first view: no wait
$LE sample pretrained/fonts --n 12 --out docs/fonts-samples.png
$PY -c "from explorer.evaluation.typefaces import nearest_figure; nearest_figure('pretrained/fonts', 'docs/fonts-nearest.png')"
