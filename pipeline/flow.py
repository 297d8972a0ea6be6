"""The six phases of the data-mining article, run in order on one table (`run_flow`).

    1  outliers (z-score), mean imputation, one-hot, min-max scaling; stratified train/test split
    2  SMOTE on the training rows
    3  LDA to one component (``use_lda=False`` skips it, to compare)
    4  training rows split again into fit and validation rows
    5  random forest and Keras MLP, each with a small search judged on validation AUC
    6  evaluation on the untouched test rows; the best model by test AUC

One deliberate change of order: the phase-4 validation rows are held out *before* phases
1–3 are fitted. Phases 1–3 and each model then form one imblearn Pipeline fitted on the
fit rows alone, so validation rows, like test rows, are only ever transformed — the
validation AUC that picks hyperparameters is measured on real rows, not on SMOTE's
synthetic ones, and no statistic of phases 1–3 has seen a validation or test row.
"""

import contextlib
import dataclasses
import time

import numpy as np
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.model_selection import train_test_split

from pipeline.config import FlowConfig
from pipeline.errors import PipelineError
from pipeline.evaluate import best_by_auc, evaluate_scores
from pipeline.models import (
    MLP_EPOCHS,
    MLP_EPOCHS_QUICK,
    MLP_GRID,
    MLP_GRID_QUICK,
    RF_GRID,
    RF_GRID_QUICK,
    KerasMLPClassifier,
    grid,
    random_forest,
    search,
)
from pipeline.preprocess import CLASS_NAMES, SMOTE_MIN_ROWS, class_counts, feature_steps, make_model_pipeline

MODEL_NAMES = {"random_forest": "Random forest", "mlp": "Keras MLP"}

BALANCE_TEST_WARNING = (
    "--balance-test: the test rows are also balanced with SMOTE, as the article does. Those "
    "metrics are optimistic and are reported apart: SMOTE's synthetic rows lie on lines between "
    "real minority test rows, so they are easy, near-duplicate cases; the class prevalence becomes "
    "50% by construction instead of the real one; and a model is no longer judged on rows as they "
    "come. The main metrics stay those of the untouched test rows."
)


@dataclasses.dataclass
class ModelResult:
    """One base model after phases 5 and 6.

    pipeline: the fitted imblearn Pipeline (phases 1–3 + the model); search: one row per
    candidate; test: `evaluate_scores` on the test rows; p_test: ``(n_test,)`` P(positive);
    balanced_test: the same on the SMOTE-balanced test rows, or None.
    """

    name: str
    pipeline: Pipeline
    search: list
    best_params: dict
    validation_auc: float
    test: dict
    p_test: np.ndarray
    balanced_test: dict = None


@dataclasses.dataclass
class FlowResult:
    """Everything a report, the plots and ``predict`` need from one run."""

    config: FlowConfig
    schema: object
    sizes: dict  # rows in: all, train, fit, validation, test
    class_counts: dict  # (negative, positive) rows: fit rows before/after SMOTE, validation, test
    n_encoded_features: int  # columns after one-hot, before LDA
    lda: dict  # "fit" / "test": (values (n,), y (n,)) of the LDA component; None if skipped
    models: dict  # name → ModelResult
    best: str  # name of the model with the best test AUC
    y_test: np.ndarray
    seconds: dict  # phase → wall seconds


def split(X, y, config):
    """Stratified three-way split: ``(X_fit, X_val, X_test, y_fit, y_val, y_test)``.

    Raises:
        PipelineError: ``test_size`` or ``validation_size`` leaves a part without a class (its
            AUC is undefined), or too few fit rows of a class for SMOTE (test rows too, with
            ``balance_test``).
    """
    shares = f"test_size {config.test_size:g} and validation_size {config.validation_size:g}"
    try:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=config.test_size, stratify=y, random_state=config.seed
        )
        X_fit, X_val, y_fit, y_val = train_test_split(
            X_train, y_train, test_size=config.validation_size, stratify=y_train, random_state=config.seed
        )
    except ValueError:  # scikit-learn: a part would hold fewer rows than there are classes
        raise PipelineError(
            f"{shares} leave a part of the {len(y)} rows (fit, validation or test) with fewer rows than the two "
            f"classes. Choose shares nearer the defaults, 0.25.",
            parameter="test_size",
        ) from None
    test_need = (SMOTE_MIN_ROWS, "SMOTE (balance_test)") if config.balance_test else (1, "the test AUC")
    needs = {  # part: (its labels, rows needed of each class, what needs them)
        "fit": (y_fit, SMOTE_MIN_ROWS, "SMOTE"),
        "validation": (y_val, 1, "the validation AUC"),
        "test": (y_test, *test_need),
    }
    for part, (rows, need, who) in needs.items():
        counts = np.bincount(rows, minlength=2)
        if counts.min() < need:
            raise PipelineError(
                f"{shares} leave {counts.min()} rows of the {CLASS_NAMES[counts.argmin()]} class among the "
                f"{len(rows)} {part} rows, and {who} needs at least {need}. Choose shares nearer the defaults, 0.25.",
                parameter="test_size",
            )
    return X_fit, X_val, X_test, y_fit, y_val, y_test


def run_flow(table, config=None, log=print):
    """Run phases 1–6 on a `pipeline.data.Table`; returns a `FlowResult`. Prints a line a phase.

    TensorFlow's deterministic kernels are on during the run and switched back off after it
    if they were off before (they are process-wide: other TensorFlow work in the same process,
    e.g. a test that compares with a child process, must not inherit them).
    """
    config = FlowConfig() if config is None else config
    _seed_everything(config.seed)
    with deterministic_ops():
        return _run_phases(table, config, log)


def _run_phases(table, config, log):
    """Phases 1–6 in order: split and preprocess, base models, evaluation; returns a `FlowResult`."""
    seconds, clock = {}, time.perf_counter()
    X_fit, X_val, X_test, y_fit, y_val, y_test = split(table.X, table.y, config)
    sizes = {
        "all": len(table.y),
        "train": len(y_fit) + len(y_val),
        "fit": len(y_fit),
        "validation": len(y_val),
        "test": len(y_test),
    }
    features = Pipeline(feature_steps(table.schema.numeric, table.schema.categorical, **_phase_options(config)))
    features.fit(X_fit, y_fit)
    n_encoded = len(features.named_steps["encode"].get_feature_names_out())
    _log_preprocessing(table.schema, config, sizes, n_encoded, y_test, log)
    seconds["phases 1-3"] = time.perf_counter() - clock
    before, after = class_counts(features, X_fit, y_fit)
    lda = _phases_2_to_4(features, config, sizes, n_encoded, (before, after), (X_fit, y_fit, X_test, y_test), log)
    models = {}
    for name, (template, param_grid) in _model_templates(table.schema, config, log).items():
        clock = time.perf_counter()
        models[name] = _fit_and_score(
            name, template, param_grid, (X_fit, y_fit, X_val, y_val, X_test, y_test), config, log
        )
        seconds[name] = time.perf_counter() - clock
    best = best_by_auc({name: m.test for name, m in models.items()})
    log(
        "phase 6/6 test rows: "
        + "; ".join(
            f"{MODEL_NAMES[n]} AUC {m.test['auc']:.4f}, F1 {m.test['f1']:.4f}, accuracy {m.test['accuracy']:.4f}"
            for n, m in models.items()
        )
        + f" → best by AUC: {MODEL_NAMES[best]}"
    )
    counts = {
        "fit_before_smote": before,
        "fit_after_smote": after,
        "validation": _counts(y_val),
        "test": _counts(y_test),
    }
    return FlowResult(
        config=config,
        schema=table.schema,
        sizes=sizes,
        class_counts=counts,
        n_encoded_features=n_encoded,
        lda=lda,
        models=models,
        best=best,
        y_test=y_test,
        seconds=seconds,
    )


def _phase_options(config):
    """The keyword arguments of phases 1–3 (`pipeline.preprocess`) that ``config`` chooses."""
    return dict(outliers=config.outliers, threshold=config.z_threshold, use_lda=config.use_lda, seed=config.seed)


def _log_preprocessing(schema, config, sizes, n_encoded, y_test, log):
    """Phase 1's line: rows, features, outliers, split."""
    outlier_words = {
        "clip": f"clipped at |z| > {config.z_threshold:g}",
        "drop": f"training rows with |z| > {config.z_threshold:g} dropped",
        "none": "kept",
    }[config.outliers]
    log(
        f"phase 1/6 preprocessing: {sizes['all']} rows, {len(schema.numeric)} numeric + {len(schema.categorical)} "
        f"categorical features → {n_encoded} columns; outliers {outlier_words}, mean imputation, one-hot, min-max "
        f"(fitted on training rows only); stratified split {sizes['train']} train / {sizes['test']} test "
        f"({y_test.mean():.1%} positive in test)"
    )


def _phases_2_to_4(features, config, sizes, n_encoded, smote_counts, rows, log):
    """Log SMOTE (2), LDA (3) and the validation split (4); returns the LDA values for the plots, or None."""
    (before, after), (X_fit, y_fit, X_test, y_test) = smote_counts, rows
    log(
        f"phase 2/6 SMOTE on the {sum(before)} fit rows: {before[0]} / {before[1]} (negative / positive) "
        f"→ {after[0]} / {after[1]}"
    )
    if config.balance_test:
        log(BALANCE_TEST_WARNING)
    lda = None
    if config.use_lda:
        lda = {
            "fit": (features.transform(X_fit)[:, 0], y_fit),
            "test": (features.transform(X_test)[:, 0], y_test),
        }
        log(f"phase 3/6 LDA: {n_encoded} columns → 1 component (fitted on the balanced fit rows)")
    else:
        log(f"phase 3/6 LDA skipped (--no-lda): the models see all {n_encoded} columns")
    log(
        f"phase 4/6 validation split: {sizes['fit']} fit rows / {sizes['validation']} validation rows "
        "(held out before phases 1-3 were fitted, so validation rows are real, never resampled)"
    )
    return lda


def _model_templates(schema, config, log):
    """Phase 5's candidates: ``{name: (unfitted pipeline of phases 1–3 + model, parameter grid)}``."""
    numeric, categorical, options = schema.numeric, schema.categorical, _phase_options(config)
    rf_grid, mlp_grid = (RF_GRID_QUICK, MLP_GRID_QUICK) if config.quick else (RF_GRID, MLP_GRID)
    mlp = KerasMLPClassifier(
        epochs=MLP_EPOCHS_QUICK if config.quick else MLP_EPOCHS,
        patience=5 if config.quick else 8,
        seed=config.seed,
    )
    log(
        f"phase 5/6 base models: random forest ({len(grid(rf_grid))} candidates), "
        f"Keras MLP ({len(grid(mlp_grid))} candidates), judged by validation AUC"
    )
    return {
        "random_forest": (make_model_pipeline(numeric, categorical, random_forest(config.seed), **options), rf_grid),
        "mlp": (make_model_pipeline(numeric, categorical, mlp, **options), mlp_grid),
    }


def _fit_and_score(name, template, param_grid, rows, config, log):
    """Phase 5 search on validation AUC, then phase 6 on the test rows: a `ModelResult`."""
    X_fit, y_fit, X_val, y_val, X_test, y_test = rows
    fitted, table_rows = search(template, grid(param_grid), X_fit, y_fit, X_val, y_val, log=log, name=MODEL_NAMES[name])
    best_row = max(table_rows, key=lambda row: row["validation_auc"])
    p_test = fitted.predict_proba(X_test)[:, 1]
    return ModelResult(
        name=name,
        pipeline=fitted,
        search=table_rows,
        best_params=best_row["params"],
        validation_auc=best_row["validation_auc"],
        test=evaluate_scores(y_test, p_test),
        p_test=p_test,
        balanced_test=_balanced_test_scores(fitted, X_test, y_test, config.seed) if config.balance_test else None,
    )


def _counts(y):
    return tuple(int(v) for v in np.bincount(y, minlength=2))


def _balanced_test_scores(pipeline, X_test, y_test, seed):
    """The article's practice, kept apart: SMOTE the test rows (after encoding, before LDA) and score."""
    cut = [name for name, _ in pipeline.steps].index("smote")
    encoded = pipeline[:cut].transform(X_test)
    X_balanced, y_balanced = SMOTE(random_state=seed).fit_resample(encoded, y_test)
    return evaluate_scores(y_balanced, pipeline[cut + 1 :].predict_proba(X_balanced)[:, 1])


def _seed_everything(seed):
    """Same seed, same numbers: NumPy, Python and TensorFlow seeds (the kernels: `deterministic_ops`)."""
    import keras

    keras.utils.set_random_seed(seed)


@contextlib.contextmanager
def deterministic_ops():
    """TensorFlow's deterministic kernels on inside the block, then as they were before it.

    Switching them on is public (`tf.config.experimental.enable_op_determinism`). TensorFlow
    2.21 has no public way to read or undo it, so the state is read, and restored, with the two
    functions beside the public one in `tensorflow.python.framework.config`, those Keras itself
    reads (`keras/src/trainers/trainer.py`). Should a later TensorFlow move them, the block
    still runs deterministically and leaves determinism on, as the public call alone would.
    """
    import tensorflow as tf

    try:
        from tensorflow.python.framework.config import disable_op_determinism, is_op_determinism_enabled
    except ImportError:
        disable_op_determinism, is_op_determinism_enabled = None, lambda: True
    was_on = is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        if not was_on:
            disable_op_determinism()
