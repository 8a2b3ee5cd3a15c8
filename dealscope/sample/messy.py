"""Realistic bad rows (which the loader must reject) and valid-but-untidy values (which it must load).

Works on the export text of each table. Per table with bad kinds, `bad_row_count`
rows are added (every kind at least once when rate > 0): each one breaks exactly one
contract rule and is otherwise a copy of a real row under a fresh id, so it is
rejected for that reason alone and nothing else refers to it. Duplicates go after
their original (the first row loads). As many existing rows get a valid variant
in place: mixed-case enumerations, padded whitespace, other boolean spellings,
event-type aliases from config/event_types.yml, exponent notation, emoji.
strategy_plan is left clean: a bad plan row would change every deal's alignment.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from dealscope.sample.export import frame_as_text

UNKNOWN_ACCOUNT_ID = "A-9999999"
UNKNOWN_DEAL_ID = "D-99999999"

Rows = pd.DataFrame
Mutation = Callable[[Rows, "_Context"], Rows]


class _Context:
    def __init__(self, frames: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
        self.frames = frames
        self.rng = rng


def _set(column: str, value: str) -> Mutation:
    def mutate(rows: Rows, ctx: _Context) -> Rows:
        rows[column] = value
        return rows

    return mutate


def _both(*mutations: Mutation) -> Mutation:
    def mutate(rows: Rows, ctx: _Context) -> Rows:
        for mutation in mutations:
            rows = mutation(rows, ctx)
        return rows

    return mutate


def _thousands(column: str) -> Mutation:
    def mutate(rows: Rows, ctx: _Context) -> Rows:
        # at least 1,000 so a separator is really there
        rows[column] = np.maximum(pd.to_numeric(rows[column]).to_numpy(), 1234.5)
        rows[column] = rows[column].map("{:,.2f}".format).to_numpy()
        return rows

    return mutate


def _deal_of_other_account(rows: Rows, ctx: _Context) -> Rows:
    deals = ctx.frames["deals"]
    picked = deals.iloc[ctx.rng.integers(0, len(deals), len(rows))]
    rows["deal_id"] = picked["deal_id"].to_numpy()
    accounts = ctx.frames["accounts"]["account_id"].to_numpy()
    other_index = ctx.rng.integers(0, len(accounts), len(rows))
    same = accounts[other_index] == picked["account_id"].to_numpy()
    other_index[same] = (other_index[same] + 1) % len(accounts)
    rows["account_id"] = accounts[other_index]
    return rows


def _changed_amount(column: str) -> Mutation:
    def mutate(rows: Rows, ctx: _Context) -> Rows:
        rows[column] = np.round(pd.to_numeric(rows[column]).to_numpy() * 1.1 + 1.0, 2).astype(str)
        return rows

    return mutate


def _month_in_2019(rows: Rows, ctx: _Context) -> Rows:
    # before any generated revenue, so the row clashes with no (account, month)
    rows["month"] = [f"2019-{m:02d}-01" for m in ctx.rng.integers(1, 13, len(rows))]
    return rows


# Per table: (kind, mutation, gets a fresh id). Each mutation breaks exactly one rule.
# Kinds named duplicate_id* copy an existing key and go after every original row.
BAD_ROW_KINDS: dict[str, list[tuple[str, Mutation, bool]]] = {
    "accounts": [
        ("bad_date:created_at (month 13)", _set("created_at", "2024-13-01"), True),
        ("bad_date:created_at (compact)", _set("created_at", "20240105"), True),
        ("duplicate_id", _set("account_name", "Duplicate export row Ltd"), False),
        ("missing_required:account_name", _set("account_name", ""), True),
        ("bad_number:employee_count", _set("employee_count", "1,200"), True),
        ("bad_enum:segment", _set("segment", "startup"), True),
    ],
    "deals": [
        ("bad_date:created_at", _set("created_at", "2024-13-01"), True),
        ("bad_date:closed_at (compact)", _set("closed_at", "20240105"), True),
        ("bad_number:list_amount", _thousands("list_amount"), True),
        ("unknown_account", _set("account_id", UNKNOWN_ACCOUNT_ID), True),
        ("duplicate_id", _changed_amount("list_amount"), False),
        ("missing_required:product_line", _set("product_line", ""), True),
        ("won without closed_at", _set("closed_at", ""), True),
        ("open with closed_at", _both(_set("stage", "open"), _set("final_amount", "")), True),
        ("closed_at before created_at", _set("closed_at", "2020-12-31"), True),
        ("negative list_amount", _set("list_amount", "-1500"), True),
        ("gross_margin_pct out of range", _set("gross_margin_pct", "1.7"), True),
        ("won without final_amount", _set("final_amount", ""), True),
    ],
    "negotiation_events": [
        ("unknown_account", _both(_set("account_id", UNKNOWN_ACCOUNT_ID), _set("deal_id", "")), True),
        ("deal of another account", _deal_of_other_account, True),
        ("unknown_deal", _set("deal_id", UNKNOWN_DEAL_ID), True),
        ("bad_date:occurred_at", _set("occurred_at", "2024-13-01"), True),
        ("unknown event_type", _set("event_type", "coffee_with_buyer"), True),
        ("severity out of range", _set("severity", "5"), True),
        ("missing_required:event_id", _set("event_id", ""), False),
        ("duplicate_id", _set("notes", "exported twice"), False),
    ],
    "account_revenue": [
        ("negative revenue", _both(_month_in_2019, _set("revenue", "-120.50")), False),
        ("bad_date:month", _set("month", "2024-13-01"), False),
        ("month not first day", _set("month", "2019-03-15"), False),
        ("duplicate_id (account, month)", _changed_amount("revenue"), False),
        ("unknown_account", _set("account_id", UNKNOWN_ACCOUNT_ID), False),
        ("bad_number:revenue", _both(_month_in_2019, _thousands("revenue")), False),
        ("missing_required:revenue", _both(_month_in_2019, _set("revenue", "")), False),
    ],
}
ID_COLUMN = {"accounts": ("account_id", "A-", 6), "deals": ("deal_id", "D-", 7),
             "negotiation_events": ("event_id", "E-", 8)}
EVENT_ALIASES = {"value_review_delivered": "QBR delivered", "escalated_over_buyer": "Executive escalation",
                 "second_source_added": "dual sourcing", "joint_planning": "Account Planning"}
TRUE_SPELLINGS = np.array(["TRUE", "yes", "1", "t", "Y"], dtype=object)
FALSE_SPELLINGS = np.array(["FALSE", "no", "0", "f", "N"], dtype=object)


def bad_row_count(table: str, clean_rows: int, rate: float) -> int:
    """Bad rows add_messy_rows appends to a table of clean_rows rows: ceil(rate * rows), every kind at least once."""
    kinds = BAD_ROW_KINDS.get(table, [])
    if rate <= 0 or not kinds:
        return 0
    return max(math.ceil(rate * clean_rows), len(kinds))


def _pad(values: pd.Series) -> pd.Series:
    return "  " + values + "\t "


def _valid_variants(table: str, rows: Rows, rng: np.random.Generator) -> Rows:
    """Untidy spellings that must load as the clean value."""
    style = np.arange(len(rows)) % 3
    first, second, third = style == 0, style == 1, style == 2
    if table == "accounts":
        rows.loc[first, "segment"] = rows.loc[first, "segment"].str.title()
        rows.loc[second, "account_id"] = _pad(rows.loc[second, "account_id"])
        rows.loc[third, "account_name"] = rows.loc[third, "account_name"] + " \U0001F680"
        rows.loc[third, "segment"] = _pad(rows.loc[third, "segment"].str.upper())
    elif table == "deals":
        rows.loc[first, "stage"] = rows.loc[first, "stage"].str.title()
        rows.loc[first, "deal_type"] = rows.loc[first, "deal_type"].str.upper()
        rows.loc[second, "account_id"] = _pad(rows.loc[second, "account_id"])
        flagged = rows["flagged_strategic"] == "true"
        spelling = rng.integers(0, len(TRUE_SPELLINGS), len(rows))
        rows["flagged_strategic"] = np.where(flagged, TRUE_SPELLINGS[spelling], FALSE_SPELLINGS[spelling])
        rows.loc[third, "product_line"] = _pad(rows.loc[third, "product_line"])
    elif table == "negotiation_events":
        rows.loc[first, "event_type"] = rows.loc[first, "event_type"].str.title()
        rows.loc[second, "event_type"] = _pad(rows.loc[second, "event_type"])
        has_alias = third & rows["event_type"].isin(list(EVENT_ALIASES))
        rows.loc[has_alias, "event_type"] = rows.loc[has_alias, "event_type"].map(EVENT_ALIASES)
    elif table == "account_revenue":
        rows.loc[first, "revenue"] = pd.to_numeric(rows.loc[first, "revenue"]).map("{:.12e}".format)
        rows.loc[second | third, "account_id"] = _pad(rows.loc[second | third, "account_id"])
    return rows


def _bad_rows(table: str, text: pd.DataFrame, count: int, ctx: _Context) -> tuple[Rows, np.ndarray]:
    """The bad rows and, per row, whether it must come after its original (duplicates)."""
    candidates = text
    if table == "deals":
        # closed, won and never re-stamped: a copy is then a plain duplicate, not CRM history
        candidates = text[(text["stage"] == "won") & (text["updated_at"] == "")]
        if candidates.empty:  # tiny worlds only
            candidates = text
    picked = candidates.iloc[ctx.rng.integers(0, len(candidates), count)].copy().reset_index(drop=True)
    kinds = BAD_ROW_KINDS[table]
    kind_of_row = np.arange(count) % len(kinds)
    after_original = np.zeros(count, dtype=bool)
    id_info = ID_COLUMN.get(table)
    next_number = len(text) + 1
    for number, (kind, mutation, fresh_id) in enumerate(kinds):
        rows = kind_of_row == number
        subset = mutation(picked[rows].copy(), ctx)
        if id_info and fresh_id:
            column, prefix, width = id_info
            subset[column] = [f"{prefix}{n:0{width}d}" for n in range(next_number, next_number + len(subset))]
            next_number += len(subset)
        picked[rows] = subset
        after_original[rows] = kind.startswith("duplicate_id")
    return picked, after_original


def add_messy_rows(frames: dict[str, pd.DataFrame], rate: float, seed: int) -> dict[str, pd.DataFrame]:
    """Text frames with bad rows added and as many rows made untidy-but-valid (see module doc).

    rate 0 returns the frames as text, unchanged in content.
    """
    rng = np.random.default_rng([seed, 20_251_231])
    text = {table: frame_as_text(frame, table) for table, frame in frames.items()}
    ctx = _Context(text, rng)
    out: dict[str, pd.DataFrame] = {}
    for table, clean in text.items():
        count = bad_row_count(table, len(clean), rate)
        if count == 0 or clean.empty:
            out[table] = clean
            continue
        untidy = clean.copy()
        chosen = rng.choice(len(clean), size=min(count, len(clean)), replace=False)
        untidy.iloc[chosen] = _valid_variants(table, untidy.iloc[chosen].copy().reset_index(drop=True), rng).to_numpy()
        bad, after_original = _bad_rows(table, clean, count, ctx)
        # bad rows are scattered through the file; duplicates follow every original row
        position = np.concatenate([
            np.arange(len(clean), dtype=float),
            np.where(after_original, len(clean) + np.arange(count), rng.uniform(0, len(clean), count)),
        ])
        combined = pd.concat([untidy, bad.astype(untidy.dtypes.to_dict())], ignore_index=True)
        out[table] = combined.iloc[np.argsort(position, kind="stable")].reset_index(drop=True)
    return out
