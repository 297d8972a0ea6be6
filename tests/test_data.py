"""Finding, reading and splitting the English-Spanish corpus."""

import zipfile

import pytest

from transformer_tf.data import describe_splits, read_pairs, resolve_corpus, split_pairs
from transformer_tf.errors import TransformerTFError


def test_reads_two_and_three_column_layouts_with_nfc(tmp_path):
    decomposed = "cafe\u0301"  # "café" as e + combining accent
    path = tmp_path / "spa.txt"
    path.write_text(
        f"Go.\tVe.\nCoffee.\t{decomposed}.\tCC-BY 2.0 (France) Attribution: tatoeba.org #1\n",
        encoding="utf-8",
    )
    assert read_pairs(path) == [("Go.", "Ve."), ("Coffee.", "caf\u00e9.")]


def test_malformed_lines_are_skipped_and_counted(tmp_path):
    path = tmp_path / "spa.txt"
    path.write_text("Go.\tVe.\nno tab here\n\t¿vacío?\n\nRun!\t¡Corre!\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="skipped 2 malformed"):
        pairs = read_pairs(path)
    assert pairs == [("Go.", "Ve."), ("Run!", "¡Corre!")]


def test_a_file_without_pairs_is_refused(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("just text\n")
    with pytest.raises(TransformerTFError, match="no English<TAB>Spanish pairs"), pytest.warns(UserWarning):
        read_pairs(path)


def test_explicit_path_must_exist(tmp_path):
    with pytest.raises(TransformerTFError, match="^data .*missing.txt: no such file"):
        resolve_corpus(tmp_path / "missing.txt")


def test_offline_download_fails_fast_and_names_data_option(tmp_path, connection_attempts):
    with pytest.raises(TransformerTFError, match="data=PATH"):
        resolve_corpus(cache_dir=tmp_path, url="http://127.0.0.1:9/spa-eng.zip", timeout=2)
    # one connection try, bounded by the given timeout (no retry loop), and nothing left behind
    assert connection_attempts == [(("127.0.0.1", 9), 2)]
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_cached_corpus_is_used_without_downloading(tmp_path):
    cached = tmp_path / "datasets" / "spa-eng_extracted" / "spa-eng" / "spa.txt"
    cached.parent.mkdir(parents=True)
    cached.write_text("Go.\tVe.\n")
    assert resolve_corpus(cache_dir=tmp_path, url="http://127.0.0.1:9/unreachable.zip") == cached


@pytest.mark.parametrize("home", ["KERAS_HOME", "HOME"])
def test_the_default_cache_is_keras_home_as_keras_decides_it(tmp_path, monkeypatch, home):
    """No cache_dir: $KERAS_HOME, else ~/.keras, where keras.utils.get_file downloads to."""
    root = tmp_path / "keras-home" if home == "KERAS_HOME" else tmp_path / ".keras"
    cached = root / "datasets" / "spa-eng" / "spa.txt"
    cached.parent.mkdir(parents=True)
    cached.write_text("Go.\tVe.\n")
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv(home, str(root if home == "KERAS_HOME" else tmp_path))
    assert resolve_corpus(url="http://127.0.0.1:9/unreachable.zip") == cached


def test_download_path_extracts_the_official_zip_layout(tmp_path, serve_folder):
    """The real download code path (HTTP, unzip into the Keras 3 layout) on a local zip shaped like spa-eng.zip."""
    archive = tmp_path / "server" / "spa-eng.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("spa-eng/spa.txt", "Go.\tVe.\nHi.\tHola.\n")
        z.writestr("spa-eng/_about.txt", "Tatoeba")
    path = resolve_corpus(cache_dir=tmp_path / "cache", url=f"{serve_folder(archive.parent)}/spa-eng.zip")
    assert path == tmp_path / "cache" / "datasets" / "spa-eng_extracted" / "spa-eng" / "spa.txt"
    assert read_pairs(path) == [("Go.", "Ve."), ("Hi.", "Hola.")]
    assert resolve_corpus(cache_dir=tmp_path / "cache", url="http://127.0.0.1:9/x.zip") == path  # now cached


def test_a_download_that_is_not_a_zip_is_refused_naming_data(tmp_path, serve_folder):
    (tmp_path / "server").mkdir()
    (tmp_path / "server" / "spa-eng.zip").write_text("<html>not found</html>")
    with pytest.raises(TransformerTFError, match="BadZipFile.*data=PATH"):
        resolve_corpus(cache_dir=tmp_path / "cache", url=f"{serve_folder(tmp_path / 'server')}/spa-eng.zip")


@pytest.fixture(scope="module")
def real_pairs(shared_data):
    return read_pairs(shared_data / "spa-eng" / "spa.txt")


def test_real_corpus_has_every_pair(real_pairs):
    assert len(real_pairs) == 118_964
    assert real_pairs[0] == ("Go.", "Ve.")
    assert len({en for en, _ in real_pairs}) == 102_904


def test_split_is_grouped_by_english_sentence_and_reproducible(real_pairs):
    splits = split_pairs(real_pairs, val_fraction=0.05, test_fraction=0.05, seed=0)
    sources = {name: {en for en, _ in pairs} for name, pairs in splits.items()}
    assert not sources["train"] & sources["test"]
    assert not sources["train"] & sources["validation"]
    assert not sources["validation"] & sources["test"]
    assert sum(len(p) for p in splits.values()) == len(real_pairs)
    assert abs(len(sources["test"]) / 102_904 - 0.05) < 0.002  # fractions count English sentences
    assert split_pairs(real_pairs, seed=0) == splits
    assert split_pairs(real_pairs, seed=1)["test"] != splits["test"]
    assert "train" in describe_splits(splits) and "sources" in describe_splits(splits)


def test_bad_fractions_are_refused():
    with pytest.raises(TransformerTFError, match="fractions"):
        split_pairs([("a", "b")], val_fraction=0.6, test_fraction=0.5)


def test_pipeline_batches_are_bucketed_padded_and_shifted(real_pairs):
    import numpy as np

    from transformer_tf.data import make_dataset
    from transformer_tf.tokenizer import END_ID, START_ID, SubwordTokenizer

    pairs = real_pairs[::40]  # ~3,000 pairs across all lengths (the file is sorted by length)
    en = SubwordTokenizer.train([e for e, _ in pairs], vocab_size=500)
    es = SubwordTokenizer.train([s for _, s in pairs], vocab_size=500)
    ds, kept = make_dataset(pairs, en, es, batch_size=32, max_tokens=20, shuffle_seed=0)
    too_long = sum(
        1
        for a, b in zip(en.encode([e for e, _ in pairs]), es.encode([s for _, s in pairs]))
        if len(a) > 20 or len(b) > 20
    )
    assert kept == len(pairs) - too_long and too_long > 0

    seen = 0
    for (inp, tar_in), tar_out in ds:
        inp, tar_in, tar_out = inp.numpy(), tar_in.numpy(), tar_out.numpy()
        assert inp.shape[0] == tar_in.shape[0] == tar_out.shape[0] <= 32
        assert inp.shape[1] <= 20 and tar_in.shape[1] <= 19
        assert np.all(inp[:, 0] == START_ID) and np.all(tar_in[:, 0] == START_ID)
        # labels are the decoder input shifted by one; padding stays padding
        np.testing.assert_array_equal(tar_in[:, 1:], tar_out[:, :-1])
        assert np.all((tar_out == END_ID).sum(1) == 1)
        seen += inp.shape[0]
    assert seen == kept
    # bucketing: a batch spans a small range of lengths, so it is mostly real tokens
    first = next(iter(ds))
    assert (first[0][0].numpy() > 0).mean() > 0.6
