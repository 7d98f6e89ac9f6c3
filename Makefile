# packshot: `make demo` runs the whole pipeline on an embedded AWS; `make test` runs the tests.
# Both set up what they need on a fresh machine: a virtualenv in .venv and the model, fetched by checksum.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
MODEL  := models/u2netp.onnx
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint clean

setup: $(STAMP) $(MODEL)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

$(MODEL): $(STAMP)
	$(BIN)/python -m packshot.models.fetch --dest models

demo: setup
	$(BIN)/packshot run examples --out out/demo

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/cfn-lint template.yaml

clean:
	rm -rf out .pytest_cache
