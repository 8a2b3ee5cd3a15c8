"""Property-based tests of the loader: generated exports of random valid and invalid rows.

Whatever the rows, every source record ends in exactly one place: a clean raw table (deals: the
latest row or its history) or main.rejected_rows with a reason code that docs/rejection_reasons.md
defines, naming a column of the table. Rows generated valid, with a key that does not repeat, load.
The real loader (dealscope.ingest.load_table) runs on real CSV files in a real DuckDB database.
"""

from __future__ import annotations

import csv
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dealscope.ingest import SPECS, load_event_types, load_table, prepare_warehouse
from dealscope.settings import DEFAULT_EVENT_TYPES

REASONS_DOC = Path(__file__).resolve().parents[1] / "docs" / "rejection_reasons.md"
LOADED_AT = datetime(2026, 1, 1, tzinfo=timezone.utc)


def documented_reasons() -> set[str]:
    """The codes of the reasons table: `code` or `code:<column>` -> code."""
    codes = set()
    for line in REASONS_DOC.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*`([a-z_]+)(:<column>)?`\s*\|", line)
        if match:
            codes.add(match.group(1))
    return codes


DOCUMENTED = documented_reasons()

# Values drawn per column: (text, valid?). Text fields include what CSV makes hard: quotes, commas,
# line breaks, emoji, surrounding spaces.
TEXT = st.one_of(st.sampled_from(["Acme", ' "Quoted", Inc ', "line\nbreak", "Zürich 🚀", "a,b"]),
                 st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1,
                         max_size=12).filter(lambda value: value.strip() != ""))
ID_POOL = [f"A{i}" for i in range(8)]


def column(valid: list[str], invalid: list[str]) -> st.SearchStrategy[tuple[str, bool]]:
    """A valid value about 9 times in 10, so that many generated rows are wholly valid."""
    return st.tuples(st.integers(0, 9), st.sampled_from(valid), st.sampled_from(invalid)).map(
        lambda drawn: (drawn[1], True) if drawn[0] else (drawn[2], False))


ACCOUNT_FIELDS = {
    "account_id": column(ID_POOL, ["", "  "]),
    "account_name": st.tuples(st.integers(0, 9), TEXT).map(lambda d: (d[1], True) if d[0] else ("", False)),
    "segment": column(["enterprise", "MID_MARKET", " smb "], ["", "large", "smb2"]),
    "industry": st.one_of(TEXT, st.just("")).map(lambda v: (v, True)),
    "region": st.sampled_from(["emea", "", "NA"]).map(lambda v: (v, True)),
    "employee_count": column(["", "0", "120", "12.0", "1e3"], ["-5", "12.5", "1,000", "NaN", "many"]),
    "created_at": column(["2021-03-04", "2020-12-31T10:00:00Z", "2022-01-01 08:00"],
                         ["", "2021-02-30", "20210101", "04/03/2021"]),
}
DEAL_FIELDS = {
    "deal_id": column([f"D{i}" for i in range(10)], [""]),
    "account_id": column(ID_POOL, ["", "NOPE"]),
    "deal_type": column(["new_business", "Expansion", "renewal"], ["", "upsell"]),
    "product_line": st.tuples(st.integers(0, 9), TEXT).map(lambda d: (d[1], True) if d[0] else ("", False)),
    "created_at": column(["2021-01-01", "2021-06-30"], ["", "2021-13-01"]),
    "closed_at": column(["", "2021-07-01", "2022-01-15"], ["2020-01-01", "not a date"]),
    "stage": column(["won", "LOST", "open"], ["", "pending"]),
    "list_amount": column(["", "100", "2500.50"], ["-1", "$100", "1,000"]),
    "final_amount": column(["", "0", "90", "2000"], ["-3", "inf"]),
    "gross_margin_pct": column(["", "0.3", "-0.2", "1"], ["1.5", "30%"]),
    "competitor": st.sampled_from(["", "Rival"]).map(lambda v: (v, True)),
    "loss_reason": st.sampled_from(["", "price"]).map(lambda v: (v, True)),
    "flagged_strategic": column(["", "true", "N", "1"], ["maybe"]),
    "owner": st.sampled_from(["", "ann"]).map(lambda v: (v, True)),
    "owner_team": st.just(("", True)),
    "owner_manager": st.just(("", True)),
    "owner_office": st.just(("", True)),
    "updated_at": column(["", "2021-07-02T09:00:00+02:00", "2021-08-01"], ["yesterday"]),
}


def rows_of(fields: dict[str, st.SearchStrategy]) -> st.SearchStrategy[list[dict]]:
    """Rows of (value, valid) per column; a few malformed rows (a field too many or too few)."""
    row = st.fixed_dictionaries(fields)
    shape = st.sampled_from(["ok"] * 18 + ["extra", "short"])
    return st.lists(st.tuples(row, shape), min_size=1, max_size=25)


def write_csv(path: Path, header: list[str], rows: list[tuple[dict, str]]) -> list[list[str]]:
    records = []
    for values, shape in rows:
        fields = [values[name][0] for name in header]
        if shape == "extra":
            fields.append("surplus")
        elif shape == "short":
            fields = fields[:-2]
        records.append(fields)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(header)
        writer.writerows(records)
    return records


def placement(con: duckdb.DuckDBPyConnection, table: str) -> tuple[list[int], list[tuple]]:
    clean = [f"SELECT _row_number FROM raw.{table}"]
    if table == "deals":
        clean.append("SELECT _row_number FROM raw.deals_history")
    loaded = sorted(row[0] for row in con.execute(" UNION ALL ".join(clean)).fetchall())
    rejected = con.execute(
        "SELECT row_number, reason, detail FROM main.rejected_rows WHERE source = ? ORDER BY row_number", [table]
    ).fetchall()
    return loaded, rejected


def assert_every_row_placed(con, table: str, records: list[list[str]], counts) -> list[tuple]:
    loaded, rejected = placement(con, table)
    rejected_numbers = [number for number, *_ in rejected]
    assert counts.rows_read == len(records)
    assert counts.rows_loaded == len(loaded) and counts.rows_rejected == len(rejected)
    assert counts.rows_read == counts.rows_loaded + counts.rows_rejected
    # exactly one place per record: no row twice, none lost
    assert sorted(loaded + rejected_numbers) == list(range(1, len(records) + 1))
    columns = {c.name for c in SPECS[table].columns}
    for number, reason, detail in rejected:
        code, _, named = reason.partition(":")
        assert code in DOCUMENTED, f"row {number}: reason {reason!r} is not in docs/rejection_reasons.md"
        assert not named or named in columns, f"row {number}: {reason!r} names no column of {table}"
        assert detail and detail.strip()
    return rejected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(accounts=rows_of(ACCOUNT_FIELDS), deals=rows_of(DEAL_FIELDS))
def test_every_generated_row_is_loaded_or_rejected_with_a_documented_reason(accounts, deals):
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        account_records = write_csv(data_dir / "accounts.csv", list(ACCOUNT_FIELDS), accounts)
        deal_records = write_csv(data_dir / "deals.csv", list(DEAL_FIELDS), deals)
        con = duckdb.connect()
        try:
            prepare_warehouse(con)
            load_event_types(con, DEFAULT_EVENT_TYPES)
            account_counts = load_table(con, "accounts", data_dir, LOADED_AT)
            rejected = assert_every_row_placed(con, "accounts", account_records, account_counts)
            deal_counts = load_table(con, "deals", data_dir, LOADED_AT)
            assert_every_row_placed(con, "deals", deal_records, deal_counts)
            reasons = {r for (r,) in con.execute("SELECT DISTINCT reason FROM main.rejected_rows").fetchall()}
        finally:
            con.close()
    for counts in (account_counts, deal_counts):
        event(f"{counts.source}: {'some' if counts.rows_loaded else 'no'} rows loaded, "
              f"{'some' if counts.rows_rejected else 'no'} rejected")
    for reason in reasons:
        event(f"reason {reason}")

    # The oracle for accounts: a row generated valid whose id is not repeated loads.
    id_count: dict[str, int] = {}
    for values, shape in accounts:
        key = values["account_id"][0].strip()
        id_count[key] = id_count.get(key, 0) + 1
    rejected_numbers = {number for number, *_ in rejected}
    for number, (values, shape) in enumerate(accounts, start=1):
        valid = shape == "ok" and all(ok for _, ok in values.values())
        if valid and id_count[values["account_id"][0].strip()] == 1:
            assert number not in rejected_numbers, f"valid account row {number} {values} was rejected"
