"""Distributed linear operators over PETSc Vecs."""
from .base import MatOperator, Operator
from .dottest import dot_test

__all__ = ["MatOperator", "Operator", "dot_test"]
