"""Replace the rows of some methods in docs/benchmarks.json/.md with rows summarised from a
benchmark folder, keeping every other row (the benchmark of one method can be rerun without
retraining the rest), and the same for the selection table (benchmarks-selection.json):

    python tools/merge_bench.py --methods lstnet --bench-dir runs/bench --command "..."

With ``--extend`` the folder's runs are further seeds of rows already in the table (trained
with ``dalab bench --first-seed K``): they are joined to those rows (``bench.extend_row``)
instead of replacing them; a joined row's selection row, if any, is dropped (its candidates
were the earlier seeds only, whose runs may be gone).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from dalab import bench

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", required=True, help="comma-separated")
    ap.add_argument("--bench-dir", default="runs/bench")
    ap.add_argument("--docs", default=str(ROOT / "docs"))
    ap.add_argument("--command", required=True, help="the reproduce line for the header")
    ap.add_argument("--extend", action="store_true",
                    help="add the folder's seeds to the rows already there")
    a = ap.parse_args()
    methods = set(a.methods.split(","))
    old = json.loads((Path(a.docs) / "benchmarks.json").read_text())
    new = [r for r in bench.summarize(a.bench_dir) if r["method"] in methods]
    if a.extend:
        by_key = {(r["source"], r["target"], r["method"]): r for r in old}
        missing = [r["method"] for r in new
                   if (r["source"], r["target"], r["method"]) not in by_key]
        if missing:
            raise SystemExit(f"--extend: no row yet for {missing}: merge without --extend")
        new = [bench.extend_row(by_key[(r["source"], r["target"], r["method"])], r)
               for r in new]
    pairs = {(r["source"], r["target"], r["method"]) for r in new}
    rows = [r for r in old if (r["source"], r["target"], r["method"]) not in pairs] + new
    rows.sort(key=lambda r: (r["source"], r["target"], r["method"]))
    bench.add_gap_closed(rows)  # against the rows now in the table
    sel_path = Path(a.docs) / "benchmarks-selection.json"
    old_sel = json.loads(sel_path.read_text()) if sel_path.is_file() else []
    new_sel = [] if a.extend else [r for r in bench.selection_rows(a.bench_dir)
                                   if r["method"] in methods]
    keys = pairs if a.extend else {(r["source"], r["target"], r["method"]) for r in new_sel}
    sel = [r for r in old_sel if (r["source"], r["target"], r["method"]) not in keys] + new_sel
    sel.sort(key=lambda r: (r["source"], r["target"], r["method"]))
    md, js = bench.write_docs(rows, a.docs, a.command, sel)
    print(f"wrote {md} and {js}: {len(new)} row(s) replaced or added, "
          f"{len(new_sel)} selection row(s)")


if __name__ == "__main__":
    main()
