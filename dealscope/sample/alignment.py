"""Strategic alignment of deals, exactly as docs/CONTRACT.md defines it.

For the plan version in force at a deal's created_at: each dimension the version
names scores +weight (target), -weight (avoid) or 0 (value not named); the sum is
divided by the sum, over those dimensions, of the largest weight the dimension has.
Deals created before the first version get NaN (no alignment, not 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PLAN_DIMENSIONS = ("segment", "industry", "region", "product_line", "deal_type")


def normalise_plan(plan: pd.DataFrame) -> pd.DataFrame:
    """Plan rows with trimmed lower-case text, datetime effective_from and missing weight = 1."""
    return pd.DataFrame(
        {
            "effective_from": pd.to_datetime(plan["effective_from"]),
            "dimension": plan["dimension"].astype(str).str.strip().str.lower(),
            "value": plan["value"].astype(str).str.strip().str.lower(),
            "stance": plan["stance"].astype(str).str.strip().str.lower(),
            "weight": pd.to_numeric(plan["weight"]).fillna(1.0).astype(float),
        }
    )


def _coded(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes per row (-1 = missing) and the distinct values trimmed and lower-cased.

    Normalising the few distinct values instead of every row keeps this fast at millions of deals.
    """
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    return codes, pd.Index(distinct).astype(str).str.strip().str.lower()


def strategic_alignment(deals: pd.DataFrame, plan: pd.DataFrame) -> pd.Series:
    """Alignment in [-1, 1] per deal row (NaN before the first plan version).

    `deals` needs created_at and every dimension column the plan names
    (segment, industry and region come from the deal's account).
    Loops run over plan versions and dimensions (configuration), never over deals.
    """
    rules = normalise_plan(plan)
    versions = np.sort(rules["effective_from"].unique())
    created = pd.to_datetime(deals["created_at"]).to_numpy()
    version_of_deal = np.searchsorted(versions, created, side="right") - 1
    alignment = np.full(len(deals), np.nan)
    coded = {dimension: _coded(deals[dimension]) for dimension in rules["dimension"].unique()}
    for version_number, effective_from in enumerate(versions):
        in_force = version_of_deal == version_number
        if not in_force.any():
            continue
        version_rules = rules[rules["effective_from"] == effective_from]
        score_sum = np.zeros(int(in_force.sum()))
        max_weight_sum = 0.0
        for dimension, dimension_rules in version_rules.groupby("dimension", sort=True):
            signed_weight = np.where(
                dimension_rules["stance"] == "target", dimension_rules["weight"], -dimension_rules["weight"]
            )
            lookup = pd.Series(signed_weight, index=dimension_rules["value"].to_numpy())
            codes, distinct = coded[dimension]
            score_of_value = np.append(distinct.map(lookup).to_numpy(dtype=float, na_value=np.nan), np.nan)
            score_sum += np.nan_to_num(score_of_value[codes[in_force]])  # code -1 (missing) -> appended NaN -> 0
            max_weight_sum += float(dimension_rules["weight"].max())
        alignment[in_force] = score_sum / max_weight_sum
    return pd.Series(alignment, index=deals.index, name="alignment_score")
