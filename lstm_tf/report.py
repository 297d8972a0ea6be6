"""The variant study's report: ``summary.md``, ``results.csv`` and the figures (the paper's
figures 3 and 5, and the learning rate's marginal), from the trials of a run
(:func:`write_report`) or from those already in a study store (:func:`report_study`).
No TensorFlow: a report of stored trials needs none.
"""

import dataclasses
import math
from pathlib import Path

import numpy as np
import optuna

from cli_common.files import write_file_atomically, write_text_atomically
from lstm_tf import search
from lstm_tf.analysis import (
    PAPER_IMPORTANCE,
    SIGNIFICANCE,
    check_paper_claims,
    importance_by_variant,
    importance_columns,
    summarize,
    top_trials,
    variant_forests,
)
from lstm_tf.errors import LSTMTFError
from lstm_tf.study_config import STORE_FILE, default_study_name
from lstm_tf.variants import VARIANTS


def markdown_report(table, checks, config, importance=None):
    """The summary table, the check of the paper's conclusions and the importance table, as markdown."""
    lines = [
        (
            f"Test NLL per time step (nats; lower is better), protocol `{config.protocol}`, random trials "
            f"per variant (draw k has the same hyperparameters in every variant), early stopping on validation. "
            f"Top 10 %: the best trials by validation; Welch: their test NLL against vanilla's. Paired columns: "
            f"the variant minus vanilla on the same draw."
        ),
        "",
        (
            "| variant | trials | mean | median | min | pick by valid | vs vanilla | units, lr of pick "
            "| top 10 %: n, mean | Welch p | paired: median Δ | paired: worse |"
        ),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for variant, row in table.iterrows():
        vs, p, median_delta, worse = "", "", "", ""
        if "vs_vanilla" in row:
            vs, median_delta = f"{row['vs_vanilla']:+.1%}", f"{row['paired_median']:+.3f}"
            p = "–" if math.isnan(row["welch_p"]) else f"{row['welch_p']:.3f}"
            worse = f"{int(row['paired_worse'])} of {int(row['paired_n'])}"
        lines.append(
            f"| {variant} | {int(row['trials'])} | {row['mean']:.3f} | {row['median']:.3f} | "
            f"{row['min']:.3f} | {row['best']:.3f} | {vs} | {int(row['best_units'])}, "
            f"{row['best_learning_rate']:.2g} | {int(row['top_n'])}, {row['top_mean']:.3f} | {p} | "
            f"{median_delta} | {worse} |"
        )
    if checks:
        lines += [
            "",
            (f"The paper's conclusions, checked by its test (Welch's t-test on the top 10 %, p < {SIGNIFICANCE}):"),
            "",
            "| variant | paper | verdict |",
            "| --- | --- | --- |",
        ]
        lines += [f"| {c['variant']} | {c['paper']} | {c['verdict']} |" for c in checks]
        lines += [""] + [f"- {c['sentence']}" for c in checks]
    if importance is not None and len(importance):
        columns = importance_columns(importance)
        mains = [c for c in columns if " × " not in c]
        ranking = importance.drop(index="all", errors="ignore")[mains].mean().dropna().sort_values(ascending=False)
        lines += [
            "",
            (
                "fANOVA: share of the variance of test NLL explained by each hyperparameter, and by the two "
                "largest pairwise interactions (mean over variants); `all`: every variant's trials pooled:"
            ),
            "",
            "| variant | " + " | ".join(columns) + " |",
            "| --- |" + " ---: |" * len(columns),
        ]
        lines += [
            f"| {v} | " + " | ".join("–" if math.isnan(row[c]) else f"{row[c]:.1%}" for c in columns) + " |"
            for v, row in importance.iterrows()
        ]
        lines += [
            "",
            "Ranking here (mean share over variants): "
            + " > ".join(f"{name} ({share:.0%})" for name, share in ranking.items())
            + ". The paper's on JSB Chorales: "
            + ", then ".join(PAPER_IMPORTANCE)
            + "; momentum hardly matters, interactions are small.",
        ]
    return "\n".join(lines) + "\n"


def _finish(fig, path=None):
    """Lay ``fig`` out, save it to ``path`` when given (120 dpi), and return it."""
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def plot_study(results, path=None):
    """Box plot of the test NLL of the top 10 % trials per variant (as the paper's figure 3); saved if ``path``."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    order = [v for v in VARIANTS if v in set(results["variant"])]
    top = results.groupby("variant", group_keys=False)[list(results.columns)].apply(top_trials)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    sns.boxplot(data=top, x="variant", y="test_nll", order=order, color="#cfe2f3", ax=ax, showfliers=False)
    sns.stripplot(data=top, x="variant", y="test_nll", order=order, color="#1f4e79", size=4, ax=ax)
    if "vanilla" in order:
        ax.axhline(
            top.loc[top["variant"] == "vanilla", "test_nll"].median(),
            color="gray",
            ls="--",
            lw=1,
            label="vanilla median",
        )
        ax.legend(loc="upper right")
    ax.set_ylabel("test NLL per time step (nats)")
    counts = results["variant"].value_counts()
    trials = f"{counts.min()}" if counts.min() == counts.max() else f"{counts.min()}–{counts.max()}"
    ax.set_title(f"LSTM variants on JSB Chorales: top 10 % of {trials} trials per variant")
    return _finish(fig, path)


def plot_importance(importance, path=None):
    """fANOVA shares as bars, one group per hyperparameter, one bar per variant (as the paper's figure 5)."""
    import matplotlib.pyplot as plt

    columns = importance_columns(importance)
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / max(1, len(importance))
    for k, (variant, row) in enumerate(importance.iterrows()):
        ax.bar(
            np.arange(len(columns)) + k * width - 0.4 + width / 2,
            [row[c] for c in columns],
            width,
            label=variant,
            color="black" if variant == "all" else None,
        )
    ax.set_xticks(
        np.arange(len(columns)),
        [c.replace("one_minus_momentum", "1 − momentum") for c in columns],
        rotation=15,
    )
    ax.set_ylabel("share of variance of test NLL")
    ax.set_title("fANOVA hyperparameter importance per variant")
    ax.legend(ncol=3, fontsize=8)
    return _finish(fig, path)


def plot_learning_rate_marginal(results, space, path=None, points=40, n_trees=32, forests=None):
    """Predicted test NLL against the learning rate, the others averaged out; band: ± 1 std over the forest's trees.

    One curve per forest of :func:`variant_forests` (fitted here unless ``forests`` is given).
    """
    import matplotlib.pyplot as plt

    if forests is None:
        forests = variant_forests(results, space, n_trees)
    dist = space["learning_rate"]
    grid = np.geomspace(dist.low, dist.high, points)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for variant, (_, marginal) in forests.items():
        mean, std = marginal("learning_rate", grid)
        (line,) = ax.plot(grid, mean, label=variant)
        ax.fill_between(grid, mean - std, mean + std, color=line.get_color(), alpha=0.12)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("test NLL per time step (nats)")
    ax.set_title("Marginal of the learning rate (fANOVA forest)")
    ax.legend(ncol=3, fontsize=8)
    return _finish(fig, path)


def write_report(results, space, config, out_dir):
    """``results.csv``, ``summary.md`` and the figures in ``out_dir``; returns ``(results, table, checks)``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = results.drop(columns=["value"], errors="ignore").sort_values(["trial", "variant"], ignore_index=True)
    for key in ("parameters", "epochs", "best_epoch"):
        results[key] = results[key].astype(int)
    table = summarize(results)
    checks = check_paper_claims(table)
    forests = variant_forests(results, space)
    importance = importance_by_variant(results, space, forests=forests)
    # each file whole or as it was: a Ctrl-C here must not leave a truncated table behind
    write_file_atomically(out_dir / "results.csv", lambda f: results.to_csv(f, index=False))
    summary = markdown_report(table, checks, config, importance)
    write_text_atomically(out_dir / "summary.md", summary)
    import matplotlib.pyplot as plt

    plt.close(plot_study(results, out_dir / "boxplot.png"))
    if len(importance):
        plt.close(plot_importance(importance, out_dir / "importance.png"))
        plt.close(plot_learning_rate_marginal(results, space, out_dir / "learning_rate.png", forests=forests))
    return results, table, checks


def report_study(config, out_dir, storage=None, study_name=None, grace_period=60):
    """Train nothing: write the report of the trials finished so far in the study store.

    ``config``: the variants to report (its other settings are those stored with the study);
    ``storage``: as :func:`lstm_tf.study.run_study`'s, default ``sqlite:///{out_dir}/study.db``.

    Returns:
        ``(results DataFrame, summary table, checks)``, as :func:`write_report`.

    Raises:
        LSTMTFError: no store, no study of that name, or no finished trial yet.
    """
    out_dir = Path(out_dir)
    if storage is None:
        if not (out_dir / STORE_FILE).is_file():
            raise LSTMTFError(
                f"{out_dir / STORE_FILE} does not exist: no study to report. Give the --out of a run, or its --storage."
            )
        storage = f"sqlite:///{out_dir / STORE_FILE}"
    store = search.open_storage(storage, grace_period=grace_period)
    name = study_name or default_study_name(config)
    present = {s.study_name for s in store.get_all_studies()}
    studies = {
        v: optuna.load_study(study_name=f"{name}/{v}", storage=store)
        for v in config.variants
        if f"{name}/{v}" in present
    }
    if not studies:
        held = sorted({study.rpartition("/")[0] or study for study in present})
        raise LSTMTFError(
            f"no study named {name}/<variant> in {storage} (it holds {', '.join(held) or 'none'}); run it first, or "
            f"give its --study-name (the default name follows --protocol and --quick)."
        )
    finished = [t for s in studies.values() for t in s.get_trials(deepcopy=False, states=search.COUNTED[:1])]
    if not finished:
        raise LSTMTFError(f"the studies {name}/<variant> in {storage} have no finished trial yet; nothing to report.")
    stored = next(iter(studies.values())).user_attrs.get("settings", {})
    config = dataclasses.replace(config, **{k: tuple(v) if isinstance(v, list) else v for k, v in stored.items()})
    return write_report(search.trials_frame(studies), dict(finished[0].distributions), config, out_dir)
