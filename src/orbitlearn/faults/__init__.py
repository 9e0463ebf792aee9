"""orbitlearn.faults."""
