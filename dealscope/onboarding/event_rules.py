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
  negotiation move): `raw.activity_match_summary` counts it, with activities_read = activities_matched
  + activities_unmatched checked on every load, and `raw.activity_types_unmatched` counts them by
  activity type so a rule that should have matched can be spotted.

Everything here is set-based SQL over the landed activity file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from dealscope.ingest import reader
from dealscope.ingest.sql import ident, literal

REVIEW_TABLE = "main.event_candidates_review"
MATCH_SUMMARY = "raw.activity_match_summary"
UNMATCHED_BY_TYPE = "raw.activity_types_unmatched"


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


def apply_event_rules(
    con: duckdb.DuckDBPyConnection,
    activities: str,
    rules: list[EventRule],
    source_file: str,
    columns: dict[str, str],
    loaded_at_sql: str = "current_timestamp",
) -> str:
    """Match the landed activities (`activities`: a table with _row_number and landing-named columns).

    `columns` maps contract columns (event_id, account_id, deal_id, occurred_at) to landing SQL
    expressions over the activity row (alias `a`). Writes the review table and the match summary and
    returns the name of a temp table holding the matched activities' _row_number, rule and event type.
    """
    matches = "_activity_rule_matches"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {matches} AS
            SELECT a._row_number, {rule_case_sql(rules, 'name', 'a')} AS rule_name,
                   {rule_case_sql(rules, 'event_type', 'a')} AS event_type
            FROM {activities} AS a"""
    )
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {REVIEW_TABLE} (
            activity_id VARCHAR, account_id VARCHAR, deal_id VARCHAR, occurred_at VARCHAR, rule_name VARCHAR,
            event_type VARCHAR, source_file VARCHAR, row_number BIGINT)"""
    )
    con.execute(f"DELETE FROM {REVIEW_TABLE} WHERE source_file = ?", [source_file])
    expr = {c: columns.get(c, "CAST(NULL AS VARCHAR)") for c in ("event_id", "account_id", "deal_id", "occurred_at")}
    con.execute(
        f"""INSERT INTO {REVIEW_TABLE}
            SELECT {expr['event_id']}, {expr['account_id']}, {expr['deal_id']}, {expr['occurred_at']},
                   m.rule_name, m.event_type, {literal(source_file)}, a._row_number
            FROM {activities} AS a JOIN {matches} AS m USING (_row_number)
            WHERE m.rule_name IS NOT NULL ORDER BY a._row_number"""
    )
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {MATCH_SUMMARY} (
            source VARCHAR, source_file VARCHAR, activities_read BIGINT, activities_matched BIGINT,
            activities_unmatched BIGINT, loaded_at TIMESTAMPTZ)"""
    )
    con.execute(f"DELETE FROM {MATCH_SUMMARY} WHERE source_file = ?", [source_file])
    con.execute(
        f"""INSERT INTO {MATCH_SUMMARY}
            SELECT 'negotiation_events', {literal(source_file)}, count(*), count(rule_name),
                   count(*) - count(rule_name), {loaded_at_sql}
            FROM {matches}"""
    )
    read, matched, unmatched = con.execute(
        f"SELECT activities_read, activities_matched, activities_unmatched FROM {MATCH_SUMMARY} WHERE source_file = ?",
        [source_file],
    ).fetchone()
    if read != matched + unmatched:
        raise RuntimeError(f"{source_file}: {read} activities read but {matched} matched and {unmatched} unmatched")
    type_column = columns.get("activity_type")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {UNMATCHED_BY_TYPE} (
            source_file VARCHAR, activity_type VARCHAR, activities BIGINT)"""
    )
    con.execute(f"DELETE FROM {UNMATCHED_BY_TYPE} WHERE source_file = ?", [source_file])
    con.execute(
        f"""INSERT INTO {UNMATCHED_BY_TYPE}
            SELECT {literal(source_file)}, {type_column or 'CAST(NULL AS VARCHAR)'}, count(*)
            FROM {activities} AS a JOIN {matches} AS m USING (_row_number)
            WHERE m.rule_name IS NULL GROUP BY ALL ORDER BY 3 DESC"""
    )
    return matches


def column_expression(spec: str | dict, alias: str = "a") -> str:
    """Landing SQL for a mapped source column: a plain column, or {column, first_of_list, only_matching}."""
    if isinstance(spec, str):
        return f"nullif(trim({alias}.{ident(landing_name(spec))}), '')"
    value = f"nullif(trim({alias}.{ident(landing_name(spec['column']))}), '')"
    if "first_of_list" in spec:
        value = f"nullif(trim(split_part({value}, {literal(spec['first_of_list'])}, 1)), '')"
    if "only_matching" in spec:
        value = f"CASE WHEN regexp_matches({value}, {literal(spec['only_matching'])}) THEN {value} END"
    return value


def date_expression(value_sql: str, formats: list[str] | None) -> str:
    """ISO text of a date read with the stated strptime formats; a value no format reads stays as
    written, so the contract's date check rejects it (bad_date) instead of it vanishing."""
    if not formats:
        return value_sql
    normalised = f"regexp_replace({value_sql}, 'Z$', '+00:00')"
    tries = ", ".join(f"try_strptime({normalised}, {literal(f)})" for f in formats)
    return f"coalesce(strftime(CAST(coalesce({tries}) AS DATE), '%Y-%m-%d'), {value_sql})"


def land_candidate_events(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    section: dict,
    landing: str = "raw.landing_negotiation_events",
    date_formats: list[str] | None = None,
) -> dict[str, int]:
    """Self-contained path from an activity file to the negotiation_events landing table.

    `section` is the mapping's `tables.negotiation_events` (file, columns, event_rules). Writes
    `landing` in the contract's landing shape (text columns event_id, account_id, deal_id,
    occurred_at, event_type, severity, notes, plus _row_number, _field_count, _extra_fields) holding
    the matched activities only, the review table and the summary. Returns the counts.
    """
    source = reader.SourceFile(Path(path), "csv")
    reader.check_readable(source)
    header = reader.read_csv_header(source, set())
    activities = "raw._activities_landed"
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    reader.land_csv(con, source, header, activities)
    rules = parse_rules(section.get("event_rules") or [])
    mapped = section.get("columns") or {}
    columns = {c: column_expression(spec) for c, spec in mapped.items()}
    if "event_id" not in columns:  # an activity log without ids: the record's place in its file
        columns["event_id"] = f"{literal(source.name + ':')} || a._row_number"
    formats = (section.get("formats") or {}).get("occurred_at")
    formats = [formats] if isinstance(formats, str) else (formats or date_formats)
    columns["occurred_at"] = date_expression(columns.get("occurred_at", "CAST(NULL AS VARCHAR)"), formats)
    activity_type = section.get("activity_type_column")
    if activity_type:
        columns["activity_type"] = column_expression(activity_type)
    matches = apply_event_rules(con, activities, rules, source.name, columns)
    notes = columns.get("notes", "CAST(NULL AS VARCHAR)")
    con.execute(
        f"""CREATE OR REPLACE TABLE {landing} AS
            SELECT a._row_number, {columns['event_id']} AS event_id, {columns.get('account_id', 'NULL')} AS account_id,
                   {columns.get('deal_id', 'NULL')} AS deal_id, {columns['occurred_at']} AS occurred_at,
                   m.event_type, CAST(NULL AS VARCHAR) AS severity, {notes} AS notes,
                   a._field_count, a._extra_fields
            FROM {activities} AS a JOIN {matches} AS m USING (_row_number)
            WHERE m.rule_name IS NOT NULL ORDER BY a._row_number"""
    )
    read, matched, unmatched = con.execute(
        f"SELECT activities_read, activities_matched, activities_unmatched FROM {MATCH_SUMMARY} WHERE source_file = ?",
        [source.name],
    ).fetchone()
    con.execute(f"DROP TABLE {activities}")
    con.execute(f"DROP TABLE {matches}")
    return {"activities_read": read, "activities_matched": matched, "activities_unmatched": unmatched}


def parse_rules(raw_rules: list[dict]) -> list[EventRule]:
    """EventRules from the mapping's `event_rules` list (validated: name, when, event_type)."""
    rules = []
    for position, raw in enumerate(raw_rules, start=1):
        missing = [k for k in ("name", "when", "event_type") if k not in raw]
        if missing or not isinstance(raw.get("when"), dict) or not raw["when"]:
            raise ValueError(f"event_rules item {position}: needs name, event_type and a non-empty `when` mapping")
        rules.append(EventRule(str(raw["name"]), tuple((str(c), str(p)) for c, p in raw["when"].items()),
                               str(raw["event_type"])))
    return rules
