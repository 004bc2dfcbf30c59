"""Train: pick a method, a pair and hyperparameters; watch the losses and the target accuracy
while a background trainer runs. Finished runs are saved under runs/app/."""
import time

import streamlit as st

from dalab.data import DataError, list_domains
from dalab.methods import METHODS, ConfigError
from dalab.ui.figures import curves_figure
from dalab.ui.trainer import Trainer
from dalab.ui.navigation import ensure_app_navigation

ensure_app_navigation()  # a deep link on a fresh server: into app.py's navigation

st.title("Train")
st.write("Train any registered method on a source -> target pair. The trainer runs in the "
         "background: pause it, step through it, or stop it; the curves update every second. "
         "A run that diverges (NaN or inf loss) stops with a message and keeps its last good "
         "weights.")

domains = [d.name for d in list_domains() if d.origin == "embedded"]
with st.form("train_form"):
    c1, c2, c3 = st.columns(3)
    method = c1.selectbox("Method", list(METHODS), index=list(METHODS).index("dann"))
    source = c2.selectbox("Source", domains, index=domains.index("mnist"))
    target = c3.selectbox("Target", domains, index=domains.index("digits"))
    c4, c5, c6 = st.columns(3)
    steps = c4.number_input("Steps", min_value=10, max_value=100_000, value=1000, step=100)
    seed = c5.number_input("Seed", min_value=0, value=0)
    device = c6.selectbox("Device", ["auto", "cpu", "cuda", "mps"])
    overrides = st.text_area("Config overrides (key=value, one per line)", "",
                             help="`dalab methods -v` lists every key and default")
    started = st.form_submit_button("Start", type="primary")

if started:
    old = st.session_state.get("trainer")
    if old is not None:
        old.stop()
    try:
        out = f"runs/app/{method}_{source}_to_{target}_seed{seed}_{time.strftime('%Y%m%d-%H%M%S')}"
        trainer = Trainer(method, source, target, int(steps), seed=int(seed), device=device,
                          overrides=[ln.strip() for ln in overrides.splitlines() if ln.strip()],
                          out=out)
        trainer.start()
        st.session_state["trainer"] = trainer
    except (DataError, ConfigError, ValueError) as e:
        st.error(str(e))

trainer = st.session_state.get("trainer")
if trainer is None:
    st.info("Choose a method and a pair, then press Start.")
    st.stop()

b1, b2, b3, b4 = st.columns(4)
if b1.button("Pause"):
    trainer.pause()
if b2.button("Resume"):
    trainer.resume()
if b3.button("Step"):
    trainer.step()
if b4.button("Stop"):
    trainer.stop()


@st.fragment(run_every=1.0)
def live():
    snap = trainer.snapshot()
    st.progress(min(1.0, snap["step"] / snap["steps"]),
                text=f"{snap['state']}: step {snap['step']} / {snap['steps']}")
    if snap["history"]:
        st.plotly_chart(curves_figure(snap["history"]), key="curves")
        last = snap["history"][-1]
        st.metric("target test accuracy", f"{last['target_test']:.4f}")
    if snap["state"] in ("finished", "stopped"):
        st.success(f"{snap['message']}. Run saved to `{snap['run_dir']}`.")
    elif snap["state"] == "diverged":
        st.error(f"Training diverged: {snap['message']}")
    elif snap["state"] == "error":
        st.error(snap["message"])


live()
