"""Home: what dalab is, the registered methods, the domains."""
import streamlit as st

from dalab.data import list_domains
from dalab.methods import list_methods

st.title("dalab: a domain-adaptation lab")
st.write(
    "Train a classifier on a labelled **source** domain and make it work on an unlabelled "
    "**target** domain. dalab re-implements latent-space transfer methods next to the classic "
    "baselines and shows what happens inside them. More pages (latent histograms, alignment "
    "plots, modulation sliders, translation) arrive with the methods that need them."
)
st.subheader("Registered methods")
st.dataframe(
    [{"method": m.name, "idea": m.summary, "paper": m.paper,
      "uses target labels": m.uses_target_labels} for m in list_methods()],
    hide_index=True)
st.subheader("Domains")
st.dataframe([{"name": d.name, "kind": d.kind, "origin": d.origin, "description": d.description}
              for d in list_domains()], hide_index=True)
st.caption("Train from a terminal: `dalab train --method dann --source mnist --target digits`")
