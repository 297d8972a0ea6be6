"""The variant study of "LSTM: A Search Space Odyssey" on JSB Chorales, sized for a small CPU.

Task (as in the paper): next-step prediction of the 88-key piano roll. A one-layer LSTM of
the variant reads steps ``1 … T−1`` and a Dense layer with sigmoid outputs predicts which
keys sound at ``2 … T``; the metric is the negative log-likelihood per time step on the test
split, in nats, ``−Σ_keys [y log p + (1 − y) log(1 − p)]`` averaged over predicted steps.

Search: random search on Optuna (:mod:`lstm_tf.search`), one study per variant, draw *k*
the same hyperparameters in every variant so variants also compare pair by pair; the
settings and the two protocols live in :mod:`lstm_tf.study_config`.

Every trial reports the test NLL of its best validation epoch. :func:`run_study` runs the
trials, then writes the report (:mod:`lstm_tf.report`) of the paper's analysis
(:mod:`lstm_tf.analysis`): the test NLL of the top 10 % trials per variant (by validation),
Welch's t-test against vanilla, and fANOVA hyperparameter importance.
"""

import math
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from cli_common import SEED_LIMIT
from lstm_tf import search
from lstm_tf.errors import LSTMTFError
from lstm_tf.jsb import PIANO_KEYS, SPLITS
from lstm_tf.layer import SpaceOdysseyLSTM
from lstm_tf.report import write_report
from lstm_tf.study_config import STORE_FILE, default_study_name, search_space, suggest


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
    # same initial draws for every variant; NumPy's seeds end at 2**32 − 1, config.seed may be near it
    seed = (config.seed * 100 + trial) % SEED_LIMIT
    keras.utils.set_random_seed(seed)
    start, cpu_start = time.perf_counter(), time.process_time()
    model = build_model(variant, hyperparameters["units"], hyperparameters.get("input_noise", 0.0))
    trainer = Trainer(model, *make_optimizer(config, hyperparameters))
    valid = next_step_batches(data["valid"], 64, config.bucket)
    epochs, best_epoch, valid_nll = trainer.fit(data["train"], valid, config, seed=seed)
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


def run_study(data, config, out_dir, storage=None, study_name=None, progress=print, grace_period=60):
    """Run the missing trials of every variant's study, then write the report from all finished trials.

    ``storage``: an Optuna storage URL; default ``sqlite:///{out_dir}/study.db``. Several
    processes or machines may run this on the same storage at once: together they finish
    ``config.trials`` trials per variant. To report without training, use
    :func:`lstm_tf.report.report_study`.

    Writes ``results.csv``, ``summary.md``, ``boxplot.png`` (top 10 % trials),
    ``importance.png`` and ``learning_rate.png`` (with ≥ 5 trials per variant) in ``out_dir``
    (:func:`lstm_tf.report.write_report`). Nothing is written when the data or settings are refused.

    Returns:
        ``(results DataFrame, summary table, checks)``.

    Raises:
        LSTMTFError: empty splits, an unopenable storage, a study of that name with other settings.
    """
    check_splits(data)
    out_dir = Path(out_dir)
    if storage is None:
        out_dir.mkdir(parents=True, exist_ok=True)
        storage = f"sqlite:///{out_dir / STORE_FILE}"
    store = search.open_storage(storage, grace_period=grace_period)
    studies = search.open_studies(
        store, study_name or default_study_name(config), config.variants, config.settings(), config.seed
    )
    space = search_space(config)
    if config.max_sequences:
        data = {split: rolls[: config.max_sequences] for split, rolls in data.items()}

    def objective(variant, trial, draw):
        row = run_trial(variant, suggest(trial, space), data, config, draw)
        for key in ("parameters", "epochs", "best_epoch", "valid_nll", "test_nll", "seconds", "cpu_seconds"):
            trial.set_user_attr(key, float(row[key]))
        done = sum(search.counts(s)[0] for s in studies.values()) + 1
        progress(
            f"[{done}/{config.trials * len(studies)}] {variant:7s} draw {draw}: "
            + ", ".join(f"{k} {row[k]:.3g}" for k in space)
            + f" → test NLL {row['test_nll']:.3f} (valid {row['valid_nll']:.3f}, epoch {row['best_epoch']}"
            f"/{row['epochs']}, {row['seconds']:.0f} s)"
        )
        return row["test_nll"]

    with search.storage_errors(storage):  # a store that becomes unwritable (a full disk) mid-study
        search.run_worker(studies, objective, config.trials)
    return write_report(search.trials_frame(studies), space, config, out_dir)
