"""What the ``recycle`` keys of the augmented solver kinds ask for, as a recycle space, and
their ``warm_start`` initial guess.  ``recycle`` is none (the plain methods), a vector file
(``"file"``), the solutions of earlier result files (``"results"``: a sliding window over a
sequence), the top eigenvectors of T^T T (``"eigen"``: an invariant subspace, T's leading
right singular vectors, by SLEPc), the top eigenvectors of the problem's reference operator
(``"reference-eigen"``: by SLEPc with complex pairs dropped, as the paper's ``eigs``, or
exactly as Fourier modes of a periodic convolution, applied in its spectrum where they are
whole), or steepest-descent iterates of the problem's auxiliary operators on the noisy or the
noise-free data (``"sd-iterates"``)."""
from __future__ import annotations

from ...core import sandbox
from ...core.jobspec import Field
from ...linalg.operator import NormalOperator
from ...core.errors import InputError
from ...core.io.inputs import read_hdf5_array
from ...linalg.decompositions.eigen import eigenvectors
from ...operators.convolution import PeriodicConvolution
from .builders import fourier_eigenvectors, fourier_mode_frequencies, sd_iterates
from .capabilities import AuxiliaryOperators, ReferenceOperator
from .space import RecycleSpace
from .spectral import FourierRecycleSpace, is_spectral_candidate


RECYCLE_SOURCES = ("none", "file", "results", "eigen", "reference-eigen", "sd-iterates")
EIGEN_COUNTED = ("eigen", "reference-eigen")

RECYCLE_PARAMETERS = {
    "recycle": Field(str, "none", "recycle space: none (the plain method), file, eigen "
                     "(the recycle_k top eigenvectors of T^T T), reference-eigen (those of the "
                     "problem's reference operator) or sd-iterates (of the problem's "
                     "auxiliary operators)", choices=RECYCLE_SOURCES),
    "recycle_k": Field(int, 0, "recycle = eigen or reference-eigen: number of eigenvectors",
                       minimum=0),
    "eigen_solver": Field(str, "slepc", "recycle = reference-eigen: slepc (EPS, complex pairs "
                          "dropped) or fourier (exact modes of a periodic convolution)",
                          choices=("slepc", "fourier")),
    "recycle_data": Field(str, "noisy", "recycle = sd-iterates: the data the iterates fit "
                          "(noisy, or clean: the problem's noise-free data)",
                          choices=("noisy", "clean")),
    "recycle_iterations": Field(int, 2, "recycle = sd-iterates: steepest-descent steps per "
                                "auxiliary operator", minimum=1),
    "recycle_file": Field(str, "", "HDF5 file whose dataset 'recycle' of shape (k, n) holds "
                          "the k recycle vectors as rows", file=True),
    "recycle_results": Field(list, [], "recycle = results: result files of earlier runs "
                             "(e.g. the previous frames of a sequence) whose solutions span "
                             "the space", items=str),
    "drop_tolerance": Field(float, 1e-10, "drop a recycle vector whose T u keeps less than "
                            "this fraction of its norm after orthogonalisation", minimum=0),
}
WARM_START_PARAMETER = {
    "warm_start": Field(str, "", "result file of an earlier run whose /solution is the "
                        "initial guess (empty: start from zero)", file=True),
}
CHECK_PARAMETER = {
    "check_residual_every": Field(int, 0, "every N iterations check that the recursive "
                                  "residual is y - T x and orthogonal to C (0: never)",
                                  minimum=0),
}


def check_recycle(values: dict) -> list:
    problems = []
    if values["recycle"] == "file" and not values["recycle_file"]:
        problems.append(("solver.recycle_file", "needed when solver.recycle = 'file'"))
    if values["recycle"] == "results" and not values["recycle_results"]:
        problems.append(("solver.recycle_results", "needed when solver.recycle = 'results'"))
    if values["recycle"] != "results" and values["recycle_results"]:
        problems.append(("solver.recycle_results", "given, but solver.recycle is not "
                                                   "'results'"))
    if values["recycle"] == "none" and values["recycle_file"]:
        problems.append(("solver.recycle_file", "given, but solver.recycle = 'none'; set "
                                                "recycle = 'file' to use it"))
    if values["recycle"] in EIGEN_COUNTED and values["recycle_k"] < 1:
        problems.append(("solver.recycle_k", f"recycle = '{values['recycle']}' needs "
                                             f"recycle_k >= 1"))
    if values["recycle"] not in EIGEN_COUNTED and values["recycle_k"]:
        problems.append(("solver.recycle_k", "given, but solver.recycle is not 'eigen' or "
                                             "'reference-eigen'"))
    if not values["drop_tolerance"] < 1.0:
        problems.append(("solver.drop_tolerance", f"must be < 1, got {values['drop_tolerance']}"))
    return problems


def load_solution(path: str, operator, key: str):
    """The /solution of a result file as a domain Vec of ``operator`` (read whole on every
    rank, like the recycle file: a solution is one vector); errors name ``key``."""
    refusal = sandbox.input_refusal(path)
    if refusal:
        raise InputError((key, refusal))
    solution = read_hdf5_array(path, "solution", key).ravel()
    n = operator.shape[1]
    if solution.size != n:
        raise InputError((key, f"the solution in {path} has {solution.size} entries; this "
                               f"problem has {n} unknowns"))
    return operator.domain_layout.vec_from(solution)


def load_result_solutions(paths, operator) -> list:
    return [load_solution(path, operator, f"solver.recycle_results[{index}]")
            for index, path in enumerate(paths)]


def load_recycle_vectors(path: str, operator) -> list:
    """The rows of dataset ``recycle`` in ``path`` as domain Vecs of ``operator`` (every
    rank reads the whole k x n array; k is small)."""
    key = "solver.recycle_file"
    array = read_hdf5_array(path, "recycle", key)
    n = operator.shape[1]
    if array.ndim != 2 or array.shape[1] != n:
        raise InputError((key, f"dataset 'recycle' in {path} has shape {array.shape}; "
                               f"expected (k, {n})"))
    return [operator.domain_layout.vec_from(row) for row in array]


def requirements(values: dict) -> dict:
    """The problem capabilities the recycle keys need."""
    needs = {"reference-eigen": ReferenceOperator, "sd-iterates": AuxiliaryOperators}
    source = values["recycle"]
    return {needs[source]: "solver.recycle"} if source in needs else {}


def _reference(problem):
    return problem.require(ReferenceOperator, "solver.recycle",
                           "recycle = 'reference-eigen'").operator


def _reference_eigenvectors(problem, k: int, eigen_solver: str) -> list:
    reference = _reference(problem)
    if eigen_solver == "fourier":
        if not isinstance(reference, PeriodicConvolution):
            raise InputError(("solver.eigen_solver", "'fourier' needs a periodic convolution "
                                                     "as the reference operator"))
        template, _ = problem.operator.create_vecs()
        return fourier_eigenvectors(reference.image_shape, k, reference.full_spectrum(),
                                    template=template)
    return eigenvectors(reference, k, complex_pairs="drop")


def _sd_iterate_vectors(problem, values: dict) -> list:
    auxiliary = problem.require(AuxiliaryOperators, "solver.recycle",
                                "recycle = 'sd-iterates'").operators
    if not auxiliary:
        raise InputError(("solver.recycle", "'sd-iterates' needs auxiliary operators; this "
                                            "problem has none (e.g. auxiliary_sigmas = [])"))
    data = problem.data
    if values["recycle_data"] == "clean":
        if problem.noise_free_data is None:
            raise InputError(("solver.recycle_data", "'clean' needs a synthetic problem "
                                                     "whose noise-free data are known"))
        data = problem.noise_free_data
    return sd_iterates(auxiliary, data, values["recycle_iterations"])


def _check_count(operator, values: dict) -> None:
    if values["recycle"] in EIGEN_COUNTED and values["recycle_k"] > operator.shape[1]:
        raise InputError(("solver.recycle_k", f"{values['recycle_k']} exceeds the "
                                              f"{operator.shape[1]} unknowns"))


def _recycle_vectors(problem, values: dict) -> list:
    """The vectors spanning the recycle space the solver values ask for (all sources but
    reference-eigen, which ``reference_eigen_space`` builds)."""
    operator, source = problem.operator, values["recycle"]
    if source == "file":
        return load_recycle_vectors(values["recycle_file"], operator)
    if source == "results":
        return load_result_solutions(values["recycle_results"], operator)
    if source == "eigen":
        return eigenvectors(NormalOperator(operator), values["recycle_k"], symmetric=True)
    if source == "sd-iterates":
        return _sd_iterate_vectors(problem, values)
    return []


def initial_guess(operator, values: dict):
    """x0: zero, or the solution of the ``warm_start`` result file."""
    if values["warm_start"]:
        return load_solution(values["warm_start"], operator, "solver.warm_start")
    return operator.create_vecs()[0]


def fourier_space(problem, k: int, drop_tolerance: float = 1e-10):
    """The spectral form of the k leading Fourier modes of the reference operator, when T is
    a periodic convolution and the modes are whole (no cosine without its sine); else None."""
    capability = problem.capability(ReferenceOperator)
    reference = capability.operator if capability is not None else None
    if not (isinstance(reference, PeriodicConvolution)
            and is_spectral_candidate(problem.operator)
            and reference.image_shape == problem.operator.image_shape):
        return None
    frequencies = fourier_mode_frequencies(reference.image_shape, k, reference.full_spectrum())
    if frequencies is None:
        return None
    return FourierRecycleSpace(problem.operator, frequencies, drop_tolerance)


def reference_eigen_space(problem, k: int, eigen_solver: str = "fourier",
                          drop_tolerance: float = 1e-10, spectral: bool = True):
    """The k leading eigenvectors of the problem's reference operator as a recycle space:
    with ``spectral`` and Fourier modes, the zero-cost spectral form where it applies."""
    space = None
    if spectral and eigen_solver == "fourier":
        space = fourier_space(problem, k, drop_tolerance)
    if space is None:
        space = RecycleSpace(problem.operator, _reference_eigenvectors(problem, k, eigen_solver),
                             drop_tolerance)
    return space


def recycle_space(problem, values: dict, spectral: bool = False):
    """The recycle space the solver values ask for; with ``spectral`` the zero-cost Fourier
    form where it applies (the descent kinds; CGLS projects through the vector form)."""
    _check_count(problem.operator, values)
    if values["recycle"] == "reference-eigen":
        return reference_eigen_space(problem, values["recycle_k"], values["eigen_solver"],
                                     values["drop_tolerance"], spectral)
    return RecycleSpace(problem.operator, _recycle_vectors(problem, values),
                        values["drop_tolerance"])
