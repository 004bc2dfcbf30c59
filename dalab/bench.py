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
import os
import shutil
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
CAMPAIGN_DIR = "bench"          # the tracked campaign folder (issue 22), relative to the checkout
RECIPE_FILE = "recipe.json"     # per run: the recipe it was trained by (dalab.recipes)
COMMIT_EVERY_S = 1800.0         # --commit: at most this long between commits of a training run


class BenchRunFailed(RuntimeError):
    """A run handed to ``run_bench``'s ``run_tasks`` (Ray) failed; the others were trained."""


def run_name(method: str, source: str, target: str, seed: int) -> str:
    """A run's folder under the benchmark folder: ``<src>_to_<tgt>/<method>/seed<k>``."""
    return f"{source}_to_{target}/{method}/seed{seed}"


def run_dirs(out_dir: str | Path, file: str = CONFIG) -> list[Path]:
    """The run folders under a benchmark folder that hold ``file`` (``config.json`` for our
    runs, ``peer.json`` for skada's), in the ``pair/method/seed`` layout; sorted."""
    return sorted(p.parent for p in Path(out_dir).glob(f"*/*/*/{file}"))


def recipe_of(run_dir: Path) -> dict | None:
    """The recipe a run records (``recipe.json``), None when it has none or it is unreadable."""
    try:
        got = json.loads((Path(run_dir) / RECIPE_FILE).read_text())
    except (OSError, ValueError, RecursionError):
        return None
    return got if isinstance(got, dict) else None


def _write_recipe(run_dir: Path, recipe) -> None:
    from .runs import _atomic_write
    run_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(recipe.describe(), indent=1) + "\n"
    _atomic_write(run_dir / RECIPE_FILE, lambda tmp: Path(tmp).write_text(text))


def _stale(run_dir: Path, recipe) -> bool:
    """True when ``run_dir`` holds a run of another recipe than ``recipe`` (or of none)."""
    if not run_dir.exists() or not any(run_dir.iterdir()):
        return False
    got = recipe_of(run_dir)
    return got is None or got.get("key") != recipe.key()


def run_bench(out_dir: str | Path, methods: list[str] | None = None, pairs=PAIRS,
              seeds: int = SEEDS, steps: int | None = None, device: str = "auto",
              log: Callable[[str], None] = print, peers: tuple[str, ...] = (),
              ema: float | None = None, augment: bool = False,
              run_tasks: Callable[..., list[dict]] | None = None,
              first_seed: int = 0, recipes: dict | None = None,
              commit: Callable[[str], None] | None = None,
              commit_every_s: float = COMMIT_EVERY_S) -> list[Path]:
    """Train every missing (method, pair, seed) run, then every missing skada peer run
    (``peers``, names from ``SKADA_METHODS``); returns the run directories.

    Each method is trained by its recipe (:mod:`dalab.recipes`): ``recipes`` maps method names
    to :class:`~dalab.recipes.Recipe` (default: ``recipes.CURRENT``, or one-off recipes when
    ``steps``, ``ema`` or ``augment`` are given). A run records its recipe (``recipe.json``
    and ``config.json["recipe"]``); a finished run of the same recipe is skipped, an
    interrupted one resumed from its last checkpoint, and a run of *another* recipe is deleted
    and trained again (rows are never merged across recipes). A finished run keeps only its
    final weights (float16 where the evaluation is unchanged, :func:`compact_run`), its
    rounded ``metrics.csv`` and its label-free scores (``selection.json``).

    ``commit(message)`` (``dalab bench --commit``) is called after each finished run and at a
    checkpoint once ``commit_every_s`` passed since the last call, so that a session that ends
    abruptly loses at most that much training.

    With ``run_tasks`` (``dalab bench --ray`` passes :func:`dalab.sweep.run_tasks`, bound to
    its Ray address or CPUs), the runs to train or resume are handed to it in one list, as
    ``dalab sweep``'s jobs (``{"name", "action", "args"}``, ``args`` the keywords of
    :func:`dalab.sweep.train_one`), and scored there for the selection table; the skip rule is
    the same, and the skada peers are trained afterwards in this process. This module does not
    import the Ray layer itself (``tests/test_layering.py``)."""
    from . import recipes as rc

    out_dir = Path(out_dir)
    methods = list((recipes or rc.CURRENT) if methods is None else methods)
    for m in methods:
        get_method(m)  # unknown names fail before anything trains
    adhoc = steps is not None or ema is not None or augment
    book = {m: (recipes[m] if recipes and m in recipes and not adhoc
                else rc.adhoc(m, steps, ema, augment) if adhoc else rc.current(m))
            for m in methods}
    seed_ids = range(first_seed, first_seed + seeds)
    jobs = [(m, s, t, k) for (s, t) in pairs for m in methods for k in seed_ids]
    done, tasks = [], []
    last_commit = [time.monotonic()]

    def maybe_commit(message: str, path: Path, force: bool = False) -> None:
        if commit is not None and (force or time.monotonic() - last_commit[0] >= commit_every_s):
            commit(message, path)
            last_commit[0] = time.monotonic()

    for i, (m, s, t, k) in enumerate(jobs, 1):
        recipe = book[m]
        run_dir = out_dir / run_name(m, s, t, k)
        tag = f"[{i}/{len(jobs)}] {m} {s}->{t} seed {k}"
        state = _state(run_dir)
        if state != "running" and _stale(run_dir, recipe):
            old = (recipe_of(run_dir) or {}).get("key", "no recipe")
            log(f"{tag}: holds a run of another recipe ({old}), trained again")
            shutil.rmtree(run_dir)
            state = None
        n = recipe.steps
        if state in FINAL_STATUSES:
            log(f"{tag}: already there{'' if state == 'finished' else f' ({state})'}, skipped")
        elif state == "running":
            log(f"{tag}: being trained by another process, skipped")
        elif run_tasks is not None:
            _write_recipe(run_dir, recipe)
            tasks.append({"name": run_name(m, s, t, k),
                          "action": "resumed" if state == "incomplete" else "trained",
                          "args": dict(run_dir=str(run_dir.resolve()), method=m, source=s,
                                       target=t, values=dict(o.split("=", 1)
                                                             for o in recipe.overrides),
                                       seed=k, steps=n, ema=recipe.ema,
                                       augment=recipe.augment, state=state, device=device,
                                       score=not get_method(m).uses_target_labels,
                                       extra={"recipe": recipe.describe()})})
        else:
            t0 = time.perf_counter()
            _write_recipe(run_dir, recipe)

            def at_checkpoint(e, name=run_name(m, s, t, k), tag=tag, t0=t0, run_dir=run_dir):
                if e.kind == "checkpoint" and 0 < e.step < e.total:
                    maybe_commit(f"bench: {name} at step {e.step} of {e.total} (checkpoint)",
                                 run_dir)
                elif e.kind == "eval" and e.step < e.total:  # progress, every tenth of a run
                    acc = e.metrics.get("target_test", e.metrics.get("source_test"))
                    left = (time.perf_counter() - t0) / max(e.step, 1) * (e.total - e.step)
                    log(f"{tag}: step {e.step}/{e.total}"
                        + (f", target {acc:.4f}" if acc is not None else "")
                        + f", ~{left / 60:.0f} min left")
            if state == "incomplete":
                log(f"{tag}: resuming from its last checkpoint")
                _, res, _ = resume(run_dir, device=device, callbacks=[at_checkpoint])
            else:
                log(f"{tag}: training {n} steps (recipe {recipe.key()})")
                _, res, _ = train(m, s, t, n, seed=k, device=device, out=run_dir,
                                  overrides=list(recipe.overrides),
                                  checkpoint_every=max(1, n // 10), ema=recipe.ema,
                                  augment=recipe.augment, callbacks=[at_checkpoint],
                                  extra={"recipe": recipe.describe()})
            log(f"{tag}: target {res.accuracy.get('target_test', float('nan')):.4f} "
                f"({res.status}, {res.steps_done} steps, {res.steps_per_second:.1f} steps/s, "
                f"{time.perf_counter() - t0:.0f} s)")
            if res.status == "finished":
                finish_run(run_dir, log=log)
                maybe_commit(f"bench: {run_name(m, s, t, k)} ({recipe.name}) target "
                             f"{res.accuracy.get('target_test', float('nan')):.4f}", run_dir,
                             force=True)
        done.append(run_dir)
    if tasks:
        results = run_tasks(tasks, log=log)
        for task, r in zip(tasks, results):
            if r.get("status") == "finished":
                finish_run(Path(task["args"]["run_dir"]), log=log)
                maybe_commit(f"bench: {task['name']} target {r.get('target_test', 0):.4f}",
                             Path(task["args"]["run_dir"]), force=True)
        failed = [r for r in results if "error" in r]
        if failed:
            raise BenchRunFailed(f"{len(failed)} benchmark run(s) failed: "
                                 + "; ".join(f"{r['name']}: {r['error']}" for r in failed))
    for (s, t) in pairs:
        for name in peers:
            peer = rc.PEERS.get(name) or rc.PeerRecipe(f"skada-{name}", name)
            if adhoc and steps:
                peer = rc.PeerRecipe(f"skada-{name}-adhoc", name, steps)
            for k in seed_ids:
                run_dir = out_dir / run_name(f"skada-{name}", s, t, k)
                got = None
                try:
                    got = json.loads((run_dir / "peer.json").read_text())
                except (OSError, ValueError, RecursionError):
                    pass
                if not isinstance(got, dict) or got.get("recipe", {}).get("key") != peer.key():
                    r = run_skada(out_dir, name, s, t, k, peer.steps, recipe=peer)
                    log(f"[peer] skada {name} {s}->{t} seed {k}: target "
                        f"{r['accuracy']['target_test']:.4f} ({r['wall_time_s']:.0f} s)")
                    maybe_commit(f"bench: {run_name(f'skada-{name}', s, t, k)} target "
                                 f"{r['accuracy']['target_test']:.4f}", run_dir, force=True)
                done.append(run_dir)
    return done


def finish_run(run_dir: str | Path, log: Callable[[str], None] = print) -> None:
    """What a finished benchmark run keeps: its weights stored as float16 when the recorded
    evaluation is unchanged by it (:func:`compact_run`), ``metrics.csv`` rounded to 5
    significant digits, and its label-free scores (``selection.json``, unsupervised runs)."""
    run_dir = Path(run_dir)
    compact_run(run_dir, log=log)
    round_metrics(run_dir)
    info = read_run_info(run_dir)
    if not info.get("uses_target_labels") and not info.get("target_labels_per_class"):
        try:
            run_scores(run_dir)
        except (RunError, ValueError, RuntimeError) as e:
            log(f"{run_dir}: not scored ({e})")


def compact_run(run_dir: str | Path, log: Callable[[str], None] = print) -> bool:
    """Store a finished run's weights as float16 if every recorded accuracy is the same when
    evaluated with them (the evaluation "allows" it); else leave float32. Returns whether the
    weights are now float16. The config's weights record (sha256, bytes, ``stored_as``) follows."""
    import torch
    from safetensors.torch import load_file, load_model, save_file

    from .methods import build_method
    from .runs import WEIGHTS, _write_config, load_pair, sha256_file
    from .train import evaluate_pair

    run_dir = Path(run_dir)
    info = read_run_info(run_dir)
    if info.get("weights", {}).get("stored_as") == "float16":
        return True
    if info.get("status") != "finished" or info["weights"].get("file") != WEIGHTS:
        return False
    path = run_dir / WEIGHTS
    tensors = load_file(str(path))
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in tensors.items()}
    tmp = run_dir / ".model.fp16.tmp"
    save_file(half, str(tmp), metadata={"format": "dalab-run/1", "stored_as": "float16"})
    try:
        model = build_method(info["method"], input_shape=info["input_shape"],
                             num_classes=info["num_classes"], config=info["config"], saved=True)
        load_model(model, str(tmp), strict=True)
        model.eval()
        acc = evaluate_pair(model, load_pair(run_dir, info), torch.device("cpu"))
    except Exception as e:  # noqa: BLE001 (kept as float32, said why)
        tmp.unlink(missing_ok=True)
        log(f"{run_dir}: kept float32 ({type(e).__name__}: {e})")
        return False
    # every accuracy the saved weights reproduce (target_test_raw, of the raw weights beside
    # an EMA, is not theirs to reproduce)
    changed = [k for k, v in acc.items() if k.startswith(("target_test", "source_test"))
               and k in info["accuracy"] and info["accuracy"][k] != v]
    if changed:
        tmp.unlink(missing_ok=True)
        log(f"{run_dir}: kept float32 (float16 changes {', '.join(changed)})")
        return False
    os.replace(tmp, path)
    info["weights"] = {"file": WEIGHTS, "sha256": sha256_file(path),
                       "bytes": path.stat().st_size, "stored_as": "float16"}
    _write_config(run_dir, info)
    return True


def round_metrics(run_dir: str | Path, digits: int = 5) -> None:
    """Rewrite a finished run's ``metrics.csv`` with ``digits`` significant digits (a third of
    its size: the per-step curves are for the eye, the recorded accuracies are exact)."""
    import csv

    from .runs import METRICS, _atomic_write
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        rows = list(reader)
    if header is None:
        return

    def fmt(v: str) -> str:
        try:
            return f"{float(v):.{digits}g}"
        except ValueError:
            return v

    def write(tmp):
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows([r[0], *map(fmt, r[1:])] for r in rows)
    _atomic_write(path, write)


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
    for d in run_dirs(out_dir):
        try:
            status = run_status(read_run_info(d))
        except RunError:
            status = "unreadable"
        if status not in FINAL_STATUSES:
            out.append(f"{d.relative_to(out_dir)} ({status})")
    return out


def current_keys() -> dict[str, str]:
    """Method (``skada:<peer>`` for peers) -> the key of its current recipe."""
    from . import recipes as rc
    keys = {m: r.key() for m, r in rc.CURRENT.items()}
    keys.update({f"skada:{p}": r.key() for p, r in rc.PEERS.items()})
    return keys


def _mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarize(out_dir: str | Path, keys: dict[str, str] | None = None,
              log: Callable[[str], None] | None = None) -> list[dict]:
    """One row per (pair, method) from the runs under ``out_dir`` (``pair/method/seed``
    folders). ``keys`` (method -> recipe key, e.g. :func:`current_keys`): only runs of that
    recipe make a row; the others are left out (and named to ``log``)."""
    out_dir = Path(out_dir)
    groups: dict[tuple, list[dict]] = {}
    files = ([d / CONFIG for d in run_dirs(out_dir)]
             + [d / "peer.json" for d in run_dirs(out_dir, "peer.json")])
    for cfg in files:
        try:
            info = json.loads(cfg.read_text())
        except (OSError, ValueError, RecursionError):
            continue  # unreadable: listed by incomplete_runs
        if not isinstance(info, dict) or info.get("status") not in FINAL_STATUSES or (
                "target_test" not in info.get("accuracy", {})):
            continue  # killed or still training: incomplete_runs lists it
        key = (info.get("recipe") or {}).get("key")
        if keys is not None and keys.get(info.get("method")) != key:
            if log:
                log(f"{cfg.parent.relative_to(out_dir)}: recipe {key or 'none'} is not the "
                    f"current one, left out of the table")
            continue
        info["_run"] = str(cfg.parent.relative_to(out_dir))
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
               "target_labels_per_class": runs[0].get("target_labels_per_class", 0),
               "recipe": sorted({(r.get("recipe") or {}).get("name", "-") for r in runs}),
               "runs": [r["_run"] for r in runs]}
        extra = sorted({k for r in runs for k in r["accuracy"] if k.startswith("target_test_")})
        for k in extra:
            row[k] = list(_mean_sd([r["accuracy"][k] for r in runs if k in r["accuracy"]]))
        cls = METHODS.get(method)
        row["paper"] = [dict(p) for p in cls.paper_results] if cls else []
        rows.append(row)
    return add_gap_closed(rows)


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


def missing_runs(rows: list[dict], pairs=PAIRS, methods=(), peers=(),
                 seeds: int = SEEDS) -> list[str]:
    """The campaign's (pair, method) rows that are absent or have fewer than ``seeds`` runs,
    as ``"src->tgt method (k of seeds)"``; [] when the table is complete."""
    have = {(r["source"], r["target"], r["method"]): r["seeds"] for r in rows}
    out = []
    for s, t in pairs:
        for m in [*methods, *(f"skada:{p}" for p in peers)]:
            k = have.get((s, t, m), 0)
            if k < seeds:
                out.append(f"{s}->{t} {m} ({k} of {seeds})")
    return out


def recipes_markdown() -> str:
    """The current recipes (dalab/recipes.py) as a table for docs/benchmarks.md."""
    from . import recipes as rc
    lines = ["| method | recipe | steps | config overrides | engine | note |",
             "|---|---|---|---|---|---|"]
    for m, r in rc.CURRENT.items():
        eng = engine_options({"fit": {"ema": r.ema, "augment": r.augment}})
        lines.append(f"| {m} | `{r.key()}` | {r.steps} | "
                     f"{', '.join(f'`{o}`' for o in r.overrides) or '-'} | {eng} | {r.note} |")
    for p, r in rc.PEERS.items():
        lines.append(f"| skada:{p} | `{r.key()}` | {r.steps} | - | - | skada's defaults, "
                     f"our networks and arrays (`run_skada`) |")
    return "\n".join(lines) + "\n"


def git_committer(folder: str | Path, log: Callable[[str], None] = print
                  ) -> Callable[..., None]:
    """``commit(message, path=None)``: ``git add`` and ``git commit`` of ``path`` (a run's
    folder; default the whole ``folder``) alone, other staged or changed files left as they
    are; retried while another git process holds the index; nothing to commit is not an
    error. For ``dalab bench --commit``, which commits one run at a time: committing the whole
    folder would also commit every other run's latest checkpoint, over and over (2 MB each for
    DFA-MCD: this is what made the first campaign session add 50 MB to the history)."""
    import subprocess

    folder = Path(folder)

    def commit(message: str, path: str | Path | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        target = str(Path(path).resolve().relative_to(folder.resolve())) if path else "."
        for attempt in range(10):
            add = subprocess.run(["git", "add", "-A", "--", target], cwd=folder,
                                 capture_output=True, text=True)
            if add.returncode == 0:
                staged = subprocess.run(["git", "diff", "--cached", "--quiet", "--", target],
                                        cwd=folder)
                if staged.returncode == 0:
                    return  # nothing new
                done = subprocess.run(["git", "commit", "-q", "-m", message, "--", target],
                                      cwd=folder, capture_output=True, text=True)
                if done.returncode == 0:
                    log(f"committed: {message}")
                    return
                err = done.stderr
            else:
                err = add.stderr
            if "index.lock" not in err:
                log(f"commit failed ({err.strip()}); the runs stay on disk")
                return
            time.sleep(2 + attempt)
        log("commit skipped: the git index stayed locked; the runs stay on disk")
    return commit


def write_docs(rows: list[dict], docs_dir: str | Path, command: str,
               selection: list[dict] | None = None,
               missing: list[str] | None = None) -> tuple[Path, Path]:
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
        "Every row comes from the runs of one recipe per method (`dalab/recipes.py`, below), "
        "kept in the tracked folder `bench/<pair>/<method>/seed<k>/` (config, per-step "
        "metrics, label-free scores, final weights). `python -m dalab bench` continues it on "
        "any machine: finished runs are skipped, unfinished ones resumed, runs of an older "
        "recipe trained again; `--ray` trains in parallel, `--commit` commits each finished "
        "run.\n\n"
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads by default). Reproduce: `{command}`.\n\n")
    if missing:
        header += (f"**Partial table**: {len(missing)} (pair, method) rows are short of 3 "
                   f"seeds of their current recipe: {'; '.join(missing)}.\n\n")
    header += "## Recipes\n\n" + recipes_markdown() + "\n## Table\n\n"
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


def selection_rows(out_dir: str | Path, log: Callable[[str], None] = print,
                   keys: dict[str, str] | None = None) -> list[dict]:
    """Per (pair, method) of unsupervised runs with at least two finished seeds: the mean
    target test accuracy of the final checkpoints, the test accuracy of the seed the oracle
    (held-out target-train labels) picks, and of the seed each label-free score picks (as
    skada-bench reports selection; here the candidates are the seeds of one configuration)."""
    out_dir = Path(out_dir)
    groups: dict[tuple, list[Path]] = {}
    for d in run_dirs(out_dir):
        try:
            info = read_run_info(d)
        except RunError:
            continue
        if keys is not None and keys.get(info.get("method")) != (
                info.get("recipe") or {}).get("key"):
            continue
        if (info.get("status") != "finished" or info.get("uses_target_labels")
                or info.get("target_labels_per_class") or "target_test" not in info.get(
                    "accuracy", {})):
            continue
        groups.setdefault((info["pair"]["source"], info["pair"]["target"], info["method"]),
                          []).append(d)
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
               "runs": [str(d.relative_to(out_dir)) for d in dirs], "scores": scores}
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
              steps: int = 3000, batch_size: int = 64, device: str = "cpu",
              recipe=None) -> dict:
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
              "status": "finished", "uses_target_labels": False,
              **({"recipe": recipe.describe()} if recipe is not None else {})}
    run_dir = Path(out_dir) / run_name(f"skada-{method}", source, target, seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "peer.json").write_text(json.dumps(result, indent=2))
    return result
