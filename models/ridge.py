"""Ridge regression with the penalty chosen by efficient leave-one-out, from the Gram matrix.

scikit-learn's `RidgeCV(gcv_mode="svd")` takes a thin SVD of the whole n x p design and keeps its
n x p factor U: on a million accounts that is the statistics' largest single cost in time and the
largest copy in memory. With many more rows than columns the same leave-one-out residuals come
from the p x p Gram matrix: with Xc the centred design, Xc'Xc = V diag(s2) V' and Z = Xc V,

    hat value  h_i(alpha)  = 1/n + sum_j Z_ij^2 / (s2_j + alpha)    (1/n: the unpenalised intercept)
    LOO residual e_i(alpha) = (y_i - fit_i(alpha)) / (1 - h_i(alpha)),

which is scikit-learn's `c / G_inverse_diag`. Rows are taken in chunks, so memory stays at one chunk
of Z whatever n is. The penalty with the smallest mean squared LOO residual wins (the first of
equals, as in RidgeCV); the coefficients are then the ridge solution at that penalty.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

# The penalties every ridge of the statistics chooses among.
RIDGE_ALPHAS = tuple(np.logspace(-3, 3, 13))
_CHUNK_ROWS = 16_384


class GramRidgeCV(RegressorMixin, BaseEstimator):
    """`RidgeCV(alphas, gcv_mode="svd")` for one target without sample weights, computed from the
    Gram matrix in row chunks (same penalty choice and coefficients up to rounding).

    Attributes after fit: alpha_, best_score_ (minus the mean squared LOO residual), coef_,
    intercept_, n_features_in_.
    """

    def __init__(self, alphas: tuple[float, ...] | np.ndarray = RIDGE_ALPHAS) -> None:
        self.alphas = alphas

    def fit(self, X, y) -> GramRidgeCV:
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        alphas = np.asarray(self.alphas, dtype=float)
        if alphas.ndim != 1 or len(alphas) == 0 or np.any(alphas <= 0):
            raise ValueError("alphas must be a non-empty list of positive penalties")
        n = X.shape[0]
        x_mean, y_mean = X.mean(axis=0), float(y.mean())
        gram = np.zeros((X.shape[1], X.shape[1]))
        cross = np.zeros(X.shape[1])
        for rows in _chunks(n):
            centred = X[rows] - x_mean
            gram += centred.T @ centred
            cross += centred.T @ (y[rows] - y_mean)
        eigenvalues, eigenvectors = np.linalg.eigh(gram)
        eigenvalues = np.clip(eigenvalues, 0.0, None)  # a Gram matrix: negatives are rounding
        shrink = 1.0 / (eigenvalues[:, None] + alphas[None, :])  # p x n_alphas
        projected_cross = eigenvectors.T @ cross
        squared_loo = np.zeros(len(alphas))
        for rows in _chunks(n):
            z = (X[rows] - x_mean) @ eigenvectors
            fitted = z @ (projected_cross[:, None] * shrink)
            hat = 1.0 / n + (z * z) @ shrink
            residual = (y[rows] - y_mean)[:, None] - fitted
            squared_loo += np.sum((residual / (1.0 - hat)) ** 2, axis=0)
        best = int(np.argmin(squared_loo))
        self.alpha_ = float(alphas[best])
        self.best_score_ = float(-squared_loo[best] / n)
        self.coef_ = eigenvectors @ (projected_cross * shrink[:, best])
        self.intercept_ = y_mean - float(x_mean @ self.coef_)
        return self

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_ + self.intercept_


def _chunks(n: int) -> list[slice]:
    return [slice(start, min(start + _CHUNK_ROWS, n)) for start in range(0, n, _CHUNK_ROWS)]
