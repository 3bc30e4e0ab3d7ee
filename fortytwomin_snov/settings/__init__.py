"""The Snov.io settings: the saved document (:mod:`.model`), the live form (:mod:`.form`),
the checks at save time (:mod:`.review`) and the form's actions (:mod:`.actions`).

Nothing is imported here: the model is needed by modules the form itself imports
(``schemas``, ``account``), so loading the form with the package would go in a circle.
"""
