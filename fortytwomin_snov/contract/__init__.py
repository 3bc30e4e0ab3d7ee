"""What the 42min integrations host owns and every integration plugin codes against.

- :mod:`~fortytwomin_snov.contract.hookspecs`: the pluggy markers and the hook specs;
- :mod:`~fortytwomin_snov.contract.store`: the ``Store`` protocol and ``MemoryStore``;
- :mod:`~fortytwomin_snov.contract.errors`: the error tree a host catches;
- :mod:`~fortytwomin_snov.contract.models`: the integration-neutral documents (the event
  envelope, the manifest, the actor) and readable validation errors;
- :mod:`~fortytwomin_snov.contract.schemas`: the contract's published JSON Schemas (the
  booking event, the manifest, the sync outcome), read as package data.
- :mod:`~fortytwomin_snov.contract.ui_schema`: the conventions of a settings form's
  ``ui_schema`` (notices, warnings, locked rows, actions).

This package imports nothing else of ``fortytwomin_snov`` (an import-linter contract in
``pyproject.toml`` keeps it so): a plugin or a host can depend on it alone.
"""
