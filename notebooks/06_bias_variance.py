# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Bias and variance: under- and over-fitting
#
# Companion to the article on the bias–variance trade-off. Polynomials of growing degree fit a
# noisy sine, y = sin(2πx) + 0.3·noise (best possible mean squared error 0.09), and
# scikit-learn's `learning_curve` and `validation_curve` show the two failure modes. The
# functions live in `pipeline.bias_variance`; `diagnose` applies the article's checklist.
#
# `QUICK = True` (the test suite) uses 3 folds instead of 5.

# %% tags=["parameters"]
QUICK = False

# %%
import numpy as np

from pipeline.bias_variance import (
    REMEDIES,
    diagnose,
    learning_curves,
    noisy_sine,
    plot_curve,
    plot_fits,
    polynomial_model,
    validation_curves,
)

CV = 3 if QUICK else 5
TARGET = 0.12  # the error we would accept: a little above the noise floor 0.3² = 0.09
X_small, y_small = noisy_sine(30, seed=1)
X_large, y_large = noisy_sine(300, seed=1)

# %% [markdown]
# ## Three fits of 30 points
#
# Degree 1 cannot bend (under-fitting, high bias); degree 15 follows the noise (over-fitting,
# high variance); degree 4 is about right.

# %%
_ = plot_fits(X_small, y_small, degrees=(1, 4, 15))

# %% [markdown]
# ## Learning curves: error against the number of training examples
#
# The article's checklist:
#
# - **high bias**: the training error is above the target and the validation error is close
#   to it. More data will not help: use a more complex model or more features, regularise less.
# - **high variance**: the training error is low but the validation error is far above it.
#   More data, fewer features, more regularisation or a simpler model help.

# %%
cases = {
    "degree 1, 300 points": (polynomial_model(1), X_large, y_large),
    "degree 15, 30 points": (polynomial_model(15), X_small, y_small),
    "degree 15, 300 points": (polynomial_model(15), X_large, y_large),
    "degree 4, 300 points": (polynomial_model(4), X_large, y_large),
}
for name, (model, X, y) in cases.items():
    curve = learning_curves(model, X, y, cv=CV)
    verdict = diagnose(curve.train_error[-1], curve.val_error[-1], TARGET)
    print(
        f"{name:>22}: training error {curve.train_error[-1]:.3f}, validation error {curve.val_error[-1]:.3f}"
        f" → {verdict}; remedies: {', '.join(REMEDIES[verdict]) or 'none needed'}"
    )
    plot_curve(curve, target_error=TARGET, title=f"{name}: {verdict}")

# %% [markdown]
# ## Validation curves: error against model complexity
#
# Training error falls as the degree grows; validation error falls, bottoms out, and rises
# again once the model starts fitting noise. The bottom of the U is the complexity to pick.
# The second curve keeps degree 15 and raises the ridge penalty α: regularisation is the
# variance remedy that needs no new data.

# %%
degrees = list(range(1, 16))
curve = validation_curves(polynomial_model(1), X_small, y_small, "polynomialfeatures__degree", degrees, cv=CV)
best = degrees[int(np.argmin(curve.val_error))]
print("lowest validation error at degree", best)
plot_curve(curve, target_error=TARGET, title="30 points: validation curve over the polynomial degree")

alphas = np.logspace(-10, 2, 13)
curve = validation_curves(polynomial_model(15), X_small, y_small, "ridge__alpha", alphas, cv=CV)
fig = plot_curve(curve, target_error=TARGET, title="degree 15, 30 points: validation curve over the ridge α")
fig.axes[0].set_xscale("log")
