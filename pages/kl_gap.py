"""KL-gap calculator: CDLM's Eq. 7-15 for one latent dimension, live."""
import streamlit as st

from dalab.ui import claims, present
from dalab.ui.figures import gap_ratio_figure, gap_table, gaussians_figure, unit_sigma_note
from dalab.ui.glossary import HELP, columns
from dalab.ui.navigation import ensure_app_navigation
from dalab.ui.state import init_from_query, kept, show_link_notes, to_query

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
init_from_query(DEFAULTS, RANGES, page=PAGE)
show_link_notes()
c1, c2, c3 = st.columns(3)
mu_s = c1.number_input("μ_s", *RANGES["mu_s"], step=0.1, **kept(PAGE, "mu_s"))
sigma_s = c1.number_input("σ_s", *RANGES["sigma_s"], step=0.1, **kept(PAGE, "sigma_s"))
mu_t = c2.number_input("μ_t", *RANGES["mu_t"], step=0.1, **kept(PAGE, "mu_t"))
sigma_t = c2.number_input("σ_t", *RANGES["sigma_t"], step=0.1, **kept(PAGE, "sigma_t"))
gamma1 = c3.slider("γ1", *RANGES["gamma1"], step=0.05, **kept(PAGE, "gamma1"))
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
