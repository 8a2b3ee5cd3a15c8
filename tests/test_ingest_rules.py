"""Contract rules (sections 1-2): every bad row lands once in rejected_rows with the right reason.

Each case loads a small valid export plus one bad row into a real DuckDB file and checks the
bad row's reason, that nothing else was rejected, and rows_read == loaded + rejected everywhere.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import pytest

from dealscope.ingest import TABLES, LoadCounts, load_event_types, load_table, prepare_warehouse
from dealscope.settings import DEFAULT_EVENT_TYPES

LOADED_AT = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)

COLUMNS = {
    "accounts": ["account_id", "account_name", "segment", "industry", "region", "employee_count", "created_at"],
    "strategy_plan": ["effective_from", "dimension", "value", "stance", "weight"],
    "deals": [
        "deal_id", "account_id", "deal_type", "product_line", "created_at", "closed_at", "stage", "list_amount",
        "final_amount", "gross_margin_pct", "competitor", "loss_reason", "flagged_strategic", "owner", "updated_at",
    ],
    "negotiation_events": ["event_id", "account_id", "deal_id", "occurred_at", "event_type", "severity", "notes"],
    "account_revenue": ["account_id", "month", "revenue", "gross_margin"],
}

# A valid row of each table; cases override a few fields.
VALID_ROW = {
    "accounts": dict(account_id="A9", account_name="Nine", segment="smb", industry="retail", region="eu",
                     employee_count="10", created_at="2020-01-01"),
    "strategy_plan": dict(effective_from="2021-01-01", dimension="region", value="apac", stance="avoid", weight=""),
    "deals": dict(deal_id="D9", account_id="A1", deal_type="renewal", product_line="core", created_at="2021-03-01",
                  closed_at="2021-04-01", stage="won", list_amount="100", final_amount="90", gross_margin_pct="0.4",
                  competitor="", loss_reason="", flagged_strategic="", owner="kim", updated_at=""),
    "negotiation_events": dict(event_id="E9", account_id="A1", deal_id="D1", occurred_at="2021-03-05",
                               event_type="joint_planning", severity="", notes=""),
    "account_revenue": dict(account_id="A1", month="2021-05-01", revenue="10", gross_margin="-2"),
}


def base_export() -> dict[str, list[dict[str, str]]]:
    """A small export where every row is valid."""
    return {
        "accounts": [
            dict(VALID_ROW["accounts"], account_id="A1", segment="enterprise"),
            dict(VALID_ROW["accounts"], account_id="A2"),
        ],
        "strategy_plan": [dict(effective_from="2020-01-01", dimension="segment", value="SMB", stance="target",
                               weight="2")],
        "deals": [
            dict(VALID_ROW["deals"], deal_id="D1"),
            dict(VALID_ROW["deals"], deal_id="D2", account_id="A2", stage="lost", final_amount="",
                 loss_reason="price"),
        ],
        "negotiation_events": [dict(VALID_ROW["negotiation_events"], event_id="E1")],
        "account_revenue": [dict(VALID_ROW["account_revenue"], month="2021-04-01")],
    }


def csv_text(columns: list[str], rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_export(data_dir: Path, export: dict[str, list[dict[str, str]]]) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    for table, rows in export.items():
        (data_dir / f"{table}.csv").write_text(csv_text(COLUMNS[table], rows), encoding="utf-8")


def load_export(tmp_path: Path, export: dict[str, list[dict[str, str]]]) -> tuple[duckdb.DuckDBPyConnection, dict[str, LoadCounts]]:
    write_export(tmp_path / "data", export)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    prepare_warehouse(con)
    load_event_types(con, DEFAULT_EVENT_TYPES)
    counts = {t: load_table(con, t, tmp_path / "data", LOADED_AT) for t in TABLES}
    for c in counts.values():
        assert c.rows_read == c.rows_loaded + c.rows_rejected
    return con, counts


def rejected(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple[int, str]]:
    return con.execute(
        "SELECT row_number, reason FROM main.rejected_rows WHERE source = ? ORDER BY row_number", [source]
    ).fetchall()


def test_valid_export_loads_everything(tmp_path: Path) -> None:
    con, counts = load_export(tmp_path, base_export())
    assert {t: (c.rows_read, c.rows_loaded, c.rows_rejected) for t, c in counts.items()} == {
        "accounts": (2, 2, 0), "strategy_plan": (1, 1, 0), "deals": (2, 2, 0),
        "negotiation_events": (1, 1, 0), "account_revenue": (1, 1, 0),
    }
    summary = con.execute("SELECT source, rows_read, rows_loaded, rows_rejected FROM raw.load_summary").fetchall()
    assert sorted(summary) == sorted((t, c.rows_read, c.rows_loaded, c.rows_rejected) for t, c in counts.items())
    assert con.execute("SELECT count(*) FROM main.rejected_rows").fetchone() == (0,)


CASES = [
    # accounts
    ("accounts", dict(account_id=""), "missing_required:account_id"),
    ("accounts", dict(account_name="  \t "), "missing_required:account_name"),
    ("accounts", dict(segment=""), "missing_required:segment"),
    ("accounts", dict(created_at=""), "missing_required:created_at"),
    ("accounts", dict(segment="huge"), "bad_value:segment"),
    ("accounts", dict(employee_count="-1"), "bad_value:employee_count"),
    ("accounts", dict(employee_count="12.5"), "bad_number:employee_count"),
    ("accounts", dict(employee_count="1,000"), "bad_number:employee_count"),
    ("accounts", dict(created_at="20200101"), "bad_date:created_at"),
    ("accounts", dict(created_at="2020-02-30"), "bad_date:created_at"),
    ("accounts", dict(created_at="01/02/2020"), "bad_date:created_at"),
    ("accounts", dict(account_id="A1"), "duplicate_id"),
    # strategy_plan
    ("strategy_plan", dict(effective_from=""), "missing_required:effective_from"),
    ("strategy_plan", dict(value=""), "missing_required:value"),
    ("strategy_plan", dict(stance=""), "missing_required:stance"),
    ("strategy_plan", dict(effective_from="2021-13-01"), "bad_date:effective_from"),
    ("strategy_plan", dict(dimension="colour"), "bad_value:dimension"),
    ("strategy_plan", dict(stance="maybe"), "bad_value:stance"),
    ("strategy_plan", dict(weight="0"), "bad_value:weight"),
    ("strategy_plan", dict(weight="-1"), "bad_value:weight"),
    ("strategy_plan", dict(weight="heavy"), "bad_number:weight"),
    ("strategy_plan", dict(effective_from="2020-01-01", dimension="Segment", value="smb"), "duplicate_id"),
    # deals
    ("deals", dict(deal_id=""), "missing_required:deal_id"),
    ("deals", dict(account_id=""), "missing_required:account_id"),
    ("deals", dict(product_line=""), "missing_required:product_line"),
    ("deals", dict(deal_type="upsell"), "bad_value:deal_type"),
    ("deals", dict(stage="pending"), "bad_value:stage"),
    ("deals", dict(created_at="2021-3-1"), "bad_date:created_at"),
    ("deals", dict(closed_at="next week"), "bad_date:closed_at"),
    ("deals", dict(updated_at="2021-04-01 10:00 CET"), "bad_date:updated_at"),
    ("deals", dict(list_amount="$100"), "bad_number:list_amount"),
    ("deals", dict(list_amount="1,000.50"), "bad_number:list_amount"),
    ("deals", dict(list_amount="NaN"), "bad_number:list_amount"),
    ("deals", dict(list_amount="inf"), "bad_number:list_amount"),
    ("deals", dict(list_amount="1e999"), "bad_number:list_amount"),
    ("deals", dict(list_amount="-5"), "bad_value:list_amount"),
    ("deals", dict(final_amount="-0.01"), "bad_value:final_amount"),
    ("deals", dict(gross_margin_pct="1.5"), "bad_value:gross_margin_pct"),
    ("deals", dict(gross_margin_pct="-1.01"), "bad_value:gross_margin_pct"),
    ("deals", dict(flagged_strategic="maybe"), "bad_boolean:flagged_strategic"),
    ("deals", dict(stage="won", closed_at=""), "missing_required:closed_at"),
    ("deals", dict(stage="LOST", closed_at="", final_amount=""), "missing_required:closed_at"),
    ("deals", dict(stage="open", final_amount=""), "bad_value:closed_at"),
    ("deals", dict(closed_at="2021-02-28"), "closed_before_created"),
    ("deals", dict(final_amount=""), "missing_required:final_amount"),
    ("deals", dict(loss_reason="too expensive"), "bad_value:loss_reason"),
    ("deals", dict(account_id="A404"), "unknown_account"),
    ("deals", dict(account_id="a1"), "unknown_account"),  # ids are case-sensitive
    ("deals", dict(deal_id="D1"), "duplicate_id"),
    # negotiation_events
    ("negotiation_events", dict(event_id=""), "missing_required:event_id"),
    ("negotiation_events", dict(occurred_at=""), "missing_required:occurred_at"),
    ("negotiation_events", dict(event_type=""), "missing_required:event_type"),
    ("negotiation_events", dict(occurred_at="2021-03-05Z"), "bad_date:occurred_at"),
    ("negotiation_events", dict(severity="high"), "bad_number:severity"),
    ("negotiation_events", dict(severity="2.5"), "bad_number:severity"),
    ("negotiation_events", dict(severity="0"), "bad_value:severity"),
    ("negotiation_events", dict(severity="4"), "bad_value:severity"),
    ("negotiation_events", dict(event_type="coffee chat"), "unknown_event_type"),
    ("negotiation_events", dict(event_id="E1"), "duplicate_id"),
    ("negotiation_events", dict(account_id="A404", deal_id=""), "unknown_account"),
    ("negotiation_events", dict(deal_id="D404"), "unknown_deal"),
    ("negotiation_events", dict(account_id="A2", deal_id="D1"), "deal_account_mismatch"),
    # account_revenue
    ("account_revenue", dict(account_id=""), "missing_required:account_id"),
    ("account_revenue", dict(month=""), "missing_required:month"),
    ("account_revenue", dict(revenue=""), "missing_required:revenue"),
    ("account_revenue", dict(gross_margin=""), "missing_required:gross_margin"),
    ("account_revenue", dict(month="2021-05-15"), "bad_value:month"),
    ("account_revenue", dict(month="2021-05"), "bad_date:month"),
    ("account_revenue", dict(revenue="-1"), "bad_value:revenue"),
    ("account_revenue", dict(gross_margin="12 EUR"), "bad_number:gross_margin"),
    ("account_revenue", dict(account_id="A404"), "unknown_account"),
    ("account_revenue", dict(month="2021-04-01"), "duplicate_id"),
]


def case_row(table: str, index: int, overrides: dict[str, str]) -> dict[str, str]:
    """The valid row of ``table`` made unique for case ``index``, then the case's overrides."""
    unique = {
        "accounts": dict(account_id=f"A9-{index}"),
        "strategy_plan": dict(value=f"value {index}"),
        "deals": dict(deal_id=f"D9-{index}"),
        "negotiation_events": dict(event_id=f"E9-{index}"),
        "account_revenue": dict(month=f"{2030 + index // 12}-{1 + index % 12:02d}-01"),
    }[table]
    return {**VALID_ROW[table], **unique, **overrides}


@pytest.fixture(scope="module")
def all_cases_loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[duckdb.DuckDBPyConnection, dict[int, int], dict]:
    """One export holding every case's bad row (loaded once); case index -> its row number."""
    export = base_export()
    row_of_case: dict[int, int] = {}
    for index, (table, overrides, _) in enumerate(CASES):
        export[table].append(case_row(table, index, overrides))
        row_of_case[index] = len(export[table])
    con, counts = load_export(tmp_path_factory.mktemp("cases"), export)
    return con, row_of_case, {"export": export, "counts": counts}


def test_only_the_bad_rows_are_rejected_and_counts_balance(all_cases_loaded: tuple) -> None:
    con, row_of_case, loaded = all_cases_loaded
    expected = sorted((CASES[i][0], row) for i, row in row_of_case.items())
    assert con.execute("SELECT source, row_number FROM main.rejected_rows ORDER BY ALL").fetchall() == expected
    for table, counts in loaded["counts"].items():
        bad_rows = sum(1 for t, _, _ in CASES if t == table)
        assert (counts.rows_read, counts.rows_rejected) == (len(loaded["export"][table]), bad_rows)
        assert counts.rows_loaded == counts.rows_read - bad_rows


@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"{t}-{r}-{i}" for i, (t, _, r) in enumerate(CASES)])
def test_bad_row_is_rejected_with_reason(all_cases_loaded: tuple, index: int) -> None:
    con, row_of_case, loaded = all_cases_loaded
    table, _, reason = CASES[index]
    found = con.execute(
        "SELECT reason, detail, record, source_file, loaded_at FROM main.rejected_rows "
        "WHERE source = ? AND row_number = ?",
        [table, row_of_case[index]],
    ).fetchall()
    assert len(found) == 1
    found_reason, detail, record, source_file, loaded_at = found[0]
    assert found_reason == reason
    assert source_file == f"{table}.csv" and loaded_at == LOADED_AT
    assert len(detail) > 20 and detail.endswith(".")
    written = loaded["export"][table][row_of_case[index] - 1]
    assert json.loads(record) == {c: written.get(c, "") for c in COLUMNS[table]}


def test_first_failing_rule_wins_in_priority_order(tmp_path: Path) -> None:
    export = base_export()
    export["deals"] += [
        # missing_required comes before bad_date, which comes before bad_number, bad_boolean, bad_value
        dict(VALID_ROW["deals"], deal_id="", created_at="soon", list_amount="lots"),
        dict(VALID_ROW["deals"], deal_id="D10", created_at="soon", list_amount="lots"),
        dict(VALID_ROW["deals"], deal_id="D11", list_amount="lots", flagged_strategic="perhaps", stage="x"),
        dict(VALID_ROW["deals"], deal_id="D12", flagged_strategic="perhaps", stage="x"),
        # a row-level failure is reported before the reference check
        dict(VALID_ROW["deals"], deal_id="D13", account_id="A404", gross_margin_pct="3"),
    ]
    con, _ = load_export(tmp_path, export)
    assert rejected(con, "deals") == [
        (3, "missing_required:deal_id"),
        (4, "bad_date:created_at"),
        (5, "bad_number:list_amount"),
        (6, "bad_boolean:flagged_strategic"),
        (7, "bad_value:gross_margin_pct"),
    ]


def test_values_are_read_as_the_contract_says(tmp_path: Path) -> None:
    export = base_export()
    export["accounts"].append(dict(VALID_ROW["accounts"], account_id="  A3 ", account_name='Say "hi", 🙂',
                                   segment=" MID_Market ", employee_count="1.2e3", created_at="2020-06-30T23:30:00-05:00"))
    export["deals"] = [
        dict(VALID_ROW["deals"], deal_id="D1", list_amount="+1e2", final_amount="-0", gross_margin_pct="-1",
             flagged_strategic="YES", stage="Won", deal_type="Renewal", updated_at="2021-04-01T10:00:00+02:00"),
        dict(VALID_ROW["deals"], deal_id="D2", stage="open", closed_at="", final_amount="", flagged_strategic="",
             list_amount=".5", gross_margin_pct="", updated_at="2021-04-01 10:00"),
        dict(VALID_ROW["deals"], deal_id="D3", flagged_strategic="f", updated_at="2021-04-01"),
    ]
    export["negotiation_events"] = [
        dict(VALID_ROW["negotiation_events"], event_id="E1", event_type="  Dual Sourcing ", severity="3.0",
             notes="line one\nline two, \"quoted\""),
        dict(VALID_ROW["negotiation_events"], event_id="e1", deal_id="", event_type="JOINT_PLANNING"),
    ]
    export["strategy_plan"][0]["weight"] = ""
    con, _ = load_export(tmp_path, export)
    assert con.execute("SELECT count(*) FROM main.rejected_rows").fetchone() == (0,)
    assert con.execute(
        "SELECT account_id, account_name, segment, employee_count, created_at FROM raw.accounts WHERE account_id = 'A3'"
    ).fetchone() == ("A3", 'Say "hi", 🙂', "mid_market", 1200, date(2020, 6, 30))
    deals = con.execute(
        "SELECT deal_id, stage, deal_type, list_amount, final_amount, gross_margin_pct, flagged_strategic, "
        "closed_at, updated_at FROM raw.deals ORDER BY deal_id"
    ).fetchall()
    utc = timezone.utc
    assert [d[:8] for d in deals] == [
        ("D1", "won", "renewal", 100.0, 0.0, -1.0, True, date(2021, 4, 1)),
        ("D2", "open", "renewal", 0.5, None, None, False, None),
        ("D3", "won", "renewal", 100.0, 90.0, 0.4, False, date(2021, 4, 1)),
    ]
    assert [d[8].astimezone(utc) for d in deals] == [
        datetime(2021, 4, 1, 8, 0, tzinfo=utc), datetime(2021, 4, 1, 10, 0, tzinfo=utc), datetime(2021, 4, 1, tzinfo=utc),
    ]
    events = con.execute(
        "SELECT event_id, deal_id, event_type, event_label, severity, notes FROM raw.negotiation_events ORDER BY _row_number"
    ).fetchall()
    assert events == [
        ("E1", "D1", "second_source_added", "Dual Sourcing", 3, 'line one\nline two, "quoted"'),
        ("e1", None, "joint_planning", "JOINT_PLANNING", 1, None),
    ]
    assert con.execute("SELECT value, weight FROM raw.strategy_plan").fetchall() == [("SMB", 1.0)]


@pytest.mark.parametrize("word", ["true", "T", "Yes", "y", "1", "FALSE", "f", "no", "N", "0"])
def test_boolean_words(tmp_path: Path, word: str) -> None:
    export = base_export()
    export["deals"][0]["flagged_strategic"] = word
    con, _ = load_export(tmp_path, export)
    assert con.execute("SELECT flagged_strategic FROM raw.deals WHERE deal_id = 'D1'").fetchone() == (
        word.lower() in ("true", "t", "yes", "y", "1"),
    )


def test_rejected_account_cascades_to_its_deals_and_their_events(tmp_path: Path) -> None:
    export = base_export()
    export["accounts"].append(dict(VALID_ROW["accounts"], account_id="A3", created_at="never"))
    export["deals"].append(dict(VALID_ROW["deals"], deal_id="D3", account_id="A3"))
    export["negotiation_events"] += [
        dict(VALID_ROW["negotiation_events"], event_id="E2", account_id="A3", deal_id="D3"),
        dict(VALID_ROW["negotiation_events"], event_id="E3", account_id="A1", deal_id="D3"),
    ]
    export["account_revenue"].append(dict(VALID_ROW["account_revenue"], account_id="A3"))
    con, _ = load_export(tmp_path, export)
    details = dict(
        ((s, r), (reason, detail))
        for s, r, reason, detail in con.execute("SELECT source, row_number, reason, detail FROM main.rejected_rows").fetchall()
    )
    assert details[("accounts", 3)][0] == "bad_date:created_at"
    assert details[("deals", 3)] == (
        "unknown_account",
        "account_id 'A3' refers to a row of accounts.csv that was itself rejected (row 3: bad_date:created_at): "
        "fix that row first.",
    )
    assert details[("negotiation_events", 2)][0] == "unknown_account"
    assert details[("negotiation_events", 3)] == (
        "unknown_deal",
        "deal_id 'D3' refers to a row of deals.csv that was itself rejected (row 3: unknown_account): fix that row first.",
    )
    assert details[("account_revenue", 2)][0] == "unknown_account"
    assert "itself rejected" in details[("account_revenue", 2)][1]
    assert len(details) == 5


def test_unknown_reference_detail_names_the_file(tmp_path: Path) -> None:
    export = base_export()
    export["deals"].append(dict(VALID_ROW["deals"], account_id="A404"))
    con, _ = load_export(tmp_path, export)
    assert con.execute("SELECT detail FROM main.rejected_rows").fetchone() == ("account_id 'A404' is not in accounts.csv.",)


def deal_version(deal_id: str, updated_at: str, **fields: str) -> dict[str, str]:
    return dict(VALID_ROW["deals"], deal_id=deal_id, updated_at=updated_at, **fields)


def test_latest_row_of_a_repeated_deal_wins_and_older_rows_are_history(tmp_path: Path) -> None:
    export = base_export()
    export["deals"] = [
        deal_version("D1", "2021-03-02", stage="open", closed_at="", final_amount=""),
        deal_version("D1", "2021-04-01T09:00:00Z"),  # latest: won
        deal_version("D1", "2021-03-20", stage="open", closed_at="", final_amount="", list_amount="120"),
        deal_version("D2", "2021-03-02", account_id="A2"),
    ]
    con, counts = load_export(tmp_path, export)
    assert (counts["deals"].rows_read, counts["deals"].rows_loaded, counts["deals"].rows_rejected) == (4, 4, 0)
    assert con.execute("SELECT deal_id, stage, _row_number FROM raw.deals ORDER BY deal_id").fetchall() == [
        ("D1", "won", 2), ("D2", "won", 4),
    ]
    assert con.execute("SELECT deal_id, list_amount, _row_number FROM raw.deals_history ORDER BY _row_number").fetchall() == [
        ("D1", 100.0, 1), ("D1", 120.0, 3),
    ]


def test_repeated_deal_with_same_updated_at_is_a_duplicate(tmp_path: Path) -> None:
    export = base_export()
    export["deals"] = [
        deal_version("D1", "2021-04-01 10:00:00"),
        deal_version("D1", "2021-04-01T10:00:00Z", list_amount="999"),
        deal_version("D1", "2021-03-01"),
    ]
    con, _ = load_export(tmp_path, export)
    assert rejected(con, "deals") == [(2, "duplicate_id")]
    assert con.execute("SELECT _row_number FROM raw.deals").fetchall() == [(1,)]
    assert con.execute("SELECT _row_number FROM raw.deals_history").fetchall() == [(3,)]


def test_repeated_deal_without_updated_at_on_every_row_keeps_the_first(tmp_path: Path) -> None:
    export = base_export()
    export["deals"] = [
        deal_version("D1", ""),
        deal_version("D1", "2021-05-01"),
        deal_version("D1", ""),
    ]
    con, _ = load_export(tmp_path, export)
    assert rejected(con, "deals") == [(2, "duplicate_id"), (3, "duplicate_id")]
    detail = con.execute("SELECT detail FROM main.rejected_rows WHERE row_number = 2").fetchone()[0]
    assert detail.startswith("deal_id 'D1' repeats row 1") and "updated_at" in detail
    assert con.execute("SELECT _row_number FROM raw.deals").fetchall() == [(1,)]
    assert con.execute("SELECT count(*) FROM raw.deals_history").fetchone() == (0,)


def test_rejected_current_deal_takes_its_history_and_events_with_it(tmp_path: Path) -> None:
    export = base_export()
    export["deals"].append(deal_version("D5", "2021-03-01", account_id="A1"))
    export["deals"].append(deal_version("D5", "2021-04-01", account_id="A404"))  # latest row: unknown account
    export["negotiation_events"].append(dict(VALID_ROW["negotiation_events"], event_id="E5", deal_id="D5"))
    con, counts = load_export(tmp_path, export)
    rows = con.execute(
        "SELECT source, row_number, reason, detail FROM main.rejected_rows ORDER BY source, row_number"
    ).fetchall()
    assert [r[:3] for r in rows] == [
        ("deals", 3, "unknown_deal"), ("deals", 4, "unknown_account"), ("negotiation_events", 2, "unknown_deal"),
    ]
    assert rows[0][3] == (
        "deal_id 'D5': the current row of this id (row 4) was rejected (unknown_account), "
        "so this older row is rejected with it."
    )
    assert "itself rejected (row 4: unknown_account)" in rows[2][3]
    assert counts["deals"].rows_loaded == 2 and counts["deals"].rows_rejected == 2


def test_first_valid_row_of_a_repeated_key_loads(tmp_path: Path) -> None:
    """Uniqueness is decided among rows that passed their own checks (documented choice)."""
    export = base_export()
    export["accounts"] = [
        dict(VALID_ROW["accounts"], account_id="A1", created_at="bad"),
        dict(VALID_ROW["accounts"], account_id="A1", account_name="second"),
        dict(VALID_ROW["accounts"], account_id="A2"),
        dict(VALID_ROW["accounts"], account_id="A2", account_name="fourth"),
    ]
    con, _ = load_export(tmp_path, export)
    assert rejected(con, "accounts") == [(1, "bad_date:created_at"), (4, "duplicate_id")]
    assert con.execute("SELECT account_name FROM raw.accounts WHERE account_id = 'A1'").fetchone() == ("second",)


def test_reloading_replaces_a_sources_rejects_and_summary(tmp_path: Path) -> None:
    export = base_export()
    export["accounts"].append(dict(VALID_ROW["accounts"], segment="huge"))
    con, _ = load_export(tmp_path, export)
    con.close()
    export["accounts"].pop()
    con, _ = load_export(tmp_path, export)
    assert con.execute("SELECT count(*) FROM main.rejected_rows").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM raw.load_summary WHERE source = 'accounts'").fetchone() == (1,)
    assert con.execute("SELECT loaded_at FROM raw.load_summary WHERE source = 'accounts'").fetchone()[0] == LOADED_AT


def test_optional_pipeline_columns_load_and_a_bad_expected_close_date_is_rejected(tmp_path: Path) -> None:
    """pipeline_stage and expected_close_date are optional deals columns: given, they load typed; an
    expected_close_date that is not a date rejects its row like any date."""
    export = base_export()
    export["deals"] = [
        dict(row, pipeline_stage="Closed Won", expected_close_date="") for row in export["deals"]
    ] + [
        dict(VALID_ROW["deals"], deal_id="D3", stage="open", closed_at="", final_amount="",
             pipeline_stage=" Negotiation/Review ", expected_close_date="2021-06-30"),
        dict(VALID_ROW["deals"], deal_id="D4", stage="open", closed_at="", final_amount="",
             pipeline_stage="Commit", expected_close_date="end of June"),
    ]
    deals = export.pop("deals")
    write_export(tmp_path / "data", export)
    deals_columns = [*COLUMNS["deals"], "pipeline_stage", "expected_close_date"]
    (tmp_path / "data" / "deals.csv").write_text(csv_text(deals_columns, deals), encoding="utf-8")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    prepare_warehouse(con)
    load_event_types(con, DEFAULT_EVENT_TYPES)
    counts = {t: load_table(con, t, tmp_path / "data", LOADED_AT) for t in TABLES}
    assert (counts["deals"].rows_read, counts["deals"].rows_loaded, counts["deals"].rows_rejected) == (4, 3, 1)
    assert con.execute("SELECT deal_id, pipeline_stage, expected_close_date FROM raw.deals ORDER BY deal_id"
                       ).fetchall() == [("D1", "Closed Won", None), ("D2", "Closed Won", None),
                                        ("D3", "Negotiation/Review", date(2021, 6, 30))]
    assert rejected(con, "deals") == [(4, "bad_date:expected_close_date")]
    con.close()
