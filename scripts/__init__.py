"""Scripts of the repository (importable by the tests: ``from scripts import ...``)."""
