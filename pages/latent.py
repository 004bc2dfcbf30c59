"""Latent vs prior (DFA Fig. 7-9): per-dimension histograms of source and target codes on
shared bins, against the N(0, 1) density, for two models side by side."""
import numpy as np
import streamlit as st

from dalab.analysis.latent import histograms_vs_prior, prior_report
from dalab.data import DomainPair
from dalab.runs import RunError
from dalab.ui import claims, present
from dalab.ui.figures import histogram_figure, kl_per_dimension_figure
from dalab.ui.glossary import HELP
from dalab.ui.models import (available, by_pair, encode_test_sets, latent_defaults,
                             no_model_message,
                             option_label, picker_label)
from dalab.ui.sidebar import chosen_index, device, load_model, load_model_or_explain
from dalab.ui.navigation import ensure_app_navigation

ensure_app_navigation()  # a deep link on a fresh server: into app.py's navigation

st.title("Latent vs prior")
st.write("DFA pulls source features towards a standard Gaussian (its KL term) and aligns the "
         "target through the decoder; a VAE (CDLM) does the same for its codes. Here: how "
         "Gaussian each model's codes are, dimension by dimension, for source and target.")
models = by_pair(available(capability="encode"))  # only models with codes, grouped by pair
if not models:
    st.info(no_model_message(capability="encode", example="cdlm"))
    st.stop()
labels = [m["label"] for m in models]
shown = dict(zip(labels, map(option_label, models))).get  # pair, accuracy, selection rule
c1, c2 = st.columns(2)
i_left, i_right = latent_defaults(models, chosen_index(models))
left = c1.selectbox("Model (left)", labels, index=i_left, format_func=shown)
right = c2.selectbox("Model (right, e.g. a baseline: DFA Fig. 8-9 compares source-only)",
                     labels, index=i_right, format_func=shown)


def model_of(path: str):
    return load_model(path, device())  # bounded st.cache_resource shared by every page


@st.cache_data(max_entries=16, show_spinner="Encoding the test sets...")
def codes(path: str):
    model, info = model_of(path)
    p = info["pair"]
    enc = encode_test_sets(model, DomainPair(p["source"], p["target"], p["split_seed"]), 1000)
    use_mu = enc["mu_s"] is not None
    c_s, c_t = (enc["mu_s"], enc["mu_t"]) if use_mu else (enc["h_s"], enc["h_t"])
    return c_s, c_t, "mu" if use_mu else "h", prior_report(c_s), prior_report(c_t)


def claim(path: str):
    """DFA Fig. 8-9's claim on a model's codes (``claims.latent_claim``; cached codes)."""
    *_, rep_s, rep_t = codes(path)
    return claims.latent_claim(float(np.mean(rep_s["kl"])), float(np.mean(rep_t["kl"])))


def holds_for(path: str) -> bool:
    """The claim's criterion for a model of the search; one that cannot be loaded: False."""
    try:
        return claim(path)[2]
    except (RunError, OSError, ValueError, KeyError, TypeError):
        return False


shown_models = {side: next(x for x in models if x["label"] == label)
                for label, side in ((left, "left"), (right, "right"))}
for m in shown_models.values():
    load_model_or_explain(m["path"], device())
said = {side: claim(m["path"]) for side, m in shown_models.items()}
if not any(h for _, _, h in said.values()):  # neither shown model: the others, on request
    rest = [x for x in models if x["path"] not in {m["path"] for m in shown_models.values()}]
    if rest and st.button(f"Find a model that shows DFA's prior ({len(rest)} others; each "
                          "is encoded once, seconds each)", key="latent.search"):
        found = claims.first_holding((picker_label(x), holds_for(x["path"])) for x in rest)
        st.info(f"{found} does." if found else "No model in the zoo or your runs does.")
for col, side in ((c1, "left"), (c2, "right")):
    m = shown_models[side]
    c_s, c_t, what, rep_s, rep_t = codes(m["path"])
    paper, shown_line, holds = said[side]
    other = shown_models["right" if side == "left" else "left"]
    with col:
        if not holds:
            other_holds = said["right" if side == "left" else "left"][2]
            st.warning(claims.verdict(
                "DFA's prior (Fig. 8-9)", holds, f"the {('right', 'left')[side == 'right']} "
                f"model ({picker_label(other)})" if other_holds else None,
                "the two models shown (the button above checks the others)"))
        st.markdown(f"**Paper says:** {paper}.  \n**This model shows:** {shown_line}.")
        order = np.argsort(rep_s["kl"])  # most Gaussian dimensions first
        dim = st.selectbox(f"Dimension of {what} ({c_s.shape[1]} in all, most Gaussian first)",
                           [int(d) for d in order], key=f"dim-{side}")
        h = histograms_vs_prior({"source": c_s[:, dim], "target": c_t[:, dim]})
        st.plotly_chart(present.figure(histogram_figure(h), columns=2), key=f"hist-{side}")
        st.write(f"dimension {dim}: KL to N(0,1) source {rep_s['kl'][dim]:.3f}, target "
                 f"{rep_t['kl'][dim]:.3f} (nats); KS source {rep_s['ks'][dim]:.3f} (the "
                 "largest gap between the codes' and N(0,1)'s cumulative distributions, 0-1)")
        st.plotly_chart(present.figure(kl_per_dimension_figure(rep_s["kl"], rep_t["kl"]),
                                       columns=2, height=300), key=f"kl-{side}")
        st.metric("mean KL to the prior (source)", f"{float(np.mean(rep_s['kl'])):.3f}",
                  help=HELP["mean KL to the prior (source)"])
        st.download_button("Download per-dimension statistics (CSV)",
                           "dim,kl_source,kl_target,ks_source,mean_source,std_source\n" + "\n".join(
                               f"{d},{rep_s['kl'][d]:.5f},{rep_t['kl'][d]:.5f},"
                               f"{rep_s['ks'][d]:.5f},{rep_s['mean'][d]:.5f},{rep_s['std'][d]:.5f}"
                               for d in range(c_s.shape[1])),
                           file_name=f"latent-{m['method']}.csv", key=f"dl-{side}")
st.caption("What you are seeing: bars are the densities of one code dimension for the source "
           "and target test images on shared bins; the green line is N(0, 1). A KL near 0 "
           "means that dimension looks Gaussian; ReLU features (baselines) pile up at 0.")
