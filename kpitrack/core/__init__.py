"""The ground floor: what every layer above may use and what imports no app of kpitrack.

The engine (pure Python: achievement, formula, calendar, numbers, shape), formatting, the
optimistic lock, bulk writes and the period form. Nothing here imports `budget`, `performance` or
the web packages of `kpitrack` (an import contract in pyproject.toml holds it).
"""
