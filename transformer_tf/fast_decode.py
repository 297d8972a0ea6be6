"""Fast greedy decoding: the default of :class:`~transformer_tf.translate.Translator`.

The same greedy search as :func:`transformer_tf.decoding.greedy_decode` (same model, same
carried key/value caches), with the changes that the field's CPU translators (Marian,
Bergamot) make:

- **a lexical shortlist** (:mod:`transformer_tf.shortlist`): each batch scores only the
  target pieces its source pieces can translate to, plus the frequent ones, instead of all
  12,000 pieces. A translation changes only where the full vocabulary's best piece lies
  outside the shortlist;
- **finished sentences leave the batch**: once a quarter of the rows still decoded have
  produced END, they are dropped from the batch (with their caches and encoder keys/values),
  so the rest no longer pays for them. This changes no translation;
- **caches that grow**: each step appends its keys and values to the self-attention caches,
  which so hold only the positions decoded so far, instead of writing them into caches of
  the longest length (no step copies or attends over positions not decoded yet; the same
  translations);
- **bfloat16 weights** where the CPU has bfloat16 units (AVX512_BF16 or AMX): the encoder
  and decoder layers run from a bfloat16 copy of the weights, cast once; the output layer,
  its logits and the argmax stay float32.

``Translator(..., exact=True)`` (``--exact`` on the command line) decodes the reference way:
:func:`~transformer_tf.decoding.greedy_decode`, float32 over the whole vocabulary.
"""

import numpy as np
import tensorflow as tf

from transformer_tf.decoding import decode_length, never_generated
from transformer_tf.hardware import cpu_has_bfloat16
from transformer_tf.masks import PAD_ID
from transformer_tf.model import Transformer, shortlist_output
from transformer_tf.tokenizer import END_ID, START_ID, UNK_ID

#: Drop finished rows once they are this share of the rows still in the batch.
SHRINK_AT = 0.25

#: The decode loop is written with ``tf.while_loop`` and ``tf.cond``: it needs no AutoGraph, whose
#: conversion of every function the trace calls (~110 of them, Keras' included) was most of the
#: start-up after ``import tensorflow`` (docs/benchmarks.md, "Command-line start-up").
AUTOGRAPH = False


def bfloat16_copy(model):
    """A :class:`~transformer_tf.Transformer` like ``model`` whose variables are bfloat16
    (Keras dtype policy ``"bfloat16"``), holding ``model``'s weights cast once."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("bfloat16")
    try:
        copy = Transformer(**model.hparams)
    finally:
        keras.config.set_dtype_policy(previous)
    copy.build(((None, None), (None, None)))
    for target, source in zip(copy.weights, model.weights, strict=True):
        target.assign(tf.cast(source, target.dtype))
    return copy


def _rows_of(structure, growing=False):
    """Shape invariants of a nest of batch-first tensors: the batch axis may shrink (and with
    ``growing``, the caches' position axis, the third, grows)."""

    def invariant(x):
        shape = [None, *x.shape[1:]]
        if growing:
            shape[2] = None
        return tf.TensorShape(shape)

    return tf.nest.map_structure(invariant, structure)


def shrinking_greedy_decode(model, inp, max_length, vocab=None, final_layer=None, shrink_at=SHRINK_AT, grow=False):
    """Greedy decoding that drops finished sentences from the batch as it goes, optionally
    over a shortlist of the vocabulary.

    Args:
        model: a :class:`~transformer_tf.Transformer` (``vocab`` allowed) or anything with
            ``start_decoding``/``decode_step`` whose context and state are batch-first tensors.
        inp: ``(batch, inp_len)`` int64 source ids (START … END, 0-padded).
        max_length: most tokens to generate.
        vocab: optional ``(n,)`` int32 ids the decoder may produce (no PAD/UNK/START), e.g. a
            :meth:`~transformer_tf.shortlist.LexicalShortlist.batch_vocabulary`. None: all
            but PAD/UNK/START, from ``model``'s own output layer.
        final_layer: the output layer ``vocab`` is cut from (default ``model.final_layer``;
            the float32 model's when ``model`` is its bfloat16 copy).
        shrink_at: drop the finished rows once they are this share of the rows left.
        grow: self-attention caches that grow a position a step (a Transformer's
            ``decode_step(grow=True)``), instead of ``max_length`` positions written one by one.

    Returns:
        ``(batch, steps)`` int64 generated ids (END included; 0 after END), as
        :func:`~transformer_tf.decoding.greedy_decode`.
    """
    context, state = model.start_decoding(inp, 0 if grow else max_length)
    batch = tf.shape(inp)[0]
    step_args = {"grow": True} if grow else {}
    if vocab is not None:  # the output layer's rows of `vocab`, taken once a batch
        step_args["output"] = shortlist_output(final_layer or model.final_layer, vocab)

    def pick(logits):  # (rows, n) float32 → (rows,) int64 vocabulary ids
        if vocab is None:
            return tf.argmax(never_generated(logits), axis=-1)
        return tf.gather(tf.cast(vocab, tf.int64), tf.argmax(logits, axis=-1))

    def step(t, rows, token, finished, context, state, outputs):
        logits, state = model.decode_step(token, t, context, state, **step_args)
        best = tf.where(finished, tf.constant(PAD_ID, tf.int64), pick(logits))  # (rows,)
        outputs = tf.tensor_scatter_nd_update(outputs, tf.stack([rows, tf.fill(tf.shape(rows), t)], axis=1), best)
        finished = finished | (best == END_ID)
        live = (rows, best[:, tf.newaxis], finished, context, state)

        def drop_finished():
            keep = tf.where(~finished)[:, 0]
            return tf.nest.map_structure(lambda x: tf.gather(x, keep), live)

        done = tf.reduce_sum(tf.cast(finished, tf.float32))
        live = tf.cond(done >= shrink_at * tf.cast(tf.shape(rows)[0], tf.float32), drop_finished, lambda: live)
        return (t + 1, *live, outputs)

    def unfinished(t, rows, token, finished, *_):
        return (t < max_length) & tf.reduce_any(~finished)

    start = (
        tf.constant(0),
        tf.range(batch),  # the row of `inp` each row of the shrinking batch is
        tf.fill((batch, 1), tf.constant(START_ID, tf.int64)),
        tf.zeros((batch,), tf.bool),
        context,
        state,
        tf.zeros((batch, max_length), tf.int64),
    )
    invariants = (
        tf.TensorShape([]),
        tf.TensorShape([None]),
        tf.TensorShape([None, 1]),
        tf.TensorShape([None]),
        _rows_of(context),
        _rows_of(state, growing=grow),
        tf.TensorShape([None, None]),
    )
    steps, *_, outputs = tf.while_loop(unfinished, step, start, shape_invariants=invariants)
    return outputs[:, :steps]


class FastGreedy:
    """The compiled fast greedy decoder of a model: ``FastGreedy(model, max_tokens, shortlist)(inp)``.

    Args:
        model: a :class:`~transformer_tf.Transformer` or :class:`~transformer_tf.seq2seq.RNNTranslator`
            (the RNN only gets the shrinking batch: no shortlist, float32).
        max_tokens: the longest sequence the model reads (:func:`~transformer_tf.decoding.decode_length`).
        shortlist: a :class:`~transformer_tf.shortlist.LexicalShortlist`, or None (the whole vocabulary).
        bfloat16: run the layers from a bfloat16 copy of the weights; None: where the CPU
            has bfloat16 units (:func:`cpu_has_bfloat16`).
    """

    def __init__(self, model, max_tokens, shortlist=None, bfloat16=None):
        self.transformer = isinstance(model, Transformer)
        self.shortlist = shortlist if self.transformer else None
        self.bfloat16 = self.transformer and (cpu_has_bfloat16() if bfloat16 is None else bfloat16)
        compute = bfloat16_copy(model) if self.bfloat16 else model
        ids = tf.TensorSpec((None, None), tf.int64)
        if not self.transformer:
            self._decode = tf.function(
                lambda inp: shrinking_greedy_decode(model, inp, decode_length(inp, max_tokens)),
                input_signature=[ids],
                autograph=AUTOGRAPH,
            )
            return
        vocab_size = model.hparams["target_vocab_size"]
        self._whole = np.setdiff1d(np.arange(vocab_size), [PAD_ID, UNK_ID, START_ID]).astype(np.int32)
        self._decode = tf.function(
            lambda inp, vocab: shrinking_greedy_decode(
                compute, inp, decode_length(inp, max_tokens), vocab, final_layer=model.final_layer, grow=True
            ),
            input_signature=[ids, tf.TensorSpec((None,), tf.int32)],
            autograph=AUTOGRAPH,
        )

    def __call__(self, inp):
        """``(batch, inp_len)`` int64 source ids → ``(batch, steps)`` generated ids (a tensor)."""
        if not self.transformer:
            return self._decode(inp)
        vocab = self._whole if self.shortlist is None else self.shortlist.batch_vocabulary(np.asarray(inp))
        return self._decode(inp, tf.constant(vocab, tf.int32))
