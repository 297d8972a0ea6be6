"""One-hot vs embeddings, the word-embedding classifier and embedding maps (transformer_tf.embeddings)."""

import threading
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from transformer_tf.data import unreachable
from transformer_tf.embeddings import (
    embedding_classifier,
    embedding_map,
    load_imdb_reviews,
    nearest_neighbours,
    one_hot_encode,
    plot_embedding_map,
    subword_embeddings,
    text_vectorizer,
    train_embedding_classifier,
    whole_word_rows,
)
from transformer_tf.errors import TransformerTFError

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints" / "en_es"


def test_one_hot_rows_are_orthogonal_and_an_embedding_lookup_is_their_product():
    ids = [3, 0, 3, 2]
    encoded = one_hot_encode(ids, vocab_size=5)
    assert encoded.shape == (4, 5) and encoded.sum() == 4
    np.testing.assert_array_equal(encoded.argmax(1), ids)
    assert encoded[0] @ encoded[1] == 0 and encoded[0] @ encoded[2] == 1
    table = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(encoded @ table, table[ids])
    with pytest.raises(ValueError, match="0..4"):
        one_hot_encode([5], vocab_size=5)


def test_embedding_classifier_is_the_tutorials_stack():
    model = embedding_classifier(vocab_size=20, embedding_dim=4, hidden_units=8)
    assert [type(layer).__name__ for layer in model.layers] == [
        "Embedding",
        "GlobalAveragePooling1D",
        "Dense",
        "Dense",
    ]
    assert model.get_layer("embedding").get_weights()[0].shape == (20, 4)
    assert model(np.array([[3, 4, 0]])).shape == (1, 1)  # one logit a review


def test_text_vectorizer_strips_html_breaks_and_punctuation():
    layer = text_vectorizer(["A great film!<br /><br />Great.", "an awful film"], vocab_size=10, sequence_length=6)
    vocabulary = layer.get_vocabulary()
    assert "great" in vocabulary and "<br" not in " ".join(vocabulary) and "great." not in vocabulary
    ids = layer(["great film"]).numpy()[0]
    assert ids.shape == (6,) and list(ids[2:]) == [0, 0, 0, 0]


def test_train_embedding_classifier_learns_review_words_from_text_batches():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    filler = ["the", "film", "plot", "actor", "scene", "story", "music", "ending"]
    texts, labels = [], []
    for _ in range(400):
        label = int(rng.integers(0, 2))
        words = list(rng.choice(filler, size=6)) + ["wonderful!" if label else "dreadful<br />"]
        texts.append(" ".join(rng.permutation(words)))
        labels.append(label)
    data = tf.data.Dataset.from_tensor_slices((texts, labels)).batch(32)
    model, vectorizer, history = train_embedding_classifier(
        data, data.take(2), vocab_size=20, sequence_length=8, embedding_dim=4, epochs=30, verbose=0
    )
    vocabulary = vectorizer.get_vocabulary()
    assert {"wonderful", "dreadful"} <= set(vocabulary)  # punctuation and <br /> stripped
    assert history.history["val_accuracy"][-1] > 0.95
    table = model.get_layer("embedding").get_weights()[0]  # (20, 4)
    row = {word: vocabulary.index(word) for word in ("wonderful", "dreadful", "film", "plot")}
    # the two sentiment cues moved apart; two neutral words stayed closer together
    assert np.linalg.norm(table[row["wonderful"]] - table[row["dreadful"]]) > np.linalg.norm(
        table[row["film"]] - table[row["plot"]]
    )


def _no_download():
    """Record tensorflow-datasets' download (which retries for minutes offline) instead of running it."""
    import tensorflow_datasets as tfds

    return mock.patch.object(tfds.core.DatasetBuilder, "download_and_prepare")


def test_imdb_fails_fast_and_clearly_when_not_downloaded_and_download_disabled(tmp_path):
    with mock.patch("socket.create_connection") as connect, _no_download() as download:
        with pytest.raises(TransformerTFError, match="download=False.*download=True on a machine with internet"):
            load_imdb_reviews(data_dir=str(tmp_path), download=False)
    connect.assert_not_called()  # not even a reachability check
    download.assert_not_called()


def test_imdb_fails_fast_and_clearly_when_the_host_is_unreachable(tmp_path):
    from transformer_tf.embeddings import IMDB_HOST

    with (
        mock.patch("socket.create_connection", side_effect=OSError("no route to host")) as connect,
        _no_download() as download,
    ):
        with pytest.raises(TransformerTFError, match="cannot be reached.*no route to host.*data_dir"):
            load_imdb_reviews(data_dir=str(tmp_path))
    connect.assert_called_once_with((IMDB_HOST, 80), timeout=3.0)  # one try, 3 s at most, as documented
    download.assert_not_called()


def test_online_path_loads_imdb_batches_and_trains_on_them(tmp_path):
    # tensorflow-datasets' own mock stands in for the download (random strings, random labels):
    # this checks the plumbing of the notebook's online branch, not what it learns.
    import tensorflow_datasets as tfds

    from transformer_tf import embeddings

    with (
        tfds.testing.mock_data(num_examples=16),
        mock.patch.object(embeddings, "unreachable", return_value=None),
    ):
        train, test = load_imdb_reviews(data_dir=str(tmp_path), batch_size=8)
        texts, labels = next(iter(train))
        assert texts.dtype.name == "string" and texts.shape == (8,) and set(labels.numpy()) <= {0, 1}
        model, vectorizer, history = train_embedding_classifier(
            train, test, vocab_size=50, sequence_length=10, epochs=1, verbose=0
        )
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(vectorizer.get_vocabulary()) <= 50


def test_a_hanging_name_lookup_counts_as_unreachable_after_the_timeout():
    release, answered = threading.Event(), threading.Event()

    def hang(*args, **kwargs):  # a lookup that answers only once the test lets it (or after 10 s)
        release.wait(10)
        answered.set()
        return mock.MagicMock()  # then "connects": too late, nobody is waiting

    with mock.patch("socket.create_connection", side_effect=hang):
        assert unreachable("example.org", timeout=0.5) == "no answer within 0.5 s"
        assert not answered.is_set()  # it gave up on the lookup rather than waiting for it
        release.set()
    assert unreachable("nothing.invalid", timeout=3)  # the .invalid domain never resolves


def test_embedding_map_projects_to_two_dimensions_and_keeps_clusters():
    rng = np.random.default_rng(0)
    centres = np.zeros((2, 16))
    centres[1, 0] = 10.0
    vectors = np.concatenate([centres[0] + rng.normal(size=(20, 16)), centres[1] + rng.normal(size=(20, 16))])
    for method in ("pca", "tsne"):
        points = embedding_map(vectors, method=method)
        assert points.shape == (40, 2)
        a, b = points[:20].mean(0), points[20:].mean(0)
        spread = max(points[:20].std(0).max(), points[20:].std(0).max())
        assert np.linalg.norm(a - b) > 2 * spread, method
    assert embedding_map(vectors[:5], method="tsne").shape == (5, 2)  # perplexity lowered for few points
    with pytest.raises(ValueError, match="pca"):
        embedding_map(vectors, method="umap")


def test_nearest_neighbours_by_cosine():
    matrix = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]])
    neighbours = nearest_neighbours(matrix, ["a", "b", "c", "d"], "a", k=2)
    assert [label for label, _ in neighbours] == ["b", "c"]
    assert neighbours[1][1] == pytest.approx(0.0)


def test_plot_embedding_map_labels_the_points():
    fig = plot_embedding_map(np.array([[0, 0], [1, 1], [2, 0]]), ["x", "y", "z"], annotate=2)
    assert [t.get_text() for t in fig.axes[0].texts] == ["x", "y"]


@pytest.mark.slow
def test_shipped_translator_subword_embeddings_match_its_tokenizer():
    from transformer_tf.translate import Translator

    translator = Translator.from_checkpoint(SHIPPED)
    for side, tokenizer, word in (
        ("source", translator.source_tokenizer, "great"),
        ("target", translator.target_tokenizer, "gran"),
    ):
        matrix, pieces = subword_embeddings(translator, side)
        assert matrix.shape == (tokenizer.vocab_size, 128) and len(pieces) == tokenizer.vocab_size
        assert pieces[:4] == ["<pad>", "<unk>", "<start>", "<end>"]
        assert pieces[tokenizer.encode(word, add_start_end=False)[0]] == "▁" + word
    matrix, pieces = subword_embeddings(translator)
    rows = whole_word_rows(pieces, limit=50)
    assert len(rows) == 50 and all(pieces[i].startswith("▁") and pieces[i][1:].isalpha() for i in rows)
    with pytest.raises(ValueError, match="side"):
        subword_embeddings(translator, "middle")
