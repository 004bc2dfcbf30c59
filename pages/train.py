"""Train: pick a method, a pair and hyperparameters; watch the losses and the target accuracy
while a background trainer runs. Finished runs are saved under runs/app/. The server trains
one run at a time; a reload (or another tab) finds the running job again."""
import time

import streamlit as st

from dalab.data import DataError, list_domains
from dalab.methods import METHODS, ConfigError
from dalab.ui import trainer as jobs
from dalab.ui.glossary import HELP
from dalab.ui.navigation import ensure_app_navigation

ensure_app_navigation()  # a deep link on a fresh server: into app.py's navigation

st.title("Train")
st.write("Train any registered method on a source -> target pair. The trainer runs in the "
         f"background: pause it, step through it, or stop it; the curves update every "
         f"{jobs.REFRESH_S:g} s. A run that diverges (NaN or inf loss) stops with a message and "
         "keeps its last good weights. The server trains one run at a time.")

if isinstance(jobs.current_job(), jobs.SweepJob):
    st.session_state["train.mode"] = "Sweep"  # a sweep is running: show it (after a reload too)
if st.radio("Train", ["One run", "Sweep"], horizontal=True, key="train.mode",
            persist_state="session",
            help="Sweep: one method on one pair over a small grid of config values x seeds, "
                 "each an ordinary run, in parallel on Ray (as `python -m dalab sweep`)"
            ) == "Sweep":
    from dalab.ui import sweep_panel
    sweep_panel.render([d.name for d in list_domains() if d.origin == "embedded"])
    st.stop()

def start() -> None:
    """The Start button's callback: it runs on the click even when this tab's form is stale
    (another tab started a job since), so a refusal is always said."""
    s = st.session_state
    out = (f"runs/app/{s['train.method']}_{s['train.source']}_to_{s['train.target']}"
           f"_seed{s['train.seed']}_{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        jobs.start_job(s["train.method"], s["train.source"], s["train.target"],
                       int(s["train.steps"]), seed=int(s["train.seed"]),
                       device=s["train.device"], out=out,
                       overrides=[ln.strip() for ln in s["train.overrides"].splitlines()
                                  if ln.strip()])
        s["train.run"] = out
    except (jobs.BusyError, DataError, ConfigError, ValueError) as e:
        s["train.error"] = str(e)


error = st.session_state.pop("train.error", None)
job = jobs.current_job(st.session_state.get("train.run"))
if job is None or not job.active:  # else the running job instead of the form
    domains = [d.name for d in list_domains() if d.origin == "embedded"]
    with st.form("train_form"):
        c1, c2, c3 = st.columns(3)
        c1.selectbox("Method", list(METHODS), index=list(METHODS).index("dann"),
                     key="train.method")
        c2.selectbox("Source", domains, index=domains.index("mnist"), key="train.source")
        c3.selectbox("Target", domains, index=domains.index("digits"), key="train.target")
        c4, c5, c6 = st.columns(3)
        c4.number_input("Steps", min_value=10, max_value=100_000, value=1000, step=100,
                        key="train.steps")
        c5.number_input("Seed", min_value=0, value=0, key="train.seed")
        c6.selectbox("Device", ["auto", "cpu", "cuda", "mps"], key="train.device")
        st.text_area("Config overrides (key=value, one per line)", "",
                     help="`dalab methods -v` lists every key and default", key="train.overrides")
        st.form_submit_button("Start", type="primary", on_click=start)
if error:
    st.error(error)

if job is None:
    st.info("Choose a method and a pair, then press Start.")
    st.stop()

st.session_state["train.run"] = str(job.out)  # a reattached tab keeps it once it has ended
st.markdown(f"**Run** {job.describe()}")
if job.active:
    b1, b2, b3, b4 = st.columns(4)
    if b1.button("Pause", key="train.pause"):
        job.pause()
    if b2.button("Resume", key="train.resume"):
        job.resume()
    if b3.button("Step", key="train.step"):
        job.step()
    if b4.button("Stop", key="train.stop", disabled=job.state == "stopping"):
        job.stop()


@st.fragment(run_every=jobs.REFRESH_S if job.active else None)
def live():
    view = jobs.live_view(job, st.session_state.setdefault("train.view", {}))
    snap = view["snapshot"]
    st.progress(view["progress"], text=view["status"])
    if view["figure"] is not None:
        st.plotly_chart(view["figure"], key="curves")
    if view["accuracy"] is not None:
        st.metric("target test accuracy", f"{view['accuracy']:.4f}",
                  help=HELP["target test accuracy"])
    if snap["state"] in ("finished", "stopped"):
        st.success(f"{snap['message']}. Run saved to `{snap['run_dir']}`.")
    elif snap["state"] == "diverged":
        st.error(f"Training diverged: {snap['message']}")
    elif snap["state"] == "error":
        st.error(snap["message"])
    if not job.active and st.session_state.get("train.shown_active"):
        st.session_state["train.shown_active"] = False
        st.rerun()  # the job ended: the whole page again, with the form
    st.session_state["train.shown_active"] = job.active


live()
