#!/usr/bin/env bash
# Reproduces pretrained/fashion-mnist and the classic-dcgan yardstick it is measured against:
# both trained for the same wall-clock time, side by side on the same machine (one thread each),
# then evaluated on 10k samples against the Fashion-MNIST test set, then exported with the figures.
#   bash scripts/reproduce-fashion-mnist.sh            # 60 minutes of training, ~10 min of evaluation
#   MINUTES=10 bash scripts/reproduce-fashion-mnist.sh # a shorter, weaker run
set -euo pipefail
cd "$(dirname "$0")/.."
MIN="${MINUTES:-60}"
RUNS="${LATENT_EXPLORER_DATA:-data}/runs"
LE="${LE:-latent-explorer}"
$LE train --data fashion-mnist --preset film --minutes "$MIN" --threads 1 --out "$RUNS/fashion-mnist" &
$LE train --data fashion-mnist --preset classic-dcgan --steps 1000000 --minutes "$MIN" --threads 1 \
    --out "$RUNS/classic-dcgan" &
wait
LATENT_EXPLORER_THREADS=2 $LE evaluate "$RUNS/fashion-mnist" --json --directions > "$RUNS/fashion-mnist/eval.json"
LATENT_EXPLORER_THREADS=2 $LE evaluate "$RUNS/classic-dcgan" --json > "$RUNS/classic-dcgan/eval.json"
$LE export "$RUNS/fashion-mnist" pretrained/fashion-mnist \
    --metrics "$RUNS/fashion-mnist/eval.json" --baseline-metrics "$RUNS/classic-dcgan/eval.json" \
    --reproduce "bash scripts/reproduce-fashion-mnist.sh   # MINUTES=$MIN"
python -c "from explorer.gan.critic import export_discriminator; export_discriminator('$RUNS/fashion-mnist', 'pretrained/fashion-mnist')"
python -c "from explorer.explore.direction_cache import ship_directions; ship_directions('pretrained/fashion-mnist')"   # first view: no wait
$LE sample pretrained/fashion-mnist --n 100 --scale 3 --out docs/fashion-mnist-samples.png
