# Two set-up commands for a fresh machine: `make demo` (main job on the bundled example) and
# `make test` (the test suite). Both create .venv and install gencor with the CPU build of torch.
# `make wheel-check` installs the built wheel as a user would (CI runs it after the tests).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint install wheel-check clean

# pip's -qq keeps its errors and drops its warnings: a machine whose pip configuration names
# missing package folders prints one warning per package (78 lines on a fresh install here).
$(BIN)/gencor: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -qq --upgrade pip
	$(BIN)/pip install -qq torch==2.13.0
	$(BIN)/pip install -qq -e '.[test,bench]'
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

# The release as a user gets it: build the wheel, check that it holds every file of src/gencor,
# install it with the CPU build of torch in a fresh virtual environment outside the checkout, and
# deblur the bundled example from the installed package (a missing weight or data file fails here).
wheel-check: install
	rm -rf build
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(BIN)/pip wheel --quiet --no-deps -w "$$tmp/dist" . && \
	$(BIN)/python scripts/check_wheel.py "$$tmp"/dist/gencor-*.whl && \
	$(PY) -m venv "$$tmp/venv" && \
	"$$tmp/venv/bin/pip" install -qq torch==2.13.0 && \
	"$$tmp/venv/bin/pip" install -qq "$$tmp"/dist/gencor-*.whl && \
	cd "$$tmp" && env -u PYTHONPATH venv/bin/python -c \
		"import gencor, sys; from importlib.resources import files; assert gencor.__file__.startswith(sys.prefix), gencor.__file__; print(files('gencor') / 'data' / 'astronaut_blurred.jpg')" > example && \
	env -u PYTHONPATH venv/bin/gencor deblur "$$(cat example)" -o deblurred.png --report report.json && \
	env -u PYTHONPATH venv/bin/python -c "import json; r = json.load(open('report.json')); assert r['decision'] == 'deblurred', r['decision']"

clean:
	rm -rf out build $(VENV)
