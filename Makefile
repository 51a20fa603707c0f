# Two entry points: `make run` and `make test`. Both go through `make setup`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test lint clean

setup: $(STAMP)

# Reinstall only when the package metadata or the system packages change; the install is editable, so code edits
# need nothing. The Debian packages (fonts, Fashion-MNIST, chromium) come first: see scripts/system-packages.sh.
$(STAMP): pyproject.toml scripts/system-packages.sh
	scripts/system-packages.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,ray,compare]"
	touch $(STAMP)

# The web page and API on the bundled default model; it prints its address once it listens.
run: setup
	$(BIN)/digitscope serve --model default --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
