# carbuy: `make demo` runs a purchase end to end on the whole local stack; `make test` installs and tests.
# Everything installs from PyPI into .venv (uv, pinned by uv.lock); nothing is downloaded at run time.

PYTHON ?= python3
UV_VERSION ?= 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never

.PHONY: install demo dev test lint typecheck prometheus chromium nginx clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(shell $(PYTHON) -c 'import sys; print(sys.executable)')
	touch $@

install: $(VENV)/.installed  ## install carbuy and its tools into .venv

demo: install  ## bring the whole stack up and run a demo purchase (Ctrl-C stops everything)
	$(VENV)/bin/carbuy dev --demo

dev: install  ## bring the whole stack up without a demo
	$(VENV)/bin/carbuy dev

lint: install  ## ruff's rules and format, and the layering (imports only run downwards: pyproject [tool.importlinter])
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: install
	$(VENV)/bin/mypy

prometheus:  ## install Prometheus and promtool (Debian package) where missing: the alert-rule tests need promtool
	sh scripts/debian-package.sh prometheus prometheus promtool

chromium:  ## install the Debian chromium where missing: the browser test drives it headless (never downloaded)
	sh scripts/debian-package.sh chromium /usr/bin/chromium

nginx:  ## install Debian's nginx where missing: the mTLS test runs it as the TLS-terminating gRPC proxy
	sh scripts/debian-package.sh nginx-light /usr/sbin/nginx

test: install lint typecheck prometheus chromium nginx  ## lint and type-check, then every test tier (unit, activities, workflows, e2e) against real servers
	$(VENV)/bin/python -m pytest

clean:
	rm -rf $(VENV) $(TOOLS) .carbuy
