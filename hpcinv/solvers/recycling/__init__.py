"""Subspace-recycling (augmented) regularization (Ramlau, Soodhalter & Hutterer): recycle
spaces, the vectors that span them, and augmented steepest descent, Landweber and CGLS."""
from .augmented import AugmentedCGLS, AugmentedLandweber, AugmentedSteepestDescent
from .space import RecycleSpace

__all__ = ["AugmentedCGLS", "AugmentedLandweber", "AugmentedSteepestDescent", "RecycleSpace"]
