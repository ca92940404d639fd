# qa-bot verbs: run, test, bench, lint. Each sets up what it needs, once.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
PIP := $(BIN)/pip install --quiet --disable-pip-version-check
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup browser index run serve chat test test-fast stress lint bench bench-scale eval clean

setup: $(STAMP)

# Order matters: torch 2.13.0 first (the local CPU wheel; a later "torch" requirement is then
# already satisfied instead of pulling a multi-GB CUDA build), then llama-cpp-python built from
# source (no wheel exists for this platform; pip caches the built wheel for the next venv).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP) -U pip wheel setuptools
	$(PIP) torch==2.13.0
	CMAKE_ARGS="-DLLAVA_BUILD=OFF" CMAKE_BUILD_PARALLEL_LEVEL=2 $(PIP) llama-cpp-python==0.3.36
	$(PIP) -e '.[models,dev,otel]'
	rm -f $(VENV)/.installed-*
	touch $@

# Debian's chromium for the browser tests (never a downloaded browser).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

index: setup
	$(BIN)/qa-bot ingest corpus/

run: setup
	$(BIN)/qa-bot serve

chat: index
	$(BIN)/qa-bot chat

# two pytest-xdist workers, a test module each at a time, longest modules first (tests/conftest.py);
# each worker's llama.cpp runs one thread. TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= 2
test: setup browser
	$(BIN)/python -m pytest -q $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)

# the tests that need no model weights, browser or server, in under a minute: parsing, chunking,
# the index's bookkeeping on a real Chroma, evidence selection, the answer rules, API shapes, CLI
# arguments (a weightless stand-in embedder, tests/fakes.py; see tests/conftest.py)
test-fast: setup
	QA_BOT_TEST_LANE=fast $(BIN)/python -m pytest -q

# kill -9 an ingest 20 times at random moments (articles changed between), then check the index
stress: setup
	QA_BOT_TEST_KILLS=20 $(BIN)/python -m pytest -q -s tests/test_stress.py

lint: setup
	$(BIN)/ruff check qa_bot tests bench
	$(BIN)/lint-imports  # the layers of docs/architecture.md, as contracts in pyproject.toml

eval: setup
	$(BIN)/qa-bot eval evals/seed.jsonl --corpus corpus --out evals/out/seed

bench: setup
	$(BIN)/python bench/bench.py

# 300,000 chunks grown from the dev corpus: start-up, retrieval latency, memory, disk (~10 min)
bench-scale: setup
	$(BIN)/python bench/bench.py --scale 300000

clean:
	rm -rf .qa_bot test-output .pytest_cache
