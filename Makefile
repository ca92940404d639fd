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

# llama.cpp is built for this CPU (-march=native) but without AMX: some VMs list the AMX flags
# and then fault on the first tile instruction (a general protection fault in libggml-cpu,
# seen on this project's 2-core Xeon VM). A native build only runs on CPUs like the one that
# built it, so its wheel is cached per CPU flag set and build flags, never shared across machines.
# (x86-64 only: other compilers' targets know no such flags)
NO_AMX := $(if $(filter x86_64,$(shell uname -m)),-mno-amx-tile -mno-amx-int8 -mno-amx-bf16)
LLAMA_CMAKE := -DLLAVA_BUILD=OFF -DCMAKE_C_FLAGS='$(NO_AMX)' -DCMAKE_CXX_FLAGS='$(NO_AMX)'
LLAMA_CACHE := $(HOME)/.cache/qa-bot/llama-wheel-$(shell (grep -m1 -E '^(flags|Features)' /proc/cpuinfo; echo "$(LLAMA_CMAKE)") | sha1sum | cut -c1-12)

# Order matters: torch 2.13.0 first (the local CPU wheel; a later "torch" requirement is then
# already satisfied instead of pulling a multi-GB CUDA build), then llama-cpp-python built from
# source (no wheel exists for this platform).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP) -U pip wheel setuptools
	$(PIP) torch==2.13.0
	CMAKE_ARGS="$(LLAMA_CMAKE)" CMAKE_BUILD_PARALLEL_LEVEL=2 $(PIP) --cache-dir $(LLAMA_CACHE) llama-cpp-python==0.3.36
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
