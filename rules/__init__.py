"""The rule language: schema of a rule file, the YAML loader with file:line errors, and the engine.

Knows nothing of HTTP, feeds or the database: it takes typed events and returns decisions.
"""
