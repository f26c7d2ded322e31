"""Parallel HDF5 results and checkpoints."""
