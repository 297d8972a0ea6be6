"""Subword tokenizers: reserved ids, round trips, BPEmb, persistence."""

from unittest import mock

import pytest

from transformer_tf.errors import TransformerTFError
from transformer_tf.tokenizer import BATCH_ENCODE_FROM, END_ID, PAD_ID, START_ID, UNK_ID, SubwordTokenizer

SENTENCES = [
    f"{a} {b} the {c} quickly."
    for a in ("I", "You", "We", "They", "She")
    for b in ("see", "like", "want", "need", "find")
    for c in ("cat", "dog", "house", "book", "car")
]


@pytest.fixture(scope="module")
def trained():
    return SubwordTokenizer.train(SENTENCES * 4, vocab_size=80)


def test_trained_tokenizer_reserves_distinct_special_ids(trained):
    assert (PAD_ID, UNK_ID, START_ID, END_ID) == (0, 1, 2, 3)
    ids = trained.encode("We like the dog quickly.")
    assert ids[0] == START_ID and ids[-1] == END_ID
    assert PAD_ID not in ids and UNK_ID not in ids
    assert all(0 < i < trained.vocab_size for i in ids)
    assert trained.vocab_size == 80


def test_encode_decode_round_trip(trained):
    for text in ("She finds the car quickly.", "They need the book quickly."):
        assert trained.decode(trained.encode(text)) == text
    batch = trained.encode(["I see the cat quickly.", "We want the house quickly."])
    assert [trained.decode(ids) for ids in batch] == ["I see the cat quickly.", "We want the house quickly."]


def test_small_and_large_lists_encode_alike(trained):
    """Below BATCH_ENCODE_FROM texts go to SentencePiece one by one, from it as one list: same ids."""
    texts = (SENTENCES * 2)[: 2 * BATCH_ENCODE_FROM]
    one_call = trained.encode(texts)
    assert len(texts) >= BATCH_ENCODE_FROM
    assert trained.encode(texts[: BATCH_ENCODE_FROM - 1]) == one_call[: BATCH_ENCODE_FROM - 1]
    assert [trained.encode(t) for t in texts[:3]] == one_call[:3]


def test_unseen_characters_become_unknown_not_padding(trained):
    ids = trained.encode("漢字 cat")
    assert UNK_ID in ids and PAD_ID not in ids


def test_decode_stops_at_end_and_ignores_padding(trained):
    ids = trained.encode("I see the cat quickly.")
    assert trained.decode(ids + [PAD_ID, PAD_ID]) == trained.decode(ids + trained.encode("junk")[1:])


def test_decode_writes_no_space_after_an_opening_mark():
    from pathlib import Path

    from transformer_tf.tokenizer import load_tokenizers

    _, spanish = load_tokenizers(Path(__file__).resolve().parents[1] / "checkpoints" / "en_es")
    ids = spanish.encode("¡ Gracias, Tom! ¿ Qué tal?")
    assert spanish.decode(ids) == "¡Gracias, Tom! ¿Qué tal?"


def test_piece_labels_name_the_special_ids(trained):
    labels = trained.id_to_piece(trained.encode("I see"))
    assert labels[0] == "<start>" and labels[-1] == "<end>" and "▁I" in labels


def test_save_and_load_give_the_same_ids(trained, tmp_path):
    trained.save(tmp_path, "tokenizer_en")
    loaded = SubwordTokenizer.load(tmp_path, "tokenizer_en")
    assert loaded.encode(SENTENCES[:5]) == trained.encode(SENTENCES[:5])
    assert loaded.source == trained.source


def test_load_names_the_missing_file(tmp_path):
    with pytest.raises(TransformerTFError, match="tokenizer_es"):
        SubwordTokenizer.load(tmp_path, "tokenizer_es")


def test_impossible_vocab_size_is_a_clear_error():
    with pytest.raises(TransformerTFError, match="SentencePiece training failed"):
        SubwordTokenizer.train(["a b"], vocab_size=5000)


def test_bpemb_english_shifts_ids_so_unknown_is_not_padding(shared_data):
    tok = SubwordTokenizer.from_bpemb("en", vs=10000, cache_dir=shared_data / "bpemb")
    ids = tok.encode("He admired her as a great director.")
    # BPEmb's own ids for this sentence (see shared/data/bpemb/SOURCE.md), each shifted by one
    bpemb_ids = [83, 223, 9927, 805, 335, 79, 4, 954, 1965, 9935]
    assert ids == [START_ID] + [i + 1 for i in bpemb_ids] + [END_ID]
    assert tok.vocab_size == 10_001
    assert tok.decode(ids) == "he admired her as a great director."  # BPEmb lower-cases
    assert tok.encode("Année 1984")[1:-1] == [i + 1 for i in tok.sp.encode("année 0000")]
    assert UNK_ID in tok.encode("漢")


def test_missing_bpemb_model_is_one_download_try_then_the_alternative(tmp_path):
    import requests

    offline = requests.ConnectionError("no route to host")
    with mock.patch("requests.get", side_effect=offline) as get:
        with pytest.raises(TransformerTFError, match=r"es vs=10000 is not available.*tokenizer='trained'"):
            SubwordTokenizer.from_bpemb("es", vs=10000, cache_dir=tmp_path)
    # one request, for the size asked (vs_fallback off: no silent jump to another size, no retry);
    # bpemb sets no timeout on it: offline it fails as fast as the OS's name lookup does
    get.assert_called_once()
    assert get.call_args.args[0].endswith("/es/es.wiki.bpe.vs10000.model")


def test_half_a_utf8_character_is_dropped_not_shown_as_a_replacement_character():
    joint = SubwordTokenizer.train(SENTENCES * 4, vocab_size=300, byte_fallback=True)
    ids = joint.encode("I see the 😀 cat quickly.")
    emoji_bytes = [i for i, piece in zip(ids, joint.id_to_piece(ids)) if piece.startswith("<0x")]
    assert len(emoji_bytes) == 4  # the emoji, spelled in its four UTF-8 bytes
    assert joint.decode(ids) == "I see the 😀 cat quickly."
    broken = [i for i in ids if i != emoji_bytes[-1]]  # what a model copying it badly may emit
    assert joint.decode(broken) == "I see the  cat quickly."


TRICKY = [
    "We like the dog quickly.",
    "El niño comió café à la crème, ¿verdad?",
    "double  space and\ttab and\u00a0no-break space",
    "ligature ﬁne, ½ cup, ＦＵＬＬ width, ① circled",
    "Cafe\u0301 combining accent, e \u0301 after a space",
    "한국어 \u1100\u1161 jamo, 漢字 and emoji 🙂",
    "zero\u200bwidth, soft\u00adhyphen, control\x07bell",
    "digits 1234 and 10:30 in 1986",
    "",
    "   ",
    "naïve façade — “quotes” … ellipsis",
]


@pytest.mark.parametrize("byte_fallback", [True, False])
def test_the_word_cache_gives_the_ids_sentencepiece_gives_the_whole_text(byte_fallback):
    """Each distinct word encoded once, texts joined from their words' ids: the same ids as
    SentencePiece on the whole text, also where normalisation spans a space (those texts
    go whole), for the joint model (byte fallback) and a per-language one (unknown ids);
    a cache too small for a chunk starts afresh and still gives them."""
    import numpy as np

    from transformer_tf.tokenizer import WordCache

    tokenizer = SubwordTokenizer.train(
        SENTENCES * 4 + TRICKY[1:2], vocab_size=340 if byte_fallback else 100, byte_fallback=byte_fallback
    )
    texts = TRICKY + SENTENCES
    expected = [ids.tobytes() for ids in tokenizer.encode_arrays(texts)]
    for max_words in (10**6, 5):
        cache = WordCache(tokenizer, max_words=max_words)
        assert cache.enabled
        got = cache.encode_bytes(texts[:7]) + cache.encode_bytes(texts[7:])  # two chunks, the second partly cached
        assert got == expected
    assert cache.encode_bytes(texts) == expected
    assert None in cache.words.values()  # words of unsafe characters were seen (their texts went whole)
    assert np.frombuffer(expected[0], np.int32).tolist() == tokenizer.encode(texts[0])


def test_the_word_cache_leaves_other_models_to_sentencepiece(trained):
    """A unigram model (not what the cache was checked for) is encoded whole, the same ids."""
    from transformer_tf.tokenizer import WordCache

    unigram = SubwordTokenizer.train(SENTENCES * 4, vocab_size=34, model_type="unigram")
    assert WordCache(trained).enabled and not WordCache(unigram).enabled
    assert WordCache(unigram).encode_bytes(SENTENCES[:3]) == [a.tobytes() for a in unigram.encode_arrays(SENTENCES[:3])]


def test_a_model_folder_without_its_tokenizer_files_says_which_to_copy(trained, tmp_path):
    from transformer_tf.tokenizer import load_tokenizers

    with pytest.raises(TransformerTFError, match="no tokenizer in .*tokenizer.model and tokenizer.json .*copy them"):
        load_tokenizers(tmp_path)  # a joint model's folder whose tokenizer was not copied
    trained.save(tmp_path, "tokenizer_en")
    trained.save(tmp_path, "tokenizer_es")
    (tmp_path / "tokenizer_es.model").unlink()
    with pytest.raises(TransformerTFError, match="tokenizer_es.model; copy tokenizer_es.model and tokenizer_es.json"):
        load_tokenizers(tmp_path)
