"""Persistence: SQLModel tables, database setup and the queries the other parts need.

Knows nothing of feeds, rules or notification: it stores rows and answers questions about them.
"""
