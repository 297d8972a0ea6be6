"""Pairs of text → the shards' records, on the second core: a helper process that encodes.

A record is one pair, the native int32 vector ``[len(source_ids), *source_ids,
*target_ids]`` (:func:`encode_record`; read back by
:func:`transformer_tf.shards.decode_record`). The preparation (:mod:`transformer_tf.prepare`)
gives its training and validation pairs here a chunk at a time:

- :func:`encode_chunk` encodes a chunk, each distinct word once
  (:class:`~transformer_tf.tokenizer.WordCache`: the ids SentencePiece gives the whole
  text), and builds the records from the ids' bytes without a Python object per id;
- :class:`ChunkEncoder` runs it in a helper process, ``python -m transformer_tf.records``,
  which imports SentencePiece and NumPy only (no TensorFlow: it starts in a fraction of a
  second, and no ``__main__`` of the caller is imported again). The main process reads,
  cleans and augments, Python that holds its GIL, while the helper encodes on the other
  core; chunks go to the helper's standard input and records come back from its standard
  output as length-prefixed pickles, in the order given, so the shards are byte for byte
  those of one process. At most a few chunks are in flight: memory is bounded whatever
  the corpus.
"""

import array
import collections
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from transformer_tf.errors import TransformerTFError
from transformer_tf.tokenizer import SubwordTokenizer, WordCache

_FRAME = struct.Struct("<Q")  # the byte length of the pickle that follows
_COUNT = struct.Struct("=i")  # a record's first value: native int32, as array("i")
IN_FLIGHT = 3  # chunks given to the helper and not yet delivered


def encode_record(source_ids, target_ids):
    """``[len(source), *source, *target]`` as int32 bytes: one TFRecord record."""
    return array.array("i", [len(source_ids), *source_ids, *target_ids]).tobytes()


def encode_chunk(caches, sources, targets, added, max_tokens):
    """Encode and serialise pairs of text.

    Args:
        caches: ``(source, target)`` :class:`~transformer_tf.tokenizer.WordCache` (one object twice
            for a joint tokenizer).
        sources, targets: the texts (n,); ``added``: which pairs are augmented copies (n,).

    Returns:
        ``(records, lengths, dropped)``: the records (:func:`encode_record`) of the pairs with
        at most ``max_tokens`` tokens a side, each one's longer side ``(kept,)`` int64, and how
        many corpus pairs were over the limit (an augmented copy over it is no loss of the corpus).
    """
    source_ids, target_ids = caches[0].encode_bytes(sources), caches[1].encode_bytes(targets)
    lengths = np.maximum(_lengths(source_ids), _lengths(target_ids))
    keep = lengths <= max_tokens
    dropped = int(np.count_nonzero(~keep & ~np.array(added, bool)))
    pack = _COUNT.pack
    records = [pack(len(s) >> 2) + s + t for s, t, k in zip(source_ids, target_ids, keep.tolist()) if k]
    return records, lengths[keep], dropped


def _lengths(encoded):
    return np.fromiter(map(len, encoded), np.int64, len(encoded)) >> 2


def word_caches(tokenizers):
    """``(source, target)`` :class:`~transformer_tf.tokenizer.WordCache` of ``tokenizers``, one for a joint model."""
    source = WordCache(tokenizers[0])
    return source, source if tokenizers[1] is tokenizers[0] else WordCache(tokenizers[1])


def _send(stream, message):
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_FRAME.pack(len(data)) + data)
    stream.flush()


def _receive(stream):
    """The next message, or None at the end of the stream."""
    head = stream.read(_FRAME.size)
    if len(head) < _FRAME.size:
        return None
    return pickle.loads(stream.read(_FRAME.unpack(head)[0]))


def _tokenizer_state(tokenizer):
    return tokenizer.model_proto, tokenizer.offset, tokenizer.bpemb_preprocess, tokenizer.source


def helper_main(stdin=None, stdout=None):
    """The helper process: the tokenizers and ``max_tokens`` first, then a result per chunk."""
    stdin, stdout = stdin or sys.stdin.buffer, stdout or sys.stdout.buffer
    states, joint, max_tokens = _receive(stdin)
    tokenizers = [SubwordTokenizer(*state) for state in states]
    caches = word_caches((tokenizers[0], tokenizers[0] if joint else tokenizers[1]))
    while (chunk := _receive(stdin)) is not None:
        _send(stdout, encode_chunk(caches, *chunk, max_tokens))


class ChunkEncoder:
    """Encodes chunks (:func:`encode_chunk`) in a helper process, or in this one when
    ``helper`` is False, and gives each result to ``done(key, result)`` in the order
    :meth:`submit` received the chunks. Use as a context manager; leaving it without an
    error delivers the chunks still in flight, with one ends the helper at once.
    """

    def __init__(self, tokenizers, max_tokens, helper, done):
        self.tokenizers, self.max_tokens, self.done = tokenizers, max_tokens, done
        self.pending = collections.deque()
        self.proc = None
        if not helper:
            self.caches = word_caches(tokenizers)
            return
        root = str(Path(__file__).resolve().parents[1])  # this copy of the package, whatever sys.path holds
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "transformer_tf.records"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        self.outbox, self.inbox = queue.Queue(IN_FLIGHT), queue.Queue()
        self.threads = [
            threading.Thread(target=self._write, name="encode-send", daemon=True),
            threading.Thread(target=self._read, name="encode-receive", daemon=True),
        ]
        for thread in self.threads:
            thread.start()
        joint = tokenizers[1] is tokenizers[0]
        self.outbox.put(([_tokenizer_state(t) for t in tokenizers[: 1 if joint else 2]], joint, max_tokens))

    def _write(self):
        try:
            while (message := self.outbox.get()) is not None:
                _send(self.proc.stdin, message)
            self.proc.stdin.close()
        except (BrokenPipeError, ValueError):  # the helper ended: the reader reports it
            pass

    def _read(self):
        while (result := _receive(self.proc.stdout)) is not None:
            self.inbox.put(result)
        self.inbox.put(None)

    def submit(self, key, chunk):
        """Encode ``chunk`` (a :class:`~transformer_tf.prepare.Chunk`, emptied); ``key`` comes back with its result."""
        texts = chunk.take()
        if self.proc is None:
            self.done(key, encode_chunk(self.caches, *texts, self.max_tokens))
            return
        self.pending.append(key)
        self.outbox.put(texts)
        while len(self.pending) > IN_FLIGHT:
            self._deliver()

    def _deliver(self):
        result = self.inbox.get()
        if result is None:
            status = self.proc.wait()
            raise TransformerTFError(
                f"the encoding helper process (python -m transformer_tf.records) ended with status {status} "
                f"before its work was done (its error is above); run again, or report the error."
            )
        self.done(self.pending.popleft(), result)

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        if self.proc is None:
            return
        try:
            if kind is None:
                self.outbox.put(None)
                while self.pending:
                    self._deliver()
        finally:
            if kind is not None:
                self.proc.kill()  # our own helper, by its process
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                stream.close()


if __name__ == "__main__":
    helper_main()
