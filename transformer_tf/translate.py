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

import dataclasses
import functools
import re
import unicodedata
import warnings
from pathlib import Path

import tensorflow as tf

# Moved to transformer_tf.checkpoints; importable from here for one release.
from transformer_tf.checkpoints import (  # noqa: F401
    WEIGHTS_PREFIX,
    average_checkpoints,
    release_weights,
    restore_model,
    shipped_weights,
)
from transformer_tf.errors import TransformerTFError
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


class Translator:
    """A restored model with its tokenizers: ``Translator.from_checkpoint().translate([...])``.

    Args:
        model: a trained :class:`~transformer_tf.Transformer` or
            :class:`~transformer_tf.seq2seq.RNNTranslator` (``config.json``'s ``model`` says which).
        source_tokenizer, target_tokenizer: the :class:`SubwordTokenizer` it was trained with.
        max_tokens: longest sequence the model accepts (its positional-encoding length).
        shortlist: a :class:`~transformer_tf.shortlist.LexicalShortlist` for greedy decoding
            (:mod:`transformer_tf.fast_decode`), or None.
        exact: decode greedily over the whole vocabulary with every sentence kept to the
            end of its batch (:func:`greedy_decode`, the reference) instead of the fast path
            (:class:`~transformer_tf.fast_decode.FastGreedy`: the shortlist, finished
            sentences leaving the batch). Beam search is the same either way.
    """

    def __init__(self, model, source_tokenizer, target_tokenizer, max_tokens, shortlist=None, exact=False):
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.max_tokens = max_tokens
        self.shortlist = shortlist
        self.exact = exact
        self._decoders = {}  # beam size → compiled decoder
        self.checkpoint_dir = None  # the folder it was restored from (export never writes there)

    @classmethod
    def from_checkpoint(cls, checkpoint_dir="checkpoints/en_es", exact=False):
        """Rebuild the model from ``config.json`` and restore the newest training
        checkpoint's weights, or else the shipped weights-only checkpoint; a Transformer's
        ``shortlist.npz`` there (``transformer-tf shortlist``) is used unless ``exact``.

        Raises:
            TransformerTFError: no trained model there, or the checkpoint does not fill
                every weight of the model its config describes.
        """
        checkpoint_dir = Path(checkpoint_dir)
        config, model, source, target = restore_model(checkpoint_dir)
        shortlist = None
        if config.model == "transformer" and not exact:
            from transformer_tf.shortlist import LexicalShortlist

            shortlist = LexicalShortlist.load(checkpoint_dir, target.vocab_size)
        translator = cls(model, source, target, config.max_tokens, shortlist, exact)
        translator.checkpoint_dir = checkpoint_dir
        return translator

    def encode_sources(self, sentences):
        """Source ids per sentence, cut to ``max_tokens`` (START … END kept), with a warning."""
        encoded = self.source_tokenizer.encode(list(sentences))
        too_long = [i for i, ids in enumerate(encoded) if len(ids) > self.max_tokens]
        if too_long:
            warnings.warn(
                f"{len(too_long)} sentence(s) longer than the {self.max_tokens} tokens the model reads "
                f"(e.g. #{too_long[0] + 1}, {len(encoded[too_long[0]])} tokens): only the start is "
                f"translated.",
                stacklevel=2,
            )
        return [ids if len(ids) <= self.max_tokens else ids[: self.max_tokens - 1] + [END_ID] for ids in encoded]

    def _decoder(self, beam):
        if beam < 1:
            raise TransformerTFError(f"--beam {beam}: the beam size must be at least 1.")
        if beam == 1 and not self.exact:
            if "fast" not in self._decoders:
                from transformer_tf.fast_decode import FastGreedy

                self._decoders["fast"] = FastGreedy(self.model, self.max_tokens, self.shortlist)
            return self._decoders["fast"]
        if beam not in self._decoders:
            model, length = self.model, self.max_tokens
            fn = (
                (lambda inp: greedy_decode(model, inp, decode_length(inp, length)))
                if beam == 1
                else (lambda inp: beam_search_decode(model, inp, decode_length(inp, length), beam_size=beam))
            )
            self._decoders[beam] = tf.function(fn, input_signature=[tf.TensorSpec((None, None), tf.int64)])
        return self._decoders[beam]

    def generate(self, inp, beam=1):
        """Token ids in, token ids out: ``(batch, inp_len)`` int64 → ``(batch, steps)``
        generated ids (END included, 0 after it)."""
        return self._decoder(beam)(tf.convert_to_tensor(inp, tf.int64)).numpy()

    def translate(self, texts, batch_size=64, beam=1):
        """Translate English text: one string, or a list of strings.

        Each text may hold several sentences: it is split with :func:`split_sentences`,
        all sentences of all texts are translated as one batch, and each text's
        translations are joined with a space. ``beam=1`` is greedy decoding, ``beam > 1``
        beam search with that many beams. Empty (or blank) texts translate to ``""``
        without running the model.

        Returns:
            a Spanish string for a string, else a list of them in the same order.
        """
        if isinstance(texts, str):
            return self.translate([texts], batch_size, beam)[0]
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise TransformerTFError(f"--batch-size {batch_size!r}: give a whole number ≥ 1.")
        texts = [unicodedata.normalize("NFC", t) for t in texts]  # as the training corpus
        sentences = [split_sentences(t) for t in texts]
        flat = self.translate_sentences([s for group in sentences for s in group], batch_size, beam)
        results, start = [], 0
        for group in sentences:
            results.append(" ".join(flat[start : start + len(group)]))
            start += len(group)
        return results

    def translate_sentences(self, sentences, batch_size=64, beam=1):
        """Translate a list of single sentences (no splitting); Spanish strings in order."""
        self._decoder(beam)  # a bad beam size fails before any work
        results = [""] * len(sentences)
        todo = [i for i, s in enumerate(sentences) if s.strip()]
        ids = dict(zip(todo, self.encode_sources([sentences[i] for i in todo])))
        todo.sort(key=lambda i: len(ids[i]))  # similar lengths together: less padding
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            width = max(len(ids[i]) for i in chunk)
            inp = tf.constant([ids[i] + [PAD_ID] * (width - len(ids[i])) for i in chunk], tf.int64)
            for i, row in zip(chunk, self.generate(inp, beam)):
                results[i] = self.target_tokenizer.decode(row)
        return results


# A sentence end followed by more text: only then is pysbd worth its time.
_INNER_BOUNDARY = re.compile(r"[.!?…][\"'”’)\]]*\s+\S")


@functools.lru_cache(maxsize=1)
def _segmenter():
    import pysbd  # rule-based sentence boundary detection (abbreviations, decimals, ...)

    return pysbd.Segmenter(language="en", clean=False)


def split_sentences(text):
    """The sentences of an English text, with pysbd (``"Dr. Smith came. He left."`` →
    two sentences; ``"It costs $3.50."`` → one). A text without an inner sentence end is
    returned whole (the common case, and no pysbd call); blank text gives ``[]``.
    """
    text = text.strip()
    if not text:
        return []
    if not _INNER_BOUNDARY.search(text):
        return [text]
    return [s.strip() for s in _segmenter().segment(text) if s.strip()]


# The kinds of attention, named as in the models' attention dicts: the Transformer has the
# first three in each of its layers, the RNN (transformer_tf.seq2seq) one "cross" kind, one
# layer of one head: the tutorial's target × source heatmap.
KINDS = {  # kind → (key pattern in the model's attention dict, file-name pattern, rows, columns)
    "encoder": ("encoder_layer{i}_block", "encoder_layer{i}", "source", "source"),
    "decoder_block1": ("decoder_layer{i}_block1", "decoder_layer{i}_block1", "target", "target"),
    "decoder_block2": ("decoder_layer{i}_block2", "decoder_layer{i}_block2", "target", "source"),
    "cross": ("cross_attention", "cross_attention", "target", "source"),
}
KIND_TITLES = {
    "encoder": "encoder self-attention",
    "decoder_block1": "masked decoder self-attention",
    "decoder_block2": "encoder-decoder attention",
    "cross": "Bahdanau (additive) attention",
}


@dataclasses.dataclass
class SentenceAttention:
    """A sentence, its translation, and every attention matrix the model used for them.

    Attributes:
        source_pieces: subword labels of the encoder input, ``<start>`` … ``<end>``.
        target_pieces: labels of the decoder input, ``<start>`` then the generated
            pieces; row t is the query that predicted piece t+1 (the last predicted ``<end>``).
        translation: the decoded Spanish text.
        translation_pieces: the generated pieces, ``<end>`` included when produced (when the
            length limit stopped the translation first, its last piece is no decoder input).
        weights: the model's attention dict for this example, batch axis removed:
            ``(num_heads, queries, keys)`` arrays (the RNN's: one head).
        num_layers: layers per stack (the RNN: 1, its one attention).
        source_ids, target_ids: the ids behind the two label lists.
        sentence: the English text as given.
        warnings: what the model warned about while reading the sentence (e.g. that it was
            cut to the model's length), to show next to the pictures.
    """

    source_pieces: list
    target_pieces: list
    translation: str
    weights: dict
    num_layers: int
    source_ids: list
    target_ids: list
    sentence: str = ""
    translation_pieces: list = dataclasses.field(default_factory=list)
    warnings: list = dataclasses.field(default_factory=list)

    @property
    def kinds(self):
        """The kinds of :data:`KINDS` this model has, in that order (the RNN: ``["cross"]``)."""
        return [kind for kind, (key, *_) in KINDS.items() if key.format(i=1) in self.weights]

    def matrix(self, kind, layer):
        """``(num_heads, rows, columns)`` weights of one kind of attention in one layer (1-based)."""
        if kind not in self.kinds:
            raise ValueError(f"unknown kind {kind!r} for this model; it has {', '.join(self.kinds)}")
        if not 1 <= layer <= self.num_layers:
            raise ValueError(f"layer {layer} does not exist: the model has layers 1..{self.num_layers}")
        return self.weights[KINDS[kind][0].format(i=layer)]

    def labels(self, kind):
        """``(row_labels, column_labels)`` of a kind."""
        pieces = {"source": self.source_pieces, "target": self.target_pieces}
        return pieces[KINDS[kind][2]], pieces[KINDS[kind][3]]


def sentence_attention(translator, sentence):
    """Translate ``sentence`` greedily, then rerun the model on (source, decoder input)
    with ``return_attention=True`` and keep every attention matrix.

    Returns:
        :class:`SentenceAttention`.
    """
    if not sentence.strip():
        raise ValueError("the sentence is empty: give some English text to look at.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        source_ids = translator.encode_sources([sentence])[0]
    for warning in caught:  # still said on the terminal, and kept for the page
        warnings.warn(warning.message, warning.category, stacklevel=2)
    inp = tf.constant([source_ids], tf.int64)
    generated = [int(i) for i in translator.generate(inp)[0]]
    generated = generated[: generated.index(END_ID) + 1] if END_ID in generated else generated
    decoder_input = [START_ID] + generated[:-1]  # the tokens fed in; each row predicts the next one
    _, attention = translator.model(
        (inp, tf.constant([decoder_input], tf.int64)), training=False, return_attention=True
    )
    return SentenceAttention(
        source_pieces=translator.source_tokenizer.id_to_piece(source_ids),
        target_pieces=translator.target_tokenizer.id_to_piece(decoder_input),
        translation=translator.target_tokenizer.decode(generated),
        weights={name: w.numpy()[0] for name, w in attention.items()},
        num_layers=translator.model.hparams.get("num_layers", 1),  # the RNN has one attention
        source_ids=source_ids,
        target_ids=decoder_input,
        sentence=sentence,
        translation_pieces=translator.target_tokenizer.id_to_piece(generated),
        warnings=[str(warning.message) for warning in caught],
    )
