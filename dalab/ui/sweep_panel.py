"""The Train page's sweep section: a small grid (one or two config keys, at most
:data:`dalab.ui.trainer.MAX_SWEEP_RUNS` runs) launched in the background on dalab sweep's path
(Ray tasks), its runs listed as they finish with the Results page's columns (the label-free
scores beside the target test accuracy). The job logic is in :mod:`dalab.ui.trainer`
(:class:`~dalab.ui.trainer.SweepJob`, :func:`~dalab.ui.trainer.sweep_view`); this module only
draws it."""
from __future__ import annotations

import os

import streamlit as st

from . import trainer as jobs

K = "train.sweep."   # widget and state keys of this section
# the form's widgets keep their values for the session (persist_state), so the form that comes
# back after a sweep (or a visit to another page) holds what was launched


def _launch() -> None:
    """The Launch button's callback (runs on the click even when this tab's form is stale, so
    a refusal is always said)."""
    from ..data import DataError
    from ..methods import ConfigError
    from ..sweep import SweepError

    s = st.session_state
    try:
        grid = jobs.sweep_plan(s[K + "method"], s[K + "source"], s[K + "target"],
                               [s[K + "key1"], s[K + "key2"]], int(s[K + "seeds"]))
        job = jobs.start_sweep(s[K + "method"], s[K + "source"], s[K + "target"], grid,
                               seeds=int(s[K + "seeds"]), steps=int(s[K + "steps"]),
                               num_cpus=int(s[K + "cpus"]))
        s[K + "out"] = str(job.out)
    except (jobs.BusyError, SweepError, ConfigError, DataError, ValueError) as e:
        s[K + "error"] = str(e)


def _form(domains: list[str]) -> None:
    from ..methods import METHODS

    cores = os.cpu_count() or 1
    with st.form("train_sweep_form"):
        c1, c2, c3 = st.columns(3)
        c1.selectbox("Method", list(METHODS), index=list(METHODS).index("dann"),
                     key=K + "method", persist_state="session")
        c2.selectbox("Source", domains, index=domains.index("mnist"), key=K + "source",
                     persist_state="session")
        c3.selectbox("Target", domains, index=domains.index("digits"), key=K + "target",
                     persist_state="session")
        k1, k2 = st.columns(2)
        k1.text_input("Config key and values", "lr=0.005,0.01,0.02", key=K + "key1",
                      persist_state="session",
                      help="KEY=V1,V2,... as `dalab sweep --grid` takes it; `dalab methods -v` "
                           "lists every key and default")
        k2.text_input("Second key (optional)", "", placeholder="lambda_w=0.3,1",
                      key=K + "key2", persist_state="session")
        c4, c5, c6 = st.columns(3)
        c4.number_input("Seeds", min_value=1, max_value=jobs.MAX_SWEEP_RUNS, value=1,
                        key=K + "seeds", persist_state="session")
        c5.number_input("Steps per run", min_value=10, max_value=100_000, value=100, step=50,
                        key=K + "steps", persist_state="session")
        c6.number_input("Ray CPUs (one run each)", min_value=1, max_value=cores,
                        value=jobs.sweep_cpus(cores), key=K + "cpus", persist_state="session",
                        help="default: all cores but one, which the page and the browser keep")
        st.caption(f"At most {jobs.MAX_SWEEP_RUNS} runs (values x seeds) from the page; "
                   "`python -m dalab sweep` runs larger grids. The same form again resumes the "
                   "same sweep: finished runs are skipped.")
        st.form_submit_button("Launch", type="primary", on_click=_launch)


def render(domains: list[str]) -> None:
    """The sweep section: the form (or the sweep running in this server), then the sweep's
    runs so far."""
    missing = jobs.ray_missing()
    if missing:
        st.info(missing)
        return
    s = st.session_state
    busy = jobs.current_job()
    job = busy if isinstance(busy, jobs.SweepJob) else jobs.get_job(s.get(K + "out"))
    if job is not None and not isinstance(job, jobs.SweepJob):
        job = None
    if busy is not None and not isinstance(busy, jobs.SweepJob):
        st.warning(f"A run is training in this server: {busy.describe()}. A sweep can be "
                   "launched once it ends.")
    if job is None or not job.active:
        _form(domains)
    error = s.pop(K + "error", None)
    if error:
        st.error(error)
    if job is None:
        return
    s[K + "out"] = str(job.out)  # a reattached tab keeps it once the sweep has ended
    st.markdown(f"**Sweep** {job.describe()}")
    if job.active:
        st.button("Stop", key=K + "stop", disabled=job.state == "stopping", on_click=job.stop,
                  help="cancels the runs not finished; the same form again resumes them")
    _live(job)


def _live(job: jobs.SweepJob) -> None:
    @st.fragment(run_every=jobs.REFRESH_S if job.active else None)
    def live():
        view = jobs.sweep_view(job, st.session_state.setdefault(K + "view", {}))
        snap = view["snapshot"]
        st.progress(view["progress"], text=view["status"])
        if view["rows"]:
            st.dataframe(view["rows"], hide_index=True, key=K + "table")
            st.caption("One row per run as it finishes: the label-free selection scores "
                       "(entropy and DEV lower is better, SND and IWCV higher) beside the target "
                       "test accuracy, which a real adaptation task would not have. The Results "
                       "page shows the whole sweep, with heatmaps for two keys.")
        for w in view["warnings"]:
            st.warning(w)
        if snap["state"] == "error" or snap["message"]:
            st.error(snap["message"])
        elif snap["state"] in ("finished", "stopped"):
            st.success(f"Sweep {snap['state']}. Runs in `{snap['out']}`.")
        if snap["lines"]:
            with st.expander("Sweep log"):
                st.code("\n".join(snap["lines"]), language=None)
        if not job.active and st.session_state.get(K + "shown_active"):
            st.session_state[K + "shown_active"] = False
            st.rerun()  # the sweep ended: the whole page again, with the form
        st.session_state[K + "shown_active"] = job.active

    live()
