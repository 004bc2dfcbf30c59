"""The PNGs under docs/figures/ that issue notes and method docs cite, from the shipped zoo:

    python tools/doc_figures.py            # all of them
    python tools/doc_figures.py bridge     # Fig. 5/6 rows of the shipped bridges
    python tools/doc_figures.py lstnet     # LST-Net translations of 16 test digits
    python tools/doc_figures.py curves [BENCH_DIR]   # learning curves of benchmark runs
                                           # (default runs/bench13; needs matplotlib)

Each PNG gets a JSON sidecar (same name, .json) with what is in it: model, images, predicted
classes. Run on CPU; deterministic (seed 0).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from dalab import zoo
from dalab.data import DomainPair
from dalab.ui.bridge_view import interpolation_rows, stratified_sample
from dalab.ui.figures import png_bytes, tile_images

OUT = Path(__file__).resolve().parents[1] / "docs" / "figures"


def _save(name: str, rows: list[np.ndarray], meta: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.png").write_bytes(png_bytes(tile_images(rows)))
    (OUT / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {OUT / name}.png")


def _first(y, c):
    return int(np.flatnonzero(y == c)[0])


def bridge_rows() -> None:
    """Fig. 5/6: within a class (3 -> 3) and across classes (3 -> 8), rows 1-3 of the shipped
    bridges, with the class a per-domain zoo classifier gives every image of rows 2-3."""
    for name in ("bridge_mnist_to_digits", "bridge_digits_to_mnist"):
        model, info = zoo.load(name)
        model.eval()
        p = info["pair"]
        pair = DomainPair(p["source"], p["target"], p["split_seed"])
        clf_t, _ = zoo.load(f"target_only_{p['source']}_to_{p['target']}")
        clf_t.eval()
        y = pair.y_s_test
        rows, meta = [], {"model": name, "labels": info.get("target_labels_per_class", 0),
                          "rows": []}
        for a, b in ((3, 3), (3, 8)):
            i_a = _first(y, a)
            i_b = int(np.flatnonzero(y == b)[1 if a == b else 0])
            r = interpolation_rows(model, pair.x_s_test[i_a], pair.x_s_test[i_b], 8, "slerp")
            with torch.no_grad():
                cls = {k: clf_t.predict(torch.from_numpy(v)).argmax(1).tolist()
                       for k, v in list(r.items())[1:]}
            rows += list(r.values())
            meta["rows"].append({"from": f"test image {i_a} (class {a})",
                                 "to": f"test image {i_b} (class {b})",
                                 "target classifier on rows 2-3": cls})
        _save(f"{name}-fig5-rows", rows, meta)


def lstnet_translations() -> None:
    """16 target test digits (stratified), their translation into the source domain
    G_1(E_2(x_t)), and the reconstruction G_2(E_2(x_t)); the classes C_s gives each."""
    for name in ("lstnet_mnist_to_digits", "lstnet_digits_to_mnist"):
        model, info = zoo.load(name)
        model.eval()
        p = info["pair"]
        pair = DomainPair(p["source"], p["target"], p["split_seed"])
        ev = pair.evaluation
        idx = stratified_sample(ev.y_test, 20, seed=0)[:16]
        x = torch.from_numpy(np.array(ev.x_test[idx]))
        with torch.no_grad():
            tr, rec = model.translate(x, to="source"), model.reconstruct(x, "target")
            pred = model.predict(x).argmax(1).tolist()
        _save(f"{name}-translations", [x.numpy(), tr.numpy(), rec.numpy()],
              {"model": name, "rows": ["target test images", "translated to source",
                                       "target reconstruction"],
               "true": ev.y_test[idx].tolist(), "predicted (C_s on row 2)": pred,
               "correct": int(sum(a == b for a, b in zip(pred, ev.y_test[idx].tolist())))})


def learning_curves(bench_dir: str = "runs/bench13",
                    methods=("cdlm", "dfa_ent", "dfa_mcd")) -> None:
    """One PNG per method: target test accuracy along each benchmark run (every evaluation in
    its history), the weight average (solid) and the raw weights (dotted) when the run used
    ``--ema``; one colour per pair, one line per seed. The JSON sidecar holds the numbers."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dalab.runs import RunError, read_run_info

    for method in methods:
        curves = []
        for cfg in sorted(Path(bench_dir).glob(f"{method}_*_seed*/config.json")):
            try:
                info = read_run_info(cfg.parent)
            except RunError:
                continue
            hist = info.get("history") or []
            curves.append({"run": cfg.parent.name, "status": info.get("status"),
                           "pair": f"{info['pair']['source']}->{info['pair']['target']}",
                           "step": [h["step"] for h in hist],
                           "target_test": [h.get("target_test") for h in hist],
                           "target_test_raw": [h.get("target_test_raw") for h in hist]})
        if not curves:
            print(f"{method}: no runs under {bench_dir}")
            continue
        fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
        colours = {}
        for c in curves:
            col = colours.setdefault(c["pair"], f"C{len(colours)}")
            ax.plot(c["step"], c["target_test"], color=col, lw=1.5,
                    label=f"{c['pair']} (weight average)" if c["pair"] not in
                    {x.get_label().split(" (")[0] for x in ax.lines} else None)
            if any(v is not None for v in c["target_test_raw"]):
                ax.plot(c["step"], c["target_test_raw"], color=col, lw=0.8, ls=":")
        ax.set_xlabel("training step")
        ax.set_ylabel("target test accuracy")
        ax.set_title(f"{method}: one line per seed (dotted: raw weights)")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        OUT.mkdir(parents=True, exist_ok=True)
        fig.tight_layout()
        fig.savefig(OUT / f"curves-{method}.png")
        plt.close(fig)
        (OUT / f"curves-{method}.json").write_text(json.dumps(curves, indent=1) + "\n")
        print(f"wrote {OUT / f'curves-{method}.png'}")


if __name__ == "__main__":
    which = set(sys.argv[1:2]) or {"bridge", "lstnet"}
    if "bridge" in which:
        bridge_rows()
    if "lstnet" in which:
        lstnet_translations()
    if "curves" in which:
        learning_curves(*sys.argv[2:3])
