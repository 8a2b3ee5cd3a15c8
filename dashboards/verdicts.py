"""Hypothesis verdict sentences, shared by the Overview and Evidence pages.

Every sentence is built from a row's values, so a page never states a finding the
tables do not hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from dashboards.components import esc
from dashboards.formatting import (
    SIGNIFICANCE_LEVEL, format_count, format_number, format_p_value, is_missing, readable, to_bool,
)


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


def verdict_items(tests: pd.DataFrame, short: bool = False) -> str:
    """One sentence per test row: the warehouse's own verdict text when it has one."""
    if tests.empty:
        return '<p class="muted">The warehouse holds no hypothesis test results.</p>'
    items = []
    generate = short_verdict if short else hypothesis_verdict
    for row in tests.to_dict("records"):
        sentence = row.get("verdict")
        sentence = generate(row) if is_missing(sentence) else str(sentence)
        # the verdict's own conclusion, when the table has one: a significant association between
        # accounts is not shown as a supported hypothesis
        conclusion = row.get("conclusion")
        supported = (conclusion == "supported" if not is_missing(conclusion)
                     else to_bool(row.get("supported")))
        css = "supported" if supported else ""
        items.append(f'<li class="{css}">{esc(sentence)}</li>')
    return "<ul>\n" + "\n".join(items) + "\n</ul>"


def deciding_tests(tests: pd.DataFrame) -> pd.DataFrame:
    """The rows that decide each hypothesis: the adjusted effects when the table says which."""
    if "test" in tests and tests["test"].notna().any():
        return tests[tests["test"].astype("string") == "adjusted_effect"]
    return tests
