PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_BASE := $(VENV)/.installed-base
STAMP_TEST := $(VENV)/.installed-test
BENCH_VENV := .venv-bench
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, set on some machines for old OpenBLAS builds,
# slow a current NumPy: the bench runs without them (its report shows the BLAS kernel).
BENCH_ENV := env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=src

.PHONY: demo test lint bench bench-torch docs clean fuzz kill-loop

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP_BASE): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[cli]'
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(STAMP_BASE)

demo: $(STAMP_BASE)
	$(BIN)/descend demo

test: $(STAMP_TEST)
	$(BIN)/python -m pytest

# Model files rewritten by an adversary: 70,000 random examples (1 to 3 mutations each), which
# must apply 100,000 mutations or more (those that change nothing are not counted), and every
# systematic mutation; the counts are printed at the end.
fuzz: $(STAMP_TEST)
	DESCEND_FUZZ_EXAMPLES=70000 DESCEND_FUZZ_MUTATIONS=100000 \
		$(BIN)/python -m pytest -s -q -p no:cacheprovider tests/test_io_fuzz.py

lint: $(STAMP_TEST)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src/descend

# The bench runs with what is installed; the PyTorch rows need torch, which the project
# venv does not get: `make bench-torch` runs the same bench in $(BENCH_VENV) with it.
bench: $(STAMP_TEST)
	@$(BIN)/python -c "import torch" 2>/dev/null || echo "PyTorch is not installed in $(VENV): \
	its rows are skipped. 'make bench-torch' runs the bench with torch in $(BENCH_VENV)."
	$(BENCH_ENV) $(BIN)/python bench/run.py

$(BENCH_VENV)/.installed:
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q -e ".[all]" threadpoolctl torch==2.13.0
	touch $@

bench-torch: $(BENCH_VENV)/.installed
	$(BENCH_ENV) $(BENCH_VENV)/bin/python bench/run.py

# SIGKILL at 200 moments of `descend train --save --plot --history` (a few minutes): every
# target stays old, complete or absent, and the next run removes the temporary files left.
kill-loop: $(STAMP_TEST)
	$(BIN)/python -m tests.cli.signals --kills 200

docs: $(STAMP_TEST)
	$(BIN)/python docs/build.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
