# The two commands of the README: `make demo` and `make test`. Each works on a fresh clone:
# it creates .venv, installs the CPU build of torch first (a bare `torch` pulls a multi-GB CUDA
# build), then the package with the extras the job needs.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH  ?= torch==2.13.0

.PHONY: venv demo test firmware clean help

help:
	@echo "make demo   set up .venv and run the zero-shot detection demo on the simulated world"
	@echo "make test   set up .venv, build the firmware tests, run the whole test suite"
	@echo "make clean  remove .venv and build outputs"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet -e ".[train,export,dev]"
	touch $@

venv: $(VENV)/.installed

firmware:
	$(MAKE) -C firmware_bridge/firmware
	-$(MAKE) -C firmware_bridge/firmware board-if-tools  # RP2040 image + size/stack report, where the toolchain is

demo: venv
	$(VENV)/bin/edgebind demo

test: venv firmware
	$(PY) -m pytest -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info
	-$(MAKE) -C firmware_bridge/firmware clean
