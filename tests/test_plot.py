"""Per-layer attention heatmaps of a trained translator (issue 4)."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from transformer_tf.attention_maps import sentence_attention
from transformer_tf.cli import main
from transformer_tf.plot import (
    plot_attention_overview,
    plot_attention_weights,
    plot_positional_encoding,
)
from transformer_tf.translate import Translator

SENTENCE = "He admired her as a great director."


@pytest.fixture(scope="module")
def attention(trained_dir):
    return Translator.from_checkpoint(trained_dir), sentence_attention(
        Translator.from_checkpoint(trained_dir), SENTENCE
    )


def test_plotted_values_are_exactly_the_models_attention(attention):
    translator, att = attention
    assert att.source_ids == translator.encode_sources([SENTENCE])[0]
    # the model rerun by hand on the same ids gives the same matrices
    _, weights = translator.model(
        (tf.constant([att.source_ids], tf.int64), tf.constant([att.target_ids], tf.int64)),
        return_attention=True,
    )
    assert len(att.target_pieces) == len(att.target_ids)
    figures = plot_attention_weights(att, layers=[1])
    for stem, key in (
        ("encoder_layer1", "encoder_layer1_block"),
        ("decoder_layer1_block1", "decoder_layer1_block1"),
        ("decoder_layer1_block2", "decoder_layer1_block2"),
    ):
        panels = [ax for ax in figures[stem].axes if ax.get_title().startswith("Head")]
        expected = weights[key].numpy()[0]
        assert len(panels) == expected.shape[0] == 4  # the tiny model has 4 heads
        for head, ax in enumerate(panels):
            np.testing.assert_allclose(
                ax.collections[0].get_array().reshape(expected.shape[1:]), expected[head], atol=1e-6
            )


def test_cross_attention_panels_are_target_by_source_with_piece_labels(attention):
    _, att = attention
    panel = next(
        ax
        for ax in plot_attention_weights(att, ["decoder_block2"])["decoder_layer1_block2"].axes
        if ax.get_title() == "Head 1"
    )
    assert [t.get_text() for t in panel.get_xticklabels()] == att.source_pieces
    assert [t.get_text() for t in panel.get_yticklabels()] == att.target_pieces
    assert att.source_pieces[0] == "<start>" and att.source_pieces[-1] == "<end>"
    assert att.target_pieces[0] == "<start>"
    assert att.matrix("decoder_block2", 1).shape[1:] == (len(att.target_pieces), len(att.source_pieces))


def test_overview_has_layers_as_rows_and_heads_as_columns(attention):
    _, att = attention
    fig = plot_attention_overview(att, "encoder")
    assert len(fig.axes) == att.num_layers * 4
    assert [ax.get_title() for ax in fig.axes[:4]] == ["Head 1", "Head 2", "Head 3", "Head 4"]
    np.testing.assert_array_equal(fig.axes[2].images[0].get_array(), att.matrix("encoder", 1)[2])


def test_unknown_layer_and_kind_are_refused(attention):
    _, att = attention
    with pytest.raises(ValueError, match="layers 1..1"):
        att.matrix("encoder", 2)
    with pytest.raises(ValueError, match="unknown kind"):
        att.matrix("decoder", 1)


@pytest.mark.slow
def test_cli_writes_non_blank_pngs_for_the_chosen_kinds(trained_dir, tmp_path, capsys):
    out = tmp_path / "att"
    assert (
        main(
            [
                "plot-attention",
                SENTENCE,
                "--out",
                str(out),
                "--checkpoint-dir",
                str(trained_dir),
                "--kind",
                "decoder_block2",
                "--layers",
                "1",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "attention.html",
        "decoder_layer1_block2.png",
        "overview_decoder_block2.png",
    ]
    for png in out.glob("*.png"):
        pixels = np.asarray(Image.open(png).convert("L"), dtype=float)
        assert pixels.shape[1] > 300 and pixels.std() > 20, png.name
    assert "→" in capsys.readouterr().out


def test_cli_errors_exit_2(trained_dir, tmp_path, capsys):
    base = ["--out", str(tmp_path / "x"), "--checkpoint-dir", str(trained_dir)]
    assert main(["plot-attention", "  ", *base]) == 2
    assert main(["plot-attention", "\u2060\u200b", *base]) == 2  # invisible only: a made-up translation
    assert main(["plot-attention", SENTENCE, "--layers", "3", *base]) == 2
    assert main(["plot-attention", SENTENCE, "--layers", "one", *base]) == 2
    assert main(["plot-attention", SENTENCE, "--out", str(tmp_path), "--checkpoint-dir", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert "empty" in err and "layers 1..1" in err and "layer numbers" in err and "train a model first" in err
    assert err.count("the sentence is empty: give some English text to look at.") == 2 and "Traceback" not in err
    assert not (tmp_path / "x").exists()  # nothing written on a refused request


def test_the_positional_encoding_picture_is_the_encoding_and_its_curves():
    from transformer_tf import positional_encoding

    encoding = positional_encoding(50, 512)
    heat, curves = plot_positional_encoding(encoding, dims=(0, 1, 128, 600)).axes[:2]
    np.testing.assert_array_equal(heat.collections[0].get_array().reshape(50, 512), encoding[0])
    assert [line.get_label() for line in curves.lines] == ["dim 0 (sin)", "dim 1 (cos)", "dim 128 (sin)"]  # 600 > depth
    np.testing.assert_allclose(curves.lines[1].get_ydata(), np.cos(np.arange(50)), atol=1e-6)  # dim 1: cos(pos)


@pytest.mark.parametrize("heads, seq_q, seq_k", [(8, 9, 10), (8, 21, 24), (1, 9, 10)])
def test_figure_title_and_axis_labels_overlap_no_panel_text(heads, seq_q, seq_k):
    """A long sentence's figure once drew its title over the heads' titles and its y label over
    the tick labels (tight_layout leaves no room for either)."""
    from transformer_tf.plot import plot_attention_heads

    rng = np.random.default_rng(0)
    weights = rng.dirichlet(np.ones(seq_k), size=(heads, seq_q))  # (heads, seq_q, seq_k), rows sum to 1
    pieces = [f"▁piece{i}" for i in range(max(seq_q, seq_k))]
    fig = plot_attention_heads(weights, pieces[:seq_k], pieces[:seq_q], title="Layer 4: " + " ".join(pieces))
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()
    panel_text = [t for ax in fig.axes for t in [ax.title, *ax.get_xticklabels(), *ax.get_yticklabels()]]
    assert len(fig.texts) == 3  # the title, the x label and the y label of the figure
    for label in fig.texts:
        box = label.get_window_extent(renderer)
        assert not [t.get_text() for t in panel_text if box.overlaps(t.get_window_extent(renderer))]
