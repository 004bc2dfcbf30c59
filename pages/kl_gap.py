"""KL-gap calculator: CDLM's Eq. 7-15 for one latent dimension, live."""
import streamlit as st

from dalab.data import DomainPair
from dalab.ui import claims, present
from dalab.ui import kl_links as KL
from dalab.ui.figures import gap_ratio_figure, gap_table, gaussians_figure, unit_sigma_note
from dalab.ui.glossary import HELP, columns
from dalab.ui.models import link_name, picker_label
from dalab.ui.modulation import encode_batch, page_batch, trained_gammas
from dalab.ui.navigation import ensure_app_navigation
from dalab.ui.sidebar import device, load_model_or_explain, pick_model
from dalab.ui.state import clamp, init_from_query, kept, key, show_link_notes, to_query

ensure_app_navigation()  # a deep link on a fresh server: into app.py's navigation

DEFAULTS = {"mu_s": 1.0, "sigma_s": 1.0, "mu_t": -1.0, "sigma_t": 1.0, "gamma1": 1.0}

st.title("KL-gap calculator")
st.write(
    "CDLM modulates each domain's latent code with the other domain's deep features "
    "(Eq. 1-2). Under the paper's assumptions the modulated codes *st* and *ts* are closer "
    "than the original *s* and *t*: the gap shrinks by ((1-γ1)/γ1)², so only when γ1 > 0.5. "
    "Set the Gaussian of each domain (one latent dimension) and γ1.")
RANGES = {"mu_s": (-100.0, 100.0), "sigma_s": (0.01, 100.0), "mu_t": (-100.0, 100.0),
          "sigma_t": (0.01, 100.0), "gamma1": (0.2, 2.0)}
PAGE = "kl_gap"  # widget keys are "kl_gap.gamma1", ...; link parameters plain
N_BATCH = 128  # the Modulation page's default batch (seed 0): the same images, the same numbers
init_from_query(DEFAULTS, RANGES, page=PAGE)
show_link_notes()


@st.cache_data(max_entries=8, show_spinner="Measuring the model's codes...")
def measured(path: str, dev: str, n: int):
    """Per-dimension measured symbols of a CDLM model on the Modulation page's batch."""
    model, info = load_model_or_explain(path, dev)
    p = info["pair"]
    enc = encode_batch(model, *page_batch(DomainPair(p["source"], p["target"],
                                                     p["split_seed"]), n, 0))
    return KL.per_dimension(enc), trained_gammas(info["config"])


def fill(values: dict) -> None:  # the button's callback: before the inputs below exist
    for name, value in values.items():
        st.session_state[key(PAGE, name)] = value


measured_help = {}  # symbol -> "measured on <model>: value (link)", shown as each input's help
if st.toggle("Link the symbols to a trained CDLM model (the Modulation page's measured "
             "values)", **kept(PAGE, "link"),
             help="Each symbol's value measured on the model's codes, on the Modulation "
                  "page's batch of test images; a button copies them into the calculator."):
    lm = pick_model(method="cdlm", label="CDLM model", key=key(PAGE, "model"))
    if lm is not None:
        dims, trained = measured(lm["path"], device(), N_BATCH)
        d = len(dims["kl"])
        st.session_state.setdefault(key(PAGE, "dim"), KL.strongest_dimension(dims))
        clamp(key(PAGE, "dim"), 0, d - 1)
        dim = int(st.number_input(
            f"Latent dimension (0-{d - 1})", 0, d - 1, step=1, **kept(PAGE, "dim"),
            help="The calculator is one dimension; it opens on the one with the largest "
                 "KL(s‖t) (Eq. 7 on the codes' moments; the Modulation page fits one draw "
                 "of sampled codes, which comes out larger)."))
        values, notes = KL.measured_values(dims, dim, trained["gamma1"], RANGES)
        link = KL.modulation_link(lm, dim)
        st.button(f"Use the measured values of {picker_label(lm)} (dimension {dim})",
                  on_click=fill, args=(values,), key=key(PAGE, "fill"))
        st.dataframe(KL.symbol_rows(dims, dim, trained["gamma1"], trained["gamma2"]),
                     hide_index=True, column_config=columns(
                         ["symbol", "measured", "what"],
                         measured=st.column_config.NumberColumn(format="%.4f")))
        st.markdown(f"Measured on {N_BATCH} test images per domain of {lm['source']} -> "
                    f"{lm['target']}, dimension {dim}: "
                    f"[see them on the Modulation page]({link}) (`{link_name(lm)}`)."
                    + (" " + "; ".join(notes) + "." if notes else ""))
        measured_help = {s: f"Measured on {picker_label(lm)}, dimension {dim}: {v:.4g} "
                            f"([Modulation page]({link}))." for s, v in values.items()}
c1, c2, c3 = st.columns(3)
mu_s = c1.number_input("μ_s", *RANGES["mu_s"], step=0.1, format="%.4f",
                       help=measured_help.get("mu_s"), **kept(PAGE, "mu_s"))
sigma_s = c1.number_input("σ_s", *RANGES["sigma_s"], step=0.1, format="%.4f",
                          help=measured_help.get("sigma_s"), **kept(PAGE, "sigma_s"))
mu_t = c2.number_input("μ_t", *RANGES["mu_t"], step=0.1, format="%.4f",
                       help=measured_help.get("mu_t"), **kept(PAGE, "mu_t"))
sigma_t = c2.number_input("σ_t", *RANGES["sigma_t"], step=0.1, format="%.4f",
                          help=measured_help.get("sigma_t"), **kept(PAGE, "sigma_t"))
gamma1 = c3.slider("γ1", *RANGES["gamma1"], step=0.05, **kept(PAGE, "gamma1"),
                   help=measured_help.get("gamma1"))
to_query(list(DEFAULTS), page=PAGE)
if unit_sigma_note(sigma_s):
    st.warning(unit_sigma_note(sigma_s))

st.latex(r"D_{KL}(s\|t)=\tfrac12\Big[2\log\tfrac{\sigma_t}{\sigma_s}+\big(\tfrac{\mu_s-\mu_t}"
         r"{\sigma_t}\big)^2+\big(\tfrac{\sigma_s}{\sigma_t}\big)^2-1\Big]\quad(7)")
st.latex(r"D_{KL}(st\|ts)=\Big(\frac{1-\gamma_1}{\gamma_1}\Big)^2 D_{KL}(s\|t)\quad(10)")
st.latex(r"\text{PM1: } D_{KL}(st\|ts)=\tfrac12\,4\Big(\frac{\mu_s-\mu_t}{\sigma_s+\sigma_t}"
         r"\Big)^2\quad(12)")
rows = gap_table(mu_s, sigma_s, mu_t, sigma_t, gamma1)
st.dataframe(rows, hide_index=True, column_config=columns(
    ["equation", "quantity", "value"], value=st.column_config.NumberColumn(format="%.4f")))
st.metric("gap ratio KL(st‖ts) / KL(s‖t) (Eq. 10)", f"{rows[3]['value']:.3f}",
          help=HELP["gap ratio KL(st‖ts) / KL(s‖t) (Eq. 10)"])
left, right = st.columns(2)
left.plotly_chart(present.figure(gaussians_figure(mu_s, sigma_s, mu_t, sigma_t, gamma1),
                                 columns=2), key="gaussians")
with right:
    paper, shown, holds = claims.kl_gap_claim(mu_s, sigma_s, mu_t, sigma_t, gamma1)
    if not holds:  # the alternative: the same means and γ1 with the unit sigmas Eq. 10 assumes
        unit = claims.kl_gap_claim(mu_s, 1.0, mu_t, 1.0, gamma1)[2]
        st.warning(claims.verdict(
            "Eq. 10's ratio", holds, "the same μ and γ1 with σ_s = σ_t = 1" if unit else None,
            "these means and γ1 with σ_s = σ_t = 1", subject="This setting"))
    st.markdown(f"**Paper says:** {paper}.  \n**These Gaussians show:** {shown}.")
    st.plotly_chart(present.figure(gap_ratio_figure(gamma1), columns=2), key="ratio")
st.caption("What you are seeing: left, the two domains' Gaussians and the modulated codes z_st, "
           "z_ts with Eq. 5-6's moments (μ_st = μ_s + γ1 μ_t, σ_st = γ1 σ_s σ_t): above "
           "γ1 = 0.5 the dashed curves overlap more than s and t do. Right, Eq. 10 for "
           "every γ1; the dot is yours. Eq. 5-6 and 9-10 assume σ_s ≈ 1 and γ1 ≫ γ2 "
           "(Sec. 3.2.2); Eq. 7 and 12 hold for any σ.")
st.download_button("Download the table (CSV)",
                   "equation,quantity,value\n" + "\n".join(
                       f"{r['equation']},\"{r['quantity']}\",{r['value']}" for r in rows),
                   file_name="kl_gap.csv", mime="text/csv")
