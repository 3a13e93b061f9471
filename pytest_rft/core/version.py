"""The plugin's version (one place: the package, reports and baselines read it here)."""

__version__ = "0.2.0"
