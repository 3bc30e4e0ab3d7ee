"""Snov.io integration plugin for the 42min integrations host."""

__version__ = "0.1.0"

SLUG = "snov"
"""The integration slug the host dispatches on."""

__all__ = ["SLUG", "__version__"]
