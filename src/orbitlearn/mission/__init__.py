"""orbitlearn.mission."""
