"""Latent vs prior (DFA Fig. 7-9): per-dimension histograms of source and target codes on
shared bins, against the N(0, 1) density, for two models side by side."""
import numpy as np
import streamlit as st

from dalab.analysis.latent import histograms_vs_prior, prior_report
from dalab.data import DomainPair
from dalab.ui.figures import histogram_figure, kl_per_dimension_figure
from dalab.ui.models import available, encode_test_sets, picker_label
from dalab.ui.sidebar import chosen_index, device, load_model, load_model_or_explain
from dalab.ui.navigation import ensure_app_navigation

ensure_app_navigation()  # a deep link on a fresh server: into app.py's navigation

st.title("Latent vs prior")
st.write("DFA pulls source features towards a standard Gaussian (its KL term) and aligns the "
         "target through the decoder; a VAE (CDLM) does the same for its codes. Here: how "
         "Gaussian each model's codes are, dimension by dimension, for source and target.")
models = available(capability="encode")
if not models:
    st.info("No model with features yet: train one on the Train page, then come back.")
    st.stop()
labels = [m["label"] for m in models]
shown = dict(zip(labels, map(picker_label, models))).get  # models at chance say so
c1, c2 = st.columns(2)
left = c1.selectbox("Model (left)", labels, index=chosen_index(models), format_func=shown)
right = c2.selectbox("Model (right, e.g. a baseline)", labels, index=min(1, len(labels) - 1),
                     format_func=shown)


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


for col, label, side in ((c1, left, "left"), (c2, right, "right")):
    m = next(x for x in models if x["label"] == label)
    load_model_or_explain(m["path"], device())
    c_s, c_t, what, rep_s, rep_t = codes(m["path"])
    with col:
        order = np.argsort(rep_s["kl"])  # most Gaussian dimensions first
        dim = st.selectbox(f"Dimension of {what} ({c_s.shape[1]} in all, most Gaussian first)",
                           [int(d) for d in order], key=f"dim-{side}")
        h = histograms_vs_prior({"source": c_s[:, dim], "target": c_t[:, dim]})
        st.plotly_chart(histogram_figure(h), key=f"hist-{side}")
        st.write(f"dimension {dim}: KL to N(0,1) source {rep_s['kl'][dim]:.3f}, target "
                 f"{rep_t['kl'][dim]:.3f}; KS source {rep_s['ks'][dim]:.3f}")
        st.plotly_chart(kl_per_dimension_figure(rep_s["kl"], rep_t["kl"]), key=f"kl-{side}")
        st.metric("mean KL to the prior (source)", f"{float(np.mean(rep_s['kl'])):.3f}")
        st.download_button("Download per-dimension statistics (CSV)",
                           "dim,kl_source,kl_target,ks_source,mean_source,std_source\n" + "\n".join(
                               f"{d},{rep_s['kl'][d]:.5f},{rep_t['kl'][d]:.5f},"
                               f"{rep_s['ks'][d]:.5f},{rep_s['mean'][d]:.5f},{rep_s['std'][d]:.5f}"
                               for d in range(c_s.shape[1])),
                           file_name=f"latent-{m['method']}.csv", key=f"dl-{side}")
st.caption("What you are seeing: bars are the densities of one code dimension for the source "
           "and target test images on shared bins; the green line is N(0, 1). A KL near 0 "
           "means that dimension looks Gaussian; ReLU features (baselines) pile up at 0.")
