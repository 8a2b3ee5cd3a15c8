"""Confidential free text: the notes of negotiation events leave the published warehouse by default.

Notes are what people wrote about a negotiation: the most sensitive data dealscope holds. No mart,
statistic or dashboard uses them, so by default (`Settings.include_notes` false) the build file is
stripped of them just before it is published: every `notes` column of a table is set to NULL, and
the JSON copies of source rows (`raw.landing_negotiation_events._record`, the negotiation events'
`main.rejected_rows.record`) get the notes field, under its source name, replaced by a marker.
With `DEALSCOPE_INCLUDE_NOTES=true` / `--include-notes` they are published as loaded.
"""

from __future__ import annotations

import duckdb

from dealscope.ingest.sql import ident, literal
from dealscope.mapping import Mapping

NOTES_COLUMN = "notes"
NOTES_TABLE = "negotiation_events"
WITHHELD = "(withheld: notes are confidential; run with --include-notes to keep them)"


def notes_source_names(mapping: Mapping | None) -> set[str]:
    """The names the notes may carry in a source record: the contract's, and the mapped source column."""
    names = {NOTES_COLUMN}
    table = mapping.tables.get(NOTES_TABLE) if mapping is not None else None
    if table is not None:
        names |= {source.name for target, source in table.columns if target == NOTES_COLUMN}
    return {name.strip().lower() for name in names}


def withhold_notes(con: duckdb.DuckDBPyConnection, mapping: Mapping | None) -> None:
    """Blank every notes column and mask the notes inside stored source records, in the build file."""
    tables = con.execute(
        "SELECT c.table_schema, c.table_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_catalog, table_schema, table_name) "
        "WHERE t.table_type = 'BASE TABLE' AND lower(c.column_name) = ? AND c.table_catalog = current_database()",
        [NOTES_COLUMN],
    ).fetchall()
    for schema, table in tables:
        con.execute(f"UPDATE {ident(schema)}.{ident(table)} SET {ident(NOTES_COLUMN)} = NULL "
                    f"WHERE {ident(NOTES_COLUMN)} IS NOT NULL")
    names = notes_source_names(mapping)
    records = [("main", "rejected_rows", "record", f"source = {literal(NOTES_TABLE)}"),
               ("raw", f"landing_{NOTES_TABLE}", "_record", "true")]
    for schema, table, column, where in records:
        present = con.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "AND column_name = ? AND table_catalog = current_database()", [schema, table, column]).fetchone()[0]
        if not present:
            continue
        target = f"{ident(schema)}.{ident(table)}"
        # The keys as they were read (a header may say " Notes "), matched like column names are.
        keys = [key for (key,) in con.execute(
            f"SELECT DISTINCT unnest(json_keys({ident(column)})) FROM {target} "
            f"WHERE {where} AND {ident(column)} IS NOT NULL").fetchall()
            if key.strip().lower() in names]
        for key in keys:
            con.execute(
                f"UPDATE {target} SET {ident(column)} = json_merge_patch({ident(column)}, json_object(?, ?)) "
                f"WHERE {where} AND json_exists({ident(column)}, ?)",
                [key, WITHHELD, "$." + '"' + key.replace('"', '\\"') + '"'],
            )
