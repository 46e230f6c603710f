# Two commands set everything up on a fresh machine with Python >= 3.10:
#   make run    virtual environment, install, run the default pipeline on the shipped data
#   make test   same set-up, then the notebook checks and all tests
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
# PyTorch's CPU-only wheels, used where there is no NVIDIA GPU and no local torch wheel.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
CONFIG ?= configs/default.yaml

.PHONY: setup run test test-fast test-core test-production airflow postgres team-server sync notebooks nbtest pytest bench readme clean

setup: $(VENV)/.installed

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "trainpipe needs Python >= 3.10; run make with PYTHON=python3.1x")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel uv

# torch first, so that the editable install finds it satisfied instead of resolving a multi-GB CUDA build. A machine may
# keep a torch wheel in pip's find-links, which uv does not read: uv is given them (3 s where pip takes 17 s), and pip
# looks there itself wherever uv cannot be had.
FIND_LINKS = $(shell $(PYTHON) -m pip config list 2>/dev/null | sed -n "s/^[^=]*find-links='\(.*\)'$$/\1/p" | tr ' ' '\n' | sort -u)
UV_TORCH = $(BIN)/uv pip install -q --python $(BIN)/python $(addprefix --find-links ,$(FIND_LINKS))
$(VENV)/.torch: | $(BIN)/python
	@if command -v nvidia-smi >/dev/null 2>&1; then \
	  echo "NVIDIA GPU found: installing torch $(TORCH_VERSION) with CUDA"; \
	  $(BIN)/pip install -q "torch==$(TORCH_VERSION)"; \
	elif [ -n "$(FIND_LINKS)" ] && $(UV_TORCH) --no-deps --no-index "torch==$(TORCH_VERSION)" 2>/dev/null; then \
	  echo "installing torch $(TORCH_VERSION) from a local wheel"; \
	  $(UV_TORCH) "torch==$(TORCH_VERSION)"; \
	elif $(BIN)/pip install -q --no-deps --no-index "torch==$(TORCH_VERSION)" 2>/dev/null; then \
	  echo "installing torch $(TORCH_VERSION) from a local wheel"; \
	  $(BIN)/pip install -q "torch==$(TORCH_VERSION)"; \
	else \
	  echo "no GPU: installing the CPU build of torch $(TORCH_VERSION)"; \
	  $(BIN)/pip install -q "torch==$(TORCH_VERSION)" --extra-index-url $(TORCH_CPU_INDEX); \
	fi
	@touch $@

# Bytecode is written as modules are first imported, as Python does by default, even where PYTHONDONTWRITEBYTECODE is
# set (as on some CI machines): without it every command would compile MLflow, pandas and scikit-learn again. Compiling
# all installed packages at install time instead (uv's --compile-bytecode) takes 22 s, mostly for torch's and
# transformers' thousands of modules, most of which no run imports. The package's own are compiled after each export.
unexport PYTHONDONTWRITEBYTECODE
COMPILE = $(BIN)/python -m compileall -q trainpipe
# $(call install,VENV,WHAT): uv installs the project's ~250 packages in 4 s from its cache, where pip takes a minute; pip is
# the fallback wherever uv cannot be had.
install = $(1)/bin/pip install -q uv && $(1)/bin/uv pip install -q --python $(1)/bin/python $(2) \
	  || { echo "uv could not install the project: installing it with pip"; $(1)/bin/pip install -q $(2); }
EXTRAS ?= dev,torch,dask,hf,nlp,kubeflow,postgres,docs,browser
# JupyterLab in this environment wraps long code lines, so no example is cut off at the notebook's right edge.
LAB_DEFAULTS = {"@jupyterlab/notebook-extension:tracker": {"codeCellConfig": {"lineWrap": true}}}
$(VENV)/.installed: setup.py settings.ini $(VENV)/.torch
	@$(call install,$(VENV),-e ".[$(EXTRAS)]")
	@mkdir -p $(VENV)/share/jupyter/lab/settings && echo '$(LAB_DEFAULTS)' > $(VENV)/share/jupyter/lab/settings/overrides.json
	@$(COMPILE)
	@touch $@

run: setup
	$(BIN)/trainpipe run $(CONFIG)

test: setup notebooks nbtest pytest
	@test -x $(CHROMIUM) || echo "no Chromium at $(CHROMIUM): the browser tests were skipped (make chromium installs Debian's package)"

# After editing a notebook or settings.ini: clean the notebooks (metadata; outputs cleared by add_colab_cells), export
# the package, lay the notebooks out with their Colab badge and setup cells (from settings.ini), tag the examples.
SYNC = $(BIN)/nbdev_clean && $(BIN)/nbdev_export && \
  $(BIN)/python -c "from trainpipe.colab import add_colab_cells; from trainpipe.contract import tag_examples; add_colab_cells(); tag_examples()" && \
  $(COMPILE)
sync: setup
	@$(SYNC)
	@echo "notebooks and package in sync: commit what changed"

# nbs/ is the source: `make sync` must not change anything that is committed.
notebooks: setup
	@before="$$(git status --porcelain; git diff)"; \
	$(SYNC) || exit 1; \
	after="$$(git status --porcelain; git diff)"; \
	if [ "$$before" != "$$after" ]; then \
	  git status --short; \
	  echo "notebooks and trainpipe/ disagree: run 'make sync' and commit what it changes"; \
	  exit 1; \
	fi; echo "notebooks and package agree"

# --flags slow: also the example cells flagged `#| slow` (they start kernels, servers or processes). Three notebooks at a
# time on two cores, as those cells mostly wait on what they start: 75 s where two take 82 s.
nbtest: setup postgres
	$(BIN)/nbdev_test --n_workers 3 --flags slow

# Two workers: most tests wait on kernels and subprocesses, so two files at a time keep two cores busy (338 s in a fresh
# clone; three took 388 s against two's 390 s here, with more CPU).
# The browser tests run among the others where Chromium is, in the time a worker would otherwise wait.
PYTEST_WORKERS ?= 2
pytest: setup
	TRAINPIPE_CHROMIUM=$(CHROMIUM) $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15 -m "not examples and not production" tests/

# The fast tier: every notebook's examples in-process (no `#| slow` cell, no stage's run section) and the pytest tests
# that start no pipeline; under 90 s.
test-fast: setup
	$(BIN)/pytest -n $(PYTEST_WORKERS) --durations=10 -m fast tests/

# The browser tests alone (make test runs them with the rest): JupyterLab running a stage notebook, a run's HTML report and
# the docs site (built as make docs builds it), in headless Chromium driven by Playwright. Debian's chromium package, as
# Playwright cannot download its own browsers everywhere.
.PHONY: chromium test-browser screens
CHROMIUM ?= /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { echo "installing Chromium (Debian's chromium package)"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -q chromium >/dev/null; }

BROWSER_TESTS = TRAINPIPE_CHROMIUM=$(CHROMIUM) $(BIN)/pytest --durations=5 -m browser tests/test_browser.py
test-browser: setup
	$(BROWSER_TESTS)

# The same tests, saving their screenshots (the README's pictures) to docs/screens/.
SCREENS ?= docs/screens
screens: setup
	TRAINPIPE_SCREENS=$(SCREENS) $(BROWSER_TESTS)

# The core install alone (`pip install -e .`, no extras) runs the core pipelines and refuses the others clearly.
CORE_VENV ?= .venv-core
test-core:
	@test -x $(CORE_VENV)/bin/python || $(PYTHON) -m venv $(CORE_VENV)
	$(CORE_VENV)/bin/python -m pip install -q --upgrade pip setuptools wheel
	@$(call install,$(CORE_VENV),-e .)
	$(CORE_VENV)/bin/python .ci/core_only.py

# Airflow in a virtual environment of its own: its pins clash with the project's, and its DAGs run the project's
# trainpipe command rather than importing it.
AIRFLOW_VENV ?= .venv-airflow
AIRFLOW_VERSION ?= 3.3.2
airflow: $(AIRFLOW_VENV)/.installed
$(AIRFLOW_VENV)/.installed:
	@test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install -q --upgrade pip
	@$(call install,$(AIRFLOW_VENV),"apache-airflow==$(AIRFLOW_VERSION)" apache-airflow-providers-standard)
	@touch $@

# PostgreSQL's server programs, for the team's tracking server: Debian's package, installed once if they are absent.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || \
	  { echo "installing PostgreSQL's server programs (Debian's postgresql package)"; \
	    $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -q postgresql >/dev/null; }

# A team's MLflow tracking server on PostgreSQL, artifacts beside it, in team/ (Ctrl-C stops it).
team-server: setup postgres
	$(BIN)/trainpipe team-server

# The production tier: the pipeline on real Airflow, Kubeflow Pipelines' local runner and a PostgreSQL-backed tracking
# server. Each brings an environment or a server of its own, so it is a tier apart from `make test` (which stays under
# 8 minutes); .ci/run runs both.
test-production: setup airflow postgres
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=10 -m production tests/

bench: setup
	$(BIN)/python benchmarks/bench.py

# The docs site in _docs/ (open _docs/index.html): every notebook (the stage notebooks executed, with their tables and
# plots), the README as the home page and the API reference. Sphinx with myst-nb, from the docs extra: nbdev_docs needs
# the Quarto binary, which no Python package installs. docs/build.py says how; a second build runs only what changed.
.PHONY: docs
docs: setup
	$(BIN)/python docs/build.py

# README.md is generated from nbs/index.ipynb. nbdev_readme needs the Quarto binary, which no Python
# package installs; nbconvert renders the same notebook to Markdown with what `make setup` installs.
readme: setup
	$(BIN)/jupyter nbconvert --log-level WARN --to markdown nbs/index.ipynb --output-dir . --output README

clean:
	rm -rf $(VENV) $(CORE_VENV) $(AIRFLOW_VENV) runs mlruns mlflow.db _docs _proc
