"""One-hot vectors, learned word embeddings and maps of them (the NLP-prerequisites article).

- :func:`one_hot_encode`: a word is a V-dimensional vector with a single 1; every two
  words are orthogonal, so nothing says that "great" is closer to "good" than to "table".
- An embedding layer is the same thing, learned and dense: looking up row i of a
  ``(V, d)`` matrix E equals multiplying the one-hot row vector by E, but d ≪ V and the
  rows move during training so that words used alike end up close.
- :func:`embedding_classifier`: the TensorFlow "Word embeddings" tutorial's model,
  Embedding(V, 16) → GlobalAveragePooling1D → Dense(16, relu) → Dense(1), trained by
  :func:`train_embedding_classifier` on ``imdb_reviews`` (:func:`load_imdb_reviews`,
  which needs a download).
- :func:`embedding_map`: 2-D maps of embeddings with scikit-learn's PCA or t-SNE, as the
  article suggests; offline, :func:`subword_embeddings` gives the shipped translator's
  learned subword embeddings to map instead.
"""

import re
import string

import numpy as np

from transformer_tf.data import unreachable
from transformer_tf.errors import TransformerTFError

#: Where tensorflow-datasets downloads imdb_reviews from (checked before trying).
IMDB_HOST = "ai.stanford.edu"


def one_hot_encode(token_ids, vocab_size):
    """One-hot rows: ``(n,)`` integer ids → ``(n, vocab_size)`` float32 with a single 1 a row.

    Raises:
        ValueError: an id outside ``0 … vocab_size-1``.
    """
    ids = np.asarray(token_ids, dtype=np.int64).ravel()
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"token ids must lie in 0..{vocab_size - 1}, got {ids.min()}..{ids.max()}")
    encoded = np.zeros((ids.size, vocab_size), np.float32)
    encoded[np.arange(ids.size), ids] = 1.0
    return encoded


def embedding_classifier(vocab_size, embedding_dim=16, hidden_units=16):
    """The word-embeddings tutorial's sentiment model, compiled (Adam, logits, accuracy).

    ``(batch, seq_len)`` int ids → Embedding(vocab_size, embedding_dim) ``(batch, seq_len, d)``
    → GlobalAveragePooling1D ``(batch, d)`` → Dense(hidden_units, relu) → Dense(1) logit.
    The embedding layer is named ``"embedding"``: ``model.get_layer("embedding").get_weights()[0]``
    is the learned ``(vocab_size, embedding_dim)`` matrix.
    """
    import keras

    model = keras.Sequential(
        [
            keras.Input(shape=(None,), dtype="int64"),
            keras.layers.Embedding(vocab_size, embedding_dim, name="embedding"),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(hidden_units, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(
        optimizer="adam",
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")],
    )
    return model


def _standardize_review(text):
    """The tutorial's standardisation: lower-case, drop ``<br />`` tags and punctuation."""
    import tensorflow as tf

    text = tf.strings.regex_replace(tf.strings.lower(text), "<br />", " ")
    return tf.strings.regex_replace(text, f"[{re.escape(string.punctuation)}]", "")


def text_vectorizer(texts, vocab_size=10_000, sequence_length=100):
    """A ``TextVectorization`` layer adapted on ``texts`` (a list or a ``tf.data`` of strings):
    string → ``(sequence_length,)`` int ids, 0 = padding, 1 = out of vocabulary."""
    import keras

    layer = keras.layers.TextVectorization(
        standardize=_standardize_review,
        max_tokens=vocab_size,
        output_mode="int",
        output_sequence_length=sequence_length,
    )
    layer.adapt(texts)
    return layer


def train_embedding_classifier(
    train,
    validation=None,
    vocab_size=10_000,
    sequence_length=100,
    embedding_dim=16,
    epochs=15,
    verbose="auto",
):
    """The tutorial's training run: adapt a :func:`text_vectorizer` on the training texts,
    then fit :func:`embedding_classifier` on the ids.

    Args:
        train, validation: ``tf.data`` datasets of ``(text batch, label batch)``, e.g. from
            :func:`load_imdb_reviews`.

    Returns:
        ``(model, vectorizer, history)``; ``vectorizer.get_vocabulary()[i]`` is the word of
        row i of the learned embedding matrix.
    """
    vectorizer = text_vectorizer(train.map(lambda text, label: text), vocab_size, sequence_length)

    def to_ids(text, label):
        return vectorizer(text), label

    model = embedding_classifier(vocab_size, embedding_dim)
    history = model.fit(
        train.map(to_ids),
        validation_data=validation.map(to_ids) if validation else None,
        epochs=epochs,
        verbose=verbose,
        shuffle=False,
    )  # a tf.data pipeline shuffles itself
    return model, vectorizer, history


def load_imdb_reviews(data_dir=None, download=True, batch_size=512):
    """``imdb_reviews`` (plain text) through tensorflow-datasets: ``(train, test)`` ``tf.data``
    datasets of ``(review, label)`` batches, 1 = positive.

    Offline it fails within seconds (the download host is checked first, at most 3 s;
    tensorflow-datasets itself would retry for minutes).

    Raises:
        TransformerTFError: the data is not in ``data_dir`` and cannot (or may not) be downloaded.
    """
    import tensorflow_datasets as tfds

    builder = tfds.builder("imdb_reviews/plain_text", data_dir=data_dir)
    if not builder.is_prepared():
        where = f"{builder.data_dir}"
        if not download:
            raise TransformerTFError(
                f"imdb_reviews is not prepared in {where} and download=False: "
                f"run once with download=True on a machine with internet."
            )
        problem = unreachable(IMDB_HOST)
        if problem:
            raise TransformerTFError(
                f"imdb_reviews is not prepared in {where} and {IMDB_HOST} cannot be reached "
                f"({problem}): download it with tensorflow-datasets on a machine with internet "
                f"and pass its data_dir."
            )
        builder.download_and_prepare()
    train, test = builder.as_dataset(split=["train", "test"], as_supervised=True, batch_size=batch_size)
    return train, test


def subword_embeddings(translator, side="source"):
    """The learned subword embedding matrix of a translator and the piece each row stands for.

    Args:
        translator: a :class:`~transformer_tf.translate.Translator`.
        side: ``"source"`` (English encoder) or ``"target"`` (Spanish decoder).

    Returns:
        ``(matrix, pieces)``: ``(vocab_size, d_model)`` float32 and ``vocab_size`` strings
        (``<pad>``, ``<unk>``, ``<start>``, ``<end>``, then SentencePiece pieces, ``▁`` = word start).
    """
    if side not in ("source", "target"):
        raise ValueError(f"side must be 'source' or 'target', got {side!r}")
    stack, tokenizer = (
        (translator.model.encoder, translator.source_tokenizer)
        if side == "source"
        else (translator.model.decoder, translator.target_tokenizer)
    )
    matrix = stack.embedding.get_weights()[0]
    return matrix, tokenizer.id_to_piece(range(matrix.shape[0]))


def whole_word_rows(pieces, limit=None, min_length=3):
    """Indices of pieces that are whole alphabetic words (``▁word``), most frequent first
    (SentencePiece BPE numbers pieces roughly by frequency), at most ``limit`` of them."""
    rows = [
        i for i, piece in enumerate(pieces) if piece.startswith("▁") and piece[1:].isalpha() and len(piece) > min_length
    ]
    return rows[:limit]


def nearest_neighbours(matrix, labels, query, k=5):
    """The ``k`` rows most cosine-similar to row ``labels.index(query)``: ``[(label, cosine), …]``."""
    from sklearn.metrics.pairwise import cosine_similarity

    row = list(labels).index(query)
    similarity = cosine_similarity(matrix[row : row + 1], matrix)[0]
    order = [i for i in np.argsort(-similarity) if i != row][:k]
    return [(labels[i], float(similarity[i])) for i in order]


def embedding_map(vectors, method="pca", seed=0, perplexity=30.0):
    """Project ``(n, d)`` embeddings to ``(n, 2)`` points for a map.

    Args:
        method: ``"pca"`` (linear, keeps the largest variance directions) or ``"tsne"``
            (non-linear, keeps neighbourhoods; distances between clusters mean little).
        seed: random state of t-SNE (and of PCA's solver).
        perplexity: t-SNE's effective number of neighbours; lowered to ``(n - 1) / 3``
            for small ``n``, since it must stay below the number of points.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] < 3:
        raise ValueError(f"need (n >= 3, d) vectors to map, got shape {vectors.shape}")
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(vectors)
    if method == "tsne":
        from threadpoolctl import threadpool_limits

        perplexity = min(perplexity, (vectors.shape[0] - 1) / 3)
        # One OpenMP thread: on a busy 2-core machine, 2 threads spin-waiting on each other made
        # t-SNE of 150 points take 26 s instead of 0.4 s (measured); a few hundred points need no more.
        with threadpool_limits(limits=1, user_api="openmp"):
            return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(vectors)
    raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}")


def plot_embedding_map(points, labels, title=None, annotate=None, ax=None):
    """Scatter ``(n, 2)`` map points, writing ``labels`` beside the first ``annotate`` of them
    (all by default). Returns the matplotlib Figure."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 7))
    points = np.asarray(points)
    ax.scatter(points[:, 0], points[:, 1], s=8, alpha=0.6)
    for (x, y), label in list(zip(points, labels))[:annotate]:
        ax.annotate(label, (x, y), fontsize=8, alpha=0.8)
    if title:
        ax.set_title(title)
    return ax.figure
