"""Attention heatmaps: one panel a head, as in the articles' figures.

For a trained translator and a sentence of your own:

    translator = Translator.from_checkpoint()
    attention = sentence_attention(translator, "He admired her as a great director.")
    figures = plot_attention_weights(attention)            # {"encoder_layer1": Figure, ...}
    overview = plot_attention_overview(attention, "decoder_block2")

and the positional encoding the Transformer adds to its embeddings (the RNN needs none: its
recurrence reads the tokens in order), :func:`plot_positional_encoding`.

The Transformer's three kinds of attention, named as in the model's attention dict:

- ``encoder`` (``encoder_layer{i}_block``): source × source self-attention;
- ``decoder_block1`` (``decoder_layer{i}_block1``): masked target × target self-attention;
- ``decoder_block2`` (``decoder_layer{i}_block2``): target × source, encoder-decoder attention;

and the RNN's (:mod:`transformer_tf.seq2seq`) one, ``cross`` (``cross_attention``): target ×
source Bahdanau attention, one layer of one head, the tutorial's single heatmap.
:func:`~transformer_tf.attention_maps.sentence_attention` (which reads them off a translator) lives
in :mod:`transformer_tf.attention_maps`.
"""

import math

import matplotlib.pyplot as plt  # the backend is the caller's: the CLI picks Agg, Jupyter its inline one
import numpy as np
import seaborn  # noqa: F401  (registers its colormaps with matplotlib: rocket, mako, crest, flare)

from transformer_tf.attention_maps import KIND_TITLES, KINDS

# One palette per head, as in the blog's figures (cycled for more than eight heads).
HEAD_PALETTES = ("viridis", "magma", "cividis", "rocket", "mako", "crest", "flare", "Blues")


def plot_attention_heads(attention, x_labels=None, y_labels=None, title=None, ncols=4):
    """Draw every head's attention matrix as a heatmap (seaborn's look, :func:`_heatmap`).

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
    ncols = min(ncols, num_heads)  # one head (the RNN's attention): one panel, no empty ones
    nrows = math.ceil(num_heads / ncols)
    cell = 0.35  # inches per matrix cell, so long sentences stay readable
    fig, axes = plt.subplots(
        nrows,
        ncols,
        squeeze=False,
        figsize=(max(3.0, 1.0 + cell * seq_k) * ncols, max(2.5, 1.0 + cell * seq_q) * nrows),
        layout="constrained",  # unlike tight_layout, leaves room for the figure's title and axis labels
    )
    for head, ax in enumerate(axes.flat):
        if head >= num_heads:
            ax.axis("off")
            continue
        _heatmap(ax, attention[head], HEAD_PALETTES[head % len(HEAD_PALETTES)], x_labels, y_labels)
        ax.set_title(f"Head {head + 1}")
    fig.supxlabel("keys: positions attended to")
    fig.supylabel("queries: attending positions")
    if title:
        fig.suptitle(title, wrap=True)  # wrapped to the figure: one panel (the RNN's) is narrow
    return fig


def _heatmap(ax, matrix, cmap, x_labels=None, y_labels=None):
    """``matrix`` (rows × columns, values in [0, 1]) on ``ax`` as seaborn's heatmap draws it: one cell a
    weight (``pcolormesh``), row 0 at the top, no spines, square cells for a square matrix, a tick
    label at each cell's centre (column labels upright). Not ``seaborn.heatmap`` itself: it draws the
    whole figure once per panel to see whether tick labels overlap (seaborn issue #1333), so a figure
    of 8 heads drew 36 panels, and ``plot-attention`` spent 53 of its 57 s of plotting there."""
    rows, columns = matrix.shape
    ax.pcolormesh(matrix, cmap=cmap, vmin=0.0, vmax=1.0)
    ax.set_xlim(0, columns)
    ax.set_ylim(rows, 0)  # row 0 at the top, as a matrix is read
    if rows == columns:
        ax.set_aspect("equal")
    for spine in ax.spines.values():
        spine.set_visible(False)
    for axis, labels, count, rotation in ((ax.xaxis, x_labels, columns, 90), (ax.yaxis, y_labels, rows, 0)):
        axis.set_ticks(np.arange(count) + 0.5)
        axis.set_ticklabels(list(labels) if labels is not None else range(count), rotation=rotation)


def plot_attention_weights(attention, kinds=None, layers=None):
    """One 2×4 figure (a panel a head) per layer per kind.

    Args:
        attention: a :class:`~transformer_tf.attention_maps.SentenceAttention`.
        kinds: which of ``encoder``, ``decoder_block1``, ``decoder_block2`` (the RNN: ``cross``);
            default: all the model has.
        layers: 1-based layer numbers (default: all).

    Returns:
        ``{file_stem: Figure}``, e.g. ``{"encoder_layer1": …, "decoder_layer4_block2": …}``
        (the RNN: ``{"cross_attention": …}``).
    """
    layers = layers or range(1, attention.num_layers + 1)
    figures = {}
    for kind in kinds or attention.kinds:
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
    fig.suptitle(f'{KIND_TITLES[kind]}, all layers × heads: "{attention.translation}"', wrap=True)
    fig.tight_layout()
    return fig


def plot_positional_encoding(encoding, dims=(0, 1, 64, 128, 256)):
    """The tutorial's picture of the sinusoidal positional encoding: a positions × depth
    heatmap, and a few of its dimensions as curves over the positions.

    ``PE(pos, 2i) = sin(pos / 10000^(2i/d_model))``, ``PE(pos, 2i+1) = cos(…)``: each pair of
    dimensions is a sinusoid whose wavelength grows geometrically with the depth, from 2π
    (dimensions 0, 1) to 10000·2π, so every position gets a distinct pattern.

    Args:
        encoding: ``(1, position, d_model)`` or ``(position, d_model)``, e.g.
            :func:`transformer_tf.positional_encoding` ``(50, 512)``.
        dims: the dimensions drawn as curves (those beyond ``d_model`` are skipped).

    Returns:
        ``matplotlib.figure.Figure`` with two axes: the heatmap (rows: positions, columns:
        depth, values exactly ``encoding``) and the curves (one line per dimension).
    """
    encoding = np.asarray(encoding)
    encoding = encoding[0] if encoding.ndim == 3 else encoding
    positions, depth = encoding.shape
    fig, (heat, curves) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": (3, 2)})
    mesh = heat.pcolormesh(encoding, cmap="RdBu", vmin=-1, vmax=1)
    heat.set_xlabel("depth (dimension)")
    heat.set_ylabel("position")
    heat.set_xlim(0, depth)
    heat.set_ylim(positions, 0)  # position 0 at the top, as a matrix is read
    heat.set_title(f"positional encoding, {positions} positions × {depth} dimensions")
    fig.colorbar(mesh, ax=heat)
    for dim in (d for d in dims if d < depth):
        wave = "sin" if dim % 2 == 0 else "cos"
        curves.plot(np.arange(positions), encoding[:, dim], label=f"dim {dim} ({wave})")
    curves.set_xlabel("position")
    curves.set_ylabel("PE(position, dim)")
    curves.set_title("a few dimensions: longer wavelengths deeper in")
    curves.legend(loc="lower left", fontsize="small")
    fig.tight_layout()
    return fig
