"""Home: what dalab is, one card per registered method, the zoo's status, the domains."""
import streamlit as st

from dalab import zoo
from dalab.data import list_domains
from dalab.methods import list_methods
from dalab.ui.cards import method_cards
from dalab.ui.glossary import columns
from dalab.ui.navigation import ensure_app_navigation

ensure_app_navigation()  # a deep link on a fresh server: into app.py's navigation

st.title("dalab: a domain-adaptation lab")
st.write(
    "Train a classifier on a labelled **source** domain and make it work on an unlabelled "
    "**target** domain. dalab re-implements latent-space transfer methods next to the classic "
    "baselines and shows what happens inside them: **Learn** the ideas, **Explore** trained "
    "models (latent codes, alignment, CDLM's modulation, bridge interpolation), **Train** your "
    "own and compare them with the benchmark, **Translate** images between domains.")

entries, problems = zoo.scan()  # a broken index or entry is listed, never raised
for line in problems:
    st.warning(f"Left out of the pretrained zoo: {line}")
if entries:
    st.success(f"Pretrained zoo: {len(entries)} model(s) in `{zoo.zoo_dir()}`. Pick one in the "
               "sidebar; every Explore page starts from it.")
else:
    st.info(f"The pretrained zoo (`{zoo.zoo_dir()}`) is empty. Train a model on the **Train** "
            "page (or `python -m dalab train --method cdlm --source mnist --target digits`); "
            "finished runs appear in the sidebar next to the zoo.")

st.subheader("Registered methods")
cards = method_cards(list_methods(), entries)
for row in range(0, len(cards), 2):
    for col, c in zip(st.columns(2), cards[row:row + 2]):
        with col.container(border=True):
            st.markdown(f"**{c['name']}**: {c['idea']}")
            if c["latex"]:  # a long equation in lines: a card is half the page wide
                st.latex(c["latex"])
            st.caption(f"{c['paper']}. Shown on: {c['pages']}. Zoo models: {c['zoo']}.")
st.dataframe(
    [{"method": m.name, "idea": m.summary, "paper": m.paper,
      "uses target labels": m.uses_target_labels} for m in list_methods()],
    hide_index=True, column_config=columns(["method", "idea", "paper", "uses target labels"]))
st.download_button("Download the method list (CSV)",
                   "method,paper,zoo_models\n" + "\n".join(
                       f"{c['name']},\"{c['paper']}\",{c['zoo']}" for c in cards),
                   file_name="methods.csv", mime="text/csv")
st.subheader("Domains")
st.dataframe([{"name": d.name, "kind": d.kind, "origin": d.origin, "description": d.description}
              for d in list_domains()], hide_index=True,
             column_config=columns(["name", "kind", "origin", "description"]))
st.caption("Train from a terminal: `python -m dalab train --method dann --source mnist "
           "--target digits`")
