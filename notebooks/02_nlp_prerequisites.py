# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # NLP prerequisites: one-hot vectors, embeddings, perplexity
#
# Companion to the article on what a reader from outside NLP needs before the Transformer.
# Everything here calls `transformer_tf.embeddings` and `transformer_tf.perplexity`:
#
# 1. one-hot encoding against an embedding lookup;
# 2. the TensorFlow word-embeddings tutorial's classifier
#    (Embedding(vocab, 16) → GlobalAveragePooling1D → Dense) on `imdb_reviews`, when
#    tensorflow-datasets can download it;
# 3. a map of learned embeddings with scikit-learn's PCA and t-SNE: of the classifier's
#    word embeddings when IMDB is available, otherwise of the shipped translator's subword
#    embeddings (this machine is offline);
# 4. perplexity, with the article's toy vocabulary.
#
# `QUICK = True` (the test suite) trains one epoch on a small slice and maps fewer words.

# %% tags=["parameters"]
QUICK = False

# %%
from pathlib import Path

REPO = Path.cwd().resolve().parent  # the working directory is notebooks/ (Jupyter's default)
import numpy as np

from transformer_tf import Translator
from transformer_tf.embeddings import (
    embedding_classifier,
    embedding_map,
    load_imdb_reviews,
    nearest_neighbours,
    one_hot_encode,
    plot_embedding_map,
    subword_embeddings,
    train_embedding_classifier,
    whole_word_rows,
)
from transformer_tf.errors import TransformerTFError
from transformer_tf.perplexity import (
    TOY_CORPUS,
    TOY_VOCABULARY,
    bigram_model,
    perplexity,
    sentence_probabilities,
    translation_perplexity,
    uniform_model,
)

np.set_printoptions(precision=3, suppress=True, linewidth=120)

# %% [markdown]
# ## 1. One-hot vectors and embeddings
#
# With a vocabulary of V words, a one-hot vector has V entries and a single 1. Every two
# different words are orthogonal (dot product 0), so one-hot vectors say nothing about
# meaning, and V is tens of thousands. An embedding is a `(V, d)` matrix E with d ≪ V:
# looking up row *i* is the same as multiplying the one-hot vector by E, and training moves the
# rows so that words used alike get similar vectors.

# %%
vocabulary = list(TOY_VOCABULARY)
ids = [vocabulary.index(w) for w in ["You've", "got", "the", "touch"]]
one_hot = one_hot_encode(ids, vocab_size=len(vocabulary))
print(one_hot)
print("dot products between different words:", one_hot[0] @ one_hot[1], one_hot[1] @ one_hot[3])

E = np.random.default_rng(0).normal(size=(len(vocabulary), 4))  # an (untrained) 9 × 4 embedding
print("one-hot @ E equals the lookup E[ids]:", np.allclose(one_hot @ E, E[ids]))

# %% [markdown]
# ## 2. The word-embeddings tutorial's classifier on IMDB reviews
#
# Positive or negative review, from the average of its word vectors. `load_imdb_reviews`
# downloads through tensorflow-datasets; offline it fails at once with a message, and the
# notebook goes on with the translator's embeddings in section 3.

# %%
VOCAB_SIZE, SEQUENCE_LENGTH = 10_000, 100
try:
    imdb_train, imdb_test = load_imdb_reviews()
except TransformerTFError as err:
    imdb_train = None
    print("IMDB not available:", err)

model = embedding_classifier(VOCAB_SIZE, embedding_dim=16)
model.summary()

# %%
if imdb_train is not None:
    if QUICK:
        imdb_train, imdb_test = imdb_train.take(4), imdb_test.take(2)
    model, vectorize, history = train_embedding_classifier(
        imdb_train, imdb_test, VOCAB_SIZE, SEQUENCE_LENGTH, epochs=1 if QUICK else 15
    )
    print("validation accuracy:", history.history["val_accuracy"][-1])

# %% [markdown]
# ## 3. A map of learned embeddings (PCA and t-SNE)
#
# PCA keeps the two directions of largest variance (a linear view); t-SNE keeps
# neighbourhoods (close points stay close; distances between clusters mean little).
# With IMDB the map shows the classifier's word vectors; offline it shows the shipped
# translator's English subword embeddings (8,000 × 128), restricted to whole words.

# %%
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
print(f"{len(words)} words from the {source}; the first: {words[:15]}")

# %%
for method in ("pca", "tsne"):
    points = embedding_map(vectors, method=method)
    plot_embedding_map(
        points,
        words,
        title=f"{method.upper()} map of {len(words)} {source} embeddings",
        annotate=80 if QUICK else 200,
    )

# %% [markdown]
# Unlike one-hot vectors, learned embeddings have neighbours (cosine similarity):

# %%
for query in [w for w in ("good", "father", "three", "house", "great") if w in words]:
    print(f"{query:>8}:", ", ".join(f"{w} {s:.2f}" for w, s in nearest_neighbours(vectors, words, query, k=5)))

# %% [markdown]
# ## 4. Perplexity
#
# A language model gives each next word a probability. Its perplexity on N words is
# PP = exp(−(1/N) Σ log P(wₜ | w₁…wₜ₋₁)): the effective number of words it hesitates between.
# The article's toy vocabulary has 9 words; a model that knows nothing (uniform) has
# perplexity 9 on any sentence. A bigram model counted on the two lines of the lyric
# "You've got the touch / You've got the power" is sure of every word except the one after
# "the", a 50/50 guess: PP = 2^(1/4) ≈ 1.19.

# %%
sentence = ("You've", "got", "the", "power")
for name, lm in (
    ("uniform", uniform_model(TOY_VOCABULARY)),
    ("bigram", bigram_model(TOY_CORPUS, TOY_VOCABULARY)),
    ("bigram, add-1", bigram_model(TOY_CORPUS, TOY_VOCABULARY, smoothing=1.0)),
):
    p = sentence_probabilities(lm, sentence)
    print(f"{name:>14}: P(w_t | history) = {np.round(p, 3)}  perplexity = {perplexity(p):.3f}")
print(
    "unseen pair, no smoothing:",
    perplexity(sentence_probabilities(bigram_model(TOY_CORPUS, TOY_VOCABULARY), ("Mark", "Walberg"))),
)

# %% [markdown]
# The translator's decoder is a language model of Spanish conditioned on the English sentence:
# it is much less perplexed by its own translation than by the same words scrambled.

# %%
english = "He admired her as a great director."
spanish = translator.translate([english])[0]
for candidate in (spanish, " ".join(reversed(spanish.split()))):
    print(f"{candidate!r:45} perplexity {translation_perplexity(translator, english, candidate)[0]:.2f}")
