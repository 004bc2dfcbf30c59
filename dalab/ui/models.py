"""Models the app can show: zoo entries and the user's own runs (``runs/**/config.json``).

Pure functions (no Streamlit): the pages cache what these return."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from .. import zoo
from ..data import DomainPair
from ..runs import RunError, label_use, read_run_info, run_status

RUNS_DIR = Path("runs")
CHANCE = 1.5  # a target accuracy <= CHANCE / num_classes is "at chance" (uniform guess 1/n)
AT_CHANCE = " (at chance)"  # after such a model's label in every picker: picker_label


def available(runs_dir: str | Path = RUNS_DIR, capability: str | None = None,
              problems: list | None = None) -> list[dict]:
    """``[{"label", "path", "method", "source", "target", "accuracy", "num_classes",
    "at_chance", "origin", ...}]``: zoo first, then the user's runs (newest first). ``capability`` keeps only methods
    that declare it. ``at_chance``: whether the recorded target accuracy is no better than
    chance (:func:`at_chance`; pickers show it, :func:`picker_label`). A malformed zoo entry or run is left out, never
    raised: pass a list as ``problems`` to receive one line per left-out item."""
    from ..methods import METHODS

    out = []
    entries, bad = zoo.scan()
    if problems is not None:
        problems.extend(bad)
    for e in entries:
        path = zoo.zoo_dir() / e["path"]
        try:  # the index does not record it; the entry's run description does
            num_classes = read_run_info(path)["num_classes"]
        except (RunError, OSError):
            num_classes = None
        out.append({"label": f"zoo: {e['name']}", "path": str(path),
                    "method": e["method"], "source": e["source"], "target": e["target"],
                    "accuracy": e["accuracy"].get("target_test"), "num_classes": num_classes,
                    "origin": "zoo", "labels": label_use(e), "selection": selection_rule(e)})
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
                     "num_classes": info["num_classes"], "origin": "run", "status": status,
                     "labels": label_use(info),
                     "selection": f"your run (seed {info.get('seed', '?')}), not selected"}
        except (RunError, KeyError, TypeError, AttributeError, OSError) as err:
            if problems is not None:
                problems.append(f"{cfg}: left out ({type(err).__name__}: {err})")
            continue
        if status in ("running", "incomplete"):  # a checkpoint's weights: say so
            entry["label"] += f" ({status}, step {info.get('steps', '?')})"
        out.append(entry)
    for m in out:
        m["at_chance"] = at_chance(m["accuracy"], m["num_classes"])
    if capability:
        out = [m for m in out if m["method"] in METHODS
               and capability in METHODS[m["method"]].capabilities]
    return out


def at_chance(accuracy, num_classes) -> bool:
    """Whether a recorded target accuracy is no better than chance: ``<= 1.5 / num_classes``
    (0.15 for ten classes). No accuracy or no class count: ``False`` (unknown, not flagged)."""
    return (isinstance(accuracy, (int, float)) and isinstance(num_classes, int)
            and num_classes > 0 and accuracy <= CHANCE / num_classes)


def picker_label(m: dict) -> str:
    """A model's label as a picker lists it: ``"zoo: bridge_mnist_to_digits (at chance)"`` when
    its target accuracy is at chance, else ``m["label"]`` itself (which stays the model's
    name for lookups)."""
    return m["label"] + (AT_CHANCE if m.get("at_chance") else "")


def pair_of(m: dict) -> str:
    """A model's pair as the pickers name it: ``"mnist -> digits"``."""
    return f"{m['source']} -> {m['target']}"


_BEST_OF = re.compile(r"best of (\d+) seed\(s\) on (?:the )?(.+?):")


def selection_rule(entry: dict) -> str:
    """How a zoo entry was chosen among its seeds, read from its index note (``zoo build``
    writes "best of 3 seed(s) on <score>: ..."): ``"best of 3 seeds by held-out target train
    accuracy (oracle)"``, ``"best of 3 seeds by the label-free IWCV score"``, ``"one seed (0),
    not selected"``; ``"selection not recorded"`` when the note does not say."""
    from ..bench import SCORE_LABELS
    note, seed = str(entry.get("note") or ""), entry.get("seed", "?")
    m = _BEST_OF.search(note)
    if m and int(m.group(1)) > 1:
        how = m.group(2)
        for name, short in SCORE_LABELS.items():
            how = how.replace(f"{name} score", f"{short} score")
        if "held-out target" in how and "oracle" not in how:  # older notes do not say it
            how += " (oracle)"
        return f"best of {m.group(1)} seeds by {how}"
    if m or "not seed-selected" in note:
        return f"one seed ({seed}), not selected"
    return "selection not recorded"


def labels_phrase(labels: str) -> str:
    """:func:`dalab.runs.label_use`'s phrase as a picker says it: ``"semi-supervised: uses 10
    target labels per class"``, ``"supervised upper bound: uses target labels"``, ``""``."""
    if not labels:
        return ""
    if labels == "uses target labels":
        return f"supervised upper bound: {labels}"
    return f"semi-supervised: {labels}"


def option_label(m: dict) -> str:
    """A model as every picker lists it, its pair first (the lists are sorted by pair,
    :func:`by_pair`: Streamlit's selectbox has no groups): ``"mnist -> digits · cdlm · zoo:
    cdlm_mnist_to_digits · target acc 0.858 · best of 3 seeds by held-out target train accuracy
    (oracle)"``, then ``" · semi-supervised: uses 10 target labels per class"`` where the model
    used target labels; a model at chance says so after its name (:func:`picker_label`)."""
    acc = m.get("accuracy")
    parts = [pair_of(m), m["method"], picker_label(m),
             "target acc " + (f"{acc:.3f}" if isinstance(acc, (int, float)) else "-"),
             m.get("selection") or "selection not recorded"]
    if labels_phrase(m.get("labels", "")):
        parts.append(labels_phrase(m["labels"]))
    return " · ".join(parts)


def by_pair(models: list[dict]) -> list[dict]:
    """``models`` grouped by pair (pairs in alphabetical order), each pair's models in their
    order (zoo first, then your runs, newest first)."""
    return sorted(models, key=pair_of)


def link_name(m: dict) -> str:
    """The name a link gives a model (``?model=...``): a zoo entry's name
    (``cdlm_mnist_to_digits``), a run's folder (``runs/app/cdlm_...``)."""
    return m["label"].removeprefix("zoo: ") if m.get("origin") == "zoo" else str(m["path"])


def find_linked(models: list[dict], name) -> int | None:
    """Index in ``models`` of the model a link names (:func:`link_name`, or its label or
    path); ``None`` when none is."""
    if not isinstance(name, str) or not name:
        return None
    for i, m in enumerate(models):
        if name in (link_name(m), m["label"], str(m["path"])):
            return i
    return None


def needs(method: str | None = None, capability: str | None = None) -> str:
    """What a page needs, for its "no model" message: ``"a CDLM model (method cdlm)"``,
    ``"a model of a method with the encode capability (cdlm, dann, ...)"``."""
    from ..methods import METHODS
    if method:
        return f"a {method.upper() if method in ('cdlm', 'dann') else method} model " \
               f"(method {method})"
    having = sorted(n for n, cls in METHODS.items() if capability in cls.capabilities)
    return (f"a model of a method with the {capability} capability ({', '.join(having)})"
            if capability else "a trained model")


def no_model_message(method: str | None = None, capability: str | None = None,
                     example: str | None = None) -> str:
    """The page's message when no model can show it: what it needs and how to train one."""
    train = example or method or "dann"
    return (f"No model here can show this page: it needs {needs(method, capability)}. Train "
            f"one on the **Train** page (method {train}; it is saved under `runs/app/` and "
            f"appears here), or run `python -m dalab train --method {train} --source mnist "
            f"--target digits`, or ask for the pretrained zoo (`pretrained/`, "
            f"`DALAB_ZOO_DIR`).")


def latent_defaults(models: list[dict], chosen: int | None) -> tuple[int, int]:
    """The Latent vs prior page's opening pair of models ``(left, right)``, indices into
    ``models``: the paper's comparison (DFA Fig. 8-9) is a DFA model against source-only on
    the same pair. ``chosen`` (the sidebar's or a link's model, None when neither) stays on the
    left; otherwise the left is the DFA model of the highest target accuracy. The right
    is source-only on the left's pair when there is one, else the next model."""
    if chosen is None:
        dfa = [i for i, m in enumerate(models) if str(m["method"]).startswith("dfa")]
        chosen = max(dfa, key=lambda i: models[i]["accuracy"] or 0.0) if dfa else 0
    left = models[chosen] if models else None
    same = [i for i, m in enumerate(models) if left is not None and m["method"] == "source_only"
            and (m["source"], m["target"]) == (left["source"], left["target"]) and i != chosen]
    right = same[0] if same else min(1, len(models) - 1)
    return chosen, right


def default_index(models: list[dict], pair: str | None = None) -> int:
    """Index in ``models`` (entries of :func:`available`, already narrowed to what a page can
    show) of the model a picker opens on: among the models of ``pair`` (all models when none
    is of that pair, or ``pair`` is None or "any pair"), the highest recorded target accuracy of
    an unsupervised model, then models that used target labels (``target_only``, a declared
    budget: the page should open on adaptation, not on the upper bound), models at chance
    (:func:`at_chance`) and models without an accuracy last; 0 for none."""
    of_pair = [i for i, m in enumerate(models) if pair_of(m) == pair] or range(len(models))

    def rank(i):
        acc, n = models[i]["accuracy"], models[i].get("num_classes")
        known = isinstance(acc, (int, float))
        return (known and not at_chance(acc, n), not models[i].get("labels"),
                acc if known else -1.0)
    return max(of_pair, key=rank, default=0)


RESULT_FIELDS = ("source", "target", "method", "mean", "sd", "seeds", "gap_closed", "steps",
                 "steps_per_second", "device", "paper")


def load_results(path: str | Path) -> tuple[list[dict], str | None]:
    """The benchmark rows of ``docs/benchmarks.json`` that carry every field the Results page
    shows, and a message when the file is unreadable or rows were left out (never raises)."""
    import json

    try:
        rows = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
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
