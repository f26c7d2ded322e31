"""Decompositions of distributed operators: Golub-Kahan bidiagonalisation, SVDs by SLEPc or
randomized (Halko), the GSVD of a pair, and leading eigenvectors by SLEPc's EPS."""
