"""The event-type map (config/event_types.yml): canonical types, their polarity and aliases."""

from __future__ import annotations

from pathlib import Path

import duckdb
import yaml

from .errors import InputFileError

POLARITIES = ("trust_eroding", "trust_building", "competitive")


def _label(text: object) -> str:
    return str(text).strip(" \t").lower()


def read_event_type_map(path: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """([(event_type, polarity)], [(label, event_type)]) with every label lower-cased and trimmed.

    Each canonical type is a label of itself. A label mapped to two types is an error, as is a
    polarity outside POLARITIES (the metrics would silently ignore such a type).
    """
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise InputFileError(path.name, f"cannot be read as the event-type map ({error})") from None
    entries = (document or {}).get("event_types") if isinstance(document, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise InputFileError(path.name, "has no 'event_types' mapping of canonical types")
    types: list[tuple[str, str]] = []
    labels: dict[str, str] = {}
    for name, body in entries.items():
        event_type = _label(name)
        body = body or {}
        polarity = _label(body.get("polarity", ""))
        if polarity not in POLARITIES:
            raise InputFileError(
                path.name, f"event type '{event_type}' has polarity '{polarity}'; use one of {', '.join(POLARITIES)}"
            )
        types.append((event_type, polarity))
        for label in [event_type, *(_label(a) for a in body.get("aliases") or [])]:
            if labels.get(label, event_type) != event_type:
                raise InputFileError(
                    path.name, f"label '{label}' maps to both '{labels[label]}' and '{event_type}'"
                )
            labels[label] = event_type
    return types, sorted(labels.items())


def load_event_types(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Write raw.event_types(event_type, polarity) and raw.event_type_labels(label, event_type).

    Returns the number of canonical event types.
    """
    types, labels = read_event_type_map(Path(path))
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE OR REPLACE TABLE raw.event_types (event_type VARCHAR NOT NULL, polarity VARCHAR NOT NULL)")
        con.executemany("INSERT INTO raw.event_types VALUES (?, ?)", types)
        con.execute("CREATE OR REPLACE TABLE raw.event_type_labels (label VARCHAR NOT NULL, event_type VARCHAR NOT NULL)")
        con.executemany("INSERT INTO raw.event_type_labels VALUES (?, ?)", labels)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(types)
