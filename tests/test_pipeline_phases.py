"""pipeline: Gini, the rate table, and phases 1–3 fitted on training rows only (no TensorFlow)."""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import RandomForestClassifier

from pipeline.data import load_table
from pipeline.evaluate import RATE_NAMES, evaluate_scores, rate_table
from pipeline.flow import FlowConfig, _balanced_test_scores, split
from pipeline.gini import cart_split_impurities, gini_impurity, weighted_gini
from pipeline.plots import roc_curves
from pipeline.preprocess import (
    LDA,
    ZScoreClipper,
    class_counts,
    feature_steps,
    make_model_pipeline,
    outlier_summary,
)
from pipeline.report import metrics_table, search_table


@pytest.fixture(scope="module")
def titanic():
    return load_table("titanic", log=lambda message: None)


@pytest.fixture(scope="module")
def parts(titanic):
    X_fit, X_val, X_test, y_fit, y_val, y_test = split(titanic.X, titanic.y, FlowConfig(seed=0))
    return X_fit, X_test, y_fit, y_test


def test_gini_of_the_article_example():
    assert gini_impurity((4, 4)) == pytest.approx(0.5)
    assert gini_impurity((4, 0)) == 0.0
    assert gini_impurity((8, 4)) == pytest.approx(4 / 9)
    assert weighted_gini([(4, 4), (4, 0)]) == pytest.approx(1 / 3)
    assert round(weighted_gini([(4, 4), (4, 0)]), 4) == 0.3333


def test_rate_table_formulas_on_a_hand_made_confusion_matrix():
    rates = rate_table(tn=50, fp=10, fn=5, tp=35)  # n = 100
    assert rates["accuracy"] == pytest.approx(0.85)
    assert rates["misclassification_rate"] == pytest.approx(0.15)
    assert rates["tpr"] == pytest.approx(35 / 40)
    assert rates["fpr"] == pytest.approx(10 / 60)
    assert rates["tnr"] == pytest.approx(50 / 60)
    assert rates["precision"] == pytest.approx(35 / 45)
    assert rates["prevalence"] == pytest.approx(0.40)
    assert rates["f1"] == pytest.approx(2 * 35 / (2 * 35 + 10 + 5))


def test_undefined_rates_are_nan_not_zero():
    rates = rate_table(tn=8, fp=0, fn=2, tp=0)  # nothing predicted positive
    assert math.isnan(rates["precision"]) and math.isnan(rates["f1"])
    assert rates["tpr"] == 0.0 and rates["accuracy"] == pytest.approx(0.8)


def test_evaluate_scores_lays_out_the_matrix_as_tn_fp_fn_tp():
    scores = evaluate_scores([0, 0, 0, 1, 1], [0.1, 0.7, 0.2, 0.9, 0.3])
    assert scores["confusion_matrix"] == [[2, 1], [1, 1]]
    assert scores["auc"] == pytest.approx(5 / 6)  # 5 of the 6 (positive, negative) pairs ranked right
    assert scores["roc"]["fpr"][0] == 0.0 and scores["roc"]["tpr"][-1] == 1.0


def test_zscore_clipper_clips_new_rows_with_training_statistics():
    train = np.array([[1.0], [2.0], [3.0], [np.nan]])
    clipper = ZScoreClipper(threshold=1.0).fit(train)
    mean, std = 2.0, np.std([1.0, 2.0, 3.0])
    assert clipper.mean_[0] == pytest.approx(mean) and clipper.scale_[0] == pytest.approx(std)
    out = clipper.transform(np.array([[100.0], [-100.0], [2.5], [np.nan]]))
    np.testing.assert_allclose(out[:3, 0], [mean + std, mean - std, 2.5])
    assert np.isnan(out[3, 0])  # left for the imputer


def test_phase_1_statistics_come_from_the_training_rows_only(titanic, parts):
    X_fit, X_test, y_fit, _ = parts
    features = Pipeline(feature_steps(titanic.schema.numeric, titanic.schema.categorical, seed=0)).fit(X_fit, y_fit)
    numeric = features.named_steps["encode"].named_transformers_["numeric"]
    train_values = X_fit[titanic.schema.numeric].to_numpy(float)
    np.testing.assert_allclose(numeric.named_steps["outliers"].mean_, np.nanmean(train_values, axis=0))
    np.testing.assert_allclose(numeric.named_steps["outliers"].scale_, np.nanstd(train_values, axis=0))
    clipped = numeric.named_steps["outliers"].transform(X_fit[titanic.schema.numeric])
    np.testing.assert_allclose(numeric.named_steps["impute"].statistics_, np.nanmean(clipped, axis=0))
    np.testing.assert_allclose(numeric.named_steps["scale"].data_max_, np.nanmax(clipped, axis=0))
    # and not those of all rows: the test rows change the fare statistics
    all_values = pd.concat([X_fit, X_test])[titanic.schema.numeric].to_numpy(float)
    assert not np.allclose(numeric.named_steps["outliers"].mean_, np.nanmean(all_values, axis=0))


class RecordingSMOTE(SMOTE):
    """SMOTE that remembers how many rows each call resampled."""

    seen = []

    def fit_resample(self, X, y, **params):
        RecordingSMOTE.seen.append(len(X))
        return super().fit_resample(X, y, **params)


def test_test_rows_never_pass_through_smote(titanic, parts):
    X_fit, X_test, y_fit, _ = parts
    RecordingSMOTE.seen = []
    pipeline = make_model_pipeline(
        titanic.schema.numeric,
        titanic.schema.categorical,
        RandomForestClassifier(n_estimators=10, random_state=0),
    )
    pipeline.set_params(smote=RecordingSMOTE(random_state=0)).fit(X_fit, y_fit)
    p = pipeline.predict_proba(X_test)
    assert RecordingSMOTE.seen == [len(X_fit)]
    assert p.shape == (len(X_test), 2)  # one answer per test row: none added, none dropped


def test_smote_balances_the_training_classes(titanic, parts):
    X_fit, _, y_fit, _ = parts
    features = Pipeline(feature_steps(titanic.schema.numeric, titanic.schema.categorical, seed=0)).fit(X_fit, y_fit)
    before, after = class_counts(features, X_fit, y_fit)
    assert before == tuple(np.bincount(y_fit)) and before[0] > before[1]
    assert after == (before[0], before[0])


def test_lda_gives_one_component_and_the_switch_skips_it(titanic, parts):
    X_fit, X_test, y_fit, _ = parts
    steps = dict(numeric=titanic.schema.numeric, categorical=titanic.schema.categorical, seed=0)
    with_lda = Pipeline(feature_steps(**steps)).fit(X_fit, y_fit)
    without = Pipeline(feature_steps(**steps, use_lda=False)).fit(X_fit, y_fit)
    n_encoded = len(with_lda.named_steps["encode"].get_feature_names_out())
    assert with_lda.transform(X_test).shape == (len(X_test), 1)
    assert with_lda.named_steps["lda"].scalings_.shape[1] >= 1
    assert without.named_steps["lda"] == "passthrough"
    assert without.transform(X_test).shape == (len(X_test), n_encoded) and n_encoded == 12


def test_lda_fits_classes_without_spread_within_them():
    # a column that copies the label, another constant: the within-class scatter is 0, where
    # scikit-learn's SVD solver raised IndexError (issue 26: 300 identical rows, alternating labels)
    y = np.array([0, 1] * 50)
    leaked = np.c_[y.astype(float), np.ones(100)]
    component = LDA(n_components=1).fit(leaked, y).transform(leaked)
    np.testing.assert_allclose(component[:, 0], np.where(y == 1, 0.5, -0.5))
    same = np.ones((100, 2))  # no column tells the rows apart: a component of zeros, not a crash
    np.testing.assert_array_equal(LDA(n_components=1).fit(same, y).transform(same), np.zeros((100, 1)))
    spread = np.random.default_rng(0).normal(size=(100, 3)) + y[:, None]  # usual data: scikit-learn's own LDA
    sklearn_lda = LinearDiscriminantAnalysis(n_components=1).fit(spread, y)
    np.testing.assert_allclose(LDA(n_components=1).fit(spread, y).transform(spread), sklearn_lda.transform(spread))


def test_dropping_outliers_removes_training_rows_but_never_test_rows(titanic, parts):
    X_fit, X_test, y_fit, _ = parts
    pipeline = make_model_pipeline(
        titanic.schema.numeric,
        titanic.schema.categorical,
        RandomForestClassifier(n_estimators=10, random_state=0),
        outliers="drop",
    )
    pipeline.fit(X_fit, y_fit)
    before, _ = class_counts(pipeline, X_fit, y_fit)
    values = X_fit[titanic.schema.numeric].to_numpy(float)
    z = np.abs((values - np.nanmean(values, 0)) / np.nanstd(values, 0))
    assert sum(before) == int((~(np.nan_to_num(z) > 3).any(axis=1)).sum()) < len(X_fit)
    assert pipeline.predict_proba(X_test).shape[0] == len(X_test)


def test_balanced_test_set_has_half_positives(titanic, parts):
    X_fit, X_test, y_fit, y_test = parts
    pipeline = make_model_pipeline(
        titanic.schema.numeric,
        titanic.schema.categorical,
        RandomForestClassifier(n_estimators=10, random_state=0),
    ).fit(X_fit, y_fit)
    scores = _balanced_test_scores(pipeline, X_test, y_test, seed=0)
    assert scores["prevalence"] == 0.5
    assert sum(map(sum, scores["confusion_matrix"])) == 2 * int((y_test == 0).sum())


def test_cart_tree_reports_the_article_gini_numbers():
    impurities = cart_split_impurities([(4, 4), (4, 0)])  # 8 yes / 4 no → 4/4 and 4/0
    assert impurities["parent"] == pytest.approx(gini_impurity((8, 4))) == pytest.approx(4 / 9)
    assert impurities["children"] == pytest.approx([0.5, 0.0])
    assert impurities["weighted"] == pytest.approx(weighted_gini([(4, 4), (4, 0)])) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="two children"):
        cart_split_impurities([(1, 1)])


def test_outlier_summary_gives_where_the_clipper_clips_and_how_often(titanic, parts):
    X_fit, *_ = parts
    numeric = titanic.schema.numeric
    summary = outlier_summary(X_fit, numeric, threshold=3.0)
    clipper = ZScoreClipper(threshold=3.0).fit(X_fit[numeric])
    np.testing.assert_allclose(summary["lower"], clipper.mean_ - 3 * clipper.scale_)
    np.testing.assert_allclose(summary["upper"], clipper.mean_ + 3 * clipper.scale_)
    values = X_fit[numeric].to_numpy(float)
    changed = ~np.isclose(clipper.transform(X_fit[numeric]), values) & ~np.isnan(values)
    assert summary["outliers"].tolist() == changed.sum(axis=0).tolist() and changed.sum() > 0
    assert summary["missing"].tolist() == X_fit[numeric].isna().sum().tolist()
    assert summary.loc["age", "missing"] > 0  # Titanic's missing ages, for the imputer


def _fake_result(balanced=True):
    """A FlowResult-like object with two models scored on hand-made rows (no training)."""
    y = [0, 0, 0, 1, 1]
    forest = evaluate_scores(y, [0.1, 0.7, 0.2, 0.9, 0.3])
    mlp = evaluate_scores(y, [0.1, 0.2, 0.3, 0.9, 0.8])
    search_rows = [
        {"params": {"max_depth": 4}, "validation_auc": 0.8, "seconds": 0.1},
        {"params": {"max_depth": None}, "validation_auc": 0.7, "seconds": 0.2},
    ]
    return SimpleNamespace(
        sizes={"test": len(y)},
        models={
            "random_forest": SimpleNamespace(
                test=forest,
                balanced_test=forest if balanced else None,
                search=search_rows,
                best_params={"max_depth": 4},
            ),
            "mlp": SimpleNamespace(
                test=mlp,
                balanced_test=mlp if balanced else None,
                search=[{"params": {"hidden_units": [8]}, "validation_auc": 0.9, "seconds": 1.0, "epochs_run": 15}],
                best_params={"hidden_units": [8]},
            ),
        },
    )


def test_metrics_table_has_a_row_per_rate_and_a_column_per_model():
    table = metrics_table(_fake_result())
    assert list(table.columns) == ["Random forest", "Keras MLP"]
    assert len(table) == len(RATE_NAMES) + 1 and table.index[-1] == "ROC AUC"
    assert table.loc["accuracy", "Random forest"] == pytest.approx(0.6)
    assert table.loc["accuracy", "Keras MLP"] == pytest.approx(1.0)
    assert table.loc["ROC AUC", "Random forest"] == pytest.approx(5 / 6)
    assert table.loc["prevalence"].tolist() == pytest.approx([0.4, 0.4])
    with pytest.raises(ValueError, match="balance_test=True"):
        metrics_table(_fake_result(balanced=False), which="balanced_test")


def test_search_table_lists_every_candidate_and_marks_the_chosen_one():
    table = search_table(_fake_result())
    assert table["model"].tolist() == ["Random forest", "Random forest", "Keras MLP"]
    assert table["validation_auc"].tolist() == [0.8, 0.7, 0.9]
    assert table["chosen"].tolist() == [True, False, True]
    assert table["epochs_run"].isna().tolist() == [True, True, False]


def test_roc_curves_draw_both_models_and_chance_under_a_chosen_title():
    import matplotlib.pyplot as plt

    fake = _fake_result()
    fig = roc_curves(fake)
    ax = fig.axes[0]
    assert ax.get_title() == "ROC on 5 test rows"
    assert [line.get_label() for line in ax.get_lines()] == [
        "Random forest (AUC 0.833)",
        "Keras MLP (AUC 1.000)",
        "chance (AUC 0.5)",
    ]
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), fake.models["random_forest"].test["roc"]["fpr"])
    assert roc_curves(fake, title="ROC without LDA").axes[0].get_title() == "ROC without LDA"
    plt.close("all")
