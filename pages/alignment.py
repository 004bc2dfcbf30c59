"""Alignment: t-SNE or UMAP of source and target features, before (source-only) and after
adaptation, with the proxy A-distance and MMD beside them (CDLM Fig. 7, DFA Fig. 5)."""
import numpy as np
import streamlit as st

from dalab.analysis.alignment import mmd_rbf, proxy_a_distance
from dalab.analysis.embed import embed
from dalab.data import DomainPair
from dalab.runs import RunError
from dalab.ui import claims, present
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
if present.show_advanced():  # projector mode: fewer controls (500 points, seed 0)
    with st.expander("Advanced: points per domain, seed"):
        n = st.slider("Points per domain", 100, 1000, 500, 100, key="alignment.n")
        seed = st.number_input("Seed", 0, 10_000, 0, key="alignment.seed")
else:
    n, seed = st.session_state.get("alignment.n", 500), st.session_state.get("alignment.seed", 0)
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


@st.cache_data(max_entries=16, show_spinner="Measuring the raw images' A-distance...")
def raw_a_distance(source: str, target: str, split_seed: int, n: int, seed: int) -> float:
    """CDLM Fig. 9's "Raw": the proxy A-distance of the pixels of n test images per domain."""
    pair = DomainPair(source, target, split_seed)
    rng = np.random.default_rng(seed)
    x_s, x_t = pair.x_s_test, pair.evaluation.x_test
    return proxy_a_distance(x_s[rng.choice(len(x_s), min(n, len(x_s)), replace=False)],
                            x_t[rng.choice(len(x_t), min(n, len(x_t)), replace=False)],
                            seed=seed)


@st.cache_data(max_entries=32, show_spinner=False)
def a_distance_only(path: str, n: int, seed: int) -> float:
    """``view``'s A-distance without the map (the search for a model that shows the claim)."""
    model, info = model_of(path)
    p = info["pair"]
    enc = encode_test_sets(model, DomainPair(p["source"], p["target"], p["split_seed"]), n, seed)
    return proxy_a_distance(enc["h_s"], enc["h_t"], seed=seed)


def claim(m: dict, a_dist: float):
    return claims.alignment_claim(a_dist, raw_a_distance(m["source"], m["target"],
                                                         model_of(m["path"])[1]["pair"]
                                                         ["split_seed"], n, int(seed)))


def holds_for(m: dict) -> bool:
    try:
        return claim(m, a_distance_only(m["path"], n, int(seed)))[2]
    except (RunError, OSError, ValueError, KeyError, TypeError):
        return False


shown_models = {side: next(x for x in models if x["label"] == label)
                for label, side in ((left, "left"), (right, "right"))}
views = {}
for side, m in shown_models.items():
    load_model_or_explain(m["path"], device())
    views[side] = view(m["path"], method, n, int(seed))
said = {side: claim(shown_models[side], views[side][1]) for side in views}
if not any(h for _, _, h in said.values()):  # neither shown model: the others, on request
    rest = [x for x in models if x["path"] not in {m["path"] for m in shown_models.values()}]
    if rest and st.button(f"Find a model whose features beat the raw images ({len(rest)} "
                          "others; each is encoded once, seconds each)", key="alignment.search"):
        found = claims.first_holding((picker_label(x), holds_for(x)) for x in rest)
        st.info(f"{found} does." if found else "No model in the zoo or your runs does.")
for col, side in ((c1, "left"), (c2, "right")):
    m, (e, a_dist, mmd) = shown_models[side], views[side]
    paper, shown_line, holds = said[side]
    other_side = "right" if side == "left" else "left"
    with col:
        if not holds:
            st.warning(claims.verdict(
                "CDLM Fig. 9's smaller A-distance", holds,
                f"the {other_side} model ({picker_label(shown_models[other_side])})"
                if said[other_side][2] else None,
                "the two models shown (the button above checks the others)"))
        st.markdown(f"**Paper says:** {paper}.  \n**This model shows:** {shown_line}.")
        st.plotly_chart(present.figure(embedding_figure(
            e.points, e.domain, e.labels, colour,
            title=f"{m['method']} {m['source']}->{m['target']}"), columns=2), key=f"emb-{side}")
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
