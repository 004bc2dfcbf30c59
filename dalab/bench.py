"""``python -m dalab bench``: every registered method on the benchmark pairs, N seeds.

Each (method, pair, seed) is an ordinary run saved under ``OUT_DIR/<method>_<src>_to_<tgt>_seed<k>``
with a checkpoint every tenth of its steps, so the benchmark resumes: a finished run is not
trained again, a half-finished one (killed, or cut off by the end of a session) continues from
its last checkpoint. Benchmark runs are inspectable with ``dalab eval`` like any other. The summary (``summarize``) reads the runs
back and writes ``docs/benchmarks.md`` and ``docs/benchmarks.json``: target accuracy mean and
sample sd over seeds, the share of the source-only -> target-only gap closed, steps, wall time,
steps per second and device, and the number each method's paper reports on its nearest task
(``Method.paper_results``), labelled as a different dataset.

A newly registered method joins with no change here.
"""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Callable

from .methods import METHODS, get_method
from .runs import CONFIG, FINAL_STATUSES, RunError, label_use, read_run_info, run_status
from .train import resume, train

PAIRS = (("mnist", "digits"), ("digits", "mnist"), ("mnist", "mnistm"))
SEEDS = 3
QUICK_STEPS = 30


class BenchRunFailed(RuntimeError):
    """A run handed to ``run_bench``'s ``run_tasks`` (Ray) failed; the others were trained."""


def run_name(method: str, source: str, target: str, seed: int) -> str:
    return f"{method}_{source}_to_{target}_seed{seed}"


def run_bench(out_dir: str | Path, methods: list[str] | None = None, pairs=PAIRS,
              seeds: int = SEEDS, steps: int | None = None, device: str = "auto",
              log: Callable[[str], None] = print, peers: tuple[str, ...] = (),
              ema: float | None = None, augment: bool = False,
              run_tasks: Callable[..., list[dict]] | None = None,
              first_seed: int = 0) -> list[Path]:
    """Train every missing (method, pair, seed) run, then every missing skada peer run
    (``peers``, names from ``SKADA_METHODS``); returns the run directories. ``ema`` and
    ``augment`` are :func:`dalab.train.fit`'s engine options, the same for every method (keep
    one setting per ``out_dir``: a finished run is not retrained with another). The seeds are
    ``first_seed .. first_seed + seeds - 1`` (``dalab bench --first-seed``: add seeds to a
    row whose earlier seeds were trained elsewhere, then ``tools/merge_bench.py --extend``).

    With ``run_tasks`` (``dalab bench --ray`` passes :func:`dalab.sweep.run_tasks`, bound to
    its Ray address or CPUs), the runs to train or resume are handed to it in one list, as
    ``dalab sweep``'s jobs (``{"name", "action", "args"}``, ``args`` the keywords of
    :func:`dalab.sweep.train_one`), and scored there for the selection table; the skip rule is
    the same, and the skada peers are trained afterwards in this process. This module does not
    import the Ray layer itself (``tests/test_layering.py``)."""
    out_dir = Path(out_dir)
    methods = list(METHODS if methods is None else methods)
    for m in methods:
        get_method(m)  # unknown names fail before anything trains
    seed_ids = range(first_seed, first_seed + seeds)
    jobs = [(m, s, t, k) for (s, t) in pairs for m in methods for k in seed_ids]
    done, tasks = [], []
    for i, (m, s, t, k) in enumerate(jobs, 1):
        run_dir = out_dir / run_name(m, s, t, k)
        state = _state(run_dir)
        tag = f"[{i}/{len(jobs)}] {m} {s}->{t} seed {k}"
        n = steps or get_method(m).default_steps
        if state in FINAL_STATUSES:
            log(f"{tag}: already there{'' if state == 'finished' else f' ({state})'}, skipped")
        elif state == "running":
            log(f"{tag}: being trained by another process, skipped")
        elif run_tasks is not None:
            tasks.append({"name": run_dir.name,
                          "action": "resumed" if state == "incomplete" else "trained",
                          "args": dict(run_dir=str(run_dir.resolve()), method=m, source=s,
                                       target=t, values={}, seed=k, steps=n, ema=ema,
                                       augment=augment, state=state, device=device,
                                       score=not get_method(m).uses_target_labels)})
        else:
            t0 = time.perf_counter()
            if state == "incomplete":
                log(f"{tag}: resuming from its last checkpoint")
                _, res, _ = resume(run_dir, device=device)
            else:
                _, res, _ = train(m, s, t, n, seed=k, device=device, out=run_dir,
                                  checkpoint_every=max(1, n // 10), ema=ema, augment=augment)
            log(f"{tag}: target {res.accuracy['target_test']:.4f} "
                f"({res.status}, {res.steps_done} steps, {res.steps_per_second:.1f} steps/s, "
                f"{time.perf_counter() - t0:.0f} s)")
        done.append(run_dir)
    if tasks:
        failed = [r for r in run_tasks(tasks, log=log) if "error" in r]
        if failed:
            raise BenchRunFailed(f"{len(failed)} benchmark run(s) failed: "
                                 + "; ".join(f"{r['name']}: {r['error']}" for r in failed))
    for (s, t) in pairs:
        for name in peers:
            for k in seed_ids:
                run_dir = out_dir / run_name(f"skada-{name}", s, t, k)
                if not (run_dir / "peer.json").is_file():
                    r = run_skada(out_dir, name, s, t, k, steps or 3000)
                    log(f"[peer] skada {name} {s}->{t} seed {k}: target "
                        f"{r['accuracy']['target_test']:.4f} ({r['wall_time_s']:.0f} s)")
                done.append(run_dir)
    return done


def _state(run_dir: Path) -> str | None:
    """None (no run yet: train it), a final status, "running" or "incomplete" (resume it)."""
    if not (run_dir / CONFIG).is_file():
        return None
    try:
        info = read_run_info(run_dir)
    except RunError:
        return None  # unreadable: trained again (fit overwrites it atomically)
    status = run_status(info)
    if status in ("running", "incomplete") and not info.get("checkpoint"):
        return None
    if status == "stopped" and info.get("checkpoint"):
        return "incomplete"  # interrupted (Ctrl-C, a stop request): resume it
    return status


def incomplete_runs(out_dir: str | Path) -> list[str]:
    """Names of the runs under ``out_dir`` that are not finished (killed, still training)."""
    out = []
    for cfg in sorted(Path(out_dir).glob("*/" + CONFIG)):
        try:
            status = run_status(read_run_info(cfg.parent))
        except RunError:
            status = "unreadable"
        if status not in FINAL_STATUSES:
            out.append(f"{cfg.parent.name} ({status})")
    return out


def _mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarize(out_dir: str | Path) -> list[dict]:
    """One row per (pair, method) from the runs under ``out_dir``."""
    groups: dict[tuple, list[dict]] = {}
    files = sorted(Path(out_dir).glob("*/config.json")) + sorted(Path(out_dir).glob("*/peer.json"))
    for cfg in files:
        try:
            info = json.loads(cfg.read_text())
        except (OSError, ValueError):
            continue  # unreadable: listed by incomplete_runs
        if info.get("status") not in FINAL_STATUSES or "target_test" not in info.get(
                "accuracy", {}):
            continue  # killed or still training: incomplete_runs lists it
        groups.setdefault((info["pair"]["source"], info["pair"]["target"], info["method"]),
                          []).append(info)
    rows = []
    for (src, tgt, method), runs in sorted(groups.items()):
        acc = [r["accuracy"]["target_test"] for r in runs]
        mean, sd = _mean_sd(acc)
        row = {"source": src, "target": tgt, "method": method, "seeds": len(runs),
               "target_acc": acc, "mean": mean, "sd": sd,
               "steps": sorted({r["steps"] for r in runs}),
               "wall_time_s": statistics.mean(r["wall_time_s"] for r in runs),
               "steps_per_second": statistics.mean(r["steps_per_second"] for r in runs),
               "device": sorted({r["device"] for r in runs}),
               "status": sorted({r["status"] for r in runs}),
               "uses_target_labels": runs[0]["uses_target_labels"],
               "engine": sorted({engine_options(r) for r in runs}),
               "target_labels_per_class": runs[0].get("target_labels_per_class", 0)}
        extra = sorted({k for r in runs for k in r["accuracy"] if k.startswith("target_test_")})
        for k in extra:
            row[k] = list(_mean_sd([r["accuracy"][k] for r in runs if k in r["accuracy"]]))
        cls = METHODS.get(method)
        row["paper"] = [dict(p) for p in cls.paper_results] if cls else []
        rows.append(row)
    return add_gap_closed(rows)


def _pool(n1: int, m1: float, s1: float, n2: int, m2: float, s2: float) -> tuple[float, float]:
    """Mean and sample sd of two groups joined, from each group's size, mean and sample sd
    (exact: the same numbers as over the joined values)."""
    n = n1 + n2
    mean = (n1 * m1 + n2 * m2) / n
    if n < 2:
        return mean, 0.0
    ss = (n1 - 1) * s1 ** 2 + (n2 - 1) * s2 ** 2 + n1 * n2 / n * (m1 - m2) ** 2
    return mean, (ss / (n - 1)) ** 0.5


def extend_row(old: dict, new: dict) -> dict:
    """``old``'s table row with ``new``'s seeds added (``dalab bench --first-seed``): the
    per-seed accuracies joined in seed order, mean and sd (also of the ``target_test_*``
    extras) pooled exactly, wall time and steps/s averaged per run. Refuses rows of another
    pair or method, or trained with other steps or engine options (one recipe per row)."""
    key = ("source", "target", "method")
    if any(old[k] != new[k] for k in key):
        raise ValueError(f"cannot join {[old[k] for k in key]} and {[new[k] for k in key]}")
    absent = {"engine": ["-"], "target_labels_per_class": 0}  # rows from before the key
    for k in ("steps", "engine", "uses_target_labels", "target_labels_per_class"):
        if old.get(k, absent.get(k)) != new.get(k, absent.get(k)):
            raise ValueError(f"{new['method']} {new['source']}->{new['target']}: the new seeds "
                             f"differ in {k} ({old.get(k)} vs {new.get(k)}); one recipe per row")
    n1, n2 = old["seeds"], new["seeds"]
    row = dict(old)
    row["target_acc"] = list(old["target_acc"]) + list(new["target_acc"])
    row["seeds"] = n1 + n2
    row["mean"], row["sd"] = _mean_sd(row["target_acc"])
    for k in ("wall_time_s", "steps_per_second"):
        row[k] = (n1 * old[k] + n2 * new[k]) / (n1 + n2)
    for k in ("device", "status"):
        row[k] = sorted(set(old[k]) | set(new[k]))
    for k in sorted({k for r in (old, new) for k in r if k.startswith("target_test_")}):
        if k in old and k in new:
            row[k] = list(_pool(n1, *old[k], n2, *new[k]))
        else:
            raise ValueError(f"{new['method']}: {k} is reported by only some of the seeds")
    return row


def engine_options(info: dict) -> str:
    """The engine options a run was trained with, as the table shows them ("-": none)."""
    fs = info.get("fit") or {}
    parts = ([f"EMA {fs['ema']:g}"] if fs.get("ema") else []) + (
        ["augment"] if fs.get("augment") else [])
    return ", ".join(parts) or "-"


def add_gap_closed(rows: list[dict]) -> list[dict]:
    """Set each row's ``gap_closed``: the share of its pair's source-only -> target-only gap
    that its mean covers (None without both bounds in ``rows``). Returns ``rows``."""
    for row in rows:
        same = {r["method"]: r["mean"] for r in rows
                if (r["source"], r["target"]) == (row["source"], row["target"])}
        lo, hi = same.get("source_only"), same.get("target_only")
        row["gap_closed"] = ((row["mean"] - lo) / (hi - lo)
                             if lo is not None and hi is not None and hi > lo else None)
    return rows


def to_markdown(rows: list[dict]) -> str:
    lines = ["| pair | method | target acc (mean ± sd) | per seed | gap closed | steps | "
             "engine | wall s/run | steps/s | device | paper (different dataset) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        gap = f"{100 * r['gap_closed']:.0f} %" if r["gap_closed"] is not None else "-"
        paper = r["paper"]
        ptxt = "; ".join(f"{p['task']}: {p['accuracy']:.3f}" for p in paper) if paper else "-"
        extras = "".join(f"<br>{k.removeprefix('target_test_')}: {v[0]:.4f} ± {v[1]:.4f}"
                         for k, v in r.items() if k.startswith("target_test_"))
        lines.append(
            f"| {r['source']}->{r['target']} | {r['method']}"
            f"{f' ({label_use(r)})' if label_use(r) else ''} | "
            f"{r['mean']:.4f} ± {r['sd']:.4f}{extras} | "
            f"{', '.join(f'{a:.3f}' for a in r['target_acc'])} | {gap} | "
            f"{'/'.join(map(str, r['steps']))} | {'; '.join(r.get('engine', ['-']))} | "
            f"{r['wall_time_s']:.0f} | "
            f"{r['steps_per_second']:.1f} | {', '.join(r['device'])} | {ptxt} |")
    return "\n".join(lines) + "\n"


def write_results(rows: list[dict], json_path: str | Path) -> None:
    """``docs/benchmarks.json``, written atomically (the Results page reads it any time)."""
    from .runs import _atomic_write
    text = json.dumps(rows, indent=2) + "\n"
    _atomic_write(Path(json_path), lambda tmp: Path(tmp).write_text(text))


def write_docs(rows: list[dict], docs_dir: str | Path, command: str,
               selection: list[dict] | None = None) -> tuple[Path, Path]:
    """``docs/benchmarks.md`` (header, table, how to reproduce, and the selection table when
    ``selection`` rows are given) and ``docs/benchmarks.json`` (plus
    ``docs/benchmarks-selection.json``)."""
    import os
    import platform

    import torch

    docs_dir = Path(docs_dir)
    docs_dir.mkdir(parents=True, exist_ok=True)
    md, js = docs_dir / "benchmarks.md", docs_dir / "benchmarks.json"
    header = (
        "# Benchmarks\n\n"
        "Generated by `python -m dalab bench` from the runs it saved; do not edit the table by "
        "hand. Target accuracy is on the target domain's test split (docs/data.md), mean ± "
        "sample sd over seeds; *gap closed* = (acc - source_only) / (target_only - "
        "source_only) on the same pair. Steps/s counts training steps only (evaluation "
        "excluded). The paper column is what each method's paper reports on its nearest task: "
        "**a different dataset** (e.g. full MNIST -> USPS), for orientation only. Wall "
        "times and steps/s depend on what else the machine was running (the benchmark "
        "shares a 2-core machine); `docs/timings.md` (`python -m dalab timings`) measures "
        "training speed on its own, with CPU seconds per step.\n\n"
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads by default). Reproduce: `{command}`.\n\n")
    sel = (SELECTION_INTRO + selection_markdown(selection)) if selection else ""
    md.write_text(header + to_markdown(rows) + sel)
    write_results(rows, js)
    if selection:
        write_results(selection, docs_dir / "benchmarks-selection.json")
    return md, js


# -- model selection: each label-free score's choice next to the oracle's ---------------------

SELECTION_FILE = "selection.json"   # per run: its scores, cached by the weights' hash
SCORE_LABELS = {"prediction_entropy": "entropy", "soft_neighborhood": "SND",
                "importance_weighted": "IWCV", "deep_embedded": "DEV"}


def run_scores(run_dir: str | Path) -> dict:
    """The label-free scores of one finished run (:func:`dalab.analysis.selection.score_model`),
    its held-out target-train accuracy (the oracle, :func:`dalab.zoo.held_out_accuracy`) and its
    recorded target test accuracy; cached in ``run_dir/selection.json`` for these weights."""
    from .analysis.selection import score_model
    from .runs import load_pair, load_run
    from .zoo import held_out_accuracy

    run_dir = Path(run_dir)
    info = read_run_info(run_dir)
    sha = (info.get("weights") or {}).get("sha256")
    cache = run_dir / SELECTION_FILE
    if cache.is_file():
        try:
            got = json.loads(cache.read_text())
            if got.get("weights_sha256") == sha:
                return got
        except (OSError, ValueError):
            pass
    model, info = load_run(run_dir)
    got = {k: float(v) for k, v in score_model(model, load_pair(run_dir, info)).items()}
    got.update(held_out=float(held_out_accuracy(run_dir)),
               target_test=float(info["accuracy"]["target_test"]), weights_sha256=sha)
    cache.write_text(json.dumps(got, indent=1))
    return got


def score_picks(scores: list[dict]) -> dict[str, int]:
    """Index of the entry each label-free score picks (its direction respected), and under
    "oracle" the one with the best held-out target-train accuracy; ``scores`` as
    :func:`run_scores` returns them. Shared by the benchmark and ``dalab sweep``."""
    from .analysis.selection import SCORES, best_by

    out = {name: best_by(scores, name) for name in SCORES}
    out["oracle"] = max(range(len(scores)), key=lambda i: scores[i]["held_out"])
    return out


def selection_rows(out_dir: str | Path, log: Callable[[str], None] = print) -> list[dict]:
    """Per (pair, method) of unsupervised runs with at least two finished seeds: the mean
    target test accuracy of the final checkpoints, the test accuracy of the seed the oracle
    (held-out target-train labels) picks, and of the seed each label-free score picks (as
    skada-bench reports selection; here the candidates are the seeds of one configuration)."""
    groups: dict[tuple, list[Path]] = {}
    for cfg in sorted(Path(out_dir).glob("*/" + CONFIG)):
        try:
            info = read_run_info(cfg.parent)
        except RunError:
            continue
        if (info.get("status") != "finished" or info.get("uses_target_labels")
                or info.get("target_labels_per_class") or "target_test" not in info.get(
                    "accuracy", {})):
            continue
        groups.setdefault((info["pair"]["source"], info["pair"]["target"], info["method"]),
                          []).append(cfg.parent)
    rows = []
    for (src, tgt, method), dirs in sorted(groups.items()):
        if len(dirs) < 2:
            continue
        try:
            scores = [run_scores(d) for d in dirs]
        except (RunError, ValueError, RuntimeError) as e:
            log(f"selection: {src}->{tgt} {method} skipped ({e})")
            continue
        test = [sc["target_test"] for sc in scores]
        row = {"source": src, "target": tgt, "method": method, "seeds": len(dirs),
               "final_mean": statistics.mean(test), "worst": min(test), "best": max(test),
               "runs": [d.name for d in dirs], "scores": scores}
        row.update({name: test[i] for name, i in score_picks(scores).items()})
        rows.append(row)
    return rows


def selection_markdown(rows: list[dict]) -> str:
    from .analysis.selection import SCORES

    head = ("| pair | method | seeds | final, mean | worst / best seed | oracle pick "
            "(target labels) | " + " | ".join(f"{SCORE_LABELS[n]} pick" for n in SCORES) + " |")
    lines = [head, "|" + "---|" * (6 + len(SCORES))]
    for r in rows:
        lines.append(f"| {r['source']}->{r['target']} | {r['method']} | {r['seeds']} | "
                     f"{r['final_mean']:.4f} | {r['worst']:.3f} / {r['best']:.3f} | "
                     f"{r['oracle']:.4f} | " + " | ".join(f"{r[n]:.4f}" for n in SCORES) + " |")
    return "\n".join(lines) + "\n"


SELECTION_INTRO = (
    "\n## Selection without target labels\n\n"
    "Which seed a model selection rule would pick, and the target *test* accuracy of that "
    "pick. *Oracle* picks by the held-out 20 % of the target train split with its labels (not "
    "allowed in unsupervised DA; shown for reference). The label-free scores "
    "(`dalab.analysis.selection`) see only labelled source test images and unlabelled target "
    "train images: prediction entropy (lower is better), soft neighbourhood density (SND, "
    "higher), importance-weighted source accuracy (IWCV, higher) and deep embedded "
    "validation (DEV, lower). The candidates are the seeds of each row.\n\n")


# -- a peer implementation in the same run ------------------------------------------------

SKADA_METHODS = ("DANN", "SourceOnly", "DeepCoral")


def run_skada(out_dir: str | Path, method: str, source: str, target: str, seed: int,
              steps: int = 3000, batch_size: int = 64, device: str = "cpu") -> dict:
    """Train skada's ``DANN``, ``SourceOnly`` or ``DeepCoral`` (skorch-based;
    ``requirements-bench.txt``) on
    the very arrays our methods see: the same pair, split and LeNet-style networks
    (``dalab.nn``), SGD momentum 0.9, lr 0.01, weight decay 5e-4, and as many epochs as our
    ``steps`` cover (``ceil(steps * batch_size / n_source_train)``). skada's own defaults are
    kept where ours differ: its domain classifier has BatchNorm and a softmax, its GRL weight
    is constant (no warm-up), its learning rate is not annealed; DeepCoral's CORAL weight is
    skada's default ``reg=1`` (Sun & Saenko 2016 pick it so the two losses end up comparable;
    we do not tune it on target labels). Result: a JSON file (skorch
    nets are not safetensors runs), read by ``summarize`` as method ``skada:<name>``."""
    import math

    import numpy as np
    import torch
    from torch import nn

    from . import __version__
    from .data import DomainPair
    from .nn import make_classifier, make_features
    from .train import seed_everything

    if method not in SKADA_METHODS:
        raise ValueError(f"skada method {method!r}: choose one of {', '.join(SKADA_METHODS)}")
    import skada
    from skada import deep

    class Net(nn.Module):  # our backbone with a named feature layer for skada's hook
        def __init__(self, input_shape, k):
            super().__init__()
            self.G = make_features(input_shape)
            self.feature = nn.Identity()
            self.C = make_classifier(self.G.out_features, k)

        def forward(self, x, sample_weight=None):
            return self.C(self.feature(self.G(x)))

    pair = DomainPair(source, target)
    seed_everything(seed)
    x_s, y_s, x_t = pair.x_s_train, pair.y_s_train, pair.x_t_train
    epochs = max(1, math.ceil(steps * batch_size / len(y_s)))
    common = dict(batch_size=batch_size, max_epochs=epochs, optimizer=torch.optim.SGD,
                  optimizer__momentum=0.9, optimizer__weight_decay=5e-4, lr=0.01,
                  train_split=None, device=device, verbose=0)
    module = Net(pair.input_shape, pair.num_classes)
    if method == "DANN":
        net = deep.DANN(module, layer_name="feature", reg=1.0,
                        num_features=module.G.out_features, **common)
    elif method == "DeepCoral":
        net = deep.DeepCoral(module, layer_name="feature", reg=1.0, **common)
    else:
        net = deep.SourceOnly(module, layer_name="feature", **common)
    X = np.concatenate([x_s, x_t]).astype(np.float32)
    y = np.concatenate([y_s, np.full(len(x_t), -1)]).astype(np.int64)  # target labels masked
    sd = np.r_[np.ones(len(y_s)), -2 * np.ones(len(x_t))].astype(np.int64)
    t0 = time.perf_counter()
    net.fit(X, y, sample_domain=sd)
    wall = time.perf_counter() - t0
    ev = pair.evaluation
    pred = net.predict(ev.x_test.astype(np.float32),
                       sample_domain=-2 * np.ones(len(ev.y_test), np.int64), allow_source=False)
    acc = float((np.asarray(pred) == ev.y_test).mean())
    result = {"format": "dalab-peer/1", "method": f"skada:{method}", "peer": "skada",
              "peer_version": skada.__version__, "dalab_version": __version__,
              "pair": pair.describe(), "seed": seed, "steps": steps, "epochs": epochs,
              "accuracy": {"target_test": acc}, "wall_time_s": round(wall, 3),
              "steps_per_second": round(steps / wall, 2), "device": device,
              "status": "finished", "uses_target_labels": False}
    run_dir = Path(out_dir) / run_name(f"skada-{method}", source, target, seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "peer.json").write_text(json.dumps(result, indent=2))
    return result
