"""The variant study of "LSTM: A Search Space Odyssey" on JSB Chorales, sized for a small CPU.

Task (as in the paper): next-step prediction of the 88-key piano roll. A one-layer LSTM of
the variant reads steps ``1 … T−1`` and a Dense layer with sigmoid outputs predicts which
keys sound at ``2 … T``; the metric is the negative log-likelihood per time step on the test
split, in nats, ``−Σ_keys [y log p + (1 − y) log(1 − p)]`` averaged over predicted steps.

Search: the paper ran 200 random trials per variant on a cluster. Here every variant gets
the *same* ``trials`` random hyperparameter draws (learning rate log-uniform in
``[1e-3, 3e-2]``, hidden size log-uniform in ``[32, 128]``) so variants are compared pair by
pair; each trial trains with Adam (gradients clipped to global norm 1) and early stopping on
the validation NLL, and reports the test NLL of its best validation epoch.
"""

import dataclasses
import json
import math
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from lstm_tf.errors import LSTMTFError
from lstm_tf.jsb import PIANO_KEYS
from lstm_tf.layer import SpaceOdysseyLSTM
from lstm_tf.variants import VARIANTS

# The paper's conclusions this study checks (Greff et al. 2017, section 5 and figure 3).
PAPER_CLAIMS = {"NFG": "worse", "NOAF": "worse", "CIFG": "same", "NP": "same"}
TOLERANCE = 0.02  # "about as good": best test NLL within 2 % of vanilla's


@dataclasses.dataclass
class StudyConfig:
    """Settings of one study; saved beside the results so a rerun resumes only a same-config study."""

    variants: tuple = VARIANTS
    trials: int = 5
    max_epochs: int = 60
    patience: int = 6
    batch_size: int = 16
    seed: int = 0
    learning_rate_range: tuple = (1e-3, 3e-2)
    units_range: tuple = (32, 128)
    bucket: int = 32          # pad lengths to a multiple: few shapes, few XLA compilations
    max_sequences: int = 0    # 0 = all; a small number for a quick smoke run

    @classmethod
    def quick(cls, **overrides):
        """A smoke-test study: three variants, one small trial, two epochs, 24 sequences, one shape."""
        return cls(**{**dict(variants=("vanilla", "NFG", "CIFG"), trials=1, max_epochs=2, patience=1,
                             units_range=(16, 16), max_sequences=24, bucket=160), **overrides})


def sample_hyperparameters(config):
    """``config.trials`` draws of ``(learning_rate, units)``, the same for every variant."""
    rng = np.random.default_rng(config.seed)
    lo, hi = np.log(config.learning_rate_range)
    ulo, uhi = np.log(config.units_range)
    return [{"learning_rate": float(np.exp(rng.uniform(lo, hi))), "units": int(round(np.exp(rng.uniform(ulo, uhi))))}
            for _ in range(config.trials)]


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
        chosen = [rolls[k] for k in order[start:start + batch_size]]
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


def build_model(variant, units, input_dim=PIANO_KEYS):
    """``(batch, time, 88)`` → logits ``(batch, time, 88)``: one LSTM layer and a Dense read-out."""
    inputs = keras.Input((None, input_dim))
    hidden = SpaceOdysseyLSTM(units, variant=variant, return_sequences=True)(inputs)
    return keras.Model(inputs, keras.layers.Dense(input_dim)(hidden), name=f"jsb_{variant}")


def _nll_sum(y, logits, weight):
    """Σ over real steps of −log p(keys at that step): sigmoid cross-entropy summed over keys."""
    per_step = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits), axis=-1)
    return tf.reduce_sum(per_step * weight)


class Trainer:
    """Train one model with early stopping; measure NLL per step."""

    def __init__(self, model, learning_rate):
        self.model = model
        self.optimizer = keras.optimizers.Adam(learning_rate, global_clipnorm=1.0)

        @tf.function(reduce_retracing=True)
        def train_step(x, y, weight):
            with tf.GradientTape() as tape:
                loss = _nll_sum(y, model(x, training=True), weight) / tf.reduce_sum(weight)
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
        """Train until the validation NLL has not improved for ``config.patience`` epochs.

        Returns:
            ``(epochs_run, best_epoch, best_valid_nll)``; the model keeps its best weights.
        """
        best, best_epoch, best_weights = math.inf, 0, None
        for epoch in range(1, config.max_epochs + 1):
            for x, y, w in next_step_batches(train_rolls, config.batch_size, config.bucket, seed=seed * 1000 + epoch):
                self._train_step(x, y, w)
            valid = self.nll(valid_batches)
            if valid < best:
                best, best_epoch, best_weights = valid, epoch, self.model.get_weights()
            elif epoch - best_epoch >= config.patience:
                break
        self.model.set_weights(best_weights)
        return epoch, best_epoch, best


def run_trial(variant, hyperparameters, data, config, trial):
    """Train and score one (variant, hyperparameters) pair; returns a result row (dict)."""
    keras.utils.set_random_seed(config.seed * 100 + trial)  # same initial draws for every variant
    start = time.perf_counter()
    model = build_model(variant, hyperparameters["units"])
    trainer = Trainer(model, hyperparameters["learning_rate"])
    valid = next_step_batches(data["valid"], 64, config.bucket)
    epochs, best_epoch, valid_nll = trainer.fit(data["train"], valid, config, seed=config.seed * 100 + trial)
    test_nll = trainer.nll(next_step_batches(data["test"], 64, config.bucket))
    return {"variant": variant, "trial": trial, **hyperparameters, "parameters": model.count_params(),
            "epochs": epochs, "best_epoch": best_epoch, "valid_nll": valid_nll, "test_nll": test_nll,
            "seconds": time.perf_counter() - start}


def summarize(results):
    """Per variant: trials, mean, std, median, min of the test NLL, and the pick by validation.

    ``best`` is the test NLL of the trial with the lowest *validation* NLL (the model one
    would pick); ``vs_vanilla`` is its relative difference to vanilla's pick. Paired with
    vanilla on the same draws: ``paired_median`` (median test-NLL difference, nats) and
    ``paired_worse`` of ``paired_n`` (draws on which the variant did worse).
    """
    rows = []
    for variant, group in results.groupby("variant", sort=False):
        pick = group.loc[group["valid_nll"].idxmin()]
        rows.append({"variant": variant, "trials": len(group), "mean": group["test_nll"].mean(),
                     "std": group["test_nll"].std(ddof=1) if len(group) > 1 else float("nan"),
                     "median": group["test_nll"].median(), "min": group["test_nll"].min(),
                     "best": pick["test_nll"], "best_units": int(pick["units"]),
                     "best_learning_rate": pick["learning_rate"]})
    table = pd.DataFrame(rows).set_index("variant")
    order = [v for v in VARIANTS if v in table.index]
    table = table.loc[order]
    if "vanilla" in table.index:
        table["vs_vanilla"] = table["best"] / table.loc["vanilla", "best"] - 1
        # Pair by pair: the same hyperparameter draw (trial) trained as vanilla and as the variant.
        paired = results.pivot_table(index="trial", columns="variant", values="test_nll")
        difference = paired.sub(paired["vanilla"], axis=0)
        table["paired_median"] = difference.median().reindex(order)
        table["paired_worse"] = (difference > 0).sum().reindex(order)
        table["paired_n"] = difference.notna().sum().reindex(order)
    return table


def check_paper_claims(table, tolerance=TOLERANCE):
    """Compare each variant the paper judged (:data:`PAPER_CLAIMS`) with vanilla, here.

    A variant is "worse" when its pick's test NLL is more than ``tolerance`` above vanilla's,
    "better" when more than ``tolerance`` below, else "same".

    Returns:
        list of dicts: ``variant``, ``paper``, ``here``, ``holds``, ``vs_vanilla``.
    """
    checks = []
    for variant, claim in PAPER_CLAIMS.items():
        if variant not in table.index or "vs_vanilla" not in table:
            continue
        diff = float(table.loc[variant, "vs_vanilla"])
        here = "worse" if diff > tolerance else "better" if diff < -tolerance else "same"
        checks.append({"variant": variant, "paper": claim, "here": here,
                       "holds": here == claim or (claim == "same" and here == "better"), "vs_vanilla": diff})
    return checks


def markdown_report(table, checks, config):
    """The summary table and the check of the paper's conclusions, as markdown."""
    lines = [f"Test NLL per time step (nats; lower is better), {config.trials} random trials per variant "
             f"(same draws for every variant), early stopping on validation. Paired columns: the variant "
             f"minus vanilla on the same draw.", "",
             "| variant | trials | mean | std | median | min | pick by valid | vs vanilla | units, lr of pick "
             "| paired: median Δ | paired: worse |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |"]
    for variant, row in table.iterrows():
        vs, median_delta, worse = "", "", ""
        if "vs_vanilla" in row:
            vs, median_delta = f"{row['vs_vanilla']:+.1%}", f"{row['paired_median']:+.3f}"
            worse = f"{int(row['paired_worse'])} of {int(row['paired_n'])}"
        std = "–" if math.isnan(row["std"]) else f"{row['std']:.3f}"  # one trial has no spread
        lines.append(f"| {variant} | {int(row['trials'])} | {row['mean']:.3f} | {std} | {row['median']:.3f} | "
                     f"{row['min']:.3f} | {row['best']:.3f} | {vs} | {int(row['best_units'])}, "
                     f"{row['best_learning_rate']:.4f} | {median_delta} | {worse} |")
    if checks:
        lines += ["", f"The paper's conclusions, checked here ('same' = within {TOLERANCE:.0%} of vanilla):", "",
                  "| variant | paper | here | holds? |", "| --- | --- | --- | --- |"]
        lines += [f"| {c['variant']} | {c['paper']} | {c['here']} ({c['vs_vanilla']:+.1%}) | "
                  f"{'yes' if c['holds'] else 'no'} |" for c in checks]
    return "\n".join(lines) + "\n"


def plot_study(results, path=None):
    """Box plot of every trial's test NLL per variant; saved if ``path``."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    order = [v for v in VARIANTS if v in set(results["variant"])]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    sns.boxplot(data=results, x="variant", y="test_nll", order=order, color="#cfe2f3", ax=ax, showfliers=False)
    sns.stripplot(data=results, x="variant", y="test_nll", order=order, color="#1f4e79", size=4, ax=ax)
    if "vanilla" in order:
        ax.axhline(results.loc[results["variant"] == "vanilla", "test_nll"].median(), color="gray", ls="--", lw=1,
                   label="vanilla median")
        ax.legend(loc="upper right")
    ax.set_ylabel("test NLL per time step (nats)")
    ax.set_title("LSTM variants on JSB Chorales")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def run_study(data, config, out_dir, progress=print):
    """Every (variant, trial) pair, resumable: rows already in ``out_dir/results.csv`` are kept.

    Rerunning with more ``trials`` adds draws to the same study.

    Writes ``config.json``, ``results.csv`` (after every trial), and at the end
    ``summary.md`` and ``boxplot.png``.

    Returns:
        ``(results DataFrame, summary table, checks)``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config_file, csv = out_dir / "config.json", out_dir / "results.csv"
    saved = json.loads(json.dumps(dataclasses.asdict(config)))
    if config_file.exists():
        # More trials extend a study (the first draws stay the same); any other change is another study.
        previous = json.loads(config_file.read_text())
        changed = sorted(k for k in saved if k != "trials" and previous.get(k) != saved[k])
        if changed:
            raise LSTMTFError(f"{out_dir} holds a study with other settings ({', '.join(changed)}); "
                              f"use another --out or delete it.")
    config_file.write_text(json.dumps(saved, indent=2))
    results = pd.read_csv(csv) if csv.exists() else pd.DataFrame()
    done = set(zip(results.get("variant", []), results.get("trial", [])))

    if config.max_sequences:
        data = {split: rolls[:config.max_sequences] for split, rolls in data.items()}
    draws = sample_hyperparameters(config)
    pairs = [(trial, variant) for trial in range(config.trials) for variant in config.variants]
    for n, (trial, variant) in enumerate(pairs, 1):
        if (variant, trial) in done:
            continue
        row = run_trial(variant, draws[trial], data, config, trial)
        results = pd.concat([results, pd.DataFrame([row])], ignore_index=True)
        tmp = csv.with_suffix(".csv.tmp")
        results.to_csv(tmp, index=False)
        tmp.replace(csv)  # a kill mid-write never leaves a broken results.csv
        progress(f"[{n}/{len(pairs)}] {variant:7s} trial {trial}: units {row['units']}, lr {row['learning_rate']:.4f}"
                 f" → test NLL {row['test_nll']:.3f} (valid {row['valid_nll']:.3f}, epoch {row['best_epoch']}"
                 f"/{row['epochs']}, {row['seconds']:.0f} s)")

    results = results[results["trial"] < config.trials]  # a larger earlier run stays on disk, unused
    table = summarize(results)
    checks = check_paper_claims(table)
    (out_dir / "summary.md").write_text(markdown_report(table, checks, config))
    plot_study(results, out_dir / "boxplot.png")
    return results, table, checks
