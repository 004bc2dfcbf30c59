# `make run` and `make test` create .venv when missing and install the pinned requirements.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test test-fast clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.app-installed: requirements.txt pyproject.toml | $(PY)
	@echo "dalab: installing the pinned requirements into $(VENV) (the first time: about 3 minutes)"
	$(PY) -m pip install --disable-pip-version-check --progress-bar on -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.app-installed requirements-dev.txt requirements-bench.txt \
		requirements-sweep.txt
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

# both apps (Streamlit lab + Gradio translation demo); Ctrl-C stops both. Ports:
# make run DALAB_STREAMLIT_PORT=8502 DALAB_GRADIO_PORT=7862
run: $(VENV)/.app-installed
	$(PY) -m dalab.ui.launch

test: $(VENV)/.dev-installed
	$(PY) -m pytest

# everyday tier (no slow, server, browser or Ray tests): under 3 minutes on 2 cores
test-fast: $(VENV)/.dev-installed
	$(PY) -m pytest -m "not slow and not server and not browser and not ray"

clean-venv:
	rm -rf $(VENV)
