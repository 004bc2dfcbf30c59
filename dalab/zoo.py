"""The pretrained zoo: runs (``dalab.runs`` format) under ``pretrained/`` plus ``index.json``.

``list()`` describes the entries; ``load(name, device="auto")`` returns ``(model, info)`` ready
to use, after checking the weights against both the run's ``config.json`` and the index.
``add_run`` copies a trained run into the zoo, storing weights as float16 by default (half the
size; floating-point parameters are cast back to float32 on load) and re-measuring the target
test accuracy of the stored weights so the index records what ``load`` will reproduce.
``select_best`` picks one seed among runs on a held-out part of the target *train* split,
never on the test split.

The zoo folder is ``$DALAB_ZOO_DIR`` if set, else ``pretrained/`` next to the ``dalab``
package (the repository's folder).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from .data.pair import SELECTION_FRACTION
from .runs import (CONFIG, WEIGHTS, RunError, _atomic_write, _write_config, load_pair, load_run,
                   read_run_info, sha256_file)

INDEX = "index.json"
FORMAT = "dalab-zoo/1"
VAL_FRACTION = SELECTION_FRACTION  # share of the target train split held out for seed selection


class ZooError(RunError):
    """A zoo entry that is unknown, missing or does not match the index."""


def zoo_dir() -> Path:
    env = os.environ.get("DALAB_ZOO_DIR")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "pretrained"


NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")  # a zoo entry name = its folder


def check_name(name: str) -> str:
    """A valid entry name (one folder inside the zoo: letters, digits, ``_ . -``), else
    :class:`ZooError`. Keeps ``add_run``/``remove`` from touching anything outside the zoo."""
    if not isinstance(name, str) or not NAME_RE.match(name) or name in (".", ".."):
        raise ZooError(f"zoo entry name {name!r} is not valid: use 1-128 letters, digits, "
                       f"'_', '.' or '-', starting with a letter or digit")
    return name


def _inside(root: Path, rel) -> Path:
    if not isinstance(rel, str) or not rel:
        raise ZooError(f"path {rel!r} is not a folder name")
    p = (root / rel).resolve()
    if p.parent != root.resolve():
        raise ZooError(f"path {rel!r} points outside the zoo folder {root}")
    return p


def entry_digest(e: dict) -> str:
    """sha256 of an index entry (canonical JSON, its ``sealed`` field left out): written as
    ``e["sealed"]`` so an accuracy edited in index.json is noticed, as run configs are
    (:func:`dalab.runs.config_digest`)."""
    body = {k: v for k, v in e.items() if k != "sealed"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


def _write_index(root: Path, index: dict) -> None:
    """index.json, every entry sealed, written atomically."""
    index = dict(index)
    index["entries"] = [{**{k: v for k, v in e.items() if k != "sealed"},
                         "sealed": entry_digest(e)} if isinstance(e, dict) else e
                        for e in index["entries"]]
    index.pop("problems", None)
    text = json.dumps(index, indent=2) + "\n"
    _atomic_write(root / INDEX, lambda t: Path(t).write_text(text))


def _read_index(root: Path, strict: bool = True) -> dict:
    """The index as written (``strict``: a broken file is a :class:`ZooError`; else an empty
    index with the problem in ``"problems"``)."""
    path = root / INDEX
    if not path.is_file():
        return {"format": FORMAT, "entries": []}
    try:
        index = json.loads(path.read_text())
        if not isinstance(index, dict) or index.get("format") != FORMAT:
            raise ValueError(f"not a dalab zoo index (expected an object with format "
                             f"{FORMAT!r})")
        if not isinstance(index.get("entries"), type([])):
            raise ValueError("'entries' is not a list")
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        if isinstance(e, RecursionError):
            e = ValueError("nested too deeply")
        if strict:
            raise ZooError(f"{path}: unreadable zoo index ({e})") from None
        return {"format": FORMAT, "entries": [],
                "problems": [f"{path}: unreadable zoo index ({e})"]}
    return index


ENTRY_FIELDS = {"name": str, "path": str, "method": str, "source": str, "target": str,
                "sha256": str, "accuracy": dict}


def _entry_problem(e, root: Path) -> str | None:
    if not isinstance(e, dict):
        return f"entry {e!r:.60} is not an object"
    for k, t in ENTRY_FIELDS.items():
        if not isinstance(e.get(k), t):
            return f"entry {e.get('name')!r}: {k!r} missing or not a {t.__name__}"
    acc = e["accuracy"].get("target_test")
    if acc is not None and not isinstance(acc, (int, float)):
        return f"entry {e['name']!r}: accuracy.target_test {acc!r} is not a number"
    try:
        check_name(e["name"])
        _inside(root, e["path"])
    except ZooError as err:
        return f"entry {e['name']!r}: {err}"
    if e.get("sealed") is None:
        return (f"entry {e['name']!r}: not sealed (written by hand, or by a version before "
                f"the index was sealed): `dalab zoo reseal` checks and seals it")
    if e["sealed"] != entry_digest(e):
        return (f"entry {e['name']!r}: edited after it was indexed (its 'sealed' digest does "
                f"not match): its recorded numbers cannot be trusted; restore the file or "
                f"rebuild the entry")
    return None


def scan(root: str | Path | None = None) -> tuple["list[dict]", "list[str]"]:
    """``(entries, problems)``: the index's valid entries, and one line per entry (or index)
    that was left out and why (malformed, a path outside the zoo, a duplicate name). Pages and
    the demo list the rest and show the problems; nothing raises."""
    root = Path(root) if root else zoo_dir()
    index = _read_index(root, strict=False)
    good, problems, seen = [], [*index.get("problems", [])], set()
    for e in index["entries"]:
        why = _entry_problem(e, root)
        if why is None and e["name"] in seen:
            why = f"entry {e['name']!r}: duplicate name (the first one is kept)"
        if why:
            problems.append(f"{root / INDEX}: {why}")
            continue
        seen.add(e["name"])
        good.append(e)
    return good, problems


def list(root: str | Path | None = None) -> "list[dict]":  # noqa: A001 (the API asked for)
    """Valid index entries: name, method, source, target, accuracy, bytes, sha256, ...
    (malformed ones are left out: :func:`scan` says which)."""
    return scan(root)[0]


def entry(name: str, root: str | Path | None = None) -> dict:
    entries = list(root)
    for e in entries:
        if e["name"] == name:
            return e
    r = Path(root) if root else zoo_dir()
    if not (r / INDEX).is_file():
        raise ZooError(
            f"unknown zoo entry {name!r}: there is no zoo at {r} (no {INDEX}). The pretrained "
            f"zoo ships with the repository's pretrained/ folder, not with `pip install .`: "
            f"point DALAB_ZOO_DIR at a checkout's pretrained/ folder, or install from a "
            f"checkout with `pip install -e .`")
    valid = ", ".join(e["name"] for e in entries) or "(the zoo is empty)"
    raise ZooError(f"unknown zoo entry {name!r}; valid: {valid}")


def load(name: str, device: str = "auto", root: str | Path | None = None):
    """``(model, info)`` of a zoo entry, weights verified against the index and the run."""
    root = Path(root) if root else zoo_dir()
    e = entry(name, root)
    run_dir = _inside(root, e["path"])
    if not (run_dir / WEIGHTS).is_file():
        raise ZooError(f"{run_dir / WEIGHTS}: zoo weights missing")
    info = read_run_info(run_dir)
    if info["weights"]["sha256"] != e["sha256"]:
        raise ZooError(f"{run_dir / CONFIG}: weights hash differs from {root / INDEX}; the entry "
                       "was changed after it was indexed, refusing to load")
    return load_run(run_dir, device=device)


def _to_fp16(src: Path, dst: Path) -> None:
    tensors = load_file(str(src))
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in tensors.items()}
    save_file(half, str(dst), metadata={"format": "dalab-run/1", "stored_as": "float16"})


def held_out_accuracy(run_dir: str | Path) -> float:
    """Accuracy on the last ``VAL_FRACTION`` of the (seeded) target train split: for model
    selection. The test split is never looked at."""
    from .train import accuracy

    model, info = load_run(run_dir)
    ev = load_pair(run_dir, info).evaluation
    x, y = ev.train_labeled()
    idx = ev.selection_indices()
    return accuracy(model, x[idx], y[idx])


def select_best(run_dirs: "list[str | Path]", score=None,
                higher_is_better: bool = True) -> tuple[Path, "list[float]"]:
    """The run with the best score, and every run's score. ``score`` is ``fn(run_dir) ->
    float``; the default is :func:`held_out_accuracy` (held-out target-train accuracy: an
    *oracle* in unsupervised DA, reported beside label-free choices). The CLI passes the
    label-free scores of :mod:`dalab.analysis.selection` (``zoo build --select NAME``), which
    sit above this layer."""
    fn = score or held_out_accuracy
    scores = [float(fn(d)) for d in run_dirs]
    vals = np.array(scores, np.float64)
    i = int(np.nanargmax(vals) if higher_is_better else np.nanargmin(vals))
    return Path(run_dirs[i]), scores


def add_run(run_dir: str | Path, name: str, root: str | Path | None = None,
            fp16: bool = True, note: str = "") -> dict:
    """Copy a run into the zoo as ``name`` and (re)write its index entry."""
    from .train import evaluate_pair

    root = Path(root) if root else zoo_dir()
    check_name(name)
    src = Path(run_dir)
    info = read_run_info(src)
    dst = _inside(root, name)
    tmp = root / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if fp16:
        _to_fp16(src / WEIGHTS, tmp / WEIGHTS)
    else:
        shutil.copy2(src / WEIGHTS, tmp / WEIGHTS)
    info["weights"] = {"file": WEIGHTS, "sha256": sha256_file(tmp / WEIGHTS),
                       "bytes": (tmp / WEIGHTS).stat().st_size,
                       "stored_as": "float16" if fp16 else "float32"}
    _write_config(tmp, info)
    model, _ = load_run(tmp)  # what users will get: re-measure the stored weights
    p = info["pair"]
    acc = evaluate_pair(model, load_pair(src, info), torch.device("cpu"))
    info["accuracy_recorded_in_training"] = info["accuracy"]
    info["accuracy"] = acc
    _write_config(tmp, info)
    shutil.rmtree(dst, ignore_errors=True)
    os.replace(tmp, dst)
    e = {"name": name, "path": name, "method": info["method"], "source": p["source"],
         "target": p["target"], "split_seed": p["split_seed"], "seed": info["seed"],
         "steps": info["steps"], "accuracy": acc, "bytes": info["weights"]["bytes"],
         "sha256": info["weights"]["sha256"], "stored_as": info["weights"]["stored_as"],
         "uses_target_labels": info["uses_target_labels"],
         "target_labels_per_class": info.get("target_labels_per_class", 0), "note": note}
    index = _read_index(root)
    index["entries"] = [x for x in index["entries"]
                        if not (isinstance(x, dict) and x.get("name") == name)] + [e]
    index["entries"].sort(key=lambda x: str(x.get("name")) if isinstance(x, dict) else "")
    _write_index(root, index)
    return e


MAX_ENTRY_BYTES = 8 * 2**20  # larger entries are not shipped (pretrained/ < 60 MB, no file > 8 MB)


def build_from_bench(bench_dir: str | Path, root: str | Path | None = None,
                     methods: "list[str] | None" = None, log=print,
                     max_bytes: int = MAX_ENTRY_BYTES,
                     select: "tuple[str, object, bool] | None" = None, force: bool = False,
                     kept: "list[str] | None" = None) -> "list[dict]":
    """Fill the zoo from benchmark runs (``bench_dir/<src>_to_<tgt>/<method>/seed<k>``, as ``dalab bench`` lays them out): for
    every (method, pair) with finished runs, the seed with the best held-out target-train
    accuracy (:func:`select_best`) is added as ``<method>_<src>_to_<tgt>``. Diverged or
    stopped runs are never chosen; peers (skada) are not runs and are skipped. A run whose
    float16 weights would exceed ``max_bytes`` is skipped and reported, leaving any existing
    entry of that name alone (the bridge at App. B's widths is ~11 MiB: the shipped bridge
    entries are smaller runs added with :func:`add_run`, see pretrained/README.md).
    ``select = (name, fn(run_dir) -> float, higher_is_better)`` picks the seed by another
    score (a label-free one, from the CLI); its name goes into every entry's note.

    An entry already in the zoo is never replaced unless ``force`` (``dalab zoo build
    --force``); its name is appended to ``kept`` and the log says what the candidate would have
    been. Replaced by a run of lower target accuracy, the log says so."""
    groups: dict[tuple, list[Path]] = {}
    for cfg in sorted(Path(bench_dir).glob("*/*/*/" + CONFIG)):
        try:
            info = read_run_info(cfg.parent)
        except RunError as e:
            log(f"{cfg.parent.name}: skipped ({e})")
            continue
        if info.get("status") != "finished" or (methods and info["method"] not in methods):
            continue
        if info["pair"].get("target_labels") is False:
            log(f"{cfg.parent.name}: skipped (no target labels: its test accuracy cannot be "
                f"measured for the index)")
            continue
        key = (info["method"], info["pair"]["source"], info["pair"]["target"])
        groups.setdefault(key, []).append(cfg.parent)
    added = []
    for (method, src, tgt), run_dirs in sorted(groups.items()):
        name = f"{method}_{src}_to_{tgt}"
        fp16_bytes = max((d / WEIGHTS).stat().st_size for d in run_dirs) // 2
        if fp16_bytes > max_bytes:
            log(f"{name}: not shipped, ~{fp16_bytes / 2**20:.1f} MiB in float16 > "
                f"{max_bytes / 2**20:.0f} MiB")
            continue
        label, fn, higher = select or ("held-out target train accuracy (oracle)", None, True)
        best, scores = select_best(run_dirs, fn, higher)
        new_acc = read_run_info(best)["accuracy"].get("target_test", float("nan"))
        old = next((e for e in _entries_or_none(root) if e.get("name") == name), None)
        old_acc = (old or {}).get("accuracy", {}).get("target_test", float("nan"))
        if old is not None and not force:
            log(f"{name}: already in the zoo (target {old_acc:.4f}), kept; the candidate "
                f"{best.name} has {new_acc:.4f}. `dalab zoo build --force` replaces it")
            if kept is not None:
                kept.append(name)
            continue
        if old is not None and new_acc < old_acc:
            log(f"{name}: replaced (--force) by a WORSE run: target {old_acc:.4f} -> "
                f"{new_acc:.4f}")
        note = (f"best of {len(run_dirs)} seed(s) on {label}: "
                + ", ".join(f"{d.name} {s:.6g}" for d, s in zip(run_dirs, scores)))
        e = add_run(best, name, root=root, note=note)
        log(f"{name}: {best.name} ({label} {scores[run_dirs.index(best)]:.4f}), target test "
            f"{e['accuracy']['target_test']:.4f}, {e['bytes'] / 2**20:.2f} MiB")
        added.append(e)
    return added


def _entries_or_none(root) -> "list[dict]":
    try:
        return list(root)
    except (ZooError, OSError, ValueError, RecursionError):
        return []


def reseal(root: str | Path | None = None, log=print) -> "list[str]":
    """Check every entry of an index written before sealing and seal it: its weights must
    match the index and its run config (whose seal is checked, or written if it has none:
    ``runs.reseal_config``), and it must load. Entries that fail are reported and left out of
    the sealed index. Returns the names sealed."""
    from .runs import reseal_config
    root = Path(root) if root else zoo_dir()
    index = _read_index(root)
    kept, names = [], []
    for e in index["entries"]:
        name = e.get("name") if isinstance(e, dict) else None
        why = _entry_problem({**e, "sealed": entry_digest(e)}, root) if name else "malformed"
        if why is None:
            try:
                run_dir = _inside(root, e["path"])
                reseal_config(run_dir)
                info = read_run_info(run_dir)
                if info["weights"]["sha256"] != e["sha256"] or sha256_file(
                        run_dir / WEIGHTS) != e["sha256"]:
                    raise ZooError("weights differ from the index")
                load_run(run_dir)
            except (ZooError, RunError, OSError, KeyError) as err:
                why = str(err)
        if why:
            log(f"{name}: not sealed ({why})")
            continue
        kept.append(e)
        names.append(name)
    index["entries"] = kept
    _write_index(root, index)
    return names


def remove(name: str, root: str | Path | None = None) -> None:
    """Delete a zoo entry (its folder and its index line)."""
    root = Path(root) if root else zoo_dir()
    check_name(name)
    e = entry(name, root)  # unknown names fail with the list of valid ones
    folder = _inside(root, e["path"])
    index = _read_index(root)
    index["entries"] = [x for x in index["entries"]
                        if not (isinstance(x, dict) and x.get("name") == name)]
    _write_index(root, index)
    shutil.rmtree(folder, ignore_errors=True)
