"""GramRidgeCV (models/ridge.py) against scikit-learn's RidgeCV(gcv_mode="svd"), which it replaces."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import RidgeCV
from sklearn.preprocessing import OneHotEncoder, SplineTransformer

from models.ridge import RIDGE_ALPHAS, GramRidgeCV


def _designs():
    rng = np.random.default_rng(0)
    n = 3_000
    numbers = rng.normal(size=(n, 3)) * [1, 10, 0.1] + [0, 50, 2]
    # one-hot columns sum to one, which the centred design makes collinear (zero eigenvalues)
    one_hot = OneHotEncoder(sparse_output=False).fit_transform(rng.integers(0, 4, size=(n, 2)))
    splines = SplineTransformer(n_knots=5, degree=3).fit_transform(numbers)
    X = np.hstack([numbers, one_hot, splines])
    signal = np.sin(numbers[:, 0]) + 0.02 * numbers[:, 1] + one_hot[:, 0]
    yield "splines and one-hot", X, signal + rng.normal(size=n)
    yield "pure noise", X, rng.normal(size=n)
    yield "few rows", X[:40, :6], signal[:40]
    yield "large penalty wins", rng.normal(size=(500, 30)), rng.normal(size=500) * 100


@pytest.mark.parametrize(("name", "X", "y"), list(_designs()), ids=lambda value: value if isinstance(value, str) else "")
def test_same_penalty_coefficients_and_predictions_as_ridgecv(name, X, y) -> None:
    reference = RidgeCV(alphas=RIDGE_ALPHAS, gcv_mode="svd").fit(X, y)
    model = GramRidgeCV().fit(X, y)
    assert model.alpha_ == reference.alpha_, name
    assert model.best_score_ == pytest.approx(reference.best_score_, rel=1e-8), name
    np.testing.assert_allclose(model.predict(X), reference.predict(X), rtol=1e-8, atol=1e-8 * np.abs(y).max())
    np.testing.assert_allclose(model.intercept_ + X.mean(axis=0) @ model.coef_,
                               reference.intercept_ + X.mean(axis=0) @ reference.coef_, rtol=1e-9)


def test_rows_in_chunks_give_the_one_pass_result(monkeypatch) -> None:
    import models.ridge as ridge

    _, X, y = next(_designs())
    whole = GramRidgeCV().fit(X, y)
    monkeypatch.setattr(ridge, "_CHUNK_ROWS", 7)
    chunked = GramRidgeCV().fit(X, y)
    assert chunked.alpha_ == whole.alpha_
    np.testing.assert_allclose(chunked.coef_, whole.coef_, rtol=1e-7, atol=1e-10)


def test_follows_the_estimator_conventions() -> None:
    from sklearn.base import clone

    model = GramRidgeCV(alphas=(0.1, 1.0))
    assert clone(model).get_params() == {"alphas": (0.1, 1.0)}
    with pytest.raises(ValueError, match="positive"):
        GramRidgeCV(alphas=(0.0, 1.0)).fit(np.ones((5, 1)), np.arange(5.0))
    fitted = model.fit(np.arange(20.0).reshape(10, 2), np.arange(10.0))
    assert fitted is model and fitted.n_features_in_ == 2
