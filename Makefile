# Everything a fresh machine needs: `make run` runs the main job, `make test` the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint typecheck pytest bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/orbitlearn run

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadfile

test: lint typecheck pytest

# Benchmarks print ratios against a baseline measured in the same run. brahe (a contacts
# baseline) lives in its own virtualenv so that its pins never touch the project's.
BRAHE := .bench-venvs/brahe/bin/python
$(BRAHE):
	$(PYTHON) -m venv .bench-venvs/brahe
	.bench-venvs/brahe/bin/pip install --quiet brahe

bench: $(STAMP) $(BRAHE)
	for script in bench/*.py; do case $$script in bench/_*) continue;; esac; \
		echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
