"""Install-time contracts: the container definitions (Dockerfile, Apptainer) and the Makefile
agree, PETSc is found with or without PETSC_DIR, .ci/run calls make test, test-mpi accepts
only pytest's "no tests" status."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

from hpcinv.core.errors import EXIT_RUNTIME_FAILURE
from helpers import ROOT, clean_env

DOCKERFILE = ROOT / "docker" / "Dockerfile"
APPTAINER_DEFINITION = ROOT / "docker" / "hpcinv.def"


def _makefile_packages() -> set[str]:
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    match = re.search(r"^APT_PACKAGES\s*:=\s*(.+)$", text, re.MULTILINE)
    return set(match.group(1).split())


def _installed_packages(path: Path) -> set[str]:
    """The packages of the one ``apt-get install`` in a Dockerfile or Apptainer definition."""
    text = path.read_text().replace("\\\n", " ")
    installs = re.findall(r"apt-get install -y --no-install-recommends([^\n]+)", text)
    assert len(installs) == 1, path
    return set(installs[0].split("&&")[0].split())


def _apptainer_sections(path: Path) -> tuple[dict, dict]:
    """(header, {section: body}) as Apptainer reads a definition: a line whose first word
    starts with % opens a section; header lines are ``Key: value``, # starts a comment."""
    header, sections, current = {}, {}, None
    for line in path.read_text().splitlines():
        words = line.split()
        if words and words[0].startswith("%"):
            current = words[0][1:].lower()
            assert current not in sections, f"%{current} twice"
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
        elif words and not words[0].startswith("#"):
            key, separator, value = line.partition(":")
            assert separator, f"header line without a key: {line!r}"
            header[key.strip().lower()] = value.strip()
    return header, {name: "\n".join(body).strip() for name, body in sections.items()}


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    return [tuple(line.split(None, 1)) for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_containers_install_the_makefile_packages():
    assert _installed_packages(DOCKERFILE) == _makefile_packages()
    assert _installed_packages(APPTAINER_DEFINITION) == _makefile_packages()


def test_readme_lists_the_makefile_packages():
    text = (ROOT / "README.md").read_text()
    match = re.search(r"Both install the missing Debian packages \(`([^`]+)`\)", text)
    assert match, "README no longer lists the Debian packages where expected"
    assert set(match.group(1).split()) == _makefile_packages()


def test_license_is_the_one_pyproject_declares():
    assert 'license = { text = "BSD-3-Clause" }' in (ROOT / "pyproject.toml").read_text()
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License") and "Neither the name" in text
    assert {"python3-petsc4py", "python3-slepc4py", "python3-h5py-mpi"} <= _makefile_packages()


def test_containers_pin_the_same_dated_base():
    """A dated tag or a digest, never the moving bookworm-slim, in both definitions."""
    froms = [argument for instruction, argument in _dockerfile_instructions()
             if instruction == "FROM"]
    header, _ = _apptainer_sections(APPTAINER_DEFINITION)
    assert header["bootstrap"] == "docker"
    assert froms == [header["from"]]
    assert re.fullmatch(r"debian:bookworm-\d{8}-slim|debian@sha256:[0-9a-f]{64}", froms[0])


def test_dockerfile_runs_hpcinv_as_a_regular_install_and_not_as_root():
    instructions = _dockerfile_instructions()
    users = [argument for instruction, argument in instructions if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    runs = " ".join(argument for instruction, argument in instructions if instruction == "RUN")
    installs = re.findall(r"pip install ([^&]+)", runs)
    assert len(installs) == 1 and not re.search(r"(^|\s)(-e|--editable)\b", installs[0])
    environment = " ".join(argument for instruction, argument in instructions
                           if instruction == "ENV")
    assert "OMPI_ALLOW_RUN_AS_ROOT" not in environment   # a non-root user needs no consent
    assert "OMPI_MCA_btl_vader_single_copy_mechanism=none" in environment
    assert ("ENTRYPOINT", '["hpcinv"]') in instructions


def test_templates_are_baked_in_only_on_request():
    """pPXF's licence forbids redistributing MILES: the default image must not hold it."""
    instructions = _dockerfile_instructions()
    assert ("ARG", "WITH_TEMPLATES=0") in instructions
    runs = [argument for instruction, argument in instructions if instruction == "RUN"]
    fetching = [run for run in runs if "templates fetch" in run]
    assert len(fetching) == 1
    assert re.search(r"\b1\) hpcinv templates fetch ;;", fetching[0])


def test_apptainer_definition_has_the_image_sections():
    header, sections = _apptainer_sections(APPTAINER_DEFINITION)
    assert {"files", "post", "environment", "runscript"} <= set(sections)
    assert sections["runscript"] == 'exec hpcinv "$@"'
    for line in sections["files"].splitlines():
        assert (ROOT / line.split()[0]).exists(), line   # sources relative to the checkout
    installs = re.findall(r"pip install (.+)", sections["post"])
    assert len(installs) == 1 and not re.search(r"(^|\s)(-e|--editable)\b", installs[0])
    environment = sections["environment"]
    assert "OMPI_ALLOW_RUN_AS_ROOT" not in environment
    assert "export OMPI_MCA_btl_vader_single_copy_mechanism=none" in environment
    assert 'export PATH="/opt/hpcinv/bin:$PATH"' in environment


def _fake_make(directory, status: int) -> Path:
    """A ``make`` that records its arguments and working directory and exits ``status``."""
    directory.mkdir()
    fake = directory / "make"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$PWD" "$@" > "{directory}/called"\n'
                    f"exit {status}\n")
    fake.chmod(0o755)
    return directory


def test_ci_runs_make_test(tmp_path):
    """.ci/run, started from anywhere as CI starts it (an executable with a bash shebang),
    runs ``make test`` in the repository root and fails with make's status."""
    script = ROOT / ".ci" / "run"
    lines = script.read_text().splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for status in (0, 3):
        fake = _fake_make(tmp_path / f"bin-{status}", status)
        env = clean_env(PATH=f"{fake}:{clean_env()['PATH']}")
        # executed directly: needs the executable bit and the shebang
        result = subprocess.run([str(script)], cwd=elsewhere, env=env, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == status, result.stderr
        assert (fake / "called").read_text().splitlines() == [str(ROOT), "test"]


def test_make_test_mpi_tolerates_only_pytest_status_5(tmp_path):
    """pytest's 5 (no tests selected) passes test-mpi; every other failure fails it.  Runs
    the real recipe with a fake interpreter (setup skipped with -o, no mpirun)."""
    fake = tmp_path / "python"
    fake.write_text(f'#!/bin/sh\necho "$@" > "{tmp_path}/args"\nexit "$FAKE_STATUS"\n')
    fake.chmod(0o755)
    for status, make_status in ((0, 0), (5, 0), (1, 2), (2, 2), (4, 2), (6, 2)):
        result = subprocess.run(["make", "-s", "-C", str(ROOT), "-o", "setup", "test-mpi",
                                 "MPIRUN=", f"PYTHON={fake}"], env=clean_env(
                                     FAKE_STATUS=str(status)), capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == make_status, (status, result.stdout, result.stderr)
        assert (tmp_path / "args").read_text().split() == [
            "-m", "pytest", "--with-mpi", "-q", "--color=no", "-m", "mpi"]


def _import_petsc(**env):
    code = ("from hpcinv.core.petsc_env import initialize, initialize_slepc; import os; "
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
    """An exported PETSC_DIR wins: without petsc4py under it, no fall-back to Debian's, but a
    RuntimeFailure naming it (an uncaught exception: Python's status 1, which is also
    EXIT_RUNTIME_FAILURE)."""
    result = _import_petsc(PETSC_DIR="/nonexistent/petsc", SLEPC_DIR=None)
    assert result.returncode == EXIT_RUNTIME_FAILURE, result.stderr
    assert result.stdout == ""
    message = result.stderr.rstrip().splitlines()[-1]
    assert message.startswith("hpcinv.core.errors.RuntimeFailure: cannot import petsc4py: "
                              "not found under PETSC_DIR=/nonexistent/petsc; "), message
    assert "python3-petsc4py" in message and "set PETSC_DIR" in message   # the two remedies


def test_a_wheel_install_runs_the_demo_and_writes_slurm_scripts(tmp_path):
    """Outside the source tree (pip install of a wheel), meshes and the sbatch template come
    from <prefix>/share/hpcinv."""
    wheels, venv, work = tmp_path / "wheels", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    source = tmp_path / "source"   # setuptools builds in the tree: keep the checkout clean
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", "*.h5"))
    env = clean_env()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(wheels), str(source)], check=True,
                   env=env, capture_output=True, timeout=300)
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=120)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
                    "--no-index", *map(str, wheels.glob("*.whl"))], check=True, env=env,
                   capture_output=True, timeout=300)
    hpcinv = str(venv / "bin" / "hpcinv")
    demo = subprocess.run([hpcinv, "demo", "--quiet", "--output", "demo.h5",
                           "--max-iterations", "5"], cwd=work, env=env, capture_output=True,
                          text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    assert "iterations   5   stop reason max_iterations" in demo.stdout
    assert (work / "demo-maps.png").exists()
    job = venv / "share" / "hpcinv" / "jobs" / "deconvolution-lsqr.toml"
    slurm = subprocess.run([hpcinv, "slurm", str(job), "--nodes", "1", "--ntasks-per-node",
                            "2", "--time", "00:30:00"], cwd=work, env=env,
                           capture_output=True, text=True, timeout=60)
    assert slurm.returncode == 0, slurm.stderr
    assert "#SBATCH --requeue" in slurm.stdout
