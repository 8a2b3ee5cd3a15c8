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


# --- Evidence: calibration study and model comparison -----------------------------------------

NOMINAL_FALSE_ALARM = 0.05
NOMINAL_COVERAGE = 0.95


def _rate_with_interval(row: Mapping[str, Any], measure: str) -> str:
    low, high = row.get(f"{measure}_ci_low"), row.get(f"{measure}_ci_high")
    interval = ("" if is_missing(low) or is_missing(high)
                else f" (95% interval {format_pct(low)} to {format_pct(high)})")
    return f"{format_pct(row.get(measure))}{interval}"


def _worlds(row: Mapping[str, Any]) -> str:
    return f"{format_count(row.get('worlds'))} worlds"


def calibration_study_sentence(summary: pd.DataFrame) -> str:
    """How many worlds of which size, and the command that produced them."""
    per_kind = summary.groupby("world", sort=True)["worlds"].max()
    kinds = {"null": "no-effect", "planted": "planted-effect"}
    counts = " and ".join(f"{format_count(n)} {kinds.get(str(world), str(world))}"
                          for world, n in per_kind.items())
    accounts = summary["accounts_per_world"].dropna().unique()
    size = (f" of {format_count(accounts[0])} accounts each" if len(accounts) == 1
            else f" of {', '.join(format_count(a) for a in sorted(accounts))} accounts"
            if len(accounts) else "")
    sentence = (f"The study generated {counts} worlds{size}: synthetic exports where the true "
                "effect is known (zero, or planted), each run through the same loader, dbt models "
                "and hypothesis tests as the real data.")
    commands = summary["study_command"].dropna().astype(str).unique()
    when = summary["studied_at"].dropna()
    if len(commands):
        sentence += f" Produced by: {'; '.join(commands)}"
        sentence += f" (run {format_date(when.max())})." if len(when) else "."
    return sentence


def calibration_findings(summary: pd.DataFrame) -> list[str]:
    """One plain sentence per promise and hypothesis (false alarms, power, coverage), built
    from the summary's numbers; 'consistent' means the Wilson interval reaches the promise."""
    rows = summary.to_dict("records")
    null = [row for row in rows if str(row.get("world")) == "null"]
    planted = [row for row in rows if str(row.get("world")) != "null"]
    sentences = []
    def false_alarms(row: Mapping[str, Any], measure: str) -> str:
        low = row.get(f"{measure}_ci_low")
        kept = ("consistent with the promised 5% at most"
                if is_missing(low) or float(low) <= NOMINAL_FALSE_ALARM
                else f"more often than the promised {NOMINAL_FALSE_ALARM:.0%}")
        return f"{_rate_with_interval(row, measure)}: {kept}"

    for row in null:
        two_sided = ("" if is_missing(row.get("two_sided_rejection_rate")) else
                     " The two-sided test (p < 0.05) fired in "
                     f"{false_alarms(row, 'two_sided_rejection_rate')}.")
        sentences.append(
            f"False alarms, {readable(row.get('hypothesis'))}: in {_worlds(row)} with no real effect, "
            f"the verdict 'supported' came out in {false_alarms(row, 'supported_rate')}.{two_sided}")
    for row in planted:
        sentences.append(
            f"Power, {readable(row.get('hypothesis'))}: with a planted effect of "
            f"{format_signed_number(row.get('truth'))}, the verdict was 'supported' in "
            f"{_rate_with_interval(row, 'supported_rate')} of {_worlds(row)}.")
    for row in null + planted:
        high, low = row.get("coverage_ci_high"), row.get("coverage_ci_low")
        if not is_missing(high) and float(high) < NOMINAL_COVERAGE:
            kept = "below the promise: the intervals look too narrow"
        elif not is_missing(low) and float(low) > NOMINAL_COVERAGE:
            kept = "above the promise: the intervals are wider than they need to be"
        else:
            kept = "consistent with the promise"
        world = "no-effect" if str(row.get("world")) == "null" else "planted-effect"
        sentences.append(
            f"Coverage, {readable(row.get('hypothesis'))}, {world} worlds: the 95% interval "
            f"contained the true effect in {_rate_with_interval(row, 'coverage')} of {_worlds(row)}. "
            f"Promised: {NOMINAL_COVERAGE:.0%}; {kept}.")
    return sentences


BLOCK_FEATURE_SETS = (("strategic alignment", "baseline+alignment"), ("trust events", "baseline+trust"))
# main.model_comparison's `split`: account-grouped folds, or trained on earlier cohorts and tested on
# later ones (calendar time). A table without the column (an older warehouse) is all account folds.
ACCOUNT_FOLDS, LATER_COHORTS = "account_folds", "later_cohorts"


def comparison_split(comparison: pd.DataFrame, split: str) -> pd.DataFrame:
    """The rows of one split of main.model_comparison (no `split` column or NULL: account folds)."""
    if "split" not in comparison:
        return comparison if split == ACCOUNT_FOLDS else comparison.iloc[0:0]
    splits = comparison["split"].astype("object").where(comparison["split"].notna(), ACCOUNT_FOLDS)
    return comparison[splits.astype(str) == split]


def _gain_verdict(row: Mapping[str, Any]) -> tuple[str, str]:
    """(verdict, detail) for one learner's gain over the baseline: the interval decides when
    there is one, else the p-value at the contract's level."""
    gain, low, high = row.get("gain_vs_baseline"), row.get("gain_ci_low"), row.get("gain_ci_high")
    p = row.get("gain_p_value")
    if is_missing(gain):
        return "has no reported gain", "no gain reported"
    if not (is_missing(low) or is_missing(high)):
        clear_up, clear_down = float(low) > 0, float(high) < 0
        detail = (f"{format_signed_number(gain)} R², 95% CI {format_signed_number(low)} to "
                  f"{format_signed_number(high)}")
    else:
        significant = not is_missing(p) and float(p) < SIGNIFICANCE_LEVEL
        clear_up, clear_down = significant and float(gain) > 0, significant and float(gain) < 0
        detail = f"{format_signed_number(gain)} R², {format_p_value(p)}"
    verdict = ("improves prediction" if clear_up else "makes prediction worse" if clear_down
               else "does not clearly change prediction")
    return verdict, detail


def format_signed_number(value: Any) -> str:
    formatted = format_number(value)
    return formatted if formatted.startswith("-") or formatted in (NOT_AVAILABLE, "0") else f"+{formatted}"


def model_comparison_sentence(comparison: pd.DataFrame) -> str:
    """One sentence: does adding alignment / trust to the baseline features improve out-of-fold
    prediction, per learner, with the gain and its interval (account-grouped folds only)."""
    comparison = comparison_split(comparison, ACCOUNT_FOLDS)
    parts = []
    for block, feature_set in BLOCK_FEATURE_SETS:
        rows = comparison[comparison["feature_set"].astype(str) == feature_set]
        if rows.empty:
            continue
        verdicts = [(learner, *_gain_verdict(row))
                    for learner, row in zip(rows["learner"].astype(str), rows.to_dict("records"))]
        if len({verdict for _, verdict, _ in verdicts}) == 1:
            either = "either model" if len(verdicts) == 2 else (
                f"the {verdicts[0][0]} model" if len(verdicts) == 1 else "any model")
            details = "; ".join(f"{learner}: {detail}" for learner, _, detail in verdicts)
            parts.append(f"adding {block} {verdicts[0][1]} for {either} ({details})")
        else:
            parts.append(f"adding {block} " + " but ".join(
                f"{verdict} for the {learner} model ({detail})" for learner, verdict, detail in verdicts))
    if not parts:
        return "The comparison holds no feature set with alignment or trust added to the baseline."
    sentence = "; ".join(parts) + "."
    # "improves prediction for both models", but "does not clearly change it for either model".
    sentence = sentence.replace("for either model", "for both models").replace(
        "does not clearly change prediction for both models",
        "does not clearly change prediction for either model")
    return sentence[:1].upper() + sentence[1:]


# --- descriptive marts: competitor response, our moves ----------------------------------------

def _apart(frame: pd.DataFrame, first: str, second: str) -> tuple[pd.Series, pd.Series]:
    """(second clearly above first, second clearly below first): 95% intervals that do not overlap."""
    above = frame[f"{second}_ci_low"].astype("float64") > frame[f"{first}_ci_high"].astype("float64")
    below = frame[f"{second}_ci_high"].astype("float64") < frame[f"{first}_ci_low"].astype("float64")
    return above.fillna(False), below.fillna(False)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def competitor_response_summary(response: pd.DataFrame, small_sample: int) -> str:
    """What followed our first win against each competitor, counted over competitor-segment
    pairs. A pair is compared only when both sides rest on at least `small_sample` deals
    (appearance share) or appearances (price cuts): a rate of 0 in 5 is not a finding.
    'Clearly' means the two 95% intervals do not overlap."""
    beaten = response[response["deals_after"].astype("float64").fillna(0) > 0]
    sentences = [f"We have beaten the competitor in {_plural(len(beaten), 'competitor-segment pair')}."]
    for measure, base, what in (("appearances_per_deal", "deals", "Share of the segment's deals it appears on"),
                                ("price_cuts_per_appearance", "appearances", "Its price cuts per deal it is on")):
        enough = beaten[(beaten[f"{base}_before"].astype("float64") >= small_sample)
                        & (beaten[f"{base}_after"].astype("float64") >= small_sample)]
        left_out = len(beaten) - len(enough)
        if enough.empty:
            sentences.append(f"{what}: cannot be compared yet, no pair has {small_sample} {base} or "
                             "more both before and after our first win.")
            continue
        more, less = _apart(enough, f"{measure}_before", f"{measure}_after")
        unclear = len(enough) - int(more.sum()) - int(less.sum())
        note = (f"; {_plural(left_out, 'pair')} with fewer than {small_sample} {base} on one side "
                "left out" if left_out else "")
        sentences.append(f"{what}: clearly higher after our first win in {int(more.sum()):,}, clearly "
                         f"lower in {int(less.sum()):,}, no clear change in {unclear:,}{note}.")
    unbeaten = len(response) - len(beaten)
    if unbeaten:
        verb = "has" if unbeaten == 1 else "have"
        sentences.append(f"{_plural(unbeaten, 'pair')} without a win against the competitor {verb} no 'after'.")
    sentences.append("(Clearly: the 95% intervals before and after do not overlap.)")
    return " ".join(sentences)


def move_precedents_summary(moves: pd.DataFrame, small_sample: int) -> str:
    """Which of our moves were followed by trust-building / expansion more or less often than an
    arbitrary month (95% intervals apart)."""
    window = moves["window_months"].dropna()
    months = f"{int(window.iloc[0])} months" if len(window) else "the window"
    labels = [
        (f"won {move} deal".replace("_", " ") if str(kind) == "deal_type" else str(move).replace("_", " "))
        for kind, move in zip(moves["move_kind"], moves["move"])
    ]
    moves = moves.assign(label=labels)
    sentences = []
    for outcome, what in (("trust_building", "a trust-building event"), ("expansion", "a new expansion deal")):
        baseline = moves[f"baseline_share_with_{outcome}"].dropna()
        if baseline.empty:
            continue
        above, below = _apart(moves, f"baseline_share_with_{outcome}", f"share_with_{outcome}")
        above_list = ", ".join(moves.loc[above, "label"]) or "none"
        below_list = ", ".join(moves.loc[below, "label"]) or "none"
        sentences.append(
            f"After an arbitrary month, {format_pct(baseline.iloc[0])} of accounts had {what} within "
            f"{months}. More often after: {above_list}. Less often after: {below_list}.")
    small = int((moves["accounts"].astype("float64") < small_sample).sum())
    if small:
        verb = "rests" if small == 1 else "rest"
        sentences.append(f"{_plural(small, 'move')} {verb} on fewer than {small_sample} accounts "
                         "(small samples: read with care).")
    return " ".join(sentences) + (" Descriptive: these moves were not assigned at random, so this "
                                  "shows what followed them, not what they caused.")


# --- Win / loss: strengths and priorities ---------------------------------------------------

PLACEHOLDER_DRIVERS = frozenset({"unknown", "none"})  # no reason / no competitor recorded


def strengths_sentence(ranked: Any, flagged: Any, fdr_controlled: bool, shown_per_side: int) -> str:
    """How many cells differ from the company rate, and how many chance alone would give."""
    tested = len(ranked)
    strengths = int((flagged["win_rate_diff_vs_overall"] > 0).sum())
    weaknesses = int((flagged["win_rate_diff_vs_overall"] < 0).sum())
    by_chance = SIGNIFICANCE_LEVEL * tested
    if fdr_controlled:
        return (f"Cells whose win rate differs from the company rate after FDR control (Benjamini-Hochberg "
                f"over all {tested:,} cells tested, q < {SIGNIFICANCE_LEVEL:.0%}): {strengths:,} strengths "
                f"and {weaknesses:,} weaknesses, up to {shown_per_side} shown on each side. Testing each "
                f"cell at {SIGNIFICANCE_LEVEL:.0%} without correction would flag about {by_chance:.1f} "
                f"cells by chance alone even if no cell differed; after FDR control at most about "
                f"{SIGNIFICANCE_LEVEL:.0%} of the flagged cells are expected to be false.")
    return (f"Cells whose win rate differs from the company rate at the {SIGNIFICANCE_LEVEL:.0%} level, "
            f"with no correction for testing {tested:,} cells: {strengths:,} strengths and {weaknesses:,} "
            f"weaknesses, up to {shown_per_side} shown on each side; about {by_chance:.1f} such flags are "
            f"expected by chance alone.")


def loss_priorities_sentence(drivers: Any, measure: str) -> str:
    """Names the top loss reasons and the top competitor by the measure, plainly."""
    def top(kind: str, count: int) -> list[Any]:
        rows = drivers[(drivers["driver_kind"] == kind)
                       & ~drivers["driver"].astype(str).str.lower().isin(PLACEHOLDER_DRIVERS)]
        return list(rows.sort_values(measure, ascending=False).head(count).itertuples())

    def describe(row: Any) -> str:
        listed = "" if measure == "value_lost" else f"; {format_amount(row.value_lost)} at list price"
        return f"\u201c{row.driver}\u201d ({format_amount(getattr(row, measure))}{listed})"

    what = "expected value lost" if measure == "expected_value_lost" else "value lost at list price"
    reasons, competitors = top("loss_reason", 2), top("competitor", 1)
    if not reasons and not competitors:
        return f"No recorded loss reason or competitor to rank by {what}."
    parts = []
    if reasons:
        parts.append("loss reason" + ("s " if len(reasons) > 1 else " ") + " and ".join(map(describe, reasons)))
    if competitors:
        parts.append("competitor " + describe(competitors[0]))
    return f"Top priorities by {what}: " + "; ".join(parts) + "."
