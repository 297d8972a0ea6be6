"""Attention heatmaps: one panel a head, as in the articles' figures.

For a trained translator and a sentence of your own:

    translator = Translator.from_checkpoint()
    attention = sentence_attention(translator, "He admired her as a great director.")
    figures = plot_attention_weights(attention)            # {"encoder_layer1": Figure, ...}
    overview = plot_attention_overview(attention, "decoder_block2")

Three kinds of attention, named as in the model's attention dict:

- ``encoder`` (``encoder_layer{i}_block``): source × source self-attention;
- ``decoder_block1`` (``decoder_layer{i}_block1``): masked target × target self-attention;
- ``decoder_block2`` (``decoder_layer{i}_block2``): target × source, encoder-decoder attention.
"""

import dataclasses
import math
import warnings

import matplotlib.pyplot as plt  # the backend is the caller's: the CLI picks Agg, Jupyter its inline one
import numpy as np
import seaborn as sns

# One palette per head, as in the blog's figures (cycled for more than eight heads).
HEAD_PALETTES = ("viridis", "magma", "cividis", "rocket", "mako", "crest", "flare", "Blues")


def plot_attention_heads(attention, x_labels=None, y_labels=None, title=None, ncols=4):
    """Draw every head's attention matrix as a seaborn heatmap.

    Args:
        attention: ``(num_heads, seq_q, seq_k)`` array-like, the weights of one example
            (e.g. ``weights[0]`` of a :class:`~transformer_tf.MultiHeadAttention` output).
        x_labels: ``seq_k`` tick labels for the attended-to positions (keys), or None.
        y_labels: ``seq_q`` tick labels for the attending positions (queries), or None.
        title: figure title.
        ncols: panels per row (4 gives the blog's 2×4 grid for 8 heads).

    Returns:
        ``matplotlib.figure.Figure`` with one axis per head, titled "Head n" (1-based).
        The plotted values are exactly ``attention``; nothing is renormalised.
    """
    attention = np.asarray(attention)
    if attention.ndim != 3:
        raise ValueError(f"attention must be (num_heads, seq_q, seq_k), got shape {attention.shape}")
    num_heads, seq_q, seq_k = attention.shape
    nrows = math.ceil(num_heads / ncols)
    cell = 0.35  # inches per matrix cell, so long sentences stay readable
    fig, axes = plt.subplots(
        nrows,
        ncols,
        squeeze=False,
        figsize=(max(3.0, 1.0 + cell * seq_k) * ncols, max(2.5, 1.0 + cell * seq_q) * nrows),
    )
    for head, ax in enumerate(axes.flat):
        if head >= num_heads:
            ax.axis("off")
            continue
        sns.heatmap(
            attention[head],
            ax=ax,
            cmap=HEAD_PALETTES[head % len(HEAD_PALETTES)],
            vmin=0.0,
            vmax=1.0,
            square=seq_q == seq_k,
            cbar=False,
            xticklabels=x_labels if x_labels is not None else "auto",
            yticklabels=y_labels if y_labels is not None else "auto",
        )
        ax.set_title(f"Head {head + 1}")
        ax.tick_params(axis="x", labelrotation=90)
        ax.tick_params(axis="y", labelrotation=0)
    fig.supxlabel("keys: positions attended to")
    fig.supylabel("queries: attending positions")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


KINDS = {  # kind → (key pattern in the model's attention dict, file-name pattern, rows, columns)
    "encoder": ("encoder_layer{i}_block", "encoder_layer{i}", "source", "source"),
    "decoder_block1": ("decoder_layer{i}_block1", "decoder_layer{i}_block1", "target", "target"),
    "decoder_block2": ("decoder_layer{i}_block2", "decoder_layer{i}_block2", "target", "source"),
}
KIND_TITLES = {
    "encoder": "encoder self-attention",
    "decoder_block1": "masked decoder self-attention",
    "decoder_block2": "encoder-decoder attention",
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
            ``(num_heads, queries, keys)`` arrays.
        num_layers: layers per stack.
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

    def matrix(self, kind, layer):
        """``(num_heads, rows, columns)`` weights of one kind of attention in one layer (1-based)."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
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
    import tensorflow as tf

    from transformer_tf.tokenizer import END_ID, START_ID

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
        num_layers=translator.model.hparams["num_layers"],
        source_ids=source_ids,
        target_ids=decoder_input,
        sentence=sentence,
        translation_pieces=translator.target_tokenizer.id_to_piece(generated),
        warnings=[str(warning.message) for warning in caught],
    )


def plot_attention_weights(attention, kinds=tuple(KINDS), layers=None):
    """One 2×4 figure (a panel a head) per layer per kind.

    Args:
        attention: a :class:`SentenceAttention`.
        kinds: which of ``encoder``, ``decoder_block1``, ``decoder_block2``.
        layers: 1-based layer numbers (default: all).

    Returns:
        ``{file_stem: Figure}``, e.g. ``{"encoder_layer1": …, "decoder_layer4_block2": …}``.
    """
    layers = layers or range(1, attention.num_layers + 1)
    figures = {}
    for kind in kinds:
        rows, columns = attention.labels(kind)
        for layer in layers:
            title = (
                f'Layer {layer}, {KIND_TITLES[kind]}: "{" ".join(attention.source_pieces[1:-1])}" → '
                f'"{attention.translation}"'
            )
            figures[KINDS[kind][1].format(i=layer)] = plot_attention_heads(
                attention.matrix(kind, layer), x_labels=columns, y_labels=rows, title=title
            )
    return figures


def plot_attention_overview(attention, kind, layers=None):
    """Every layer (rows) × every head (columns) of one kind, in one figure.

    Returns:
        ``matplotlib.figure.Figure``; panel (layer l, head h) shows ``attention.matrix(kind, l)[h]``.
    """
    layers = list(layers or range(1, attention.num_layers + 1))
    num_heads = attention.matrix(kind, layers[0]).shape[0]
    fig, axes = plt.subplots(len(layers), num_heads, squeeze=False, figsize=(1.9 * num_heads, 1.9 * len(layers) + 0.8))
    for r, layer in enumerate(layers):
        weights = attention.matrix(kind, layer)
        for head in range(num_heads):
            ax = axes[r, head]
            ax.imshow(weights[head], cmap=HEAD_PALETTES[head % len(HEAD_PALETTES)], vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"Head {head + 1}")
            if head == 0:
                ax.set_ylabel(f"Layer {layer}")
    fig.suptitle(f'{KIND_TITLES[kind]}, all layers × heads: "{attention.translation}"')
    fig.tight_layout()
    return fig
