"""Summarise saved runs: mean and sample sd of target test accuracy per (method, pair).

Usage: python scripts/summarize_runs.py RUNS_DIR  (reads every */config.json below it)
"""
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

rows = defaultdict(list)
for cfg in sorted(Path(sys.argv[1]).glob("*/config.json")):
    info = json.loads(cfg.read_text())
    key = (f"{info['pair']['source']}->{info['pair']['target']}", info["method"])
    rows[key].append(info)

print("| pair | method | target test acc (mean ± sd) | seeds | steps | steps/s | wall s/run | device |")
print("|---|---|---|---|---|---|---|---|")
for (pair, method), runs in sorted(rows.items()):
    acc = [r["accuracy"]["target_test"] for r in runs]
    sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
    sps = statistics.mean(r["steps_per_second"] for r in runs)
    wall = statistics.mean(r["wall_time_s"] for r in runs)
    print(f"| {pair} | {method} | {statistics.mean(acc):.4f} ± {sd:.4f} "
          f"({', '.join(f'{a:.3f}' for a in acc)}) | {len(runs)} | {runs[0]['steps']} | "
          f"{sps:.1f} | {wall:.0f} | {runs[0]['device']} |")
