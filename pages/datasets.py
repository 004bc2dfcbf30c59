"""Datasets: a gallery of one domain, its class counts and split sizes."""
import streamlit as st

from dalab.data.preview import image_grid, points_plot
from dalab.data import DataError, list_domains, load_domain


@st.cache_data(show_spinner="Loading domain...")
def _domain_view(name: str):
    d = load_domain(name)
    img = image_grid(d.train.x, d.train.y, d.classes) if d.kind == "image" else \
        points_plot(d.train.x, d.train.y)
    counts = [{"class": c, "train": tr, "test": te} for c, (tr, te) in d.class_counts().items()]
    return d.description, d.input_shape, len(d.train), len(d.test), img, counts


st.title("Datasets")
names = [d.name for d in list_domains() if d.origin == "embedded"]
name = st.selectbox("Domain", names, index=names.index("digits"))
try:
    desc, shape, n_tr, n_te, img, counts = _domain_view(name)
except DataError as e:
    st.error(str(e))
    st.stop()
st.write(f"{desc}. Input shape {shape}; train {n_tr}, test {n_te} (split seed 0).")
st.image(img, caption="Rows: classes; columns: the first training examples of each class.")
st.dataframe(counts, hide_index=True)
