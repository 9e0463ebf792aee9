"""orbitlearn.federation."""
