"""Continuous batching (as in Orca, vLLM, TGI): a greedy decode loop whose rows come and go.

:class:`~transformer_tf.fast_decode.FastGreedy` decodes a batch until its last sentence ends:
a server that forms such batches from one-sentence requests makes every client wait for the
batch's longest sentence, and decodes only what arrived before the batch started. Here the
decoder keeps a fixed number of *slots*; between two calls of its compiled steps

- a row that produced END (or reached its length) leaves: its answer goes back at once and
  its slot is free;
- a waiting sentence joins in a free slot: the encoder runs once on the sentences admitted
  together, their encoder keys/values and padding mask are written into their slots, and each
  row decodes from its own position (its self-attention cache is the slot's, positions after
  its own masked),

so every step decodes all the sentences in flight. :class:`SlotDecoder` holds the slots (one
compiled ``admit`` and one compiled ``steps``, each traced once: the caches have fixed shapes,
``slots × heads × max_tokens × depth``) and :class:`ContinuousDecoder` runs the loop on its own
thread, fed by :meth:`ContinuousDecoder.submit`.

The choices of the fast greedy path carry over: the bfloat16 copy of the layers where the CPU
has bfloat16 units, and the lexical shortlist, kept **per row**: each step scores the union of the
rows' shortlists and each row takes the argmax of its own, so a sentence gets the translation it
gets decoded alone (``FastGreedy`` on that sentence), whoever shares the step with it.

On the shipped model it costs about twice the CPU a sentence of ``FastGreedy``'s batches: its step
is ~150 small ops whose dispatch, not arithmetic, is the cost, and ``FastGreedy`` pays the call
once a batch (one ``tf.while_loop``) where the loop pays it every few steps, plus an encoder run
for each group of sentences joining (``docs/benchmarks.md``, "transformer-tf serve under load").
"""

import collections
import concurrent.futures
import dataclasses
import queue
import threading
import time

import numpy as np
import tensorflow as tf

from transformer_tf.config import DECODE_SLOTS
from transformer_tf.fast_decode import AUTOGRAPH, bfloat16_copy
from transformer_tf.hardware import cpu_has_bfloat16
from transformer_tf.masks import PAD_ID, create_padding_mask
from transformer_tf.model import shortlist_output
from transformer_tf.sentence_translator import SentenceTranslator
from transformer_tf.sentences import is_blank
from transformer_tf.tokenizer import END_ID, START_ID, UNK_ID

SLOTS = DECODE_SLOTS  # rows decoded at once by default (serve --slots)
#: Decode steps one call runs at most (:meth:`SlotDecoder.steps`); it ends sooner once a few rows have ended.
STEPS_PER_CALL = 4


def row_length(source_length, max_tokens):
    """Most tokens a row generates: :func:`~transformer_tf.decoding.decode_length` of its source alone."""
    return min(max_tokens, 2 * source_length + 10)


class SlotDecoder:
    """``slots`` rows of incremental greedy decoding of a :class:`~transformer_tf.Transformer`, each
    at its own position, in TensorFlow variables: ``admit`` fills slots, ``steps`` decodes a few
    tokens for every slot up to the last one in use.

    Args:
        model: the float32 Transformer (its output layer scores the tokens).
        max_tokens: the longest source and target (the caches' length, ``config.max_tokens``).
        slots: rows decoded at once.
        bfloat16: run the layers from a bfloat16 copy (None: where the CPU has bfloat16 units).
        compute: that copy, made already (several decoders may share one); None: made here.
    """

    def __init__(self, model, max_tokens, slots=SLOTS, bfloat16=None, compute=None):
        self.model, self.max_tokens, self.slots = model, max_tokens, slots
        self.bfloat16 = cpu_has_bfloat16() if bfloat16 is None else bfloat16
        if compute is None:
            compute = bfloat16_copy(model) if self.bfloat16 else model
        self.compute = compute
        layers = self.compute.decoder.dec_layers
        heads, depth = layers[0].mha1.num_heads, layers[0].mha1.depth
        dtype = self.compute.decoder.embedding.embeddings.dtype
        # A step writes one position of each row (a scatter) and reads the positions up to the longest
        # row's (a gather), so no step reads or copies a whole cache: once a variable has been scattered
        # into, TensorFlow copies all of it on each plain read.
        shape = (slots, heads, max_tokens, depth)

        def zeros():
            return tf.Variable(tf.zeros(shape, dtype), trainable=False)

        # per layer: (self k, self v, encoder k, encoder v), each (slots, heads, max_tokens, depth)
        self.state = tuple((zeros(), zeros(), zeros(), zeros()) for _ in layers)
        self.padding = tf.Variable(tf.ones((slots, max_tokens)), trainable=False)  # 1.0 = masked
        ids, rows = tf.TensorSpec((None, None), tf.int64), tf.TensorSpec((None,), tf.int32)
        self.admit = tf.function(self._admit, input_signature=[ids, rows, rows], autograph=AUTOGRAPH)
        # the steps decode the slots up to the last in use: rows join in the lowest free slots
        vector, scalar = tf.TensorSpec((None,), tf.int32), tf.TensorSpec((), tf.int32)
        self.steps = tf.function(
            self._steps,
            input_signature=[
                tf.TensorSpec((None,), tf.int64),
                vector,
                vector,
                tf.TensorSpec((None,), tf.int64),
                tf.TensorSpec((None, None), model.final_layer.dtype),
                tf.TensorSpec((None,), model.final_layer.dtype),
                tf.TensorSpec((slots, None), tf.bool),
                scalar,
                scalar,
                scalar,
            ],
            autograph=AUTOGRAPH,
        )

    def _admit(self, inp, rows, vocab):
        """Encode ``inp`` ``(n, inp_len)`` (START … END, 0-padded, ``inp_len ≤ max_tokens``) and write each
        sentence's encoder keys/values and padding mask into its slot of ``rows`` ``(n,)``.

        Returns:
            the output layer cut to the ids ``vocab`` ``(m,)`` for ``steps``
            (:func:`~transformer_tf.model.shortlist_output`: ``(d_model, m)`` and ``(m,)``).
        """
        mask = create_padding_mask(inp)  # (n, 1, 1, inp_len)
        enc_output, _ = self.compute.encoder(inp, training=False, mask=mask)
        width = tf.shape(inp)[1]
        cells = self._cells(rows, tf.tile(tf.range(width)[tf.newaxis], [tf.shape(rows)[0], 1]))
        for layer, (_, _, enc_k, enc_v) in zip(self.compute.decoder.dec_layers, self.state):
            k, v = layer.mha2.split_kv(enc_output, enc_output)  # (n, heads, inp_len, depth)
            enc_k.scatter_nd_update(cells, k)  # the positions past inp_len keep what they held: masked
            enc_v.scatter_nd_update(cells, v)
        padded = tf.pad(mask[:, 0, 0], [[0, 0], [0, self.max_tokens - width]], constant_values=1.0)
        self.padding.scatter_nd_update(rows[:, tf.newaxis], padded)
        return shortlist_output(self.model.final_layer, vocab)

    def _cells(self, slots, positions):
        """``(n, heads, p, 3)`` indices into a ``(slots, heads, max_tokens, depth)`` cache: for each of the
        ``slots`` ``(n,)``, every head, and the row's ``positions`` ``(n, p)``."""
        heads = self.state[0][0].shape[1]
        n, p = tf.shape(positions)[0], tf.shape(positions)[1]
        axes = (
            tf.broadcast_to(slots[:, tf.newaxis, tf.newaxis], (n, heads, p)),
            tf.broadcast_to(tf.range(heads)[tf.newaxis, :, tf.newaxis], (n, heads, p)),
            tf.broadcast_to(positions[:, tf.newaxis, :], (n, heads, p)),
        )
        return tf.stack(axes, axis=-1)

    def _step(self, token, t, kernel, bias, allowed, target_length, source_length):
        """One greedy step of the first ``rows`` slots (those up to the last one in use).

        Args:
            token: ``(rows,)`` int64, each row's latest token (START at its position 0).
            t: ``(rows,)`` int32, each row's position.
            kernel, bias: ``(d_model, n)`` and ``(n,)``, the output layer cut to ``n`` ids
                (:func:`~transformer_tf.model.shortlist_output`).
            allowed: ``(slots, n)``, the ids each slot's row may produce.
            target_length, source_length: scalars, at least ``max(t) + 1`` and the longest source of
                the live rows: the attention reads no cache position beyond them.

        Returns:
            ``(rows,)`` int64: the column of ``kernel`` each row picks (any where it allows none).
        """
        decoder = self.compute.decoder
        rows = tf.shape(token)[0]
        x = decoder.embedding(token[:, tf.newaxis])  # (rows, 1, d_model)
        x *= tf.math.sqrt(tf.cast(decoder.d_model, x.dtype))  # as Decoder.embed, at each row's own position
        x += tf.cast(tf.gather(decoder.pos_encoding[0], t), x.dtype)[:, tf.newaxis]
        slots = tf.range(rows)
        cell = self._cells(slots, t[:, tf.newaxis])[:, :, 0]  # (rows, heads, 3): each row's position t
        targets = self._cells(slots, tf.tile(tf.range(target_length)[tf.newaxis], [rows, 1]))
        sources = self._cells(slots, tf.tile(tf.range(source_length)[tf.newaxis], [rows, 1]))

        future = tf.cast(tf.range(target_length)[tf.newaxis] > t[:, tf.newaxis], tf.float32)  # (rows, target_length)
        future = future[:, tf.newaxis, tf.newaxis]  # (rows, 1, 1, target_length), 1.0 = not written yet
        padding = self.padding[:rows, tf.newaxis, tf.newaxis, :source_length]  # (rows, 1, 1, source_length)
        for layer, (self_k, self_v, enc_k, enc_v) in zip(decoder.dec_layers, self.state):
            k_t, v_t = layer.mha1.split_kv(x, x)  # (slots, heads, 1, depth)
            self_k.scatter_nd_update(cell, k_t[:, :, 0])
            self_v.scatter_nd_update(cell, v_t[:, :, 0])
            attn1, _ = layer.mha1.attend(x, tf.gather_nd(self_k, targets), tf.gather_nd(self_v, targets), future)
            out1 = layer.layernorm1(attn1 + x)
            attn2, _ = layer.mha2.attend(out1, tf.gather_nd(enc_k, sources), tf.gather_nd(enc_v, sources), padding)
            x = layer._feed_forward(layer.layernorm2(attn2 + out1))
        logits = tf.matmul(tf.cast(x[:, 0], kernel.dtype), kernel) + bias  # as model.output_logits
        return tf.argmax(tf.where(allowed[:rows], tf.cast(logits, tf.float32), -np.inf), axis=-1)

    def _steps(self, token, t, limit, vocab, kernel, bias, allowed, source_length, most, finish_at):
        """Up to ``most`` greedy steps of the first ``rows`` slots, in one call (a ``tf.while_loop``),
        ending after the step at which ``finish_at`` more rows have ended: each call from Python costs
        about a step's time again (the call, its ops' hand-overs), so a few steps a call cost less than one.

        Args:
            token, t: ``(rows,)`` each row's latest token and position (as :meth:`_step`).
            limit: ``(rows,)`` the most tokens each row generates (0: a free slot).
            vocab: ``(n,)`` the ids of ``kernel``'s columns (``allowed``: as :meth:`_step`'s).
            source_length: the longest source of the rows.

        Returns:
            ``(steps, rows)`` int64 ids generated; a row's ids after its END or its limit mean nothing.
        """
        ended = t >= limit
        at_start = tf.reduce_sum(tf.cast(ended, tf.int32))

        def step(i, token, t, ended, out):
            best = tf.gather(vocab, self._step(token, t, kernel, bias, allowed, tf.reduce_max(t) + 1, source_length))
            out = out.write(i, best)
            now_ended = ended | (best == END_ID) | (t + 1 >= limit)
            # a row that has ended stays where it is (its position is rewritten, never read again)
            return i + 1, tf.where(ended, token, best), tf.where(now_ended, t, t + 1), now_ended, out

        def going(i, token, t, ended, out):
            left = tf.reduce_sum(tf.cast(ended, tf.int32)) - at_start < finish_at
            return (i < most) & left & ~tf.reduce_all(ended)

        out = tf.TensorArray(tf.int64, size=0, dynamic_size=True)
        *_, out = tf.while_loop(going, step, (tf.constant(0), token, t, ended, out))
        return out.stack()


@dataclasses.dataclass
class _Row:
    ids: list  # source ids, START … END
    future: concurrent.futures.Future
    length: int  # most tokens to generate
    out: list = dataclasses.field(default_factory=list)


_STOP = object()


class ContinuousDecoder:
    """A thread that decodes the sentences given to :meth:`submit` with continuous batching
    (:class:`SlotDecoder`), each answered as soon as it ends.

    Between two steps, waiting sentences join the free slots when at least ``join_at`` of them
    can, when no row is decoding, or ``max_wait_steps`` steps after the latest admission: each
    admission runs the encoder once (a few milliseconds for one sentence as for eight), so joining
    a few at a time costs less than one by one, at a step's wait or two.

    Args:
        model, max_tokens: the Transformer and its ``max_tokens``.
        shortlist: a :class:`~transformer_tf.shortlist.LexicalShortlist`, or None (every id but
            PAD/UNK/START).
        slots, bfloat16: as :class:`SlotDecoder`'s.
        join_at: waiting sentences that join at once (default: an eighth of the slots).
        max_wait_steps: steps between two admissions at most (while sentences wait and slots are free).
        steps_per_call: steps one call of the compiled decoder runs at most; it returns once
            ``min(join_at, rows // 4)`` rows (at least one) have ended, and the ended rows are answered.
        **shared: ``compute=``, the bfloat16 copy of ``model`` shared with other decoders (:class:`SlotDecoder`).

    Counters (the server's health route): ``steps``, ``row_steps`` (rows decoded, summed over
    the steps), ``step_sizes`` (``{rows: steps}``), ``admitted``, ``admissions``, ``busy_seconds``
    and ``busy_cpu_seconds`` (the loop's thread while it had rows); ``pending``: sentences
    submitted and not yet answered.
    """

    def __init__(
        self,
        model,
        max_tokens,
        shortlist=None,
        slots=SLOTS,
        bfloat16=None,
        join_at=None,
        max_wait_steps=2,
        steps_per_call=STEPS_PER_CALL,
        **shared,
    ):
        self.slots, self.max_tokens, self.shortlist = slots, max_tokens, shortlist
        self.join_at = max(1, slots // 8) if join_at is None else join_at
        self.max_wait_steps, self.steps_per_call = max_wait_steps, steps_per_call
        self.decoder = SlotDecoder(model, max_tokens, slots, bfloat16, **shared)
        vocab_size = model.hparams["target_vocab_size"]
        self._whole = np.setdiff1d(np.arange(vocab_size), [PAD_ID, UNK_ID, START_ID]).astype(np.int32)
        self._allowed = np.zeros((slots, vocab_size), bool)  # row r may produce id i
        self.steps = self.row_steps = self.admitted = self.admissions = self.pending = 0
        self.step_sizes = collections.Counter()
        self.busy_seconds = self.busy_cpu_seconds = 0.0
        self._queue = queue.SimpleQueue()
        self._waiting = collections.deque()  # (ids, future)
        self._admitted_at = 0  # the step of the latest admission
        self._rows = [None] * slots
        self._output = None  # (union of the rows' shortlists, its output layer, allowed): made at each admission
        self._lock = threading.Lock()  # guards pending
        self._thread = threading.Thread(target=self._loop, name="continuous-decode", daemon=True)
        self._thread.start()

    def submit(self, ids):
        """Queue one sentence's source ids (START … END, at most ``max_tokens``); a Future of its
        generated ids (END included when it was produced), as a row of ``FastGreedy``'s output."""
        future = concurrent.futures.Future()
        with self._lock:
            self.pending += 1
        future.add_done_callback(self._answered)
        self._queue.put((list(ids), future))
        return future

    def _answered(self, future):
        with self._lock:
            self.pending -= 1

    def close(self):
        """Decode everything submitted so far, then stop the thread."""
        self._queue.put(_STOP)
        self._thread.join()

    def _loop(self):
        stopping = False
        while not stopping or self._waiting or any(self._rows):
            stopping = self._receive(block=not stopping and not self._waiting and not any(self._rows)) or stopping
            self._admit_waiting(force=stopping)
            if any(self._rows):
                start, cpu = time.perf_counter(), time.thread_time()
                try:
                    self._step()
                except Exception as err:  # the rows in flight get the error; the loop goes on
                    self._fail_rows(err)
                self.busy_seconds += time.perf_counter() - start
                self.busy_cpu_seconds += time.thread_time() - cpu

    def _receive(self, block):
        """Move what was submitted to the waiting line (waiting for one when ``block``); True at the stop."""
        while True:
            try:
                item = self._queue.get(block=block)
            except queue.Empty:
                return False
            if item is _STOP:
                return True
            self._waiting.append(item)
            block = False

    def _admit_waiting(self, force=False):
        """Move waiting sentences into free slots, when enough wait (see the class) or ``force``."""
        free = [r for r, row in enumerate(self._rows) if row is None]
        if not free or not self._waiting:
            return
        ready = (
            force
            or min(len(self._waiting), len(free)) >= self.join_at
            or len(free) == self.slots
            or self.steps - self._admitted_at >= self.max_wait_steps
        )
        if not ready:
            return
        new = []
        while free and self._waiting:
            ids, future = self._waiting.popleft()
            if future.set_running_or_notify_cancel():
                new.append((free.pop(0), ids, future))
        if new:
            try:
                self._start_rows(new)
            except Exception as err:  # the requests get the error; the loop goes on
                for slot, _, future in new:
                    self._rows[slot] = None
                    future.set_exception(err)

    def _start_rows(self, new):
        width = max(len(ids) for _, ids, _ in new)
        inp = np.array([ids + [PAD_ID] * (width - len(ids)) for _, ids, _ in new], np.int64)
        for slot, ids, future in new:
            vocab = self._whole if self.shortlist is None else self.shortlist.batch_vocabulary(ids)
            self._rows[slot] = _Row(ids, future, row_length(len(ids), self.max_tokens))
            self._allowed[slot] = False
            self._allowed[slot, vocab] = True
        self.admitted += len(new)
        self.admissions += 1
        self._admitted_at = self.steps
        live = [r for r, row in enumerate(self._rows) if row is not None]
        union = np.flatnonzero(self._allowed[live].any(axis=0)).astype(np.int32)  # the live rows' shortlists
        kernel, bias = self.decoder.admit(inp, np.array([slot for slot, _, _ in new], np.int32), union)
        allowed = tf.constant(self._allowed[:, union])  # a free slot's row: ignored
        self._output = (tf.constant(union, tf.int64), kernel, bias, allowed)

    def _fail_rows(self, err):
        for slot, row in enumerate(self._rows):
            if row is not None:
                self._rows[slot] = None
                row.future.set_exception(err)

    def _step(self):
        """A few tokens for every row (:meth:`SlotDecoder._steps`); the rows that end leave, answered."""
        union, kernel, bias, allowed = self._output
        rows = self._rows[: 1 + max(slot for slot, row in enumerate(self._rows) if row is not None)]
        token = [START_ID if row is None or not row.out else row.out[-1] for row in rows]
        t = [0 if row is None else len(row.out) for row in rows]
        limit = [0 if row is None else row.length for row in rows]
        live = sum(row is not None for row in rows)
        ids = self.decoder.steps(
            np.array(token, np.int64),
            np.array(t, np.int32),
            np.array(limit, np.int32),
            union,
            kernel,
            bias,
            allowed,
            max(len(row.ids) for row in rows if row is not None),
            self.steps_per_call,
            min(self.join_at, max(1, live // 4)),
        ).numpy()  # (steps, rows)
        for step in ids:
            live = 0
            for slot, row in enumerate(rows):
                if row is None or row.future.done():
                    continue
                live += 1
                row.out.append(int(step[slot]))
                if row.out[-1] == END_ID or len(row.out) >= row.length:
                    self._rows[slot] = None
                    row.future.set_result(row.out)
            self.steps += 1
            self.row_steps += live
            self.step_sizes[live] += 1


class ContinuousTranslator(SentenceTranslator):
    """A :class:`~transformer_tf.translate.Translator`'s text pipeline (sentences, places, tokens)
    whose greedy decoding goes through running :class:`ContinuousDecoder` loops: each
    sentence joins the loop with the fewest sentences pending, and each call of
    :meth:`translate` (from any thread) returns once its own sentences are decoded.
    ``batch_size`` and ``beam`` are not used (greedy only).

    Args:
        translator: a Transformer's fast-path :class:`~transformer_tf.translate.Translator`.
        slots: rows of each loop.
        loops: decode loops, each on its own thread (TensorFlow releases the GIL while a step runs).
        bfloat16: as :class:`SlotDecoder`'s.
        **options: ``join_at``, ``max_wait_steps`` of :class:`ContinuousDecoder`.
    """

    def __init__(self, translator, slots=SLOTS, loops=1, bfloat16=None, **options):
        for name in ("source_tokenizer", "target_tokenizer", "max_tokens", "places", "checkpoint_dir"):
            setattr(self, name, getattr(translator, name))
        model = translator.model
        compute = bfloat16_copy(model) if (cpu_has_bfloat16() if bfloat16 is None else bfloat16) else model
        self.loops = tuple(
            ContinuousDecoder(model, self.max_tokens, translator.shortlist, slots, bfloat16, compute=compute, **options)
            for _ in range(loops)
        )

    def _decode_sentences(self, sentences, batch_size, beam, progress):
        todo = [i for i, s in enumerate(sentences) if not is_blank(s)]
        futures = [
            min(self.loops, key=lambda loop: loop.pending).submit(ids)
            for ids in self.encode_sources([sentences[i] for i in todo])
        ]
        results = [""] * len(sentences)
        for i, future in zip(todo, futures):
            results[i] = self.target_tokenizer.decode(future.result())
        return results

    def close(self):
        """Finish every sentence submitted, then stop the loops."""
        for loop in self.loops:
            loop.close()


def loop_counters(loops):
    """The counters of the decoders of :class:`ContinuousTranslator` ``loops``, summed: ``steps``,
    ``rows`` decoded (over the steps), ``sentences`` admitted, ``admissions``, ``seconds`` and
    ``cpu_seconds`` stepping, ``step_sizes`` ``{rows: steps}``."""
    decoders = [decoder for loop in loops for decoder in loop.loops]
    sizes = collections.Counter()
    for decoder in decoders:
        sizes.update(decoder.step_sizes)
    return {
        "steps": sum(d.steps for d in decoders),
        "rows": sum(d.row_steps for d in decoders),
        "sentences": sum(d.admitted for d in decoders),
        "admissions": sum(d.admissions for d in decoders),
        "seconds": round(sum(d.busy_seconds for d in decoders), 6),
        "cpu_seconds": round(sum(d.busy_cpu_seconds for d in decoders), 6),
        "step_sizes": {str(size): n for size, n in sorted(sizes.items())},
    }
