"""Hook implementations: thin adapters from the host contract to the plugin's logic.

Each implementation checks the ``integration`` slug (``None`` when it is not ours),
parses its arguments, calls the domain modules and shapes the answer.
"""
