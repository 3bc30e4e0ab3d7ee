"""Only ``load_schema``, for the reference host's event check, which still imports it from
here; the host is being made integration-neutral, and this module goes with that change.

The plugin's models live in :mod:`~fortytwomin_snov.credentials`,
:mod:`~fortytwomin_snov.settings.model` and :mod:`~fortytwomin_snov.outcomes`; the
schemas in :mod:`~fortytwomin_snov.schemas`.
"""

from fortytwomin_snov.schemas import load_schema

__all__ = ["load_schema"]
