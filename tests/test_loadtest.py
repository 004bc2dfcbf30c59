"""The load benchmark command runs end to end on a small count (its real figures come from
`python -m dalab.ui.loadtest`, docs/reliability.md): no request fails, memory is reported."""
import pytest
import math

from dalab.ui.loadtest import _stats, gradio_load, streamlit_load

pytestmark = pytest.mark.server  # the tier (pyproject.toml markers; make test-fast leaves it out)


def test_the_load_benchmark_answers_every_request(app_env):
    g = gradio_load(concurrent=4, sequential=3, log=lambda s: None)
    assert g["concurrent"]["failures"] == 0 and g["sequential"]["failures"] == 0
    assert g["concurrent"]["requests"] == 4 and g["sequential"]["requests"] == 3
    assert math.isfinite(g["rss_mb_before"]) and g["rss_mb_after"] > 0
    s = streamlit_load(sessions=2, log=lambda s: None)
    assert s["failures"] == 0 and s["median_s"] > 0


def test_latency_statistics():
    st = _stats([float(i) for i in range(1, 101)])
    assert st["median_s"] == 50.5 and st["p95_s"] == 96.0 and st["max_s"] == 100.0
    assert _stats([]) == {"median_s": None, "p95_s": None, "max_s": None}
