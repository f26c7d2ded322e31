"""Tikhonov regularization with lambda chosen by the discrepancy principle, GCV, Reginska,
quasi-optimality or the L-curve: Krylov (Golub-Kahan with Gauss quadrature bounds),
randomized-SVD, SVD and GSVD routes, the standard-form transformation of general-form
problems, and LSQR for a fixed lambda (Luiken's thesis, ch. 3).

Besides the ``Tikhonov`` method: ``StandardForm`` (A L_A^+, with ``lanczos_choice`` for a
general-form lambda and solution), and ``choose_lambda_explained`` /
``lanczos_choice_explained``, which return a ``LambdaChoice`` saying why a rule found no
lambda."""
from .choice import LambdaChoice, choose_lambda_explained, lanczos_choice_explained
from .solver import Tikhonov
from .standard_form import StandardForm

__all__ = ["LambdaChoice", "StandardForm", "Tikhonov", "choose_lambda_explained",
           "lanczos_choice_explained"]
