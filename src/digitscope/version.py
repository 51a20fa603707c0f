"""The package version, in a module of its own so that no module imports the top package for it."""

__version__ = "0.1.0"
