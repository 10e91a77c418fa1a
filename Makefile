# Two commands do all set-up on a fresh machine by themselves:
#   make demo   -- the main job on the embedded default source
#   make test   -- the default test suite (slow tests excluded)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.rdlab-installed
# torch is pinned to the CPU wheel that this machine carries; pyproject declares torch>=2.2.
TORCH_PIN := torch==2.13.0

.PHONY: setup demo test test-slow lint format bench clean chromium

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet "$(TORCH_PIN)"
	$(PIP) install --quiet -e ".[dev,torch,ray]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/rdlab demo --out runs/demo --overwrite

test: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || $(MAKE) --no-print-directory chromium
	$(PY) -m pytest -q -n 2

# The report test renders the page in Debian's chromium; without it that test is skipped.
chromium:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium for the report test"; \
	  timeout 600 sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium' >/dev/null 2>&1 \
	    || echo "chromium could not be installed: the report test will be skipped"; \
	else echo "no chromium and no apt-get as root: the report test will be skipped"; fi

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

BENCH_VENV := benchmarks/.venv-bench

$(BENCH_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet dit -e .
	touch $(BENCH_VENV)/.installed

bench: $(BENCH_VENV)/.installed
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BENCH_VENV)/bin/python benchmarks/bench_blahut_arimoto.py --skip-large --out benchmarks/results/blahut_arimoto.md

clean:
	rm -rf $(VENV) build dist *.egg-info src/*.egg-info .pytest_cache runs
