# ownstack: `make up` starts a cloud, `make test` runs every check.
PYTHON     ?= python3
VENV       := .venv
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.installed
# Where `make up` keeps the cloud's state; `make test` never touches it.
STATE_DIR  ?= /var/lib/ownstack
# Databases the functional suite runs against (all three on CI).
TEST_DATABASES ?= sqlite,postgresql+rabbitmq,mariadb

# Tempest, pinned, in a virtualenv of its own (its oslo pins stay out of .venv).
TEMPEST_VERSION     := 47.0.0
TEMPEST_VENV        := .venv-tempest
TEMPEST_STAMP       := $(TEMPEST_VENV)/.installed-$(TEMPEST_VERSION)
TEMPEST_WORKSPACE   ?= $(STATE_DIR)/tempest
TEMPEST_SERVICES    ?= identity image network volume compute
TEMPEST_CONCURRENCY ?= 2

.PHONY: up down status reset test lint typecheck unit functional e2e bench deps venv clean \
	tempest

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
	$(BIN)/mypy ownstack tools/tempest_config.py

unit: venv
	$(BIN)/pytest -q -n auto tests/unit tests/api

# One pytest per backend, all at once (the suite mostly waits on its clouds and CLIs): the
# first backend's also runs the tests that are not a backend's. Each log is printed whole
# when all are done; the stage fails if any did.
functional: venv
	@set -u; dir=$$(mktemp -d); pids=""; first=1; \
	for db in $$(echo $(TEST_DATABASES) | tr ',' ' '); do \
		only=1; [ $$first = 1 ] && only=0; first=0; \
		echo "functional on $$db (log: $$dir/$$db.log)"; \
		OWNSTACK_TEST_DATABASES=$$db OWNSTACK_TEST_BACKEND_ONLY=$$only \
			$(BIN)/pytest -q -p no:cacheprovider --durations=10 --basetemp=$$dir/$$db \
			tests/functional > $$dir/$$db.log 2>&1 & pids="$$pids $$!"; \
	done; \
	status=0; for pid in $$pids; do wait $$pid || status=1; done; \
	for db in $$(echo $(TEST_DATABASES) | tr ',' ' '); do \
		echo "=== functional on $$db"; cat $$dir/$$db.log; done; \
	exit $$status

# Real QEMU under TCG: the test image, the QEMU driver and its contract suite, the KVM
# probe, and a cloud booting real guests (on SQLite: the database is not what they test).
e2e: venv
	$(BIN)/pytest -q --durations=20 tests/e2e

test: lint typecheck unit functional e2e

bench: venv
	$(BIN)/python bench/bench_identity.py
	$(BIN)/python bench/bench_image.py
	$(BIN)/python bench/bench_placement.py
	$(BIN)/python bench/bench_compute.py
	$(BIN)/python bench/bench_qemu.py
	$(BIN)/python bench/bench_startup.py

$(TEMPEST_STAMP):
	@test -x $(TEMPEST_VENV)/bin/python || $(PYTHON) -m venv $(TEMPEST_VENV)
	@echo "installing tempest $(TEMPEST_VERSION) into $(TEMPEST_VENV) (log: $(TEMPEST_VENV)/pip.log)"
	@$(TEMPEST_VENV)/bin/pip install 'tempest==$(TEMPEST_VERSION)' > $(TEMPEST_VENV)/pip.log 2>&1 \
		|| { cat $(TEMPEST_VENV)/pip.log; exit 1; }
	@touch $@

# Tempest's API tests against the running cloud of STATE_DIR (or the OS_* variables of an
# openrc), one service at a time; tools/tempest_config.py writes tempest.conf from what
# the cloud has. Each service's log: $(TEMPEST_WORKSPACE)/logs/<service>.txt.
tempest: venv $(TEMPEST_STAMP)
	@test -d $(TEMPEST_WORKSPACE)/etc || $(TEMPEST_VENV)/bin/tempest init --name ownstack \
		--workspace-path $(TEMPEST_WORKSPACE)/workspace.yaml $(TEMPEST_WORKSPACE) > /dev/null
	@$(BIN)/python tools/tempest_config.py --state-dir $(STATE_DIR) \
		--output $(TEMPEST_WORKSPACE)/etc/tempest.conf
	@status=0; tempest="$$(pwd)/$(TEMPEST_VENV)/bin/tempest"; \
	for service in $(TEMPEST_SERVICES); do \
		log=$(TEMPEST_WORKSPACE)/logs/$$service.txt; started=$$(date +%s); \
		(cd $(TEMPEST_WORKSPACE) && "$$tempest" run --concurrency $(TEMPEST_CONCURRENCY) \
			--regex "^tempest\.api\.$$service\.") > $$log 2>&1 || status=1; \
		printf '%-9s %s in %ss (%s)\n' $$service \
			"$$(grep -E '^ - (Passed|Skipped|Failed):' $$log | tr -d ' -' | tr '\n' ' ')" \
			$$(( $$(date +%s) - started )) $$log; \
	done; exit $$status

clean:
	rm -rf $(VENV) $(TEMPEST_VENV) .mypy_cache .ruff_cache .pytest_cache
