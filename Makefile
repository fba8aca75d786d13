# Two commands on a fresh machine: `make serve` and `make test` (see README).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
EXTRAS ?= train,dev,milvus,loadtest
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install serve test lint models bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# the CPU build of torch first, so nothing later pulls the CUDA wheels
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	touch $@

install: $(VENV)/.installed

models: install
	$(PY) -m models export-default --out var/models

serve: models
	$(PY) -m app --host $(HOST) --port $(PORT)

lint: install
	$(VENV)/bin/ruff check app models tests benchmarks loadtest
	$(VENV)/bin/lint-imports

test: lint
	$(PY) -m pytest -q

bench: models
	$(PY) -m benchmarks.bench_embed

clean:
	rm -rf $(VENV) var .pytest_cache
