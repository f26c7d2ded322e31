"""A job's ``[petsc]`` options: typed checks of the options hpcinv knows, the refusals of
service mode, and PETSc's own option errors as bad input.

PETSc has thousands of options, so an unknown name stays allowed; a known one (also behind
a solver's options prefix, ``tikhonov_ksp_max_it``) must have a value of its type.  In service
mode (``HPCINV_SANDBOX``, see ``core.sandbox``) options that read or write files, start
programs or load code are refused, and so is any value that names a file.  Checking needs no
MPI and no PETSc: ``hpcinv validate`` runs it.  PETSc compares option names without case, so
every check works on the lower-case name.
"""
from __future__ import annotations

import math
import os
import re
import sys
from contextlib import contextmanager

from .errors import InputError


# -- what hpcinv knows ---------------------------------------------------------------------
# Choices as PETSc/SLEPc 3.18 register them (petsc4py's KSP.Type, PC.Type, Mat.SolverType,
# SLEPc's SVD.Type, EPS.Type, BV.Type); static, since reading them means starting PETSc and
# MPI, which ``hpcinv validate`` must not.
KSP_TYPES = (
    "bcgs", "bcgsl", "bicg", "cg", "cgls", "cgne", "cgs", "chebyshev", "cr", "dgmres", "fbcgs",
    "fbcgsr", "fcg", "fetidp", "fgmres", "gcr", "gltr", "gmres", "groppcg", "hpddm", "ibcgs",
    "lcd", "lgmres", "lsqr", "minres", "nash", "none", "pgmres", "pipebcgs", "pipecg",
    "pipecg2", "pipecgrr", "pipecr", "pipefcg", "pipefgmres", "pipegcr", "pipelcg", "pipeprcg",
    "preonly", "python", "qcg", "qmrcgs", "richardson", "stcg", "symmlq", "tcqmr", "tfqmr",
    "tsirm")
PC_TYPES = (
    "asm", "bddc", "bfbt", "bjacobi", "cholesky", "chowiluviennacl", "composite", "cp",
    "deflation", "eisenstat", "exotic", "fieldsplit", "galerkin", "gamg", "gasm", "h2opus", "hmg",
    "hpddm", "hypre", "icc", "ilu", "jacobi", "kaczmarz", "ksp", "lmvm", "lsc", "lu", "mat", "mg",
    "ml", "nn", "none", "parms", "patch", "pbjacobi", "pfmg", "python", "qr", "redistribute",
    "redundant", "rowscalingviennacl", "saviennacl", "shell", "sor", "spai", "svd", "syspfmg",
    "telescope", "tfs", "vpbjacobi")
MAT_SOLVER_TYPES = (
    "bas", "cholmod", "cuda", "cusparse", "elemental", "essl", "klu", "lusol", "matlab",
    "mkl_cpardiso", "mkl_pardiso", "mumps", "pastix", "petsc", "scalapack", "sparseelemental",
    "spqr", "strumpack", "superlu", "superlu_dist", "umfpack")
MAT_ORDERING_TYPES = ("1wd", "amd", "metisnd", "natural", "nd", "qmd", "rcm", "rowlength",
                      "spectral", "wbm")
SVD_TYPES = ("cross", "cyclic", "elemental", "lanczos", "lapack", "primme", "randomized",
             "scalapack", "trlanczos")
EPS_TYPES = ("arnoldi", "arpack", "blopex", "ciss", "elemental", "elpa", "evsl", "feast", "gd",
             "jd", "krylovschur", "lanczos", "lapack", "lobpcg", "lyapii", "power", "primme",
             "rqcg", "scalapack", "subspace", "trlan")
BV_TYPES = ("contiguous", "mat", "svec", "tensor", "vecs")
VIEWER_TYPES = ("adios", "ascii", "binary", "draw", "exodusii", "glvis", "hdf5", "mathematica",
                "matlab", "saws", "socket", "string", "vtk", "vu")

# (kind, detail): "int"/"real" with a minimum (None: any), "bool", "choice" with the choices
# and whether case matters (types: yes; enumerations: no), "viewer" (true or a viewer
# [type][:file[:format]]), "flag_or_file" (true, or a file PETSc writes at the end).
_COUNT, _TOLERANCE = ("int", 0), ("real", 0.0)
KNOWN_OPTIONS: dict[str, tuple] = {
    # KSP
    "ksp_max_it": _COUNT, "ksp_gmres_restart": ("int", 1), "ksp_gcr_restart": ("int", 1),
    "ksp_lcd_restart": ("int", 1), "ksp_lgmres_augment": _COUNT, "ksp_bcgsl_ell": ("int", 1),
    "ksp_fcg_mmax": _COUNT, "ksp_check_norm_iteration": ("int", -1),
    "ksp_chebyshev_esteig_steps": _COUNT,
    "ksp_rtol": _TOLERANCE, "ksp_atol": _TOLERANCE, "ksp_divtol": _TOLERANCE,
    "ksp_gmres_haptol": _TOLERANCE, "ksp_gmres_breakdown_tolerance": _TOLERANCE,
    "ksp_richardson_scale": ("real", None),
    "ksp_initial_guess_nonzero": ("bool",), "ksp_error_if_not_converged": ("bool",),
    "ksp_diagonal_scale": ("bool",), "ksp_diagonal_scale_fix": ("bool",), "ksp_knoll": ("bool",),
    "ksp_converged_use_initial_residual_norm": ("bool",),
    "ksp_converged_use_min_initial_residual_norm": ("bool",), "ksp_converged_maxits": ("bool",),
    "ksp_gmres_preallocate": ("bool",), "ksp_gmres_classicalgramschmidt": ("bool",),
    "ksp_gmres_modifiedgramschmidt": ("bool",), "ksp_lsqr_exact_mat_norm": ("bool",),
    "ksp_lsqr_compute_standard_error": ("bool",), "ksp_reuse_preconditioner": ("bool",),
    "ksp_use_explicittranspose": ("bool",), "ksp_richardson_self_scale": ("bool",),
    "ksp_monitor_cancel": ("bool",), "ksp_monitor_pause_final": ("bool",),
    "ksp_type": ("choice", KSP_TYPES, True),
    "ksp_norm_type": ("choice", ("none", "preconditioned", "unpreconditioned", "natural"), False),
    "ksp_pc_side": ("choice", ("left", "right", "symmetric"), False),
    "ksp_gmres_cgs_refinement_type": ("choice", ("refine_never", "refine_ifneeded",
                                                 "refine_always"), False),
    # PC
    "pc_type": ("choice", PC_TYPES, True),
    "pc_factor_mat_solver_type": ("choice", MAT_SOLVER_TYPES, True),
    "pc_factor_mat_ordering_type": ("choice", MAT_ORDERING_TYPES, True),
    "pc_factor_shift_type": ("choice", ("none", "nonzero", "positive_definite", "inblocks"),
                             False),
    "pc_factor_levels": _COUNT, "pc_asm_overlap": _COUNT, "pc_bjacobi_blocks": ("int", 1),
    "pc_sor_its": ("int", 1), "pc_sor_lits": ("int", 1), "pc_mg_levels": ("int", 1),
    "pc_factor_shift_amount": _TOLERANCE, "pc_factor_fill": ("real", 1.0),
    "pc_factor_zeropivot": _TOLERANCE, "pc_factor_column_pivot": _TOLERANCE,
    "pc_sor_omega": _TOLERANCE,
    "pc_factor_in_place": ("bool",), "pc_factor_reuse_fill": ("bool",),
    "pc_factor_reuse_ordering": ("bool",), "pc_factor_pivot_in_blocks": ("bool",),
    # SLEPc SVD, EPS, BV
    "svd_type": ("choice", SVD_TYPES, True),
    "svd_nsv": ("int", 1), "svd_ncv": ("int", 1), "svd_mpd": ("int", 1),
    "svd_max_it": ("int", 1), "svd_tol": _TOLERANCE, "svd_trlanczos_restart": _TOLERANCE,
    "svd_implicittranspose": ("bool",), "svd_trlanczos_locking": ("bool",),
    "svd_trlanczos_oneside": ("bool",), "svd_trlanczos_explicitmatrix": ("bool",),
    "svd_lanczos_oneside": ("bool",), "svd_cross_explicitmatrix": ("bool",),
    "svd_cyclic_explicitmatrix": ("bool",), "svd_monitor_cancel": ("bool",),
    "eps_type": ("choice", EPS_TYPES, True),
    "eps_nev": ("int", 1), "eps_ncv": ("int", 1), "eps_mpd": ("int", 1),
    "eps_max_it": ("int", 1), "eps_tol": _TOLERANCE, "eps_target": ("real", None),
    "eps_krylovschur_restart": _TOLERANCE,
    "eps_true_residual": ("bool",), "eps_purify": ("bool",), "eps_two_sided": ("bool",),
    "eps_krylovschur_locking": ("bool",), "eps_monitor_cancel": ("bool",),
    "bv_type": ("choice", BV_TYPES, True),
    "bv_orthog_type": ("choice", ("cgs", "mgs"), False),
    "bv_orthog_refine": ("choice", ("ifneeded", "never", "always"), False),
    "bv_orthog_block": ("choice", ("gs", "chol", "tsqr", "tsqrchol", "svqb"), False),
    "bv_matmult": ("choice", ("vecs", "mat"), False),
    "bv_orthog_eta": _TOLERANCE,
    # Viewers: true, or [type][:file[:format]]
    **{name: ("viewer",) for name in (
        "ksp_monitor", "ksp_monitor_true_residual", "ksp_monitor_short", "ksp_monitor_solution",
        "ksp_monitor_singular_value", "ksp_monitor_max", "ksp_monitor_range",
        "ksp_monitor_error", "ksp_lsqr_monitor", "ksp_view", "ksp_view_pre", "ksp_view_mat",
        "ksp_view_pmat", "ksp_view_rhs", "ksp_view_solution", "ksp_view_eigenvalues",
        "ksp_view_singularvalues", "ksp_view_final_residual", "ksp_converged_reason",
        "ksp_converged_rate",
        "svd_monitor", "svd_monitor_all", "svd_monitor_conv", "svd_monitor_conditioning",
        "svd_view", "svd_view_pre", "svd_view_values", "svd_view_vectors",
        "svd_converged_reason", "svd_error_absolute", "svd_error_relative", "svd_error_norm",
        "eps_monitor", "eps_monitor_all", "eps_monitor_conv", "eps_view", "eps_view_pre",
        "eps_view_values", "eps_view_vectors", "eps_converged_reason", "eps_error_absolute",
        "eps_error_relative", "eps_error_backward",
        "mat_view", "vec_view", "log_view", "log_summary")},
    # Whole-run switches (no options prefix)
    "options_left": ("bool",), "options_view": ("bool",), "options_monitor": ("bool",),
    "memory_view": ("bool",), "log_view_memory": ("bool",), "log_view_gpu_time": ("bool",),
    "log_sync": ("bool",), "malloc_debug": ("bool",), "malloc_test": ("bool",),
    "on_error_abort": ("bool",), "fp_trap": ("bool",),
    "malloc_dump": ("flag_or_file",), "malloc_view": ("flag_or_file",),
    "info": ("flag_or_file",),   # -info [file][:classes[:self]]
}

# Objects that take an options prefix: their options also match behind one
# (``tikhonov_ksp_max_it``, ``hpcinv_svd_svd_nsv``, ``sub_pc_type``).
_PREFIXABLE = ("ksp_", "pc_", "svd_", "eps_", "bv_", "mat_", "vec_")

_PETSC_DEFAULTS = {"default", "petsc_default", "decide", "petsc_decide", "determine",
                   "petsc_determine"}
_INTEGER = re.compile(r"^[+-]?\d+$")
_REAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?inf(inity)?$", re.I)
_BOOL_WORDS = {"true", "false", "yes", "no", "on", "off", "1", "0"}


def _lookup(name: str):
    """(table name, spec) of option ``name`` (lower case), directly or behind a prefix."""
    if name in KNOWN_OPTIONS:
        return name, KNOWN_OPTIONS[name]
    matches = [known for known in KNOWN_OPTIONS
               if known.startswith(_PREFIXABLE) and name.endswith("_" + known)]
    if not matches:
        return None, None
    known = max(matches, key=len)
    return known, KNOWN_OPTIONS[known]


def _shown(value) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return repr(value)


def _expected(spec: tuple) -> str:
    kind = spec[0]
    if kind in ("int", "real"):
        bound = "" if spec[1] is None else f" >= {spec[1]:g}"
        return ("an integer" if kind == "int" else "a real number") + bound
    if kind == "choice":
        return "one of " + ", ".join(spec[1])
    return {"bool": "true or false", "viewer": "true or a PETSc viewer",
            "flag_or_file": "true or a file name"}[kind]


def _type_problem(spec: tuple, value) -> str | None:
    """Why ``value`` is no value of an option of kind ``spec``; None when it is one."""
    kind = spec[0]
    text = value.strip() if isinstance(value, str) else None
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            return f"expected an integer, got {_shown(value)}"
        if text is not None:
            if text.lower() in _PETSC_DEFAULTS:
                return None
            if not _INTEGER.match(text):
                return f"expected an integer, got {_shown(value)}"
            value = int(text)
        if spec[1] is not None and value < spec[1]:
            return f"expected an integer >= {spec[1]}, got {value}"
        return None
    if kind == "real":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return f"expected a real number, got {_shown(value)}"
        if text is not None:
            if text.lower() in _PETSC_DEFAULTS:
                return None
            if not _REAL.match(text):
                return f"expected a real number, got {_shown(value)}"
            value = float(text)
        if math.isnan(value):
            return "expected a real number, got nan"
        if spec[1] is not None and value < spec[1]:
            return f"expected a real number >= {spec[1]:g}, got {value:g}"
        return None
    if kind == "bool":
        if isinstance(value, bool) or value in (0, 1) and not isinstance(value, float):
            return None
        if text is not None and text.lower() in _BOOL_WORDS:
            return None
        return f"expected true or false, got {_shown(value)}"
    if kind == "choice":
        choices, case_sensitive = spec[1], spec[2]
        if isinstance(value, str) and (value in choices or not case_sensitive
                                       and value.lower() in choices):
            return None
        return f"expected one of {', '.join(choices)}; got {_shown(value)}"
    if kind == "viewer":
        if value is True or value == "":
            return None
        if value is False:
            return "PETSc reads false as a viewer name; leave the option out to turn it off"
        if not isinstance(value, str):
            return f"expected true or a PETSc viewer ([type][:file[:format]]), got {_shown(value)}"
        viewer_type = value.split(":", 1)[0].strip().lower()
        if viewer_type and viewer_type not in VIEWER_TYPES:
            return (f"unknown viewer type {viewer_type!r} (known: {', '.join(VIEWER_TYPES)}); "
                    "expected true or [type][:file[:format]]")
        return None
    if kind == "flag_or_file":
        if value is True or isinstance(value, str) and value:
            return None
        return f"expected true or a file name, got {_shown(value)}"
    return None


# -- service mode ----------------------------------------------------------------------------
# Option names (lower case, any prefix) refused in service mode, with the reason.
_REFUSED_NAMES = (
    (re.compile(r"^options_(file|file_yaml|string_yaml)$"),
     "reads further options (and files) that this service cannot check"),
    (re.compile(r"^prefix_(push|pop)$"), "changes the names of the options that follow"),
    (re.compile(r"^(history|log_trace|log_all|log|log_mpe|log_perfstubs)$"),
     "writes a log file"),
    (re.compile(r"debugger|^debug_terminal$|^display$|^on_error_emacs$|^x_virtual$"),
     "starts a debugger or another program"),
    (re.compile(r"python"), "imports Python code"),
    (re.compile(r"^dll_|^pf_"), "loads or compiles code"),
    (re.compile(r"draw|glvis|saws|socket|popen|^viewer_"),
     "opens windows, network connections or viewer files"),
    (re.compile(r"(^|_)(files?|filename|dirname|tmpdir|dir|path|dump|save)(_|$)"),
     "reads or writes files"),
    (re.compile(r"mat_mumps_icntl_22$"), "makes MUMPS write out-of-core files"),
)
_FILE_OR_FLAG = "writes a file unless its value is true"


def _sandbox_problem(name: str, spec, value) -> str | None:
    """Why service mode refuses option ``name`` = ``value``; None when it allows it."""
    if spec is not None and spec[0] == "flag_or_file":
        return None if value is True else f"refused in service mode: {_FILE_OR_FLAG}"
    for pattern, reason in _REFUSED_NAMES:
        if pattern.search(name):
            return f"refused in service mode: this option {reason}"
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.lower() == "python":
        return "refused in service mode: a Python type imports Python code"
    if "/" in text or "\\" in text:
        return "refused in service mode: the value names a file"
    parts = text.split(":")
    viewer_type = parts[0].strip().lower()
    if viewer_type in VIEWER_TYPES and viewer_type != "ascii":
        return (f"refused in service mode: a {viewer_type} viewer writes files, opens windows "
                "or connects elsewhere; use true or ascii (standard output)")
    if len(parts) > 1:
        if parts[1].strip():
            return "refused in service mode: the value names a file (viewer syntax type:file)"
        if len(parts) > 3 and any(p.strip() for p in parts[3:]):
            return "refused in service mode: viewer file modes are not allowed"
    return None


# -- options files (outside service mode) ----------------------------------------------------
_OPTIONS_FILE_LIMIT = 1 << 20


def _valid_key(token: str) -> bool:
    """PETSc's PetscOptionsValidKey: -name, not a negative number."""
    return len(token) > 1 and token[0] == "-" and not (token[1].isdigit() or token[1] == ".")


def _options_file_problems(path: str, yaml: bool, seen: set) -> list[str]:
    """Problems of an options file, never quoting its content."""
    if path.endswith(":yaml"):
        path, yaml = path[:-len(":yaml")], True
    yaml = yaml or path.endswith((".yml", ".yaml"))
    if not os.path.isfile(path):
        return ["no such file" if not os.path.exists(path) else "not a regular file"]
    if not os.access(path, os.R_OK):
        return ["file is not readable"]
    real = os.path.realpath(path)
    if real in seen or yaml:
        return []
    seen.add(real)
    try:
        with open(path, "rb") as handle:
            content = handle.read(_OPTIONS_FILE_LIMIT + 1)
    except OSError as error:
        return [f"cannot read the file: {error.strerror}"]
    if len(content) > _OPTIONS_FILE_LIMIT:
        return ["larger than 1 MiB; not a PETSc options file"]
    lines = content.split(b"\n")
    options: dict = {}
    where: dict = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.split(b"#", 1)[0]
        try:
            tokens = line.decode().split()
        except UnicodeDecodeError:
            return [f"line {number} is not text; not a PETSc options file"]
        if not tokens:
            continue
        if tokens[0].lower() == "alias":
            ok = len(tokens) == 3 and _valid_key(tokens[1]) and _valid_key(tokens[2])
        else:
            ok = _valid_key(tokens[0]) and len(tokens) <= 2 and \
                not (len(tokens) == 2 and _valid_key(tokens[1]))
        if not ok:
            return [f"line {number} is not a PETSc option line ('-name [value]'); "
                    "not a PETSc options file"]
        if tokens[0].lower() != "alias":
            key = tokens[0][1:]
            options[key] = tokens[1] if len(tokens) == 2 else True
            where[key] = number
    problems = []
    for key, message in _check(options, sandbox=False, seen=seen, quote=False):
        problems.append(f"line {where[key]}: {message}")
    return problems


# -- checking a [petsc] table ------------------------------------------------------------------
def _check(table: dict, sandbox: bool, seen: set, quote: bool = True) -> list:
    problems = []
    for key, value in table.items():
        name = str(key).lstrip("-").lower()
        known, spec = _lookup(name)
        if sandbox:
            refusal = _sandbox_problem(name, spec, value)
            if refusal:
                problems.append((key, refusal))
                continue
        if name in ("options_file", "options_file_yaml"):
            if not isinstance(value, str) or not value.strip():
                problems.append((key, f"expected a file name, got {_shown(value)}"))
                continue
            problems.extend((key, message) for message in _options_file_problems(
                value.strip(), name == "options_file_yaml", seen))
            continue
        if spec is None:
            continue
        problem = _type_problem(spec, value)
        if problem and not quote:
            # An options file's lines are not quoted: only the known option's name and type.
            option = f"-{known}" if known == name else f"a prefixed -{known}"
            problem = f"the value of {option} is not {_expected(spec)}"
        if problem:
            problems.append((key, problem))
    return problems


def check_petsc_options(table: dict, sandbox: bool) -> list:
    """``(key path, message)`` for every problem of a job's ``[petsc]`` table: values of known
    options that are not of their type, a ``ksp_type`` that is no least-squares method, and in
    service mode (``sandbox``) options that name files, start programs or load code.  Outside
    service mode ``options_file`` must name a readable PETSc options file; messages never
    quote its content."""
    problems = _check(table, sandbox, set()) + _non_least_squares_ksp_types(table)
    return [(f"petsc.{key}", message) for key, message in problems]


# -- the KSP type of hpcinv's own KSP ----------------------------------------------------------
# The KSP types whose iterates minimise ||A x - b|| for a rectangular A, which the ``ksp``
# solver kind and hpcinv's discrepancy test need.  PETSc 3.18 has no others: CGNE, the other
# normal-equation method, requires a square operator.
LEAST_SQUARES_KSP_TYPES = ("lsqr", "cgls")


def least_squares_ksp_type_problem(ksp_type: str) -> str | None:
    """Why the KSP type ``ksp_type`` cannot be hpcinv's KSP; None when it can."""
    if ksp_type in LEAST_SQUARES_KSP_TYPES:
        return None
    return (f"{ksp_type!r} does not minimise ||A x - b|| for a rectangular A; use one of "
            f"{', '.join(LEAST_SQUARES_KSP_TYPES)}")


def _non_least_squares_ksp_types(table: dict) -> list:
    """The unprefixed ``ksp_type`` is the type of hpcinv's own KSP (solver kind ``ksp``; every
    other KSP hpcinv creates has an options prefix).  A value that is no PETSc type at all is
    reported by the typed check already."""
    problems = []
    for key, value in table.items():
        if str(key).lstrip("-").lower() == "ksp_type" and value in KSP_TYPES:
            problem = least_squares_ksp_type_problem(value)
            if problem:
                problems.append((key, problem))
    return problems


# -- PETSc errors during option processing -----------------------------------------------------
# PETSc error codes that option processing raises for bad values: SUP (56, an unsupported
# viewer), ARG_SIZ, ARG_WRONG, ARG_OUTOFRANGE, FILE_OPEN/READ/WRITE, ARG_INCOMP, USER (an
# unknown enumeration value), ARG_UNKNOWN_TYPE, OPT_OVERWRITE, USER_INPUT.
_OPTION_ERRORS = {56, 60, 62, 63, 65, 66, 67, 75, 83, 86, 93, 95}
_FRAME = re.compile(r"^\S+\(\) at \S+:\d+$")


def _petsc_error_type():
    module = sys.modules.get("petsc4py.PETSc")
    return getattr(module, "Error", None)


def _message(error) -> str:
    """The specific line of a petsc4py error (its traceback's last message line)."""
    lines = []
    for line in str(error).splitlines()[1:]:
        text = re.sub(r"^\[\d+\]\s*", "", line).strip()
        if text and not _FRAME.match(text):
            lines.append(text)
    if not lines:
        return f"error code {getattr(error, 'ierr', '?')} (PETSc's message is above)"
    text = lines[-1]
    if "options file" in text.lower():
        return "an options file could not be used"   # its lines may be anyone's file
    return text


def _options_named(message: str) -> list[str]:
    """Options of PETSc's database whose value the message quotes."""
    named = re.findall(r"-[A-Za-z]\w*", message)
    if named:
        return []
    try:
        from petsc4py import PETSc

        options = PETSc.Options().getAll()
    except Exception:  # noqa: BLE001 - naming the option is a courtesy
        return []
    words = set(re.findall(r"[\w.+-]+", message))
    return [f"-{key} {value}" for key, value in options.items()
            if isinstance(value, str) and value and value in words]


@contextmanager
def petsc_input_errors():
    """Turn a PETSc error of option processing (``setFromOptions``, inserting a job's
    options) into bad input under the key ``petsc``; other errors pass unchanged."""
    try:
        yield
    except Exception as error:
        error_type = _petsc_error_type()
        if error_type is None or not isinstance(error, error_type) \
                or getattr(error, "ierr", None) not in _OPTION_ERRORS:
            raise
        message = _message(error)
        named = _options_named(message)
        if named:
            message += f" ({', '.join(named)})"
        raise InputError(("petsc", f"PETSc refused the options: {message}")) from None
