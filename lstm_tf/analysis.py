"""The paper's analysis of the variant study: top 10 % per variant, Welch's t-test against
vanilla, the check of the paper's conclusions, and fANOVA hyperparameter importance.

Input: the trials table of :func:`lstm_tf.search.trials_frame` (one row per finished trial:
``variant``, ``trial`` (the draw), the hyperparameters, ``valid_nll``, ``test_nll``, ...).
No TensorFlow: a report of stored trials needs none.
"""

import math

import optuna
import pandas as pd

from lstm_tf import search
from lstm_tf.variants import VARIANTS

# The paper's conclusions this study checks (Greff et al. 2017, section 5 and figure 3):
# significantly worse than vanilla (Welch's t-test, p < 0.05, top 10 % trials), or not different.
PAPER_CLAIMS = {"NFG": "worse", "NOAF": "worse", "CIFG": "same", "NP": "same"}
SIGNIFICANCE = 0.05
# The paper's fANOVA result (section 6): the learning rate matters most, then the hidden size;
# momentum hardly at all; interactions are small.
PAPER_IMPORTANCE = ("learning_rate", "units")


def top_trials(group, share=0.1):
    """The best ``share`` of a variant's trials by validation NLL (at least one): the paper's "top 10 %"."""
    return group.nsmallest(max(1, math.ceil(share * len(group))), "valid_nll")


def summarize(results):
    """Per variant: the spread of the test NLL, the pick by validation, the top 10 %, and vanilla comparisons.

    ``best`` is the test NLL of the trial with the lowest *validation* NLL (the model one
    would pick); ``vs_vanilla`` is its relative difference to vanilla's pick. ``top_n`` and
    ``top_mean``: the top 10 % trials by validation and their mean test NLL; ``welch_p``: the
    paper's test, Welch's t-test of their test NLL against vanilla's top 10 %. Paired with
    vanilla on the same draws: ``paired_median`` (median test-NLL difference, nats) and
    ``paired_worse`` of ``paired_n`` (draws on which the variant did worse).
    """
    from scipy.stats import ttest_ind

    rows = []
    for variant, group in results.groupby("variant", sort=False):
        pick, top = group.loc[group["valid_nll"].idxmin()], top_trials(group)
        rows.append(
            {
                "variant": variant,
                "trials": len(group),
                "mean": group["test_nll"].mean(),
                "std": group["test_nll"].std(ddof=1) if len(group) > 1 else float("nan"),
                "median": group["test_nll"].median(),
                "min": group["test_nll"].min(),
                "best": pick["test_nll"],
                "best_units": int(pick["units"]),
                "best_learning_rate": pick["learning_rate"],
                "top_n": len(top),
                "top_mean": top["test_nll"].mean(),
            }
        )
    table = pd.DataFrame(rows).set_index("variant")
    order = [v for v in VARIANTS if v in table.index]
    table = table.loc[order]
    if "vanilla" in table.index:
        table["vs_vanilla"] = table["best"] / table.loc["vanilla", "best"] - 1
        vanilla_top = top_trials(results[results["variant"] == "vanilla"])["test_nll"]
        table["welch_p"] = [
            float("nan")
            if v == "vanilla" or min(len(vanilla_top), table.loc[v, "top_n"]) < 2
            else float(
                ttest_ind(top_trials(results[results["variant"] == v])["test_nll"], vanilla_top, equal_var=False).pvalue
            )
            for v in order
        ]
        # Pair by pair: the same hyperparameter draw (trial) trained as vanilla and as the variant.
        paired = results.pivot_table(index="trial", columns="variant", values="test_nll")
        difference = paired.sub(paired["vanilla"], axis=0)
        table["paired_median"] = difference.median().reindex(order)
        table["paired_worse"] = (difference > 0).sum().reindex(order)
        table["paired_n"] = difference.notna().sum().reindex(order)
    return table


def check_paper_claims(table, alpha=SIGNIFICANCE):
    """Each paper conclusion (:data:`PAPER_CLAIMS`) against this study, by the paper's test.

    "worse" holds when the variant's top 10 % is significantly worse than vanilla's (Welch,
    p < ``alpha``), does not hold when significantly better, and is undecided otherwise;
    "same" (no significant difference) holds when p ≥ ``alpha`` and does not hold when p < ``alpha``.
    With fewer than two top trials per side there is no test: undecided.

    Returns:
        list of dicts: ``variant``, ``paper``, ``verdict`` ("holds", "does not hold",
        "undecided"), ``p``, ``top_mean``, ``vanilla_top_mean``, ``top_n``, ``sentence``.
    """
    checks = []
    for variant, claim in PAPER_CLAIMS.items():
        if variant not in table.index or "welch_p" not in table:
            continue
        p, mean = float(table.loc[variant, "welch_p"]), float(table.loc[variant, "top_mean"])
        base, n = float(table.loc["vanilla", "top_mean"]), int(table.loc[variant, "top_n"])
        significant = math.isfinite(p) and p < alpha
        if not math.isfinite(p):
            verdict = "undecided"
        elif claim == "worse":
            verdict = "holds" if significant and mean > base else "does not hold" if significant else "undecided"
        else:
            verdict = "does not hold" if significant else "holds"
        test = f"Welch p = {p:.3f}" if math.isfinite(p) else "too few trials for a test"
        paper = "significantly worse than vanilla" if claim == "worse" else "not significantly different from vanilla"
        checks.append(
            {
                "variant": variant,
                "paper": claim,
                "verdict": verdict,
                "p": p,
                "top_mean": mean,
                "vanilla_top_mean": base,
                "top_n": n,
                "sentence": f"{variant}: the paper found it {paper}; here "
                f"{f'its top {n} trials average' if n > 1 else 'its best trial by validation scores'} "
                f"{mean:.3f} nats against vanilla's {base:.3f} ({test}): {verdict}"
                f"{' at this number of trials' if verdict == 'undecided' else ''}.",
            }
        )
    return checks


def variant_forests(results, space, n_trees=32, seed=0):
    """One fANOVA forest on the test NLL per variant, in :data:`VARIANTS` order:
    ``{variant: (importance, marginal)}`` as :func:`lstm_tf.search.fanova_importance` returns.

    Variants with fewer than 5 trials, or one test NLL for all, are left out (a forest on
    fewer says nothing). :func:`importance_by_variant` and :func:`plot_learning_rate_marginal`
    take the result, so a report fits each forest once.
    """
    present = set(results["variant"])
    forests = {}
    for variant in [v for v in VARIANTS if v in present]:
        group = results[results["variant"] == variant]
        if len(group) >= 5 and group["test_nll"].nunique() > 1:
            forests[variant] = search.fanova_importance(group, space, target="test_nll", n_trees=n_trees, seed=seed)
    return forests


def importance_by_variant(results, space, n_trees=32, seed=0, forests=None):
    """fANOVA per variant on the test NLL: a DataFrame, variants × (hyperparameters, then pairs).

    One row per forest of :func:`variant_forests` (fitted here unless ``forests`` is given).
    A last row, ``all``, pools every variant's trials with the variant as one more input (its
    code in :data:`VARIANTS`; a tree isolates any one code in two splits): steadier while each
    variant has few trials, and its ``LSTM variant`` column is the share of the variance due
    to the variant.
    """
    if forests is None:
        forests = variant_forests(results, space, n_trees, seed)
    rows = {variant: importance for variant, (importance, _) in forests.items()}
    order = list(rows)
    if len(order) > 1:
        pooled = results.assign(**{"LSTM variant": results["variant"].map(VARIANTS.index)})
        pooled_space = {**space, "LSTM variant": optuna.distributions.IntDistribution(0, len(VARIANTS) - 1)}
        rows["all"] = search.fanova_importance(pooled, pooled_space, target="test_nll", n_trees=n_trees, seed=seed)[0]
        order.append("all")
    return pd.DataFrame(rows).T.reindex(order)


def importance_columns(importance, pairs=2):
    """The hyperparameters, then the ``pairs`` interactions with the largest mean share over the variants."""
    per_variant = importance.drop(index="all", errors="ignore")
    interactions = [c for c in importance.columns if " × " in c]
    return [c for c in importance.columns if " × " not in c] + list(
        per_variant[interactions].mean().nlargest(pairs).index
    )
