# Two commands for a newcomer: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Shared libraries Qt needs to run headless, poppler-utils for checking PDFs in tests, PostgreSQL for the
# county server's PostgreSQL tests (a private throwaway cluster, tests/pg.py) and Chromium for its web pages.
SYSTEM_PACKAGES := libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0 poppler-utils \
	postgresql chromium

.PHONY: run test system-deps lint bench screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m app gui

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

test: system-deps $(STAMP)
	$(VENV)/bin/lint-imports --config pyproject.toml
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check app tests bench
	$(VENV)/bin/lint-imports --config pyproject.toml

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) bench/startup.py

screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m app screenshots --out screenshots-out

clean:
	rm -rf $(VENV) build dist *.egg-info

# --- packaging: the PyInstaller onedir bundle and the .deb (installer/, README「安装（发布包）」) ---------
# The Windows installer is built by .github/workflows/windows-installer.yml on a Windows runner.
PACKAGE_STAMP := $(VENV)/.installed-package
# objdump (binutils) reads the glibc floor, dpkg-deb builds the .deb; poppler-utils checks the smoke PDF;
# icupkg (icu-devtools) and gcc trim Qt's ICU data to the locales the app speaks (installer/trim_icu.py).
PACKAGE_SYSTEM_PACKAGES := binutils dpkg poppler-utils icu-devtools gcc

.PHONY: package package-deps package-test

$(PACKAGE_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,package]'
	touch $(PACKAGE_STAMP)

package-deps:
	@$(MAKE) --no-print-directory system-deps SYSTEM_PACKAGES="$(SYSTEM_PACKAGES) $(PACKAGE_SYSTEM_PACKAGES)"

# PACKAGE_PINS pins wheels for an older target, e.g. PACKAGE_PINS='PySide6-Essentials==6.9.3' (glibc 2.28).
PACKAGE_PINS ?=

package: package-deps $(PACKAGE_STAMP)
	@if [ -n "$(PACKAGE_PINS)" ]; then $(PY) -m pip install --quiet $(PACKAGE_PINS); fi
	$(PY) installer/build.py --dist dist --work build

# Builds the bundle and .deb into a scratch folder and smoke-tests them outside the source tree (CI).
package-test: package-deps $(PACKAGE_STAMP)
	@if [ -n "$(PACKAGE_PINS)" ]; then $(PY) -m pip install --quiet $(PACKAGE_PINS); fi
	XIANGAN_PACKAGE_TEST=1 $(PY) -m pytest -q -p no:cacheprovider tests/test_package.py
