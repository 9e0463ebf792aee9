"""orbitlearn.workloads."""
