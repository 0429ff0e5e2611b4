# Two commands on a fresh machine:  `make app`  and  `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

$(VENV)/.installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk fonts-noto-color-emoji) \
	  || echo "could not install chromium: browser tests will be skipped"

# The shared results store's tests start their own redis-server on a free local port.
redis:
	@command -v redis-server >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq redis-server) \
	  || echo "could not install redis-server: shared-store tests will be skipped"

app: install
	$(PY) -m ui.serve --server.port $(PORT)

lint: install
	$(VENV)/bin/ruff check .

test: install chromium redis lint
	$(PY) -m pytest -q -ra

bench: install
	$(PY) benchmarks/run_all.py

# Mutation testing (slow, not in `make test` or CI): plants small bugs in resviz/blocks.py,
# probes/paths.py, probes/lesion.py and train.py and runs their fast tests against each.
# One module: make mutation MUTANTS='resviz.probes.lesion.*'. Survivors: docs/bounds-and-tests.md.
MUTANTS ?=
mutation: install
	$(VENV)/bin/mutmut run $(if $(MUTANTS),"$(MUTANTS)",)
	$(VENV)/bin/mutmut results

# The CLI fuzz test alone: every command x option x hostile value.
fuzz: install
	$(PY) -m pytest -q tests/test_cli_fuzz.py tests/test_weights_bounds.py

.PHONY: install chromium redis app lint test bench mutation fuzz
