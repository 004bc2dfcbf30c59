"""One ablation run, one JSON line: held-out val (the selection slice of the target train split),
target test accuracy and the val curve.

    python tools/ablate.py TAG METHOD SOURCE TARGET STEPS SEED [key=value ...] [fit:ema=0.99] [fit:augment=1]

The run is saved under runs/ablate/TAG. One thread (two runs at a time on a 2-core machine)."""
import json
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)
from dalab.data import DomainPair
from dalab.train import build_for, fit
tag, method, src, tgt, steps, seed, *rest = sys.argv[1:]
ov = [r for r in rest if not r.startswith("fit:")]
fk = {}
for r in rest:
    if r.startswith("fit:"):
        k, v = r[4:].split("=")
        fk[k] = float(v) if k == "ema" else bool(int(v))
pair = DomainPair(src, tgt)
m = build_for(method, pair, overrides=ov, seed=int(seed))
ev = pair.evaluation
xs, ys = ev.train_labeled()
sel = ev.selection_indices()
xv, yv = np.asarray(xs)[sel], np.asarray(ys)[sel]
curve = []
def cb(e):
    if e.kind == "eval":
        m.eval()
        v = float((m.predict_numpy(xv) == yv).mean())
        m.train()
        curve.append((e.step, round(v, 4), round(e.metrics.get("target_test", float("nan")), 4)))
t0 = time.time()
r = fit(m, pair, int(steps), device="cpu", seed=int(seed), eval_every=max(1, int(steps) // 10),
        callbacks=[cb], out=f"runs/ablate/{tag}", **fk)
m.eval()
val = float((m.predict_numpy(xv) == yv).mean())
print(json.dumps({"tag": tag, "method": method, "pair": f"{src}->{tgt}", "ov": ov, "fit": fk,
                  "steps": int(steps), "seed": int(seed), "val": round(val, 4),
                  "test": round(r.accuracy["target_test"], 4),
                  "extra": {k: round(v, 4) for k, v in r.accuracy.items() if k.startswith("target_test_")},
                  "curve": curve, "wall": round(time.time() - t0, 1)}), flush=True)
