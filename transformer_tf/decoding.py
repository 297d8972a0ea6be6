"""Restore a trained translator and translate: greedy decoding and beam search, both
incremental; and the attention a translator paid to one sentence (:func:`sentence_attention`).

Decoding is autoregressive: the decoder is fed ``START``, predicts a token, is fed that
token, and so on until ``END``. Recomputing the decoder over the whole prefix at every
step costs O(t) work per step; the incremental decoders instead carry what the model needs
from step to step, so each step only processes the new token. One greedy and one beam
implementation serve both model kinds through two methods of the model:

- ``model.start_decoding(inp, max_length, beams) → (context, state)``: encode once;
  ``context`` stays fixed per row, ``state`` is carried (and, in beam search, reordered);
- ``model.decode_step(token, t, context, state) → (logits, state)``: one token in.

The Transformer (:class:`~transformer_tf.Transformer`) carries each decoder layer's
self-attention keys and values (its encoder-decoder keys/values are the context); the RNN
(:class:`~transformer_tf.seq2seq.RNNTranslator`) carries its recurrent state (its context:
the encoder outputs and their projected keys). :class:`FullRecompute` offers the same two
methods by rerunning the whole model on the prefix: the reference both decoders are tested
against token for token (``tests/test_translate.py``, ``tests/test_seq2seq.py``);
``bench/decode.py`` measures the speed-up.
"""

import tensorflow as tf

from transformer_tf.masks import PAD_ID
from transformer_tf.tokenizer import END_ID, START_ID, UNK_ID

# Ids the decoder must never emit: padding (it only pads finished rows), <unk> (the
# output never shows an unknown-token marker) and START (only ever fed in).
_NEVER_GENERATED = (PAD_ID, UNK_ID, START_ID)


def never_generated(logits):
    """``(rows, vocab)`` float32 logits with the ids of ``_NEVER_GENERATED`` at −∞."""
    vocab = logits.shape[-1] or tf.shape(logits)[-1]  # static when known: a constant in the graph
    never = tf.scatter_nd([[i] for i in _NEVER_GENERATED], [-float("inf")] * len(_NEVER_GENERATED), [vocab])
    return logits + never


def next_token_logits(model, x):
    """Logits of the next token, ``(batch, 1, d_model)`` Transformer decoder output →
    ``(batch, vocab)`` float32, with the ids of ``_NEVER_GENERATED`` at −∞."""
    return never_generated(tf.cast(model.final_layer(x)[:, 0], tf.float32))


def decode_length(inp, max_tokens):
    """Most tokens to generate for a ``(batch, inp_len)`` source: ``2·inp_len + 10``, at most
    ``max_tokens``. A translation is rarely twice its source, and the key/value caches
    (and so every step's attention) are this long: short sentences decode faster."""
    return tf.minimum(tf.constant(max_tokens), 2 * tf.shape(inp)[1] + 10)


def greedy_decode(model, inp, max_length, stop_at_end=True):
    """Greedy decoding, one token a step from the model's carried state.

    Args:
        model: a :class:`~transformer_tf.Transformer`, a
            :class:`~transformer_tf.seq2seq.RNNTranslator` (or anything with their
            ``start_decoding``/``decode_step``, e.g. :class:`FullRecompute`).
        inp: ``(batch, inp_len)`` int64 source ids (START … END, 0-padded).
        max_length: most tokens to generate (at most the Transformer's ``pe_target``).
        stop_at_end: stop once every sentence has produced END (False: always
            ``max_length`` steps, for benchmarks).

    Returns:
        ``(batch, steps)`` int64 generated ids (END included; 0 after END).
    """
    context, state = model.start_decoding(inp, max_length)
    batch = tf.shape(inp)[0]
    token = tf.fill((batch, 1), tf.constant(START_ID, tf.int64))
    finished = tf.zeros((batch,), tf.bool)
    outputs = tf.TensorArray(tf.int64, size=max_length)
    steps = tf.constant(0)
    for t in tf.range(max_length):
        logits, state = model.decode_step(token, t, context, state)
        next_token = tf.argmax(never_generated(logits), axis=-1)  # (batch,)
        next_token = tf.where(finished, tf.constant(PAD_ID, tf.int64), next_token)
        outputs = outputs.write(t, next_token)
        finished = finished | (next_token == END_ID)
        token = next_token[:, tf.newaxis]
        steps = t + 1
        if stop_at_end and tf.reduce_all(finished):
            break
    return tf.transpose(outputs.stack()[:steps])


def beam_search_decode(model, inp, max_length, beam_size=4, alpha=0.6):
    """Beam search over the same carried state as :func:`greedy_decode` (reordered with the beams).

    Keeps the ``beam_size`` most probable prefixes of every sentence; a finished beam
    (END produced) only extends with padding at no cost. The winner maximises
    ``log P(y) / lp(y)`` with the GNMT length penalty ``lp = ((5 + |y|) / 6)^alpha``
    (``alpha=0``: plain log-probability).

    Args:
        model, inp, max_length: as :func:`greedy_decode`.
        beam_size: beams per sentence (1 is greedy decoding).
        alpha: length-penalty exponent.

    Returns:
        ``(batch, max_length)`` int64 ids of the best beam (END included; 0 after END).
    """
    batch = tf.shape(inp)[0]
    vocab = model.hparams["target_vocab_size"]
    context, state = model.start_decoding(inp, max_length, beams=beam_size)  # rows: batch·beam

    # Only beam 0 is alive at first, so the first step does not pick one word beam_size times.
    scores = tf.tile(tf.concat([[0.0], tf.fill([beam_size - 1], -float("inf"))], 0), [batch])  # (batch·beam,)
    sequences = tf.zeros((batch * beam_size, max_length), tf.int64)
    finished = tf.zeros((batch * beam_size,), tf.bool)
    lengths = tf.zeros((batch * beam_size,), tf.float32)
    token = tf.fill((batch * beam_size, 1), tf.constant(START_ID, tf.int64))
    only_padding = tf.one_hot(PAD_ID, vocab, on_value=0.0, off_value=-float("inf"))  # (vocab,)
    for t in tf.range(max_length):
        logits, state = model.decode_step(token, t, context, state)
        log_probs = tf.nn.log_softmax(never_generated(logits))  # (batch·beam, vocab)
        log_probs = tf.where(finished[:, tf.newaxis], only_padding, log_probs)
        totals = tf.reshape(scores[:, tf.newaxis] + log_probs, (batch, beam_size * vocab))
        top_scores, top_index = tf.math.top_k(totals, k=beam_size)  # (batch, beam)
        parents = tf.reshape(top_index // vocab + tf.range(batch)[:, tf.newaxis] * beam_size, [-1])
        words = tf.cast(tf.reshape(top_index % vocab, [-1]), tf.int64)  # (batch·beam,)

        state = tf.nest.map_structure(lambda s, parents=parents: tf.gather(s, parents), state)
        was_finished = tf.gather(finished, parents)
        sequences = tf.gather(sequences, parents) + tf.one_hot(t, max_length, dtype=tf.int64) * words[:, None]
        lengths = tf.gather(lengths, parents) + tf.cast(~was_finished, tf.float32)
        finished = was_finished | (words == END_ID)
        scores = tf.reshape(top_scores, [-1])
        token = words[:, tf.newaxis]
        if tf.reduce_all(finished):
            break

    penalty = tf.pow((5.0 + lengths) / 6.0, alpha)
    normalised = tf.reshape(scores / penalty, (batch, beam_size))
    best = tf.argmax(normalised, axis=1, output_type=tf.int32) + tf.range(batch) * beam_size
    return tf.gather(sequences, best)


class FullRecompute:
    """A model's ``start_decoding``/``decode_step`` done the slow way: every step reruns the
    whole model on the source and the prefix fed so far (teacher-forcing's ``model((inp, tar))``).

    The state is the prefix, ``(rows, max_length)`` ids with the token fed at position t
    written at column t. Plugged into :func:`greedy_decode` or :func:`beam_search_decode`
    it is the reference that incremental decoding must match token for token.

    Args:
        model: a :class:`~transformer_tf.Transformer` or :class:`~transformer_tf.seq2seq.RNNTranslator`.
    """

    def __init__(self, model):
        self.model = model
        self.hparams = model.hparams

    def start_decoding(self, inp, max_length, beams=1):
        inp = tf.repeat(inp, beams, axis=0) if beams > 1 else inp
        return inp, tf.zeros((tf.shape(inp)[0], max_length), tf.int64)

    def decode_step(self, token, t, context, state):
        state = state + tf.one_hot(t, tf.shape(state)[1], dtype=tf.int64) * token  # write position t
        logits = self.model((context, state[:, : t + 1]), training=False)  # (rows, t + 1, vocab)
        return logits[:, -1], state


def greedy_decode_full(model, inp, max_length, stop_at_end=True):
    """Reference greedy decoding that reruns the whole model on the prefix every step."""
    return greedy_decode(FullRecompute(model), inp, max_length, stop_at_end)
