"""Candidate negotiation events from CRM activities: rule matching, the review table, the accounting."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import yaml

from dealscope.onboarding.event_rules import MATCH_SUMMARY, REVIEW_TABLE, UNMATCHED_BY_TYPE, land_candidate_events
from dealscope.onboarding.init import draft_mapping

FIXTURES = Path(__file__).parent / "fixtures" / "crm"


def first_rule(rules: list[dict], row: dict) -> dict | None:
    """The reference semantics, row by row in Python: the first rule whose conditions all match."""
    for rule in rules:
        if all(re.search(pattern.removeprefix("(?i)"), row[column] or "", re.IGNORECASE)
               for column, pattern in rule["when"].items()):
            return rule
    return None


def test_salesforce_tasks_become_candidate_events_with_the_matching_rule_and_nothing_is_lost(tmp_path):
    section = yaml.safe_load(draft_mapping("salesforce", FIXTURES / "salesforce").text())["tables"]["negotiation_events"]
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    counts = land_candidate_events(con, FIXTURES / "salesforce" / section["file"], section)

    with (FIXTURES / "salesforce" / "Task.csv").open(newline="", encoding="utf-8") as handle:
        tasks = list(csv.DictReader(handle))
    expected = {n: first_rule(section["event_rules"], row) for n, row in enumerate(tasks, start=1)}
    matched = {n: rule for n, rule in expected.items() if rule}
    assert counts == {"activities_read": len(tasks), "activities_matched": len(matched),
                      "activities_unmatched": len(tasks) - len(matched)}
    assert 0 < len(matched) < len(tasks)

    review = con.execute(f"SELECT row_number, rule_name, event_type, activity_id, deal_id FROM {REVIEW_TABLE} "
                         "ORDER BY row_number").fetchall()
    assert [(r[0], r[1], r[2]) for r in review] == [(n, rule["name"], rule["event_type"]) for n, rule in matched.items()]
    assert all(r[3] == tasks[r[0] - 1]["Id"] for r in review)
    # WhatId on an account (001...) is not a deal: the review and the events leave deal_id empty.
    for row_number, *_, deal_id in review:
        what = tasks[row_number - 1]["WhatId"]
        assert deal_id == (what if what.startswith("006") else None)
    # Notes stay out of the review table.
    review_columns = {c[0] for c in con.execute(f"DESCRIBE {REVIEW_TABLE}").fetchall()}
    assert not review_columns & {"notes", "description"}

    landing = con.execute("SELECT _row_number, event_id, event_type, occurred_at, notes FROM "
                          "raw.landing_negotiation_events ORDER BY _row_number").fetchall()
    assert [r[0] for r in landing] == list(matched)
    assert all(r[3] == tasks[r[0] - 1]["ActivityDate"] and r[4] == tasks[r[0] - 1]["Description"].strip()
               for r in landing)

    summary = con.execute(f"SELECT activities_read, activities_matched, activities_unmatched FROM {MATCH_SUMMARY}").fetchone()
    assert summary[0] == summary[1] + summary[2] == len(tasks)
    unmatched_by_type = con.execute(f"SELECT sum(activities) FROM {UNMATCHED_BY_TYPE}").fetchone()[0]
    assert unmatched_by_type == len(tasks) - len(matched)


def test_first_matching_rule_wins_case_insensitively_and_dates_are_read_with_the_stated_format(tmp_path):
    log = tmp_path / "activity_log.csv"
    log.write_text(
        "Date,Account Name,Opportunity ID,Activity,Kind,Notes\n"
        "1/15/2024,Acme,OPP-1,ESCALATION during the QBR,Meeting,secret\n"
        "2/1/2024,Acme,,qbr with customer,Meeting,\n"
        "2/3/2024,Acme,,QBR prep,Email,\n"
        "13/1/2024,Acme,OPP-1,Call,Call,\n"
        "not a date,Acme,,escalated to CFO,Call,\n",
        encoding="utf-8")
    section = {
        "file": "activity_log.csv",
        "columns": {"account_id": "Account Name", "deal_id": "Opportunity ID", "occurred_at": "Date", "notes": "Notes"},
        "formats": {"occurred_at": "%m/%d/%Y"},
        "event_rules": [
            {"name": "escalation", "when": {"Activity": "(?i)escalat"}, "event_type": "escalated_over_buyer"},
            {"name": "qbr_meeting", "when": {"Activity": "(?i)qbr", "Kind": "(?i)^meeting$"},
             "event_type": "value_review_delivered"},
        ],
    }
    con = duckdb.connect()
    counts = land_candidate_events(con, log, section)
    assert counts == {"activities_read": 5, "activities_matched": 3, "activities_unmatched": 2}
    rows = con.execute("SELECT _row_number, event_id, event_type, occurred_at, deal_id FROM "
                       "raw.landing_negotiation_events ORDER BY 1").fetchall()
    assert rows == [
        (1, "activity_log.csv:1", "escalated_over_buyer", "2024-01-15", "OPP-1"),  # both rules match: the first wins
        (2, "activity_log.csv:2", "value_review_delivered", "2024-02-01", None),
        # row 3: a QBR by email is not a meeting; row 4: a call matches nothing
        (5, "activity_log.csv:5", "escalated_over_buyer", "not a date", None),  # left for the contract's bad_date
    ]
    assert con.execute(f"SELECT rule_name FROM {REVIEW_TABLE} WHERE row_number = 1").fetchone() == ("escalation",)
