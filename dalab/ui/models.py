"""Models the app can show: zoo entries and the user's own runs (``runs/**/config.json``).

Pure functions (no Streamlit): the pages cache what these return."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .. import zoo
from ..data import DomainPair
from ..runs import RunError, label_use, read_run_info, run_status

RUNS_DIR = Path("runs")


def available(runs_dir: str | Path = RUNS_DIR, capability: str | None = None,
              problems: list | None = None) -> list[dict]:
    """``[{"label", "path", "method", "source", "target", "accuracy", "origin"}]``: zoo first,
    then the user's runs (newest first). ``capability`` keeps only methods that declare it.
    A malformed zoo entry or run is left out, never raised: pass a list as ``problems`` to
    receive one line per left-out item."""
    from ..methods import METHODS

    out = []
    entries, bad = zoo.scan()
    if problems is not None:
        problems.extend(bad)
    for e in entries:
        out.append({"label": f"zoo: {e['name']}", "path": str(zoo.zoo_dir() / e["path"]),
                    "method": e["method"], "source": e["source"], "target": e["target"],
                    "accuracy": e["accuracy"].get("target_test"), "origin": "zoo",
                    "labels": label_use(e)})
    runs = sorted(Path(runs_dir).glob("**/config.json"), key=lambda p: p.stat().st_mtime,
                  reverse=True) if Path(runs_dir).is_dir() else []
    for cfg in runs:
        try:
            info = read_run_info(cfg.parent)
            status = run_status(info)
            entry = {"label": f"run: {cfg.parent.relative_to(runs_dir)}",
                     "path": str(cfg.parent), "method": info["method"],
                     "source": info["pair"]["source"], "target": info["pair"]["target"],
                     "accuracy": (info.get("accuracy") or {}).get("target_test"),
                     "origin": "run", "status": status, "labels": label_use(info)}
        except (RunError, KeyError, TypeError, AttributeError, OSError) as err:
            if problems is not None:
                problems.append(f"{cfg}: left out ({type(err).__name__}: {err})")
            continue
        if status in ("running", "incomplete"):  # a checkpoint's weights: say so
            entry["label"] += f" ({status}, step {info.get('steps', '?')})"
        out.append(entry)
    if capability:
        out = [m for m in out if m["method"] in METHODS
               and capability in METHODS[m["method"]].capabilities]
    return out


RESULT_FIELDS = ("source", "target", "method", "mean", "sd", "seeds", "gap_closed", "steps",
                 "steps_per_second", "device", "paper")


def load_results(path: str | Path) -> tuple[list[dict], str | None]:
    """The benchmark rows of ``docs/benchmarks.json`` that carry every field the Results page
    shows, and a message when the file is unreadable or rows were left out (never raises)."""
    import json

    try:
        rows = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        return [], f"{path} could not be read ({e}); rerun `python -m dalab bench --summarize-only`."
    if not isinstance(rows, list):
        return [], f"{path} does not hold a list of benchmark rows."
    good = [r for r in rows if isinstance(r, dict) and all(k in r for k in RESULT_FIELDS)
            and isinstance(r["steps"], list) and isinstance(r["device"], list)
            and isinstance(r["paper"], list)]
    left = len(rows) - len(good)
    return good, (f"{left} malformed row(s) of {path} left out." if left else None)


def results_table(rows: list[dict]) -> list[dict]:
    """The Results page's table of one pair's benchmark rows (:func:`load_results`), best mean
    first: the method (with its use of target labels), mean, sd (``"-"`` for a single seed,
    which has no sd), seeds, gap closed, steps, steps/s, device and the papers' numbers."""
    table = [{"method": r["method"] + (f" ({label_use(r)})" if label_use(r) else ""),
              "mean": r["mean"], "sd": f"{r['sd']:.4f}" if r["seeds"] > 1 else "-",
              "seeds": r["seeds"], "gap closed": r["gap_closed"],
              "steps": "/".join(map(str, r["steps"])), "steps/s": r["steps_per_second"],
              "device": ", ".join(r["device"]),
              "paper (different dataset)": "; ".join(f"{p['task']}: {p['accuracy']:.3f}"
                                                     for p in r["paper"])}
             for r in rows]
    return sorted(table, key=lambda r: -r["mean"])


def accuracy_text(value, labels: str = "") -> str:
    """A model's recorded target accuracy for a label: ``"0.858"``, or ``"-"`` when there is
    none yet (a run killed before its first evaluation, a target without labels); ``labels``
    (:func:`dalab.runs.label_use`) is appended where the model used target labels:
    ``"0.912, uses 10 target labels per class"``."""
    text = f"{value:.3f}" if isinstance(value, (int, float)) else "-"
    return f"{text}, {labels}" if labels else text


@torch.no_grad()
def encode_test_sets(model, pair: DomainPair, max_per_domain: int = 1000, seed: int = 0) -> dict:
    """``model.encode`` on the source and target *test* splits (subsampled, seeded):
    ``{"h_s", "h_t", "mu_s", "mu_t" (None unless the method is a VAE), "y_s", "y_t"}``
    (target labels: for colouring only)."""
    rng = np.random.default_rng(seed)
    model.eval()
    out = {}
    for side, x, y, domain in (("s", pair.x_s_test, pair.y_s_test, "source"),
                               ("t", pair.evaluation.x_test, pair.evaluation.y_test, "target")):
        idx = np.sort(rng.choice(len(y), min(max_per_domain, len(y)), replace=False))
        lat = model.encode_numpy(x[idx], domain)
        out[f"h_{side}"] = lat["h"].reshape(len(idx), -1)
        out[f"mu_{side}"] = lat["mu"].reshape(len(idx), -1) if lat["mu"] is not None else None
        out[f"y_{side}"] = y[idx]
    return out
