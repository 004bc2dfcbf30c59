#!/usr/bin/env bash
# Baseline numbers of docs/benchmarks.md, measured with the CLI:
# source_only, dann, target_only on mnist->digits and digits->mnist, 3 seeds, default steps.
# Usage: scripts/baselines.sh [OUT_DIR]   (then scripts/summarize_runs.py OUT_DIR)
set -euo pipefail
out=${1:-runs/baselines}
dalab=${DALAB:-.venv/bin/dalab}
for pair in "mnist digits" "digits mnist"; do
  set -- $pair
  for method in source_only dann target_only; do
    for seed in 0 1 2; do
      dir="$out/${method}_${1}_to_${2}_seed${seed}"
      [ -f "$dir/config.json" ] && continue   # resumable
      "$dalab" train --method "$method" --source "$1" --target "$2" --seed "$seed" \
        --out "$dir" -q
    done
  done
done
