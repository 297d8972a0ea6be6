"""The run folder: ``report.md`` and ``metrics.json`` (every metric of both models), the PNG
figures, and ``model/`` (see `pipeline.persist`), written together by `write_run`."""

import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from pipeline.evaluate import RATE_NAMES
from pipeline.flow import BALANCE_TEST_WARNING, MODEL_NAMES
from pipeline.persist import atomic_folder, save_models

RATE_LABELS = {
    "accuracy": "accuracy",
    "misclassification_rate": "misclassification rate",
    "tpr": "TPR (recall, sensitivity)",
    "fpr": "FPR",
    "tnr": "TNR (specificity)",
    "precision": "precision",
    "prevalence": "prevalence",
    "f1": "F1",
    "auc": "ROC AUC",
}


def metrics_document(result):
    """Everything measured in a run as plain JSON-ready data (NaN becomes null)."""
    models = {
        name: {
            "best_params": m.best_params,
            "validation_auc": m.validation_auc,
            "search": m.search,
            "test": m.test,
            "balanced_test": m.balanced_test,
        }
        for name, m in result.models.items()
    }
    document = {
        "dataset": result.schema.source,
        "target": result.schema.target,
        "labels": {"negative": result.schema.labels[0], "positive": result.schema.labels[1]},
        "features": {
            "numeric": result.schema.numeric,
            "categorical": result.schema.categorical,
            "dropped": result.schema.dropped,
            "columns_after_encoding": result.n_encoded_features,
        },
        "config": dataclasses.asdict(result.config),
        "sizes": result.sizes,
        "class_counts": {k: list(v) for k, v in result.class_counts.items()},
        "models": models,
        "best_model": result.best,
        "seconds": {k: round(v, 2) for k, v in result.seconds.items()},
    }
    return _json_ready(document)


def _json_ready(value):
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _number(value):
    return "n/a" if value is None else f"{value:.4f}"


def metrics_table(result, which="test"):
    """The rate table, F1 and ROC AUC of every model of a `FlowResult`: one row a metric, one column a model.

    which: "test" (the untouched test rows) or "balanced_test" (the SMOTE-balanced test rows
    of ``FlowConfig(balance_test=True)``; optimistic, see `pipeline.flow.BALANCE_TEST_WARNING`).
    """
    import pandas as pd

    if which not in ("test", "balanced_test"):
        raise ValueError(f"which must be 'test' or 'balanced_test', not {which!r}")
    keys = (*RATE_NAMES, "auc")
    columns = {}
    for name, model in result.models.items():
        scores = getattr(model, which)
        if scores is None:
            raise ValueError("no balanced test metrics in this result: run it with FlowConfig(balance_test=True)")
        columns[MODEL_NAMES[name]] = [scores[key] for key in keys]
    return pd.DataFrame(columns, index=[RATE_LABELS[key] for key in keys])


def search_table(result):
    """Phase 5's searches as a DataFrame: one row per candidate, with its validation AUC (and epochs for the MLP)."""
    import pandas as pd

    rows = [
        {
            "model": MODEL_NAMES[name],
            "params": _params(row["params"]),
            "validation_auc": row["validation_auc"],
            "epochs_run": row.get("epochs_run"),
            "seconds": row["seconds"],
            "chosen": row["params"] == model.best_params,
        }
        for name, model in result.models.items()
        for row in model.search
    ]
    return pd.DataFrame(rows).astype({"epochs_run": "Int64"})  # missing for the forest, whole for the MLP


def markdown_report(document, figure_names):
    """report.md: data, the phases' numbers, the rate table of both models, searches, figures."""
    names = list(document["models"])
    sizes, counts, config = document["sizes"], document["class_counts"], document["config"]
    lines = [
        f"# Data-mining process flow: {document['dataset']}",
        "",
        f"Target `{document['target']}`, positive class `{document['labels']['positive']}`. "
        f"{sizes['all']} rows: {sizes['fit']} fit + {sizes['validation']} validation "
        f"(= {sizes['train']} train) / {sizes['test']} test, stratified; seed {config['seed']}.",
        "",
        f"- Phase 1: numeric {', '.join(document['features']['numeric']) or '–'}; categorical "
        f"{', '.join(document['features']['categorical']) or '–'} → {document['features']['columns_after_encoding']} "
        f"columns. Outliers (|z| > {config['z_threshold']:g}): {config['outliers']}. Left out: "
        + ("; ".join(f"`{c}`: {why}" for c, why in document["features"]["dropped"].items()) or "nothing")
        + ".",
        f"- Phase 2: SMOTE on the fit rows: {counts['fit_before_smote'][0]} / {counts['fit_before_smote'][1]} "
        f"→ {counts['fit_after_smote'][0]} / {counts['fit_after_smote'][1]} (negative / positive).",
        f"- Phase 3: LDA {'to one component' if config['use_lda'] else 'skipped (--no-lda)'}.",
        "- Phase 4: validation rows held out before phases 1–3 were fitted (real rows, never resampled).",
        "- Phase 5: "
        + "; ".join(
            f"{MODEL_NAMES[n]} best {_params(document['models'][n]['best_params'])} "
            f"(validation AUC {document['models'][n]['validation_auc']:.4f})"
            for n in names
        )
        + ".",
        f"- Phase 6: best model by test AUC: **{MODEL_NAMES[document['best_model']]}**.",
        "",
        "## Test metrics (untouched test rows)",
        "",
        "| metric | " + " | ".join(MODEL_NAMES[n] for n in names) + " |",
        "| --- | " + " | ".join("---:" for _ in names) + " |",
    ]
    for key in (*RATE_NAMES, "auc"):
        lines.append(
            f"| {RATE_LABELS[key]} | " + " | ".join(_number(document["models"][n]["test"][key]) for n in names) + " |"
        )
    lines.append(
        "| confusion matrix [[TN, FP], [FN, TP]] | "
        + " | ".join(str(document["models"][n]["test"]["confusion_matrix"]) for n in names)
        + " |"
    )
    if config["balance_test"]:
        lines += [
            "",
            "## On the SMOTE-balanced test set (optimistic)",
            "",
            BALANCE_TEST_WARNING,
            "",
            "| metric | " + " | ".join(MODEL_NAMES[n] for n in names) + " |",
            "| --- | " + " | ".join("---:" for _ in names) + " |",
        ]
        for key in (*RATE_NAMES, "auc"):
            lines.append(
                f"| {RATE_LABELS[key]} | "
                + " | ".join(_number(document["models"][n]["balanced_test"][key]) for n in names)
                + " |"
            )
    lines += ["", "## Hyperparameter searches (validation AUC)", ""]
    for n in names:
        lines += (
            [f"{MODEL_NAMES[n]}:", ""]
            + [
                f"- {_params(row['params'])}: {row['validation_auc']:.4f}"
                + (f" ({row['epochs_run']} epochs)" if "epochs_run" in row else "")
                for row in document["models"][n]["search"]
            ]
            + [""]
        )
    lines += ["## Figures", ""] + [f"![{stem}]({stem}.png)" for stem in figure_names]
    return "\n".join(lines) + "\n"


def _params(params):
    return ", ".join(f"{k}={v}" for k, v in params.items())


def write_run(result, out):
    """Write report.md, metrics.json, the PNGs and model/ to ``out`` at once (all or nothing)."""
    import matplotlib.pyplot as plt

    from pipeline.plots import all_figures

    document = metrics_document(result)
    with atomic_folder(out) as folder:
        figures = all_figures(result)
        for stem, figure in figures.items():
            figure.savefig(folder / f"{stem}.png", dpi=90)
            plt.close(figure)
        save_models(result, folder / "model")
        (folder / "report.md").write_text(markdown_report(document, list(figures)))
        (folder / "metrics.json").write_text(json.dumps(document, indent=2) + "\n")  # last: it marks a whole run
    return Path(out)
