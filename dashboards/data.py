"""Everything the pages show, read from the warehouse in one pass (dashboards.reads).

Tables from the metric and statistics stages that a warehouse may not hold yet are
`TableRead`s: a frame, or an `Unavailable` the page states in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import duckdb
import pandas as pd

from dashboards import change_report, reads
from dashboards.reads import TableRead
from models import tables

# Listed columns only: a new column in these tables never reaches a page unreviewed.
STRATEGIC_FIT_AUDIT = (
    ("audit_finding", "deal_id", "account_id", "alignment_score", "alignment_band"),
    ("owner", "stage", "created_at", "matched_targets", "matched_avoids", "list_amount",
     "final_amount", "segment"),
)
ALIGNMENT_BAND_OUTCOMES = (
    ("plan_effective_from", "alignment_band", "win_rate"),
    ("deals", "deals_closed", "deals_won", "win_rate_ci_low", "win_rate_ci_high", "avg_discount_pct",
     "accounts", "accounts_horizon_observed", "mean_later_account_value",
     "mean_later_account_value_ci_low", "mean_later_account_value_ci_high"),
)
LOSS_DRIVERS = (("driver_kind", "driver", "value_lost"),
                ("deals_lost", "share_of_value_lost", "expected_value_lost", "share_of_expected_value_lost",
                 "rank", "list_value_rank"))
LOSS_DRIVERS_BY_QUARTER = (("driver_kind", "driver", "close_quarter", "value_lost"), ("deals_lost",))
TRUST_EVENT_STUDY = (
    ("event_type", "metric", "window", "treated_value", "comparison_value",
     "difference_in_differences", "ci_low", "ci_high"),
    ("polarity", "treated_accounts", "comparison_accounts", "window_months"),
)
ESCALATION_PATHS = (
    ("account_group", "accounts", "share_with_takeover", "share_with_takeover_ci_low",
     "share_with_takeover_ci_high", "share_with_second_source", "share_with_second_source_ci_low",
     "share_with_second_source_ci_high"),
    ("accounts_with_takeover", "accounts_with_second_source", "median_months_to_second_source",
     "accounts_with_margin", "margin_before_pct", "margin_after_pct", "margin_change",
     "escalations_censored"),
)
WON_DEAL_LOST_CUSTOMER = (
    ("deal_id", "account_id", "value_at_stake"),
    ("segment", "owner", "deal_type", "closed_at", "final_amount", "trust_eroding_events_after",
     "first_eroding_event_at", "eroding_event_types", "monthly_revenue_before",
     "monthly_revenue_after", "monthly_revenue_change", "is_first_won_deal", "baseline_kind",
     "monthly_revenue_baseline", "peer_accounts"),
)
COHORT_RETENTION = (
    ("cohort_year", "years_since_start", "net_revenue_retention"),
    ("accounts", "starting_revenue", "gross_revenue_retention"),
)
_BEFORE_AFTER = tuple(
    f"{measure}_{side}{bound}"
    for side in ("before", "after")
    for measure in ("appearances_per_deal", "price_cuts_per_appearance")
    for bound in ("", "_ci_low", "_ci_high")
)
COMPETITOR_RESPONSE = (
    ("competitor", "segment", "deals_before", "appearances_before", "deals_after",
     "appearances_after", *_BEFORE_AFTER),
    ("wins_against", "first_win_at", "price_cuts_before", "price_cuts_after"),
)
MOVE_PRECEDENTS = (
    ("move_kind", "move", "accounts",
     *(f"{prefix}share_with_{outcome}{bound}" for outcome in ("trust_building", "expansion")
       for prefix in ("", "baseline_") for bound in ("", "_ci_low", "_ci_high"))),
    ("accounts_with_trust_building", "accounts_with_expansion", "baseline_account_months",
     "window_months"),
)

# Statistics-stage tables: read by the registry (models.tables), under their registered names only.
# The pages name the calibration study's two-sided rejection rate `two_sided_rejection_rate`.
CALIBRATION_PAGE_NAMES = {"rejection_rate": "two_sided_rejection_rate",
                          "rejection_rate_ci_low": "two_sided_rejection_rate_ci_low",
                          "rejection_rate_ci_high": "two_sided_rejection_rate_ci_high"}


@dataclass(frozen=True)
class AccountTotals:
    accounts: int
    active_accounts: int | None
    lifetime_revenue: float | None
    lifetime_gross_margin: float | None


@dataclass(frozen=True)
class SiteData:
    win_loss: pd.DataFrame
    deals: pd.DataFrame
    account_value: pd.DataFrame
    account_value_bins: pd.DataFrame
    alignment_value_bins: pd.DataFrame
    account_totals: AccountTotals
    hypothesis_tests: pd.DataFrame
    load_summary: pd.DataFrame
    rejection_counts: pd.DataFrame
    loss_drivers: TableRead
    loss_drivers_by_quarter: TableRead
    strategic_fit_audit: TableRead
    alignment_band_outcomes: TableRead
    trust_event_study: TableRead
    escalation_paths: TableRead
    won_deal_lost_customer: TableRead
    cohort_retention: TableRead
    competitor_response: TableRead
    move_precedents: TableRead
    permutation_null: TableRead
    calibration_summary: TableRead
    calibration_worlds: TableRead
    model_comparison: TableRead
    feature_importance: TableRead
    forecast: TableRead
    forecast_deciles: TableRead
    forecast_evaluation: TableRead
    # main.analysis_coverage: which analyses ran on this export (empty from an older warehouse)
    coverage: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(reads.COVERAGE_COLUMNS)))
    # main.run_changes(_summary): what changed since the previous published run
    run_changes: change_report.RunChanges = field(default_factory=change_report.empty_run_changes)

    def skipped(self, analysis: str) -> reads.Skipped | None:
        """A Skipped notice when `analysis` did not run on this export, else None."""
        row = self.coverage[self.coverage["analysis"] == analysis]
        if row.empty or bool(row["ran"].iloc[0]):
            return None
        return reads.Skipped(analysis, str(row["reason"].iloc[0]), needs=str(row["missing"].iloc[0]))


def read_account_totals(con: duckdb.DuckDBPyConnection) -> AccountTotals:
    """The overview's headline: main.account_totals (dbt), one row."""
    [row] = reads.read_required(con, tables.ACCOUNT_TOTALS).to_dict("records")
    return AccountTotals(**{name: None if pd.isna(value) else value for name, value in row.items()})


# SiteData fields whose warehouse table has another name (the registry names tables).
SECTION_TABLES = {"forecast": "account_value_forecast", "forecast_deciles": "account_value_forecast",
                  "forecast_evaluation": "account_value_forecast"}


def apply_coverage(data: SiteData) -> SiteData:
    """Sections whose analysis was skipped get a Skipped notice naming the input they need; a section
    whose analysis ran on a substitute or in part carries that sentence (frame.attrs["coverage_note"])."""
    changes = {}
    outputs = data.coverage.get("outputs", pd.Series(dtype=object))
    for item in fields(data):
        read = getattr(data, item.name)
        if not isinstance(read, (pd.DataFrame, reads.Unavailable)) or item.name == "coverage":
            continue
        table = SECTION_TABLES.get(item.name, item.name)
        owning = data.coverage[outputs.fillna("").str.split(", ").apply(lambda names, t=table: t in names)]
        if owning.empty:
            continue
        row = owning.iloc[0]
        if not bool(row["ran"]):
            changes[item.name] = reads.Skipped(f"main.{table}", str(row["reason"]), needs=str(row["missing"]))
        elif row["status"] in ("partial", "ran_with_substitute") and isinstance(read, pd.DataFrame):
            noted = read.copy()
            noted.attrs.update(read.attrs, coverage_note=str(row["reason"]))
            changes[item.name] = noted
    return replace(data, **changes)


def read_site_data(con: duckdb.DuckDBPyConnection) -> SiteData:
    return apply_coverage(_read_tables(con))


def _page_names(read: TableRead) -> TableRead:
    return read.rename(columns=CALIBRATION_PAGE_NAMES) if isinstance(read, pd.DataFrame) else read


def _read_tables(con: duckdb.DuckDBPyConnection) -> SiteData:
    optional = reads.read_optional
    registered = reads.read_registered
    return SiteData(
        run_changes=change_report.read_run_changes(con),
        win_loss=reads.read_win_loss(con),
        deals=reads.read_deals(con),
        account_value=reads.read_account_value(con),
        account_value_bins=reads.read_account_value_bins(con),
        alignment_value_bins=reads.read_alignment_value_bins(con),
        account_totals=read_account_totals(con),
        hypothesis_tests=reads.read_hypothesis_tests(con),
        load_summary=reads.read_load_summary(con),
        rejection_counts=reads.read_rejection_counts(con),
        loss_drivers=optional(con, "loss_drivers", *LOSS_DRIVERS),
        loss_drivers_by_quarter=optional(con, "loss_drivers_by_quarter", *LOSS_DRIVERS_BY_QUARTER),
        strategic_fit_audit=optional(con, "strategic_fit_audit", *STRATEGIC_FIT_AUDIT),
        alignment_band_outcomes=optional(con, "alignment_band_outcomes", *ALIGNMENT_BAND_OUTCOMES),
        trust_event_study=optional(con, "trust_event_study", *TRUST_EVENT_STUDY),
        escalation_paths=optional(con, "escalation_paths", *ESCALATION_PATHS),
        won_deal_lost_customer=optional(con, "won_deal_lost_customer", *WON_DEAL_LOST_CUSTOMER),
        cohort_retention=optional(con, "cohort_retention", *COHORT_RETENTION),
        competitor_response=optional(con, "competitor_response", *COMPETITOR_RESPONSE,
                                     order_by=("segment", "competitor")),
        move_precedents=optional(con, "move_precedents", *MOVE_PRECEDENTS),
        permutation_null=registered(con, tables.PERMUTATION_NULL, order_by=("hypothesis", "permutation")),
        calibration_summary=_page_names(registered(con, tables.CALIBRATION_SUMMARY,
                                                   order_by=("hypothesis", "world"))),
        calibration_worlds=registered(con, tables.CALIBRATION_WORLDS, order_by=("hypothesis", "world", "seed")),
        model_comparison=registered(con, tables.MODEL_COMPARISON),
        feature_importance=registered(con, tables.FEATURE_IMPORTANCE),
        forecast=registered(con, tables.ACCOUNT_VALUE_FORECAST),
        forecast_deciles=registered(con, tables.ACCOUNT_VALUE_FORECAST_DECILES, order_by=("decile",)),
        forecast_evaluation=registered(con, tables.ACCOUNT_VALUE_FORECAST_EVALUATION),
        coverage=reads.read_analysis_coverage(con),
    )
