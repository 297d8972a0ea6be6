"""Data-parallel training over several worker processes (``--strategy multiworker``).

Keras 3's ``model.fit`` fails under a real two-process ``MultiWorkerMirroredStrategy``
(``ValueError: Attempt to convert a value (PerReplica: ...) ... to a Tensor``;
keras-team/keras#20585, tensorflow/tensorflow#72388), so the workers run the loop that
TensorFlow's multi-worker tutorial writes out: a training step under ``strategy.run`` on
batches from ``strategy.distribute_datasets_from_function``. Single-device training keeps
``model.fit`` (:func:`transformer_tf.train.train`).

How the work is shared. ``--batch-size`` is each worker's batch; the *global* batch is
``batch_size × workers``. A run on the encoded shards (``split_method`` ``"hash"``, the
default) gives each worker its own share of the shard files (every ``workers``-th file,
:func:`transformer_tf.shards.worker_share`): each reads and batches only its share, and
all run the number of steps of the shortest share, so no pair is read twice in an epoch.
A run on the in-memory grouped split (the shipped models') has every worker build the
same stream of global batches (:func:`transformer_tf.data.training_stream`) and keep its
slice of rows, so together they see exactly the batches one process with the global batch
size would. Either way each replica's loss is the label-smoothed masked mean of its slice
times its share of the global batch's real (non-padding) target tokens (an all-reduce of
the replicas' counts),

    loss_r = masked_loss(slice_r) · tokens_r / tokens_global,

and the optimizer sums the replicas' gradients (an all-reduce), so the update is the one
a single process computes from ``masked_loss`` of the whole global batch. A resumed run
rebuilds each worker's stream from the chief's step (:func:`transformer_tf.shards.shard_stream`),
so an interrupted run ends where an uninterrupted one does.

What each worker holds. The tokenizers are trained on every worker from the same data with
the same seed (SentencePiece training is deterministic), and before the first step the
workers compare a fingerprint of their configuration, tokenizers and encoded data, so
different corpora or flags fail at once with a message. Only the chief (task ``chief``, or
``worker`` 0 when there is no chief) writes ``--checkpoint-dir`` and the TensorBoard logs;
the others write their (required) checkpoint copies to a temporary folder that is removed
when the run ends. At start, every worker takes the weights, optimizer state and step
counter from the chief (a broadcast), so a restarted non-chief needs nothing on disk:
restart every worker with the same command (on any machine, with the same corpus; the
same number of workers, since the global batch depends on it) and the run resumes from
the chief's newest checkpoint.
"""

import contextlib
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from transformer_tf.errors import TransformerTFError
from transformer_tf.losses import masked_accuracy
from transformer_tf.masks import PAD_ID

# Start-up (TF_CONFIG, waiting for the peers, the strategy) has its own module; its names stay
# importable from here.
from transformer_tf.worker_startup import local_tf_configs, multiworker_strategy, read_tf_config  # noqa: F401


def is_multiworker(strategy):
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def num_workers(strategy):
    """Worker processes of a multi-worker strategy (tasks of the ``chief`` and ``worker`` jobs)."""
    spec = strategy.cluster_resolver.cluster_spec().as_dict()
    return max(1, sum(len(spec.get(job, ())) for job in ("chief", "worker")))


@contextlib.contextmanager
def worker_folders(strategy, checkpoint_dir, log_dir):
    """``(checkpoint_dir, log_dir)`` this worker writes: the given ones on the chief; a
    temporary checkpoint folder (removed on leaving) and no logs on the others."""
    if strategy.extended.should_checkpoint:
        yield checkpoint_dir, log_dir
        return
    task = strategy.cluster_resolver
    temporary = tempfile.mkdtemp(prefix=f"transformer-tf-{task.task_type}{task.task_id}-")
    try:
        yield Path(temporary), None
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _all_reduce_sum(strategy, make_values):
    """Sum ``make_values(replica_context)`` (a list of tensors) over every replica of every worker."""

    @tf.function
    def run():
        def replica_fn():
            ctx = tf.distribute.get_replica_context()
            return ctx.all_reduce(tf.distribute.ReduceOp.SUM, make_values(ctx))

        return strategy.run(replica_fn)

    return [strategy.experimental_local_results(value)[0] for value in run()]


def check_same_inputs(strategy, *parts):
    """Fail on every worker unless all of them hold the same ``parts`` (bytes).

    Each replica writes a 48-bit digest of the parts (exact in float64) at its own
    position of a vector; the sum over replicas hands every worker all the digests.
    """
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    value = float(int.from_bytes(digest.digest()[:6], "big"))
    n = strategy.num_replicas_in_sync
    (digests,) = _all_reduce_sum(
        strategy,
        lambda ctx: [tf.one_hot(ctx.replica_id_in_sync_group, n, on_value=value, off_value=0.0, dtype=tf.float64)],
    )
    digests = digests.numpy()
    if not np.all(digests == digests[0]):
        differ = [i for i, d in enumerate(digests) if d != digests[0]]
        raise TransformerTFError(
            f"the workers do not hold the same training data, tokenizers or settings (replica(s) {differ} "
            f"differ from replica 0): give every worker the same command and the same corpus file."
        )


def broadcast_from_chief(strategy, variables):
    """Give every worker the chief's values of ``variables`` (weights, optimizer slots, step).

    An all-reduce in which only the chief contributes (in float64, exact for float32
    values and for integers below 2**53).
    """
    chief = strategy.extended.should_checkpoint
    local_replicas = strategy.num_replicas_in_sync // num_workers(strategy)

    def contributions(ctx):
        del ctx
        return [tf.cast(v.value, tf.float64) * (1.0 / local_replicas if chief else 0.0) for v in variables]

    for variable, value in zip(variables, _all_reduce_sum(strategy, contributions)):
        if variable.dtype.startswith("int"):
            value = tf.round(value)
        variable.assign(tf.cast(value, variable.dtype))


WORKERS_FILE = "workers.json"  # in the chief's folder: how many workers the run has


def check_worker_count(strategy, checkpoint_dir):
    """Refuse, on every worker, to resume a run with another number of workers.

    The global batch is ``batch_size × workers``, so another count means other batches
    and other steps: the resumed run would not end where the interrupted one would have.
    The chief keeps the count in ``workers.json`` (:func:`record_worker_count`) and tells
    the others (an all-reduce). Writes nothing.
    """
    workers, path = num_workers(strategy), Path(checkpoint_dir) / WORKERS_FILE
    chief = strategy.extended.should_checkpoint
    saved = json.loads(path.read_text())["workers"] if chief and path.is_file() else 0
    local_replicas = strategy.num_replicas_in_sync // workers
    (told,) = _all_reduce_sum(strategy, lambda ctx: [tf.constant(saved / local_replicas, tf.float64)])
    told = round(float(told))
    if told and told != workers:
        raise TransformerTFError(
            f"this run was trained by {told} worker(s) and is resumed by {workers}: the global batch "
            f"(batch_size × workers) would change. Restart it with {told} workers, or train into another "
            f"checkpoint_dir."
        )


def record_worker_count(strategy, checkpoint_dir):
    """The chief writes ``workers.json`` (what :func:`check_worker_count` reads), once the run's
    folder holds its config: nothing is written before every check has passed."""
    path = Path(checkpoint_dir) / WORKERS_FILE
    if strategy.extended.should_checkpoint and not path.is_file():
        path.write_text(json.dumps({"workers": num_workers(strategy)}) + "\n")


def model_state(model):
    """The variables a checkpoint holds: the model's and the optimizer's (each once)."""
    seen, out = set(), []
    for v in [*model.variables, *model.optimizer.variables]:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def worker_slices(batches, input_context, batch_rows, own=False):
    """This worker's per-replica batches: ``((inp, tar_in), tar_out)`` of
    ``rows = batch_rows / replicas`` rows each, in the order of this worker's replicas.

    Args:
        batches: a dataset of ``((inp, tar_in), tar_out)`` batches of exactly ``batch_rows``
            rows: the global batches every worker builds alike (``own=False``: this worker
            keeps its replicas' slices of each), or this worker's own batches, read from
            its share of the shards (``own=True``: its replicas split each).
        input_context: the ``tf.distribute.InputContext`` of this worker.
    """
    local = input_context.num_replicas_in_sync // input_context.num_input_pipelines
    rows = batch_rows // local if own else input_context.get_per_replica_batch_size(batch_rows)
    first = 0 if own else input_context.input_pipeline_id * local

    def slices(x, y):
        (inp, tar_in), tar_out = x, y

        def part(j):  # rows of replica first + j
            start = (first + tf.cast(j, tf.int32)) * rows
            return (inp[start : start + rows], tar_in[start : start + rows]), tar_out[start : start + rows]

        return tf.data.Dataset.range(local).map(part)

    return batches.flat_map(slices).prefetch(tf.data.AUTOTUNE)


def _step_functions(model, strategy):
    """``(train_step, eval_step)``: each takes a distributed iterator and returns the global
    batch's ``(loss, masked accuracy)``."""

    def forward(batch, training):
        (inp, tar_in), tar_out = batch
        logits = model((inp, tar_in), training=training)
        tokens = tf.reduce_sum(tf.cast(tar_out != PAD_ID, tf.float32))
        tokens_global = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, tokens)
        share = tokens / tokens_global  # this slice's part of the global batch's real tokens
        loss = model.loss(tar_out, logits) * share
        if model.losses:
            loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
        return loss, masked_accuracy(tar_out, logits) * share

    def reduced(loss, accuracy):
        return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, [loss, accuracy])

    def train_replica(batch):
        with tf.GradientTape() as tape:
            loss, accuracy = forward(batch, training=True)
            scaled = model.optimizer.scale_loss(loss)  # float16 loss scaling; the identity otherwise
        grads = tape.gradient(scaled, model.trainable_variables)
        model.optimizer.apply_gradients(zip(grads, model.trainable_variables))  # all-reduces (sums) grads
        return reduced(loss, accuracy)

    def eval_replica(batch):
        return reduced(*forward(batch, training=False))

    def distributed(replica_fn):
        @tf.function
        def step(iterator):
            loss, accuracy = strategy.run(replica_fn, args=(next(iterator),))
            return strategy.experimental_local_results(loss)[0], strategy.experimental_local_results(accuracy)[0]

        return step

    return distributed(train_replica), distributed(eval_replica)


# How a collective op fails when a peer is gone: the health check (every 30 s) aborts it.
_PEER_LOST = (
    tf.errors.UnavailableError,
    tf.errors.DeadlineExceededError,
    tf.errors.CancelledError,
    tf.errors.FailedPreconditionError,
)


def _collective(step, iterator):
    """``step(iterator)``, turning a lost peer into a message that says how to resume."""
    try:
        return step(iterator)
    except _PEER_LOST as err:
        raise TransformerTFError(
            f"a worker stopped answering ({type(err).__name__}: {err.message.splitlines()[0]}). Restart every "
            f"worker with the same command: the run resumes from the chief's newest checkpoint."
        ) from None


def fit_on_workers(
    model, strategy, stream, steps_per_epoch, epochs, global_batch, val_ds=None, callbacks=(), verbose=1, worker_batch=0
):
    """What ``model.fit`` does, as a loop of ``strategy.run`` steps: train up to
    ``epochs × steps_per_epoch`` optimizer steps, validate after each epoch.

    Args:
        stream: ``stream(start_step, input_context)`` → the endless dataset of batches from
            that step on: global batches every worker builds alike
            (:func:`transformer_tf.data.training_stream`), or, with ``worker_batch``, this
            worker's own batches from its share of the shards
            (:func:`transformer_tf.shards.shard_stream`).
        global_batch: rows of every batch of ``val_ds`` and, without ``worker_batch``, of ``stream``.
        worker_batch: rows of every batch of ``stream`` when each worker reads its own share.
        val_ds: validation batches of ``global_batch`` rows (finite), or None.
        callbacks: Keras callbacks (checkpointing, TensorBoard, ...); their logs are
            ``loss``, ``masked_accuracy`` and, after validation, ``val_loss`` and
            ``val_masked_accuracy``: means over the epoch's batches, as ``fit`` reports.

    Returns:
        ``(model, history)``.
    """
    done = int(model.optimizer.iterations.numpy())
    history = keras.callbacks.History()
    callback_list = keras.callbacks.CallbackList(
        [*callbacks, history],
        add_progbar=bool(verbose) and strategy.extended.should_checkpoint,
        model=model,
        verbose=verbose,
        epochs=epochs,
        steps=steps_per_epoch,
    )
    train_step, eval_step = _step_functions(model, strategy)

    def distribute(make, rows, own=False):
        return strategy.distribute_datasets_from_function(lambda ctx: worker_slices(make(ctx), ctx, rows, own))

    batches = iter(distribute(lambda ctx: stream(done, ctx), worker_batch or global_batch, bool(worker_batch)))
    val_batches = distribute(lambda ctx: val_ds, global_batch) if val_ds is not None else None
    val_steps = int(val_ds.cardinality()) if val_ds is not None else 0
    callback_list.on_train_begin()
    logs = {}
    while done < epochs * steps_per_epoch:
        epoch, offset = divmod(done, steps_per_epoch)
        callback_list.on_epoch_begin(epoch)
        totals = np.zeros(2)
        for batch in range(offset, steps_per_epoch):
            callback_list.on_train_batch_begin(batch)
            totals += [float(v) for v in _collective(train_step, batches)]
            n = batch - offset + 1
            logs = {"loss": totals[0] / n, "masked_accuracy": totals[1] / n}
            callback_list.on_train_batch_end(batch, logs)
        if val_batches is not None:
            val_iter, val_totals = iter(val_batches), np.zeros(2)
            for _ in range(val_steps):
                val_totals += [float(v) for v in _collective(eval_step, val_iter)]
            logs.update(val_loss=val_totals[0] / val_steps, val_masked_accuracy=val_totals[1] / val_steps)
        callback_list.on_epoch_end(epoch, logs)
        done = (epoch + 1) * steps_per_epoch
    callback_list.on_train_end(logs)
    return model, history
