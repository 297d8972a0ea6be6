"""Phase 6: confusion matrix, the article's rate table, F1, ROC curve and AUC.

With TP, TN, FP, FN the confusion-matrix cells (positive = the class of interest) and
n = TP + TN + FP + FN, the article's rates are:

    accuracy            (TP + TN) / n
    misclassification   (FP + FN) / n            = 1 − accuracy
    TPR (recall)        TP / (TP + FN)           actual yes, predicted yes
    FPR                 FP / (FP + TN)           actual no, predicted yes
    TNR (specificity)   TN / (FP + TN)           = 1 − FPR
    precision           TP / (TP + FP)           predicted yes, actually yes
    prevalence          (TP + FN) / n            how often yes occurs in the sample
    F1                  2 · precision · TPR / (precision + TPR)

A rate whose denominator is 0 (no predicted positives, say) is undefined and given as NaN
(``null`` in JSON), not silently as 0.
"""

import math

import numpy as np
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve

RATE_NAMES = ("accuracy", "misclassification_rate", "tpr", "fpr", "tnr", "precision", "prevalence", "f1")


def _ratio(numerator, denominator):
    return numerator / denominator if denominator else math.nan


def rate_table(tn, fp, fn, tp):
    """The article's rates and F1 from the four cells of a two-class confusion matrix."""
    n = tn + fp + fn + tp
    precision, tpr = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {
        "accuracy": _ratio(tp + tn, n),
        "misclassification_rate": _ratio(fp + fn, n),
        "tpr": tpr,
        "fpr": _ratio(fp, fp + tn),
        "tnr": _ratio(tn, fp + tn),
        "precision": precision,
        "prevalence": _ratio(tp + fn, n),
        "f1": _ratio(2 * precision * tpr, precision + tpr) if not math.isnan(precision + tpr) else math.nan,
    }


def evaluate_scores(y_true, p_positive, threshold=0.5):
    """Every phase-6 number for one model on one set of rows.

    y_true: ``(n,)`` 0/1; p_positive: ``(n,)`` predicted P(class 1). A row is predicted
    positive when p ≥ threshold. Returns a dict: ``confusion_matrix`` ``[[TN, FP], [FN, TP]]``
    (rows = actual no/yes, columns = predicted no/yes, as scikit-learn prints it), the
    rates of `rate_table`, ``auc``, and ``roc`` (``fpr``, ``tpr``, ``thresholds`` lists).
    """
    y_true = np.asarray(y_true).astype(int)
    p_positive = np.asarray(p_positive, dtype=float)
    (tn, fp), (fn, tp) = confusion_matrix(y_true, (p_positive >= threshold).astype(int), labels=[0, 1])
    fpr, tpr, thresholds = roc_curve(y_true, p_positive)
    return {
        "confusion_matrix": [[int(tn), int(fp)], [int(fn), int(tp)]],
        **rate_table(int(tn), int(fp), int(fn), int(tp)),
        "auc": float(roc_auc_score(y_true, p_positive)),
        "roc": {
            "fpr": fpr.tolist(),
            "tpr": tpr.tolist(),
            # roc_curve's first threshold is +inf (nothing predicted positive)
            "thresholds": [min(t, 1.0) for t in thresholds.tolist()],
        },
    }


def best_by_auc(metrics):
    """The name of the model with the highest test AUC; ``metrics``: name → `evaluate_scores` dict."""
    return max(metrics, key=lambda name: metrics[name]["auc"])
