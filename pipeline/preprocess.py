"""Phases 1–3 as scikit-learn / imbalanced-learn steps: outliers, imputation, encoding,
scaling, SMOTE, LDA.

The steps live in one `imblearn.pipeline.Pipeline` (built by `feature_steps`), so the
leakage-free order is structural rather than a matter of care:

* every statistic (z-score mean/std, imputation means, one-hot categories, min/max, the LDA
  direction) is learnt by ``fit`` from the rows the pipeline is fitted on — the training rows;
* samplers (SMOTE, and outlier *dropping*) run only inside ``fit``: at predict time imblearn
  skips them, so test rows are transformed but never resampled or dropped.

Shapes: the pipeline takes the DataFrame of `pipeline.data.prepare_features`,
``(n_rows, n_numeric + n_categorical)``, and gives ``(n_rows, 1)`` after LDA, or
``(n_rows, n_numeric + n_one_hot)`` when LDA is skipped.
"""

import numpy as np
from imblearn import FunctionSampler
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline as SkPipeline  # plain transformers inside the column branches
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder
from sklearn.utils.validation import check_is_fitted, validate_data

from pipeline.errors import PipelineError

Z_THRESHOLD = 3.0
# SMOTE makes a row from a minority row and one of its k nearest minority neighbours: a class
# needs k + 1 rows where it runs.
SMOTE_NEIGHBOURS = 5
SMOTE_MIN_ROWS = SMOTE_NEIGHBOURS + 1
CLASS_NAMES = ("negative", "positive")  # y = 0, 1


def z_scores(X, mean, scale):
    """z = (x − mean) / std per column; a constant column (std 0) has z = 0 everywhere."""
    return (np.asarray(X, dtype=float) - mean) / np.where(scale > 0, scale, 1.0)


def _column_stats(X):
    """Mean and (population) standard deviation of each column, ignoring missing values."""
    X = np.asarray(X, dtype=float)
    return np.nanmean(X, axis=0), np.nanstd(X, axis=0)


def outlier_summary(X, columns, threshold=Z_THRESHOLD):
    """Phase 1's outlier rule, per numeric column of ``X``: what |z| > threshold means in the column's units.

    X: DataFrame (the training rows); columns: the numeric columns. Returns a DataFrame, one
    row per column: ``mean``, ``std`` (population, ignoring missing values), ``lower`` /
    ``upper`` = mean ∓ threshold·std (where `ZScoreClipper` clips), ``outliers`` (values
    with |z| > threshold) and ``missing`` (left for the imputer).
    """
    import pandas as pd

    values = X[list(columns)].to_numpy(dtype=float)
    with np.errstate(all="ignore"):
        mean, std = _column_stats(values)
        z = z_scores(values, mean, std)
    return pd.DataFrame(
        {
            "mean": mean,
            "std": std,
            "lower": mean - threshold * std,
            "upper": mean + threshold * std,
            "outliers": (np.abs(np.nan_to_num(z)) > threshold).sum(axis=0),
            "missing": np.isnan(values).sum(axis=0),
        },
        index=list(columns),
    )


class ZScoreClipper(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Outlier treatment by clipping: values with |z| > threshold are pulled back to mean ± threshold·std.

    ``fit`` learns ``mean_`` and ``scale_`` (population std) per column from the training
    rows, ignoring NaN; ``transform`` clips any rows with those training statistics and
    leaves NaN for the imputer that follows. X: ``(n_rows, n_columns)`` numbers → same shape.
    """

    def __init__(self, threshold=Z_THRESHOLD):
        self.threshold = threshold

    def fit(self, X, y=None):
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=float)
        with np.errstate(all="ignore"):  # an all-NaN training column is refused upstream
            self.mean_, self.scale_ = _column_stats(X)
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=float, reset=False)
        spread = self.threshold * self.scale_
        return np.clip(X, self.mean_ - spread, self.mean_ + spread)


class LDA(LinearDiscriminantAnalysis):
    """Phase 3: scikit-learn's LDA (SVD solver), which also fits classes that have no spread within them.

    When every fit row equals its class mean in every column (a column that copies the label,
    the others constant), the within-class scatter is zero and scikit-learn's SVD solver ends
    in an ``IndexError``. The discriminant direction Σ⁻¹(μ₁ − μ₀) then has the limit, as the
    scatter shrinks evenly to zero, of the direction μ₁ − μ₀; the component is the rows'
    projection on it, centred on the mean row (all zeros when the class means agree too).
    X: ``(n_rows, n_columns)`` → ``(n_rows, 1)``.
    """

    def fit(self, X, y):
        X_checked = np.asarray(X, dtype=float)
        labels = np.asarray(y)
        classes = np.unique(labels)
        means = np.array([X_checked[labels == c].mean(axis=0) for c in classes])
        if len(classes) != 2 or not np.allclose(X_checked, means[np.searchsorted(classes, labels)]):
            return super().fit(X, y)
        validate_data(self, X, dtype=float)  # n_features_in_, as scikit-learn's fit sets it
        gap = means[1] - means[0]
        norm = np.linalg.norm(gap)
        self.classes_, self.means_, self.xbar_ = classes, means, X_checked.mean(axis=0)
        self.priors_ = np.array([np.mean(labels == c) for c in classes])
        self.scalings_ = (gap / norm if norm > 0 else np.zeros_like(gap))[:, None]
        self.explained_variance_ratio_ = np.array([1.0])
        self._max_components = self._n_features_out = 1
        return self


def drop_outlier_rows(X, y, columns, threshold=Z_THRESHOLD):
    """Outlier treatment by dropping: the rows with any |z| > threshold in ``columns`` go.

    z uses the mean/std of the rows passed in. Wrapped in a `FunctionSampler` (see
    `feature_steps`), it runs only when the pipeline is fitted, i.e. on training rows: a test
    row is never dropped (a model must answer for every row it is asked about).

    Raises:
        PipelineError: so few rows of a class would remain that SMOTE cannot run.
    """
    values = X[columns].to_numpy(dtype=float)
    with np.errstate(all="ignore"):
        z = z_scores(values, *_column_stats(values))
    keep = ~(np.abs(np.nan_to_num(z)) > threshold).any(axis=1)  # a missing value is no outlier
    short = too_few_for_smote(np.asarray(y)[keep])
    if short:
        raise PipelineError(
            f"z_threshold {threshold:g}: dropping the training rows with an outlier (outliers='drop') leaves "
            f"{short[1]} of the {CLASS_NAMES[short[0]]} class, and SMOTE needs at least {SMOTE_MIN_ROWS}. "
            f"Raise z_threshold (default {Z_THRESHOLD:g}), or clip outliers instead (outliers='clip').",
            parameter="z_threshold",
        )
    return X[keep], np.asarray(y)[keep]


def too_few_for_smote(y):
    """``(class, rows)`` of the first class of ``y`` (0/1) with fewer than ``SMOTE_MIN_ROWS`` rows, or None."""
    counts = np.bincount(np.asarray(y, dtype=int), minlength=2)
    short = [(c, int(n)) for c, n in enumerate(counts) if n < SMOTE_MIN_ROWS]
    return short[0] if short else None


def column_encoder(numeric, categorical, clip_outliers=True, threshold=Z_THRESHOLD):
    """Phase 1 transforms as a ColumnTransformer, in the article's order.

    numeric columns: z-score clipping (if ``clip_outliers``) → mean imputation → min-max scaling.
    categorical columns: most-frequent imputation (a mean of categories does not exist) →
    one-hot encoding (a category unseen in training becomes all zeros) → min-max scaling
    (a no-op on 0/1 columns; kept so that every output column lies in [0, 1]).
    """
    numeric_steps = [("outliers", ZScoreClipper(threshold))] if clip_outliers else []
    numeric_steps += [("impute", SimpleImputer(strategy="mean")), ("scale", MinMaxScaler())]
    categorical_steps = [
        ("impute", SimpleImputer(strategy="most_frequent")),
        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ("scale", MinMaxScaler()),
    ]
    branches = [("numeric", SkPipeline(numeric_steps), list(numeric))] if numeric else []
    branches += [("categorical", SkPipeline(categorical_steps), list(categorical))] if categorical else []
    return ColumnTransformer(branches, remainder="drop", verbose_feature_names_out=False)


def feature_steps(numeric, categorical, outliers="clip", threshold=Z_THRESHOLD, use_lda=True, seed=0):
    """The steps of phases 1–3, ready to be followed by a model: a list of (name, step).

    outliers: "clip" (ZScoreClipper in the numeric branch, applied to every row with the
    training statistics) or "drop" (training rows with an outlier are removed before
    anything is fitted; new rows are kept as they are) or "none".
    use_lda: False replaces the LDA step by "passthrough", to compare with and without it.
    """
    if outliers not in ("clip", "drop", "none"):
        raise ValueError(f"outliers must be 'clip', 'drop' or 'none', not {outliers!r}")
    steps = []
    if outliers == "drop" and numeric:
        steps.append(
            (
                "drop_outliers",
                FunctionSampler(
                    func=drop_outlier_rows,
                    validate=False,
                    kw_args={"columns": list(numeric), "threshold": threshold},
                ),
            )
        )
    steps += [
        (
            "encode",
            column_encoder(numeric, categorical, clip_outliers=outliers == "clip", threshold=threshold),
        ),
        ("smote", SMOTE(k_neighbors=SMOTE_NEIGHBOURS, random_state=seed)),
        # two classes → at most one discriminant direction
        ("lda", LDA(n_components=1) if use_lda else "passthrough"),
    ]
    return steps


def make_model_pipeline(schema_numeric, schema_categorical, model, **options):
    """imblearn Pipeline = phases 1–3 (see `feature_steps`, ``options``) + ``model``."""
    return Pipeline(feature_steps(schema_numeric, schema_categorical, **options) + [("model", model)])


def class_counts(pipeline, X_fit, y_fit):
    """Rows of each class, ``(n_negative, n_positive)``, entering and leaving the fitted SMOTE step.

    SMOTE records in ``sampling_strategy_`` how many rows it made per class. When training
    rows were dropped as outliers first, the (deterministic) drop is repeated to count what
    reached SMOTE.
    """
    y = np.asarray(y_fit)
    if "drop_outliers" in pipeline.named_steps:
        _, y = pipeline.named_steps["drop_outliers"].fit_resample(X_fit, y)
    before = np.bincount(y, minlength=2)
    made = pipeline.named_steps["smote"].sampling_strategy_
    after = before + np.array([made.get(0, 0), made.get(1, 0)])
    return tuple(int(v) for v in before), tuple(int(v) for v in after)
