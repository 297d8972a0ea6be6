# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Multi-head attention, step by step
#
# Companion to the article on **multi-head attention** (the TensorFlow Transformer tutorial's
# `split_heads`). Everything here calls `transformer_tf`:
# `MultiHeadAttention`, `scaled_dot_product_attention`, the article's sample tensor from
# `transformer_tf.demo`, and, at the end, the shipped English→Spanish translator
# (`checkpoints/en_es/`) with the heatmap functions of `transformer_tf.plot`.
#
# Run top to bottom. `QUICK = True` (what the test suite uses) draws fewer heatmaps.

# %% tags=["parameters"]
QUICK = False

# %%
from pathlib import Path

REPO = Path.cwd().resolve().parent  # the working directory is notebooks/ (Jupyter's default)
import numpy as np
import tensorflow as tf

from transformer_tf import (
    MultiHeadAttention,
    Translator,
    positional_encoding,
    scaled_dot_product_attention,
    sentence_attention,
    seq2seq,
)
from transformer_tf.demo import D_MODEL, NUM_HEADS, PE_POSITIONS, SEQ_LEN, TARGET_LEN, sequential_sample
from transformer_tf.explorer import show_attention
from transformer_tf.plot import (
    plot_attention_heads,
    plot_attention_overview,
    plot_attention_weights,
    plot_positional_encoding,
)

tf.keras.utils.set_random_seed(0)
np.set_printoptions(precision=2, suppress=True, linewidth=120)

# %% [markdown]
# ## 1. A sentence of 9 tokens, each a 512-dimensional vector
#
# The article's sample: the integers 1 … 4,608 reshaped to `(batch, seq_len, d_model) = (1, 9, 512)`,
# so that every column can be recognised after the reshapes.

# %%
x = sequential_sample()
print(x.shape)
x[0, :, :4].numpy()

# %% [markdown]
# ## 2. `split_heads`: 8 heads of depth 512 / 8 = 64
#
# `(1, 9, 512)` → reshape `(1, 9, 8, 64)` → transpose `(1, 8, 9, 64)`: head *i* owns columns
# `64·i … 64·i + 63` of every token. `combine_heads` undoes it exactly.

# %%
mha = MultiHeadAttention(d_model=D_MODEL, num_heads=NUM_HEADS)
heads = mha.split_heads(x, batch_size=1)
print("split:", heads.shape, " (batch, num_heads, seq_len, depth)")
print("head 0, token 0:", heads[0, 0, 0, :4].numpy(), "…", heads[0, 0, 0, -1].numpy())
print("head 1, token 0:", heads[0, 1, 0, :4].numpy(), "…  = x[0, 0, 64:128]")
print("head 7, token 8:", heads[0, 7, 8, -4:].numpy(), " = the last columns of the last token")
print("combine_heads(split_heads(x)) == x:", bool(tf.reduce_all(mha.combine_heads(heads, 1) == x)))

# %% [markdown]
# ## 3. Scaled dot-product attention of one head, step by step
#
# Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V. The raw integers would saturate the softmax
# (every score would be enormous), so, as a trained model's inputs would be, the sentence is a
# unit-variance random tensor. Q, K and V are the layer's projections `wq`, `wk`, `wv` of it,
# split into heads; we follow head 0.

# %%
sentence = tf.random.normal((1, SEQ_LEN, D_MODEL))
# the first call builds W^Q, W^K, W^V, W^O; now look inside
output, self_weights = mha(sentence, sentence, sentence)
q = mha.split_heads(mha.wq(sentence), 1)[0, 0]  # (9, 64): head 0's queries
k = mha.split_heads(mha.wk(sentence), 1)[0, 0]  # (9, 64)
v = mha.split_heads(mha.wv(sentence), 1)[0, 0]  # (9, 64)

scores = tf.matmul(q, k, transpose_b=True)  # (9, 9): query i · key j
scaled = scores / tf.math.sqrt(64.0)  # ÷ √d_k keeps the softmax out of saturation
weights = tf.nn.softmax(scaled, axis=-1)  # each row sums to 1
head_output = tf.matmul(weights, v)  # (9, 64)
print("scores std", float(tf.math.reduce_std(scores)), "→ scaled std", float(tf.math.reduce_std(scaled)))
print("row sums:", tf.reduce_sum(weights, axis=-1).numpy())

package_output, package_weights = scaled_dot_product_attention(q, k, v)
print(
    "same as scaled_dot_product_attention:",
    np.allclose(package_output, head_output, atol=1e-5),
    np.allclose(package_weights, weights, atol=1e-6),
)
weights.numpy()

# %% [markdown]
# The 9×9 heat map of that head: row *i* is how much token *i* attends to each token *j*.

# %%
tokens = [f"x{i}" for i in range(SEQ_LEN)]
_ = plot_attention_heads(
    weights[tf.newaxis], tokens, tokens, title="Head 0, self-attention (untrained weights)", ncols=1
)

# %% [markdown]
# The whole layer does this for the 8 heads at once, concatenates the heads' outputs back to
# `(1, 9, 512)` and projects them with W^O (`mha.dense`).

# %%
print("mha(v, k, q) → output", output.shape, " weights", self_weights.shape, " (batch, num_heads, seq_q, seq_k)")
print("head 0 of the layer = the step-by-step head:", np.allclose(self_weights[0, 0], weights, atol=1e-6))
_ = plot_attention_heads(self_weights[0], tokens, tokens, title="Self-attention, 9 tokens, 8 heads")

# %% [markdown]
# ## 4. Cross-attention: 12 target tokens over 9 source tokens
#
# In the decoder's second block the queries come from the target (12 tokens) and the keys and
# values from the encoder's output (9 tokens): the weights are 12 × 9 per head and the output
# has the target's length.

# %%
target = tf.random.normal((1, TARGET_LEN, D_MODEL))
cross_output, cross_weights = mha(sentence, sentence, target)  # v, k: source; q: target
print("output", cross_output.shape, " weights", cross_weights.shape)
_ = plot_attention_heads(
    cross_weights[0],
    tokens,
    [f"y{i}" for i in range(TARGET_LEN)],
    title="Cross-attention, 12 target queries × 9 source keys",
)

# %% [markdown]
# ## 5. Before many heads, one: Bahdanau's additive attention
#
# The article's starting point, attention in an RNN encoder–decoder (`transformer_tf.seq2seq`,
# the TensorFlow tutorial "Neural machine translation with attention"): each decoder state
# h_t scores every encoder output h_s with a small network,
# score(h_t, h_s) = vᵀ tanh(W₁ h_s + W₂ h_t), a softmax over the source positions turns the
# scores into weights, and the context is Σ_s α_ts h_s. One weight matrix, 12 target × 9
# source here, where the multi-head layer above had eight.

# %%
bahdanau = seq2seq.BahdanauAttention(units=64)
h_s = tf.random.normal((1, SEQ_LEN, 128))  # encoder outputs, one per source token
h_t = tf.random.normal((1, TARGET_LEN, 128))  # decoder states, one per target token
context, alpha = bahdanau(h_t, h_s)
print("context", context.shape, " weights", alpha.shape, " rows sum to", tf.reduce_sum(alpha, -1).numpy()[0, :3])
_ = plot_attention_heads(
    alpha, tokens, [f"y{i}" for i in range(TARGET_LEN)], title="Bahdanau attention (untrained)", ncols=1
)

# %% [markdown]
# ## 6. Positional encoding: the order the Transformer must be told
#
# Attention is blind to order: permute the tokens and every token's output is permuted alike.
# The series' previous step, the RNN encoder–decoder with Bahdanau attention
# (`transformer_tf.seq2seq`), reads the tokens one after the other and needs nothing more; the
# Transformer adds a sinusoid per dimension to each embedding,
# PE(pos, 2i) = sin(pos / 10000^(2i/d_model)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d_model)),
# whose wavelength grows with the depth: the tutorial's picture (`transformer-tf demo --out DIR`
# writes it as `positional_encoding.png`).

# %%
encoding = positional_encoding(PE_POSITIONS, D_MODEL)
print("positional_encoding:", encoding.shape, " (1, position, d_model)")
_ = plot_positional_encoding(encoding)

# %% [markdown]
# ## 7. A trained translator's attention, layer by layer
#
# The shipped model (4 layers, d_model 128, 8 heads, trained on the English–Spanish corpus)
# translates the article's sentence; `sentence_attention` reruns it with `return_attention=True`
# and keeps every matrix. Three kinds per layer: encoder self-attention (source × source), masked
# decoder self-attention (target × target) and encoder-decoder attention (target × source).
# Rows of the decoder plots are the decoder's inputs: row *t* is the query that predicted piece *t* + 1.

# %%
translator = Translator.from_checkpoint(REPO / "checkpoints" / "en_es")
attention = sentence_attention(translator, "He admired her as a great director.")
print(attention.translation)
print("source pieces:", attention.source_pieces)
print("target pieces:", attention.target_pieces)

# %%
kinds = ["decoder_block2"] if QUICK else ["encoder", "decoder_block1", "decoder_block2"]
layers = [4] if QUICK else [1, 2, 3, 4]
figures = plot_attention_weights(attention, kinds=kinds, layers=layers)
print("drawn:", list(figures))

# %% [markdown]
# Every layer and head of the encoder-decoder attention in one picture:

# %%
_ = plot_attention_overview(attention, "decoder_block2")

# %% [markdown]
# The same attention, to explore: `show_attention` draws every layer, head and kind of the
# sentence in one offline page (Plotly) inside the notebook. Pick the kind and the layer; in the
# head view hover a token to keep only its lines and tick heads on and off; click a panel of the
# model view to open that layer and head.

# %%
show_attention(translator, "He admired her as a great director.", folder="checkpoints/en_es")

# %% [markdown]
# ## 8. The Anthony Hopkins sentence
#
# The article's showcase sentence, with two names the corpus never has. The blog's toy (two
# vocabularies, Anki sentences only) turned it into "Un Ponlo Honalonallo de Monlolgdela.". The
# shipped model shares one vocabulary between the languages (byte fallback: no character is
# unknown) and was trained on copies of the corpus pairs whose names were swapped for Faker
# names on both sides, so it learned to copy a name piece by piece. Watch the encoder-decoder
# attention: through "▁An·th·ony ▁H·op·k·ins" and "▁M·ich·a·el ▁B·ay" the heads draw a diagonal,
# each query looking at the source piece it is about to copy, while "admiraba" looks at
# "admired" and "como un gran director" at "as a great director".

# %%
hopkins = sentence_attention(translator, "Anthony Hopkins admired Michael Bay as a great director.")
print(hopkins.translation)
print("source pieces:", hopkins.source_pieces)
figures = plot_attention_weights(hopkins, kinds=["decoder_block2"], layers=[4] if QUICK else [1, 2, 3, 4])

# %%
_ = plot_attention_overview(hopkins, "encoder")

# %% [markdown]
# ## 9. One attention against many: the RNN encoder–decoder, trained on the same data
#
# The series' previous step as a trained model: `checkpoints/en_es_rnn/` is the RNN
# encoder–decoder of section 5 (a bidirectional LSTM encoder of 320 units, an LSTM decoder,
# Bahdanau attention; `transformer-tf train --model rnn`), trained on the same corpus, split,
# tokenizer recipe and augmented data as the Transformer above, for 12 epochs, at about the
# same number of parameters. Where the Transformer has 4 layers × 8 heads of
# encoder-decoder attention, the RNN has one matrix: each Spanish piece's weights over the
# English pieces.
#
# Measured side by side on the 5,945 held-out test pairs at the same number of epochs, against
# the Transformer's release of epoch 12 (`python bench/rnn_vs_transformer.py`, the README has
# the command and the whole table; the shipped Transformer trained nine epochs more and scores
# 47.5 / 65.7 greedy):
#
# | | Transformer, epoch 12 | RNN + Bahdanau |
# |---|---:|---:|
# | parameters | 3,399,392 | 3,519,200 |
# | train step, same batches | 237 ms | 232 ms |
# | validation loss after 12 epochs | 2.472 | 2.571 |
# | greedy BLEU / chrF | 46.3 / 64.9 | 42.1 / 62.2 |
# | beam 4 BLEU / chrF | 47.1 / 65.5 | 44.1 / 63.3 |
# | greedy translation, sentences/s | 409 | 916 |
#
# The RNN learns faster at first; the Transformer overtakes it after epoch 5 and keeps improving:
#
# ![validation loss by epoch](figures/rnn_vs_transformer_val_loss.png)
#
# Below, both translate the article's sentence and show where they looked: the RNN's one
# matrix, and the Transformer's last layer with its 8 heads averaged.

# %%
rnn = Translator.from_checkpoint(REPO / "checkpoints" / "en_es_rnn")
for name, model in [("Transformer", translator), ("RNN", rnn)]:
    print(f"{name:>11}: {model.model.count_params():,} parameters:", model.translate([attention.sentence])[0])

# %%
rnn_attention = sentence_attention(rnn, attention.sentence)
rows, columns = rnn_attention.labels("cross")
_ = plot_attention_heads(
    rnn_attention.matrix("cross", 1),
    columns,
    rows,
    title=f'RNN, Bahdanau attention: "{rnn_attention.translation}"',
)
# the Transformer's last layer, its 8 heads averaged, for the same sentence
rows, columns = attention.labels("decoder_block2")
_ = plot_attention_heads(
    attention.matrix("decoder_block2", attention.num_layers).mean(axis=0, keepdims=True),
    columns,
    rows,
    title=f'Transformer, layer {attention.num_layers}, mean of 8 heads: "{attention.translation}"',
)
