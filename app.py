"""dalab's Streamlit app: `make run`. Pages live in pages/; this file only wires them."""
import streamlit as st

from dalab.ui import present, sidebar

st.set_page_config(page_title="dalab", layout="wide")
nav = st.navigation({
    "Learn": [st.Page("pages/home.py", title="Home", default=True),
              st.Page("pages/datasets.py", title="Datasets"),
              st.Page("pages/kl_gap.py", title="KL-gap calculator"),
              st.Page("pages/playground.py", title="Playground")],
    "Explore": [st.Page("pages/latent.py", title="Latent vs prior"),
                st.Page("pages/alignment.py", title="Alignment"),
                st.Page("pages/modulation.py", title="Modulation"),
                st.Page("pages/bridge.py", title="Bridge interpolation")],
    "Train": [st.Page("pages/train.py", title="Train"),
              st.Page("pages/results.py", title="Results")],
    "Translate": [st.Page("pages/translate.py", title="Translate")],
})
sidebar.draw()
present.inject()  # projector mode's larger fonts (sidebar toggle, ?present=1)
nav.run()
