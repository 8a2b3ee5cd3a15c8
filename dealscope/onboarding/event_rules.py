"""Candidate negotiation events from CRM activities (Task, Event, engagement exports).

A CRM logs thousands of calls and emails; a few of them record a negotiation move (an escalation
over the buyer's head, a QBR, a competitor's price cut). `event_rules` in dealscope.yml name those
by the activity's type or subject: each rule is a set of {source column: regex} conditions (all must
match, DuckDB RE2 syntax, `(?i)` for case-insensitive) and the canonical event type it yields; the
first matching rule wins.

Accounting, so that nothing is lost and nothing is silent:
- every matched activity becomes a row of the negotiation_events landing table (then validated by
  the contract like any event) and a row of `main.event_candidates_review`, which names the rule that
  matched it, so an analyst can audit the rules; that table never holds notes or descriptions;
- an unmatched activity is not an event and not a rejection (it is not bad input, it is just not a
  negotiation move): `raw.activity_match_summary` counts it per source file, with activities_read =
  activities_unmatched + rows_to_events checked on every load (rows_to_events is what the
  negotiation_events load then reads, loads or rejects; a malformed record is never dropped as
  "unmatched", it is rejected as malformed).

The mapping engine (dealscope.mapping.engine) applies the rules with `rule_case_sql` and hands its
landing table to `finish_candidate_events`; everything is set-based SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
import duckdb

from dealscope.ingest.sql import ident, literal
from dealscope.warehouse import table_exists

REVIEW_TABLE = "main.event_candidates_review"
MATCH_SUMMARY = "raw.activity_match_summary"


@dataclass(frozen=True)
class EventRule:
    name: str
    when: tuple[tuple[str, str], ...]  # (source column as written, regex); all must match
    event_type: str


@dataclass(frozen=True)
class SuggestedRule:
    """A rule `dealscope init` proposes when the activity texts contain its pattern."""

    name: str
    pattern: str
    event_type: str
    note: str = ""


# Patterns for the moves the canonical event types describe (config/event_types.yml). Ordered from
# the specific to the general, since the first matching rule wins.
SUGGESTED_RULES: tuple[SuggestedRule, ...] = (
    SuggestedRule("escalation_over_buyer", r"(?i)escalat|over (the )?buyer|went over", "escalated_over_buyer"),
    SuggestedRule("buyer_management_takeover", r"(?i)management took over|takeover", "buyer_management_took_over"),
    SuggestedRule("commitment_broken", r"(?i)missed (commitment|deadline)|broken commitment|did not deliver",
                  "commitment_broken"),
    SuggestedRule("concession_reneged", r"(?i)renege|withdr[ae]w (the )?(discount|concession)", "concession_reneged"),
    SuggestedRule("second_source", r"(?i)second (source|supplier)|dual.?sourc", "second_source_added"),
    SuggestedRule("competitor_price_cut", r"(?i)competitor.*(discount|price cut|undercut)|price cut",
                  "competitor_price_cut"),
    SuggestedRule("price_increase", r"(?i)price (increase|rise)|uplift notice", "surprise_price_increase",
                  "a price increase announced well ahead is not a surprise: keep this rule only if these were"),
    SuggestedRule("commitment_kept", r"(?i)commitment kept|delivered as promised", "commitment_kept"),
    SuggestedRule("joint_planning", r"(?i)joint (account )?planning|account planning", "joint_planning"),
    SuggestedRule("executive_sponsor", r"(?i)exec(utive)? sponsor", "executive_sponsor_aligned"),
    SuggestedRule("value_review", r"(?i)qbr|value review|business review", "value_review_delivered"),
    SuggestedRule("concession_reciprocated", r"(?i)reciprocat", "concession_reciprocated"),
)


def landing_name(column: str) -> str:
    """The name a source column has in a landing table (the reader trims and lower-cases headers)."""
    return column.strip(" \t").lower()


def rule_case_sql(rules: list[EventRule] | tuple[EventRule, ...], result: str = "name", alias: str = "") -> str:
    """SQL CASE giving, per activity row, the first matching rule's name (or event type), else NULL.

    One definition of "which rule matches" serves the loader, the review table and `init`'s counts.
    """
    if not rules:
        return "CAST(NULL AS VARCHAR)"
    prefix = f"{alias}." if alias else ""
    branches = []
    for rule in rules:
        condition = " AND ".join(
            f"coalesce(regexp_matches({prefix}{ident(landing_name(column))}, {literal(pattern)}), false)"
            for column, pattern in rule.when
        )
        value = rule.name if result == "name" else rule.event_type
        branches.append(f"WHEN {condition} THEN {literal(value)}")
    return "CASE " + " ".join(branches) + " END"


def clear_candidate_events(con: duckdb.DuckDBPyConnection) -> None:
    """Empty the review table and the activity summary before negotiation_events is loaded again."""
    for table in (REVIEW_TABLE, MATCH_SUMMARY):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def finish_candidate_events(con: duckdb.DuckDBPyConnection, landing: str) -> dict[str, int]:
    """Account for the activities of a mapped negotiation_events landing, then keep only the events.

    `landing` is the mapping engine's landing table: one row per source activity with the mapped
    contract columns, `_rule_name` (NULL when no rule matched), `_source_file`, `_source_row` and
    `_map_reason`. Writes the review table and the per-file summary, and deletes the unmatched,
    well-formed activities from the landing (they are not events; a malformed record stays, to be
    rejected as such). Returns the totals.
    """
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {REVIEW_TABLE} (
            activity_id VARCHAR, account_id VARCHAR, deal_id VARCHAR, occurred_at VARCHAR, rule_name VARCHAR,
            event_type VARCHAR, source_file VARCHAR, row_number BIGINT)"""
    )
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {MATCH_SUMMARY} (
            source VARCHAR, source_file VARCHAR, activities_read BIGINT, activities_matched BIGINT,
            activities_unmatched BIGINT, rows_to_events BIGINT, loaded_at TIMESTAMPTZ)"""
    )
    unmatched = "_rule_name IS NULL AND _map_reason IS DISTINCT FROM 'malformed_row'"
    con.execute(f"DELETE FROM {REVIEW_TABLE}")
    con.execute(
        f"""INSERT INTO {REVIEW_TABLE}
            SELECT event_id, account_id, deal_id, occurred_at, _rule_name, event_type, _source_file, _source_row
            FROM {landing} WHERE _rule_name IS NOT NULL ORDER BY _row_number"""
    )
    con.execute(f"DELETE FROM {MATCH_SUMMARY} WHERE source = 'negotiation_events'")
    con.execute(
        f"""INSERT INTO {MATCH_SUMMARY}
            SELECT 'negotiation_events', _source_file, count(*), count(_rule_name),
                   count(*) FILTER (WHERE {unmatched}), count(*) FILTER (WHERE NOT ({unmatched})), current_timestamp
            FROM {landing} GROUP BY _source_file ORDER BY _source_file"""
    )
    con.execute(f"DELETE FROM {landing} WHERE {unmatched}")
    read, matched, dropped, kept = con.execute(
        f"SELECT sum(activities_read), sum(activities_matched), sum(activities_unmatched), sum(rows_to_events) "
        f"FROM {MATCH_SUMMARY} WHERE source = 'negotiation_events'"
    ).fetchone()
    left = con.execute(f"SELECT count(*) FROM {landing}").fetchone()[0]
    if (read or 0) != (dropped or 0) + (kept or 0) or (kept or 0) != left:
        raise RuntimeError(f"activity accounting broken: read {read}, unmatched {dropped}, to events {kept}, left {left}")
    return {"activities_read": int(read or 0), "activities_matched": int(matched or 0),
            "activities_unmatched": int(dropped or 0)}


def describe_activity_matching(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Lines for `check` / `run`: per activity file, how many activities the rules made candidate events."""
    if not table_exists(con, "raw", "activity_match_summary"):
        return []
    rows = con.execute(
        f"SELECT source_file, activities_read, activities_matched, activities_unmatched FROM {MATCH_SUMMARY} "
        "WHERE source = 'negotiation_events' ORDER BY source_file"
    ).fetchall()
    return [
        f"{name}: {read:,} activities, {matched:,} matched an event rule (candidate events, listed in "
        f"{REVIEW_TABLE}), {unmatched:,} matched none (not events, not rejected; counted in {MATCH_SUMMARY})"
        for name, read, matched, unmatched in rows
    ]
