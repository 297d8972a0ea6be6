"""The variant study of "LSTM: A Search Space Odyssey" on JSB Chorales, sized for a small CPU.

Task (as in the paper): next-step prediction of the 88-key piano roll. A one-layer LSTM of
the variant reads steps ``1 … T−1`` and a Dense layer with sigmoid outputs predicts which
keys sound at ``2 … T``; the metric is the negative log-likelihood per time step on the test
split, in nats, ``−Σ_keys [y log p + (1 − y) log(1 − p)]`` averaged over predicted steps.

Search: random search on Optuna (:mod:`lstm_tf.search`), one study per variant, draw *k*
the same hyperparameters in every variant so variants also compare pair by pair. Two
protocols (:data:`PROTOCOLS`):

- ``paper`` — the paper's JSB Chorales setup: hidden units log-uniform in [20, 200] (capped
  here by ``units_range``), learning rate log-uniform in [1e-6, 1e-2], momentum
  ``1 − log-uniform[0.01, 1]``, Gaussian input noise with std uniform in [0, 1], SGD with
  Nesterov momentum on the per-sequence NLL (summed over time, averaged over the batch),
  early stopping on validation (``max_epochs`` capped).
- ``fast`` — Adam (gradients clipped to global norm 1) on the per-step NLL, learning rate
  log-uniform in [1e-3, 3e-2], hidden units log-uniform in [32, 128], no noise: reaches a
  good model in far fewer epochs on a CPU.

Every trial reports the test NLL of its best validation epoch. The analysis follows the
paper: the test NLL of the top 10 % trials per variant (by validation), Welch's t-test
against vanilla, and fANOVA hyperparameter importance (:func:`lstm_tf.search.fanova_importance`).
"""

import dataclasses
import math
import time
from pathlib import Path

import keras
import numpy as np
import optuna
import pandas as pd
import tensorflow as tf

from lstm_tf import search
from lstm_tf.errors import LSTMTFError
from lstm_tf.jsb import PIANO_KEYS, SPLITS
from lstm_tf.layer import SpaceOdysseyLSTM
from lstm_tf.variants import VARIANTS

# The paper's conclusions this study checks (Greff et al. 2017, section 5 and figure 3):
# significantly worse than vanilla (Welch's t-test, p < 0.05, top 10 % trials), or not different.
PAPER_CLAIMS = {"NFG": "worse", "NOAF": "worse", "CIFG": "same", "NP": "same"}
SIGNIFICANCE = 0.05
# The paper's fANOVA result (section 6): the learning rate matters most, then the hidden size;
# momentum hardly at all; interactions are small.
PAPER_IMPORTANCE = ("learning_rate", "units")


@dataclasses.dataclass
class StudyConfig:
    """Settings of one study; saved in the study store so that more trials are added only to a same-settings study.

    ``trials`` is the number of finished trials wanted per variant (all workers together).
    """

    protocol: str = "fast"
    variants: tuple = VARIANTS
    trials: int = 5
    max_epochs: int = 60
    patience: int = 6
    batch_size: int = 16
    seed: int = 0
    learning_rate_range: tuple = (1e-3, 3e-2)
    units_range: tuple = (32, 128)
    momentum_range: tuple = ()  # of 1 − momentum, log-uniform; () = Adam, no momentum
    noise_range: tuple = ()  # std of the Gaussian input noise, uniform; () = none
    bucket: int = 32  # pad lengths to a multiple: few shapes, few XLA compilations
    max_sequences: int = 0  # 0 = all; a small number for a quick smoke run

    @classmethod
    def for_protocol(cls, protocol="fast", quick=False, **overrides):
        """The settings of ``protocol`` (:data:`PROTOCOLS`), optionally the seconds-long smoke version.

        Raises:
            LSTMTFError: unknown protocol, or a count below 1.
        """
        if protocol not in PROTOCOLS:
            raise LSTMTFError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}.")
        settings = {"protocol": protocol, **PROTOCOLS[protocol]}
        if quick:  # three variants, one small trial, two epochs, 24 sequences, one shape
            settings.update(
                variants=("vanilla", "NFG", "CIFG"),
                trials=1,
                max_epochs=2,
                patience=1,
                units_range=(8, 16),
                max_sequences=24,
                bucket=160,
            )
        config = cls(**{**settings, **overrides})
        for name in ("trials", "max_epochs", "patience", "batch_size"):
            if getattr(config, name) < 1:
                raise LSTMTFError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(config, name)}.")
        if config.units_range[1] < config.units_range[0]:
            raise LSTMTFError(
                f"the hidden-size cap {config.units_range[1]} is below the smallest size "
                f"{config.units_range[0]} of the {protocol} protocol; raise --max-units."
            )
        return config

    @classmethod
    def quick(cls, **overrides):
        """The smoke run of the ``fast`` protocol (notebook 03 and the tests use it)."""
        return cls.for_protocol("fast", quick=True, **overrides)

    def settings(self):
        """What must match for two runs to add to the same study: everything but ``trials`` and ``variants``."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in ("trials", "variants")}


# Caps of the paper protocol (units ≤ 64 of the paper's 200, ≤ 12 epochs): chosen from the
# trial times measured on one CPU thread, so that 9 variants × 30 trials fit in about an hour
# (README, "The variant study on JSB Chorales").
PROTOCOLS = {
    "fast": {"learning_rate_range": (1e-3, 3e-2), "units_range": (32, 128), "max_epochs": 60, "patience": 6},
    "paper": {
        "learning_rate_range": (1e-6, 1e-2),
        "units_range": (20, 64),
        "momentum_range": (0.01, 1.0),
        "noise_range": (0.0, 1.0),
        "max_epochs": 12,
        "patience": 4,
    },
}


def search_space(config):
    """``{hyperparameter: optuna distribution}`` of ``config``'s protocol."""
    space = {
        "learning_rate": optuna.distributions.FloatDistribution(*config.learning_rate_range, log=True),
        "units": optuna.distributions.IntDistribution(*config.units_range, log=True),
    }
    if config.momentum_range:
        space["one_minus_momentum"] = optuna.distributions.FloatDistribution(*config.momentum_range, log=True)
    if config.noise_range:
        space["input_noise"] = optuna.distributions.FloatDistribution(*config.noise_range)
    return space


def suggest(trial, space):
    """Ask the Optuna trial for every hyperparameter of ``space``; returns ``{name: value}``."""
    return {
        name: (
            trial.suggest_int(name, dist.low, dist.high, log=dist.log)
            if isinstance(dist, optuna.distributions.IntDistribution)
            else trial.suggest_float(name, dist.low, dist.high, log=dist.log)
        )
        for name, dist in space.items()
    }


def check_splits(data):
    """Refuse data the study cannot score: every split needs a chorale of at least two steps.

    Raises:
        LSTMTFError: naming the empty split(s).
    """
    empty = [s for s in SPLITS if not any(len(r) >= 2 for r in data.get(s, []))]
    if empty:
        raise LSTMTFError(
            f"the {', '.join(empty)} split(s) hold no chorale of two or more steps: nothing to train "
            f"or score. Give the JSB Chorales file with all three splits filled."
        )


def next_step_batches(rolls, batch_size, bucket=32, seed=None):
    """Batches of ``(x, y, weight)`` for next-step prediction.

    ``x`` = steps ``0 … T−2``, ``y`` = steps ``1 … T−1`` of each roll, zero-padded at the end
    to a multiple of ``bucket``; ``weight`` is 1 on real steps, 0 on padding. Sequences of
    similar length share a batch (shuffled within and across buckets when ``seed`` is given).

    Returns:
        list of ``(x, y, weight)``: ``(batch, time, 88)``, ``(batch, time, 88)``, ``(batch, time)``.
    """
    rng = np.random.default_rng(seed)
    if seed is None:
        order = np.argsort([len(r) for r in rolls], kind="stable")
    else:  # shuffle, then group by padded length (stable: the shuffle survives within a bucket)
        order = rng.permutation(len(rolls))
        order = order[np.argsort([math.ceil((len(rolls[k]) - 1) / bucket) for k in order], kind="stable")]
    batches = []
    for start in range(0, len(order), batch_size):
        chosen = [rolls[k] for k in order[start : start + batch_size]]
        length = bucket * math.ceil(max(len(r) - 1 for r in chosen) / bucket)
        x = np.zeros((len(chosen), length, PIANO_KEYS), np.float32)
        y, w = np.zeros_like(x), np.zeros((len(chosen), length), np.float32)
        for row, roll in enumerate(chosen):
            n = len(roll) - 1
            x[row, :n], y[row, :n], w[row, :n] = roll[:-1], roll[1:], 1.0
        batches.append((x, y, w))
    if seed is not None:
        batches = [batches[k] for k in rng.permutation(len(batches))]
    return batches


def build_model(variant, units, input_noise=0.0, input_dim=PIANO_KEYS):
    """``(batch, time, 88)`` → logits ``(batch, time, 88)``: (input noise,) one LSTM layer, a Dense read-out.

    ``input_noise``: std of the Gaussian noise added to the inputs while training (the paper's
    regulariser); none at 0.
    """
    inputs = keras.Input((None, input_dim))
    x = keras.layers.GaussianNoise(input_noise)(inputs) if input_noise > 0 else inputs
    hidden = SpaceOdysseyLSTM(units, variant=variant, return_sequences=True)(x)
    return keras.Model(inputs, keras.layers.Dense(input_dim)(hidden), name=f"jsb_{variant}")


def _nll_sum(y, logits, weight):
    """Σ over real steps of −log p(keys at that step): sigmoid cross-entropy summed over keys."""
    per_step = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits), axis=-1)
    return tf.reduce_sum(per_step * weight)


def make_optimizer(config, hyperparameters):
    """The protocol's optimizer and loss scale.

    Returns:
        ``(optimizer, per_sequence)``: ``paper`` — SGD with Nesterov momentum on the NLL summed
        over each sequence's steps (as the paper's online SGD), averaged over the batch;
        ``fast`` — Adam, global norm clipped to 1, on the NLL per step.
    """
    if config.protocol == "paper":
        momentum = 1.0 - hyperparameters["one_minus_momentum"]
        return keras.optimizers.SGD(hyperparameters["learning_rate"], momentum=momentum, nesterov=True), True
    return keras.optimizers.Adam(hyperparameters["learning_rate"], global_clipnorm=1.0), False


class Trainer:
    """Train one model with early stopping; measure NLL per step."""

    def __init__(self, model, optimizer, per_sequence=False):
        self.model = model
        self.optimizer = optimizer

        @tf.function(reduce_retracing=True)
        def train_step(x, y, weight):
            with tf.GradientTape() as tape:
                total = _nll_sum(y, model(x, training=True), weight)
                loss = total / (tf.cast(tf.shape(x)[0], tf.float32) if per_sequence else tf.reduce_sum(weight))
            self.optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)

        @tf.function(reduce_retracing=True)
        def nll_step(x, y, weight):
            return _nll_sum(y, model(x, training=False), weight)

        self._train_step, self._nll_step = train_step, nll_step

    def nll(self, batches):
        """Negative log-likelihood per time step (nats) over ``batches``."""
        total = sum(float(self._nll_step(x, y, w)) for x, y, w in batches)
        return total / sum(float(w.sum()) for _, _, w in batches)

    def fit(self, train_rolls, valid_batches, config, seed):
        """Train until the validation NLL has not improved for ``config.patience`` epochs, or diverges.

        Epoch 0 is the untrained model, so a run that diverges at once keeps its initial weights.

        Returns:
            ``(epochs_run, best_epoch, best_valid_nll)``; the model keeps its best weights.
        """
        best, best_epoch, best_weights = self.nll(valid_batches), 0, self.model.get_weights()
        epoch = 0
        for epoch in range(1, config.max_epochs + 1):
            for x, y, w in next_step_batches(train_rolls, config.batch_size, config.bucket, seed=seed * 1000 + epoch):
                self._train_step(x, y, w)
            valid = self.nll(valid_batches)
            if valid < best:
                best, best_epoch, best_weights = valid, epoch, self.model.get_weights()
            elif not math.isfinite(valid) or epoch - best_epoch >= config.patience:
                break
        self.model.set_weights(best_weights)
        return epoch, best_epoch, best


def run_trial(variant, hyperparameters, data, config, trial):
    """Train and score one (variant, hyperparameters) pair; returns a result row (dict).

    ``trial`` is the draw number: it seeds the initial weights, the same for every variant.
    """
    keras.utils.set_random_seed(config.seed * 100 + trial)  # same initial draws for every variant
    start, cpu_start = time.perf_counter(), time.process_time()
    model = build_model(variant, hyperparameters["units"], hyperparameters.get("input_noise", 0.0))
    trainer = Trainer(model, *make_optimizer(config, hyperparameters))
    valid = next_step_batches(data["valid"], 64, config.bucket)
    epochs, best_epoch, valid_nll = trainer.fit(data["train"], valid, config, seed=config.seed * 100 + trial)
    test_nll = trainer.nll(next_step_batches(data["test"], 64, config.bucket))
    return {
        "variant": variant,
        "trial": trial,
        **hyperparameters,
        "parameters": model.count_params(),
        "epochs": epochs,
        "best_epoch": best_epoch,
        "valid_nll": valid_nll,
        "test_nll": test_nll,
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu_start,
    }


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


def default_study_name(config, quick=False):
    """``jsb-{protocol}`` (``-quick`` for the smoke run): one name per protocol, so both fit one storage."""
    return f"jsb-{config.protocol}{'-quick' if quick else ''}"


def run_study(data, config, out_dir, storage=None, study_name=None, progress=print, report_only=False, grace_period=60):
    """Run the missing trials of every variant's study, then write the report from all finished trials.

    ``storage``: an Optuna storage URL; default ``sqlite:///{out_dir}/study.db``. Several
    processes or machines may run this on the same storage at once: together they finish
    ``config.trials`` trials per variant. ``report_only``: train nothing (``data`` may be None),
    report what is there.

    Writes ``results.csv``, ``summary.md``, ``boxplot.png`` (top 10 % trials),
    ``importance.png`` and ``learning_rate.png`` (with ≥ 5 trials per variant) in ``out_dir``.
    Nothing is written when the data or settings are refused.

    Returns:
        ``(results DataFrame, summary table, checks)``.

    Raises:
        LSTMTFError: empty splits, an unopenable storage, a study of that name with other settings.
    """
    if not report_only:
        check_splits(data)
    out_dir = Path(out_dir)
    if storage is None:
        if report_only and not (out_dir / "study.db").is_file():
            raise LSTMTFError(
                f"{out_dir / 'study.db'} does not exist: no study to report. Give the --out of a run, or its --storage."
            )
        out_dir.mkdir(parents=True, exist_ok=True)
        storage = f"sqlite:///{out_dir / 'study.db'}"
    store = search.open_storage(storage, grace_period=grace_period)
    name = study_name or default_study_name(config)
    if report_only:
        present = {s.study_name for s in store.get_all_studies()}
        studies = {
            v: optuna.load_study(study_name=f"{name}/{v}", storage=store)
            for v in config.variants
            if f"{name}/{v}" in present
        }
        if not studies:
            raise LSTMTFError(f"no study named {name}/<variant> in {storage}; run it first, or give its --study-name.")
        finished = [t for s in studies.values() for t in s.get_trials(deepcopy=False, states=search.COUNTED[:1])]
        if not finished:
            raise LSTMTFError(
                f"the studies {name}/<variant> in {storage} have no finished trial yet; nothing to report."
            )
        space = dict(finished[0].distributions)
        stored = next(iter(studies.values())).user_attrs.get("settings", {})
        config = dataclasses.replace(config, **{k: tuple(v) if isinstance(v, list) else v for k, v in stored.items()})
    else:
        studies = search.open_studies(store, name, config.variants, config.settings(), config.seed)
        space = search_space(config)
        if config.max_sequences:
            data = {split: rolls[: config.max_sequences] for split, rolls in data.items()}

        def objective(variant, trial, draw):
            row = run_trial(variant, suggest(trial, space), data, config, draw)
            for key in (
                "parameters",
                "epochs",
                "best_epoch",
                "valid_nll",
                "test_nll",
                "seconds",
                "cpu_seconds",
            ):
                trial.set_user_attr(key, float(row[key]))
            done = sum(search.counts(s)[0] for s in studies.values()) + 1
            progress(
                f"[{done}/{config.trials * len(studies)}] {variant:7s} draw {draw}: "
                + ", ".join(f"{k} {row[k]:.3g}" for k in space)
                + f" → test NLL {row['test_nll']:.3f} (valid {row['valid_nll']:.3f}, epoch {row['best_epoch']}"
                f"/{row['epochs']}, {row['seconds']:.0f} s)"
            )
            return row["test_nll"]

        search.run_worker(studies, objective, config.trials)
    return write_report(search.trials_frame(studies), space, config, out_dir)


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
    results.to_csv(out_dir / "results.csv", index=False)
    (out_dir / "summary.md").write_text(markdown_report(table, checks, config, importance))
    import matplotlib.pyplot as plt

    plt.close(plot_study(results, out_dir / "boxplot.png"))
    if len(importance):
        plt.close(plot_importance(importance, out_dir / "importance.png"))
        plt.close(plot_learning_rate_marginal(results, space, out_dir / "learning_rate.png", forests=forests))
    return results, table, checks
