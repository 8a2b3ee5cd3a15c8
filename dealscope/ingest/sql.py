"""Small helpers for writing SQL text safely."""

from __future__ import annotations


def ident(name: str) -> str:
    """A quoted DuckDB identifier (column names come from users' files)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def shown(expr: str, limit: int = 80, quote: str = "''''") -> str:
    """SQL text for a value quoted in a detail sentence, shortened so details stay readable.

    ``quote``: the SQL literal of one quote character in the dialect rendering (dialect.py).
    """
    return (
        f"{quote} || CASE WHEN length({expr}) > {limit} THEN left({expr}, {limit}) || '...' "
        f"ELSE {expr} END || {quote}"
    )
