"""Translate: image translation in the browser. The Gradio app (its own issue) fills this page."""
import streamlit as st

st.title("Translate")
st.info("Image translation (draw or upload a digit, see it translated by every translation-"
        "capable model) arrives with the Gradio tab. Until then: the Bridge interpolation and "
        "Modulation pages show translations of test images.")
