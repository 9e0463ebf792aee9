"""orbitlearn.onboard."""
