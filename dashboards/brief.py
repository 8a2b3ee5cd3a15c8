"""The pre-negotiation brief of one open deal: what to know before calling it "strategic".

Every number is read from a published mart (docs/dashboards.md, "Pre-negotiation brief"):
the JSON names, per section, the table, the key of the rows read and the columns as they are
in the table, so each figure can be traced back. Python only selects rows and writes
sentences; the metrics (comparable-deal record, flags, stage age) are computed by dbt
(open_deals, open_deal_comparables, open_deal_escalation_precedents,
account_trust_timeline) or were already in the marts.
Confidential text (event notes, rejected rows) is never read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from dashboards.components import STYLE, TEXT_CLASS, esc, table_html
from dashboards.formatting import (
    format_amount, format_count, format_date, format_frame, format_number, format_pct, is_missing, plural,
)

# Briefs for every open deal are written with the site up to this many open deals; above it
# the Open deals page lists them and says how to write one (`dealscope brief DEAL_ID`).
BRIEF_LIMIT = 500
BRIEFS_DIR = "briefs"
FORECAST_PERIOD = "forecast"

PRINT_STYLE = """
@media print { nav, .no-print { display: none; } main { max-width: none; padding: 0; }
               h2 { break-after: avoid; } table { break-inside: auto; } tr { break-inside: avoid; } }
.warning { background: #fde8e6; border-left: 4px solid #c0392b; padding: 0.6em 1em; margin: 0.6em 0; }
.source { color: #777; font-size: 0.8em; }
"""


class BriefError(ValueError):
    """The deal cannot be briefed: unknown, closed, or the warehouse lacks the brief's marts."""


@dataclass(frozen=True)
class Section:
    """Rows of one table for one key: what the JSON carries and what the page shows."""

    table: str
    key: dict[str, Any]
    rows: list[dict[str, Any]]
    unavailable: str = ""

    def as_json(self, single: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"table": self.table, "key": self.key}
        if self.unavailable:
            out["unavailable"] = self.unavailable
        elif single:
            out["values"] = self.rows[0] if self.rows else None
        else:
            out["rows"] = self.rows
        return out

    @property
    def first(self) -> dict[str, Any] | None:
        return self.rows[0] if self.rows else None


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()  # a date stored as a midnight timestamp
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def existing_tables(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """'schema.table' of every table and view in the warehouse (read once per batch of briefs)."""
    return frozenset(f"{schema}.{name}" for schema, name in con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables").fetchall())


def _rows(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [column[0] for column in cursor.description]
    return [{name: _json_value(value) for name, value in zip(names, row)} for row in cursor.fetchall()]


def _skipped(con: duckdb.DuckDBPyConnection, tables: frozenset[str], analysis: str) -> str:
    """Why `analysis` did not run on this export (main.analysis_coverage), or ''."""
    if "main.analysis_coverage" not in tables:
        return ""
    row = con.execute("SELECT ran, reason FROM main.analysis_coverage WHERE analysis = ?", [analysis]).fetchone()
    return "" if row is None or row[0] else f"not run on this export: {row[1]}"


# Each section of a brief: the table it reads, and one query giving the rows of every deal of a
# batch (`?` = the list of deal ids), with the key they are looked up by as leading `_key_*`
# columns. A batch of briefs costs one query per section, whatever its size.
BATCH_DEALS = "(SELECT unnest(CAST(? AS VARCHAR[])))"
SECTION_QUERIES: dict[str, tuple[str, str]] = {
    "deal": ("main.open_deals",
             f"SELECT deal_id AS _key_deal_id, * FROM main.open_deals WHERE deal_id IN {BATCH_DEALS}"),
    # The plan version in force at created_at (fct_deals.plan_effective_from); an entry matches
    # when the deal's value of its dimension equals it, case-insensitively, as int_deal_alignment
    # scores it.
    "plan_entries": ("staging.stg_strategy_plan", f"""
        SELECT deal.deal_id AS _key_deal_id, plan.dimension, plan.value, plan.stance, plan.weight,
               coalesce(lower(trim(CASE plan.dimension
                   WHEN 'segment' THEN deal.segment WHEN 'industry' THEN deal.industry
                   WHEN 'region' THEN deal.region WHEN 'product_line' THEN deal.product_line
                   WHEN 'deal_type' THEN deal.deal_type END)) = plan.value_key, false) AS matches_deal
        FROM staging.stg_strategy_plan AS plan
        JOIN main.open_deals AS deal ON plan.effective_from = deal.plan_effective_from
        WHERE deal.deal_id IN {BATCH_DEALS}
        QUALIFY row_number() OVER (PARTITION BY deal.deal_id, plan.dimension, plan.value_key
                                   ORDER BY plan.source_row_number) = 1
        ORDER BY deal.deal_id, plan.dimension, plan.stance DESC, plan.weight DESC, plan.value"""),
    "comparables": ("main.open_deal_comparables",
                    f"SELECT deal_id AS _key_deal_id, * FROM main.open_deal_comparables "
                    f"WHERE deal_id IN {BATCH_DEALS} ORDER BY deal_id, similarity_level"),
    "account_value": ("main.account_value", f"""
        SELECT account_id AS _key_account_id, account_id, segment, tenure_months, deals_won, lifetime_revenue,
               lifetime_gross_margin, discounted_lifetime_gross_margin, last_revenue_month, is_active,
               value_source, as_of_date
        FROM main.account_value
        WHERE account_id IN (SELECT account_id FROM main.open_deals WHERE deal_id IN {BATCH_DEALS})"""),
    "forecast": ("main.account_value_forecast", f"""
        SELECT account_id AS _key_account_id, period AS _key_period, account_id, period, cutoff_month,
               horizon_months, predicted_value, predicted_low, predicted_high, interval_level
        FROM main.account_value_forecast
        WHERE account_id IN (SELECT account_id FROM main.open_deals WHERE deal_id IN {BATCH_DEALS})"""),
    "trust_events": ("main.account_trust_timeline", f"""
        SELECT account_id AS _key_account_id, occurred_at, event_type, polarity, severity, deal_id
        FROM main.account_trust_timeline
        WHERE account_id IN (SELECT account_id FROM main.open_deals WHERE deal_id IN {BATCH_DEALS})
        ORDER BY account_id, occurred_at, event_type"""),
    "escalation_precedent": ("main.open_deal_escalation_precedents",
                             f"SELECT deal_id AS _key_deal_id, * FROM main.open_deal_escalation_precedents "
                             f"WHERE deal_id IN {BATCH_DEALS} ORDER BY deal_id, similarity_level"),
    "competitor_response": ("main.competitor_response", f"""
        SELECT response.competitor AS _key_competitor, response.segment AS _key_segment, response.*
        FROM main.competitor_response AS response
        WHERE EXISTS (
            SELECT 1 FROM main.open_deals AS deal
            WHERE deal.deal_id IN {BATCH_DEALS}
              AND deal.competitor = response.competitor AND deal.segment = response.segment)"""),
    "trust_building_moves": ("main.move_precedents", """
        SELECT moves.* FROM main.move_precedents AS moves
        JOIN staging.stg_event_types AS types ON moves.move = types.event_type
        WHERE moves.move_kind = 'event_type' AND types.polarity = 'trust_building'
        ORDER BY moves.share_with_trust_building DESC"""),
}

class BriefBatch:
    """The rows of every section for a list of open deals, read with one query per section."""

    def __init__(self, con: duckdb.DuckDBPyConnection, deal_ids: list[str],
                 tables: frozenset[str] | None = None) -> None:
        self.con = con
        self.tables = existing_tables(con) if tables is None else tables
        if "main.open_deals" not in self.tables:
            raise BriefError("the warehouse has no main.open_deals table: run `dealscope run` with this "
                             "version first")
        self.skipped = {analysis: _skipped(con, self.tables, analysis)
                        for analysis in ("strategic_alignment", "trust_event_study")}
        self.by_key: dict[str, dict[tuple, list[dict[str, Any]]]] = {}
        for name, (table, sql) in SECTION_QUERIES.items():
            if table not in self.tables:
                continue
            rows = _rows(con.execute(sql, [list(deal_ids)] * sql.count("?")))
            grouped: dict[tuple, list[dict[str, Any]]] = {}
            for row in rows:
                key = tuple(row.pop(column) for column in [c for c in row if c.startswith("_key_")])
                grouped.setdefault(key, []).append(row)
            self.by_key[name] = grouped

    def section(self, name: str, key: dict[str, Any], lookup: tuple | None = None) -> Section:
        """The rows of section `name` shown under `key`, found under `lookup` (default: key's values)."""
        table = SECTION_QUERIES[name][0]
        if name not in self.by_key:
            return Section(table, key, [], f"table {table} is not in the warehouse")
        return Section(table, key, self.by_key[name].get(tuple(key.values()) if lookup is None else lookup, []))


def read_sections(con: duckdb.DuckDBPyConnection, deal_id: str, tables: frozenset[str] | None = None,
                  batch: BriefBatch | None = None) -> dict[str, Section]:
    """Every table row the brief of `deal_id` rests on (from `batch` when given, which must hold
    the deal). Raises BriefError when it has none."""
    batch = batch or BriefBatch(con, [deal_id], tables)
    deal = batch.section("deal", {"deal_id": deal_id})
    if not deal.rows:
        closed = con.execute("SELECT stage FROM main.fct_deals WHERE deal_id = ?", [deal_id]).fetchone()
        if closed:
            raise BriefError(f"deal {deal_id} is not open (stage {closed[0]}): a brief is for an open deal")
        raise BriefError(f"deal {deal_id} is not in the warehouse (main.fct_deals)")
    row = deal.rows[0]
    account_id, segment, competitor = row["account_id"], row["segment"], row["competitor"]
    sections = {"deal": deal}
    no_plan = batch.skipped["strategic_alignment"]
    plan_key = {"effective_from": row["plan_effective_from"]}
    sections["plan_entries"] = Section("staging.stg_strategy_plan", {"effective_from": None}, [], no_plan) \
        if no_plan else batch.section("plan_entries", plan_key, (deal_id,))
    sections["comparables"] = batch.section("comparables", {"deal_id": deal_id})
    sections["account_value"] = batch.section("account_value", {"account_id": account_id})
    sections["forecast"] = batch.section("forecast", {"account_id": account_id, "period": FORECAST_PERIOD})
    no_events = batch.skipped["trust_event_study"]
    sections["trust_events"] = Section("main.account_trust_timeline", {"account_id": account_id}, [], no_events) \
        if no_events else batch.section("trust_events", {"account_id": account_id})
    sections["escalation_precedent"] = batch.section("escalation_precedent", {"deal_id": deal_id})
    competitor_key = {"competitor": competitor, "segment": segment}
    sections["competitor_response"] = (
        Section("main.competitor_response", competitor_key, [], "the deal names no competitor")
        if competitor is None else batch.section("competitor_response", competitor_key))
    sections["trust_building_moves"] = batch.section(
        "trust_building_moves", {"move_kind": "event_type", "polarity": "trust_building"}, ())
    return sections


# --- sentences -----------------------------------------------------------------------------

def _chosen(comparables: Section) -> dict[str, Any] | None:
    return next((r for r in comparables.rows if r.get("is_chosen_level")), None)


def plan_sentences(deal: dict[str, Any]) -> tuple[str, list[str]]:
    """The fit sentence and the warnings about it."""
    warnings = []
    band = deal.get("alignment_band")
    if is_missing(deal.get("plan_effective_from")):
        sentence = ("No strategic plan was in force when the deal was created, so its fit cannot be "
                    "judged (alignment band no_plan).")
        if deal.get("flagged_strategic"):
            warnings.append("Flagged strategic, but no plan was in force on its creation date to say so.")
        return sentence, warnings
    targets = deal.get("matched_targets") or "none"
    avoids = deal.get("matched_avoids") or "none"
    sentence = (f"Against the plan in force since {format_date(deal['plan_effective_from'])}, the deal is "
                f"{band} (alignment score {format_number(deal.get('alignment_score'))}); it matches the "
                f"targets {targets} and the avoid entries {avoids}.")
    if deal.get("flag_strategic_not_fitting"):
        warnings.append(f"Flagged strategic, but it does not fit the plan in force on its creation date: "
                        f"band {band}, score {format_number(deal.get('alignment_score'))}, avoid entries "
                        f"matched: {avoids}.")
    elif deal.get("flagged_strategic") and band == "partial":
        warnings.append(f"Flagged strategic, but it fits the plan only in part (score "
                        f"{format_number(deal.get('alignment_score'))}).")
    return sentence, warnings


def record_sentences(deal: dict[str, Any], comparables: Section) -> tuple[str, list[str]]:
    chosen = _chosen(comparables)
    if comparables.unavailable or chosen is None:
        return "Our record on comparable deals is not available.", []
    warnings = []
    sentence = (f"On {format_count(chosen['deals_closed'])} comparable closed deals (same "
                f"{chosen['matched_on']}), we won {format_pct(chosen['win_rate'])} (95% interval "
                f"{format_pct(chosen['win_rate_ci_low'])} to {format_pct(chosen['win_rate_ci_high'])}; "
                f"company {format_pct(deal.get('company_win_rate'))}); typical discount "
                f"{format_pct(chosen['median_discount_pct'])}, cycle {format_number(chosen['median_cycle_days'])} "
                f"days, gross margin {format_pct(chosen['median_gross_margin_pct'])} (medians).")
    if chosen.get("is_small_sample"):
        warnings.append(f"Small sample: only {format_count(chosen['deals_closed'])} comparable closed deals "
                        "even by segment alone; read the record with care.")
    if deal.get("flag_weak_record"):
        warnings.append("Our record on comparable deals is clearly below the company's: the whole 95% "
                        "interval of their win rate lies under the company rate.")
    return sentence, warnings


def relationship_sentences(deal: dict[str, Any], sections: dict[str, Section]) -> tuple[list[str], list[str]]:
    sentences, warnings = [], []
    events = sections["trust_events"]
    if events.unavailable:
        sentences.append("The account's trust history is not available (no negotiation events).")
    else:
        sentences.append(
            f"The account has {format_count(deal['account_trust_eroding_events'])} trust-eroding events "
            f"({format_count(deal['account_recent_trust_eroding_events'])} in the last 12 months), "
            f"{plural(deal['account_takeovers'], 'takeover')} by the buyer's management, "
            f"{plural(deal['account_second_sources'], 'second source')} added and "
            f"{plural(deal['account_trust_building_events'], 'trust-building event')}.")
        if deal.get("flag_recent_trust_erosion"):
            warnings.append("Trust was eroded at this account in the last 12 months.")
        if deal.get("flag_second_source"):
            warnings.append("The customer has brought in a second source before.")
    value, forecast = sections["account_value"].first, sections["forecast"].first
    if value:
        text = f"Its lifetime gross margin so far is {format_amount(value['lifetime_gross_margin'])}"
        if forecast:
            text += (f"; the forecast for the {format_count(forecast['horizon_months'])} months from "
                     f"{format_date(forecast['cutoff_month'])} is {format_amount(forecast['predicted_value'])} "
                     f"of revenue ({format_pct(forecast['interval_level'])} interval "
                     f"{format_amount(forecast['predicted_low'])} to {format_amount(forecast['predicted_high'])})")
        sentences.append(text + ".")
    path = _chosen(sections["escalation_precedent"])
    if path and path.get("accounts"):
        sentences.append(
            f"Of {format_count(path['accounts'])} comparable accounts (same {path['matched_on']}) where we "
            f"escalated over the buyer, {format_pct(path['share_with_takeover'])} had the buyer's management "
            f"take over (95% interval {format_pct(path['share_with_takeover_ci_low'])} to "
            f"{format_pct(path['share_with_takeover_ci_high'])}) and "
            f"{format_pct(path['share_with_second_source'])} added a second source (95% interval "
            f"{format_pct(path['share_with_second_source_ci_low'])} to "
            f"{format_pct(path['share_with_second_source_ci_high'])}) within the follow-up window "
            "(12 months unless the dbt vars were changed).")
        if path.get("is_small_sample"):
            warnings.append(f"Small sample: only {format_count(path['accounts'])} comparable accounts with an "
                            "escalation over the buyer even by segment alone; read those shares with care.")
    elif path is not None:
        sentences.append("No comparable account has an escalation over the buyer with its follow-up "
                         "window observed.")
    return sentences, warnings


def competitor_sentence(deal: dict[str, Any], response: Section) -> str:
    if deal.get("competitor") is None:
        return "No competitor is recorded on this deal."
    row = response.first
    if row is None:
        return (f"{deal['competitor']}: no record of competing with it in the {deal['segment']} segment "
                f"({response.unavailable or 'no row in competitor_response'}).")
    if is_missing(row.get("first_win_at")):
        return f"{deal['competitor']}: we have not beaten it yet in the {deal['segment']} segment."
    return (f"After our first win against {deal['competitor']} in {deal['segment']} "
            f"({format_date(row['first_win_at'])}), it appeared on {format_pct(row['appearances_per_deal_after'])} "
            f"of the segment's deals (before: {format_pct(row['appearances_per_deal_before'])}) and made "
            f"{_per_100(row['price_cuts_per_appearance_after'])} price cuts per 100 deals it was on "
            f"(before: {_per_100(row['price_cuts_per_appearance_before'])}).")


def _per_100(value: Any) -> str:
    return "n/a" if is_missing(value) else f"{float(value) * 100:.1f}"


def read_brief(con: duckdb.DuckDBPyConnection, deal_id: str, tables: frozenset[str] | None = None,
               batch: BriefBatch | None = None) -> dict[str, Any]:
    """The brief of one open deal as a JSON-ready dict (see the module docstring)."""
    sections = read_sections(con, deal_id, tables, batch)
    deal = sections["deal"].rows[0]
    fit, fit_warnings = plan_sentences(deal)
    record, record_warnings = record_sentences(deal, sections["comparables"])
    relationship, relationship_warnings = relationship_sentences(deal, sections)
    competitor = competitor_sentence(deal, sections["competitor_response"])
    single = {"deal", "account_value", "forecast", "competitor_response"}
    return {
        "deal_id": deal_id,
        "account_id": deal["account_id"],
        "as_of_date": (sections["account_value"].first or {}).get("as_of_date"),
        "summary": [fit, record, *relationship, competitor],
        "warnings": fit_warnings + record_warnings + relationship_warnings,
        "sections": {name: section.as_json(name in single) for name, section in sections.items()},
    }


# --- the page ------------------------------------------------------------------------------

def _table(rows: list[dict[str, Any]], columns: dict[str, str], formats: dict[str, Any],
           text_columns: int = 1) -> str:
    head = "".join(f"<th{TEXT_CLASS if i < text_columns else ''}>{esc(label)}</th>"
                   for i, label in enumerate(columns.values()))
    body = "\n".join(
        "<tr>" + "".join(
            f"<td{TEXT_CLASS if i < text_columns else ''}>"
            f"{esc(formats.get(column, _plain)(row.get(column)))}</td>"
            for i, column in enumerate(columns)) + "</tr>"
        for row in rows)
    return (f'<div class="tablewrap"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n'
            "</tbody>\n</table></div>")


def _plain(value: Any) -> str:
    return "n/a" if is_missing(value) else str(value)


def _source(section: dict[str, Any]) -> str:
    key = ", ".join(f"{name} = {value}" for name, value in section["key"].items())
    return f'<p class="source">Source: {esc(section["table"])} ({esc(key)}).</p>'


def _section_html(title: str, section: dict[str, Any], body: str) -> str:
    if "unavailable" in section:
        return (f"<h2>{esc(title)}</h2>\n<p class=\"unavailable\">Not available: "
                f"{esc(section['unavailable'])}.</p>")
    return f"<h2>{esc(title)}</h2>\n{body}\n{_source(section)}"


def render_brief_html(brief: dict[str, Any], back_link: str = "") -> str:
    """One printable page, no scripts and no network: the dashboards' style, tables and text."""
    sections = brief["sections"]
    deal = sections["deal"]["values"]
    nav = f'<nav><a href="{esc(back_link)}">&larr; Open deals</a></nav>\n' if back_link else ""
    blocks = [f'<p class="muted">Account {esc(deal["account_id"])}, owner {esc(_plain(deal["owner"]))}, '
              f'{esc(deal["segment"])} / {esc(_plain(deal["industry"]))} / {esc(_plain(deal["region"]))}, '
              f'{esc(deal["product_line"])}, {esc(deal["deal_type"])}, list amount '
              f'{esc(format_amount(deal["list_amount"]))}, created {esc(format_date(deal["created_at"]))} '
              f'({esc(format_count(deal["stage_age_days"]))} days open as of '
              f'{esc(format_date(brief["as_of_date"]))}); flagged strategic: '
              f'{"yes" if deal["flagged_strategic"] else "no"}.</p>']
    blocks.append("<h2>In short</h2>\n<ul id=\"brief-summary\">" + "".join(
        f"<li>{esc(sentence)}</li>" for sentence in brief["summary"]) + "</ul>")
    blocks.extend(f'<p class="warning">{esc(warning)}</p>' for warning in brief["warnings"])

    plan = sections["plan_entries"]
    plan_body = (_table(plan.get("rows") or [], {"dimension": "dimension", "value": "value", "stance": "stance",
                                                 "weight": "weight", "matches_deal": "matches this deal"},
                        {"weight": format_number, "matches_deal": lambda v: "yes" if v else ""}, 3)
                 if plan.get("rows") else '<p class="muted">No plan entries (no plan in force).</p>')
    blocks.append(_section_html("Fit with the plan in force", plan,
                                f"<p>{esc(brief['summary'][0])}</p>\n{plan_body}"))

    comparables = sections["comparables"]
    rows = [dict(r, level=f"{r['similarity_level']}{' (used)' if r['is_chosen_level'] else ''}")
            for r in comparables.get("rows") or []]
    blocks.append(_section_html(
        "What we do well here: comparable closed deals", comparables,
        "<p>Comparable deals share the attributes listed; each level drops one, and the brief uses the "
        "tightest level with at least 30 closed deals (docs/dashboards.md).</p>\n" + _table(
            rows, {"level": "level", "matched_on": "same", "deals_closed": "closed deals", "win_rate": "win rate",
                   "win_rate_ci_low": "95% low", "win_rate_ci_high": "95% high",
                   "median_discount_pct": "median discount", "median_cycle_days": "median cycle (days)",
                   "median_gross_margin_pct": "median margin"},
            {"deals_closed": format_count, "win_rate": format_pct, "win_rate_ci_low": format_pct,
             "win_rate_ci_high": format_pct, "median_discount_pct": format_pct,
             "median_cycle_days": format_number, "median_gross_margin_pct": format_pct}, 2)))

    events = sections["trust_events"]
    event_rows = events.get("rows") or []
    blocks.append(_section_html(
        "Relationship at stake", events,
        "".join(f"<p>{esc(s)}</p>" for s in brief["summary"][2:-1]) + (
            _table(event_rows, {"occurred_at": "date", "event_type": "event", "polarity": "polarity",
                                "severity": "severity", "deal_id": "deal"}, {"deal_id": _plain}, 3)
            if event_rows else '<p class="muted">No recorded negotiation events at this account.</p>')))
    for name, title in (("account_value", "Account value"), ("forecast", "Forecast")):
        section = sections[name]
        values = section.get("values")
        # one row, each column formatted by its kind (shares as %, amounts, counts)
        kinds = {"margin_change": "pct", "interval_level": "pct", "median_months_to_second_source": "number"}
        body = (table_html(format_frame(pd.DataFrame([values]), kinds), text_columns=1) if values
                else '<p class="muted">No row.</p>')
        blocks.append(_section_html(title, section, body).replace("<h2>", "<h3>").replace("</h2>", "</h3>"))

    precedent = sections["escalation_precedent"]
    precedent_rows = [dict(r, level=f"{r['similarity_level']}{' (used)' if r['is_chosen_level'] else ''}")
                      for r in precedent.get("rows") or []]
    blocks.append(_section_html(
        "After escalations over the buyer at comparable accounts", precedent,
        "<p>Comparable accounts share the attributes listed (size band: order of magnitude of the employee "
        "count); each level drops one, and the brief uses the tightest level with at least 20 such accounts. "
        "This account itself is left out.</p>\n" + _table(
            precedent_rows, {"level": "level", "matched_on": "same", "accounts": "escalated accounts",
                             "share_with_takeover": "buyer mgmt took over", "share_with_takeover_ci_low": "95% low",
                             "share_with_takeover_ci_high": "95% high",
                             "share_with_second_source": "second source added",
                             "share_with_second_source_ci_low": "95% low ",
                             "share_with_second_source_ci_high": "95% high "},
            {"accounts": format_count, **{column: format_pct for column in (
                "share_with_takeover", "share_with_takeover_ci_low", "share_with_takeover_ci_high",
                "share_with_second_source", "share_with_second_source_ci_low",
                "share_with_second_source_ci_high")}}, 2)).replace("<h2>", "<h3>").replace("</h2>", "</h3>"))

    response = sections["competitor_response"]
    blocks.append(_section_html("Competitor response", response, f"<p>{esc(brief['summary'][-1])}</p>")
                  if "unavailable" not in response else
                  f"<h2>Competitor response</h2>\n<p>{esc(brief['summary'][-1])}</p>")
    moves = sections["trust_building_moves"]
    blocks.append(_section_html(
        "How customers cooperated after trust-building moves", moves,
        "<p>All accounts, first move per account: the share with another trust-building event or an "
        "expansion deal in the months after it, against the share after an arbitrary month.</p>\n" + _table(
            moves.get("rows") or [], {"move": "move", "accounts": "accounts",
                                      "share_with_trust_building": "trust-building after",
                                      "baseline_share_with_trust_building": "baseline",
                                      "share_with_expansion": "expansion after",
                                      "baseline_share_with_expansion": "baseline "},
            {"accounts": format_count, "share_with_trust_building": format_pct,
             "baseline_share_with_trust_building": format_pct, "share_with_expansion": format_pct,
             "baseline_share_with_expansion": format_pct})))
    blocks.append('<p class="muted">Every number above is a warehouse value; the JSON beside this page '
                  "names the table, key and column of each. No confidential notes are read.</p>")
    title = f"Pre-negotiation brief: deal {deal['deal_id']}"
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>dealscope: {esc(title)}</title>\n<style>{STYLE}{PRINT_STYLE}</style>\n</head>\n<body>\n"
            f"{nav}<main>\n<h1>{esc(title)}</h1>\n" + "\n".join(blocks) + "\n</main>\n</body>\n</html>\n")


def brief_file_stem(deal_id: str) -> str:
    """A file name for any deal id: safe characters kept, a short hash when any were replaced."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", deal_id)
    if safe != deal_id or safe.startswith("."):
        safe = f"{safe.lstrip('.')}-{hashlib.sha1(deal_id.encode()).hexdigest()[:8]}"
    return safe


def write_brief(con: duckdb.DuckDBPyConnection, deal_id: str, out_dir: Path, back_link: str = "",
                tables: frozenset[str] | None = None, batch: BriefBatch | None = None) -> tuple[Path, Path]:
    """Write DEAL.html and DEAL.json into out_dir; returns both paths."""
    brief = read_brief(con, deal_id, tables, batch)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = brief_file_stem(deal_id)
    html_path, json_path = out_dir / f"{stem}.html", out_dir / f"{stem}.json"
    json_path.write_text(json.dumps(brief, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    html_path.write_text(render_brief_html(brief, back_link), encoding="utf-8")
    return html_path, json_path
