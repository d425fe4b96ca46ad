# Every target installs first, so `make test` and `make enhance` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATASET ?= cifar10

.PHONY: install lint test enhance compare bench-store bench-corrupt bench-train bench-attack bench-methods bench-transfer bench-memory clean-data

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	@# the tested torch pair (constraints.txt; the package itself takes ranges). pip's warnings go to a file (shown if the install fails), so a `make enhance > log` stays a short log
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]' 2> $(VENV)/pip-install.log || (cat $(VENV)/pip-install.log; exit 1)
	touch $(STAMP)

# The dependency rule (docs/ARCHITECTURE.md) and the style checks
lint: install
	$(BIN)/lint-imports
	$(BIN)/ruff check datacentric tests benchmarks

# Two workers (pytest-xdist) on the 2-core target, one thread each; TEST_WORKERS=0 runs in this one process.
TEST_WORKERS ?= 2
test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

# The whole pipeline: pipelines/$(DATASET).toml (CPU default), or pipelines/$(DATASET)-paper.toml with PROFILE=paper.
PROFILE ?= default
PIPELINE = pipelines/$(DATASET)$(if $(filter paper,$(PROFILE)),-paper,).toml

# SEED=N runs the same pipeline under another seed, into data/runs/<name>-seedN.
enhance: install
	$(BIN)/datacentric enhance $(PIPELINE) $(if $(SEED),--seed $(SEED),)

# Every method on one subset, zoo and benchmark, with cost: pipelines/compare-$(DATASET).toml.
compare: install
	$(BIN)/datacentric compare pipelines/compare-$(DATASET).toml $(if $(SEED),--seed $(SEED),)

bench-store: install
	$(BIN)/python benchmarks/bench_store.py

clean-data:
	rm -rf data/raw data/prepared data/splits data/runs

bench-corrupt: install
	$(BIN)/python benchmarks/bench_corrupt.py

bench-train: install
	$(BIN)/python benchmarks/bench_train.py

# Peak memory of prepare, split, parts, assemble and an .npz export for N and 10N images (streaming: flat)
bench-memory: install
	$(BIN)/python benchmarks/bench_memory.py

bench-attack: install
	$(BIN)/python benchmarks/bench_attack.py

bench-methods: install
	$(BIN)/python benchmarks/bench_methods.py

# Transfer of MI / MI+TI / MI+DI / MI+TI+DI to the independent attacker, from a finished run (make enhance first)
bench-transfer: install
	RUN=$(or $(RUN),data/runs/$(DATASET)) $(BIN)/python benchmarks/bench_transfer.py
