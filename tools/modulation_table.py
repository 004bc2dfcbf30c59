"""The Modulation page's numbers for a CDLM model, as docs/app.md records them:

    python tools/modulation_table.py [MODEL]      # a zoo name or a run folder; default: the
                                                  # zoo's cdlm_mnist_to_digits

The page's batch (128 source and 128 target test images, seed 0), full mode, gamma2 = 0.1, and
gamma1 in 0.3 / 0.5 / 1 / 2: the measured KL(st||ts)/KL(s||t) against Eq. 10, the distance
between the averages of mu_st and mu_ts (Fig. 4) against that of mu_s and mu_t, the test-mode
accuracy, plus PM1 and "none" at gamma1 = 1, and the model's mean sigma_s and h.
"""
from __future__ import annotations

import sys

import dalab
from dalab.data import DomainPair
from dalab.ui.modulation import encode_batch, modulation_view, page_batch


def main(name: str = "cdlm_mnist_to_digits", n: int = 128, seed: int = 0) -> None:
    model, info = dalab.load(name)  # a zoo name or a run folder
    model.eval()
    p = info["pair"]
    pair = DomainPair(p["source"], p["target"], p["split_seed"])
    enc = encode_batch(model, *page_batch(pair, n, seed))  # the page's batch
    acc = info.get("accuracy", {}).get("target_test")
    print(f"{name}: target accuracy {acc}, {n} test images per domain, full mode, gamma2 = 0.1; "
          f"mean sigma_s {float(enc['sigma_s'].mean()):.2f}, mean h_t {float(enc['h_t'].mean()):.2f}, "
          f"classifier on h_t {enc['acc_h']:.3f}")
    print("| gamma1 | measured KL(st‖ts)/KL(s‖t) | Eq. 10 | distance mu_st-mu_ts (mu_s-mu_t: "
          f"{modulation_view(model, enc, 1.0, 0.1)['dist_s_t']:.2f}) | accuracy on x~_ts |")
    print("|---|---|---|---|---|")
    for g1 in (0.3, 0.5, 1.0, 2.0):
        v = modulation_view(model, enc, g1, 0.1)
        print(f"| {g1:g} | {v['ratio']:.2f} | {v['predicted_ratio']:.2f} | "
              f"{v['dist_st_ts']:.2f} | {v['acc_gen']:.3f} |")
    for mode in ("pm1", "none"):
        v = modulation_view(model, enc, 1.0, 0.1, mode=mode)
        print(f"{mode}: measured ratio {v['ratio']:.2f}, predicted {v['predicted_ratio']:.2f} "
              f"({v['equation']})")


if __name__ == "__main__":
    main(*sys.argv[1:2])
