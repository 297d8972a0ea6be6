"""The streaming data preparation of a ``"hash"``-split run: corpus → cleaning → tokenizer → shards.

Two passes over the corpus, a block of lines in memory at a time:

1. :func:`transformer_tf.corpus.survey`: cleaning counts, duplicates (8 bytes a pair), the
   hash split (each pair's fate kept, a byte a pair, for pass two), and a seeded reservoir
   sample of :data:`TOKENIZER_SAMPLE` training pairs; the tokenizer is trained on the
   sample (SentencePiece samples it again, to its ``input_sentence_size``), and the
   streaming augmentation takes its statistics from it;
2. every kept pair of train and validation is encoded, in chunks of
   :data:`CHUNK` pairs (in a helper process on the other core, for a corpus of
   :data:`HELPER_MIN_PAIRS` pairs or more: :class:`transformer_tf.records.ChunkEncoder`), into
   the TFRecord shards of :mod:`transformer_tf.shards` (training pairs followed by
   their augmented copies, :mod:`transformer_tf.augment_stream`); pairs over
   ``max_tokens`` are counted and left out.

Both passes show progress (tqdm, on standard error). A resumed run, or any run whose
shards were made from the same corpus, tokenizers and settings, skips both and reads the
shards (:func:`transformer_tf.shards.open_manifest` checks them first).
"""

import concurrent.futures
import contextlib
import dataclasses
import gc
import hashlib
import os
import shutil
import sys
from pathlib import Path

from tqdm import tqdm

from transformer_tf.augment_stream import StreamAugmenter
from transformer_tf.corpus import SPLITS, Cleaning, clean_blocks, fingerprint, open_corpus, survey
from transformer_tf.data import (
    EncodedPairs,
    batch_pairs,
    count_batches,
    describe_splits,
    encode_pairs,
    load_splits,
    make_dataset,
    training_stream,
)
from transformer_tf.errors import TransformerTFError
from transformer_tf.records import ChunkEncoder
from transformer_tf.shards import (
    MANIFEST,
    SHARDS_DIR,
    TRAIN_SHARDS,
    ShardWriter,
    batches_per_epoch,
    open_manifest,
    shard_files,
    shard_stream,
    share_histograms,
    validation_batches,
    write_manifest,
)

TOKENIZER_SAMPLE = 100_000  # training pairs the tokenizer and the augmentation statistics see
CHUNK = 4096  # pairs given to the encoder at once
HELPER_MIN_PAIRS = 50_000  # corpora this size and up are encoded in a helper process
# The settings that shape the shards' content: a change means encoding again.
SHARD_SETTINGS = (
    "split_method",
    "seed",
    "val_fraction",
    "test_fraction",
    "max_pairs",
    "max_tokens",
    "augment",
    "augment_names",
    "augment_numbers",
    "augment_concat",
)


@dataclasses.dataclass
class PreparedData:
    """The shards of a run, ready to read: ``folder``, its ``manifest`` and the ``tokenizers``."""

    folder: Path
    manifest: dict
    tokenizers: tuple

    worker_shares = True  # under several workers, each reads its own share of the files

    def steps_per_epoch(self, batch_size, max_tokens, drop_remainder=False, workers=1):
        """Batches an epoch; with ``workers``, of the shortest worker's share (every worker runs as many)."""
        histograms = share_histograms(self.manifest, "train", workers)
        return min(batches_per_epoch(h, batch_size, max_tokens, drop_remainder) for h in histograms)

    def left_out(self, batch_size, max_tokens, workers):
        """Training pairs no worker sees in an epoch of multi-worker training (full batches,
        every worker :meth:`steps_per_epoch` of them): the longer shares' extra batches and
        each bucket's incomplete one. Different pairs each epoch, as each is shuffled anew."""
        steps = self.steps_per_epoch(batch_size, max_tokens, True, workers)
        return self.manifest["splits"]["train"]["pairs"] - workers * steps * batch_size

    def left_out_report(self, batch_size, max_tokens, workers):
        """One line for the start of multi-worker training: :meth:`left_out`, in words."""
        pairs, unseen = self.manifest["splits"]["train"]["pairs"], self.left_out(batch_size, max_tokens, workers)
        steps = self.steps_per_epoch(batch_size, max_tokens, True, workers)
        return (
            f"{workers} workers, each {steps} batches an epoch (the shortest share): {unseen:,} of {pairs:,} "
            f"training pairs ({unseen / pairs:.1%}) are left out of each epoch, different ones each epoch"
        )

    def train_stream(self, seed, start_step, steps_per_epoch, batch_size, max_tokens, drop_remainder=False, share=None):
        """The training stream (:func:`~transformer_tf.shards.shard_stream`) of all the shards or,
        with ``share = (worker, workers)``, of that worker's share of the files."""
        files, records = shard_files(self.folder, self.manifest, "train", share)
        return shard_stream(files, records, seed, start_step, steps_per_epoch, batch_size, max_tokens, drop_remainder)

    def validation(self, batch_size, max_tokens, drop_remainder=False):
        return validation_batches(self.folder, self.manifest, batch_size, max_tokens, drop_remainder)

    def digests(self):
        """The shards' SHA-256s, in order (what every worker must share)."""
        return [f["sha256"].encode() for entry in self.manifest["splits"].values() for f in entry["files"]]

    def report(self, worker_batch=0, workers=1):
        """Lines for the start of training: cleaning counts, augmentation, shard sizes; with
        ``worker_batch`` (multi-worker shares), first what each epoch leaves out (:meth:`left_out`)."""
        max_tokens = self.manifest["inputs"]["max_tokens"]  # the run's: a shard setting
        cleaning = Cleaning(**{k: v for k, v in self.manifest["cleaning"].items()})
        added = self.manifest.get("augmented") or {}
        splits = self.manifest["splits"]
        lines = [self.left_out_report(worker_batch, max_tokens, workers)] if worker_batch else []
        lines.append(cleaning.report())
        if added:
            lines.append("augmented: " + ", ".join(f"+{n:,} {kind}" for kind, n in added.items()))
        lines.append(
            f"shards: {splits['train']['pairs']:,} training pairs in {len(splits['train']['files'])} files, "
            f"{splits['validation']['pairs']:,} validation pairs, in {self.folder}"
        )
        return lines


@dataclasses.dataclass
class InMemoryData:
    """A ``"grouped-shuffle"`` run's data (the shipped models' split), held in memory as it
    always was: the same interface as :class:`PreparedData`."""

    splits: dict
    pairs: EncodedPairs
    kept: int
    added: dict
    tokenizers: tuple

    worker_shares = False  # under several workers, each slices the global batches all of them build

    def steps_per_epoch(self, batch_size, max_tokens, drop_remainder=False):
        # Bucket sizes do not depend on the order, so every epoch has the same number of batches.
        return count_batches(batch_pairs(self.pairs, batch_size, max_tokens, drop_remainder=drop_remainder))

    def train_stream(self, seed, start_step, steps_per_epoch, batch_size, max_tokens, drop_remainder=False):
        return training_stream(self.pairs, seed, start_step, steps_per_epoch, batch_size, max_tokens, drop_remainder)

    def validation(self, batch_size, max_tokens, drop_remainder=False):
        en_tok, es_tok = self.tokenizers
        ds, _ = make_dataset(
            self.splits["validation"], en_tok, es_tok, batch_size, max_tokens, drop_remainder=drop_remainder
        )
        return ds

    def digests(self):
        return [t.numpy().tobytes() for t in self.pairs]

    def report(self, worker_batch=0, workers=1):
        lines = ["augmented: " + ", ".join(f"+{n:,} {kind}" for kind, n in self.added.items())] if self.added else []
        return [*lines, f"data: {describe_splits(self.splits)}; {self.kept:,} training pairs within the token limit"]


def prepare_data(config, checkpoint_dir, make_tokenizers, training_pairs, tokenizers=None, verbose=1):
    """The run's data by its ``config.split_method``: :func:`prepare_shards` (``"hash"``) or,
    for ``"grouped-shuffle"``, :class:`InMemoryData` as the shipped models were trained.

    ``training_pairs(config, splits)`` → ``(pairs, added)`` gives the in-memory training
    pairs (:func:`transformer_tf.train.training_pairs`); the other arguments are
    :func:`prepare_shards`'.
    """
    if config.split_method == "hash":
        return prepare_shards(config, checkpoint_dir, make_tokenizers, tokenizers, verbose)
    splits = load_splits(config)
    tokenizers = tokenizers or make_tokenizers(config, splits["train"])
    pairs, added = training_pairs(config, splits)
    encoded, kept = encode_pairs(pairs, *tokenizers, config.max_tokens)
    return InMemoryData(splits, encoded, kept, added, tokenizers)


def shard_inputs(config, corpus, tokenizers):
    """What the shards are made from: the corpus fingerprint, the tokenizers, :data:`SHARD_SETTINGS`."""
    return {
        "corpus": corpus,
        "tokenizers": [hashlib.sha256(tok.model_proto).hexdigest() for tok in tokenizers],
        **{name: getattr(config, name) for name in SHARD_SETTINGS},
    }


def _progress(verbose, desc, total=None):
    """A progress bar on standard error, shown only on a terminal (a log file gets none) and when ``verbose``."""
    disable = None if verbose else True  # tqdm: None = off when the stream is not a terminal
    return tqdm(desc=desc, total=total, unit=" pairs", unit_scale=True, file=sys.stderr, disable=disable)


def prepare_shards(config, checkpoint_dir, make_tokenizers, tokenizers=None, verbose=1):
    """The :class:`PreparedData` of a run: its shards reused when intact and made from the
    same inputs, else made now.

    Args:
        config: the run's :class:`~transformer_tf.config.TrainConfig` (``split_method`` ``"hash"``).
        checkpoint_dir: the run folder; shards go to its ``shards/``.
        make_tokenizers: ``make_tokenizers(config, sample_pairs)`` → ``(source, target)``.
        tokenizers: a resumed run's tokenizers; its shards must exist and match.

    Raises:
        TransformerTFError: the corpus cannot be used, a resumed run's shards were made from
            another corpus or are damaged (the message names the shard and the fix).
    """
    folder = Path(checkpoint_dir) / SHARDS_DIR
    source = open_corpus(config.data)
    corpus = fingerprint(source)
    if tokenizers is not None:
        manifest = open_manifest(folder, shard_inputs(config, corpus, tokenizers))
        if manifest is not None:
            return PreparedData(folder, manifest, tokenizers)
    with _gc_frozen():
        return _prepare(source, corpus, config, folder, make_tokenizers, tokenizers, verbose)


@contextlib.contextmanager
def _gc_frozen():
    """The objects that exist already (a process with TensorFlow holds about a million) left
    out of the garbage collector's passes while the preparation makes millions of short-lived
    ones, and put back afterwards. (Pass one over 100,000 pairs: 0.80-1.05 s without, 0.62-0.78 s
    with; pass two's reading 0.38-0.45 s against 0.19-0.21 s.)"""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _prepare(source, corpus, config, folder, make_tokenizers, tokenizers, verbose):
    """:func:`prepare_shards` past the resume check: both passes, unless shards of the same inputs exist."""
    with _progress(verbose, "reading the corpus (1/2)") as bar:
        cleaning, sample, lines = survey(source, config, TOKENIZER_SAMPLE, bar)
    with concurrent.futures.ThreadPoolExecutor(1, "augmenter") as pool:
        # The augmenter's statistics (Python) while SentencePiece trains (C++, without the GIL),
        # unless the folder has shards that may be reused (then they are likely not needed).
        early = not (folder / MANIFEST).is_file()
        augmenter = pool.submit(_augmenter, config, sample) if early else None
        if tokenizers is None:
            tokenizers = make_tokenizers(config, sample)
        inputs = shard_inputs(config, corpus, tokenizers)
        try:
            manifest = open_manifest(folder, inputs)
        except TransformerTFError:
            manifest = None  # a fresh start: shards of other inputs are simply replaced
        if manifest is not None:
            return PreparedData(folder, manifest, tokenizers)
        augmenter = augmenter.result() if early else _augmenter(config, sample)
    del sample
    _encode(source, config, cleaning, lines, tokenizers, augmenter, folder, inputs, verbose)
    return PreparedData(folder, open_manifest(folder, inputs), tokenizers)


def _augmenter(config, sample):
    """The run's :class:`StreamAugmenter` (its statistics from ``sample``), or None without augmentation."""
    if not config.augment:
        return None
    return StreamAugmenter(sample, config.seed, config.augment_names, config.augment_numbers, config.augment_concat)


# -- pass two's encoding: chunks of pairs → records (transformer_tf.records) ------------


class Chunk:
    """Up to :data:`CHUNK` pairs waiting to be encoded: their texts, and which are augmented copies."""

    def __init__(self):
        self.sources, self.targets, self.added = [], [], []

    def add(self, source, target, added=False):
        self.sources.append(source)
        self.targets.append(target)
        self.added.append(added)

    def __len__(self):
        return len(self.sources)

    def take(self):
        """``(sources, targets, added)``, leaving the chunk empty."""
        texts = self.sources, self.targets, self.added
        self.__init__()
        return texts


def use_helper(pairs):
    """Whether a corpus of ``pairs`` lines is encoded in a helper process: when this process
    may use several cores and the corpus is big enough to pay for its start
    (:data:`HELPER_MIN_PAIRS`); else in the main thread."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores > 1 and pairs >= HELPER_MIN_PAIRS


def _encode(source, config, cleaning, lines, tokenizers, augmenter, folder, inputs, verbose):
    """Pass two: encode train and validation into fresh shards; the manifest last."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    writers = {
        "train": ShardWriter(folder, "train", TRAIN_SHARDS, config.max_tokens),
        "validation": ShardWriter(folder, "validation", 1, config.max_tokens),
    }
    chunks = {1: Chunk(), 2: Chunk()}  # by split code: train, validation

    def write(code, result):
        records, lengths, dropped = result
        writers[SPLITS[code - 1]].write_batch(records, lengths)
        cleaning.over_max_tokens += dropped

    try:
        with (
            _progress(verbose, "encoding into shards (2/2)", cleaning.read) as bar,
            ChunkEncoder(tokenizers, config.max_tokens, use_helper(cleaning.read), write) as encoder,
        ):
            for read, kept in clean_blocks(source, cleaning, lines):
                bar.update(read)
                for code, en, es in kept:
                    if code == 3:  # test: never encoded
                        continue
                    chunk = chunks[code]
                    chunk.add(en, es)
                    if code == 1 and augmenter is not None:
                        for a, b in augmenter(en, es):
                            chunk.add(a, b, added=True)
                    if len(chunk) >= CHUNK:
                        encoder.submit(code, chunk)
            for code, chunk in chunks.items():
                if len(chunk):
                    encoder.submit(code, chunk)
        splits = {name: writer.close() for name, writer in writers.items()}
        if not splits["train"]["pairs"]:
            raise TransformerTFError(
                f"no training pair has at most {config.max_tokens} tokens per side; raise max_tokens."
            )
    except BaseException:  # a failed or interrupted pass leaves no shards behind
        for writer in writers.values():
            writer.abort()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    report = {"cleaning": cleaning.to_json(), "augmented": augmenter.counts if augmenter else {}}
    write_manifest(folder, inputs, splits, report)
