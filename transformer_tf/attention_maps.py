"""The attention a translator paid to one sentence: every matrix of every layer, head and kind,
with the subword labels of its rows and columns (:func:`sentence_attention`). What the plots
(:mod:`transformer_tf.plot`) and the attention page (:mod:`transformer_tf.explorer`) draw.
"""

import dataclasses
import warnings

import tensorflow as tf

from transformer_tf.config import ATTENTION_KINDS
from transformer_tf.pictographs import ONLY_PICTOGRAPHS, take_out
from transformer_tf.sentence_translator import cut_message, cuts_recorded
from transformer_tf.sentences import is_blank
from transformer_tf.tokenizer import END_ID, START_ID

# The kinds of attention, named as in the models' attention dicts: the Transformer has the
# first three in each of its layers, the RNN (transformer_tf.seq2seq) one "cross" kind, one
# layer of one head: the tutorial's target × source heatmap.
# kind (transformer_tf.config.ATTENTION_KINDS, in that order) →
# (key pattern in the model's attention dict, file-name pattern, rows, columns)
KINDS = dict(
    zip(
        ATTENTION_KINDS,
        (
            ("encoder_layer{i}_block", "encoder_layer{i}", "source", "source"),
            ("decoder_layer{i}_block1", "decoder_layer{i}_block1", "target", "target"),
            ("decoder_layer{i}_block2", "decoder_layer{i}_block2", "target", "source"),
            ("cross_attention", "cross_attention", "target", "source"),
        ),
        strict=True,
    )
)
KIND_TITLES = dict(
    zip(
        ATTENTION_KINDS,
        (
            "encoder self-attention",
            "masked decoder self-attention",
            "encoder-decoder attention",
            "Bahdanau (additive) attention",
        ),
        strict=True,
    )
)


@dataclasses.dataclass
class SentenceAttention:
    """A sentence, its translation, and every attention matrix the model used for them.

    Attributes:
        source_pieces: subword labels of the encoder input, ``<start>`` … ``<end>`` (the sentence
            without its emoji: :mod:`transformer_tf.pictographs`).
        target_pieces: labels of the decoder input, ``<start>`` then the generated
            pieces; row t is the query that predicted piece t+1 (the last predicted ``<end>``).
        translation: the decoded Spanish text (the model's: the sentence's emoji are not put back).
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


def attention_pass(model):
    """``model((source, decoder_input), training=False, return_attention=True)`` for one sentence as a
    compiled graph (``tf.function``, one trace for every length): ``(source, decoder_input)``, each
    ``(1, length)`` int64 → ``(logits (1, target_length, vocabulary), {name: (1, heads, queries, keys)})``.

    For a process that looks at many sentences (``transformer-tf serve``): run eagerly, the shipped
    Transformer's pass is ~140 Keras layer calls and ~375 ops, and a request took 186 ms for a
    7-word sentence; compiled, 45 ms (``bench/explorer_page.py``). The first call traces it (1-2 s),
    so a single picture (``plot-attention``) keeps the eager pass.
    """
    ids = tf.TensorSpec([1, None], tf.int64)

    @tf.function(input_signature=[ids, ids])
    def forward(source, decoder_input):
        return model((source, decoder_input), training=False, return_attention=True)

    return forward


def attention_refusal(sentence):
    """Why ``sentence`` has no attention to show, as a message that names the fix, or None: it is blank
    (white space and invisible characters alike: a model would make a translation up), or only emoji
    (the model reads nothing of it: :mod:`transformer_tf.pictographs`). ``plot-attention`` asks before
    it loads a model; :func:`sentence_attention` raises it as a ValueError."""
    if is_blank(sentence):
        return "the sentence is empty: give some English text to look at."
    if not take_out(sentence).text:
        return ONLY_PICTOGRAPHS
    return None


def sentence_attention(translator, sentence, forward=None, warn=True):
    """Translate ``sentence`` greedily, then rerun the model on (source, decoder input)
    with ``return_attention=True`` and keep every attention matrix. The model reads the sentence
    as the translators' first passes give it on (the translator's ``rewritten``: "WHERE ARE YOU?" as
    "Where are you?"), without its emoji (:mod:`transformer_tf.pictographs`),
    and the result is all the model's: the pieces it read and wrote, its translation (the emoji are
    not put back); a sentence of only emoji is a ValueError. ``forward``: the model's pass
    as :func:`attention_pass` makes it (None: the model called eagerly). ``warn``: a sentence cut to
    the model's length is said with ``warnings.warn`` as well as in the result's ``warnings`` (False:
    only there; a server's answer says it).

    Returns:
        :class:`SentenceAttention`.
    """
    problem = attention_refusal(sentence)
    if problem:
        raise ValueError(problem)
    with cuts_recorded() as cuts:  # not warnings.catch_warnings: a server runs this on several threads
        source_ids = translator.encode_sources([take_out(translator.rewritten(sentence)).text])[0]
    said = [cut_message("the sentence", sentence, tokens, translator.max_tokens) for tokens in cuts.values()]
    for message in said if warn else ():  # on the terminal too, and kept for the page
        warnings.warn(message, stacklevel=2)
    inp = tf.constant([source_ids], tf.int64)
    generated = [int(i) for i in translator.generate(inp)[0]]
    generated = generated[: generated.index(END_ID) + 1] if END_ID in generated else generated
    decoder_input = [START_ID] + generated[:-1]  # the tokens fed in; each row predicts the next one
    decoder_inp = tf.constant([decoder_input], tf.int64)
    if forward is None:
        _, attention = translator.model((inp, decoder_inp), training=False, return_attention=True)
    else:
        _, attention = forward(inp, decoder_inp)
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
        warnings=said,
    )
