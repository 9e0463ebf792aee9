"""``python -m orbitlearn`` runs the command line."""

from orbitlearn.cli import main

if __name__ == "__main__":
    main()
