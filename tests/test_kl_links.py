"""The KL-gap calculator's symbols linked to a trained CDLM model's measured values (issue 14)."""
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from dalab.analysis import kl as K
from dalab.ui import kl_links as KL

ROOT = Path(__file__).resolve().parents[1]
RANGES = {"mu_s": (-100.0, 100.0), "sigma_s": (0.01, 100.0), "mu_t": (-100.0, 100.0),
          "sigma_t": (0.01, 100.0), "gamma1": (0.2, 2.0)}


def _enc(n=20000, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    mu_s = torch.randn(n, d, generator=g) * 0.5 + torch.tensor([1.0, 0.0, 0.0])
    mu_t = torch.randn(n, d, generator=g) * 0.5 + torch.tensor([-1.0, 0.0, 3.0])
    sd = torch.full((n, d), 0.8)
    return {"mu_s": mu_s, "sigma_s": sd, "h_s": torch.rand(n, d, generator=g),
            "mu_t": mu_t, "sigma_t": sd, "h_t": torch.rand(n, d, generator=g)}


def test_per_dimension_moments_are_those_of_the_sampled_codes():
    enc = _enc()
    dims = KL.per_dimension(enc)
    g = torch.Generator().manual_seed(1)
    eps = torch.randn(enc["mu_s"].shape, generator=g)
    z_s = (enc["mu_s"] + enc["sigma_s"] * eps).numpy()
    m, s = K.fit_diag_gaussian(z_s)
    assert np.allclose(dims["mu_s"], m, atol=0.03) and np.allclose(dims["sigma_s"], s, atol=0.03)
    assert np.allclose(dims["sigma_s"], np.sqrt(0.8 ** 2 + 0.5 ** 2), atol=0.03)
    assert np.allclose(dims["sigma_s_encoder"], 0.8) and dims["h_t"].shape == (3,)
    assert KL.strongest_dimension(dims) == 2                 # the means 3 apart
    assert dims["kl"][2] == pytest.approx(K.kl_gauss(dims["mu_s"][2], dims["sigma_s"][2],
                                                     dims["mu_t"][2], dims["sigma_t"][2]))


def test_measured_values_are_clamped_into_the_calculator_with_a_note():
    dims = KL.per_dimension(_enc())
    values, notes = KL.measured_values(dims, 0, 3.0, RANGES)
    assert set(values) == set(KL.SYMBOLS) and values["mu_s"] == pytest.approx(dims["mu_s"][0])
    assert values["gamma1"] == 2.0 and notes and "gamma1 = 3" in notes[0]
    with pytest.raises(ValueError, match="3 \\(0..2\\)"):
        KL.measured_values(dims, 3, 1.0, RANGES)
    rows = KL.symbol_rows(dims, 0, 1.0, 0.1)
    assert [r["symbol"] for r in rows][:6] == ["μ_s", "σ_s", "μ_t", "σ_t", "γ1", "γ2"]


def test_the_modulation_link_names_the_model_and_the_dimension():
    m = {"label": "zoo: cdlm_mnist_to_digits", "origin": "zoo", "path": "/z/cdlm"}
    assert KL.modulation_link(m, 3) == "/modulation?model=cdlm_mnist_to_digits&dim_x=3"
    run = {"label": "run: app/x y", "origin": "run", "path": "runs/app/x y"}
    assert KL.modulation_link(run, 0) == "/modulation?model=runs%2Fapp%2Fx+y&dim_x=0"


def test_kl_gap_page_fills_the_symbols_from_the_chosen_model(app_env):
    at = AppTest.from_file(str(ROOT / "pages/kl_gap.py"), default_timeout=120).run()
    assert not at.exception and at.session_state["kl_gap.mu_s"] == 1.0
    at.toggle(key="kl_gap.link").set_value(True).run()
    assert not at.exception, at.exception
    assert any("/modulation?model=tiny-cdlm&dim_x=" in m.value for m in at.markdown)
    table = at.dataframe[0].value
    assert list(table["symbol"])[:4] == ["μ_s", "σ_s", "μ_t", "σ_t"]
    mu_s = at.number_input(key="kl_gap.mu_s")
    assert "Measured on zoo: tiny-cdlm" in mu_s.help and "/modulation?model=" in mu_s.help
    at.button(key="kl_gap.fill").click().run()
    assert not at.exception, at.exception
    for name, row in zip(("mu_s", "sigma_s", "mu_t", "sigma_t"), range(4)):
        want = min(max(float(table["measured"][row]), RANGES[name][0]), RANGES[name][1])
        assert at.session_state[f"kl_gap.{name}"] == pytest.approx(want)
    assert at.query_params["mu_s"] != ["1.0"]               # the link carries them too
