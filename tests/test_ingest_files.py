"""Reading the export files: CSV dialect, record numbering, Parquet, unreadable files, event-type map."""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import pytest

from dealscope.ingest import (
    TABLES,
    InputFileError,
    LoadCounts,
    load_event_types,
    load_table,
    prepare_warehouse,
)
from dealscope.settings import DEFAULT_EVENT_TYPES

LOADED_AT = datetime(2026, 1, 1, tzinfo=timezone.utc)

ACCOUNTS_HEADER = "account_id,account_name,segment,industry,region,employee_count,created_at"
MINIMAL = {
    "accounts.csv": ACCOUNTS_HEADER + "\nA1,Acme,smb,,,,2020-01-01\nA2,Beta,smb,,,,2020-01-01\n",
    "strategy_plan.csv": "effective_from,dimension,value,stance,weight\n2020-01-01,segment,smb,target,\n",
    "deals.csv": "deal_id,account_id,deal_type,product_line,created_at,closed_at,stage,list_amount,final_amount\n"
    "D1,A1,renewal,core,2021-01-01,,open,10,\n",
    "negotiation_events.csv": "event_id,account_id,deal_id,occurred_at,event_type,severity,notes\n",
}


def write_files(data_dir: Path, files: dict[str, str | bytes]) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = data_dir / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
    return data_dir


def open_warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    prepare_warehouse(con)
    load_event_types(con, DEFAULT_EVENT_TYPES)
    return con


def load(con: duckdb.DuckDBPyConnection, table: str, data_dir: Path) -> LoadCounts:
    counts = load_table(con, table, data_dir, LOADED_AT)
    assert counts.rows_read == counts.rows_loaded + counts.rows_rejected
    return counts


def load_accounts(tmp_path: Path, text: str | bytes) -> tuple[duckdb.DuckDBPyConnection, LoadCounts]:
    data_dir = write_files(tmp_path / "data", {"accounts.csv": text})
    con = open_warehouse(tmp_path)
    return con, load(con, "accounts", data_dir)


def rejects(con: duckdb.DuckDBPyConnection, source: str = "accounts") -> list[tuple[int, str, dict]]:
    rows = con.execute(
        "SELECT row_number, reason, record FROM main.rejected_rows WHERE source = ? ORDER BY row_number", [source]
    ).fetchall()
    return [(n, reason, json.loads(record)) for n, reason, record in rows]


# --- dialect -----------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_delimiter_is_detected_from_the_header(tmp_path: Path, delimiter: str) -> None:
    lines = [ACCOUNTS_HEADER, 'A1,"Acme, Inc.",smb,,,5,2020-01-01', "A2,Beta,smb,,,,2020-01-02"]
    text = "\n".join(line.replace(",", delimiter) if delimiter != "," else line for line in lines) + "\n"
    text = text.replace(f'"Acme{delimiter} Inc."', '"Acme, Inc."')
    con, counts = load_accounts(tmp_path, text)
    assert (counts.rows_read, counts.rows_loaded) == (2, 2)
    assert con.execute("SELECT account_name, employee_count FROM raw.accounts ORDER BY account_id").fetchall() == [
        ("Acme, Inc.", 5), ("Beta", None),
    ]


def test_bom_crlf_header_case_order_and_extra_columns(tmp_path: Path) -> None:
    text = (
        "\ufeff Created_At ;ACCOUNT_ID;Segment;account_name;Favourite Colour\r\n"
        "2020-01-01;A1;SMB;Acme;blue\r\n"
        "2020-01-02 ; A2 ;smb;  Beta\t;\r\n"
    )
    con, counts = load_accounts(tmp_path, text.encode("utf-8"))
    assert (counts.rows_read, counts.rows_loaded, counts.rows_rejected) == (2, 2, 0)
    assert con.execute("SELECT account_id, account_name, segment, created_at, industry FROM raw.accounts "
                       "ORDER BY 1").fetchall() == [
        ("A1", "Acme", "smb", date(2020, 1, 1), None), ("A2", "Beta", "smb", date(2020, 1, 2), None),
    ]
    # the landing table keeps every column, extra ones included, as read (untrimmed)
    assert con.execute('SELECT _row_number, "favourite colour", account_name FROM raw.landing_accounts ORDER BY 1').fetchall() == [
        (1, "blue", "Acme"), (2, "", "  Beta\t"),
    ]


def test_quoted_line_breaks_and_blank_lines_do_not_start_records(tmp_path: Path) -> None:
    text = (
        ACCOUNTS_HEADER + "\r\n"
        'A1,"Acme\r\nHoldings ""North""",smb,,,,2020-01-01\r\n'
        "\r\n"
        "   \n"
        "A2,Beta,smb,,,,not-a-date\n"
        "\n"
        'A3,"multi\n\nline",smb,,,,2020-01-01\n'
        "A4,Delta,smb,,,,2020-13-01"
    )
    con, counts = load_accounts(tmp_path, text)
    assert (counts.rows_read, counts.rows_loaded, counts.rows_rejected) == (4, 2, 2)
    assert [r[:2] for r in rejects(con)] == [(2, "bad_date:created_at"), (4, "bad_date:created_at")]
    assert con.execute("SELECT account_name, _row_number FROM raw.accounts ORDER BY 2").fetchall() == [
        ('Acme\r\nHoldings "North"', 1), ("multi\n\nline", 3),
    ]


def test_rows_with_too_many_or_too_few_fields_are_malformed(tmp_path: Path) -> None:
    text = (
        "account_id,account_name,segment,created_at\n"
        "A1,Acme,smb,2020-01-01\n"
        "A2,Beta,Inc.,smb,2020-01-01\n"   # unquoted comma: one field too many
        "A3,Gamma,smb\n"                  # one field short
        "A4,Delta,smb,2020-01-01,\n"      # trailing delimiter is an extra (empty) field
        'A5,"Eps\nilon",smb,2020-01-01,x,y,z,w,v,u,t,s\n'  # many extra fields, after a quoted line break
        "A6,Zeta,smb,2020-01-01\n"
    )
    con, counts = load_accounts(tmp_path, text)
    assert (counts.rows_read, counts.rows_loaded, counts.rows_rejected) == (6, 2, 4)
    found = rejects(con)
    assert [r[:2] for r in found] == [(n, "malformed_row") for n in (2, 3, 4, 5)]
    assert found[0][2] == {"account_id": "A2", "account_name": "Beta", "segment": "Inc.", "created_at": "smb",
                           "_extra_fields": ["2020-01-01"]}
    assert found[1][2] == {"account_id": "A3", "account_name": "Gamma", "segment": "smb", "created_at": None}
    assert found[2][2]["_extra_fields"] == [""]
    assert found[3][2]["_extra_fields"] == ["x", "y", "z", "w", "v", "u", "t", "s"]
    detail = con.execute("SELECT detail FROM main.rejected_rows WHERE row_number = 3").fetchone()[0]
    assert detail.startswith("The record has 3 fields but the header has 4")
    assert con.execute("SELECT account_id FROM raw.accounts ORDER BY 1").fetchall() == [("A1",), ("A6",)]


def test_quoted_empty_field_is_missing(tmp_path: Path) -> None:
    con, _ = load_accounts(tmp_path, ACCOUNTS_HEADER + '\n"","Acme",smb,"","",""," 2020-01-01 "\n')
    assert [r[:2] for r in rejects(con)] == [(1, "missing_required:account_id")]


def test_parquet_input_is_cast_to_text_and_validated_the_same_way(tmp_path: Path) -> None:
    data_dir = write_files(tmp_path / "data", {k: v for k, v in MINIMAL.items() if k != "deals.csv"})
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT * FROM (VALUES
              ('D1', 'A1', 'Renewal', 'core', DATE '2021-01-01', DATE '2021-02-01', 'won', 10.5::DOUBLE, 9::INTEGER,
               true, TIMESTAMPTZ '2021-02-01 10:00:00+02'),
              ('D2', 'A1', 'renewal', 'core', DATE '2021-01-01', NULL, 'open', -1.0, NULL, NULL, NULL),
              ('D3', 'A9', 'renewal', 'core', DATE '2021-01-01', NULL, 'open', 1e20, NULL, false, NULL))
            AS t(deal_id, account_id, deal_type, product_line, created_at, closed_at, stage, list_amount,
                 final_amount, flagged_strategic, updated_at))
           TO '{data_dir / "deals.parquet"}' (FORMAT parquet)"""
    )
    con.close()
    con = open_warehouse(tmp_path)
    counts = {t: load(con, t, data_dir) for t in TABLES}
    assert counts["deals"] == LoadCounts("deals", "deals.parquet", True, 3, 1, 2)
    assert [r[:2] for r in rejects(con, "deals")] == [(2, "bad_value:list_amount"), (3, "unknown_account")]
    row = con.execute("SELECT deal_type, list_amount, final_amount, flagged_strategic, updated_at FROM raw.deals").fetchone()
    assert row[:4] == ("renewal", 10.5, 9.0, True)
    assert row[4] == datetime(2021, 2, 1, 8, 0, tzinfo=timezone.utc)


# --- files that cannot be used ----------------------------------------------------------------


def test_absent_required_file_raises_naming_it(tmp_path: Path) -> None:
    data_dir = write_files(tmp_path / "data", {"accounts.csv": MINIMAL["accounts.csv"]})
    con = open_warehouse(tmp_path)
    load(con, "accounts", data_dir)
    with pytest.raises(InputFileError, match=r"^deals\.csv: required file is missing"):
        load_table(con, "deals", data_dir, LOADED_AT)
    assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'deals'").fetchone() == (0,)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", r"is empty \(0 bytes\)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r"not (a CSV text file|UTF-8)"),
        (b"account_id,account_name\xff,segment,created_at\n", r"is not UTF-8"),
        ((ACCOUNTS_HEADER + "\nA1,Caf\xe9,smb,,,,2020-01-01\n").encode("latin-1"), r"is not UTF-8"),
        (ACCOUNTS_HEADER.encode("utf-16"), r"is not UTF-8"),
        (b"account_id,account_name,segment\nA1,Acme,smb\n", r"missing required column created_at"),
        (b"just some text\n", r"missing required columns account_id, account_name, segment, created_at"),
        (b"account_id,Account_ID,account_name,segment,created_at\n", r"column 'account_id' appears more than once"),
    ],
    ids=["empty", "binary", "header-not-utf8", "row-not-utf8", "utf16", "missing-column", "not-csv", "duplicate-column"],
)
def test_unreadable_file_raises_naming_file_and_problem(tmp_path: Path, content: bytes, problem: str) -> None:
    data_dir = write_files(tmp_path / "data", {"accounts.csv": content})
    con = open_warehouse(tmp_path)
    with pytest.raises(InputFileError, match=r"^accounts\.csv: .*" + problem):
        load_table(con, "accounts", data_dir, LOADED_AT)


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 1 << 20])
def test_utf8_check_names_the_line_whatever_the_chunks(tmp_path: Path, chunk_size: int) -> None:
    from dealscope.ingest.reader import SourceFile, check_utf8

    path = tmp_path / "accounts.csv"
    text = (ACCOUNTS_HEADER + "\nA1,Café 😀 €,smb,,,,2020-01-01\n").encode()
    path.write_bytes(text)
    check_utf8(SourceFile(path, "csv"), chunk_size)  # characters of 2-4 bytes, split anywhere
    for broken, line in [(b"A2,\xff,smb\n", 3), (b"A2,Caf\xe9\nA3", 3), (b"\nA3,x\xe2\x82", 4)]:
        path.write_bytes(text + broken)
        with pytest.raises(InputFileError, match=rf"^accounts\.csv: is not UTF-8 text \(line {line} "):
            check_utf8(SourceFile(path, "csv"), chunk_size)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can read any file")
def test_file_without_read_permission_raises(tmp_path: Path) -> None:
    data_dir = write_files(tmp_path / "data", {"accounts.csv": MINIMAL["accounts.csv"]})
    (data_dir / "accounts.csv").chmod(0)
    con = open_warehouse(tmp_path)
    with pytest.raises(InputFileError, match=r"^accounts\.csv: cannot be read: no permission"):
        load_table(con, "accounts", data_dir, LOADED_AT)


def test_path_that_is_not_a_file_raises(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "accounts.csv").mkdir(parents=True)
    con = open_warehouse(tmp_path)
    with pytest.raises(InputFileError, match=r"^accounts\.csv: is not a regular file"):
        load_table(con, "accounts", data_dir, LOADED_AT)


def test_both_csv_and_parquet_present_is_ambiguous(tmp_path: Path) -> None:
    data_dir = write_files(tmp_path / "data", {"accounts.csv": MINIMAL["accounts.csv"], "accounts.parquet": b"PAR1"})
    con = open_warehouse(tmp_path)
    with pytest.raises(InputFileError, match="both accounts.csv and accounts.parquet"):
        load_table(con, "accounts", data_dir, LOADED_AT)


def test_corrupt_parquet_raises(tmp_path: Path) -> None:
    data_dir = write_files(tmp_path / "data", {"accounts.parquet": b"PAR1 this is not parquet PAR1"})
    con = open_warehouse(tmp_path)
    with pytest.raises(InputFileError, match=r"^accounts\.parquet: is not a readable Parquet file"):
        load_table(con, "accounts", data_dir, LOADED_AT)


def test_failed_load_keeps_the_previous_state(tmp_path: Path) -> None:
    data_dir = write_files(tmp_path / "data", {"accounts.csv": ACCOUNTS_HEADER + "\nA1,Acme,smb,,,,2020-01-01\nA1,x,smb,,,,x\n"})
    con = open_warehouse(tmp_path)
    load(con, "accounts", data_dir)
    # invalid UTF-8 far into the file is only found while reading: the transaction is rolled back
    write_files(data_dir, {"accounts.csv": (ACCOUNTS_HEADER + "\nA2,B,smb,,,,2020-01-01\n").encode() + b"A3,\xff,smb,,,,2020-01-01\n"})
    with pytest.raises(InputFileError, match=r"^accounts\.csv: is not UTF-8"):
        load_table(con, "accounts", data_dir, LOADED_AT)
    assert con.execute("SELECT account_id FROM raw.accounts").fetchall() == [("A1",)]
    assert con.execute("SELECT count(*) FROM raw.landing_accounts").fetchone() == (2,)
    assert con.execute("SELECT row_number, reason FROM main.rejected_rows").fetchall() == [(2, "bad_date:created_at")]
    assert con.execute("SELECT rows_read FROM raw.load_summary").fetchall() == [(2,)]


def test_optional_file_absent_gives_an_empty_table(tmp_path: Path) -> None:
    data_dir = write_files(tmp_path / "data", MINIMAL)
    con = open_warehouse(tmp_path)
    counts = {t: load(con, t, data_dir) for t in TABLES}
    assert counts["account_revenue"] == LoadCounts("account_revenue", None, False, 0, 0, 0)
    assert con.execute("SELECT count(*) FROM raw.account_revenue").fetchone() == (0,)
    assert [c[0] for c in con.execute("DESCRIBE raw.account_revenue").fetchall()][:4] == [
        "account_id", "month", "revenue", "gross_margin",
    ]
    assert con.execute("SELECT file_present FROM raw.load_summary WHERE source = 'account_revenue'").fetchone() == (False,)


def test_header_only_files_are_empty_tables_and_optional_columns_may_be_absent(tmp_path: Path) -> None:
    data_dir = write_files(tmp_path / "data", dict(MINIMAL, **{"account_revenue.csv": "account_id,month,revenue,gross_margin"}))
    con = open_warehouse(tmp_path)
    counts = {t: load(con, t, data_dir) for t in TABLES}
    assert counts["negotiation_events"] == LoadCounts("negotiation_events", "negotiation_events.csv", True, 0, 0, 0)
    assert counts["account_revenue"] == LoadCounts("account_revenue", "account_revenue.csv", True, 0, 0, 0)
    # deals.csv had no gross_margin_pct, flagged_strategic, updated_at...: all missing, defaults applied
    assert con.execute("SELECT gross_margin_pct, flagged_strategic, updated_at FROM raw.deals").fetchall() == [
        (None, False, None)
    ]


# --- event-type map ---------------------------------------------------------------------------


def test_event_type_map_loads_types_and_aliases(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert load_event_types(con, DEFAULT_EVENT_TYPES) == 12
    assert con.execute("SELECT polarity, count(*) FROM raw.event_types GROUP BY 1 ORDER BY 1").fetchall() == [
        ("competitive", 1), ("trust_building", 5), ("trust_eroding", 6),
    ]
    assert con.execute("SELECT event_type FROM raw.event_type_labels WHERE label = 'dual sourcing'").fetchone() == (
        "second_source_added",
    )


def test_user_extended_event_type_map_is_used(tmp_path: Path) -> None:
    extended = tmp_path / "event_types.yml"
    extended.write_text(
        DEFAULT_EVENT_TYPES.read_text()
        + "  pilot_extended:\n    polarity: trust_building\n    aliases: [\"Pilot Extension\"]\n"
    )
    data_dir = write_files(tmp_path / "data", dict(MINIMAL, **{
        "negotiation_events.csv": "event_id,account_id,deal_id,occurred_at,event_type\n"
        "E1,A1,D1,2021-01-05, pilot extension \nE2,A1,,2021-01-05,Coffee\n",
    }))
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    prepare_warehouse(con)
    load_event_types(con, extended)
    counts = {t: load(con, t, data_dir) for t in TABLES}
    assert counts["negotiation_events"].rows_loaded == 1
    assert con.execute("SELECT event_type, event_label, severity FROM raw.negotiation_events").fetchall() == [
        ("pilot_extended", "pilot extension", 1)
    ]
    assert [r[:2] for r in rejects(con, "negotiation_events")] == [(2, "unknown_event_type")]


@pytest.mark.parametrize(
    ("yaml_text", "problem"),
    [
        ("event_types:\n  a:\n    polarity: friendly\n", "polarity 'friendly'"),
        ("event_types:\n  a:\n    polarity: competitive\n    aliases: [x]\n  b:\n    polarity: competitive\n"
         "    aliases: [X]\n", "label 'x' maps to both 'a' and 'b'"),
        ("something_else: 1\n", "no 'event_types' mapping"),
    ],
)
def test_bad_event_type_map_raises(tmp_path: Path, yaml_text: str, problem: str) -> None:
    path = tmp_path / "event_types.yml"
    path.write_text(yaml_text)
    with pytest.raises(InputFileError, match=f"^event_types.yml: .*{problem}"):
        load_event_types(duckdb.connect(), path)


def test_loading_out_of_order_is_refused(tmp_path: Path) -> None:
    data_dir = write_files(tmp_path / "data", MINIMAL)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    with pytest.raises(RuntimeError, match="raw.accounts"):
        load_table(con, "deals", data_dir, LOADED_AT)
