# `make demo` and `make test` set up everything on a fresh Debian bookworm machine (as root, or
# with sudo) and are idempotent: a second run installs nothing.
SHELL := /bin/bash

# Keep in sync with docker/Dockerfile (tests/test_packaging.py checks that they agree).
APT_PACKAGES := openmpi-bin python3-mpi4py python3-petsc4py python3-slepc4py python3-h5py-mpi \
                python3-numpy python3-scipy python3-matplotlib python3-astropy python3-numba python3-sklearn python3-mpi4py-fft python3-segyio python3-venv python3-pip

VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MPIRUN := mpirun --oversubscribe -n 2

# Open MPI refuses root without these; CMA single-copy is not permitted in containers.
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
export OMPI_MCA_btl_vader_single_copy_mechanism := none

.PHONY: setup system-packages templates demo test test-serial test-mpi clean

setup: system-packages $(STAMP) templates

system-packages:
	@missing=""; \
	for package in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "install ok installed" \
	    || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make: installing Debian packages:$$missing"; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y --no-install-recommends $$missing; \
	fi

# The venv sees Debian's numpy/PETSc stack; the constraint pins numpy so pip never replaces
# the numpy petsc4py was built against.
$(STAMP): pyproject.toml
	@test -x $(PYTHON) || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	@$(PYTHON) -c 'import numpy; print("numpy==" + numpy.__version__)' > $(VENV)/constraints.txt
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -c $(VENV)/constraints.txt -e '.[test]'
	@touch $@

# MILES SSP templates from pPXF's source distribution (never vendored: its licence forbids it);
# verified against a manifest, so a second run downloads nothing.
templates: $(STAMP)
	@$(VENV)/bin/hpcinv templates fetch > /dev/null

# The paper's PNKR, then the second solver on the same mock (docs/galaxy.md, "The demo").
demo: setup
	$(MPIRUN) $(VENV)/bin/hpcinv demo
	$(MPIRUN) $(VENV)/bin/hpcinv demo --solver tensor-tikhonov

test: setup test-serial test-mpi

test-serial: setup
	$(PYTHON) -m pytest --with-mpi -q --color=no

# pytest's exit status 5 means "no tests selected", not a failure.
test-mpi: setup
	$(MPIRUN) $(PYTHON) -m pytest --with-mpi -q --color=no -m mpi; status=$$?; \
	  [ $$status -eq 0 ] || [ $$status -eq 5 ]

clean:
	rm -rf $(VENV) *.egg-info results/galaxy-demo.h5 results/galaxy-demo-*.png results/galaxy-demo-maps.fits
