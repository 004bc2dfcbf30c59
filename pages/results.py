"""Results: the benchmark table from docs/benchmarks.json, with the papers' numbers."""
from pathlib import Path

import streamlit as st
from dalab.ui.figures import results_figure
from dalab.ui.models import load_results, results_table
from dalab.ui.navigation import ensure_app_navigation

ensure_app_navigation()  # a deep link on a fresh server: into app.py's navigation

ROOT = Path(__file__).resolve().parents[1]
PATH = ROOT / "docs" / "benchmarks.json"

st.title("Results")
st.write("Target test accuracy of every method on each pair, mean ± sd over seeds, from "
         "`python -m dalab bench`. *Gap closed* is the share of the distance from source-only "
         "(lower bound) to target-only (upper bound, uses target labels) that a method covers. "
         "The paper column is what each paper reports on its nearest task: a different "
         "dataset, for orientation only.")
if not PATH.is_file():
    st.info(f"No benchmark yet: run `python -m dalab bench` to create {PATH.name}.")
    st.stop()
rows, problem = load_results(PATH)
if problem:
    st.warning(problem)
if not rows:
    st.stop()
pairs = sorted({f"{r['source']}->{r['target']}" for r in rows})
pair = st.selectbox("Pair", pairs)
same = [r for r in rows if f"{r['source']}->{r['target']}" == pair]
st.plotly_chart(results_figure(same))
st.dataframe(results_table(same), hide_index=True, column_config={
    "mean": st.column_config.NumberColumn(format="%.4f"),
    "gap closed": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.2f")})
st.caption("What you are seeing: the bars are each method's mean over its seeds (the sd as "
           "error bars; one seed has none, shown as - in the table), the dashed lines the "
           "source-only (lower) and target-only (upper, uses target labels) levels of the pair.")
st.download_button("Download benchmarks.json", PATH.read_text(), file_name="benchmarks.json")
