"""Alignment: t-SNE or UMAP of source and target features, before (source-only) and after
adaptation, with the proxy A-distance and MMD beside them (CDLM Fig. 7, DFA Fig. 5)."""
import streamlit as st

from dalab.analysis.alignment import mmd_rbf, proxy_a_distance
from dalab.analysis.embed import embed
from dalab.data import DomainPair
from dalab.ui.figures import embedding_figure
from dalab.ui.models import accuracy_text, available, encode_test_sets, picker_label
from dalab.ui.sidebar import chosen_index, device, load_model, load_model_or_explain
from dalab.ui.navigation import ensure_app_navigation

ensure_app_navigation()  # a deep link on a fresh server: into app.py's navigation

st.title("Alignment")
st.write("Each dot is a test image's feature vector, mapped to 2-D. Adaptation should put "
         "target points (crosses) on the source points (circles) *of the same class*.")
models = available(capability="encode")
if not models:
    st.info("No model with features yet: train one on the Train page (e.g. source_only and "
            "dann on mnist -> digits), then come back.")
    st.stop()
labels = [m["label"] for m in models]
shown = dict(zip(labels, map(picker_label, models))).get  # models at chance say so
c1, c2 = st.columns(2)
left = c1.selectbox("Model (left)", labels, index=chosen_index(models), format_func=shown)
right = c2.selectbox("Model (right)", labels, index=min(1, len(labels) - 1),
                     format_func=shown)
c3, c4, c5 = st.columns(3)
method = c3.radio("Map", ["tsne", "umap"], horizontal=True)
n = c4.slider("Points per domain", 100, 1000, 500, 100)
seed = c5.number_input("Seed", 0, 10_000, 0)
colour = st.radio("Colour by", ["domain", "class"], horizontal=True)


def model_of(path: str):
    return load_model(path, device())  # bounded st.cache_resource shared by every page


@st.cache_data(max_entries=16, show_spinner="Encoding and embedding...")
def view(path: str, method: str, n: int, seed: int):
    model, info = model_of(path)
    p = info["pair"]
    enc = encode_test_sets(model, DomainPair(p["source"], p["target"], p["split_seed"]), n, seed)
    e = embed(enc["h_s"], enc["h_t"], method=method, max_points=2 * n, seed=seed,
              y_s=enc["y_s"], y_t=enc["y_t"])
    return e, proxy_a_distance(enc["h_s"], enc["h_t"], seed=seed), mmd_rbf(enc["h_s"], enc["h_t"])


for col, label, side in ((c1, left, "left"), (c2, right, "right")):
    m = next(x for x in models if x["label"] == label)
    load_model_or_explain(m["path"], device())
    e, a_dist, mmd = view(m["path"], method, n, int(seed))
    with col:
        st.plotly_chart(embedding_figure(e.points, e.domain, e.labels, colour,
                                         title=f"{m['method']} {m['source']}->{m['target']}"),
                        key=f"emb-{side}")
        st.metric("target accuracy", accuracy_text(m["accuracy"], m.get("labels", "")))
        st.metric("proxy A-distance (0 = aligned, 2 = separable)", f"{a_dist:.3f}")
        st.metric("MMD² (RBF, median bandwidth)", f"{mmd:.4f}")
        st.download_button("Download points (CSV)",
                           "x,y,domain,class\n" + "\n".join(
                               f"{x:.4f},{y:.4f},{'source' if d else 'target'},{c}"
                               for (x, y), d, c in zip(e.points, e.domain, e.labels)),
                           file_name=f"embedding-{m['method']}.csv", key=f"dl-{side}")
st.caption("Reading t-SNE/UMAP: cluster sizes and the distances between clusters mean little; "
           "neighbourhoods are what the map preserves. Different seeds give different "
           "layouts of the same neighbourhoods.")
