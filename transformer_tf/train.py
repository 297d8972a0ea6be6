"""Training the English→Spanish translator, resumable at any checkpoint.

Everything a restore needs lives in one folder (default ``checkpoints/en_es``, the blog's
``checkpoints_en_es``): ``config.json`` (every hyperparameter), the two tokenizer models,
and ``tf.train.CheckpointManager`` checkpoints of the model and optimizer (the 5 newest).

Resuming. Epoch ``e`` of the training stream is shuffled with a seed made of the run's
seed and ``e`` (:func:`transformer_tf.data.training_stream`), so batch ``n`` is the same
batch in every process. A restart restores the newest checkpoint, reads the optimizer's
step counter and skips the part of that epoch already done: a process killed at any
moment loses at most one checkpoint interval of work, and ends where an uninterrupted
run would have ended.
"""

import dataclasses
import json
import random
import shutil
import sys
from pathlib import Path

import keras
import tensorflow as tf

from cli_common import files
from transformer_tf.augment import augment_pairs, name_words
from transformer_tf.checkpoints import check_fingerprints, latest_checkpoint, restore_checkpoint, resume_note
from transformer_tf.config import (
    CASING_FILE,
    CONFIG_FILE,
    DEFAULT_CHECKPOINT_DIR,
    DEFAULT_LOG_DIR,
    SHORTLIST_FILE,
    SPELLING_FILE,
    STRATEGIES,
    TOKENIZERS,
    WORKER_TIMEOUT,
    TrainConfig,
    keep_split_method,
    read_config_json,
)
from transformer_tf.corpus import fingerprint, open_corpus
from transformer_tf.distributed import (
    WORKERS_FILE,
    broadcast_from_chief,
    check_same_inputs,
    check_worker_count,
    fit_on_workers,
    is_multiworker,
    model_state,
    num_workers,
    record_worker_count,
    worker_folders,
)
from transformer_tf.errors import TransformerTFError, os_cause
from transformer_tf.factory import model_from_config
from transformer_tf.finetune import check_start, keep_start_split, load_start_weights, start_tokenizers
from transformer_tf.hardware import mixed_precision_policy
from transformer_tf.losses import masked_accuracy, masked_loss
from transformer_tf.prepare import prepare_data
from transformer_tf.schedule import CustomSchedule
from transformer_tf.shards import SHARDS_DIR
from transformer_tf.tokenizer import JOINT_NAME, SubwordTokenizer, load_tokenizers, save_tokenizers, tokenizer_names
from transformer_tf.worker_startup import multiworker_strategy


def dropout_seed_states(model):
    """The state variables of the model's dropout seed generators, in a fixed order.

    Keras 3's ``Dropout`` draws its masks from a ``keras.random.SeedGenerator`` whose state
    (``[seed, counter]``) advances once per training call; it is not among the model's
    checkpointed weights. Saved beside them, a resumed run draws the masks an uninterrupted
    run would have drawn.
    """
    return [v for v in model.variables if v.name == "seed_generator_state"]


def _has_dropout_seeds(prefix):
    return any(name.startswith("dropout_seeds/") for name, _ in tf.train.list_variables(prefix))


def build_model(config, input_vocab_size, target_vocab_size):
    """The model ``config.model`` names (the Transformer, or the RNN of
    :mod:`transformer_tf.seq2seq`) and its compiled loss, metric and optimizer, as the blog sets them.

    With ``config.mixed_precision`` the layers compute in bfloat16/float16 (weights stay
    float32); softmax, logits and loss stay float32. The policy is set for the model's
    construction only and restored after, so the caller's global state is untouched.
    """
    previous = keras.mixed_precision.dtype_policy()
    if config.mixed_precision:
        keras.mixed_precision.set_dtype_policy(mixed_precision_policy())
    try:
        model = model_from_config(config, input_vocab_size, target_vocab_size)
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
    # The schedule's scale: d_model^-0.5 (the Transformer's width; the RNN's, its units: 320
    # gives a peak of 8.8e-4 at 4,000 warm-up steps, near the tutorial's Adam default of 1e-3).
    width = config.rnn_units if config.model == "rnn" else config.d_model
    rate = config.learning_rate or CustomSchedule(width, config.warmup_steps)  # a constant one: fine-tuning
    optimizer = keras.optimizers.Adam(rate, beta_1=0.9, beta_2=0.98, epsilon=1e-9)
    model.compile(optimizer=optimizer, loss=masked_loss(config.label_smoothing), metrics=[masked_accuracy])
    model.build(((None, None), (None, None)))
    optimizer.build(model.trainable_variables)  # so a restore has every slot to fill
    return model


def training_pairs(config, splits):
    """The pairs the model trains on: the training split, plus its augmented copies when
    ``config.augment`` (validation and test are never augmented): names, numbers and joined
    pairs (:func:`~transformer_tf.augment.augment_pairs`), then places in their Spanish form
    (:func:`~transformer_tf.augment_places.swap_places`, a random stream of its own, so the
    other kinds are the same with or without it).

    Returns:
        ``(pairs, counts)``; counts of added pairs by kind (empty without augmentation).
    """
    if not config.augment:
        return splits["train"], {}
    train = splits["train"]
    words = name_words(train)
    pairs, counts = augment_pairs(
        train, config.seed, config.augment_names, config.augment_numbers, config.augment_concat, words
    )
    if config.augment_places > 0:
        from transformer_tf.augment_places import swap_places  # the gazetteer's data (Babel, pycountry)

        places = swap_places(train, config.augment_places, random.Random(f"places-{config.seed}"), words)
        pairs, counts = pairs + places, {**counts, "places": len(places)}
    return pairs, counts


def make_tokenizers(config, train_pairs):
    """``(source, target)`` tokenizers for ``config.tokenizer``; one object twice when joint."""
    if config.tokenizer == "joint":
        joint = SubwordTokenizer.train(
            [text for pair in train_pairs for text in pair],
            config.vocab_size,
            seed=config.seed,
            byte_fallback=True,
        )
        return joint, joint
    if config.tokenizer == "bpemb":
        return tuple(SubwordTokenizer.from_bpemb(lang, 10000, config.bpemb_cache_dir) for lang in ("en", "es"))
    if config.tokenizer != "trained":
        raise TransformerTFError(f"tokenizer {config.tokenizer!r}: choose one of {', '.join(TOKENIZERS)}.")
    return (
        SubwordTokenizer.train([en for en, _ in train_pairs], config.vocab_size, seed=config.seed),
        SubwordTokenizer.train([es for _, es in train_pairs], config.vocab_size, seed=config.seed),
    )


class CheckpointEvery(keras.callbacks.Callback):
    """Save through the CheckpointManager every ``checkpoint_interval`` steps and at epoch ends."""

    def __init__(self, manager):
        super().__init__()
        self.manager = manager

    def on_train_batch_end(self, batch, logs=None):
        self._save(check_interval=True)  # the manager counts the optimizer's steps

    def on_epoch_end(self, epoch, logs=None):
        self._save(check_interval=False)

    def _save(self, check_interval):
        # Files are named by optimizer step (ckpt-1200), the number that resuming uses.
        step = int(self.model.optimizer.iterations.numpy())
        try:
            self.manager.save(checkpoint_number=step, check_interval=check_interval)
        except (tf.errors.OpError, OSError) as err:  # folder removed, unwritable, disk full
            # what the failed write left (ckpt-N_temp/*.tempstate*) would keep a full disk full
            shutil.rmtree(Path(self.manager.directory) / f"ckpt-{step}_temp", ignore_errors=True)
            raise TransformerTFError(
                f"cannot write a checkpoint to {self.manager.directory} at step {step} "
                f"({type(err).__name__}: {os_cause(err)}); the last one saved is "
                f"{self.manager.latest_checkpoint or 'none'}. Fix the folder and run the same command to resume."
            ) from None


def make_strategy(name="default", cpu_replicas=None, worker_timeout=WORKER_TIMEOUT):
    """A ``tf.distribute`` strategy by name.

    Args:
        name: ``"default"`` (no distribution), ``"mirrored"`` (data parallel over this
            machine's devices) or ``"multiworker"`` (MultiWorkerMirroredStrategy; workers
            come from the ``TF_CONFIG`` environment variable, one local worker without it).
        cpu_replicas: split the CPU into this many logical devices first (for trying
            distribution on a machine without GPUs). Must run before TensorFlow starts
            its runtime, i.e. before the first tensor is created in the process.
        worker_timeout: seconds a multi-worker run waits for all workers to come up.
    """
    if cpu_replicas is not None and cpu_replicas < 1:
        raise TransformerTFError(f"cpu_replicas {cpu_replicas}: give a number of devices ≥ 1.")
    if cpu_replicas:
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_replicas)
        except RuntimeError:
            raise TransformerTFError(
                "cpu_replicas must be set before TensorFlow starts; call make_strategy first in the process."
            ) from None
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("GPU")] or [
            d.name for d in tf.config.list_logical_devices("CPU")
        ]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multiworker":
        return multiworker_strategy(worker_timeout)
    raise TransformerTFError(f"name {name!r}: choose a strategy of {', '.join(STRATEGIES)}.")


def _resumable_checkpoint(config, checkpoint_dir, corpus):
    """The checkpoint to resume from, None for a fresh start, or a TransformerTFError when
    ``checkpoint_dir`` may be neither resumed nor started afresh. Writes nothing."""
    if (checkpoint_dir / "weights").is_dir() and not any(checkpoint_dir.glob("ckpt-*.index")):
        raise TransformerTFError(
            f"{checkpoint_dir} holds released weights without optimizer state, which cannot be resumed; "
            f"train into another folder (checkpoint_dir=runs/my_model)."
        )
    latest = latest_checkpoint(checkpoint_dir)
    if latest is None:
        return None  # nothing trained yet: a config without checkpoints is a start that failed
    if not (checkpoint_dir / CONFIG_FILE).is_file():
        raise TransformerTFError(
            f"{checkpoint_dir} holds checkpoints but no {CONFIG_FILE}, so they cannot be "
            f"resumed; train into another checkpoint_dir."
        )
    config.check_compatible(TrainConfig.load(checkpoint_dir))
    saved = read_config_json(checkpoint_dir).get("corpus")
    if saved and (saved.get("bytes"), saved.get("sha256")) != (corpus["bytes"], corpus["sha256"]):
        raise TransformerTFError(
            f"{checkpoint_dir} was trained on another corpus ({saved.get('file')}: {saved.get('bytes'):,} bytes, "
            f"sha256 {str(saved.get('sha256'))[:12]}…) than the data given now ({corpus['file']}: "
            f"{corpus['bytes']:,} bytes, sha256 {corpus['sha256'][:12]}…); resuming would reuse its tokenizers and "
            f"skip the wrong batches. Give the same corpus, or start a new run in another checkpoint_dir."
        )
    return latest


def train(
    config, checkpoint_dir=DEFAULT_CHECKPOINT_DIR, log_dir=DEFAULT_LOG_DIR, callbacks=(), verbose=1, strategy=None
):
    """Train (or resume) the translator; returns ``(model, history)``.

    ``callbacks`` are extra Keras callbacks, run after the checkpointing one.
    ``strategy`` is a ``tf.distribute`` strategy (see :func:`make_strategy`); batches stay
    ``config.batch_size`` in all, split across its replicas. Under a
    ``MultiWorkerMirroredStrategy`` ``config.batch_size`` is each worker's batch, the
    loop is :func:`transformer_tf.distributed.fit_on_workers`, and only the chief writes
    ``checkpoint_dir`` and ``log_dir`` (:mod:`transformer_tf.distributed`).

    A folder that already holds a run is resumed: its tokenizers are reused and its
    ``config.json`` must agree with ``config`` on everything that shapes the model or
    the data (:meth:`TrainConfig.check_compatible`); ``epochs`` may be raised.

    Three steps: :func:`prepare` (data, tokenizers, model, checkpoints), then :func:`fit_in_process`
    (one device, or this machine's devices) or, under several workers, :func:`fit_across_workers`.
    """
    verbose = 2 if verbose == 1 and not sys.stdout.isatty() else verbose  # a log file: a line an epoch, no bar
    distributed = strategy is not None
    strategy = strategy if distributed else tf.distribute.get_strategy()
    if is_multiworker(strategy):
        with worker_folders(strategy, checkpoint_dir, log_dir) as (writes_to, logs_to), _one_writer(writes_to):
            run = prepare(config, writes_to, logs_to, callbacks, verbose, strategy, distributed)
            return fit_across_workers(run, verbose)
    with _one_writer(checkpoint_dir):
        run = prepare(config, checkpoint_dir, log_dir, callbacks, verbose, strategy, distributed)
        return fit_in_process(run, verbose)


def _one_writer(checkpoint_dir):
    """Hold ``checkpoint_dir`` while training writes it: a second ``train`` (or ``release``) there is
    refused, naming this process (:func:`cli_common.files.run_folder_lock`). A folder that holds
    other files and no run is refused first, with nothing written (:func:`is_run_file`)."""
    what = f"checkpoint_dir {checkpoint_dir}"
    files.check_run_folder(checkpoint_dir, is_run_file, TransformerTFError, what)
    return files.run_folder_lock(checkpoint_dir, "transformer-tf train", TransformerTFError)


# What a run folder holds: its config, TensorFlow's checkpoints and their index, the tokenizers (joint
# or tokenizer_en, tokenizer_es), the shards, a multi-worker run's count; released weights, a shortlist,
# a case table and a spelling table
_RUN_FILES = (CONFIG_FILE, "checkpoint", "ckpt-", JOINT_NAME, SHARDS_DIR, WORKERS_FILE, "weights")
_RUN_FILES += (SHORTLIST_FILE, CASING_FILE, SPELLING_FILE)  # what transformer-tf shortlist and casing write there


def is_run_file(name):
    """Whether a file or folder called ``name`` (or starting so) is one a run folder holds (:data:`_RUN_FILES`)."""
    return name.startswith(_RUN_FILES)


@dataclasses.dataclass
class PreparedRun:
    """Everything a fit needs, as :func:`prepare` leaves it.

    Attributes:
        model: the compiled model, restored from the newest checkpoint when resuming.
        strategy: the ``tf.distribute`` strategy the model's variables live in.
        callbacks: checkpointing first, then TensorBoard (when logging), then the caller's.
        data: the run's data (:func:`transformer_tf.prepare.prepare_data`): the encoded shards, or
            for a ``"grouped-shuffle"`` run the encoded pairs in memory.
        val_ds: validation batches, or None.
        steps_per_epoch: batches an epoch (the same in every epoch).
        batch_size: rows of each batch: the global batch, across workers.
        drop_remainder: drop each bucket's incomplete last batch (needed when batches split across replicas).
        worker_batch: under several workers reading their own shares of the shards, each
            worker's batch (its stream's rows); else 0.
    """

    config: TrainConfig
    model: keras.Model
    strategy: tf.distribute.Strategy
    callbacks: list
    data: object
    val_ds: tf.data.Dataset | None
    steps_per_epoch: int
    batch_size: int
    drop_remainder: bool
    worker_batch: int = 0

    def stream(self, start, input_context=None):
        """The training batches from optimizer step ``start`` on (:func:`transformer_tf.shards.shard_stream`);
        with ``worker_batch``, those of the share of the worker that ``input_context`` names."""
        if not self.worker_batch:
            return self.data.train_stream(
                self.config.seed,
                start,
                self.steps_per_epoch,
                self.batch_size,
                self.config.max_tokens,
                self.drop_remainder,
            )
        share = (input_context.input_pipeline_id, input_context.num_input_pipelines)
        return self.data.train_stream(
            self.config.seed, start, self.steps_per_epoch, self.worker_batch, self.config.max_tokens, True, share
        )


def prepare(config, checkpoint_dir, log_dir, callbacks, verbose, strategy, distributed=True):
    """Step 1 of :func:`train`: check, read the data, make or load the tokenizers, build (and restore)
    the model, and write the run's files. Everything is decided before anything is written: a refused
    or failed start leaves the folder as it was (a folder with a config but no checkpoint is simply
    started afresh). Returns a :class:`PreparedRun`."""
    checkpoint_dir = Path(checkpoint_dir)
    config.validate()
    keras.utils.set_random_seed(config.seed)
    config = keep_split_method(keep_start_split(config), checkpoint_dir)
    _check_places_split(config)
    corpus = fingerprint(open_corpus(config.data))
    latest = _resumable_checkpoint(config, checkpoint_dir, corpus)
    start = check_start(config, corpus) if config.init_from and not latest else None  # fine-tuning
    files.check_writable(checkpoint_dir, TransformerTFError, f"checkpoint_dir {checkpoint_dir}")
    if log_dir is not None:  # a non-chief worker writes no logs
        files.check_writable(log_dir, TransformerTFError, f"log_dir {log_dir}")
    if latest:  # resumed: the tokenizer files the run was trained with, checked against config.json
        check_fingerprints(checkpoint_dir)
        saved_tokenizers = load_tokenizers(checkpoint_dir)
    else:
        saved_tokenizers = start_tokenizers(config) if start else None  # fine-tuning keeps the start's
    data = prepare_data(config, checkpoint_dir, make_tokenizers, training_pairs, saved_tokenizers, verbose)
    tokenizers = data.tokenizers
    run = _batches(config, data, strategy, verbose)
    multiworker = is_multiworker(strategy)
    if multiworker:  # the same corpus, flags and tokenizers everywhere, and as many workers as before
        check_same_inputs(
            strategy,
            json.dumps(dict(dataclasses.asdict(config), data=None)).encode(),
            *(tok.model_proto for tok in tokenizers),
            *data.digests(),
        )
        check_worker_count(strategy, checkpoint_dir)
    with strategy.scope():  # variables (model and optimizer) are created per replica
        run.model = build_model(config, tokenizers[0].vocab_size, tokenizers[1].vocab_size)
    if verbose and distributed:
        note = "; each bucket's incomplete last batch is dropped" if run.drop_remainder else ""
        print(f"{type(strategy).__name__}: {strategy.num_replicas_in_sync} replica(s){note}")
    manager = _checkpoint_manager(run.model, config, checkpoint_dir, latest)
    if start:
        load_start_weights(run.model, start[0])
    if multiworker:  # a restarted non-chief (on any machine) continues from the chief's state
        broadcast_from_chief(strategy, model_state(run.model))
    if not latest:  # a resumed run keeps the tokenizer files it was trained with, untouched
        save_tokenizers(checkpoint_dir, *tokenizers)
    tokenizer_files = [f"{name}.model" for name in tokenizer_names(*tokenizers)]
    config.save(checkpoint_dir, corpus, tokenizer_files)  # last: the config marks a folder as a run
    if multiworker:
        record_worker_count(strategy, checkpoint_dir)
    done = int(run.model.optimizer.iterations.numpy())
    if verbose and done:
        print(resume_note(latest or "the chief", done, run.steps_per_epoch, config.epochs))
    tensorboard = [keras.callbacks.TensorBoard(log_dir=str(log_dir))] if log_dir is not None else []
    run.callbacks = [CheckpointEvery(manager), *tensorboard, *callbacks]
    return run


def _check_places_split(config):
    """The place swap (``augment_places``) runs on the in-memory split's training pairs; the
    streaming augmenter (``split_method`` 'hash') does not have it yet: refuse rather than ignore."""
    if config.augment_places and config.split_method == "hash":
        raise TransformerTFError(
            f"augment_places {config.augment_places}: the place swap needs split_method 'grouped-shuffle' "
            "(the in-memory split; fine-tuning a shipped model reads it already): pass it, or drop augment_places."
        )


def _batches(config, data, strategy, verbose):
    """The training stream and validation batches of ``data`` for ``strategy``: a :class:`PreparedRun`
    without its model and callbacks yet."""
    multiworker = is_multiworker(strategy)
    workers = num_workers(strategy) if multiworker else 1
    # Several workers: each reads its own share of the shards, or (the in-memory split) every
    # one forms the same global batches and keeps its slice of rows. Validation: the latter.
    batch_size = config.batch_size * workers
    split = multiworker or strategy.num_replicas_in_sync > 1  # then every batch must split across replicas
    val_ds = data.validation(batch_size, config.max_tokens, drop_remainder=split)
    if int(val_ds.cardinality()) == 0:
        print(f"note: the validation split has no complete batch of {batch_size}; no validation.")
        val_ds = None
    worker_batch = config.batch_size if multiworker and data.worker_shares else 0
    if worker_batch:
        steps_per_epoch = data.steps_per_epoch(worker_batch, config.max_tokens, True, workers)
    else:
        steps_per_epoch = data.steps_per_epoch(batch_size, config.max_tokens, drop_remainder=split)
    if steps_per_epoch == 0:
        raise TransformerTFError(
            f"the training split has no complete batch of {config.batch_size} "
            f"for {strategy.num_replicas_in_sync} replicas: lower batch_size."
        )
    if verbose:
        print("\n".join(data.report(worker_batch, workers)) + f"; {steps_per_epoch} batches an epoch")
    return PreparedRun(config, None, strategy, [], data, val_ds, steps_per_epoch, batch_size, split, worker_batch)


def _checkpoint_manager(model, config, checkpoint_dir, latest):
    """The run's ``tf.train.CheckpointManager``, after restoring ``latest`` (when resuming) into ``model``.

    The dropout masks' random state is saved too, so a resumed run draws the same masks;
    checkpoints written before it was saved restore without it.
    """
    checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer, dropout_seeds=dropout_seed_states(model))
    manager = tf.train.CheckpointManager(
        checkpoint,
        checkpoint_dir,
        max_to_keep=5,
        step_counter=model.optimizer.iterations,
        checkpoint_interval=config.checkpoint_every,
    )
    if latest:
        restore_checkpoint(
            checkpoint if _has_dropout_seeds(latest) else tf.train.Checkpoint(model=model, optimizer=model.optimizer),
            latest,
            kind=config.model,
        )
    return manager


def fit_in_process(run, verbose=1):
    """Step 2 of :func:`train`: ``model.fit`` on this process's device(s) until ``config.epochs``.

    A resumed run may stop mid-epoch: it first finishes that epoch, then runs whole ones.
    Returns ``(model, history)``.
    """
    model, history = run.model, None
    done = int(model.optimizer.iterations.numpy())
    while done < run.config.epochs * run.steps_per_epoch:
        epoch, offset = divmod(done, run.steps_per_epoch)
        history = model.fit(
            run.stream(done),
            initial_epoch=epoch,
            epochs=epoch + 1 if offset else run.config.epochs,
            steps_per_epoch=run.steps_per_epoch - offset,
            validation_data=run.val_ds,
            callbacks=run.callbacks,
            shuffle=False,  # the stream shuffles itself, epoch by epoch
            verbose=verbose,
        )
        done = int(model.optimizer.iterations.numpy())
    return model, history


def fit_across_workers(run, verbose=1):
    """Step 3 of :func:`train`, instead of step 2 under several workers:
    :func:`transformer_tf.distributed.fit_on_workers`. Returns ``(model, history)``."""
    return fit_on_workers(
        run.model,
        run.strategy,
        run.stream,
        run.steps_per_epoch,
        run.config.epochs,
        run.batch_size,
        run.val_ds,
        run.callbacks,
        verbose,
        run.worker_batch,
    )
