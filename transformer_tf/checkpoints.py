"""Checkpoint folders: find and restore training checkpoints, rebuild a model from its
folder, and write the weights-only release the repository ships.

A folder holds ``config.json`` (:mod:`transformer_tf.config`), the tokenizer files and
``tf.train.CheckpointManager`` checkpoints (``ckpt-N``); ``transformer-tf release`` adds
``weights/model.*``, the model's weights without optimizer state (a third of the size).
"""

import gc
import sys
import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from cli_common import files
from cli_common.files import file_sha256
from transformer_tf.config import (
    CONFIG_FILE,
    DEFAULT_CHECKPOINT_DIR,
    TOKENIZER_FINGERPRINTS,
    TrainConfig,
    read_config_json,
)
from transformer_tf.errors import TransformerTFError, error_line, os_cause
from transformer_tf.factory import model_from_config
from transformer_tf.tokenizer import JOINT_NAME, PER_LANGUAGE_NAMES, load_tokenizers


def latest_checkpoint(checkpoint_dir):
    """The newest training checkpoint's prefix in ``checkpoint_dir``, or None when it has none.

    Raises:
        TransformerTFError: the ``checkpoint`` state file is unreadable, or it names a newest
            checkpoint whose files are gone while older ones remain (the message offers the
            newest of those).
    """
    checkpoint_dir = Path(checkpoint_dir)
    try:
        state = tf.train.get_checkpoint_state(str(checkpoint_dir))
    except (tf.errors.OpError, ValueError) as err:  # a damaged text proto
        raise TransformerTFError(
            f"{checkpoint_dir / 'checkpoint'}: unreadable ({str(err).splitlines()[0][:200]}); "
            f"delete it if the ckpt-* files are fine, or train into a new folder."
        ) from None
    if state is None or not state.model_checkpoint_path:
        return None
    newest = state.model_checkpoint_path
    if Path(newest + ".index").is_file():
        return newest
    older = [p for p in state.all_model_checkpoint_paths if p != newest and Path(p + ".index").is_file()]
    if not older:
        return None
    fallback = Path(older[-1]).name
    raise TransformerTFError(
        f"the newest checkpoint {Path(newest).name}, named in {checkpoint_dir / 'checkpoint'}, has no files "
        f"(deleted or never finished); older ones remain: {', '.join(Path(p).name for p in older)}. "
        f'To go on from {fallback}, make the first line of that file: model_checkpoint_path: "{fallback}"'
    )


# An object only one model kind has (the Transformer's encoder layer stack, the RNN's forward
# encoder RNN); config.json's ``model`` says which kind a folder should hold.
_KIND_MARKERS = {"transformer": "enc_layers", "rnn": "forward_rnn"}


def checkpoint_kind(prefix):
    """The model kind (``"transformer"``, ``"rnn"``) whose weights the checkpoint ``prefix``
    holds, from the names in its object graph; None when neither (or the files are unreadable).

    (The object graph, not the variable keys: a training checkpoint files each variable under
    its first path, which is often the optimizer's list, not the model's attribute.)
    """
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf.trackable_object_graph_pb2 import TrackableObjectGraph

    try:
        serialized = tf.train.load_checkpoint(prefix).get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH")
        graph = TrackableObjectGraph.FromString(serialized)
    except (tf.errors.OpError, ValueError, IndexError, DecodeError):  # unreadable or truncated files, a damaged proto
        return None
    names = {child.local_name for node in graph.nodes for child in node.children}
    return next((kind for kind, marker in _KIND_MARKERS.items() if marker in names), None)


def restore_checkpoint(checkpoint, prefix, expect_partial=False, kind=None):
    """Fill ``checkpoint``'s variables from ``prefix``, or raise a TransformerTFError naming the
    files and what is wrong (weights of the other model kind, shapes of another model size,
    truncated or corrupted files).

    ``expect_partial``: read only what ``checkpoint`` holds (a model without its optimizer) with
    ``read``; otherwise ``restore`` everything, as a resumed training run needs.
    ``kind``: the model kind config.json describes, named in the error when the weights are
    of the other kind.
    """
    saved = checkpoint_kind(prefix) if kind else None
    if saved and saved != kind:  # refused before reading: a failed read would leave TF warnings behind
        raise TransformerTFError(
            f"{prefix} holds the weights of a {saved!r} model, but config.json describes a {kind!r} "
            f'model ("model": "{kind}"); is config.json from another run? Restore the folder\'s own '
            f"config.json, or train the {kind} model into another checkpoint_dir."
        )
    problem = None
    try:
        status = checkpoint.read(prefix).expect_partial() if expect_partial else checkpoint.restore(prefix)
        status.assert_existing_objects_matched()
    except AssertionError as err:
        problem = f"{prefix} does not match config.json: {str(err)[:300]}"
    except ValueError as err:  # a tensor of another shape: config.json of another model size
        problem = (
            f"{prefix} does not fit the model that config.json describes "
            f"({str(err).splitlines()[0][:300]}); is config.json from another run?"
        )
    except (tf.errors.OpError, IndexError) as err:  # truncated or corrupted .index / .data files
        problem = (
            f"{prefix}.index / .data-*: unreadable checkpoint files ({error_line(err)}); "
            f"the files are truncated or corrupted."
        )
    if problem:
        _discard_failed_restore()
        raise TransformerTFError(problem)
    return status


def _discard_failed_restore():
    """A failed read leaves TensorFlow's restore bookkeeping behind, which logs one warning per
    value it did not restore whenever it is garbage-collected (often long after, in the middle of
    other output). Collect it now, with TensorFlow's Python logger quieted."""
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        gc.collect()
    finally:
        logger.setLevel(level)


def restore_model(checkpoint_dir):
    """Rebuild the model ``config.json`` describes and fill it from the newest training
    checkpoint, or else from the shipped weights-only checkpoint (optimizer state is skipped).

    Returns:
        ``(config, model, source_tokenizer, target_tokenizer)``; the model computes in float32
        whatever precision it was trained in.

    Raises:
        TransformerTFError: no trained model there, or the checkpoint does not fill every
            weight of the model its config describes.
    """
    checkpoint_dir = Path(checkpoint_dir)
    config = TrainConfig.load(checkpoint_dir)
    check_fingerprints(checkpoint_dir)
    source, target = load_tokenizers(checkpoint_dir)
    model = model_from_config(config, source.vocab_size, target.vocab_size)
    model.build(((None, None), (None, None)))
    latest = latest_checkpoint(checkpoint_dir) or shipped_weights(checkpoint_dir)
    if latest is None:
        raise TransformerTFError(f"no checkpoint in {checkpoint_dir}: train first (transformer-tf train).")
    try:
        restore_checkpoint(tf.train.Checkpoint(model=model), latest, expect_partial=True, kind=config.model)
    except TransformerTFError:
        # a run training in the folder may have rotated that checkpoint away while it was read:
        # once more from the newest one, if there is a newer one now
        newer = latest_checkpoint(checkpoint_dir) or shipped_weights(checkpoint_dir)
        if newer in (None, latest):
            raise
        restore_checkpoint(tf.train.Checkpoint(model=model), newer, expect_partial=True, kind=config.model)
    return config, model, source, target


WEIGHTS_PREFIX = Path("weights") / "model"


def is_model_folder(folder):
    """Whether ``folder`` holds a model: ``config.json`` and a tokenizer model beside it."""
    folder = Path(folder)
    stems = (JOINT_NAME, *PER_LANGUAGE_NAMES)
    return (folder / CONFIG_FILE).is_file() and any((folder / f"{stem}.model").is_file() for stem in stems)


def enclosing_model_folder(path):
    """The model folder that ``path`` lies inside (a parent of it), or None; commands never write there."""
    return next((folder for folder in Path(path).absolute().parents if is_model_folder(folder)), None)


def resume_note(where, step, steps_per_epoch, epochs):
    """The line a resumed run prints: the epoch it goes on with, or, when all ``epochs`` are done
    (its fit then runs no step), that there is nothing left to train."""
    if step >= steps_per_epoch * epochs:
        return f"{where} is at step {step}: its {epochs} epoch(s) are trained; raise --epochs to go on"
    return f"resumed from {where} at step {step} (epoch {step // steps_per_epoch + 1})"


def shipped_weights(checkpoint_dir):
    """The weights-only checkpoint prefix that ``transformer-tf release`` wrote, or None."""
    prefix = Path(checkpoint_dir) / WEIGHTS_PREFIX
    return str(prefix) if prefix.with_suffix(".index").is_file() else None


def release_weights(checkpoint_dir=DEFAULT_CHECKPOINT_DIR, average=1, blend=None):
    """Write the model weights, without optimizer state, to ``<checkpoint_dir>/weights/``
    (what the repository ships: a third of the size).

    Args:
        average: average the weights of this many newest training checkpoints (the
            paper's recipe: "we used a single model obtained by averaging the last 5
            checkpoints"); 1 takes the newest alone.
        blend: None, or a function applied to the (averaged) model before it is written, e.g.
            :func:`transformer_tf.finetune.interpolation` (WiSE-FT).

    Returns:
        the checkpoint prefix written.

    Raises:
        TransformerTFError: another process writes the folder (its PID named), nothing to
            release, or the weights cannot be written (the cause named; the old weights stay).
    """
    if average < 1:
        raise TransformerTFError(f"average {average!r}: average at least 1 checkpoint.")
    # one writer per run folder: a training run there would rotate the checkpoints read below
    with files.run_folder_lock(checkpoint_dir, "transformer-tf release", TransformerTFError):
        return _release_weights(checkpoint_dir, average, blend)


def _release_weights(checkpoint_dir, average, blend):
    if latest_checkpoint(checkpoint_dir) is None:  # a released folder (checkpoints/en_es) or an empty one
        raise TransformerTFError(
            f"{checkpoint_dir} holds no training checkpoints (ckpt-*): release writes the weights of a training "
            f"run's newest checkpoints to its weights/; give the checkpoint_dir that transformer-tf train wrote."
        )
    _, model, _, _ = restore_model(checkpoint_dir)
    if average > 1:
        state = tf.train.get_checkpoint_state(str(checkpoint_dir))
        kept = list(state.all_model_checkpoint_paths) if state else []
        if len(kept) < average:
            raise TransformerTFError(
                f"average {average}: {checkpoint_dir} keeps only {len(kept)} "
                f"training checkpoint(s); average at most that many."
            )
        average_checkpoints(model, kept[-average:])
    if blend is not None:
        blend(model)
    target = Path(checkpoint_dir) / WEIGHTS_PREFIX
    try:  # a fresh weights/ folder, swapped in whole: a failure leaves the old weights and no temp files
        with files.atomic_folder(target.parent, _check_weights_folder) as staging:
            tf.train.Checkpoint(model=model).write(str(staging / WEIGHTS_PREFIX.name))
    except (OSError, tf.errors.OpError) as err:  # unwritable folder, disk full
        raise TransformerTFError(
            f"cannot write {target}.*: {os_cause(err)}; the folder's earlier weights (if any) are unchanged."
        ) from None
    return str(target)


def _check_weights_folder(weights):
    if weights.exists() and not weights.is_dir():
        raise TransformerTFError(f"cannot write {weights / WEIGHTS_PREFIX.name}.*: {weights} is a file, not a folder.")


def average_checkpoints(model, prefixes):
    """Set ``model``'s weights to the mean of its weights in the checkpoints ``prefixes``."""
    total = None
    # progress on standard error, shown only on a terminal
    for prefix in tqdm(prefixes, desc="averaging", unit="checkpoint", file=sys.stderr, disable=None):
        tf.train.Checkpoint(model=model).read(prefix).expect_partial().assert_existing_objects_matched()
        values = [w.numpy().astype(np.float64) for w in model.weights]
        total = values if total is None else [t + v for t, v in zip(total, values)]
    for weight, summed in zip(model.weights, total):
        weight.assign(summed / len(prefixes))


def check_fingerprints(directory):
    """Refuse tokenizer files that are not the ones the model in ``directory`` was trained with.

    ``config.json`` records each tokenizer model's sha256 at training; a swapped file of the
    same size and vocabulary would load and translate into nonsense. A folder without
    ``config.json`` is left alone; one written before fingerprints were recorded gets a warning.

    Raises:
        TransformerTFError: a tokenizer file differs from its recorded fingerprint (both files named).
    """
    directory = Path(directory)
    config_path = directory / CONFIG_FILE
    if not config_path.is_file():
        return
    recorded = read_config_json(directory).get(TOKENIZER_FINGERPRINTS)
    if not isinstance(recorded, dict):
        warnings.warn(
            f"{config_path} records no tokenizer fingerprint (written before they were recorded): "
            f'a swapped tokenizer file would go unnoticed. Add "{TOKENIZER_FINGERPRINTS}": '
            f"{{file: sha256}} for the tokenizer files the run was trained with to silence this.",
            stacklevel=2,
        )
        return
    for name, expected in recorded.items():
        path = directory / name
        if path.is_file() and file_sha256(path) != expected:
            raise TransformerTFError(
                f"{path} is not the tokenizer this model was trained with: its sha256 "
                f"{file_sha256(path)[:12]}… differs from {expected[:12]}…, recorded in {config_path}. "
                f"Restore the run's own {name}; the weights only make sense with it."
            )
