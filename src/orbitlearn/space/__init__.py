"""orbitlearn.space."""
