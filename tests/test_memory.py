"""Memory estimates at validation: a job too large for its ranks exits 2 at once, naming the
keys that drive it and its size; ``validate`` prints the estimate; the limit per rank comes
from HPCINV_MAX_MEMORY_PER_RANK or the node's memory."""
import re
import subprocess
import sys
import time

import pytest

from hpcinv.core.errors import InputError
from hpcinv.core.jobspec import PROBLEMS, load_spec, parse_spec
from hpcinv.core.jobspec.memory_check import check_memory, estimate
from hpcinv.core.memory import (RUNTIME_BYTES, MemoryEstimate, format_bytes, limit_per_rank,
                                local_rank_count, parse_size)
from helpers import ROOT, clean_env, hpcinv, write_job

HUGE_GRAVITY = """
[problem]
kind = "gravity"
n = 1000000000
[solver]
kind = "cgls"
"""
SIZE = re.compile(r"\d+(\.\d+)? [KMGTPE]iB")


def _gravity(n: int, solver: str = 'kind = "cgls"') -> str:
    return f'[problem]\nkind = "gravity"\nn = {n}\n[solver]\n{solver}\n'


def _refused(result, key: str = "problem.n") -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("invalid input") == 1, result.stderr
    assert key in result.stderr
    assert SIZE.search(result.stderr), result.stderr


# (a), (b): the acceptance case on the command line ----------------------------------------

@pytest.mark.parametrize("ranks", [1, 2])
def test_huge_gravity_run_exits_2_at_once(tmp_path, ranks):
    job = write_job(tmp_path, "huge.toml", HUGE_GRAVITY)
    started = time.monotonic()
    result = hpcinv(["run", job, "--output", tmp_path / "out.h5"], ranks=ranks, timeout=30)
    assert time.monotonic() - started < 30
    _refused(result)
    assert "EiB per rank" in result.stderr and f"on {ranks} rank" in result.stderr
    assert not (tmp_path / "out.h5").exists()


def test_huge_gravity_validate_exits_2_with_its_estimate(tmp_path):
    job = write_job(tmp_path, "huge.toml", HUGE_GRAVITY)
    started = time.monotonic()
    result = hpcinv(["validate", job], timeout=30)
    assert time.monotonic() - started < 30
    _refused(result)
    # 8 n^2 bytes of dense matrix alone: 6.9 EiB
    assert "6.9 EiB per rank on 1 rank" in result.stderr
    # n midpoints and a row being computed are on every rank: more ranks cannot help
    assert "more ranks do not help" in result.stderr


def test_validate_prints_the_estimate_and_the_limit():
    result = hpcinv(["validate", "jobs/gravity-gcv.toml"])
    assert result.returncode == 0, result.stderr
    line = result.stdout.splitlines()[-1]
    assert re.fullmatch(r"memory: about \d+(\.\d+)? MiB per rank on 1 rank \(limit .+\)", line)


def test_validate_ranks_splits_the_distributed_part(tmp_path):
    """A dense 20000 x 20000 gravity matrix (3 GiB) does not fit a 2 GiB limit on one rank;
    the message says how many ranks it needs, and validate --ranks accepts that many."""
    job = write_job(tmp_path, "big.toml", _gravity(20000))
    one = hpcinv(["validate", job], HPCINV_MAX_MEMORY_PER_RANK="2G")
    _refused(one)
    needed = int(re.search(r"run on at least (\d+) ranks", one.stderr).group(1))
    assert 2 <= needed <= 4
    many = hpcinv(["validate", job, "--ranks", needed], HPCINV_MAX_MEMORY_PER_RANK="2G")
    assert many.returncode == 0, many.stderr
    assert f"per rank on {needed} ranks (limit 2.0 GiB: HPCINV_MAX_MEMORY_PER_RANK)" \
        in many.stdout
    bad = hpcinv(["validate", job, "--ranks", "0"])
    assert bad.returncode == 2 and "--ranks" in bad.stderr


# (c): the limit ------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["validate", "run"])
def test_limit_from_the_environment(tmp_path, command):
    job = write_job(tmp_path, "small.toml", _gravity(200))
    args = [command, job] + (["--output", tmp_path / "out.h5", "--quiet"]
                             if command == "run" else [])
    refused = hpcinv(args, HPCINV_MAX_MEMORY_PER_RANK="1M", timeout=30)
    _refused(refused)
    assert "limit 1.0 MiB: HPCINV_MAX_MEMORY_PER_RANK" in refused.stderr
    assert not (tmp_path / "out.h5").exists()
    accepted = hpcinv(args, HPCINV_MAX_MEMORY_PER_RANK="100G", timeout=60)
    assert accepted.returncode == 0, accepted.stderr
    garbage = hpcinv(args, HPCINV_MAX_MEMORY_PER_RANK="lots", timeout=30)
    assert garbage.returncode == 2, garbage.stderr
    assert "HPCINV_MAX_MEMORY_PER_RANK: expected a positive size" in garbage.stderr
    assert "'lots'" in garbage.stderr


def test_garbage_limit_on_two_ranks_exits_2_once(tmp_path):
    job = write_job(tmp_path, "small.toml", _gravity(200))
    result = hpcinv(["run", job, "--output", tmp_path / "out.h5"], ranks=2, timeout=30,
                    HPCINV_MAX_MEMORY_PER_RANK="-3G")
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("HPCINV_MAX_MEMORY_PER_RANK: expected") == 1, result.stderr


def test_parse_and_format_sizes():
    assert parse_size("8G") == 8 << 30
    assert parse_size("512m") == 512 << 20
    assert parse_size("1.5T") == 3 << 39
    assert parse_size("2 GiB") == parse_size("2GB") == 2 << 30
    assert parse_size("1000000") == 1000000
    for bad in ("", "0", "-1G", "8X", "G", "nan", "1e999"):
        with pytest.raises(InputError, match="HPCINV_MAX_MEMORY_PER_RANK"):
            parse_size(bad)
    assert format_bytes(8 << 40) == "8.0 TiB"
    assert format_bytes(1536 << 20) == "1.5 GiB"
    assert format_bytes(100) == "100 B"


def test_default_limit_is_the_node_memory_per_local_rank(monkeypatch):
    monkeypatch.delenv("HPCINV_MAX_MEMORY_PER_RANK", raising=False)
    for variable in ("OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE",
                     "SLURM_TASKS_PER_NODE"):
        monkeypatch.delenv(variable, raising=False)
    whole = limit_per_rank(1).bytes
    assert whole > 100 << 20
    assert limit_per_rank(4).bytes == whole // 4
    assert "4 ranks on the node" in limit_per_rank(4).source
    monkeypatch.setenv("SLURM_TASKS_PER_NODE", "4(x2),3")
    assert local_rank_count() == 4
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "2")
    assert local_rank_count() == 2 and limit_per_rank().bytes == whole // 2
    monkeypatch.setenv("HPCINV_MAX_MEMORY_PER_RANK", "3G")
    assert limit_per_rank(8).bytes == 3 << 30


# (d): how estimates scale -------------------------------------------------------------------

def _estimate(text: str) -> MemoryEstimate:
    return estimate(parse_spec(text))


def test_estimates_are_exact_integers_for_huge_keys():
    job = _estimate(HUGE_GRAVITY)
    assert isinstance(job.distributed_bytes, int) and isinstance(job.replicated_bytes, int)
    assert job.distributed_bytes >= 8 * 10 ** 18     # the dense matrix, exactly 8 n^2
    assert job.rows == job.columns == 10 ** 9


def test_estimates_scale_with_the_keys():
    # gravity: a dense n x n matrix, quadrupling with n
    small, large = (_estimate(_gravity(n)) for n in (4000, 8000))
    assert 3.8 < large.distributed_bytes / small.distributed_bytes <= 4.0
    # crosswell: the ray matrix grows with the rays (sources x receivers)
    text = ('[problem]\nkind = "crosswell"\nn = 100\nsources = {s}\nreceivers = 100\n'
            '[solver]\nkind = "cgls"\n')
    few, more = (_estimate(text.format(s=s)) for s in (100, 200))
    assert 1.8 < more.distributed_bytes / few.distributed_bytes < 2.0
    # deconvolution: a wider kernel, more nonzeros
    blur = ('[problem]\nkind = "deconvolution"\nmesh = "meshes/deconvolution/square-128.toml"'
            '\nsigma = {sigma}\n[solver]\nkind = "cgls"\n')
    narrow, wide = (estimate(parse_spec(blur.format(sigma=s), source=str(ROOT / "x.toml")))
                    for s in (0.01, 0.02))
    assert wide.distributed_bytes > 2 * narrow.distributed_bytes
    # imaging: image side squared
    image = '[problem]\nkind = "gaussian-blur"\nn = {n}\n[solver]\nkind = "cgls"\n'
    side, double = (_estimate(image.format(n=n)) for n in (1000, 2000))
    assert 3.5 < double.distributed_bytes / side.distributed_bytes < 4.5


def test_values_too_extreme_for_the_formulas_give_no_estimate():
    text = '[problem]\nkind = "gaussian-blur"\nn = 64\nsigma = 1e308\n[solver]\nkind = "cgls"\n'
    assert _estimate(text) is None          # 4 sigma overflows: no check, no traceback


def test_per_rank_splits_only_the_distributed_part():
    job = MemoryEstimate(distributed_bytes=1000, replicated_bytes=10, keys=("a",))
    assert job.per_rank(1) == 1010 and job.per_rank(4) == 260 and job.per_rank(3) == 344
    both = job + MemoryEstimate(5, 1, keys=("b", "a"), rows=2, columns=3)
    assert (both.distributed_bytes, both.replicated_bytes) == (1005, 11)
    assert both.keys == ("a", "b") and (both.rows, both.columns) == (2, 3)
    assert sum([job, job]).distributed_bytes == 2000
    assert _estimate(_gravity(4000)).per_rank(2) < _estimate(_gravity(4000)).per_rank(1)


def test_dense_solver_methods_count_their_factorisations():
    lanczos = _estimate(_gravity(2000, 'kind = "tikhonov"\nmethod = "lanczos"'))
    svd = _estimate(_gravity(2000, 'kind = "tikhonov"\nmethod = "svd"'))
    # the LAPACK SVD holds a dense copy of A and its factors on every rank
    assert svd.replicated_bytes - lanczos.replicated_bytes >= 4 * 8 * 2000 ** 2
    assert "solver.method" in svd.keys and "solver.max_iterations" in lanczos.keys


def test_check_memory_names_the_driving_key(monkeypatch):
    monkeypatch.setenv("HPCINV_MAX_MEMORY_PER_RANK", "1G")
    spec = parse_spec(_gravity(30000))
    with pytest.raises(InputError) as caught:
        check_memory(spec, 1)
    key, message = caught.value.problems[0]
    assert key == "problem.n" and "limit 1.0 GiB" in message
    assert check_memory(spec, 16).per_rank(16) <= 1 << 30


# (e): every kind and every shipped job has an estimate -------------------------------------

MINIMAL = {"deconvolution": 'mesh = "meshes/deconvolution/line-256.toml"',
           "galaxy": 'mesh = "meshes/galaxy/tiny.toml"',
           "mdd": 'mesh = "meshes/seismic/tiny.toml"'}


@pytest.mark.parametrize("kind", PROBLEMS.names())
def test_every_problem_kind_estimates_its_memory(kind):
    text = f'[problem]\nkind = "{kind}"\n{MINIMAL.get(kind, "")}\n[solver]\nkind = "cgls"\n'
    job = estimate(parse_spec(text, source=str(ROOT / "job.toml")))
    assert job is not None, f"{kind} has no memory estimate"
    assert job.total_bytes > RUNTIME_BYTES and job.rows > 0 and job.columns > 0


@pytest.mark.parametrize("job", sorted(p.name for p in (ROOT / "jobs").glob("*.toml")))
def test_every_shipped_job_has_a_positive_estimate(job):
    spec = load_spec(str(ROOT / "jobs" / job))
    job_estimate = estimate(spec)
    assert job_estimate is not None
    assert job_estimate.total_bytes > RUNTIME_BYTES
    assert job_estimate.keys and all(k.startswith(("problem.", "solver."))
                                     for k in job_estimate.keys)
    # a shipped job fits any node this suite runs on
    assert check_memory(spec, 1) is not None


# (f): estimate against reality --------------------------------------------------------------

def test_gravity_estimate_counts_the_dense_matrix():
    spec = load_spec(str(ROOT / "jobs" / "gravity-gcv.toml"))
    n = spec.problem["n"]
    job = estimate(spec)
    dense = 8 * n * n
    # split over the ranks: the matrix, a few vectors and the Golub-Kahan bases
    assert dense <= job.distributed_bytes <= 2 * dense
    # on every rank besides the runtime: the rows being computed (3 blocks of n^2 entries
    # here; the measured peak of this job is 28 MiB above the runtime's)
    assert job.total_bytes - RUNTIME_BYTES <= 5 * dense


def test_estimate_is_within_a_factor_2_of_the_measured_peak(tmp_path):
    """A gravity job whose 200 MB dense matrix dominates, run in a fresh process that
    reports its own peak resident memory."""
    job = write_job(tmp_path, "gravity.toml", _gravity(5000, 'kind = "cgls"\n'
                                                            'max_iterations = 3'))
    script = ("import resource, sys\nfrom hpcinv.cli import main\n"
              f"code = main(['run', {str(job)!r}, '--output', {str(tmp_path / 'g.h5')!r}, "
              "'--quiet'])\n"
              "print('peak', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)\n"
              "sys.exit(code)\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=clean_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    peak = int(result.stdout.split("peak")[-1])
    predicted = estimate(load_spec(str(job))).per_rank(1)
    assert 0.5 < predicted / peak < 2.0, (format_bytes(predicted), format_bytes(peak))


# The check inside pipeline.build, on every rank of an MPI job -------------------------------

@pytest.mark.mpi
def test_build_refuses_a_huge_job_on_every_rank():
    from hpcinv.core.petsc_env import initialize
    from hpcinv.pipeline import build

    comm = initialize().COMM_WORLD
    with pytest.raises(InputError) as caught:
        build(parse_spec(HUGE_GRAVITY), comm)
    assert caught.value.problems[0][0] == "problem.n"
    assert f"on {comm.getSize()} rank" in caught.value.problems[0][1]
    comm.tompi4py().Barrier()       # no rank was left behind in a collective

