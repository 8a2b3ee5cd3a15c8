"""Plain-language text generated from warehouse numbers: formats, headlines, verdicts.

Every sentence here is built from a row's values, so a page never states a finding the
tables do not hold. Functions return plain text; the page layer escapes it for HTML.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from dashboards.reads import OVERALL_DIMENSIONS

NOT_AVAILABLE = "n/a"
SIGNIFICANCE_LEVEL = 0.05  # the contract's level for `supported`
VALUE_SOURCE_WON_DEALS = "won_deals"


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def format_pct(value: Any) -> str:
    """A share as a percentage with one decimal: 0.625 -> '62.5%'."""
    return NOT_AVAILABLE if is_missing(value) else f"{float(value) * 100:.1f}%"


def format_amount(value: Any) -> str:
    """A money amount in whole units with thousands separators (no currency: exports carry none)."""
    return NOT_AVAILABLE if is_missing(value) else f"{float(value):,.0f}"


def format_count(value: Any) -> str:
    return NOT_AVAILABLE if is_missing(value) else f"{int(value):,}"


def format_number(value: Any) -> str:
    """An estimate to three significant figures, without scientific notation for large values."""
    if is_missing(value):
        return NOT_AVAILABLE
    number = float(value)
    if number == 0:
        return "0"
    if abs(number) >= 1000:
        return f"{number:,.0f}"
    digits = max(0, 2 - int(math.floor(math.log10(abs(number)))))
    rounded = f"{number:.{digits}f}"
    return rounded.rstrip("0").rstrip(".") if "." in rounded else rounded


def format_p_value(value: Any) -> str:
    if is_missing(value):
        return "p not reported"
    p = float(value)
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def format_date(value: Any) -> str:
    return NOT_AVAILABLE if is_missing(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def to_bool(value: Any) -> bool | None:
    return None if is_missing(value) else bool(value)


def split_overall(win_loss: pd.DataFrame) -> tuple[pd.Series | None, pd.DataFrame]:
    """The company-wide row (dimension 'overall' or an alias) and the per-dimension rows."""
    is_overall = win_loss["dimension"].astype("string").str.lower().isin(OVERALL_DIMENSIONS)
    overall_rows = win_loss[is_overall.fillna(False).astype(bool)]
    by_dimension = win_loss[~is_overall.fillna(False).astype(bool)]
    overall = overall_rows.iloc[0] if len(overall_rows) else None
    return overall, by_dimension


@dataclass(frozen=True)
class Headline:
    win_rate: str
    ci_low: str
    ci_high: str
    deals_won: str
    deals_closed: str
    value_won: str

    @property
    def interval_sentence(self) -> str:
        return (
            f"of closed deals won (95% Wilson interval {self.ci_low} to {self.ci_high}; "
            f"{self.deals_won} won of {self.deals_closed} closed)"
        )


def headline(overall: pd.Series | None) -> Headline:
    row: Mapping[str, Any] = {} if overall is None else overall
    return Headline(
        win_rate=format_pct(row.get("win_rate")),
        ci_low=format_pct(row.get("win_rate_ci_low")),
        ci_high=format_pct(row.get("win_rate_ci_high")),
        deals_won=format_count(row.get("deals_won")),
        deals_closed=format_count(row.get("deals_closed")),
        value_won=format_amount(row.get("value_won")),
    )


@dataclass(frozen=True)
class DealCoverage:
    deals: int
    by_stage: dict[str, int]
    first_created: str
    last_created: str
    first_closed: str
    last_closed: str


def deal_coverage(deals: pd.DataFrame) -> DealCoverage:
    """How many deals the warehouse holds and the dates they span."""
    stage_counts = deals["stage"].fillna("unknown").value_counts().sort_index()
    return DealCoverage(
        deals=len(deals),
        by_stage={str(stage): int(count) for stage, count in stage_counts.items()},
        first_created=format_date(deals["created_at"].min()),
        last_created=format_date(deals["created_at"].max()),
        first_closed=format_date(deals["closed_at"].min()),
        last_closed=format_date(deals["closed_at"].max()),
    )


def won_deals_disclosure(account_value: pd.DataFrame) -> str | None:
    """The contract-required notice when account value was derived from won deals, else None."""
    derived = account_value["value_source"].astype("string").str.lower().eq(VALUE_SOURCE_WON_DEALS)
    derived_accounts = int(derived.fillna(False).sum())
    if derived_accounts == 0:
        return None
    return (
        f"Account value for {derived_accounts:,} of {len(account_value):,} accounts is derived "
        "from won deals (final amount x gross margin %, booked in the month each deal closed), "
        "because no account revenue export was loaded for them. It is contracted value, "
        "not realised revenue."
    )


def readable(identifier: object) -> str:
    """'trust_eroding_events' -> 'Trust eroding events'; 'a:b_c' -> 'A: b c'."""
    words = str(identifier).replace("_", " ").replace(":", ": ").strip()
    return words[:1].upper() + words[1:]


def hypothesis_label(row: Mapping[str, Any]) -> str:
    block = row.get("feature_block")
    name = readable(row.get("hypothesis"))
    shows_block = not is_missing(block) and readable(block).lower() not in name.lower()
    return f"{name} (features: {readable(block).lower()})" if shows_block else name


def hypothesis_verdict(row: Mapping[str, Any]) -> str:
    """One hypothesis_tests row as a sentence: estimate, interval, p, sample, and the verdict."""
    unit = row.get("unit")
    unit_text = "" if is_missing(unit) else f" ({unit})"
    estimate = row.get("estimate")
    interval = (
        f"95% CI {format_number(row.get('ci_low'))} to {format_number(row.get('ci_high'))}"
        if not (is_missing(row.get("ci_low")) or is_missing(row.get("ci_high")))
        else "no interval reported"
    )
    details = [interval, format_p_value(row.get("p_value"))]
    if not is_missing(row.get("p_value_holm")):  # several tests at once: the adjusted p decides
        details.append(f"Holm-adjusted {format_p_value(row.get('p_value_holm'))}")
    if not is_missing(row.get("n_accounts")):
        details.append(f"{format_count(row.get('n_accounts'))} accounts")
    if not is_missing(row.get("method")):
        details.append(f"method: {row.get('method')}")
    supported = to_bool(row.get("supported"))
    if supported is True:
        verdict = (
            f"Supported: the test rejects 'no effect' at the {SIGNIFICANCE_LEVEL:.0%} level."
        )
    elif supported is False:
        verdict = (
            f"Not supported: at the {SIGNIFICANCE_LEVEL:.0%} level the data do not rule out "
            "'no effect'."
        )
    else:
        verdict = "No verdict: the test reported no result."
    return (
        f"{hypothesis_label(row)}: estimated effect {format_number(estimate)}{unit_text}; "
        f"{'; '.join(details)}. {verdict}"
    )


# --- whole-column formatting for tables ----------------------------------------------------

_PERCENT_HINTS = ("_pct", "share", "rate", "retention", "coverage")
_AMOUNT_HINTS = ("value", "amount", "margin", "revenue", "stake", "velocity")


def column_kind(name: str, dtype: object) -> str:
    """How a column is shown, from its name and type: 'pct', 'amount', 'count', 'p', 'date',
    'bool', 'number' or 'text'."""
    lowered = name.lower()
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "date"
    if not pd.api.types.is_numeric_dtype(dtype):
        return "text"
    if lowered.startswith("p_value") or lowered.endswith("p_value"):
        return "p"
    if any(hint in lowered for hint in _PERCENT_HINTS) and "ci" not in lowered.split("_")[:1]:
        return "pct"
    if any(hint in lowered for hint in _AMOUNT_HINTS):
        return "amount"
    if pd.api.types.is_integer_dtype(dtype):
        return "count"
    return "number"


def format_column(values: pd.Series, kind: str) -> pd.Series:
    formatter = {
        "pct": format_pct, "amount": format_amount, "count": format_count,
        "p": lambda v: NOT_AVAILABLE if is_missing(v) else f"{float(v):.3f}",
        "date": format_date, "bool": lambda v: NOT_AVAILABLE if is_missing(v) else ("yes" if v else "no"),
        "number": format_number,
        "text": lambda v: NOT_AVAILABLE if is_missing(v) else str(v),
    }[kind]
    return values.map(formatter)


def format_frame(frame: pd.DataFrame, kinds: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Every column formatted for reading; headers lose their underscores."""
    kinds = dict(kinds or {})
    return pd.DataFrame(
        {
            column.replace("_", " "): format_column(
                frame[column], kinds.get(column, column_kind(column, frame[column].dtype))
            )
            for column in frame.columns
        }
    )


def short_verdict(row: Mapping[str, Any]) -> str:
    """The verdict first, then the estimate and interval: for the overview."""
    supported = to_bool(row.get("supported"))
    verdict = {True: "supported", False: "not supported", None: "no result"}[supported]
    interval = (
        f" (95% CI {format_number(row.get('ci_low'))} to {format_number(row.get('ci_high'))})"
        if not (is_missing(row.get("ci_low")) or is_missing(row.get("ci_high"))) else ""
    )
    unit = row.get("unit")
    unit_text = "" if is_missing(unit) else f", in {unit}"
    sample = "" if is_missing(row.get("n_accounts")) else f"; {format_count(row.get('n_accounts'))} accounts"
    return (f"{hypothesis_label(row)}: {verdict}. Estimated effect {format_number(row.get('estimate'))}"
            f"{interval}{unit_text}; {format_p_value(row.get('p_value'))}{sample}.")
