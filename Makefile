# ownstack: `make up` starts a cloud, `make test` runs every check.
PYTHON     ?= python3
VENV       := .venv
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.installed
# Where `make up` keeps the cloud's state; `make test` never touches it.
STATE_DIR  ?= /var/lib/ownstack
# Databases the functional suite runs against (all three on CI).
TEST_DATABASES ?= sqlite,postgresql+rabbitmq,mariadb

.PHONY: up down status reset test lint typecheck unit functional e2e bench deps venv clean

deps:
	@tools/install-system-deps.sh

$(STAMP): pyproject.toml | deps
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing ownstack and its test tools into $(VENV) (log: $(VENV)/pip.log)"
	@$(BIN)/pip install --upgrade pip > $(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }
	@$(BIN)/pip install -e '.[test]' >> $(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }
	@touch $(STAMP)

venv: $(STAMP)

# The test image is built once from Debian packages and cached (tools/build-test-image);
# `ownstack seed` registers it and the m1.nano/m1.tiny flavors where missing.
up: venv
	@image="$$(tools/build-test-image)" && \
	$(BIN)/ownstack --state-dir $(STATE_DIR) up && \
	$(BIN)/ownstack --state-dir $(STATE_DIR) seed --image "$$image"
	@tools/link-commands.sh $(BIN)

down: venv
	@$(BIN)/ownstack --state-dir $(STATE_DIR) down

status: venv
	@$(BIN)/ownstack --state-dir $(STATE_DIR) status

reset: venv
	@$(BIN)/ownstack --state-dir $(STATE_DIR) reset

lint: venv
	$(BIN)/ruff check ownstack tests bench tools
	$(BIN)/lint-imports --no-cache

typecheck: venv
	$(BIN)/mypy ownstack

unit: venv
	$(BIN)/pytest -q tests/unit tests/api

functional: venv
	OWNSTACK_TEST_DATABASES=$(TEST_DATABASES) $(BIN)/pytest -q tests/functional

# Real QEMU under TCG: the test image, the QEMU driver and its contract suite, the KVM
# probe, and a cloud booting real guests (on SQLite: the database is not what they test).
e2e: venv
	$(BIN)/pytest -q tests/e2e

test: lint typecheck unit functional e2e

bench: venv
	$(BIN)/python bench/bench_identity.py
	$(BIN)/python bench/bench_image.py
	$(BIN)/python bench/bench_placement.py
	$(BIN)/python bench/bench_compute.py
	$(BIN)/python bench/bench_qemu.py
	$(BIN)/python bench/bench_startup.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
