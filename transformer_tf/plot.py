"""Attention heatmaps: one panel a head, as in the articles' figures."""

import math

import matplotlib

matplotlib.use("Agg")  # files, not windows: works on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

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
        nrows, ncols, squeeze=False,
        figsize=(max(3.0, 1.0 + cell * seq_k) * ncols, max(2.5, 1.0 + cell * seq_q) * nrows),
    )
    for head, ax in enumerate(axes.flat):
        if head >= num_heads:
            ax.axis("off")
            continue
        sns.heatmap(
            attention[head], ax=ax, cmap=HEAD_PALETTES[head % len(HEAD_PALETTES)],
            vmin=0.0, vmax=1.0, square=seq_q == seq_k, cbar=False,
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
