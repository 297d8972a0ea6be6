"""The multi-head attention article's worked example, runnable: ``transformer-tf demo``.

1. A "sentence" of 9 tokens, each a 512-dim vector: the sequential integers
   1..4608 reshaped to ``(1, 9, 512)``, so every column is easy to recognise.
2. ``split_heads`` cuts it into 8 heads of 64 columns: ``(1, 8, 9, 64)``; head 0
   holds columns 0..63, and ``combine_heads`` puts it back exactly.
3. Multi-head self-attention keeps the shape ``(1, 9, 512)``; its weights are one
   9×9 matrix per head, ``(1, 8, 9, 9)``, each row a probability distribution.
4. Cross-attention: 12 target tokens (queries) over the 9 source tokens
   (keys/values) gives weights ``(1, 8, 12, 9)``.
5. The padding and look-ahead masks.
6. The positional encoding the Transformer adds to its embeddings (an RNN reads the
   tokens in order and needs none): ``(1, 50, 512)``; with ``--out`` drawn as the tutorial
   draws it, ``positional_encoding.png``.
"""

import os

import numpy as np
import tensorflow as tf

import cli_common
from transformer_tf.attention import MultiHeadAttention
from transformer_tf.errors import TransformerTFError
from transformer_tf.layers import positional_encoding
from transformer_tf.masks import create_look_ahead_mask, create_padding_mask

SEQ_LEN, D_MODEL, NUM_HEADS, TARGET_LEN = 9, 512, 8, 12
PE_POSITIONS = 50  # the tutorial's plot: 50 positions × 512 dimensions


def sequential_sample(seq_len=SEQ_LEN, d_model=D_MODEL):
    """The article's sample tensor: integers 1..seq_len·d_model as ``(1, seq_len, d_model)`` float32."""
    return tf.reshape(tf.range(1, seq_len * d_model + 1, dtype=tf.float32), (1, seq_len, d_model))


def run_demo(out_dir=None, seed=0):
    """Print the worked example step by step; with ``out_dir``, also save heatmaps.

    Returns:
        dict of the shapes seen at every step (what the tests check).

    Raises:
        TransformerTFError: ``seed`` outside 0 .. 2**32 - 1 (what the seeding accepts).
    """
    problem = cli_common.seed_problem(seed, "seed")
    if problem:
        raise TransformerTFError(problem + ".")
    if out_dir:  # before the example prints: a wrong --out is named first
        _make_folder(out_dir)
    tf.keras.utils.set_random_seed(seed)
    mha = MultiHeadAttention(d_model=D_MODEL, num_heads=NUM_HEADS)
    shapes = {}

    x = sequential_sample()
    heads = mha.split_heads(x, batch_size=1)
    back = mha.combine_heads(heads, batch_size=1)
    shapes["sample"], shapes["split_heads"] = tuple(x.shape), tuple(heads.shape)
    print(f"1. sample sentence x = 1..{SEQ_LEN * D_MODEL} reshaped: {tuple(x.shape)}  (batch, seq_len, d_model)")
    print(f"2. split_heads(x): {tuple(heads.shape)}  (batch, num_heads, seq_len, depth = {D_MODEL}/{NUM_HEADS})")
    print(
        f"   head 0, token 0 starts {heads[0, 0, 0, :4].numpy()} ... ends {heads[0, 0, 0, -1].numpy()}"
        f"  (= x[0, 0, 0:64])"
    )
    print(f"   head 1, token 0 starts {heads[0, 1, 0, :4].numpy()}  (= x[0, 0, 64:128])")
    print(f"   combine_heads(split_heads(x)) == x: {bool(tf.reduce_all(back == x))}")

    # Attention on raw integers would saturate the softmax; a unit-variance random
    # "embedding" shows the weights the way a trained model's inputs would.
    sentence = tf.random.normal((1, SEQ_LEN, D_MODEL))
    out, self_weights = mha(sentence, sentence, sentence)
    shapes["self_output"], shapes["self_weights"] = tuple(out.shape), tuple(self_weights.shape)
    print(
        f"3. self-attention on a random (1, {SEQ_LEN}, {D_MODEL}) sentence: output {tuple(out.shape)}, "
        f"weights {tuple(self_weights.shape)}  (batch, num_heads, seq_q, seq_k)"
    )
    print("   head 0, softmax(QKᵀ/√d_k), rows sum to 1:")
    with np.printoptions(precision=2, suppress=True, linewidth=120):
        print("   " + str(self_weights[0, 0].numpy()).replace("\n", "\n   "))

    target = tf.random.normal((1, TARGET_LEN, D_MODEL))
    cross_out, cross_weights = mha(sentence, sentence, target)  # v, k from source; q from target
    shapes["cross_output"], shapes["cross_weights"] = tuple(cross_out.shape), tuple(cross_weights.shape)
    print(
        f"4. cross-attention, {TARGET_LEN} target queries over {SEQ_LEN} source keys: output "
        f"{tuple(cross_out.shape)}, weights {tuple(cross_weights.shape)}"
    )

    ids = tf.constant([[7, 6, 0, 0, 1], [1, 2, 3, 0, 0]])
    print(
        f"5. padding mask of {ids.numpy().tolist()} (1 = masked): "
        f"{create_padding_mask(ids)[:, 0, 0, :].numpy().astype(int).tolist()}  shape (batch, 1, 1, seq_len)"
    )
    print("   look-ahead mask (4, 4), 1 = future position, masked:")
    print("   " + str(create_look_ahead_mask(4).numpy().astype(int)).replace("\n", "\n   "))

    encoding = positional_encoding(PE_POSITIONS, D_MODEL)
    shapes["positional_encoding"] = tuple(encoding.shape)
    print(
        f"6. positional encoding of {PE_POSITIONS} positions: {tuple(encoding.shape)}  (1, position, d_model); "
        f"PE(pos, 2i) = sin(pos / 10000^(2i/{D_MODEL})), PE(pos, 2i+1) = cos(...)"
    )

    if out_dir:
        _save_heatmaps(out_dir, self_weights, cross_weights, encoding)
    return shapes


def _make_folder(out_dir):
    """Create ``out_dir`` for the heatmaps (it may exist); a file in its place is the user's to fix."""
    try:
        os.makedirs(out_dir, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as err:
        raise TransformerTFError(
            f"cannot make the folder {out_dir} for the heatmap PNGs: {err.strerror} ({err.filename}); "
            f"give a folder, new or existing (--out DIR)."
        ) from None


def _save_heatmaps(out_dir, self_weights, cross_weights, encoding):
    from transformer_tf.plot import plot_attention_heads, plot_positional_encoding  # matplotlib only when asked

    src = [f"s{i}" for i in range(SEQ_LEN)]
    tgt = [f"t{i}" for i in range(TARGET_LEN)]
    figures = {
        "self_attention_heads.png": plot_attention_heads(
            self_weights[0], src, src, title="Self-attention, 9 tokens, 8 heads (untrained weights)"
        ),
        "cross_attention_heads.png": plot_attention_heads(
            cross_weights[0], src, tgt, title="Cross-attention, 12 target queries × 9 source keys"
        ),
        "positional_encoding.png": plot_positional_encoding(encoding),
    }
    for name, fig in figures.items():
        path = os.path.join(out_dir, name)
        fig.savefig(path, dpi=100)
        print(f"   wrote {path}")
