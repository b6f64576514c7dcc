# The two set-up commands of the README. Both create .venv and install the project into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test install system-packages
install: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

demo: install
	$(BIN)/zhiyin model build
	$(BIN)/zhiyin ingest --demo
	$(BIN)/zhiyin serve --host 0.0.0.0 --port 8000

system-packages:
	./scripts/system-packages

test: install system-packages
	$(BIN)/zhiyin model build
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q
