# Two set-up commands for a fresh machine: `make demo` (main job on the bundled example) and
# `make test` (the test suite). Both create .venv and install gencor with the CPU build of torch.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint install clean

$(BIN)/gencor: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

install: $(BIN)/gencor

demo: install
	mkdir -p out
	$(BIN)/gencor deblur src/gencor/data/astronaut_blurred.jpg -o out/astronaut_deblurred.png \
		--save-kernel out/astronaut_kernel.png --save-kernel out/astronaut_kernel.npy \
		--plot out/astronaut_convergence.png --report out/astronaut_report.json
	@echo "results in out/: astronaut_deblurred.png, astronaut_kernel.png/.npy, astronaut_convergence.png, astronaut_report.json"

test: lint
	$(BIN)/python -m pytest

# Style, import order and types (the settings are in pyproject.toml).
lint: install
	$(BIN)/ruff check --quiet
	$(BIN)/ruff format --check --quiet
	$(BIN)/mypy

clean:
	rm -rf out $(VENV)
