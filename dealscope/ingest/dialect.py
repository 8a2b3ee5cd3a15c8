"""The few SQL constructs the validation writes differently for DuckDB and for Spark SQL.

The checks themselves are declared once (spec.py) and rendered once (values.py, validate.py);
a dialect only spells quoting, types, regular expressions, timestamp parsing and a handful of
functions. ``DUCKDB`` renders exactly the SQL the DuckDB loader has always run.
"""

from __future__ import annotations

from .sql import ident as duckdb_ident
from .sql import literal as duckdb_literal
from .sql import shown as duckdb_shown


def _text_end_anchored(pattern: str) -> str:
    """A pattern ending in '$' for Java's regex engine: its '$' also matches before a final line break,
    '\\z' only at the end of the text (as '$' in RE2, DuckDB's engine)."""
    return pattern[:-1] + r"\z" if pattern.endswith("$") else pattern


class DuckDBDialect:
    name = "duckdb"

    def ident(self, name: str) -> str:
        return duckdb_ident(name)

    def literal(self, text: str) -> str:
        return duckdb_literal(text)

    def shown(self, expr: str, limit: int = 80) -> str:
        return duckdb_shown(expr, limit, quote=self.literal("'"))

    def sql_type(self, duckdb_type: str) -> str:
        """The dialect's name of a type written in DuckDB's terms (spec.SQL_TYPES)."""
        return duckdb_type

    def relation(self, schema: str, table: str) -> str:
        """A table of the warehouse: raw.<table>, main.rejected_rows."""
        return f"{schema}.{self.ident(table)}"

    def create_temp(self, name: str) -> str:
        return f"CREATE OR REPLACE TEMP TABLE {name} AS"

    def trim_blanks(self, expr: str) -> str:
        return f"trim({expr}, ' ' || chr(9))"

    def full_match(self, expr: str, pattern: str) -> str:
        return f"regexp_full_match({expr}, {self.literal(pattern)})"

    def is_finite(self, expr: str) -> str:
        return f"isfinite({expr})"

    def is_whole(self, expr: str) -> str:
        return f"({expr}) = trunc({expr})"

    def list_length(self, expr: str) -> str:
        return f"len({expr})"

    def arg_min(self, value: str, order: tuple[str, ...]) -> str:
        return f"arg_min({value}, ({', '.join(order)}))"

    def timestamp_utc(self, raw: str, pattern: str, upper: bool = False) -> str:
        """A timestamp written without offset, read as UTC whatever the session's time zone.

        ``pattern``: the full timestamp pattern, for a dialect that reads every form through it."""
        text = f"upper({raw})" if upper else raw
        return f"timezone('UTC', try_cast({text} AS TIMESTAMP))"

    def timestamp_with_offset(self, raw: str, pattern: str) -> str:
        """A timestamp matching ``pattern`` (groups: day, time, offset; no offset means UTC)."""
        parts = f"regexp_extract({raw}, {self.literal(pattern)}, ['day', 'time', 'offset'])"
        offset = f"CASE WHEN upper({parts}.offset) IN ('', 'Z') THEN '+00:00' ELSE {parts}.offset END"
        normalised = f"{parts}.day || ' ' || coalesce(nullif({parts}.time, ''), '00:00:00') || {offset}"
        return f"try_cast({normalised} AS TIMESTAMPTZ)"

    def record_json(self, pairs: list[tuple[str, str]], extra_fields: str) -> str:
        """The record as read: {key: field text}, plus '_extra_fields' when the record had more."""
        listed = ", ".join(f"{self.literal(k)}, {v}" for k, v in pairs)
        return (
            f"CAST(CASE WHEN len({extra_fields}) > 0 THEN json_object({listed}, '_extra_fields', {extra_fields}) "
            f"ELSE json_object({listed}) END AS VARCHAR)"
        )


class SparkDialect(DuckDBDialect):
    """Spark SQL 4 (ANSI mode on, as by default): backquoted names, backslash-escaped literals."""

    name = "spark"
    _TYPES = {"VARCHAR": "STRING", "TIMESTAMPTZ": "TIMESTAMP"}

    def ident(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def literal(self, text: str) -> str:
        # Spark joins adjacent literals ('a''b' is 'ab'): quotes and backslashes are escaped instead.
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def sql_type(self, duckdb_type: str) -> str:
        return self._TYPES.get(duckdb_type, duckdb_type)

    def relation(self, schema: str, table: str) -> str:
        # Temporary views of one session: no schemas, so the schema becomes part of the name.
        return self.ident(f"{schema}__{table}")

    def create_temp(self, name: str) -> str:
        return f"CREATE OR REPLACE TEMP VIEW {name} AS"

    def trim_blanks(self, expr: str) -> str:
        return f"btrim({expr}, ' ' || chr(9))"

    def full_match(self, expr: str, pattern: str) -> str:
        return f"({expr} RLIKE {self.literal(_text_end_anchored(pattern))})"

    def is_finite(self, expr: str) -> str:
        return f"(abs({expr}) < CAST('Infinity' AS DOUBLE))"

    def is_whole(self, expr: str) -> str:
        return f"({expr}) % 1 = 0"

    def list_length(self, expr: str) -> str:
        return f"size({expr})"

    def arg_min(self, value: str, order: tuple[str, ...]) -> str:
        return f"min_by({value}, struct({', '.join(order)}))"

    def timestamp_utc(self, raw: str, pattern: str, upper: bool = False) -> str:
        # Spark's cast would read a timestamp without offset in the session's zone: UTC is written out.
        return self.timestamp_with_offset(raw, pattern)

    def timestamp_with_offset(self, raw: str, pattern: str) -> str:
        # Spark's cast wants seconds and a +hh:mm or +hhmm offset: '10:00Z' is written '10:00:00+00:00'.
        pattern = self.literal(_text_end_anchored(pattern))
        day, time, offset = (f"regexp_extract({raw}, {pattern}, {i})" for i in (1, 2, 3))
        clock = f"CASE WHEN {time} = '' THEN '00:00:00' WHEN length({time}) = 5 THEN {time} || ':00' ELSE {time} END"
        zone = (
            f"CASE WHEN upper({offset}) IN ('', 'Z') THEN '+00:00' "
            f"WHEN length({offset}) = 3 THEN {offset} || ':00' ELSE {offset} END"
        )
        return f"try_cast({day} || ' ' || {clock} || {zone} AS TIMESTAMP)"

    def record_json(self, pairs: list[tuple[str, str]], extra_fields: str) -> str:
        listed = ", ".join(f"{self.literal(k)}, {v}" for k, v in pairs)
        keep_nulls = "map('ignoreNullFields', 'false')"
        return (
            f"CASE WHEN size({extra_fields}) > 0 THEN to_json(named_struct({listed}, '_extra_fields', {extra_fields}), "
            f"{keep_nulls}) ELSE to_json(named_struct({listed}), {keep_nulls}) END"
        )


DUCKDB = DuckDBDialect()
SPARK = SparkDialect()
