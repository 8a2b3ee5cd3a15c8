"""How one trimmed text value becomes a typed value, as SQL (contract section 1).

Every builder takes ``raw``: SQL for the trimmed field, NULL when missing. A parse expression
returns NULL both for a missing and for an invalid value; the caller tells them apart by
``raw IS NOT NULL``. Every builder also takes the SQL ``dialect`` (DuckDB unless told).
"""

from __future__ import annotations

from .dialect import DUCKDB, DuckDBDialect
from .spec import Bound, Column

# YYYY-MM-DD, optionally T/space + time, optionally an offset (none means UTC).
TIMESTAMP_PATTERN = (
    r"^(\d{4}-\d{2}-\d{2})(?:[Tt ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) ?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$"
)
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
LOCAL_TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$"


# Plain decimal: optional sign, digits with an optional '.', optional exponent. Nothing else
# (no thousands separators, currency, NaN, infinities, hex or underscores, which DuckDB's own cast accepts).
NUMBER_PATTERN = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
INTEGER_DIGITS_PATTERN = r"^[+-]?\d{1,18}$"
TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")


def _in_list(words: tuple[str, ...], dialect: DuckDBDialect) -> str:
    return ", ".join(dialect.literal(w) for w in words)


def parse_timestamp(raw: str, dialect: DuckDBDialect = DUCKDB) -> str:
    # Fast paths first (plain dates, times without offset); both are read as UTC whatever the session zone.
    return (
        f"CASE WHEN {dialect.full_match(raw, DATE_PATTERN)} "
        f"THEN {dialect.timestamp_utc(raw, TIMESTAMP_PATTERN)} "
        f"WHEN {dialect.full_match(raw, LOCAL_TIMESTAMP_PATTERN)} "
        f"THEN {dialect.timestamp_utc(raw, TIMESTAMP_PATTERN, upper=True)} "
        f"WHEN {dialect.full_match(raw, TIMESTAMP_PATTERN)} "
        f"THEN {dialect.timestamp_with_offset(raw, TIMESTAMP_PATTERN)} END"
    )


def parse_date(raw: str, dialect: DuckDBDialect = DUCKDB) -> str:
    # A timestamp is accepted and keeps its date as written (no shift to UTC).
    return (
        f"CASE WHEN {dialect.full_match(raw, DATE_PATTERN)} THEN try_cast({raw} AS DATE) "
        f"WHEN ({parse_timestamp(raw, dialect)}) IS NOT NULL THEN CAST(left({raw}, 10) AS DATE) END"
    )


def parse_decimal(raw: str, dialect: DuckDBDialect = DUCKDB) -> str:
    number = f"try_cast({raw} AS DOUBLE)"
    return (
        f"CASE WHEN {dialect.full_match(raw, NUMBER_PATTERN)} AND {dialect.is_finite(number)} "
        f"THEN {number} END"
    )


def parse_integer(raw: str, sql_type: str, dialect: DuckDBDialect = DUCKDB) -> str:
    number = parse_decimal(raw, dialect)
    # Plain digits cast exactly (no trip through DOUBLE); 12.0 or 1e3 are whole values too.
    whole = (
        f"CASE WHEN {dialect.full_match(raw, INTEGER_DIGITS_PATTERN)} THEN try_cast({raw} AS BIGINT) "
        f"WHEN {dialect.is_whole(number)} AND abs({number}) < 9.0e18 THEN CAST({number} AS BIGINT) END"
    )
    return f"try_cast(({whole}) AS {dialect.sql_type(sql_type)})"


def parse_boolean(raw: str, dialect: DuckDBDialect = DUCKDB) -> str:
    return (
        f"CASE WHEN lower({raw}) IN ({_in_list(TRUE_WORDS, dialect)}) THEN true "
        f"WHEN lower({raw}) IN ({_in_list(FALSE_WORDS, dialect)}) THEN false END"
    )


def parse_enum(raw: str, allowed: tuple[str, ...], dialect: DuckDBDialect = DUCKDB) -> str:
    return f"CASE WHEN lower({raw}) IN ({_in_list(allowed, dialect)}) THEN lower({raw}) END"


def parse_expression(
    column: Column, raw: str, event_type_lookup: str | None = None, dialect: DuckDBDialect = DUCKDB
) -> str:
    """SQL for the typed value of ``column`` (no default applied)."""
    kind = column.kind
    if kind in ("id", "text"):
        return raw
    if kind == "enum":
        return parse_enum(raw, column.allowed, dialect)
    if kind == "event_type":
        if event_type_lookup is None:
            raise ValueError("event_type columns need the event-type lookup column")
        return event_type_lookup
    if kind == "date":
        return parse_date(raw, dialect)
    if kind == "timestamp":
        return parse_timestamp(raw, dialect)
    if kind == "decimal":
        return parse_decimal(raw, dialect)
    if kind == "integer":
        return parse_integer(raw, column.output_type, dialect)
    if kind == "boolean":
        return parse_boolean(raw, dialect)
    raise ValueError(f"unknown column kind {kind!r}")


# Reason family for a value that is present but cannot be read as the column's type.
UNREADABLE_REASON: dict[str, str] = {
    "date": "bad_date",
    "timestamp": "bad_date",
    "decimal": "bad_number",
    "integer": "bad_number",
    "boolean": "bad_boolean",
    "enum": "bad_value",
    "event_type": "unknown_event_type",
}

_EXPECTED: dict[str, str] = {
    "date": "is not a date: write YYYY-MM-DD (a timestamp such as 2024-05-01T10:00:00Z is accepted too)",
    "timestamp": "is not a timestamp: write YYYY-MM-DD, optionally followed by T or a space, "
    "a time HH:MM[:SS] and an offset such as Z or +02:00",
    "decimal": "is not a plain number: use digits with an optional sign, a '.' decimal point and exponent, "
    "without thousands separators, currency signs, NaN or infinity",
    "integer": "is not a whole number: use digits such as 12 (12.0 is accepted), without thousands separators",
    "boolean": "is not a boolean: use true/false, t/f, yes/no, y/n or 1/0",
}


def unreadable_detail(
    column: Column, raw: str, event_map_name: str = "the event-type map", dialect: DuckDBDialect = DUCKDB
) -> str:
    """SQL for the sentence explaining why a present value could not be read."""
    if column.kind == "enum":
        options = ", ".join(column.allowed)
        explanation = f"is not one of: {options} (case does not matter)"
    elif column.kind == "event_type":
        explanation = (
            f"is neither a canonical event type nor an alias in {event_map_name}: "
            "correct it or add it as an alias there"
        )
    else:
        explanation = _EXPECTED[column.kind]
    literal = dialect.literal
    return f"{literal(column.name + ' ')} || {dialect.shown(raw)} || {literal(' ' + explanation + '.')}"


def _bound_sql(typed: str, bound: Bound, lower: bool) -> tuple[str, str]:
    """(SQL that holds when the bound is met, words describing the bound)."""
    op = (">=" if bound.inclusive else ">") if lower else ("<=" if bound.inclusive else "<")
    value = repr(float(bound.value)) if bound.value != int(bound.value) else str(int(bound.value))
    return f"{typed} {op} {value}", f"{op} {value}"


def range_check(column: Column, typed: str) -> tuple[str, str] | None:
    """(SQL that holds when a present value is out of range, words for the allowed range)."""
    conditions: list[str] = []
    words: list[str] = []
    for bound, lower in ((column.minimum, True), (column.maximum, False)):
        if bound is not None:
            condition, text = _bound_sql(typed, bound, lower)
            conditions.append(condition)
            words.append(text)
    if not conditions:
        return None
    return f"{typed} IS NOT NULL AND NOT ({' AND '.join(conditions)})", " and ".join(words)
