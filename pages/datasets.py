"""Datasets: a gallery of one domain, its class counts and split sizes, and how far apart two
domains are in raw pixels (proxy A-distance)."""
import streamlit as st

from dalab.analysis.alignment import proxy_a_distance
from dalab.data import DataError, DomainPair, list_domains, load_domain
from dalab.data.preview import image_grid, points_plot
from dalab.ui.glossary import HELP, columns
from dalab.ui.navigation import ensure_app_navigation

ensure_app_navigation()  # a deep link on a fresh server: into app.py's navigation

MAX_PER_SIDE = 1000  # A-distance subsample: seconds, not minutes


@st.cache_data(max_entries=16, show_spinner="Loading domain...")  # 13 embedded domains
def domain_view(name: str):
    d = load_domain(name)
    img = image_grid(d.train.x, d.train.y, d.classes) if d.kind == "image" else \
        points_plot(d.train.x, d.train.y)
    counts = [{"class": c, "train": tr, "test": te} for c, (tr, te) in d.class_counts().items()]
    return d.description, d.kind, d.input_shape, len(d.train), len(d.test), img, counts


@st.cache_data(max_entries=16, show_spinner=False)
def comparable(name: str) -> list[str]:
    """Embedded domains a pair can be made with: same kind, same classes (the 2-D toys
    include one-class clouds, which pair only with each other)."""
    d = load_domain(name)
    out = []
    for info in list_domains():
        if info.origin != "embedded" or info.name == name or info.kind != d.kind:
            continue
        if load_domain(info.name).classes == d.classes:
            out.append(info.name)
    return out


@st.cache_data(max_entries=32,
               show_spinner="Training a linear domain classifier on raw pixels...")
def raw_a_distance(source: str, target: str) -> float:
    pair = DomainPair(source, target)
    x_s = pair.x_s_train[:MAX_PER_SIDE].reshape(min(MAX_PER_SIDE, len(pair.x_s_train)), -1)
    x_t = pair.x_t_train[:MAX_PER_SIDE].reshape(min(MAX_PER_SIDE, len(pair.x_t_train)), -1)
    return proxy_a_distance(x_s, x_t, seed=0)


st.title("Datasets")
infos = [d for d in list_domains() if d.origin == "embedded"]
names = [d.name for d in infos]
name = st.selectbox("Domain", names, index=names.index("digits"))
try:
    desc, kind, shape, n_tr, n_te, img, counts = domain_view(name)
except DataError as e:
    st.error(str(e))
    st.stop()
st.write(f"{desc}. Input shape {shape}; train {n_tr}, test {n_te} (split seed 0).")
st.image(img, caption="Rows: classes; columns: the first training examples of each class."
         if kind == "image" else "Training points, coloured by class.")
st.dataframe(counts, hide_index=True, column_config=columns(["class", "train", "test"]))

st.subheader("How far apart are two domains?")
same_kind = comparable(name)
if not same_kind:
    st.info(f"No other embedded domain has {name}'s kind and classes to compare it with.")
    st.stop()
other = st.selectbox("Compare with", same_kind)
try:
    a = raw_a_distance(name, other)
except DataError as e:
    st.info(f"{name} and {other} cannot be compared: {e}")
    st.stop()
st.metric(f"proxy A-distance, {name} vs {other} (raw pixels)", f"{a:.3f}",
          help=HELP["proxy A-distance, {name} vs {other} (raw pixels)"])
st.caption("What you are seeing: a linear classifier learns to tell the two domains apart from "
           "raw inputs; with its held-out error e, the proxy A-distance is 2(1 - 2e). 0 means "
           "indistinguishable, 2 means perfectly separable. Adaptation methods try to make "
           "their *features* score low on this, while still separating the classes.")
