"""``python -m dalab timings``: the speed numbers of the benchmark, measured on their own.

The benchmark's wall times depend on whatever else the machine is doing (on a shared 2-core
machine they varied 3-5x between runs), so the speed claims are measured here, separately:

- ``measure_speed``: training steps per second (wall) and CPU seconds per step (process time,
  which contention inflates far less) for every registered method that accepts the pair,
  timed over ``steps`` training steps whose step indices are spread over the method's whole
  default schedule (so a phase-switching method such as ``bridge``, base VAEs then the bridge,
  is timed in both phases in proportion). Evaluation is excluded; ``warmup`` steps are not
  timed.
- ``embedding_timings``: t-SNE (openTSNE) and UMAP of ``n`` points of ``dim`` dimensions via
  :func:`dalab.analysis.embed.embed`, cold (first call in this process; for UMAP with an empty
  numba cache, so it includes numba's compilation) and warm (a second call, another seed).
- ``zoo_timings``: the zoo's total size and the load time of every entry (``zoo.load``,
  hash check included).

``write_docs`` writes ``docs/timings.md`` and ``docs/timings.json``.
"""
from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch


def measure_speed(methods: list[str] | None = None, pairs=(("mnist", "digits"),),
                  steps: int = 20, warmup: int = 3, device: str = "auto",
                  log: Callable[[str], None] = print) -> list[dict]:
    """One row per (method, pair): ``steps_per_second`` (wall), ``cpu_s_per_step``,
    ``default_steps`` and ``est_default_run_s`` (default steps at the measured wall rate)."""
    from .methods import METHODS
    from .train import prepare, resolve_device

    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    dev = resolve_device(device)
    rows = []
    for s, t in pairs:
        for name in (methods or list(METHODS)):
            model, pair = prepare(name, s, t, seed=0)
            model.to(dev).train()
            total = model.default_steps
            model.on_fit_start(total)
            it = pair.batches(model.config.batch_size, seed=0,
                              with_target_labels=model.uses_target_labels)
            idx = [1 + i * (total - 1) // (steps - 1) for i in range(steps)]

            def one(k):
                b = next(it).to(dev)
                model.train_step(b.x_s, b.y_s, b.x_t, k, y_t=b.y_t)

            for k in idx[:warmup]:
                one(k)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            w0, c0 = time.perf_counter(), time.process_time()
            for k in idx:
                one(k)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            row = {"method": name, "source": s, "target": t, "steps_timed": steps,
                   "steps_per_second": round(steps / wall, 2),
                   "cpu_s_per_step": round(cpu / steps, 4), "default_steps": total,
                   "est_default_run_s": round(total * wall / steps, 1), "device": str(dev),
                   "threads": torch.get_num_threads()}
            log(f"{name} {s}->{t}: {row['steps_per_second']} steps/s, "
                f"{row['cpu_s_per_step']} CPU-s/step, default {total} steps ~ "
                f"{row['est_default_run_s']} s")
            rows.append(row)
    return rows


def embedding_timings(n: int = 2000, dim: int = 64, seed: int = 0,
                      methods: tuple[str, ...] = ("tsne", "umap"),
                      log: Callable[[str], None] = print) -> dict:
    """Seconds for t-SNE and UMAP of ``n`` points (half 'source', half shifted 'target') of
    ``dim`` dimensions, cold and warm. Calls :func:`dalab.analysis.embed.embed`."""
    import sys

    if "umap" in methods and "umap" not in sys.modules and not os.environ.get("NUMBA_CACHE_DIR"):
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="dalab-numba-cold-")
    from .analysis.embed import embed

    rng = np.random.default_rng(seed)
    f_s = rng.normal(size=(n // 2, dim)).astype(np.float32)
    f_t = (rng.normal(size=(n - n // 2, dim)) + 0.5).astype(np.float32)
    out = {"n": n, "dim": dim}
    for method in methods:
        for kind, s in (("cold", seed), ("warm", seed + 1)):
            t0 = time.perf_counter()
            e = embed(f_s, f_t, method=method, max_points=n, seed=s)
            out[f"{method}_{kind}_s"] = round(time.perf_counter() - t0, 2)
            assert e.points.shape == (n, 2)
            log(f"{method} {kind}: {out[f'{method}_{kind}_s']} s")
    return out


def zoo_timings(root: str | Path | None = None, log: Callable[[str], None] = print) -> dict:
    """Total size of the zoo folder and the load time of each entry."""
    from . import zoo

    root = Path(root) if root else zoo.zoo_dir()
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.is_dir() else 0
    loads = {}
    for e in zoo.list(root):
        t0 = time.perf_counter()
        zoo.load(e["name"], device="cpu", root=root)
        loads[e["name"]] = round(time.perf_counter() - t0, 3)
        log(f"load {e['name']}: {loads[e['name']]} s")
    return {"bytes": size, "entries": len(loads), "load_s": loads,
            "max_load_s": max(loads.values()) if loads else None}


def to_markdown(result: dict) -> str:
    lines = [f"# Timings\n\nGenerated by `{result['command']}`; do not edit by hand.\n\n"
             f"Machine: {result['machine']}. Load average at the start: {result['loadavg']} "
             "(a loaded machine slows the wall numbers; CPU-s/step is steadier).\n"]
    if result.get("speed"):
        lines += ["## Training speed\n",
                  "| method | pair | steps/s (wall) | CPU-s/step | threads | device | default "
                  "steps | est. default run (s) |", "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['method']} | {r['source']}->{r['target']} | {r['steps_per_second']} | "
                  f"{r['cpu_s_per_step']} | {r['threads']} | {r['device']} | "
                  f"{r['default_steps']} | {r['est_default_run_s']} |" for r in result["speed"]]
        lines.append("")
    if result.get("embedding"):
        e = result["embedding"]
        lines += [f"## Embeddings ({e['n']} points, {e['dim']} dimensions)\n",
                  "| method | cold (s) | warm (s) |", "|---|---|---|"]
        names = {"tsne": "t-SNE (openTSNE, Barnes-Hut)", "umap": "UMAP"}
        lines += [f"| {names[m]} | {e[f'{m}_cold_s']} | {e[f'{m}_warm_s']} |"
                  for m in names if f"{m}_cold_s" in e]
        lines.append("\nCold UMAP starts from an empty numba cache, so it includes compilation.\n")
    if result.get("zoo"):
        z = result["zoo"]
        lines += [f"## Zoo\n\n{z['entries']} entries, {z['bytes'] / 2**20:.1f} MiB; "
                  f"slowest load {z['max_load_s']} s.\n",
                  "| entry | load (s) |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in z["load_s"].items()]
    return "\n".join(lines) + "\n"


def write_docs(result: dict, docs_dir: str | Path) -> tuple[Path, Path]:
    docs_dir = Path(docs_dir)
    docs_dir.mkdir(parents=True, exist_ok=True)
    md, js = docs_dir / "timings.md", docs_dir / "timings.json"
    md.write_text(to_markdown(result))
    js.write_text(json.dumps(result, indent=2) + "\n")
    return md, js


def machine() -> str:
    return (f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads")


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"
