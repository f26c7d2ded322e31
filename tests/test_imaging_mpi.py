"""Imaging operators and problems of subspace recycling: the slab-distributed convolutions
against dense references, their adjoint tests, the Gaussian-blur and AO problems, and the
recycle sources that name them.  Every mpi test runs on 1 and on 2 ranks against the same
rank-independent numpy references, so passing on both means the two agree."""
import numpy as np
import pytest
import scipy.ndimage

from hpcinv.core.petsc_env import initialize

PETSc = initialize()

from hpcinv.core.jobspec import parse_spec  # noqa: E402
from hpcinv.operators.convolution import (PeriodicConvolution,  # noqa: E402
                                          ReflectiveConvolution)
from hpcinv.linalg.dottest import dot_test  # noqa: E402
from hpcinv.apps.imaging import ao_problem, gaussian_blur_problem  # noqa: E402
from hpcinv.apps.imaging.images import geometric_pattern  # noqa: E402
from hpcinv.apps.imaging.psf import (annular_aperture, aperture_psf,  # noqa: E402
                                         gaussian_psf)
from hpcinv.core.errors import InputError  # noqa: E402
from hpcinv.solvers import IterationControl  # noqa: E402
from hpcinv.solvers.framework.stopping import FixedIterations  # noqa: E402
from hpcinv.solvers.recycling.augmented import AugmentedSteepestDescent  # noqa: E402
from hpcinv.solvers.recycling.capabilities import (AuxiliaryOperators,  # noqa: E402
                                                   ReferenceOperator)
from hpcinv.solvers.recycling.builders import fourier_eigenvectors  # noqa: E402
from hpcinv.solvers.recycling.space import RecycleSpace  # noqa: E402
from tests.helpers import build_job, gather  # noqa: E402

COMM = PETSc.COMM_WORLD


def _image_vec(operator, image):
    x, _ = operator.create_vecs()
    start, stop = x.getOwnershipRange()
    x.getArray()[:] = image.ravel()[start:stop]
    return x


def _apply(operator, image, transpose=False):
    x = _image_vec(operator, image)
    y = x.duplicate()
    (operator.mult_transpose if transpose else operator.mult)(x, y)
    return gather(y).reshape(image.shape)


@pytest.mark.mpi
def test_periodic_convolution_is_circular_convolution_and_its_adjoint_correlation():
    rng = np.random.default_rng(3)
    shape, center = (9, 8), (4, 3)
    psf, image = rng.random(shape), rng.standard_normal(shape)
    operator = PeriodicConvolution(COMM, psf, center)
    expected = np.zeros(shape)
    for p in range(shape[0]):
        for q in range(shape[1]):
            expected += image[p, q] * np.roll(psf, (p - center[0], q - center[1]), axis=(0, 1))
    assert np.allclose(_apply(operator, image), expected, atol=1e-12)
    dense = np.column_stack([_apply(operator, e.reshape(shape)).ravel()
                             for e in np.eye(psf.size)])
    assert np.allclose(_apply(operator, image, transpose=True).ravel(),
                       dense.T @ image.ravel(), atol=1e-12)
    assert dot_test(operator) < 1e-13
    # The eigenvalues are the DFT of the first column: Fourier modes are eigenvectors.
    assert np.allclose(np.sort(np.abs(np.linalg.eigvals(dense))),
                       np.sort(np.abs(operator.full_spectrum().ravel())), atol=1e-10)


@pytest.mark.mpi
def test_reflective_convolution_matches_scipy_reflect_mode_and_is_symmetric():
    rng = np.random.default_rng(4)
    image = rng.standard_normal((12, 10))
    psf, center = gaussian_psf((7, 7), 1.3)
    operator = ReflectiveConvolution(COMM, psf, center, image.shape)
    expected = scipy.ndimage.convolve(image, psf, mode="reflect")
    assert np.allclose(_apply(operator, image), expected, atol=1e-12)
    assert np.allclose(_apply(operator, image, transpose=True), expected, atol=1e-12)
    assert dot_test(operator) < 1e-13


def test_reflective_convolution_refuses_an_asymmetric_psf():
    psf = np.zeros((5, 5))
    psf[2, 2], psf[2, 3] = 0.7, 0.3
    with pytest.raises(ValueError, match="symmetric about its centre"):
        ReflectiveConvolution(COMM, psf, (2, 2), (8, 8))
    with pytest.raises(ValueError, match="center"):
        PeriodicConvolution(COMM, np.ones((4, 4)), (4, 0))


def test_psfs_follow_their_definitions():
    psf, center = gaussian_psf((9, 9), 2.0)
    assert center == (4, 4) and psf.sum() == pytest.approx(1.0)
    assert psf[4, 6] / psf[4, 4] == pytest.approx(np.exp(-0.5))
    pupil = annular_aperture(33, 16, 0.25)
    assert pupil[16, 16] == 0 and pupil[16, 16 + 6] == 1 and pupil[16, 16 + 9] == 0
    psf0 = aperture_psf(pupil)
    # A real, centrosymmetric aperture gives a centrosymmetric PSF peaked at the centre.
    assert np.unravel_index(psf0.argmax(), psf0.shape) == (16, 16)
    assert np.allclose(psf0, psf0[::-1, ::-1])


@pytest.mark.mpi
def test_gaussian_blur_data_with_and_without_the_inverse_crime():
    crime = gaussian_blur_problem(COMM, n=32, sigma=2.0, inverse_crime=True, noise_level=0.02)
    honest = gaussian_blur_problem(COMM, n=32, sigma=2.0, inverse_crime=False, noise_level=0.02)
    model = crime.noise_free_data.duplicate()
    crime.operator.mult(crime.truth, model)
    assert np.allclose(gather(model), gather(crime.noise_free_data), atol=1e-12)
    honest.operator.mult(honest.truth, model)
    mismatch = np.linalg.norm(gather(model) - gather(honest.noise_free_data))
    # The padded scene differs from the reflected one only near the border.
    assert 1e-3 < mismatch / honest.noise_free_data.norm() < 0.2
    assert crime.noise_norm == pytest.approx(0.02 * crime.noise_free_data.norm(), rel=1e-12)
    noise = gather(crime.data) - gather(crime.noise_free_data)
    assert np.linalg.norm(noise) == pytest.approx(crime.noise_norm, rel=1e-10)
    auxiliary = crime.require(AuxiliaryOperators).operators
    assert len(auxiliary) == 5
    assert all(dot_test(op) < 1e-13 for op in auxiliary)
    # The same numbers as a serial computation of the padded blur.
    scene = geometric_pattern(np.arange(-8, 40), np.arange(-8, 40), 32)
    kernel, _ = gaussian_psf((48, 48), 2.0)
    padded = np.real(np.fft.ifft2(np.fft.fft2(scene) * np.fft.fft2(np.fft.ifftshift(kernel))))
    assert np.allclose(gather(honest.noise_free_data).reshape(32, 32), padded[8:40, 8:40],
                       atol=1e-12)


@pytest.mark.mpi
def test_ao_problem_and_fourier_modes_of_psf0_are_an_invariant_subspace():
    problem = ao_problem(COMM, n=33, stars=12, pupil_pixels=12, exposures=4)
    assert 0 < problem.attributes["strehl"] < 1
    assert dot_test(problem.operator) < 1e-13
    noise = gather(problem.data) - gather(problem.noise_free_data)
    assert noise.min() >= 0 and np.linalg.norm(noise) == pytest.approx(problem.noise_norm)
    reference = problem.require(ReferenceOperator).operator
    template, _ = problem.operator.create_vecs()
    modes = fourier_eigenvectors(reference.image_shape, 9, reference.full_spectrum(),
                                 template=template)
    # Every Fourier mode is invariant under T^T T of the turbulent PSF (condition (47)).
    for mode in modes:
        forward, back = problem.data.duplicate(), mode.duplicate()
        problem.operator.mult(mode, forward)
        problem.operator.mult_transpose(forward, back)
        ratio = back.dot(mode)
        back.axpy(-ratio, mode)
        assert back.norm() < 1e-10 * max(ratio, 1e-300) + 1e-13
    # Augmenting by them fits the data faster (the limit is tested in test_augmented_mpi).
    space = RecycleSpace(problem.operator, modes)
    assert space.k == 9 and space.dropped == 0
    plain = AugmentedSteepestDescent(problem.operator, problem.data, None, max_iterations=50,
                                     stopping=FixedIterations()).run()
    augmented = AugmentedSteepestDescent(problem.operator, problem.data, space, max_iterations=50,
                                         stopping=FixedIterations()).run()
    assert augmented.history["residual_norm"][-1] < plain.history["residual_norm"][-1]


@pytest.mark.mpi
def test_every_builder_gives_an_orthonormal_c_with_t_u_equal_c():
    from hpcinv.linalg.decompositions.eigen import eigenvectors
    from hpcinv.solvers.recycling.builders import SlidingWindow, sd_iterates

    blur = gaussian_blur_problem(COMM, n=24, sigma=1.5, noise_level=0.02)
    ao = ao_problem(COMM, n=33, stars=12, pupil_pixels=12, exposures=4)
    reference = ao.require(ReferenceOperator).operator
    template, _ = ao.operator.create_vecs()
    window = SlidingWindow(3)
    for frame in range(3):
        window.push(ao_problem(COMM, n=33, stars=12, pupil_pixels=12, exposures=4,
                               frame=frame).noise_free_data)
    cases = {
        "sd-iterates": (blur.operator, sd_iterates(blur.require(AuxiliaryOperators).operators, blur.data, 2,
                                                   all_iterates=True)),
        "fourier": (ao.operator, fourier_eigenvectors(reference.image_shape, 8,
                                                      reference.full_spectrum(),
                                                      template=template)),
        "slepc": (ao.operator, eigenvectors(reference, 8, complex_pairs="drop")),
        "window": (ao.operator, window.vectors()),
    }
    for name, (operator, vectors) in cases.items():
        space = RecycleSpace(operator, vectors, drop_tolerance=1e-8)
        assert space.k >= 1 and space.k + space.dropped == len(vectors), name
        C = np.column_stack([gather(c) for c in space.C])
        assert np.allclose(C.T @ C, np.eye(space.k), atol=1e-10), name
        for u, c in zip(space.U, space.C):
            product = c.duplicate()
            operator.mult(u, product)
            assert np.allclose(gather(product), gather(c), atol=1e-10), name


@pytest.mark.mpi
def test_projected_and_normal_operators_pass_the_adjoint_test():
    from hpcinv.linalg.operator import NormalOperator
    from hpcinv.solvers.recycling.augmented import ProjectedOperator

    ao = ao_problem(COMM, n=33, stars=12, pupil_pixels=12, exposures=4)
    template, _ = ao.operator.create_vecs()
    modes = fourier_eigenvectors((33, 33), 5, template=template)
    projected = ProjectedOperator(ao.operator, RecycleSpace(ao.operator, modes))
    assert dot_test(projected, seed=3) < 1e-13
    assert dot_test(NormalOperator(ao.operator), seed=4) < 1e-13


@pytest.mark.mpi
@pytest.mark.parametrize("k", [1, 9])
def test_fourier_space_in_the_spectrum_gives_the_iterates_of_the_vector_form(k):
    """Whole Fourier modes applied as a spectral mask: the same iterates as the generic
    RecycleSpace of the same modes, Lemma 6.1 holding, at no vector projection per step."""
    from hpcinv.solvers.recycling.builders import fourier_mode_frequencies
    from hpcinv.solvers.recycling.spectral import FourierRecycleSpace

    problem = ao_problem(COMM, n=33, stars=12, pupil_pixels=12, exposures=4)
    reference = problem.require(ReferenceOperator).operator
    spectrum = reference.full_spectrum()
    frequencies = fourier_mode_frequencies((33, 33), k, spectrum)
    template, _ = problem.operator.create_vecs()
    vectors = RecycleSpace(problem.operator, fourier_eigenvectors((33, 33), k, spectrum,
                                                                   template=template))
    spectral = FourierRecycleSpace(problem.operator, frequencies)
    assert spectral.k == vectors.k == k and spectral.step_parts()[1].k == 0
    runs = [AugmentedSteepestDescent(problem.operator, problem.data, space, max_iterations=80,
                                     stopping=FixedIterations(), check_residual_every=20).run()
            for space in (vectors, spectral)]
    assert np.allclose(runs[0].history["residual_norm"], runs[1].history["residual_norm"],
                       rtol=1e-10)
    assert np.allclose(gather(runs[0].x), gather(runs[1].x), rtol=1e-9, atol=1e-9)
    assert np.isfinite(runs[1].history["residual_gap"]).sum() == 4
    # A k that keeps a cosine without its sine has no spectral form.
    assert fourier_mode_frequencies((33, 33), 2, spectrum) is None


@pytest.mark.mpi
def test_fourier_space_refuses_half_modes_and_drops_null_ones():
    from hpcinv.solvers.recycling.spectral import FourierRecycleSpace

    # [0.25, 0.5, 0.25] along axis 0: the eigenvalue at f0 = n0 / 2 is 0 (up to rounding).
    psf = np.zeros((8, 6))
    psf[3:6, 0] = [0.25, 0.5, 0.25]
    operator = PeriodicConvolution(COMM, psf, (4, 0))
    with pytest.raises(ValueError, match="without its conjugate"):
        FourierRecycleSpace(operator, [(1, 1)])
    frequencies = [(f0, f1) for f0 in range(8) for f1 in range(6)]
    space = FourierRecycleSpace(operator, frequencies + [(9, 7)])      # (9, 7) is (1, 1)
    assert space.k == 48 - 6 and space.dropped == 6
    x, y = operator.create_vecs()
    x.getArray()[:] = 1.0
    operator.mult(x, y)
    start, _ = space.initial(x.duplicate(), y)
    assert np.all(np.isfinite(gather(start)))
    masked = space.step_parts()[0]
    with pytest.raises(ValueError, match="masked"):
        masked.full_spectrum()


@pytest.mark.mpi
def test_the_kind_takes_the_spectral_form_where_it_applies():
    from hpcinv.solvers.recycling.spectral import FourierRecycleSpace

    extra = 'recycle = "reference-eigen"\nrecycle_k = {k}\neigen_solver = "fourier"'
    _, solver, state, reason = _solve("ao-deconvolution", AO, extra.format(k=9))
    assert isinstance(solver.space, FourierRecycleSpace) and reason == "discrepancy"
    _, generic, generic_state, _ = _solve("ao-deconvolution", AO, extra.format(k=10))
    assert isinstance(generic.space, RecycleSpace) and generic.space.k == 10
    assert state.iteration > 0 and generic_state.iteration > 0
    with pytest.raises(InputError, match="solver.recycle_k"):
        _solve("ao-deconvolution", AO, extra.format(k=33 * 33 + 1))


def test_ao_problem_checks_its_arguments():
    with pytest.raises(ValueError, match="pupil_pixels"):
        ao_problem(COMM, n=33, pupil_pixels=17)
    with pytest.raises(ValueError, match="noise"):
        ao_problem(COMM, n=33, pupil_pixels=8, noise="poisson")


JOB = """
[problem]
kind = "{problem}"
{problem_extra}
[solver]
kind = "augmented-sd"
max_iterations = 300
{solver_extra}
[output]
path = "unused.h5"
"""

AO = 'n = 33\nstars = 12\npupil_pixels = 12\nexposures = 4'
BLUR = 'n = 32\nsigma = 2.0\nnoise_level = 0.02'


def _solve(problem_kind, problem_extra, solver_extra):
    _, problem, solver = build_job(COMM, JOB.format(problem=problem_kind,
                                                    problem_extra=problem_extra,
                                                    solver_extra=solver_extra))
    state = solver.initial_state()
    control = IterationControl(COMM, truth=problem.truth, data_norm=problem.data.norm(),
                               target=solver.target, max_iterations=solver.max_iterations)
    reason = solver.solve(state, control)
    return problem, solver, state, reason


@pytest.mark.mpi
@pytest.mark.parametrize("eigen_solver", ["fourier", "slepc"])
def test_reference_eigen_recycling_reaches_the_discrepancy_principle_sooner(eigen_solver):
    extra = f'recycle = "reference-eigen"\nrecycle_k = 10\neigen_solver = "{eigen_solver}"'
    _, solver, state, reason = _solve("ao-deconvolution", AO, extra)
    _, _, plain, plain_reason = _solve("ao-deconvolution", AO, "")
    assert reason == plain_reason == "discrepancy"
    assert 8 <= solver.space.k <= 10 and state.iteration < plain.iteration


@pytest.mark.mpi
@pytest.mark.parametrize("data", ["clean", "noisy"])
def test_sd_iterate_recycling_from_the_auxiliary_blurs(data):
    extra = f'recycle = "sd-iterates"\nrecycle_data = "{data}"\ndrop_tolerance = 1e-3'
    _, solver, state, reason = _solve("gaussian-blur", BLUR, extra)
    assert reason == "discrepancy" and 1 <= solver.space.k <= 5
    assert solver.space.k + solver.space.dropped == 5


@pytest.mark.mpi
def test_recycle_sources_the_problem_lacks_are_named():
    with pytest.raises(InputError, match="solver.recycle"):
        _solve("gaussian-blur", BLUR, 'recycle = "reference-eigen"\nrecycle_k = 3')
    with pytest.raises(InputError, match="solver.recycle"):
        _solve("ao-deconvolution", AO, 'recycle = "sd-iterates"')
    with pytest.raises(InputError, match="solver.recycle"):
        _solve("gaussian-blur", BLUR + "\nauxiliary_sigmas = []", 'recycle = "sd-iterates"')


def test_imaging_problem_parameters_are_checked():
    with pytest.raises(InputError, match="problem.boundary"):
        parse_spec(JOB.format(problem="gaussian-blur", problem_extra='boundary = "zero"',
                              solver_extra=""))
    with pytest.raises(InputError, match=r"problem.auxiliary_sigmas\[1\]"):
        parse_spec(JOB.format(problem="gaussian-blur", problem_extra="auxiliary_sigmas = [1, 0]",
                              solver_extra=""))
