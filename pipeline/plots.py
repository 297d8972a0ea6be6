"""The run's figures (matplotlib, seaborn styling). Each function returns a
`matplotlib.figure.Figure`; `pipeline.report.write_run` saves them as PNG. The backend is the
caller's: `dm-pipeline` picks Agg, a notebook keeps Jupyter's inline one."""

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from pipeline.flow import MODEL_NAMES


def confusion_matrices(result):
    """One heatmap per model of ``[[TN, FP], [FN, TP]]`` on the test rows, labelled by class."""
    labels = list(result.schema.labels)
    fig, axes = plt.subplots(1, len(result.models), figsize=(4.2 * len(result.models), 3.6))
    for ax, (name, model) in zip(np.atleast_1d(axes), result.models.items()):
        sns.heatmap(
            np.array(model.test["confusion_matrix"]),
            annot=True,
            fmt="d",
            cbar=False,
            cmap="Blues",
            xticklabels=labels,
            yticklabels=labels,
            ax=ax,
        )
        ax.set(
            title=f"{MODEL_NAMES[name]} (test AUC {model.test['auc']:.3f})",
            xlabel=f"predicted {result.schema.target}",
            ylabel=f"actual {result.schema.target}",
        )
    fig.tight_layout()
    return fig


def roc_curves(result, title=None):
    """Both models' ROC curves on one axis, with the chance diagonal (title: default "ROC on N test rows")."""
    fig, ax = plt.subplots(figsize=(5, 4.6))
    for name, model in result.models.items():
        ax.plot(
            model.test["roc"]["fpr"],
            model.test["roc"]["tpr"],
            label=f"{MODEL_NAMES[name]} (AUC {model.test['auc']:.3f})",
        )
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance (AUC 0.5)")
    ax.set(
        xlabel="false positive rate (FPR)",
        ylabel="true positive rate (TPR, recall)",
        title=title or f"ROC on {result.sizes['test']} test rows",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def class_balance(result):
    """Rows per class of the fit rows before and after SMOTE."""
    negative, positive = result.schema.labels
    before, after = result.class_counts["fit_before_smote"], result.class_counts["fit_after_smote"]
    fig, ax = plt.subplots(figsize=(5, 3.6))
    x = np.arange(2)
    bars = [
        ax.bar(x - 0.2, before, 0.4, label="before SMOTE"),
        ax.bar(x + 0.2, after, 0.4, label="after SMOTE"),
    ]
    for bar in bars:
        ax.bar_label(bar)
    ax.set_xticks(x, [f"{result.schema.target} = {negative}", f"{result.schema.target} = {positive}"])
    ax.set(ylabel="training (fit) rows", title="Class balance of the training rows", ylim=(0, 1.25 * max(after)))
    ax.legend(loc="upper center", ncol=2)  # above the bars and their counts
    fig.tight_layout()
    return fig


def lda_projection(result):
    """Histogram of the LDA component by class, for the fit rows and the test rows."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharex=True)
    for ax, (part, (values, y)) in zip(axes, result.lda.items()):
        for cls, label in enumerate(result.schema.labels):
            sns.histplot(
                values[y == cls],
                ax=ax,
                stat="density",
                bins=30,
                alpha=0.5,
                element="step",
                label=f"{result.schema.target} = {label}",
            )
        ax.set(title=f"LDA component, {part} rows ({len(y)})", xlabel="LDA component 1")
        ax.legend()
    fig.tight_layout()
    return fig


def all_figures(result):
    """File stem → figure, for every plot this run has (no LDA plot when LDA was skipped)."""
    figures = {
        "confusion_matrices": confusion_matrices(result),
        "roc_curves": roc_curves(result),
        "class_balance": class_balance(result),
    }
    if result.lda is not None:
        figures["lda_projection"] = lda_projection(result)
    return figures
