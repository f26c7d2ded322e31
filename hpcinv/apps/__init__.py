"""Applications: each domain's problem kinds, domain operators and data readers, figures,
commands and reproductions (``classic``, ``imaging``, ``galaxy``; ``synthetic`` holds what
their synthetic test problems share).  ``kinds.py`` registers every app's problem kinds."""
