"""The Home page's method cards: one key equation per registered method (LaTeX) and the
page of the app that shows the method at work. A method missing here still gets a card."""
from __future__ import annotations

EQUATIONS = {
    "source_only": r"\min_{f}\ \mathbb{E}_{(x,y)\sim S}\,\mathrm{CE}(f(x), y)",
    "target_only": r"\min_{f}\ \mathbb{E}_{(x,y)\sim T}\,\mathrm{CE}(f(x), y)",
    "dann": r"\min_{F,C}\max_{D}\ \mathcal{L}_{y}(C(F(x_s)),y_s)"
            r"-\lambda\,\mathcal{L}_{d}(D(F(x)),\,d)",
    "cdlm": r"z_{st}=\mu_s+\sigma_s\odot(\gamma_1 h_t+\gamma_2\epsilon)\quad(1)",
    "dfa_ent": r"\mathcal{L}=\mathcal{L}_{cls}+\lambda\mathcal{L}_{ent}+\alpha\mathcal{L}_{kld}"
               r"+\beta\,\overline{|D(G(x_t))-D(z_n)|},\ z_n\sim\mathcal{N}(0,1)\quad(20)",
    "dfa_mcd": r"\max_{F_1,F_2}\mathcal{L}_{adv}\ \text{then}\ \min_G\ \mathcal{L}_{adv}"
               r"+\beta\mathcal{L}_{dal},\ \mathcal{L}_{adv}=|F_1(G(x_t))-F_2(G(x_t))|",
    "bridge": r"\mathcal{L}=\mathcal{L}_{rec}+\beta_{KL}KL+\beta_{SWD}SWD(z'_s,z'_t)"
              r"+\beta_{Cls}\mathrm{CE}(f(z'),y)",
    "lstnet": r"f(x_2)=h(G_1(E_2(x_2))),\quad CC_4=|x_2-G_2(E_1(G_1(E_2(x_2))))|_1",
}

PAGES = {"cdlm": "Modulation, KL-gap calculator, Latent vs prior",
         "bridge": "Bridge interpolation, Translate",
         "dfa_ent": "Latent vs prior, Alignment", "dfa_mcd": "Latent vs prior, Alignment",
         "dann": "Alignment", "source_only": "Alignment (the 'before')",
         "target_only": "Results (the upper bound)", "lstnet": "Translate"}


def method_cards(methods, zoo_entries: list[dict]) -> list[dict]:
    """``[{"name", "paper", "idea", "equation", "pages", "zoo"}]`` for the Home page:
    ``methods`` are the registered classes, ``zoo`` counts their zoo entries."""
    return [{"name": m.name, "paper": m.paper, "idea": m.summary,
             "equation": EQUATIONS.get(m.name, ""), "pages": PAGES.get(m.name, "Train"),
             "zoo": sum(e["method"] == m.name for e in zoo_entries)} for m in methods]
