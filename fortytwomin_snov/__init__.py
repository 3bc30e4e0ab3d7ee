"""Snov.io integration plugin for the 42min integrations host."""

import logging

__version__ = "0.1.0"

# A library's logging stays silent until the application configures some: without this,
# Python's last-resort handler would print the plugin's warnings on stderr.
logging.getLogger(__name__).addHandler(logging.NullHandler())

SLUG = "snov"
"""The integration slug the host dispatches on."""

__all__ = ["SLUG", "__version__"]
