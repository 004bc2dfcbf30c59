"""Alignment: t-SNE or UMAP of source and target features, before (source-only) and after
adaptation, with the proxy A-distance and MMD beside them (CDLM Fig. 7, DFA Fig. 5).

Nothing is computed until "Compute": the controls only say what to compute, and the last maps
stay shown (with a note when the controls changed since). Maps and scores are cached on disk
(``dalab.ui.alignment_view``; ``python -m dalab.ui.alignment_view`` precomputes the zoo's), so a
revisit or the zoo's precomputed maps show at once. The scores are on a common representation
(8 principal components of the standardised features), so models of different feature sizes
compare on the same footing."""
import streamlit as st

from dalab.analysis.alignment import COMMON_DIMS
from dalab.runs import RunError
from dalab.ui import alignment_view as AV
from dalab.ui import claims, present
from dalab.ui.figures import embedding_figure
from dalab.ui.glossary import HELP, columns
from dalab.ui.models import (accuracy_text, available, by_pair, no_model_message,
                             option_label, pair_of, picker_label)
from dalab.ui.navigation import ensure_app_navigation
from dalab.ui.sidebar import chosen_index, device, load_model
from dalab.ui.state import kept, key

ensure_app_navigation()  # a deep link on a fresh server: into app.py's navigation

PAGE = "alignment"
MAPS = {"tsne": "t-SNE", "umap": "UMAP"}
st.title("Alignment")
st.write("Each dot is a test image's feature vector, mapped to 2-D. Adaptation should put "
         "target points (crosses) on the source points (circles) *of the same class*.")
models = by_pair(available(capability="encode"))  # only models with features, by pair
if not models:
    st.info(no_model_message(capability="encode", example="dann"))
    st.stop()
by_label = {m["label"]: m for m in models}
by_path = {m["path"]: m for m in models}
labels = list(by_label)
shown_label = dict(zip(labels, map(option_label, models))).get  # pair, accuracy, selection

# -- the controls (above the figures; only "Compute" computes) --------------------------------
c1, c2 = st.columns(2)
left = c1.selectbox("Model (left)", labels, index=chosen_index(models), format_func=shown_label)
right = c2.selectbox("Model (right)", labels, index=min(1, len(labels) - 1),
                     format_func=shown_label)
c3, c4 = st.columns(2)
method = c3.radio("Map", list(MAPS), format_func=MAPS.get, horizontal=True,
                  **kept(PAGE, "method"))
colour = c4.radio("Colour by", ["class", "domain"], horizontal=True, **kept(PAGE, "colour"),
                  help="Redraws the maps shown at once (no Compute needed).")
if present.show_advanced():  # projector mode: fewer controls (500 points, seed 0)
    with st.expander("Advanced: points per domain, seed"):
        n = st.slider("Points per domain", 100, 1000, 500, 100, key=key(PAGE, "n"))
        seed = st.number_input("Seed", 0, 10_000, 0, key=key(PAGE, "seed"))
else:
    n, seed = st.session_state.get(key(PAGE, "n"), 500), st.session_state.get(key(PAGE, "seed"), 0)
wanted = {"left": by_label[left]["path"], "right": by_label[right]["path"], "method": method,
          "n": int(n), "seed": int(seed)}
SHOWN = key(PAGE, "shown")  # the controls of the maps shown (not a widget: kept across pages)
b1, b2 = st.columns([1, 4])
if b1.button("Compute", type="primary", key=key(PAGE, "compute"),
             help="Encode the test images and map them (seconds per model; a map computed "
                  "before comes from the disk cache at once)."):
    st.session_state[SHOWN] = wanted
elif SHOWN not in st.session_state and all(
        AV.is_cached(wanted[s], method, wanted["n"], wanted["seed"]) for s in ("left", "right")):
    st.session_state[SHOWN] = wanted  # precomputed (the zoo's maps): shown on the first visit
shown = st.session_state.get(SHOWN)
if shown and not all(shown[s] in by_path for s in ("left", "right")):
    shown = st.session_state[SHOWN] = None  # a model shown before is gone
if not shown:
    b2.info(f"Press **Compute** to map {wanted['n']} test images per domain with "
            f"{MAPS[method]} (5-20 s a model on a 2-core CPU the first time; the zoo's maps "
            "can be precomputed: `python -m dalab.ui.alignment_view`).")
    st.stop()
if shown != wanted:
    b2.info("The controls changed since these maps were computed (they show "
            f"{picker_label(by_path[shown['left']])} and {picker_label(by_path[shown['right']])}"
            f", {MAPS[shown['method']]}, {shown['n']} points per domain, seed {shown['seed']}): "
            "press **Compute** to redraw.")


# -- the numbers (dalab.ui.alignment_view: pure, disk-cached) ---------------------------------
@st.cache_data(max_entries=8, show_spinner="Encoding the test images and mapping them...")
def view(path: str, method: str | None, n: int, seed: int, dev: str, weights: str) -> dict:
    """``AV.model_view`` (``weights``: the run's weights hash, so a retrained run recomputes);
    at most 8 kept in memory, the disk cache keeps every one."""
    return AV.model_view(path, method, n, seed, load=lambda p: load_model(p, dev))


@st.cache_data(max_entries=16, show_spinner="Measuring the raw images' A-distance...")
def raw(source: str, target: str, split_seed: int, n: int, seed: int) -> dict:
    """CDLM Fig. 9's "Raw": the pixels of n test images per domain, common representation."""
    return AV.raw_scores(source, target, split_seed, n, seed)


def view_of(path: str, method: str | None) -> dict:
    try:
        return view(path, method, shown["n"], shown["seed"], device(),
                    AV.model_key(path)["weights"])
    except (RunError, OSError, ValueError, KeyError, TypeError) as e:
        st.error(f"{picker_label(by_path[path])} cannot be shown: {e}. Pick another one above.")
        st.stop()


def raw_of(m: dict) -> dict:
    split_seed = AV.model_key(m["path"])["pair"]["split_seed"]
    return raw(m["source"], m["target"], split_seed, shown["n"], shown["seed"])


def claim(m: dict, scores: dict):
    return claims.alignment_claim(scores["a_distance"], raw_of(m)["a_distance"],
                                  bool(m.get("at_chance")),
                                  f"common {scores['dims']}-d representation, as the raw images'",
                                  m["method"])


sides = {side: by_path[shown[side]] for side in ("left", "right")}
views = {side: view_of(m["path"], shown["method"]) for side, m in sides.items()}
said = {side: claim(sides[side], views[side]["scores"]) for side in sides}
for col, side in zip(st.columns(2), sides):
    m, v = sides[side], views[side]
    e, s = v["embedding"], v["scores"]
    paper, shown_line, holds = said[side]
    other_side = "right" if side == "left" else "left"
    with col:
        if not holds:
            st.warning(claims.verdict(
                f"{claims.alignment_source(m['method'])}: a smaller A-distance", holds,
                f"the {other_side} model ({picker_label(sides[other_side])})"
                if said[other_side][2] else None,
                "the two models shown (the comparison below checks the others)"))
        st.markdown(f"**Paper says:** {paper}.  \n**This model shows:** {shown_line}.")
        st.plotly_chart(present.figure(embedding_figure(
            e.points, e.domain, e.labels, colour,
            title=f"{m['method']} {m['source']}->{m['target']}"
                  + (" (at chance)" if m.get("at_chance") else "")), columns=2),
            key=f"emb-{side}")
        st.caption(("From the cache" if v["cached"] else "Computed") + f" in {v['seconds']:.1f} s"
                   f" ({MAPS[shown['method']]}, {len(e.points)} points).")
        st.metric("target accuracy", accuracy_text(m["accuracy"], m.get("labels", "")),
                  help=HELP["target accuracy"])
        st.metric(f"proxy A-distance, common {s['dims']}-d (0 = aligned, 2 = separable)",
                  f"{s['a_distance']:.3f}",
                  help=HELP["proxy A-distance, common {dims}-d (0 = aligned, 2 = separable)"]
                  + f" On {s['representation']}: every model on the same footing. On this "
                       f"model's own {s['feature_dim']} features: {s['a_distance_native']:.3f}.")
        st.metric(f"MMD², common {s['dims']}-d (RBF, median bandwidth)", f"{s['mmd']:.4f}",
                  help=HELP["MMD², common {dims}-d (RBF, median bandwidth)"]
                  + f" On {s['representation']}. On this model's own {s['feature_dim']} "
                       f"features: {s['mmd_native']:.4f}.")
        st.caption(f"On its own {s['feature_dim']} features: A-distance "
                   f"{s['a_distance_native']:.3f}, MMD² {s['mmd_native']:.4f} (not comparable "
                   "across models of other feature sizes).")
        st.download_button("Download points (CSV)",
                           "x,y,domain,class\n" + "\n".join(
                               f"{x:.4f},{y:.4f},{'source' if d else 'target'},{c}"
                               for (x, y), d, c in zip(e.points, e.domain, e.labels)),
                           file_name=f"embedding-{m['method']}.csv", key=f"dl-{side}")
st.caption(
    f"Common representation: the scores are computed for every model on the first "
    f"{COMMON_DIMS} principal components of its standardised features (each feature scaled to "
    "unit variance over both domains; the zoo's feature sizes are 8, 64, 768 and 784), and "
    "for the raw images on the same 8 components of their pixels: a linear domain classifier "
    "separates two domains more easily in more dimensions, so the numbers on each model's own "
    "features (shown under each map) do not compare across models. A model at chance is "
    "never counted as aligned: features that carry no class are easy to make "
    "indistinguishable.")
st.caption("Reading t-SNE/UMAP: cluster sizes and the distances between clusters mean little; "
           "neighbourhoods are what the map preserves. Different seeds give different "
           "layouts of the same neighbourhoods.")

# -- every model of the pair(s) shown, on the same footing ------------------------------------
st.subheader("Every model of this pair, on the common representation")
pairs = {pair_of(m) for m in sides.values()}
rest = [m for m in models if pair_of(m) in pairs]
COMPARE = key(PAGE, "compare")
if st.button(f"Compare the {len(rest)} model(s) of {', '.join(sorted(pairs))} (scores only, "
             "no map; a model not yet cached is encoded once, about a second)",
             key=key(PAGE, "compare_button")):
    st.session_state[COMPARE] = (sorted(pairs), shown["n"], shown["seed"])
if st.session_state.get(COMPARE) == (sorted(pairs), shown["n"], shown["seed"]):
    scores = {m["path"]: view_of(m["path"], None)["scores"] for m in rest}
    raws = {pair_of(m): raw_of(m)["a_distance"] for m in rest}
    rows = AV.compare_rows(rest, scores, raws)
    best = AV.best_aligned(rows)
    st.markdown(f"Best aligned working model: **{best}**." if best else
                "No working model here (every one is at chance).")
    st.dataframe(rows, hide_index=True, key=key(PAGE, "table"),
                 column_config=columns(list(rows[0])) if rows else None)
    st.caption("Smallest A-distance first; models at chance after every working one, whatever "
               "their A-distance. Raw pixels: " + ", ".join(
                   f"{p} {a:.3f}" for p, a in sorted(raws.items())) + ".")
