"""Under- and over-fitting, diagnosed with learning and validation curves (scikit-learn).

The article's checklist, with errors (lower is better) and a target error you would
accept:

- **High bias (under-fitting)**: the *training* error is already above the target, and
  the validation error sits close to it; more data does not help. Remedies: a more
  complex model or more features, less regularisation.
- **High variance (over-fitting)**: the training error is low (below the target) but the
  validation error is well above it; the gap shrinks as data is added. Remedies: more
  training data, fewer features, more regularisation, a simpler model.
- **Good fit**: the validation error meets the target.

The experiments fit polynomials of growing degree to a noisy sine (:func:`noisy_sine`):
degree 1 under-fits, degree 15 over-fits a small sample (30 points), degree 4 is about
right; more data or a larger ``alpha`` (ridge regularisation) tames degree 15.
"""

import dataclasses

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, learning_curve, validation_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

REMEDIES = {
    "high bias": (
        "a more complex model (e.g. higher polynomial degree, more layers)",
        "more or better features",
        "less regularisation",
    ),
    "high variance": ("more training data", "fewer features", "more regularisation", "a simpler model"),
    "good fit": (),
}


def noisy_sine(n_samples=200, noise=0.3, seed=0):
    """``x`` uniform on [0, 1], ``y = sin(2πx) + noise·N(0, 1)``: ``(X (n, 1), y (n,))``.
    The irreducible error (the best possible mean squared error) is ``noise²``."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, n_samples)
    return x[:, None], np.sin(2 * np.pi * x) + noise * rng.standard_normal(n_samples)


def polynomial_model(degree, alpha=1e-10):
    """PolynomialFeatures(degree) → StandardScaler → Ridge(alpha): capacity set by ``degree``,
    regularisation by ``alpha`` (by default just enough to keep the
    least-squares solve stable: no regularisation to speak of)."""
    return make_pipeline(PolynomialFeatures(degree, include_bias=False), StandardScaler(), Ridge(alpha=alpha))


@dataclasses.dataclass
class Curve:
    """Mean and spread over the cross-validation folds of the training and validation errors.

    Attributes:
        x: the varied quantity (training-set sizes or parameter values), ``(k,)``.
        train_error, val_error: mean squared errors averaged over the folds, ``(k,)``.
        train_std, val_std: their standard deviations over the folds, ``(k,)``.
        name: what ``x`` is, for axis labels.
    """

    x: np.ndarray
    train_error: np.ndarray
    val_error: np.ndarray
    train_std: np.ndarray
    val_std: np.ndarray
    name: str


def _curve(x, train_scores, val_scores, name):
    train, val = -np.asarray(train_scores), -np.asarray(val_scores)  # neg MSE → MSE, (k, folds)
    return Curve(np.asarray(x), train.mean(1), val.mean(1), train.std(1), val.std(1), name)


def _folds(cv, seed):
    return KFold(n_splits=cv, shuffle=True, random_state=seed)


TRAIN_SIZES = np.linspace(0.1, 1.0, 8)  # shares of the training folds: 10% … 100%


def learning_curves(model, X, y, train_sizes=TRAIN_SIZES, cv=5, seed=0):
    """Training and validation error against the number of training examples
    (``sklearn.model_selection.learning_curve``, mean squared error, shuffled K folds)."""
    sizes, train, val = learning_curve(
        model, X, y, train_sizes=train_sizes, cv=_folds(cv, seed), scoring="neg_mean_squared_error"
    )
    return _curve(sizes, train, val, "training examples")


def validation_curves(model, X, y, param_name, param_range, cv=5, seed=0):
    """Training and validation error against one hyper-parameter of ``model``
    (``sklearn.model_selection.validation_curve``), e.g. ``"polynomialfeatures__degree"``."""
    train, val = validation_curve(
        model,
        X,
        y,
        param_name=param_name,
        param_range=param_range,
        cv=_folds(cv, seed),
        scoring="neg_mean_squared_error",
    )
    return _curve(param_range, train, val, param_name.split("__")[-1])


def diagnose(train_error, val_error, target_error):
    """The article's checklist on one pair of errors.

    - ``val_error <= target_error``: "good fit";
    - else the larger of the two gaps names the problem to fix first: the avoidable bias
      ``train_error − target_error`` ("high bias") or the variance
      ``val_error − train_error`` ("high variance").

    Returns:
        "high bias", "high variance" or "good fit" (remedies in :data:`REMEDIES`).
    """
    if val_error <= target_error:
        return "good fit"
    return "high bias" if train_error - target_error >= val_error - train_error else "high variance"


def plot_curve(curve, target_error=None, ax=None, title=None, log_y=True):
    """Training and validation error with ±1 std bands (and the target as a dashed line)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for mean, std, label in (
        (curve.train_error, curve.train_std, "training error"),
        (curve.val_error, curve.val_std, "validation error"),
    ):
        ax.plot(curve.x, mean, "o-", label=label)
        ax.fill_between(curve.x, mean - std, mean + std, alpha=0.2)
    if target_error is not None:
        ax.axhline(target_error, color="k", ls="--", lw=0.8, label="target error")
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(curve.name)
    ax.set_ylabel("mean squared error")
    ax.legend()
    if title:
        ax.set_title(title)
    return ax.figure


def plot_fits(X, y, degrees, alpha=1e-10):
    """The data and each degree's fitted polynomial, one panel a degree."""
    import matplotlib.pyplot as plt

    grid = np.linspace(0, 1, 200)[:, None]
    fig, axes = plt.subplots(1, len(degrees), figsize=(4 * len(degrees), 3.2), sharey=True)
    for ax, degree in zip(np.atleast_1d(axes), degrees):
        model = polynomial_model(degree, alpha).fit(X, y)
        ax.scatter(X[:, 0], y, s=8, alpha=0.5)
        ax.plot(grid[:, 0], np.sin(2 * np.pi * grid[:, 0]), "k--", lw=0.8, label="true sin(2πx)")
        ax.plot(grid[:, 0], model.predict(grid), "r", label=f"degree {degree}")
        ax.set_ylim(-2, 2)
        ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig
