"""Translate: the Gradio translation demo (dalab/ui/gradio_app.py), embedded. `make run`
starts it next to this app; this page only checks that it answers and shows it."""
import streamlit as st

from dalab.ui.navigation import ensure_app_navigation
from dalab.ui.translate import TRANSLATION_METHODS, gradio_url, reachable

ensure_app_navigation()  # a deep link on a fresh server: into app.py's navigation

st.title("Translate")
url = gradio_url()
if not reachable(url, timeout=0.5):
    st.warning(f"The translation demo does not answer at {url}. `make run` starts it together "
               "with this app; on its own: `python -m dalab.ui.gradio_app` (add `--port N` "
               "and set `DALAB_GRADIO_URL` if you move it). Then reload this page.")
    st.markdown(f"Once it runs, it is also reachable directly: [{url}]({url})")
    st.stop()
st.write("Draw or upload a digit, or sample test images: every translation-capable model "
         f"({TRANSLATION_METHODS}) translates it and classifies it. "
         f"More room: open [{url}]({url}) in its own tab.")
st.iframe(url, height=1200)
