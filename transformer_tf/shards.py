"""Encoded pairs on disk: sharded TFRecord files in the run folder, read back through ``tf.data``.

The corpus is encoded once (:mod:`transformer_tf.prepare`) into ``<run>/shards/``:
``train-00000-of-00016.tfrecord`` … and ``validation-00000-of-00001.tfrecord``, one record
a pair (the int32 vector ``[len(source_ids), *source_ids, *target_ids]``,
:func:`transformer_tf.records.encode_record`), and ``manifest.json`` last; TFRecord adds a CRC to each record.

The manifest names what the shards were made from (the corpus fingerprint and every
setting that shaped them) and, per file, its record count, size and SHA-256, and per
split a histogram of pair lengths, from which the number of batches an epoch has is
computed without reading the data (:func:`batches_per_epoch`). A resume, and every
later epoch, reads the same files; a changed corpus or a damaged shard is found by
:func:`open_manifest` before training starts.

Reading (:func:`shard_batches`): the files in a seeded order, each from a seeded start,
interleaved, shuffled within blocks of :data:`SHUFFLE_BUFFER` pairs, length bucketing,
prefetch. Memory is the block, whatever the corpus size.
"""

import json
import math
from pathlib import Path

import numpy as np
import tensorflow as tf

from cli_common.files import file_sha256, write_text_atomically
from transformer_tf.data import BUCKET_BOUNDARIES, bucket_and_split, bucket_limits
from transformer_tf.errors import TransformerTFError
from transformer_tf.records import encode_record

FORMAT = 2  # 2: a length histogram per file (a worker's share of the files)
MANIFEST = "manifest.json"
SHARDS_DIR = "shards"
TRAIN_SHARDS = 16  # train files; a multiple of common worker counts
SHUFFLE_BUFFER = 20_000  # pairs (~2-4 MB) shuffled together; besides, the files' order and starts are shuffled


def shard_name(split, index, count):
    return f"{split}-{index:05d}-of-{count:05d}.tfrecord"


def decode_record(record):
    """A record → ``(source_ids (n,), target_ids (m,))`` int64 tensors."""
    values = tf.io.decode_raw(record, tf.int32)
    n = values[0]
    return tf.cast(values[1 : 1 + n], tf.int64), tf.cast(values[1 + n :], tf.int64)


class ShardWriter:
    """Writes one split's pairs round-robin into ``count`` TFRecord files of ``folder``,
    keeping per file a histogram of ``max(len(source), len(target))`` (``max_tokens + 1``
    bins): what a worker reading a share of the files needs to count its batches."""

    def __init__(self, folder, split, count, max_tokens):
        self.folder, self.split, self.count = Path(folder), split, count
        self.paths = [self.folder / shard_name(split, i, count) for i in range(count)]
        self.writers = [tf.io.TFRecordWriter(str(p)) for p in self.paths]
        self.histograms = np.zeros((count, max_tokens + 1), np.int64)
        self.written = 0

    def write(self, source_ids, target_ids):
        self.write_batch([encode_record(source_ids, target_ids)], [max(len(source_ids), len(target_ids))])

    def write_batch(self, records, lengths):
        """Write serialised records (:func:`~transformer_tf.records.encode_chunk`), round-robin;
        ``lengths``: each pair's longer side."""
        files = (self.written + np.arange(len(records))) % self.count
        for i, record in zip(files.tolist(), records):
            self.writers[i].write(record)
        np.add.at(self.histograms, (files, np.asarray(lengths, np.int64)), 1)
        self.written += len(records)

    def abort(self):
        for writer in self.writers:
            writer.close()

    def close(self):
        """Close the files; returns the split's manifest entry."""
        self.abort()
        files = [
            {
                "name": p.name,
                "records": int(h.sum()),
                "bytes": p.stat().st_size,
                "sha256": file_sha256(p),
                "histogram": h.tolist(),
            }
            for p, h in zip(self.paths, self.histograms)
        ]
        return {"pairs": self.written, "files": files, "histogram": self.histograms.sum(axis=0).tolist()}


def write_manifest(folder, inputs, splits, report):
    """The manifest, written last and atomically: shards without one are never used."""
    payload = {"format": FORMAT, "inputs": inputs, "splits": splits, **report}
    write_text_atomically(Path(folder) / MANIFEST, json.dumps(payload, indent=1) + "\n")


def open_manifest(folder, inputs):
    """The manifest of ``folder``'s shards if they were made from ``inputs`` and are intact.

    Returns:
        the manifest dict; None when there is none (or an older format).

    Raises:
        TransformerTFError: the shards were made from another corpus or other settings
            (naming what differs), or a file is missing, truncated or changed (naming it).
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        return None
    saved = manifest["inputs"]
    differs = [key for key in sorted(set(saved) | set(inputs)) if saved.get(key) != inputs.get(key)]
    if differs:
        was = saved.get("corpus", {})
        raise TransformerTFError(
            f"the shards in {folder} were encoded from other inputs ({', '.join(differs)} changed; corpus then "
            f"{was.get('file')}, {was.get('bytes', 0):,} bytes, sha256 {str(was.get('sha256'))[:12]}…). Give the "
            f"same corpus and settings, or delete {folder} to encode again (a run with checkpoints: train into "
            f"another --checkpoint-dir)."
        )
    for entry in manifest["splits"].values():
        for file in entry["files"]:
            shard = Path(folder) / file["name"]
            if not shard.is_file() or shard.stat().st_size != file["bytes"] or file_sha256(shard) != file["sha256"]:
                state = "missing" if not shard.is_file() else "damaged (its size or SHA-256 differs from the manifest)"
                raise TransformerTFError(
                    f"shard {shard} is {state}; delete {folder} and run the same command: the shards are "
                    f"encoded again from the corpus (the checkpoints are kept)."
                )
    return manifest


def worker_share(entries, worker, workers):
    """The shard files worker ``worker`` of ``workers`` reads: every ``workers``-th from its
    index on (``tf.data``'s ``shard`` on the file list, the FILE auto-shard policy), so the
    workers read disjoint shares that together are the whole split.

    Raises:
        TransformerTFError: more workers than files (each would need a share of records).
    """
    if workers > len(entries):
        raise TransformerTFError(
            f"{workers} workers, but the shards are {len(entries)} files: each worker reads whole files of its "
            f"own, so at most {len(entries)} workers can train on them; use at most {len(entries)} workers."
        )
    return entries[worker::workers]


def shard_files(folder, manifest, split, share=None):
    """``(paths, record counts)`` of a split's shards, or of worker ``share = (index, workers)``'s share."""
    files = manifest["splits"][split]["files"]
    if share is not None:
        files = worker_share(files, *share)
    return [str(Path(folder) / f["name"]) for f in files], [f["records"] for f in files]


def share_histograms(manifest, split, workers):
    """Each worker's length histogram: the sum of its share's files' histograms."""
    files = manifest["splits"][split]["files"]
    return [np.sum([f["histogram"] for f in worker_share(files, i, workers)], axis=0) for i in range(workers)]


def batches_per_epoch(histogram, batch_size, max_tokens, drop_remainder=False, bucket_boundaries=BUCKET_BOUNDARIES):
    """Batches :func:`shard_batches` gives in one epoch, from the split's length histogram.

    Each bucket is batched on its own: ``ceil(n_b / batch_size)`` batches
    (``floor`` with ``drop_remainder``), whatever the order.
    """
    edges = [0, *bucket_limits(bucket_boundaries, max_tokens), len(histogram)]
    counts = [int(sum(histogram[lo:hi])) for lo, hi in zip(edges, edges[1:])]
    per_bucket = (n // batch_size if drop_remainder else math.ceil(n / batch_size) for n in counts)
    return sum(per_bucket)


def shard_batches(files, batch_size=64, max_tokens=40, shuffle_seed=None, drop_remainder=False, records=None):
    """One epoch of ``((inp, tar_in), tar_out)`` batches from TFRecord shards.

    Args:
        files: the shard paths (:func:`shard_files`).
        shuffle_seed: None reads the files in order, pair by pair, interleaved. An int64
            scalar shuffles, statelessly (the order is a function of the seed alone): the
            file order; where each file starts (a random rotation, so an epoch does not
            start with the corpus' first lines); and the pairs within consecutive blocks of
            :data:`SHUFFLE_BUFFER` pairs, the memory a shuffle needs.
        records: the files' record counts (needed to rotate them; from the manifest).

    Returns:
        the batches of :func:`transformer_tf.data.bucket_and_split`.
    """
    names, order = tf.constant(files), tf.range(len(files), dtype=tf.int64)
    starts = tf.zeros([len(files)], tf.int64)
    if shuffle_seed is not None:
        seed = tf.cast(shuffle_seed, tf.int64)
        order = tf.random.experimental.stateless_shuffle(order, seed=tf.stack([seed, tf.constant(1, tf.int64)]))
        share = tf.random.stateless_uniform([len(files)], seed=tf.stack([seed, tf.constant(2, tf.int64)]))
        starts = tf.cast(share * tf.constant(records or [0] * len(files), tf.float32), tf.int64)

    def rotated(i):  # file i from record starts[i] to its end, then its first starts[i] records
        records_of = tf.data.TFRecordDataset(names[i])
        return records_of.skip(starts[i]).concatenate(records_of.take(starts[i]))

    ds = tf.data.Dataset.from_tensor_slices(order).interleave(
        rotated, cycle_length=len(files), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    if shuffle_seed is not None:
        ds = (
            ds.batch(SHUFFLE_BUFFER)
            .enumerate()
            .map(lambda i, block: tf.random.experimental.stateless_shuffle(block, seed=tf.stack([seed, 3 + i])))
            .unbatch()
        )
    ds = ds.map(decode_record, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = bucket_and_split(ds, batch_size, max_tokens, drop_remainder=drop_remainder)
    # The order is part of the run (resuming, every worker's global batches): never let a
    # tf.distribute input pipeline or an AUTOTUNE default trade it for speed.
    options = tf.data.Options()
    options.deterministic = True
    return ds.with_options(options)


def validation_batches(folder, manifest, batch_size, max_tokens, drop_remainder=False):
    """The validation shards as a finite dataset whose ``cardinality()`` is its batch count."""
    steps = batches_per_epoch(manifest["splits"]["validation"]["histogram"], batch_size, max_tokens, drop_remainder)
    files, _ = shard_files(folder, manifest, "validation")
    ds = shard_batches(files, batch_size, max_tokens, None, drop_remainder)
    return ds.apply(tf.data.experimental.assert_cardinality(steps)).prefetch(tf.data.AUTOTUNE)


def shard_stream(files, records, seed, start_step, steps_per_epoch, batch_size=64, max_tokens=40, drop_remainder=False):
    """The endless training stream from optimizer step ``start_step`` on, as
    :func:`transformer_tf.data.training_stream` (epoch ``e`` shuffled with a seed of
    ``seed`` and ``e``, its first ``steps_per_epoch`` batches), from the shards ``files``
    (all, or a worker's share): a resumed run sees the batches the interrupted one would
    have seen."""
    first_epoch, offset = divmod(start_step, steps_per_epoch)
    epochs = tf.data.Dataset.range(first_epoch, 2**62)
    stream = epochs.flat_map(  # a worker's share may give more batches than the shortest share: cut there
        lambda e: shard_batches(
            files, batch_size, max_tokens, tf.constant(seed, tf.int64) * 1_000_003 + e, drop_remainder, records
        ).take(steps_per_epoch)
    )
    return stream.skip(offset).prefetch(tf.data.AUTOTUNE)
