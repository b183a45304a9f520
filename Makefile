# GNU make. `make test` is what CI runs (.ci/run).

PY ?= python3
VENV := .venv
HOST ?= 127.0.0.1
PORT ?= 8000

STAMP := $(VENV)/.installed
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
APT_GET := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600

.PHONY: install run chromium flowchart wrk test validate cases ux lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --upgrade pip
	$(VENV)/bin/python -m pip install -e '.[test]'
	touch $@

# uvicorn without its access log (step URLs carry lab values) and with a header timeout.
run: $(STAMP)
	$(VENV)/bin/python -m app.serve --host $(HOST) --port $(PORT)

# System Chromium for the Playwright tests (never `playwright install`), and Graphviz, whose
# `dot` lays out the flowchart (a test checks that algorithms/*.svg is current).
# --no-install-recommends drops fonts-liberation (a Recommends of chromium), so ask for it.
chromium:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/dot ] || ! dpkg -s fonts-liberation >/dev/null 2>&1; then \
		$(APT_GET) update && \
		$(APT_GET) install -y --no-install-recommends chromium fonts-liberation graphviz; \
	else \
		echo "chromium: /usr/bin/chromium, fonts-liberation and graphviz present"; \
	fi

# Redraw the flowcharts (algorithms/<id>.svg) after changing an algorithm.
flowchart: $(STAMP) chromium
	$(VENV)/bin/python -m app.flowchart

test: $(STAMP) chromium
	$(VENV)/bin/python -m pytest

validate: $(STAMP)
	$(VENV)/bin/python -m app.validate algorithms/

# Clinical accuracy on the published cases of tests/cases/ (floors kept by tests/test_cases.py).
cases: $(STAMP)
	$(VENV)/bin/python tests/published_cases.py

# The 3 a.m. case walked by the visible controls in Chromium: clicks, screens, words (desktop, phone).
ux: $(STAMP) chromium
	$(VENV)/bin/python bench/ux.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy app

wrk:
	@command -v wrk >/dev/null || { $(APT_GET) update && $(APT_GET) install -y --no-install-recommends wrk; }

bench: $(STAMP) wrk
	$(VENV)/bin/python bench/run.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis test-artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
