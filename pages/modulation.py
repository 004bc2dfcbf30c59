"""Modulation (CDLM, Hou et al.): gamma1, gamma2 and the mode acting live on a fixed batch of
target test images of a trained CDLM model (Fig. 4, Eq. 10, Table 6)."""
import time

import streamlit as st

from dalab.data import DomainPair
from dalab.runs import RunError, load_run
from dalab.ui import claims, present
from dalab.ui import figures as F
from dalab.ui.glossary import HELP, columns
from dalab.ui.models import picker_label
from dalab.ui.modulation import (GAMMA1_GRID, GAMMA2_GRID, MODE_LABELS, TEST_MODE_NOTE,
                                 batch_means, encode_batch, gap_at, grid_accuracy, grid_gap,
                                 mode_equations, modulation_view, page_batch,
                                 representative_dims, trained_gammas, view_csv)
from dalab.ui.paper_tables import CDLM_TABLE3_SOURCE, cdlm_table3
from dalab.ui.sidebar import device, load_model, load_model_or_explain, models_cached, pick_model
from dalab.ui.state import clamp, init_from_query, kept, key, show_link_notes, to_query
from dalab.ui.navigation import ensure_app_navigation

ensure_app_navigation()  # a deep link on a fresh server: into app.py's navigation

st.title("Modulation")
st.write("CDLM draws each domain's latent code with the *other* domain's deep features "
         "h instead of pure noise (Eq. 1-2): z_st = μ_s + σ_s (γ1 h_t + γ2 ε). Move γ1, γ2 "
         "and the mode and watch the codes, the gap between the domains and the images the "
         "source decoder makes of target digits.")
equation = st.empty()  # the selected mode's equations, drawn once the mode is known
m = pick_model(method="cdlm", label="CDLM model")
if m is None:
    st.stop()


@st.cache_data(max_entries=8, show_spinner="Loading a batch of test images...")
def batch(source: str, target: str, split_seed: int, n: int, seed: int):
    return page_batch(DomainPair(source, target, split_seed), n, seed)


@st.cache_resource(max_entries=8, show_spinner="Encoding the batch...")
def encoded(path: str, dev: str, n: int, seed: int):
    """The slow part, once per model and batch: one encoder pass (tensors stay on the model's
    device; cache_resource hands back the same object without copying)."""
    model, info = load_model(path, dev)
    p = info["pair"]
    x_s, x_t, y_t = batch(p["source"], p["target"], p["split_seed"], n, seed)
    return encode_batch(model, x_s, x_t, y_t)


@st.cache_resource(max_entries=16, show_spinner="Checking the other CDLM models...")
def other_encoded(path: str, n: int):
    """Another CDLM model's batch for the claim's search, encoded on the CPU without entering
    the shared four-model cache (the model is dropped once its codes are kept)."""
    model, info = load_run(path, device="cpu")
    p = info["pair"]
    return encode_batch(model, *batch(p["source"], p["target"], p["split_seed"], n, 0))


def other_holds(path: str, n: int, gamma1: float, gamma2: float, mode: str) -> bool:
    """The claim's criterion for another CDLM model at the sliders' setting (no model call once
    its batch is encoded); a model that cannot be loaded does not count."""
    try:
        g = gap_at(other_encoded(path, n), gamma1, gamma2, mode)
    except (RunError, OSError, ValueError, KeyError):
        return False
    return claims.modulation_claim(g["ratio"], g["predicted_ratio"], g["equation"], mode)[2]


@st.cache_data(max_entries=16, show_spinner="Computing the γ1 × γ2 map (Table 6)...")
def grid_acc(path: str, dev: str, n: int):
    """The test-mode accuracy at every grid point in one call on the cached batch (seconds,
    once per model and batch; the mode does not enter it)."""
    model, _ = load_model(path, dev)
    t = time.perf_counter()
    acc = grid_accuracy(model, encoded(path, dev, n, 0), GAMMA1_GRID, GAMMA2_GRID, seed=0)
    return acc, time.perf_counter() - t


@st.cache_data(max_entries=32, show_spinner=False)
def grid_kl(path: str, dev: str, n: int, mode: str):
    """The measured gap at every grid point (no model call: milliseconds, cached per mode)."""
    return grid_gap(encoded(path, dev, n, 0), GAMMA1_GRID, GAMMA2_GRID, mode, seed=0)


model, info = load_model_or_explain(m["path"], device())
cfg = info["config"]
d = int(cfg["latent_dim"])
PAGE = "modulation"  # widget keys are "modulation.gamma1", ...; link parameters plain
RANGES = {"gamma1": (0.1, 3.0), "gamma2": (0.0, 1.0), "dim_x": (0, d - 1), "dim_y": (0, d - 1)}
# Fig. 4 opens on the two dimensions that show what the aggregate says (closer or farther)
# at the trained gammas; a link or the inputs below may choose others
(rep_x, rep_y), _ = representative_dims(
    encoded(m["path"], device(), st.session_state.get(key(PAGE, "n"), 128), 0),
    **trained_gammas(cfg))
init_from_query({**trained_gammas(cfg), "mode": "full", "dim_x": rep_x, "dim_y": rep_y},
                RANGES, {"mode": list(MODE_LABELS)}, page=PAGE)
show_link_notes()


def reset_to_trained():  # a button's callback: runs before the clamping and the sliders below
    for name, value in trained_gammas(cfg).items():
        st.session_state[key(PAGE, name)] = value


for name, (lo, hi) in RANGES.items():  # another model may have fewer latent dimensions
    clamp(key(PAGE, name), lo, hi)
if st.session_state[key(PAGE, "mode")] not in MODE_LABELS:
    st.session_state[key(PAGE, "mode")] = "full"
c1, c2, c3 = st.columns(3)
gamma1 = c1.slider("γ1 (weight of the other domain's h)", 0.1, 3.0, step=0.05,
                   **kept(PAGE, "gamma1"))
gamma2 = c2.slider("γ2 (weight of the noise ε)", 0.0, 1.0, step=0.05, **kept(PAGE, "gamma2"))
mode = c3.radio("Mode", ["full", "pm1", "pm2", "none"], format_func=MODE_LABELS.get,
                horizontal=True, **kept(PAGE, "mode"))
if present.show_advanced():  # projector mode: fewer controls, these keep their values
    with st.expander("Advanced: the scatter's dimensions, the batch size, reset"):
        c4, c5, c6, c7 = st.columns(4)
        dim_x = c4.number_input("Dimension on x", 0, d - 1, **kept(PAGE, "dim_x"))
        dim_y = c5.number_input("Dimension on y", 0, d - 1, **kept(PAGE, "dim_y"))
        n = c6.select_slider("Images per domain", [64, 128, 256], value=128,
                             **kept(PAGE, "n"))
        c7.button("Reset γ1, γ2 to trained", on_click=reset_to_trained,
                  key=key(PAGE, "reset"),
                  help=f"Back to the values this model was trained with: γ1 = "
                       f"{cfg['gamma1']}, γ2 = {cfg['gamma2']}.")
else:
    dim_x, dim_y = (int(st.session_state.get(key(PAGE, k), v))
                    for k, v in (("dim_x", rep_x), ("dim_y", rep_y)))
    n = st.session_state.get(key(PAGE, "n"), 128)
to_query(["gamma1", "gamma2", "mode", "dim_x", "dim_y"], page=PAGE)
equation.latex(mode_equations(mode, gamma1)["latex"])
st.caption(f"Trained with mode={cfg['mode']}, γ1={cfg['gamma1']}, γ2={cfg['gamma2']}; "
           f"{m['source']} -> {m['target']}, latent size {d}.")

enc = encoded(m["path"], device(), n, 0)
t0 = time.perf_counter()
v = modulation_view(model, enc, gamma1, gamma2, mode, seed=0, dims=(dim_x, dim_y))
figs = (F.image_rows_figure(v["images"]), F.modulation_scatter_figure(v["points"], (dim_x, dim_y)),
        F.kl_gap_figure(v["kl_s_t"], v["kl_st_ts"], v["predicted"], v["equation"]))
ms = 1000 * (time.perf_counter() - t0)
figs = (present.figure(figs[0], height=figs[0].layout.height),
        present.figure(figs[1], columns=2), present.figure(figs[2], columns=2))
paper, shown, holds = claims.modulation_claim(v["ratio"], v["predicted_ratio"], v["equation"],
                                              mode, **batch_means(enc))

st.subheader("Source-style images of target digits")
st.plotly_chart(figs[0], key="images")
st.caption(TEST_MODE_NOTE)
a1, a2 = st.columns(2)
a1.metric("accuracy on x~_ts = D(γ1 h_t + γ2 ε)", f"{v['acc_gen']:.3f}",
          help=HELP["accuracy on x~_ts = D(γ1 h_t + γ2 ε)"])
a2.metric("accuracy of C(h_t) (no generation, independent of γ)", f"{v['acc_h']:.3f}",
          help=HELP["accuracy of C(h_t) (no generation, independent of γ)"])

left, right = st.columns(2)
with left:
    st.subheader("Means in two dimensions (Fig. 4)")
    st.plotly_chart(figs[1], key="scatter")
    (best_x, best_y), closer = representative_dims(enc, gamma1, gamma2, mode)
    st.caption(f"Dimensions {dim_x} and {dim_y}. "
               + (f"These are the two whose transfer means move most the way the aggregate "
                  f"below does ({'closer' if closer else 'farther apart'})."
                  if {dim_x, dim_y} == {best_x, best_y} else
                  f"The aggregate below is over all {d} dimensions, which can disagree with "
                  f"two of them: dimensions {best_x} and {best_y} show it best "
                  f"({'closer' if closer else 'farther apart'})."))
    st.metric("distance of the averages, μ_st to μ_ts (all dimensions)",
              f"{v['dist_st_ts']:.3f}", f"{v['dist_st_ts'] - v['dist_s_t']:+.3f} vs μ_s to μ_t",
              delta_color="inverse",
              help=HELP["distance of the averages, μ_st to μ_ts (all dimensions)"])
with right:
    st.subheader("The gap between the domains")
    if not holds:  # said first; the search stops at the first other CDLM model that shows it
        others = (o for o in models_cached() if o["method"] == "cdlm" and o["path"] != m["path"])
        st.warning(claims.verdict(
            f"{v['equation']}'s prediction here (the gap "
            f"{claims.gap_direction(v['predicted_ratio'])})", holds, claims.first_holding(
                (picker_label(o), other_holds(o["path"], n, gamma1, gamma2, mode))
                for o in others), "the zoo or your runs (CDLM, same γ1, γ2, mode)"))
    st.markdown(f"**Paper says:** {paper}.  \n**This model shows:** {shown}.")
    st.plotly_chart(figs[2], key="kl")
    st.metric("measured KL(st‖ts) / KL(s‖t)", f"{v['ratio']:.3f}",
              help=HELP["measured KL(st‖ts) / KL(s‖t)"])
    st.metric(f"predicted ratio ({v['equation']})", f"{v['predicted_ratio']:.3f}",
              help=HELP["predicted ratio ({equation})"])
st.caption(f"New numbers and figures in {ms:.0f} ms (server side, {v['n']} images per domain).")
st.caption(
    "What you are seeing: the top row holds target test images; below them, the source "
    "decoder's renderings of the same digits: x~_ts from γ1 h_t + γ2 ε (what the classifier "
    "sees at test time) and x^_ts from the modulated code z_ts. The scatter shows each "
    "image's means μ_s, μ_t (rings) and transfer means μ_st, μ_ts (crosses, the codes at "
    "ε = 0); its right panel zooms on their averages (open diamonds: μ_s, μ_t; filled crosses: "
    "μ_st, μ_ts; an arrow from each mean to its transfer mean): Fig. 4 draws the transfer "
    "means pushed closer together than μ_s and μ_t. The bars (a log scale: the values span "
    "decades) fit a diagonal Gaussian to each set of sampled codes and compare KL(s‖t) "
    "(z = μ + σε) with KL(st‖ts). "
    + mode_equations(mode, gamma1, v["predicted_ratio"])["caption"])
c1, c2 = st.columns(2)
c1.download_button("Download the numbers (CSV)", view_csv(v, gamma1, gamma2, mode),
                   file_name="modulation.csv", mime="text/csv")
c2.download_button("Download the images (PNG)",
                   F.png_bytes(F.tile_images(list(v["images"].values()))),
                   file_name="modulation.png", mime="image/png")

st.subheader("Table 6, live: every (γ1, γ2) at once")
acc, seconds = grid_acc(m["path"], device(), n)
gap = grid_kl(m["path"], device(), n, mode)
h1, h2 = st.columns(2)
h1.plotly_chart(present.figure(F.gamma_grid_figure(
    acc, GAMMA1_GRID, GAMMA2_GRID, gamma1, gamma2, "accuracy on x~_ts", fmt=".2f"), columns=2),
    key="grid_acc")
h2.plotly_chart(present.figure(F.gamma_grid_figure(
    gap["ratio"], GAMMA1_GRID, GAMMA2_GRID, gamma1, gamma2, "measured KL(st‖ts) / KL(s‖t)",
    log=True), columns=2), key="grid_gap")
st.caption(
    f"Each cell is the page's numbers at that (γ1, γ2), mode {MODE_LABELS[mode]}, on the same "
    f"{v['n']} images and noise: the test-mode accuracy (left, the paper's Table 6) and the "
    "measured gap ratio (right, colour on a log scale). The red ring marks the sliders' "
    f"setting (between cells when it lies between grid values). The accuracies took "
    f"{seconds:.1f} s for all cells at once (once per model and batch size; cached).")

st.subheader("Table 3: what the consistency loss L_c does")
t3, t3_line = cdlm_table3()
st.dataframe(t3, hide_index=True, column_config=columns(list(t3[0])))
st.caption(f"{t3_line} Target test accuracy of the test mode x~_ts = D(γ1 h_t); "
           f"{CDLM_TABLE3_SOURCE}.")
