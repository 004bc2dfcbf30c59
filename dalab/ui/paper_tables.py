"""The paper tables the app shows beside our numbers (issue 25): CDLM's Table 3, the
consistency-loss ablation. Pure data and one view function, tested without a UI.

Our rows come from small runs (mnist -> digits, seed 0, 1,500 steps, one thread; ``python
tools/ablate.py cdlm_t3_C cdlm mnist digits 1500 0 consistency=C [lambda_gen=0]``), recorded in
``docs/ablations/issue22.jsonl`` and docs/methods-cdlm.md; the paper's are MNIST -> USPS
(Table 3 of Hou et al.), a different dataset.
"""
from __future__ import annotations

# (L_c terms, paper MNIST->USPS, ours with L_gen on (the default), ours with L_gen off):
# target test accuracy of the test mode x~_ts = D(gamma1 h_t)
CDLM_TABLE3 = (
    ("none", 0.635, 0.767, 0.097),
    ("source only (L_c^s)", 0.951, 0.772, 0.772),
    ("target only (L_c^t)", 0.689, 0.764, 0.450),
    ("both (default)", 0.961, 0.775, 0.769),
)
CDLM_TABLE3_SOURCE = ("ours: mnist -> digits, seed 0, 1,500 steps (docs/methods-cdlm.md, "
                      "'Issue 22'); paper: MNIST -> USPS, Table 3")


def cdlm_table3() -> tuple[list[dict], str]:
    """``(rows, where_they_differ)``: the table's rows for ``st.dataframe`` and one line that
    says where ours and the paper's differ, computed from the rows (not written by hand)."""
    rows = [{"L_c terms": t, "paper (MNIST->USPS)": p, "ours, L_gen on": on,
             "ours, L_gen off": off} for t, p, on, off in CDLM_TABLE3]
    by = {r["L_c terms"].split(" (")[0]: r for r in rows}
    gain_paper = by["source only"]["paper (MNIST->USPS)"] - by["none"]["paper (MNIST->USPS)"]
    gain_on = by["source only"]["ours, L_gen on"] - by["none"]["ours, L_gen on"]
    gain_off = by["source only"]["ours, L_gen off"] - by["none"]["ours, L_gen off"]
    line = (f"Where they differ: L_c^s adds {gain_paper:+.2f} in the paper but only "
            f"{gain_on:+.2f} in our default, because our joint classifier's loss on the "
            f"generations (L_gen) already teaches the decoder what L_c teaches it; with L_gen off "
            f"L_c^s adds {gain_off:+.2f}, the paper's pattern (none << target only < source "
            f"only ≈ both).")
    return rows, line
