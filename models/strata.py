"""Strata for permutation-based checks: shuffle a treatment or a block only among comparable accounts.

Both the placebo refuter and the block permutation test permute *within* segment x cohort-year
strata, so the permuted values keep their relation to the coarse confounders (the mix of segments and
cohorts) and lose only the within-stratum link to the outcome that the hypothesis is about.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STRATA_COLUMNS: tuple[str, ...] = ("segment", "cohort_year")
MISSING_LEVEL = "(missing)"


def stratum_codes(frame: pd.DataFrame, columns: tuple[str, ...] = STRATA_COLUMNS) -> np.ndarray:
    """An integer code per row, one per combination of `columns` (missing values are their own level)."""
    present = [c for c in columns if c in frame.columns]
    if not present:
        return np.zeros(len(frame), dtype=np.int64)
    labels = frame[present].astype(object).where(frame[present].notna(), MISSING_LEVEL).astype(str)
    return labels.groupby(present, sort=True).ngroup().to_numpy(dtype=np.int64)


def permutation_within_strata(strata: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An index array p such that values[p] is values shuffled within each stratum.

    Positions sorted by stratum (stable) and positions sorted by stratum then a random key
    visit the strata in the same order, so pairing them maps each row to a random row of its
    own stratum, and every row is used exactly once.
    """
    strata = np.asarray(strata)
    by_stratum = np.argsort(strata, kind="stable")
    shuffled = np.lexsort((rng.random(len(strata)), strata))
    permutation = np.empty(len(strata), dtype=np.int64)
    permutation[by_stratum] = shuffled
    return permutation
