"""The runs behind a benchmark row (issue 22): which runs make it, under which recipe, and
each seed's learning curves, read from the campaign folder ``bench/`` (pure: no Streamlit).

A row of ``docs/benchmarks.json`` lists its runs (``row["runs"]``, folders relative to the
campaign folder). :func:`row_runs` returns one record per run with its recipe, seed, status,
target test accuracy and two curves: the training loss from ``metrics.csv`` (averaged over
windows of ``window`` steps, so a 3,000-step run is 60 points) and the target test accuracy of
each evaluation (``config.json``'s history). Peers (skada) have no curves.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..runs import CONFIG, RunError, read_metrics, read_run_info


def _window_mean(steps: list[int], values: list[float], window: int) -> tuple[list, list]:
    xs, ys = [], []
    for i in range(0, len(values), window):
        chunk = values[i:i + window]
        if chunk:
            xs.append(steps[min(i + window, len(steps)) - 1])
            ys.append(sum(chunk) / len(chunk))
    return xs, ys


def row_runs(root: str | Path, row: dict, window: int = 50) -> list[dict]:
    """``[{"run", "seed", "recipe", "status", "target_test", "loss_steps", "loss",
    "eval_steps", "eval_target", "problem"}]`` for the runs of ``row`` under ``root``. A run
    that cannot be read is listed with its ``problem`` and no curves."""
    out = []
    for rel in row.get("runs", []):
        d = Path(root) / rel
        rec = {"run": rel, "seed": None, "recipe": "-", "status": "-", "target_test": None,
               "loss_steps": [], "loss": [], "eval_steps": [], "eval_target": [],
               "problem": None}
        try:
            if (d / CONFIG).is_file():
                info = read_run_info(d)
            else:
                info = json.loads((d / "peer.json").read_text())
                if not isinstance(info, dict):
                    raise ValueError("not a JSON object")
        except (OSError, ValueError, RunError, RecursionError) as e:
            rec["problem"] = f"unreadable ({e})"
            out.append(rec)
            continue
        rec.update(seed=info.get("seed"), status=info.get("status", "-"),
                   recipe=(info.get("recipe") or {}).get("key", "-"),
                   target_test=(info.get("accuracy") or {}).get("target_test"))
        hist = [h for h in info.get("history") or [] if "target_test" in h and "step" in h]
        rec["eval_steps"] = [h["step"] for h in hist]
        rec["eval_target"] = [h["target_test"] for h in hist]
        rows = [r for r in read_metrics(d) if "loss" in r] if (d / CONFIG).is_file() else []
        rec["loss_steps"], rec["loss"] = _window_mean([r["step"] for r in rows],
                                                      [r["loss"] for r in rows], window)
        out.append(rec)
    return out


def runs_table(records: list[dict]) -> list[dict]:
    """The runs of a row as table rows (run folder, seed, recipe, status, target test)."""
    return [{"run": r["run"], "seed": r["seed"], "recipe": r["recipe"], "status": r["status"],
             "target test": r["target_test"], "problem": r["problem"] or ""} for r in records]
