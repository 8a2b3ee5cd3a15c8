"""Number, date and table-cell formatting shared by every page (plain text, no HTML).

Functions return plain strings; the page layer escapes them for HTML.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd


NOT_AVAILABLE = "n/a"
SIGNIFICANCE_LEVEL = 0.05  # the contract's level for `supported`


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


def readable(identifier: object) -> str:
    """'trust_eroding_events' -> 'Trust eroding events'; 'a:b_c' -> 'A: b c'."""
    words = str(identifier).replace("_", " ").replace(":", ": ").strip()
    return words[:1].upper() + words[1:]


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


def apart(frame: pd.DataFrame, first: str, second: str) -> tuple[pd.Series, pd.Series]:
    """(second clearly above first, second clearly below first): 95% intervals that do not overlap."""
    above = frame[f"{second}_ci_low"].astype("float64") > frame[f"{first}_ci_high"].astype("float64")
    below = frame[f"{second}_ci_high"].astype("float64") < frame[f"{first}_ci_low"].astype("float64")
    return above.fillna(False), below.fillna(False)


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def format_signed(value: object) -> str:
    formatted = format_number(value)
    return formatted if formatted.startswith("-") or formatted in ("n/a", "0") else f"+{formatted}"


def format_signed_number(value: Any) -> str:
    formatted = format_number(value)
    return formatted if formatted.startswith("-") or formatted in (NOT_AVAILABLE, "0") else f"+{formatted}"
