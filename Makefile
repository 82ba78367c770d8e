# Two commands set everything up on a fresh machine:
#   make run   -> create .venv, install the pinned dependencies, run the default (synthetic) pipeline
#   make test  -> same environment, lint + the whole test suite (what CI runs; see README "Development")
#   make test-fast -> unit and reference tests only (a few minutes; does NOT replace make test / CI)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CORES  ?= all
# One BLAS thread per job: Snakemake already runs jobs in parallel, and nested BLAS threads on a loaded
# machine slow linear algebra down 5-10x (measured by the MR helper).
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: run test test-fast lint install report clean unlock resume coverage

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --profile profiles/default

# After a kill (Ctrl-C twice, kill -9, lost session, out of memory): remove Snakemake's stale lock, then rerun.
# Only when no other snakemake runs in this folder. README "Resuming after a kill".
unlock: $(STAMP)
	$(BIN)/snakemake --unlock

resume: unlock run

report: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --profile profiles/default --report results/report.html

# Recovery over R seeds (issue 13): every synthetic design re-simulated and refitted in-process -> results/coverage.tsv
R ?= 200
PROCESSES ?= 2
coverage: $(STAMP)
	$(BIN)/python scripts/coverage.py --R $(R) --processes $(PROCESSES)

lint: $(STAMP)
	$(BIN)/ruff check src workflow tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/snakefmt --check Snakefile workflow
	$(BIN)/python scripts/lint_workflow.py

test: $(STAMP) lint
	$(BIN)/python -m pytest

# Contributors' quick loop: no workflow runs, no SLURM cluster, no golden run. CI still runs `make test`.
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests/unit tests/reference

clean:
	rm -rf results logs .snakemake benchmarks/out
