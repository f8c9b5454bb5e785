# The front door: `make test` and `make demo` set everything up from a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATASET := /usr/share/datasets/fashion-mnist

.PHONY: setup dataset thirdparty test lint soak demo bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

# Fashion-MNIST from Debian (dataset-fashion-mnist), when apt-get is usable; tests that need it
# skip with a reason otherwise.
dataset:
	@if [ ! -f $(DATASET)/train-images-idx3-ubyte.gz ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1)) \
	     || echo "warning: could not install dataset-fashion-mnist; tests that need it will skip"; \
	  else echo "note: $(DATASET) missing and apt-get unusable; tests that need it will skip"; fi; \
	fi

# gluoncv and d2lzh (pip --no-deps) in .venv/thirdparty, run through the `mxnet` drop-in by
# tests/test_third_party.py; without PyPI those tests skip with pip's error.
thirdparty: setup
	@$(PY) tests/test_third_party.py --build || echo "warning: third-party env not built; tests/test_third_party.py will skip"

test: setup dataset thirdparty
	$(PY) -m pytest -q

# ruff over the package, tests, benchmarks and examples (settings in pyproject.toml)
lint: setup
	$(VENV)/bin/ruff check gluonlite tests bench examples

# The long soaks (marked `slow`): thread hammering, orphaned workers, many batch sizes, ...
soak: setup dataset
	$(PY) -m pytest -q --runslow -m slow

demo: setup dataset
	$(PY) examples/train_fashion_mnist_lenet.py

bench: setup dataset
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
