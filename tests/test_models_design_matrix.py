"""The numeric design array (`models.design.design_matrix`) and the positional learners fed with it give
the same predictions, bit for bit, as the learners on the design frame, and a remembered cross-fit
(`reuse_out_of_fold`) equals cross_val_predict: the statistical stage's numbers must not move when only
the input's form or the number of identical refits changes (models/design.py, models/estimators.py)."""

from __future__ import annotations

import os

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_predict
from threadpoolctl import threadpool_limits

from models.design import design_frame, design_matrix, grouped_folds
from models.estimators import (
    PARALLEL_FOLDS_MIN_ROWS,
    STATISTICS_PROCESSES,
    checked_input,
    fold_jobs,
    make_learner,
    make_level_learner,
    out_of_fold_predictions,
    reuse_out_of_fold,
)
from models.predictive import grouped_permutation_drops

CATEGORICAL = ["segment", "region"]
NUMERIC = ["value_won", "employees"]


def _frame(n: int = 160, seed: int = 3) -> pd.DataFrame:
    """Text categories with missing values and one rare level (absent from some training folds), numbers with
    missing values and a signed-log column."""
    rng = np.random.default_rng(seed)
    segment = rng.choice(["smb", "mid", "Enterprise", "ÿ-other"], n).astype(object)
    segment[rng.random(n) < 0.1] = None
    region = rng.choice(["emea", "amer"], n).astype(object)
    region[:2] = "apac"  # one rare level
    value = rng.lognormal(8, 1, n) * rng.choice([-1, 1], n, p=[0.1, 0.9])
    employees = rng.normal(50, 10, n)
    employees[rng.random(n) < 0.15] = np.nan
    return pd.DataFrame({"account_id": [f"a{i}" for i in range(n)], "segment": segment, "region": region,
                         "value_won": value, "employees": employees})


def _target(frame: pd.DataFrame) -> np.ndarray:
    rng = np.random.default_rng(7)
    return np.abs(np.log1p(np.abs(frame["value_won"].to_numpy())) + rng.normal(0, 1, len(frame)))


@pytest.mark.parametrize("learner", ["spline_ridge", "hgb", "level"])
def test_positional_learner_on_design_matrix_predicts_as_the_frame_learner(learner: str) -> None:
    frame = _frame()
    target = _target(frame)
    folds = grouped_folds(frame["account_id"].to_numpy(), 5, 0)

    def build(positional: bool):
        if learner == "level":
            return make_level_learner(CATEGORICAL, NUMERIC, positional=positional)
        return make_learner(CATEGORICAL, NUMERIC, learner, 0, positional=positional)

    with threadpool_limits(limits=1):
        on_frame = cross_val_predict(build(False), design_frame(frame, CATEGORICAL, NUMERIC), target, cv=folds)
        with checked_input():
            on_matrix = cross_val_predict(build(True), design_matrix(frame, CATEGORICAL, NUMERIC), target, cv=folds)
    np.testing.assert_array_equal(on_matrix, on_frame)


def test_design_matrix_codes_categories_in_the_encoder_order_and_refuses_infinity() -> None:
    frame = _frame()
    matrix = design_matrix(frame, CATEGORICAL, NUMERIC)
    x = design_frame(frame, CATEGORICAL, NUMERIC)
    assert matrix.shape == (len(frame), len(CATEGORICAL) + len(NUMERIC))
    levels = sorted(set(x["segment"]))  # OneHotEncoder's order of text categories
    np.testing.assert_array_equal(matrix[:, 0], [levels.index(v) for v in x["segment"]])
    np.testing.assert_array_equal(matrix[:, 2:], x[NUMERIC].to_numpy(dtype=float))
    with pytest.raises(ValueError, match="infinity"):
        design_matrix(frame.assign(employees=np.inf), CATEGORICAL, NUMERIC)


def test_grouped_permutation_drops_on_an_array_equal_those_on_the_frame() -> None:
    frame = _frame()
    target = _target(frame)
    columns = CATEGORICAL + NUMERIC
    x, matrix = design_frame(frame, CATEGORICAL, NUMERIC), design_matrix(frame, CATEGORICAL, NUMERIC)
    train, test = np.arange(120), np.arange(120, len(frame))
    groups = [("segment", "region"), ("value_won",), ("employees",)]
    on_frame_model = make_learner(CATEGORICAL, NUMERIC).fit(x.iloc[train], target[train])
    with checked_input():
        on_matrix_model = make_learner(CATEGORICAL, NUMERIC, positional=True).fit(matrix[train], target[train])
        on_matrix = grouped_permutation_drops(on_matrix_model, matrix[test], target[test], groups, 3,
                                              np.random.default_rng(1), columns=columns)
    on_frame = grouped_permutation_drops(on_frame_model, x.iloc[test], target[test], groups, 3,
                                         np.random.default_rng(1))
    np.testing.assert_array_equal(on_matrix, on_frame)


class _CountingRidge(Ridge):
    """Ridge that counts its fits across clones (a class attribute), to see which cross-fits are reused."""

    fits = 0

    def fit(self, X, y, sample_weight=None):
        type(self).fits += 1
        return super().fit(X, y, sample_weight)


def test_out_of_fold_predictions_equal_cross_val_predict_and_are_reused_only_for_identical_inputs() -> None:
    frame = _frame()
    target = _target(frame)
    x = design_matrix(frame, CATEGORICAL, NUMERIC)[:, len(CATEGORICAL):]
    x = np.nan_to_num(x)
    folds = grouped_folds(frame["account_id"].to_numpy(), 5, 0)
    expected = cross_val_predict(Ridge(alpha=1.0), x, target, cv=folds)
    _CountingRidge.fits = 0
    np.testing.assert_array_equal(out_of_fold_predictions(_CountingRidge(alpha=1.0), x, target, folds), expected)
    assert _CountingRidge.fits == 5  # outside reuse_out_of_fold: always fitted
    with reuse_out_of_fold():
        first = out_of_fold_predictions(_CountingRidge(alpha=1.0), x, target, folds)
        first[:] = 0.0  # the caller's copy: the remembered predictions stay intact
        again = out_of_fold_predictions(_CountingRidge(alpha=1.0), x, target, folds)
        assert _CountingRidge.fits == 10  # the second, identical request was not refitted
        other = [out_of_fold_predictions(_CountingRidge(alpha=2.0), x, target, folds),  # other parameters
                 out_of_fold_predictions(_CountingRidge(alpha=1.0), x, target + 1.0, folds),  # other target
                 out_of_fold_predictions(_CountingRidge(alpha=1.0), x, target,
                                         grouped_folds(frame["account_id"].to_numpy(), 5, 1))]  # other folds
        assert _CountingRidge.fits == 25
    np.testing.assert_array_equal(again, expected)
    assert not any(np.array_equal(o, expected) for o in other)
    out_of_fold_predictions(_CountingRidge(alpha=1.0), x, target, folds)
    assert _CountingRidge.fits == 30  # the memory ends with the context


class _PidRegressor(Ridge):
    """Predicts the id of the process that fitted it: where a fold was fitted."""

    def fit(self, X, y, sample_weight=None):
        self.fitted_in_ = os.getpid()
        return self

    def predict(self, X):
        return np.full(len(X), float(self.fitted_in_))


def test_each_statistics_process_gets_its_share_of_the_cores_for_a_large_cross_fit() -> None:
    """Folds go to workers only from PARALLEL_FOLDS_MIN_ROWS rows and only when each of the
    STATISTICS_PROCESSES processes has two cores or more to itself (never on two cores)."""
    assert fold_jobs(PARALLEL_FOLDS_MIN_ROWS - 1, cores=8) is None
    assert fold_jobs(PARALLEL_FOLDS_MIN_ROWS, cores=8) == 8 // STATISTICS_PROCESSES
    assert fold_jobs(PARALLEL_FOLDS_MIN_ROWS, cores=2 * STATISTICS_PROCESSES) == 2
    assert fold_jobs(10 * PARALLEL_FOLDS_MIN_ROWS, cores=2 * STATISTICS_PROCESSES - 1) is None
    assert fold_jobs(10 * PARALLEL_FOLDS_MIN_ROWS, cores=2) is None


def test_a_large_cross_fit_runs_its_folds_in_worker_processes_with_the_same_predictions(monkeypatch) -> None:
    """On a machine with cores to spare (here told it has 2 x STATISTICS_PROCESSES) a large cross-fit's
    folds are fitted in worker processes; the predictions equal, bit for bit, those of one process with
    one BLAS thread, as the statistics fit them."""
    monkeypatch.setattr(joblib, "cpu_count", lambda *args, **kwargs: 2 * STATISTICS_PROCESSES)
    assert fold_jobs(PARALLEL_FOLDS_MIN_ROWS) == 2
    frame = _frame(PARALLEL_FOLDS_MIN_ROWS, seed=11)
    target = _target(frame)
    x = design_matrix(frame, CATEGORICAL, NUMERIC)
    folds = grouped_folds(frame["account_id"].to_numpy(), 5, 0)
    learner = make_learner(CATEGORICAL, NUMERIC, "spline_ridge", 0, positional=True)
    with threadpool_limits(limits=1), checked_input():
        in_one_process = cross_val_predict(learner, x, target, cv=folds)
        in_workers = out_of_fold_predictions(learner, x, target, folds)
    np.testing.assert_array_equal(in_workers, in_one_process)
    where = set(out_of_fold_predictions(_PidRegressor(), x, target, folds))
    assert os.getpid() not in where and len(where) >= 1


def test_cross_fits_on_shared_preprocessing_equal_cross_val_predict_bit_for_bit(monkeypatch) -> None:
    """Inside `reuse_out_of_fold` consecutive cross-fits on the same X and folds fit each fold's
    preprocessing once (the DML's E[D | X] and E[Y | X] learners share it); the predictions are
    cross_val_predict's, bit for bit, for every learner the statistics use, and a design past the
    byte budget is made fold by fold and not kept."""
    import models.estimators as estimators

    frame = _frame(n=400)
    x = design_matrix(frame, CATEGORICAL, NUMERIC)
    folds = grouped_folds(frame["account_id"].to_numpy(), 5, 0)
    targets = [_target(frame), frame["employees"].fillna(0.0).to_numpy() / 50, _target(frame) * 2.0]
    learners = [make_learner(CATEGORICAL, NUMERIC, "spline_ridge", positional=True),
                make_level_learner(CATEGORICAL, NUMERIC, positional=True),
                make_level_learner(CATEGORICAL, NUMERIC, positional=True),
                make_learner(CATEGORICAL, NUMERIC, "hgb", positional=True)]
    with threadpool_limits(limits=1), checked_input():
        expected = [cross_val_predict(learner, x, target, cv=folds)
                    for learner, target in zip(learners, [*targets, targets[0]])]
        calls = []
        monkeypatch.setattr(estimators, "cross_val_predict", lambda *a, **k: calls.append(1) or cross_val_predict(*a, **k))
        with reuse_out_of_fold():
            shared = [out_of_fold_predictions(learner, x, target, folds)
                      for learner, target in zip(learners, [*targets, targets[0]])]
            assert not calls  # all four on the shared-preprocessing path
            kept = estimators._PREPROCESSED_FOLDS.get()
            # spline learners share one preprocessed design; the boosting's own is kept beside it
            assert len(kept) == 2
            # past the byte budget a design is made fold by fold and not kept: the same predictions
            monkeypatch.setattr(estimators, "SHARED_PREPROCESSING_MAX_BYTES", x.nbytes)
            other_folds = grouped_folds(frame["account_id"].to_numpy(), 5, 1)
            before = list(kept)
            past_budget = out_of_fold_predictions(learners[0], x, targets[0], other_folds)
            assert list(kept) == before and not calls
            # within it, kept (the oldest of the two kept designs makes room)
            monkeypatch.setattr(estimators, "SHARED_PREPROCESSING_MAX_BYTES", 1_000 * x.nbytes)
            out_of_fold_predictions(learners[0], x, targets[1], other_folds)
            assert list(kept) == [before[1], list(kept)[-1]] and list(kept)[-1] not in before and not calls
            fold_sizes = [len(train) + len(test) for train, test in other_folds]
            newest = kept[list(kept)[-1]]
            assert [a.shape[0] + b.shape[0] for a, b in newest] == fold_sizes
    for got, want in zip(shared, expected):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(past_budget, cross_val_predict(learners[0], x, targets[0], cv=other_folds))
