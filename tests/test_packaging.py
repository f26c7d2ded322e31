"""Install-time contracts: Dockerfile and Makefile agree, PETSc is found with or without
PETSC_DIR, .ci/run calls make test."""
import re
import subprocess
import sys

from helpers import ROOT, clean_env


def _makefile_packages() -> set[str]:
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    match = re.search(r"^APT_PACKAGES\s*:=\s*(.+)$", text, re.MULTILINE)
    return set(match.group(1).split())


def _dockerfile_packages() -> set[str]:
    text = (ROOT / "docker" / "Dockerfile").read_text().replace("\\\n", " ")
    match = re.search(r"apt-get install -y --no-install-recommends\s+(.+?)\s+&&", text)
    return set(match.group(1).split())


def test_dockerfile_installs_the_makefile_packages():
    assert _makefile_packages() == _dockerfile_packages()
    assert {"python3-petsc4py", "python3-slepc4py", "python3-h5py-mpi"} <= _makefile_packages()


def test_dockerfile_entrypoint_is_hpcinv():
    text = (ROOT / "docker" / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM debian:bookworm-slim" in text
    assert 'ENTRYPOINT ["hpcinv"]' in text


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def _import_petsc(**env):
    code = ("from hpcinv.runtime.petsc_env import initialize, initialize_slepc; import os; "
            "P = initialize(); S = initialize_slepc(); "
            "print(P.Sys.getVersion(), S.Sys.getVersion(), os.environ.get('PETSC_DIR'))")
    environment = clean_env(**env)
    for name in ("PETSC_DIR", "SLEPC_DIR"):
        if env.get(name) is None:
            environment.pop(name, None)
    return subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True,
                          text=True, timeout=60)


def test_petsc_is_found_without_petsc_dir():
    result = _import_petsc(PETSC_DIR=None, SLEPC_DIR=None)
    assert result.returncode == 0, result.stderr
    assert "(3, 18" in result.stdout


def test_petsc_dir_is_honoured():
    result = _import_petsc(PETSC_DIR="/nonexistent/petsc", SLEPC_DIR=None)
    assert result.returncode != 0
    assert "PETSC_DIR=/nonexistent/petsc" in result.stderr
