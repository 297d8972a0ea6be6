"""Under- and over-fitting diagnosed from learning and validation curves (pipeline.bias_variance)."""

import numpy as np
import pytest

from pipeline.bias_variance import (
    REMEDIES,
    diagnose,
    learning_curves,
    noisy_sine,
    plot_curve,
    polynomial_model,
    validation_curves,
)

TARGET = 0.12  # a little above the irreducible error 0.3² = 0.09


def test_noisy_sine_has_the_stated_noise():
    X, y = noisy_sine(5000, noise=0.3, seed=0)
    assert X.shape == (5000, 1) and y.shape == (5000,)
    assert np.mean((y - np.sin(2 * np.pi * X[:, 0])) ** 2) == pytest.approx(0.09, rel=0.05)


def test_a_straight_line_underfits_the_sine():
    X, y = noisy_sine(200, seed=0)
    curve = learning_curves(polynomial_model(1), X, y)
    assert curve.train_error[-1] > 2 * TARGET  # even the training data is not fitted
    assert curve.val_error[-1] - curve.train_error[-1] < 0.05  # and validation is no worse: more data won't help
    assert diagnose(curve.train_error[-1], curve.val_error[-1], TARGET) == "high bias"


def test_degree_15_on_30_points_overfits_and_more_data_closes_the_gap():
    X, y = noisy_sine(30, seed=1)
    small = learning_curves(polynomial_model(15), X, y)
    assert small.train_error[-1] < TARGET < small.val_error[-1]
    assert diagnose(small.train_error[-1], small.val_error[-1], TARGET) == "high variance"
    X, y = noisy_sine(300, seed=1)
    large = learning_curves(polynomial_model(15), X, y)
    gap_small = small.val_error[-1] - small.train_error[-1]
    gap_large = large.val_error[-1] - large.train_error[-1]
    assert gap_large < gap_small / 10


def test_validation_curve_over_degree_is_u_shaped():
    X, y = noisy_sine(60, seed=0)
    degrees = list(range(1, 16))
    curve = validation_curves(polynomial_model(1), X, y, "polynomialfeatures__degree", degrees)
    assert list(curve.x) == degrees and curve.name == "degree"
    assert curve.train_error[-1] < curve.train_error[0]  # training error falls with capacity
    best = int(np.argmin(curve.val_error))
    assert 0 < best < len(degrees) - 1  # validation error is lowest in between
    assert curve.val_error[best] < TARGET


def test_ridge_regularisation_tames_the_overfit():
    X, y = noisy_sine(30, seed=1)
    curve = validation_curves(polynomial_model(15), X, y, "ridge__alpha", [1e-10, 1e-3, 1e-1])
    assert curve.val_error[1] < curve.val_error[0] / 5


@pytest.mark.parametrize(
    "train, val, expected",
    [
        (0.30, 0.32, "high bias"),  # both high, close together
        (0.05, 0.40, "high variance"),  # low training error, big gap
        (
            0.20,
            0.60,
            "high variance",
        ),  # both problems: the variance gap (0.40) is larger than the bias (0.08)
        (0.25, 0.30, "high bias"),  # both problems: the bias (0.13) is larger than the gap (0.05)
        (0.08, 0.11, "good fit"),
    ],
)
def test_diagnose_follows_the_checklist(train, val, expected):
    assert diagnose(train, val, TARGET) == expected


def test_each_diagnosis_gets_the_articles_remedies():
    verdicts = {diagnose(0.30, 0.32, TARGET), diagnose(0.05, 0.40, TARGET), diagnose(0.08, 0.11, TARGET)}
    assert set(REMEDIES) == verdicts  # a remedy list for every verdict diagnose gives, and no other
    bias, variance = (" / ".join(REMEDIES[v]) for v in ("high bias", "high variance"))
    # more data closes the gap of an over-fitted model; it cannot lift an under-fitted one
    assert "more training data" in variance and "data" not in bias
    assert "more regularisation" in variance and "less regularisation" in bias
    assert "a more complex model" in bias and "a simpler model" in variance
    assert REMEDIES["good fit"] == ()


def test_plot_curve_draws_both_errors_and_the_target():
    X, y = noisy_sine(60, seed=0)
    curve = learning_curves(polynomial_model(3), X, y, cv=3)
    fig = plot_curve(curve, target_error=TARGET)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[1].get_ydata(), curve.val_error)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "training error",
        "validation error",
        "target error",
    ]
