"""Results: the benchmark table from docs/benchmarks.json, with the papers' numbers, and
the sweeps under runs/sweep (label-free score and test accuracy per configuration)."""
from pathlib import Path

import streamlit as st
from dalab.sweep import (SCORE_LABELS, SCORE_NAMES, SWEEP_ROOT, SweepError, configurations,
                         find_sweeps, read_spec, sweep_rows, table_rows)
from dalab.ui.bench_runs import row_runs, runs_table
from dalab.ui.figures import results_figure, row_curves_figure, sweep_heatmap_figure
from dalab.ui.glossary import columns
from dalab.ui.models import load_results, results_table
from dalab.ui.navigation import ensure_app_navigation

ensure_app_navigation()  # a deep link on a fresh server: into app.py's navigation

ROOT = Path(__file__).resolve().parents[1]
PATH = ROOT / "docs" / "benchmarks.json"
BENCH = ROOT / "bench"   # the campaign's runs (dalab bench)

st.title("Results")
st.write("Target test accuracy of every method on each pair, mean ± sd over seeds, from "
         "`python -m dalab bench`. *Gap closed* is the share of the distance from source-only "
         "(lower bound) to target-only (upper bound, uses target labels) that a method covers. "
         "The paper column is what each paper reports on its nearest task: a different "
         "dataset, for orientation only.")


def benchmark_section() -> None:
    if not PATH.is_file():
        st.info(f"No benchmark yet: run `python -m dalab bench` to create {PATH.name}.")
        return
    rows, problem = load_results(PATH)
    if problem:
        st.warning(problem)
    if not rows:
        return
    pairs = sorted({f"{r['source']}->{r['target']}" for r in rows})
    pair = st.selectbox("Pair", pairs)
    same = [r for r in rows if f"{r['source']}->{r['target']}" == pair]
    st.plotly_chart(results_figure(same))
    table = results_table(same)
    st.dataframe(table, hide_index=True, column_config=columns(
        list(table[0]), mean=st.column_config.NumberColumn(format="%.4f"),
        **{"gap closed": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0,
                                                         format="%.2f")}))
    st.caption("What you are seeing: the bars are each method's mean over its seeds (the sd as "
               "error bars; one seed has none, shown as - in the table), the dashed lines the "
               "source-only (lower) and target-only (upper, uses target labels) levels of the "
               "pair.")
    st.download_button("Download benchmarks.json", PATH.read_text(),
                       file_name="benchmarks.json")
    runs_section(same)


def runs_section(same: list[dict]) -> None:
    st.subheader("The runs behind a row")
    with_runs = [r for r in same if r.get("runs")]
    if not with_runs:
        st.info("These rows predate the campaign folder (`bench/`): they list no runs. "
                "`python -m dalab bench` rebuilds them from runs you can open.")
        return
    row = st.selectbox("Row", with_runs, format_func=lambda r: r["method"],
                       key="results.row")
    records = row_runs(BENCH, row)
    table = runs_table(records)
    st.dataframe(table, hide_index=True, column_config=columns(list(table[0])) if table else None)
    if any(r["loss"] or r["eval_target"] for r in records):
        st.plotly_chart(row_curves_figure(records), key="row_curves")
        st.caption("Each seed's training loss (means over 50 steps, from its `metrics.csv`) "
                   "and its target test accuracy at each evaluation (the final one is the "
                   "table's number). A curve still rising at the end says the recipe is cut "
                   "short.")


def sweeps_section() -> None:
    st.header("Sweeps")
    st.write("Grids of one method's config values x seeds from `python -m dalab sweep` "
             f"(folders under `{SWEEP_ROOT}`): each run's label-free selection scores next to "
             "its target test accuracy, which a real adaptation task would not have.")
    sweeps = find_sweeps(SWEEP_ROOT)
    if not sweeps:
        st.info(f"No sweep yet: e.g. `python -m dalab sweep --method dann --source mnist "
                f"--target digits --grid lr=0.005,0.01,0.02 --grid lambda_w=0.3,1,3 "
                f"--steps 100`.")
        return
    folder = st.selectbox("Sweep", sweeps, format_func=lambda p: p.name, key="results.sweep")
    try:
        spec = read_spec(folder)
        rows = sweep_rows(folder, log=st.warning)
    except (SweepError, OSError, ValueError) as e:
        st.warning(f"This sweep cannot be shown: {e}. Pick another one.")
        return
    st.caption(f"{spec['method']} {spec['source']}->{spec['target']}, {spec['steps']} steps, "
               f"{len(rows)} run(s) of {len(configurations(spec['grid'], spec['seeds']))}")
    table = table_rows(rows)
    st.dataframe(table, hide_index=True,
                 column_config=columns(list(table[0]), grid=True) if table else None)
    if len(spec["grid"]) == 2 and rows:
        score = st.selectbox("Label-free score", SCORE_NAMES, index=1,
                             format_func=SCORE_LABELS.get, key="results.sweep_score")
        st.plotly_chart(sweep_heatmap_figure(rows, spec, score), key="sweep_heatmap")
        st.caption("Each cell is the mean over the seeds of that configuration; a blank cell "
                   "has no finished run.")


benchmark_section()
sweeps_section()
