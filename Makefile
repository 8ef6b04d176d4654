# GAN model zoo: one Makefile for the whole repo.
#   make demo [MODEL=x] [LONG=1]  every model end to end on its embedded data (runs/demo/index.html;
#                           LONG=1: the 60-minute presets -> runs/long/index.html)
#   make test               the whole pytest suite (builds .venv first if needed)
#   make bench [MODEL=x]    speed/memory/quality figures -> runs/bench/<model>.json and .md
#   make onnx|om|infer|bundle MODEL=x   the offline pipeline of one model
# MODEL is one of: stargan stgan stackgan bigbigan pgan

SHELL      := /bin/bash
PYTHON     ?= python3
VENV       ?= .venv
PY         := $(abspath $(VENV))/bin/python
WHEELHOUSE ?= $(HOME)/.cache/ganzoo/wheels
STAMP      := $(VENV)/.setup-done
RUNS       ?= $(abspath runs)

dir_stargan  := StarGAN_for_TensorFlow
dir_stgan    := STGAN_for_ACL
dir_stackgan := StackGAN_for_TensorFlow
dir_bigbigan := BigbiGAN_for_ACL
dir_pgan     := PGAN_for_MindSpore
ALL_MODELS   := stargan stgan stackgan bigbigan pgan
# models whose folder exists in this checkout
MODELS       := $(foreach m,$(ALL_MODELS),$(if $(wildcard $(dir_$(m))/Makefile),$(m)))

.PHONY: help setup test demo bench weights onnx om infer bundle lock clean check-model

help:
	@sed -n '2,8p' Makefile | sed 's/^# \{0,1\}//'

# ---- environment -------------------------------------------------------------------------------
# Installs requirements/lock.txt from a local wheel cache; only wheels missing from the cache are
# downloaded (the 800 MB MindSpore wheel is fetched once per machine). A second run does nothing.
setup: $(STAMP)

$(STAMP): requirements/lock.txt common_tools/pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@mkdir -p $(WHEELHOUSE)
	@echo "setup: installing the pinned stack into $(VENV) (wheel cache: $(WHEELHOUSE))"
	@$(PY) -m pip install -q --disable-pip-version-check --no-index --find-links $(WHEELHOUSE) -r requirements/lock.txt 2>/dev/null \
	  || { echo "setup: fetching missing wheels into $(WHEELHOUSE)"; \
	       $(PY) -m pip download -q --disable-pip-version-check -d $(WHEELHOUSE) -r requirements/lock.txt \
	       && $(PY) -m pip install -q --disable-pip-version-check --no-index --find-links $(WHEELHOUSE) -r requirements/lock.txt; }
	@$(PY) -m pip install -q --disable-pip-version-check --no-index --no-deps --no-build-isolation --config-settings editable_mode=compat -e common_tools
	@$(PY) -m pip check
	@touch $@
	@echo "setup: done"

lock: ## regenerate requirements/lock.txt from requirements/stack.txt
	rm -rf /tmp/ganzoo-lock && $(PYTHON) -m venv /tmp/ganzoo-lock
	/tmp/ganzoo-lock/bin/pip download -q -d $(WHEELHOUSE) -r requirements/stack.txt
	/tmp/ganzoo-lock/bin/pip install -q --no-index --find-links $(WHEELHOUSE) -r requirements/stack.txt
	{ echo "# pip freeze of .venv built from requirements/stack.txt (make lock); installed by make setup"; \
	  /tmp/ganzoo-lock/bin/pip freeze; } > requirements/lock.txt

# ---- the two commands of the README -------------------------------------------------------------
# the suite hands whole test files to TEST_JOBS workers (module fixtures are built once). Many tests
# wait on subprocesses (training CLIs, worker groups), so twice the cores keeps the CPU busy; at most 6.
# TEST_JOBS=1 runs it serially
TEST_JOBS  ?= $(shell n=$$(( $$(nproc 2>/dev/null || echo 1) * 2 )); [ $$n -gt 6 ] && n=6; echo $$n)

test: setup
	$(PY) -m pytest -q --durations=20 $(if $(filter-out 1,$(TEST_JOBS)),-n $(TEST_JOBS) --dist loadfile)

DEMO_MODELS = $(if $(MODEL),$(MODEL),$(MODELS))

DEMO_DIR = $(if $(LONG),long,demo)

demo: setup
	@$(if $(MODEL),$(MAKE) --no-print-directory check-model MODEL=$(MODEL) &&) true
	@$(foreach m,$(DEMO_MODELS),$(MAKE) --no-print-directory -C $(dir_$(m)) demo PYTHON=$(PY) OUT=$(RUNS)/$(DEMO_DIR)/$(m) && ) true
	@$(PY) -m common_tools.report $(RUNS)/$(DEMO_DIR)
	@echo "demo: open $(RUNS)/$(DEMO_DIR)/index.html"

# ---- figures ------------------------------------------------------------------------------------
BENCH_MODELS = $(if $(MODEL),$(filter-out common,$(MODEL)),$(MODELS))

bench: setup
	@if [ -z "$(MODEL)" ] || [ "$(MODEL)" = common ]; then $(PY) -m common_tools.benchmarks --out $(RUNS)/bench; fi
	@$(foreach m,$(BENCH_MODELS),$(MAKE) --no-print-directory check-model MODEL=$(m) && \
	  $(MAKE) --no-print-directory -C $(dir_$(m)) bench PYTHON=$(PY) OUT=$(RUNS)/bench && ) true

weights: setup
	$(PY) -m common_tools.metrics.weights fetch

# ---- the offline pipeline of one model ----------------------------------------------------------
check-model:
	@if [ -z "$(MODEL)" ]; then echo "error: name a model: MODEL=one of $(ALL_MODELS)"; exit 2; fi
	@if [ -z "$(dir_$(MODEL))" ]; then echo "error: unknown MODEL=$(MODEL); expected one of $(ALL_MODELS)"; exit 2; fi
	@if [ ! -d "$(dir_$(MODEL))" ]; then echo "error: MODEL=$(MODEL) ($(dir_$(MODEL))/) does not exist in this checkout yet"; exit 2; fi

onnx om infer: check-model setup
	@$(MAKE) --no-print-directory -C $(dir_$(MODEL)) $@ PYTHON=$(PY) OUT=$(RUNS)/demo/$(MODEL)

bundle: check-model
	@mkdir -p dist
	tar czf dist/$(dir_$(MODEL)).tar.gz --exclude='__pycache__' --exclude='*.egg-info' \
	  --exclude='test/output' --exclude='$(dir_$(MODEL))/output' --exclude='$(dir_$(MODEL))/logs' \
	  $(dir_$(MODEL)) common_tools
	@echo "bundle: dist/$(dir_$(MODEL)).tar.gz  (in the container: tar xzf it, pip install ./common_tools," \
	  "pip install -r $(dir_$(MODEL))/requirements.txt)"

clean:
	rm -rf runs dist .pytest_cache
