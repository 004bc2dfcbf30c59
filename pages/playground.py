"""Playground: watch a method align two 2-D domains, step by step (dalab/ui/playground.py)."""
import streamlit as st
from dalab.ui.figures import playground_figures
from dalab.ui.glossary import HELP
from dalab.ui.navigation import ensure_app_navigation
from dalab.ui.playground import (METHOD_LABELS, PLAY_METHODS, SPEEDS, Setup, frame, start,
                                 train_chunk)

ensure_app_navigation()  # a deep link on a fresh server: into app.py's navigation

st.title("Playground")
st.write("Two moons as the source domain (blue, labelled) and the same moons rotated and "
         "shifted as the target (red, its labels hidden from the method). Press **Play**: "
         "the method trains a few steps per frame; watch the features of the two domains "
         "come together on the right and the target accuracy rise below. Circles and crosses "
         "are the two classes. The URL holds the setting, so a link shares it.")

linked, notes = Setup.from_params(st.query_params)
for note in notes:
    st.caption(f"Link parameter ignored: {note}.")
c1, c2, c3, c4, c5 = st.columns(5)
method = c1.selectbox("Method", PLAY_METHODS, index=PLAY_METHODS.index(linked.method),
                      format_func=METHOD_LABELS.get, key="pg.method")
angle = c2.slider("Target rotation (degrees)", 0, 180, int(linked.angle), 5, key="pg.angle")
shift = c3.slider("Target shift", -2.0, 2.0, float(linked.shift), 0.25, key="pg.shift")
seed = c4.number_input("Seed", 0, 9999, int(linked.seed), key="pg.seed")
speed = c5.selectbox("Speed", list(SPEEDS), index=1, key="pg.speed",
                     help="Training steps per frame (slow 5, normal 20, fast 50).")
with st.expander("Learning rate and adaptation weight"):
    lr = st.number_input("Learning rate (0: the method's default)", 0.0, 1.0,
                         float(linked.lr or 0.0), format="%.4f", key="pg.lr")
    weight = st.number_input("Adaptation weight (-1: the default; DANN lambda_w, DFA beta)",
                             -1.0, 100.0, float(linked.weight if linked.weight is not None
                                                else -1.0), key="pg.weight")
setup = Setup(method, float(angle), float(shift), int(seed), lr or None,
              None if weight < 0 else weight)
st.query_params.from_dict(setup.to_params())

if st.session_state.get("pg.session") is None or st.session_state["pg.session"].setup != setup:
    st.session_state["pg.session"] = start(setup)
    st.session_state["pg.playing"] = False


def toggle() -> None:  # callbacks run before the rerun draws the buttons
    st.session_state["pg.playing"] = not st.session_state.get("pg.playing", False)


def step() -> None:
    train_chunk(st.session_state["pg.session"], SPEEDS[st.session_state["pg.speed"]])


def reset() -> None:
    st.session_state["pg.session"] = start(setup)
    st.session_state["pg.playing"] = False


b1, b2, b3 = st.columns([1, 1, 6])
playing = st.session_state.get("pg.playing", False)
b1.button("Pause" if playing else "Play", key="pg.play", type="primary", on_click=toggle)
b2.button("Step", key="pg.step", disabled=playing, on_click=step)
b3.button("Reset", key="pg.reset", on_click=reset)


@st.fragment(run_every=0.3 if st.session_state.get("pg.playing") else None)
def show() -> None:
    session = st.session_state["pg.session"]
    if st.session_state.get("pg.playing"):
        train_chunk(session, SPEEDS[st.session_state.get("pg.speed", "normal")])
    f = frame(session)
    inp, feat, curves = playground_figures(f)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("steps trained", f["step"], help=HELP["steps trained"])
    m2.metric("target accuracy (all points)", f"{f['scores']['target_acc']:.3f}",
              help=HELP["target accuracy (all points)"])
    m3.metric("source accuracy (all points)", f"{f['scores']['source_acc']:.3f}",
              help=HELP["source accuracy (all points)"])
    m4.metric("feature MMD²", f"{f['scores']['mmd2']:.4f}", help=HELP["feature MMD²"])
    left, right = st.columns(2)
    left.plotly_chart(inp, key="pg_input")
    right.plotly_chart(feat, key="pg_features")
    st.plotly_chart(curves, key="pg_curves")


show()
st.caption("What you are seeing: left, the points and the regions the classifier assigns to "
           "each class (grey: class 1); right, the network's features of both domains through "
           "a projection fixed at step 0, so any movement is the method's. Source-only learns "
           "the blue moons and ignores the red ones; DANN and the DFA variants pull the red "
           "features onto the blue ones, and the target accuracy follows when the classes "
           "land on their own side.")
