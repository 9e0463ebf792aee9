"""orbitlearn.healing."""
