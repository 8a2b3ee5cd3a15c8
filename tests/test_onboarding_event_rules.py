"""Candidate negotiation events from CRM activities, through the real loader and mapping engine:
rule matching, the review table, and the accounting of activities no rule matches."""

from __future__ import annotations

import csv
import re
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import yaml

from dealscope.ingest import TABLES, load_event_types, load_table, prepare_warehouse
from dealscope.mapping import parse_mapping
from dealscope.onboarding.event_rules import MATCH_SUMMARY, REVIEW_TABLE
from dealscope.onboarding.init import draft_mapping
from dealscope.settings import DEFAULT_EVENT_TYPES

FIXTURES = Path(__file__).parent / "fixtures" / "crm"


def load_all(folder: Path, mapping_file: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    prepare_warehouse(con)
    load_event_types(con, DEFAULT_EVENT_TYPES)
    mapping = parse_mapping(mapping_file)
    loaded_at = datetime.now(timezone.utc)
    for table in TABLES:
        load_table(con, table, folder, loaded_at, mapping)
    return con


def first_rule(rules: list[dict], row: dict) -> dict | None:
    """The reference semantics, row by row in Python: the first rule whose conditions all match."""
    for rule in rules:
        if all(re.search(pattern.removeprefix("(?i)"), row[column] or "", re.IGNORECASE)
               for column, pattern in rule["when"].items()):
            return rule
    return None


def test_salesforce_tasks_become_candidate_events_with_the_rule_that_matched(tmp_path):
    mapping_file = tmp_path / "dealscope.yml"
    mapping_file.write_text(draft_mapping("salesforce", FIXTURES / "salesforce").text(), encoding="utf-8")
    section = yaml.safe_load(mapping_file.read_text(encoding="utf-8"))["tables"]["negotiation_events"]
    con = load_all(FIXTURES / "salesforce", mapping_file)

    with (FIXTURES / "salesforce" / "Task.csv").open(newline="", encoding="utf-8") as handle:
        tasks = list(csv.DictReader(handle))
    matched = {n: rule for n, row in enumerate(tasks, start=1) if (rule := first_rule(section["event_rules"], row))}
    assert 0 < len(matched) < len(tasks)

    review = con.execute(f"SELECT row_number, rule_name, event_type, activity_id, deal_id, source_file "
                         f"FROM {REVIEW_TABLE} ORDER BY row_number").fetchall()
    assert [(r[0], r[1], r[2]) for r in review] == [(n, rule["name"], rule["event_type"]) for n, rule in matched.items()]
    assert all(r[3] == tasks[r[0] - 1]["Id"] and r[5] == "Task.csv" for r in review)
    # WhatId on an account (001...) is not a deal: deal_id stays empty.
    assert all(r[4] == (tasks[r[0] - 1]["WhatId"] if tasks[r[0] - 1]["WhatId"].startswith("006") else None)
               for r in review)
    assert not {c[0] for c in con.execute(f"DESCRIBE {REVIEW_TABLE}").fetchall()} & {"notes", "description"}

    summary = con.execute(f"SELECT activities_read, activities_matched, activities_unmatched, rows_to_events "
                          f"FROM {MATCH_SUMMARY}").fetchone()
    assert summary == (len(tasks), len(matched), len(tasks) - len(matched), len(matched))
    read, loaded, rejected = con.execute(
        "SELECT rows_read, rows_loaded, rows_rejected FROM raw.load_summary WHERE source = 'negotiation_events'"
    ).fetchone()
    assert read == len(matched) == loaded + rejected
    # Loaded events carry the rule's type and the task's notes (the notes stay in raw only).
    types = dict(con.execute("SELECT event_id, event_type FROM raw.negotiation_events").fetchall())
    by_id = {tasks[n - 1]["Id"]: rule["event_type"] for n, rule in matched.items()}
    assert types and all(by_id[event_id] == event_type for event_id, event_type in types.items())


def test_first_matching_rule_wins_and_an_unmatched_malformed_record_is_still_rejected(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "accounts.csv").write_text(
        "account_id,account_name,segment,created_at\nacme,Acme,smb,2023-01-01\n", encoding="utf-8")
    (folder / "deals.csv").write_text(
        "deal_id,account_id,deal_type,product_line,created_at,closed_at,stage,list_amount,final_amount\n"
        "OPP-1,acme,new_business,P,2023-02-01,2023-03-01,won,10,9\n", encoding="utf-8")
    (folder / "strategy_plan.csv").write_text(
        "effective_from,dimension,value,stance\n2023-01-01,segment,smb,target\n", encoding="utf-8")
    (folder / "activity_log.csv").write_text(
        "Date,Account Name,Opportunity ID,Activity,Kind,Notes\n"
        "1/15/2024,acme,OPP-1,ESCALATION during the QBR,Meeting,secret\n"
        "2/1/2024,acme,,qbr with customer,Meeting,\n"
        "2/3/2024,acme,,QBR prep,Email,\n"
        "2/4/2024,acme,OPP-1,Call,Call,\n"
        "2/5/2024,acme,,Call,Call,,one field too many\n"
        "2/31/2024,acme,,escalated to CFO,Call,\n",
        encoding="utf-8")
    mapping_file = folder / "dealscope.yml"
    mapping_file.write_text(
        """version: 1
tables:
  negotiation_events:
    file: activity_log.csv
    columns: {account_id: Account Name, deal_id: Opportunity ID, occurred_at: Date, notes: Notes}
    formats: {occurred_at: "%m/%d/%Y"}
    event_rules:
      - {name: escalation, when: {Activity: "(?i)escalat"}, event_type: escalated_over_buyer}
      - {name: qbr_meeting, when: {Activity: "(?i)qbr", Kind: "(?i)^meeting$"}, event_type: value_review_delivered}
""", encoding="utf-8")
    con = load_all(folder, mapping_file)
    loaded = con.execute("SELECT event_id, event_type, occurred_at, deal_id FROM raw.negotiation_events "
                         "ORDER BY event_id").fetchall()
    assert [(e, t, str(d), deal) for e, t, d, deal in loaded] == [
        ("activity_log.csv:1", "escalated_over_buyer", "2024-01-15", "OPP-1"),  # both rules match: the first wins
        ("activity_log.csv:2", "value_review_delivered", "2024-02-01", None),
    ]
    # Row 3 (a QBR by email) and row 4 (a call) match nothing: counted, not rejected. Row 5 matches
    # nothing but is malformed: rejected as such. Row 6 matches but has no such date: rejected.
    rejected = con.execute("SELECT row_number, reason FROM main.rejected_rows WHERE source = 'negotiation_events' "
                           "ORDER BY 1").fetchall()
    assert rejected == [(5, "malformed_row"), (6, "bad_format:occurred_at")]
    assert con.execute(f"SELECT activities_read, activities_matched, activities_unmatched, rows_to_events "
                       f"FROM {MATCH_SUMMARY}").fetchone() == (6, 3, 2, 4)
    assert con.execute(f"SELECT row_number, rule_name FROM {REVIEW_TABLE} ORDER BY 1").fetchall() == [
        (1, "escalation"), (2, "qbr_meeting"), (6, "escalation")]
