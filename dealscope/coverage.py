"""Which analyses an export supports: one declarative registry, read by the statistics step, the CLI
and the dashboards, and written per run to `main.analysis_coverage`.

Only accounts and deals are required. An analysis whose input is missing is SKIPPED (no row
estimated from nothing, no chart drawn from zeros); one that can use a documented substitute runs
and says what it used instead. "Missing" distinguishes a file absent from the export
(raw.load_summary.file_present = false) from a file present with no loaded row (header only, or
every row rejected), and the optional deals column list_amount absent from the file from present
but empty on every deal.

This module does not import Dagster; the pipeline's `main/analysis_coverage` asset calls
`write_analysis_coverage`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import duckdb

from dealscope.warehouse import table_exists
from models.tables import ANALYSIS_COVERAGE

COVERAGE_TABLE = ANALYSIS_COVERAGE.name

# Inputs an analysis can need: an input table, or "<table>.<column>" for an optional column.
LIST_AMOUNT = "deals.list_amount"
REVENUE_SUBSTITUTE = ("account value derived from won deals (final_amount x gross_margin_pct, booked in the "
                      "month each deal closed), not realised revenue")


@dataclass(frozen=True)
class Analysis:
    """One analysis: what it needs, what it can run without (and with what instead), what it writes.

    needs: inputs without which it is skipped.
    substitutes: input -> what the analysis uses instead when that input is missing (it still runs).
    partial_without: input -> the part of the analysis that is empty when that input is missing.
    outputs: the warehouse tables (main) that hold its result (dashboards map sections to them).
    hypothesis: for a hypothesis test, the key of its row in main.hypothesis_tests.
    """

    name: str
    what: str
    needs: tuple[str, ...] = ()
    substitutes: Mapping[str, str] = field(default_factory=dict)
    partial_without: Mapping[str, str] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()
    hypothesis: str | None = None


ANALYSES: tuple[Analysis, ...] = (
    Analysis("win_loss", "win rates with intervals by dimension", needs=("deals",), outputs=("win_loss",),
             partial_without={LIST_AMOUNT: "value_lost and value_win_rate are empty (no list_amount); lost deals "
                                           "without one are counted in lost_deals_without_list_amount"}),
    Analysis("loss_drivers", "loss reasons and competitors ranked by the list value lost", needs=(LIST_AMOUNT,),
             outputs=("loss_drivers", "loss_drivers_by_quarter")),
    Analysis("discounts", "discount_pct of won deals (1 - final_amount / list_amount) and its averages",
             needs=(LIST_AMOUNT,)),
    Analysis("strategic_alignment", "alignment score and band of every deal, the strategic-fit audit, "
             "outcomes by alignment band", needs=("strategy_plan",),
             outputs=("strategic_fit_audit", "alignment_band_outcomes")),
    Analysis("H1_strategic_alignment", "hypothesis test: does strategic alignment predict later account value",
             needs=("strategy_plan",), substitutes={"account_revenue": REVENUE_SUBSTITUTE},
             hypothesis="H1_strategic_alignment"),
    Analysis("trust_event_study", "event study of trust-eroding and trust-building events",
             needs=("negotiation_events",), outputs=("trust_event_study",)),
    Analysis("escalation_paths", "escalation -> buyer takeover -> second source -> margin",
             needs=("negotiation_events",), outputs=("escalation_paths",)),
    Analysis("won_deal_lost_customer", "won deals followed by trust-eroding events and falling revenue",
             needs=("negotiation_events",), outputs=("won_deal_lost_customer",)),
    Analysis("H2_trust_eroding_events", "hypothesis test: do trust-eroding events lower later account value",
             needs=("negotiation_events",), substitutes={"account_revenue": REVENUE_SUBSTITUTE},
             hypothesis="H2_trust_eroding_events"),
    Analysis("move_precedents", "what followed our moves (events and won deal types)", needs=("deals",),
             outputs=("move_precedents",),
             partial_without={"negotiation_events": "no event moves, and the trust-building outcome is not "
                                                    "observed (its shares are 0 by absence, not by measurement)"}),
    Analysis("competitor_response", "how competitors respond after we beat them", needs=("deals",),
             outputs=("competitor_response",),
             partial_without={"negotiation_events": "competitor price cuts are not observed (counted as 0 by "
                                                    "absence); appearances per deal are measured"}),
    Analysis("account_value", "lifetime value, tenure and activity of every account", needs=("accounts",),
             substitutes={"account_revenue": REVENUE_SUBSTITUTE}, outputs=("account_value",)),
    Analysis("cohort_retention", "revenue retention by yearly cohort", needs=("deals",),
             substitutes={"account_revenue": REVENUE_SUBSTITUTE}, outputs=("cohort_retention",)),
    Analysis("account_value_forecast", "forward-looking model of account value", needs=("deals",),
             substitutes={"account_revenue": REVENUE_SUBSTITUTE}, outputs=("account_value_forecast",)),
)
BY_NAME: dict[str, Analysis] = {a.name: a for a in ANALYSES}


@dataclass(frozen=True)
class InputState:
    """Whether one input is usable: 'present', 'absent' (no file / no column) or 'empty' (nothing loaded)."""

    name: str
    state: str
    detail: str

    @property
    def usable(self) -> bool:
        return self.state == "present"


@dataclass(frozen=True)
class Coverage:
    analysis: str
    ran: bool
    status: str  # ran | ran_with_substitute | partial | skipped
    needs: str
    missing: str
    reason: str


def _file_name(table: str) -> str:
    return f"{table}.csv/.parquet"


def read_input_states(con: duckdb.DuckDBPyConnection) -> dict[str, InputState]:
    """The state of every input table (raw.load_summary) and of deals.list_amount (raw.landing_deals/raw.deals)."""
    states: dict[str, InputState] = {}
    rows = con.execute(
        "SELECT source, source_file, file_present, rows_read, rows_loaded, rows_rejected FROM raw.load_summary"
    ).fetchall()
    for source, source_file, file_present, read, loaded, rejected in rows:
        if not file_present:
            states[source] = InputState(source, "absent", f"{_file_name(source)} is not in the export")
        elif loaded == 0:
            states[source] = InputState(
                source, "empty", f"{source_file} is present but no row loaded ({read} read, {rejected} rejected)")
        else:
            states[source] = InputState(source, "present", f"{source_file}: {loaded} rows loaded")
    landing = {name for (name,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = 'landing_deals'"
    ).fetchall()}
    if "deals" in states and "list_amount" not in landing:
        states[LIST_AMOUNT] = InputState(LIST_AMOUNT, "absent", "deals have no list_amount column")
    elif "deals" in states:
        # fetchall, not fetchone: a half-read result blocks later work on the connection (duckdb 2)
        [(deals, missing)] = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE list_amount IS NULL) FROM raw.deals").fetchall()
        if deals and missing == deals:
            states[LIST_AMOUNT] = InputState(LIST_AMOUNT, "empty", "the list_amount column is empty on every deal")
        else:
            detail = f"list_amount given on {deals - missing} of {deals} deals"
            states[LIST_AMOUNT] = InputState(LIST_AMOUNT, "present", detail + (
                f"; discount_pct is empty for the {missing} without it" if missing else ""))
    return states


def _unknown(name: str) -> InputState:
    return InputState(name, "absent", f"{name} was not loaded")


def assess(analysis: Analysis, states: Mapping[str, InputState]) -> Coverage:
    """Did `analysis` run on these inputs, and why (not)? Pure: the registry applied to the input states."""
    def state(name: str) -> InputState:
        return states.get(name) or _unknown(name)

    lacking = [state(n) for n in analysis.needs if not state(n).usable]
    # A substitute replaces an absent file only: a present file with no loaded row is used as it is
    # (int_revenue_source: a header-only revenue file means no revenue, not value from won deals).
    substituted = [state(n) for n in analysis.substitutes if state(n).state == "absent"]
    empty_source = [state(n) for n in analysis.substitutes if state(n).state == "empty"]
    partial = [state(n) for n in analysis.partial_without if not state(n).usable]
    needs = ", ".join(analysis.needs + tuple(analysis.substitutes) + tuple(analysis.partial_without))
    if lacking:
        reason = "; ".join(f"needs {s.name}: {s.detail}" for s in lacking)
        return Coverage(analysis.name, False, "skipped", needs, ", ".join(s.name for s in lacking), reason)
    notes = [f"{s.name} missing ({s.detail}): {analysis.substitutes[s.name]}" for s in substituted]
    notes += [f"{s.name} missing ({s.detail}): {analysis.partial_without[s.name]}" for s in partial]
    notes += [f"{s.detail}: it is used as it is, so every value from it is 0" for s in empty_source]
    # How many deals lack the optional column is part of the answer even when the analysis ran.
    notes += [state(n).detail for n in analysis.needs if n == LIST_AMOUNT]
    status = "partial" if partial or empty_source else ("ran_with_substitute" if substituted else "ran")
    missing = ", ".join(s.name for s in substituted + partial + empty_source)
    return Coverage(analysis.name, True, status, needs, missing, "ran: " + ("; ".join(notes) or "every input present"))


def assess_all(states: Mapping[str, InputState]) -> list[Coverage]:
    return [assess(analysis, states) for analysis in ANALYSES]


def write_analysis_coverage(con: duckdb.DuckDBPyConnection) -> list[Coverage]:
    """Replace main.analysis_coverage with this run's coverage (one row per registered analysis)."""
    rows = assess_all(read_input_states(con))
    con.execute("begin transaction")
    try:
        con.execute(ANALYSIS_COVERAGE.ddl())
        con.executemany(
            f"insert into {COVERAGE_TABLE} ({', '.join(ANALYSIS_COVERAGE.column_names)}) values (?, ?, ?, ?, ?, ?, ?)",
            [(c.analysis, c.ran, c.status, c.needs, c.missing, c.reason, ", ".join(BY_NAME[c.analysis].outputs))
             for c in rows],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return rows


def read_analysis_coverage(con: duckdb.DuckDBPyConnection) -> list[Coverage]:
    """This run's coverage as written; empty when the table is absent (a warehouse from an older version)."""
    if not table_exists(con, "main", "analysis_coverage"):
        return []
    return [Coverage(*row) for row in con.execute(
        f"SELECT analysis, ran, status, needs, missing, reason FROM {COVERAGE_TABLE} ORDER BY analysis").fetchall()]


def skipped_hypotheses(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """{hypothesis: reason} for the hypotheses the registry says cannot run on this export."""
    coverage = {c.analysis: c for c in read_analysis_coverage(con)}
    return {a.hypothesis: coverage[a.name].reason for a in ANALYSES
            if a.hypothesis and a.name in coverage and not coverage[a.name].ran}
