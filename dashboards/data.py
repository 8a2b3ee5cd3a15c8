"""Everything the pages show, read from the warehouse in one pass (dashboards.reads).

Tables from the metric and statistics stages that a warehouse may not hold yet are
`TableRead`s: a frame, or an `Unavailable` the page states in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from dashboards import reads
from dashboards.reads import TableRead

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
LOSS_DRIVERS = (("driver_kind", "driver", "value_lost"), ("deals_lost", "share_of_value_lost", "rank"))
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
     "monthly_revenue_after", "monthly_revenue_change"),
)
COHORT_RETENTION = (
    ("cohort_year", "years_since_start", "net_revenue_retention"),
    ("accounts", "starting_revenue", "gross_revenue_retention"),
)


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
    permutation_null: TableRead
    calibration: TableRead
    forecast: TableRead


def read_account_totals(con: duckdb.DuckDBPyConnection) -> AccountTotals:
    """Totals over account_value for the overview's headline (sums of the mart's columns)."""
    columns = reads.table_columns(con, "main", "account_value") or set()
    active = "count(*) FILTER (WHERE is_active)" if "is_active" in columns else "NULL"
    accounts, active_accounts, revenue, margin = con.execute(
        f"SELECT count(*), {active}, sum(lifetime_revenue), sum(lifetime_gross_margin) "
        "FROM main.account_value"
    ).fetchone()
    return AccountTotals(accounts, active_accounts, revenue, margin)


def read_site_data(con: duckdb.DuckDBPyConnection) -> SiteData:
    optional = reads.read_optional
    return SiteData(
        win_loss=reads.read_win_loss(con),
        deals=reads.read_deals(con),
        account_value=reads.read_account_value(con),
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
        permutation_null=reads.read_discovered(con, "permutation"),
        calibration=reads.read_discovered(con, "calibration"),
        forecast=reads.read_discovered(con, "account_value_forecast"),
    )
