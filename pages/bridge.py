"""Bridge interpolation (Tian, Engel et al., bridging autoencoders): the three rows of
Fig. 5/6 between two source images, transfer accuracy, and the 2-D example of Fig. 2."""
import numpy as np
import streamlit as st

from dalab.data import DomainPair
from dalab.runs import RunError
from dalab.ui import claims, present
from dalab.ui import figures as F
from dalab.ui.glossary import HELP
from dalab.ui.models import picker_label
from dalab.ui.bridge_view import (domain_classifier_paths, interpolation_rows,
                                  own_transfer_accuracy, page_transfer_accuracy, toy_bridge)
from dalab.ui.sidebar import device, load_model, load_model_or_explain, models_cached, pick_model
from dalab.ui.state import clamp, init_from_query, kept, key, show_link_notes, to_query
from dalab.ui.navigation import ensure_app_navigation

ensure_app_navigation()  # a deep link on a fresh server: into app.py's navigation

N_ACC = 500  # test images per side for the transfer accuracy

st.title("Bridge interpolation")
st.write("A bridge is a small conditional VAE between the latent spaces of two frozen, "
         "separately trained VAEs (one per domain). Its shared code z' is pushed to look the "
         "same for both domains (sliced Wasserstein distance) and to carry the class (a "
         "linear classifier on z'), so moving in one domain's latent space moves in the other's.")


@st.cache_data(max_entries=4, show_spinner="Loading test images...")
def test_images(source: str, target: str, split_seed: int):
    pair = DomainPair(source, target, split_seed)
    return pair.x_s_test, pair.y_s_test, pair.evaluation.x_test, pair.classes


@st.cache_data(max_entries=4, show_spinner=False)
def target_test_labels(source: str, target: str, split_seed: int):
    return DomainPair(source, target, split_seed).evaluation.y_test


@st.cache_data(max_entries=8, show_spinner="Measuring transfer accuracy...")
def accuracy(path: str, dev: str):
    """(numbers, how they were measured): per-domain zoo classifiers when the zoo has one
    for each domain (the paper's protocol), else the bridge's own heads, said so."""
    model, info = load_model(path, dev)
    p = info["pair"]
    x_s, y_s, x_t, _ = test_images(p["source"], p["target"], p["split_seed"])
    y_t = target_test_labels(p["source"], p["target"], p["split_seed"])
    clfs = domain_classifier_paths((p["source"], p["target"]))
    if len(clfs) == 2:
        clf_s, _ = load_model(clfs[p["source"]], dev)
        clf_t, _ = load_model(clfs[p["target"]], dev)
        acc = page_transfer_accuracy(model, x_s, y_s, x_t, y_t, clf_s.predict, clf_t.predict,
                                     n=N_ACC)
        how = (f"labelled by one classifier per domain, each trained on that domain's labels "
               f"alone (zoo: {clfs[p['source']].rsplit('/', 1)[-1]} and "
               f"{clfs[p['target']].rsplit('/', 1)[-1]}), as the paper measures it")
        return acc, how
    acc = own_transfer_accuracy(model, x_s[:N_ACC], x_t[:N_ACC])
    return acc, ("labelled by the bridge's own classifier on z' (no per-domain classifier "
                 "for these domains in the zoo): this is the bridge agreeing with itself, "
                 "not the paper's measure")


@st.cache_data(max_entries=8, show_spinner="Training the 2-D bridge (a few seconds)...")
def toy(steps: int, labels: str):
    return toy_bridge(steps, seed=0, labels=labels)


def bridge_holds(path: str) -> bool:
    """Bridge Table 2's claim (``claims.bridge_claim``) for another bridge; False for one
    whose transfer accuracy cannot be measured here (a 2-D bridge, a broken run)."""
    try:
        acc, _ = accuracy(path, device())
    except (RunError, OSError, ValueError, KeyError, TypeError, IndexError, RuntimeError):
        return False
    return claims.bridge_claim(acc["source->target"], acc["target->source"])[2]


PAGE = "bridge"  # widget keys are "bridge.steps", ...; link parameters plain
m = pick_model(method="bridge", label="Bridge model")
if m is not None:
    model, info = load_model_or_explain(m["path"], device())
    p = info["pair"]
    if len(info["input_shape"]) != 3:
        st.info("This bridge was trained on 2-D points: the image rows need an image pair "
                "(e.g. mnist -> digits). The 2-D example is below.")
    else:
        x_s, y_s, x_t, classes = test_images(p["source"], p["target"], p["split_seed"])
        c1, c2, c3, c4 = st.columns(4)
        by = c1.radio("Pick", ["two classes", "two images"], horizontal=True,
                      **kept(PAGE, "pick"))
        if by == "two classes":
            a = c2.selectbox("From class", range(len(classes)), index=0,
                             **kept(PAGE, "class_a"))
            b = c3.selectbox("To class", range(len(classes)), index=min(1, len(classes) - 1),
                             **kept(PAGE, "class_b"))
            i_a = int(np.flatnonzero(y_s == a)[0]) if (y_s == a).any() else 0
            i_b = int(np.flatnonzero(y_s == b)[0]) if (y_s == b).any() else 1
        else:
            i_a = c2.number_input("First image (index)", 0, len(y_s) - 1, 0,
                                  **kept(PAGE, "img_a"))
            i_b = c3.number_input("Second image (index)", 0, len(y_s) - 1, 1,
                                  **kept(PAGE, "img_b"))
        init_from_query({"steps": 8, "kind": "slerp"}, {"steps": (3, 12)},
                        {"kind": ["slerp", "lerp"]}, page=PAGE)
        show_link_notes()
        clamp(key(PAGE, "steps"), 3, 12)
        if st.session_state[key(PAGE, "kind")] not in ("slerp", "lerp"):
            st.session_state[key(PAGE, "kind")] = "slerp"
        steps = c4.slider("Steps", 3, 12, **kept(PAGE, "steps"))
        kind = st.radio("Interpolation", ["slerp", "lerp"], horizontal=True,
                        **kept(PAGE, "kind"),
                        help="slerp (the paper's) follows the sphere where Gaussian codes live; "
                             "lerp cuts through the low-density middle.")
        to_query(["steps", "kind"], page=PAGE)
        rows = interpolation_rows(model, x_s[i_a], x_s[i_b], int(steps), kind)
        acc, how = accuracy(m["path"], device())
        paper, shown, holds = claims.bridge_claim(acc["source->target"], acc["target->source"])
        if not holds:  # said first; the search stops at the first other bridge that shows it
            st.warning(claims.verdict("Table 2's class-keeping transfer", holds,
                                      claims.first_holding(
                                          (picker_label(o), bridge_holds(o["path"]))
                                          for o in models_cached() if o["method"] == "bridge"
                                          and o["path"] != m["path"])))
        st.markdown(f"**Paper says:** {paper}.  \n**This model shows:** {shown}.")
        fig = F.image_rows_figure(rows)
        st.plotly_chart(present.figure(fig, height=fig.layout.height), key="rows")
        st.caption(f"What you are seeing (Fig. 5/6): {p['source']} image {i_a} (class "
                   f"{y_s[i_a]}) to image {i_b} (class {y_s[i_b]}). Row 1 interpolates in the "
                   f"{p['source']} VAE's latent space; row 2 transfers both ends to "
                   f"{p['target']} and interpolates there; row 3 transfers every point of "
                   "row 1. When the bridge has learnt a class-preserving map, rows 2 and 3 "
                   "change class where row 1 does.")
        a1, a2, a3 = st.columns(3)
        a1.metric("transfer accuracy source -> target", f"{acc['source->target']:.3f}",
                  help=HELP["transfer accuracy source -> target"])
        a2.metric("transfer accuracy target -> source", f"{acc['target->source']:.3f}",
                  help=HELP["transfer accuracy target -> source"])
        if "target accuracy" in acc:
            a3.metric("bridge's target accuracy", f"{acc['target accuracy']:.3f}",
                      help=HELP["bridge's target accuracy"])
        st.caption(f"Transfer accuracy (Sec. 4.2) on a stratified random sample of about "
                   f"{N_ACC} test images per side: how often an image and its transfer get the "
                   f"same class, {how}." + (f" This model {m['labels']}." if m.get("labels")
                                            else ""))
        d1, d2 = st.columns(2)
        d1.download_button("Download the rows (PNG)",
                           F.png_bytes(F.tile_images(list(rows.values()))),
                           file_name="bridge-rows.png", mime="image/png")
        d2.download_button("Download transfer accuracy (CSV)",
                           "measure,value\n" + "\n".join(f"{k},{v:.4f}"
                                                               for k, v in acc.items()),
                           file_name="bridge-accuracy.csv", mime="text/csv")

st.subheader("The 2-D example (Fig. 2)")
st.write("Two 'latent spaces' that are plain 2-D points: two ellipses, two classes each, the "
         "second rotated. The bridge is trained here, on the spot (the base models are the "
         "identity).")
c1, c2 = st.columns(2)
toy_steps = c1.select_slider("Training steps", [200, 300, 1000, 3000], value=300,
                             help="3,000 steps take about 40 s on one core.",
                             **kept(PAGE, "toy_steps"))
labels = c2.radio("Class labels for L_Cls", ["source", "both", "none"], horizontal=True,
                  **kept(PAGE, "toy_labels"))
x_1, y_1, x_2, y_2, out = toy(int(toy_steps), labels)
st.plotly_chart(present.figure(F.bridge_2d_figure(x_1, y_1, x_2, y_2, out)), key="toy")
agree = float(np.mean((out["shared_1"] @ out["boundary_w"].T + out["boundary_b"]).argmax(1)
                      == y_1))
st.metric("classifier on z' (domain 1, training points)", f"{agree:.3f}",
          help=HELP["classifier on z' (domain 1, training points)"])
st.caption("What you are seeing: (a) the two domains; (c) domain 1 sent through the bridge "
           "into domain 2, drawn over domain 2; (d) the reverse; (e) both in the shared 2-D "
           "space with the linear classifier's boundary. With labels and SWD the classes "
           "land on each other; try 'none' to see the alignment lose the classes.")
st.download_button("Download the 2-D transfers (CSV)",
                   "x1,y1,class,x12,y12\n" + "\n".join(
                       f"{a[0]:.4f},{a[1]:.4f},{c},{b[0]:.4f},{b[1]:.4f}"
                       for a, c, b in zip(x_1, y_1, out["x_12"])),
                   file_name="bridge-2d.csv", mime="text/csv")
