"""The shards' records, and turning chunks of text pairs into them, on every core.

A record is the int32 vector ``[len(source_ids), *source_ids, *target_ids]`` (its bytes;
TFRecord adds a CRC to each when :mod:`transformer_tf.shards` writes it).

Encoding is most of what pass two of :mod:`transformer_tf.prepare` costs (one
SentencePiece call a side for :data:`CHUNK` pairs, then the records): a
:class:`ChunkEncoder` gives whole chunks to worker threads while the main thread reads,
cleans and augments the next ones (SentencePiece's batch call releases the GIL, so the
encoding runs on another core), and hands the results back **in the order the chunks
were given**, so the shards are byte for byte those of one thread. At most two chunks
per worker are in flight: memory stays a few chunks whatever the corpus.

Threads rather than processes: nothing to pickle, and no process that re-imports the
caller's ``__main__`` (which a script without a ``__name__`` guard cannot survive).
"""

import array
import collections
import concurrent.futures

import numpy as np

CHUNK = 4096  # pairs encoded per SentencePiece call


def encode_record(source_ids, target_ids):
    """``[len(source), *source, *target]`` as int32 bytes: one record."""
    return array.array("i", [len(source_ids), *source_ids, *target_ids]).tobytes()


def encode_records(sources, targets):
    """:func:`encode_record` of many pairs of int32 arrays at once (the same bytes)."""
    raw = array.array("i", map(len, sources)).tobytes()  # native int32, as array("i") above
    return [raw[4 * i : 4 * i + 4] + s.tobytes() + t.tobytes() for i, (s, t) in enumerate(zip(sources, targets))]


def encode_chunk(tokenizers, sources, targets, added, max_tokens):
    """Encode and serialise pairs of text with one SentencePiece call a side.

    Args:
        tokenizers: ``(source, target)`` :class:`~transformer_tf.tokenizer.SubwordTokenizer`.
        sources, targets: the texts; ``added``: which pairs are augmented copies.

    Returns:
        ``(records, lengths, dropped)``: the records of the pairs with at most
        ``max_tokens`` tokens a side (:func:`encode_records`), each one's longer side
        ``(kept,)``, and how many corpus pairs were over the limit (an augmented copy over
        it is no loss of the corpus).
    """
    source_ids = tokenizers[0].encode_arrays(sources)
    target_ids = tokenizers[1].encode_arrays(targets)
    lengths = np.maximum(_lengths(source_ids), _lengths(target_ids))
    keep = lengths <= max_tokens
    dropped = int(np.count_nonzero(~keep & ~np.array(added, bool)))
    if not keep.all():
        kept = np.flatnonzero(keep).tolist()
        source_ids, target_ids = [source_ids[i] for i in kept], [target_ids[i] for i in kept]
    return encode_records(source_ids, target_ids), lengths[keep], dropped


def _lengths(arrays):
    return np.fromiter(map(len, arrays), np.int64, len(arrays))


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


class ChunkEncoder:
    """Encodes chunks (:func:`encode_chunk`) in ``workers`` threads, or in the calling one
    when ``workers`` is 0, and gives each result to ``done(key, result)`` in the order
    :meth:`submit` received the chunks. Use as a context manager; leaving it without an
    error delivers the chunks still in flight, with one drops them.
    """

    def __init__(self, tokenizers, max_tokens, workers, done):
        self.tokenizers, self.max_tokens, self.done = tokenizers, max_tokens, done
        self.pending = collections.deque()
        self.limit = 2 * workers
        self.pool = concurrent.futures.ThreadPoolExecutor(workers, "encode") if workers else None

    def submit(self, key, chunk):
        """Encode ``chunk`` (a :class:`Chunk`, emptied); ``key`` comes back with its result."""
        texts = chunk.take()
        if self.pool is None:
            self.done(key, encode_chunk(self.tokenizers, *texts, self.max_tokens))
            return
        self.pending.append((key, self.pool.submit(encode_chunk, self.tokenizers, *texts, self.max_tokens)))
        while len(self.pending) > self.limit:
            self._deliver()

    def _deliver(self):
        key, future = self.pending.popleft()
        self.done(key, future.result())

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        try:
            while self.pending and kind is None:
                self._deliver()
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)
