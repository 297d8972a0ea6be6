"""Fine-tuning: a new run that starts from a trained model's weights and tokenizer.

Retraining the translator to teach it something new (place names, :mod:`transformer_tf.augment_places`)
costs 21 epochs; resuming from its weights costs one or two. ``TrainConfig.init_from`` names a
model folder (a released one, ``checkpoints/en_es``, or a run's): a run that has no checkpoint
yet takes its tokenizer files and fills the new model with its weights before the first step,
with a fresh optimizer. ``TrainConfig.learning_rate`` gives that optimizer a constant rate
(``CustomSchedule`` would warm up to ~7e-4 again and undo what the model knows).

The start must describe the same model and the same held-out splits: the fields that shape the
weights, and those that draw the splits (seed, fractions, subset, corpus), are checked, so the
test split of the fine-tuned model is the test split of the model it started from.

    transformer-tf train --init-from checkpoints/en_es --checkpoint-dir runs/ft \\
        --augment-places 0.1 --learning-rate 1e-4 --epochs 2

A fine-tune that learns something new forgets a little of the rest. WiSE-FT (Wortsman et al.,
CVPR 2022, "Robust fine-tuning of zero-shot models") releases a point on the straight line between
the two models instead, :func:`interpolation`: θ = (1 − α)·θ_start + α·θ_fine-tuned, with α chosen
on the validation split:

    transformer-tf release --checkpoint-dir runs/ft --average 5 \\
        --interpolate-with checkpoints/en_es --alpha 0.5
"""

import dataclasses
from pathlib import Path

import numpy as np

from transformer_tf.checkpoints import latest_checkpoint, restore_model, shipped_weights
from transformer_tf.config import TOKENIZER_FINGERPRINTS, TrainConfig, read_config_json
from transformer_tf.errors import TransformerTFError
from transformer_tf.tokenizer import load_tokenizers

# What a start must share with the run: the weights' shapes and the held-out splits.
SPLIT_FIELDS = ("split_method", "max_pairs", "val_fraction", "test_fraction", "seed")
SHAPE_FIELDS = ("model", "max_tokens", "share_embeddings", "tokenizer", "vocab_size")


def keep_start_split(config):
    """``config`` reading the split of the model it fine-tunes (``init_from``): the start's test
    pairs must stay out of training. Unchanged without ``init_from``."""
    if not config.init_from:
        return config
    return dataclasses.replace(config, split_method=TrainConfig.load(config.init_from).split_method)


def check_start(config, corpus):
    """The folder ``config.init_from`` and its weights' checkpoint prefix, checked against ``config``.

    Args:
        config: the new run's TrainConfig.
        corpus: :func:`transformer_tf.config.corpus_fingerprint` of the run's data.

    Returns:
        ``(folder, prefix)``.

    Raises:
        TransformerTFError: no model there, or one of another shape, split or corpus (naming
            each field that differs).
    """
    folder = Path(config.init_from)
    prefix = latest_checkpoint(folder) or shipped_weights(folder)
    if prefix is None:
        raise TransformerTFError(
            f"init_from {str(folder)!r}: no weights there; give a trained or released model's folder."
        )
    _check_same_model(config, folder, corpus, "init_from")
    return folder, prefix


def _check_same_model(config, folder, corpus, what):
    """Refuse a model ``folder`` whose shape, split or corpus is not ``config``'s (each field named)."""
    start = TrainConfig.load(folder)
    fields = SHAPE_FIELDS + TrainConfig.MODEL_FIELDS.get(config.model, ()) + SPLIT_FIELDS
    diffs = [
        f"{k}: {getattr(start, k)!r} there, {getattr(config, k)!r} here"
        for k in fields
        if getattr(start, k) != getattr(config, k)
    ]
    saved = read_config_json(folder).get("corpus")
    if saved and corpus and (saved.get("bytes"), saved.get("sha256")) != (corpus.get("bytes"), corpus.get("sha256")):
        diffs.append(f"corpus: {saved.get('file')} of {saved.get('bytes'):,} bytes there, another --data here")
    if diffs:
        raise TransformerTFError(
            f"{what} {str(folder)!r} describes another model or split ({'; '.join(diffs)}); "
            f"give the values of its config.json."
        )


def start_tokenizers(config):
    """The tokenizers of ``config.init_from`` (the new run saves copies of them)."""
    return load_tokenizers(config.init_from)


def load_start_weights(model, folder):
    """Set the weights of ``model`` (built, maybe compiled: its optimizer is left alone) to those
    of the model in ``folder``, read as :func:`transformer_tf.checkpoints.restore_model` reads them.

    Raises:
        TransformerTFError: the two models' weights differ in number or shapes.
    """
    _, start, _, _ = restore_model(folder)
    for weight, value in _weight_pairs(model, start, f"init_from {str(folder)!r}"):
        weight.assign(value)


def _weight_pairs(model, start, what):
    """``(weight of model, the same weight of start)`` for each weight but the seed generator's state.

    Raises:
        TransformerTFError: the two models' weights differ in number or shapes (``what``: the flag and folder).
    """
    weights = [w for w in model.weights if w.name != "seed_generator_state"]
    values = [w for w in start.weights if w.name != "seed_generator_state"]
    shapes = [tuple(w.shape) for w in weights], [tuple(w.shape) for w in values]
    if shapes[0] != shapes[1]:
        raise TransformerTFError(
            f"{what}: its {len(values)} weights do not fit this model's {len(weights)}; "
            f"give a folder of the same architecture."
        )
    return zip(weights, values)


def interpolation(start_folder, alpha, run_folder):
    """WiSE-FT: a function that moves a model's weights to ``(1 − alpha)·start + alpha·weights``.

    ``transformer-tf release --interpolate-with START --alpha A`` applies it to the fine-tuned
    run's (averaged) weights before writing them: alpha 1 is the fine-tune, 0 the start.

    Args:
        start_folder: the model the run was fine-tuned from (``init_from``); it must have the
            run's shape, held-out split, corpus and tokenizer files, checked here.
        alpha: the fine-tuned weights' share, in [0, 1].
        run_folder: the fine-tuned run's folder.

    Returns:
        ``blend(model)``, which sets each weight ``w`` to ``(1 - alpha) * w_start + alpha * w``.

    Raises:
        TransformerTFError: alpha outside [0, 1], or a start of another model, split, corpus or
            tokenizer (each difference named).
    """
    if not 0.0 <= alpha <= 1.0:
        raise TransformerTFError(f"alpha {alpha!r}: give the fine-tuned weights' share, between 0 and 1.")
    config = TrainConfig.load(run_folder)
    run_json = read_config_json(run_folder)
    _check_same_model(config, Path(start_folder), run_json.get("corpus"), "--interpolate-with")
    start_json = read_config_json(start_folder)
    if start_json.get(TOKENIZER_FINGERPRINTS) != run_json.get(TOKENIZER_FINGERPRINTS):
        raise TransformerTFError(
            f"--interpolate-with {str(start_folder)!r}: its tokenizer files are not the run's "
            f"({TOKENIZER_FINGERPRINTS} differ in the two config.json); interpolate with the model "
            f"the run was fine-tuned from."
        )
    _, start, _, _ = restore_model(start_folder)

    def blend(model):
        for weight, value in _weight_pairs(model, start, f"--interpolate-with {str(start_folder)!r}"):
            mixed = (1.0 - alpha) * value.numpy().astype(np.float64) + alpha * weight.numpy().astype(np.float64)
            weight.assign(mixed.astype(weight.dtype))

    return blend
