"""The platform every method and application stands on, knowing none of them: job specs and
their registries, MPI/PETSc start-up, errors and their agreement across ranks, signals,
progress, HDF5 results and checkpoints, the Problem and its capabilities, SLURM scripts."""
