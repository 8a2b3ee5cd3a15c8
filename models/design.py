"""The design of every test: how an analysis sample is chosen from the feature blocks, how its
columns enter a model (design frames), and how accounts are split into cross-fitting folds."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from models.features import TRUST_ERODING_TOTAL, FeatureBlocks

if TYPE_CHECKING:
    from models.hypotheses import HypothesisSpec

MISSING_CATEGORY = "(missing)"
# Money columns enter models on a signed-log scale (monotone, so trees are unaffected;
# it keeps a linear learner from being dominated by a few huge accounts).
SIGNED_LOG_COLUMNS: tuple[str, ...] = ("value_won", "early_revenue", "early_gross_margin")
OTHER_TRUST_ERODING = "n_other_trust_eroding_events"
MIN_ACCOUNTS_PER_FOLD = 4
# Repeated cross-fitting (median over fold shuffles) guards against one unlucky split, which matters
# in small samples; above this many analysed accounts one shuffle is used (half the fits: the
# statistical stage at 100,000 accounts, docs/statistics.md section 6).
DEFAULT_REPEATS = 2
SINGLE_REPEAT_ABOVE_ACCOUNTS = 20_000


def design_frame(frame: pd.DataFrame, categorical: list[str], numeric: list[str]) -> pd.DataFrame:
    """The model input: categories as text with an explicit missing level, numbers as float."""
    categories = frame[categorical].astype(object).where(frame[categorical].notna(), MISSING_CATEGORY).astype(str)
    numbers = frame[numeric].astype(float)
    for column in set(numeric) & set(SIGNED_LOG_COLUMNS):
        numbers[column] = np.sign(numbers[column]) * np.log1p(np.abs(numbers[column]))
    return pd.concat([categories, numbers], axis=1)


def design_matrix(frame: pd.DataFrame, categorical: list[str], numeric: list[str]) -> np.ndarray:
    """`design_frame` as one float array for the learners built with `positional=True` (`as_design_matrix`)."""
    return as_design_matrix(design_frame(frame, categorical, numeric), categorical, numeric)


def as_design_matrix(x: pd.DataFrame, categorical: list[str], numeric: list[str]) -> np.ndarray:
    """A design frame's `categorical` then `numeric` columns as one float array: each categorical column
    as the rank of its text level among the sorted levels (the order in which OneHotEncoder sorts text
    categories, so the one-hot columns of any subset of rows come out identical), then the numbers.

    Why: the learners are refitted hundreds of times per run on a few thousand rows, and on a frame
    most of each fit went to pandas indexing and per-column conversion and checks; on one numeric
    array the same preprocessing (still fitted inside each fold) gives the same matrix, bit for bit.
    """
    codes = [np.unique(x[column].to_numpy(dtype=object), return_inverse=True)[1].astype(float)
             for column in categorical]
    numbers = x[numeric].to_numpy(dtype=float)
    if np.isinf(numbers).any():
        # what scikit-learn's input check said, which the learners skip on these arrays
        # (`models.estimators.checked_input`)
        raise ValueError(f"Input X contains infinity: columns {[c for c in numeric if np.isinf(x[c]).any()]}")
    return np.column_stack([*codes, numbers]) if codes else np.ascontiguousarray(numbers)


def grouped_folds(groups: np.ndarray, n_splits: int, random_state: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Account-grouped folds: no account is ever on both sides of a split."""
    splitter = GroupKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    placeholder = np.zeros((len(groups), 1))
    # integer codes: on text ids GroupKFold's shuffled split (np.isin on objects) took ~80% of the
    # stage's time at 30,000 accounts; on codes it is instant. Same groups, so the same partition.
    codes = pd.factorize(np.asarray(groups))[0]
    return list(splitter.split(placeholder, groups=codes))


def analysis_sample(spec: HypothesisSpec, blocks: FeatureBlocks) -> tuple[pd.DataFrame, np.ndarray, int]:
    """(frame, outcome, accounts dropped for a missing treatment) for one hypothesis."""
    frame = blocks.frame
    if OTHER_TRUST_ERODING in spec.extra_controls:
        frame = frame.assign(**{OTHER_TRUST_ERODING: frame[TRUST_ERODING_TOTAL] - frame[spec.treatment]})
    if not spec.requires_treatment:
        return frame, blocks.y, 0
    keep = frame[spec.treatment].notna().to_numpy()
    return frame.loc[keep].reset_index(drop=True), blocks.y[keep], int((~keep).sum())
