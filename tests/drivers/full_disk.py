"""Runs a job as if its output file system had 50 KiB free (where no tiny tmpfs can be
mounted): the space check before the solve must refuse it.

Usage: [mpirun -n P] python full_disk.py JOB.toml
"""
import sys

from hpcinv.cli import main
from hpcinv.core.io import hdf5

hdf5.free_bytes = lambda directory: 50 * 1024
sys.exit(main(["run", sys.argv[1]]))
