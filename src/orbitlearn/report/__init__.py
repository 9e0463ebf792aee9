"""orbitlearn.report."""
