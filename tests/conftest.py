"""Shared fixtures. Every test is seeded; torch uses one thread so timings don't fight."""
import random

import numpy as np
import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.set_num_threads(1)  # the Train page's job sets it process-wide: reset per test, so no
    random.seed(0)            # test's numbers depend on the ones before it (pins, bit-exact resume)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def cdlm_enc():
    """An untrained CDLM (latent size 8, 3 classes) and its ``encode_batch`` of 40 random
    source and 40 target images: the Modulation page's numbers without a trained model."""
    from dalab.methods import get_method
    from dalab.ui.modulation import encode_batch
    torch.manual_seed(0)
    model = get_method("cdlm")(get_method("cdlm").Config(latent_dim=8), input_shape=(1, 28, 28),
                               num_classes=3).eval()
    rng = np.random.default_rng(0)
    x_s, x_t = rng.random((40, 1, 28, 28), np.float32), rng.random((40, 1, 28, 28), np.float32)
    return model, encode_batch(model, x_s, x_t, np.arange(40) % 3)


@pytest.fixture
def npz_domain(tmp_path):
    """Write a small labelled image domain as npz:PATH; returns a factory."""
    def make(name="d", n=60, classes=3, channels=1, seed=0):
        rng = np.random.default_rng(seed)
        y = np.arange(n) % classes
        x = rng.random((n, channels, 28, 28)).astype(np.float32) * 0.2
        for c in range(classes):  # a class-dependent bright bar makes the classes learnable
            x[y == c, :, 4 + 6 * c:8 + 6 * c, 4:24] = 1.0
        path = tmp_path / f"{name}.npz"
        np.savez(path, x=x, y=y)
        return f"npz:{path}"
    return make


# Tiny real models for the app tests: trained once per session (~10 s on one core) and
# registered into a temporary zoo, as the lead's pretrained/ zoo will be.
@pytest.fixture(scope="session")
def tiny_zoo(tmp_path_factory):
    """``Path`` of a zoo folder holding ``tiny-cdlm`` and ``tiny-bridge`` (mnist -> digits; see
    ``dalab.ui.budgets.TINY``). Use with ``monkeypatch.setenv("DALAB_ZOO_DIR", ...)``."""
    from dalab.ui.budgets import tiny_zoo as build
    return build(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def app_env(tiny_zoo, tmp_path, monkeypatch):
    """Run a page against the tiny zoo with no user runs, and fresh Streamlit caches."""
    import streamlit as st
    monkeypatch.setenv("DALAB_ZOO_DIR", str(tiny_zoo))
    monkeypatch.chdir(tmp_path)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield tiny_zoo
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def train_jobs():
    """The Train page's process-wide jobs (``dalab.ui.trainer``): none before the test, all
    stopped and forgotten after it."""
    from dalab.ui import trainer
    trainer.forget_jobs()
    yield trainer
    trainer.forget_jobs()
