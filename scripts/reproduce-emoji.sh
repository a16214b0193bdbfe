#!/usr/bin/env bash
# Reproduces pretrained/emoji (64x64 RGB, conditional on the Unicode emoji group) and the
# classic-dcgan yardstick it is measured against: the dataset is rendered from Debian's Noto Color
# Emoji font, both models train for the same wall-clock time side by side (one thread each), then
# both are evaluated (SWD to the dataset, k-NN precision/recall, memorisation) and the model is
# exported with its figures; the README figures (direction strips, interpolation) are redrawn.
#   bash scripts/reproduce-emoji.sh             # 60 minutes of training on a 2-core CPU
#   MINUTES=10 bash scripts/reproduce-emoji.sh  # a shorter, weaker run
#   RESUME=1 bash scripts/reproduce-emoji.sh    # continue both runs from their last checkpoints
set -euo pipefail
cd "$(dirname "$0")/.."
MIN="${MINUTES:-60}"
RUNS="${LATENT_EXPLORER_DATA:-data}/runs"
LE="${LE:-latent-explorer}"
EXTRA=()
[ -n "${RESUME:-}" ] && EXTRA=(--resume)
$LE datasets emoji
# The FiLM generator collapsed within classes at 64x64 on this data (two attempts); the DCGAN
# generator, conditioned on the group, with EMA and DiffAugment at a fixed p = 0.2, did not once G's
# classes followed the data's proportions (adaptive p saturated at 1 and trained slower).
$LE train --data emoji --resolution 64 --channels 3 --preset film --g-arch dcgan --augment color,translation \
    --augment-p 0.2 --ada-target 0 --steps 1000000 --minutes "$MIN" --threads 1 --checkpoint-every 250 \
    --sample-every 250 --log-every 50 --out "$RUNS/emoji" "${EXTRA[@]}" &
$LE train --data emoji --resolution 64 --channels 3 --preset classic-dcgan --steps 1000000 --minutes "$MIN" \
    --threads 1 --checkpoint-every 250 --sample-every 250 --log-every 50 --out "$RUNS/emoji-classic-dcgan" "${EXTRA[@]}" &
wait
LATENT_EXPLORER_THREADS=2 $LE evaluate "$RUNS/emoji" --json --directions > "$RUNS/emoji/eval.json"
LATENT_EXPLORER_THREADS=2 $LE evaluate "$RUNS/emoji-classic-dcgan" --json > "$RUNS/emoji-classic-dcgan/eval.json"
$LE export "$RUNS/emoji" pretrained/emoji \
    --metrics "$RUNS/emoji/eval.json" --baseline-metrics "$RUNS/emoji-classic-dcgan/eval.json" \
    --reproduce "bash scripts/reproduce-emoji.sh   # MINUTES=$MIN"
python -c "from explorer.gan.critic import export_discriminator; export_discriminator('$RUNS/emoji', 'pretrained/emoji')"
python -c "from explorer.explore.direction_cache import ship_directions; ship_directions('pretrained/emoji')"   # first view: no wait
$LE sample pretrained/emoji --n 90 --scale 2 --out docs/emoji-samples.png
$LE figures pretrained/emoji --out docs/emoji --k 5 --seeds 0 1 2 --class "Food & Drink"
