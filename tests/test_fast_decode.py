"""Fast greedy decoding: the shrinking batch, the lexical shortlist, bfloat16 weights; and that
the fast path translates like the exact one."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from transformer_tf import Transformer
from transformer_tf.decoding import greedy_decode
from transformer_tf.errors import TransformerTFError
from transformer_tf.fast_decode import FastGreedy, bfloat16_copy, shrinking_greedy_decode
from transformer_tf.shortlist import LexicalShortlist, build_shortlist
from transformer_tf.tokenizer import END_ID, PAD_ID, START_ID, UNK_ID

VOCAB = 70


@pytest.fixture
def model():
    m = Transformer(2, 32, 4, 64, VOCAB, VOCAB, pe_input=20, pe_target=30, rate=0.0, share_embeddings=True)
    m.build(((None, None), (None, None)))
    return m


def padded_rows(vocab=VOCAB):
    """A padded batch of 8 random sources of different lengths, ``(8, 14)`` int64 (START … END, PAD)."""
    rng = np.random.default_rng(0)
    rows = []
    for length in (3, 7, 12, 5, 9, 2, 11, 4):
        rows.append([START_ID, *rng.integers(4, vocab, size=length), END_ID] + [PAD_ID] * (12 - length))
    return np.array(rows, np.int64)


@pytest.fixture
def inp():
    return tf.constant(padded_rows(), tf.int64)


def _ends_at_different_steps(model, inp, output_layer=None, steps=4):
    """Raise END's bias until the random model's greedy translations stop at ≥ ``steps``
    different steps, so that rows leave the shrinking batch at different times; returns the
    exact tokens."""
    output_layer = output_layer or model.final_layer
    decode = tf.function(lambda x: greedy_decode(model, x, 25))  # reads the bias variable: one trace
    for bias in np.concatenate([np.arange(0.0, 1.0, 0.02), np.arange(1.0, 4.0, 0.2)]):
        output_layer.bias.assign(tf.one_hot(END_ID, output_layer.bias.shape[0]) * bias)
        exact = decode(inp).numpy()
        ends = {int(np.argmax(row == END_ID)) for row in exact if END_ID in row}
        if len(ends) >= steps:
            return exact
    pytest.fail("no END bias makes the random model stop at several different steps")


@pytest.mark.parametrize("grow", [False, True])
def test_dropping_finished_rows_gives_exactly_the_greedy_tokens(model, inp, grow):
    """Also with caches that grow a position a step (the fast decoder's) instead of caches of
    every position, written one by one (the reference's)."""
    exact = _ends_at_different_steps(model, inp)
    for shrink_at in (0.0, 0.25):  # drop the finished rows at every finish, and the default
        decode = tf.function(lambda x, s=shrink_at: shrinking_greedy_decode(model, x, 25, shrink_at=s, grow=grow))
        np.testing.assert_array_equal(decode(inp).numpy(), exact)


def test_the_rnn_leaves_the_batch_too_with_the_same_tokens(inp):
    from transformer_tf.seq2seq import RNNTranslator

    rnn = RNNTranslator(VOCAB, VOCAB, embedding_dim=16, units=24, rate=0.0)
    rnn.build(((None, None), (None, None)))
    exact = _ends_at_different_steps(rnn, inp, rnn.decoder.output_layer, steps=2)  # a random RNN repeats itself
    fast = FastGreedy(rnn, 25, LexicalShortlist(np.arange(VOCAB), np.zeros(VOCAB + 1), []))
    assert fast.shortlist is None and not fast.bfloat16  # the RNN: the shrinking batch only
    np.testing.assert_array_equal(fast(inp).numpy(), exact)


def test_a_shortlist_of_the_whole_vocabulary_decodes_like_the_full_output_layer(model, inp):
    exact = _ends_at_different_steps(model, inp)
    every = LexicalShortlist(np.arange(VOCAB), np.zeros(VOCAB + 1), [])
    fast = FastGreedy(model, 25, every, bfloat16=False)
    np.testing.assert_array_equal(fast(inp).numpy(), exact)


def test_the_decoder_only_produces_ids_of_the_shortlist(model, inp):
    _ends_at_different_steps(model, inp)
    allowed = np.array([END_ID, 10, 11, 12, 13], np.int32)
    out = shrinking_greedy_decode(model, inp, 25, vocab=tf.constant(allowed)).numpy()
    assert set(np.unique(out)) <= set(allowed) | {PAD_ID}
    assert (out == END_ID).any()


def test_the_bfloat16_copy_holds_the_weights_cast_once(model):
    copy = bfloat16_copy(model)
    assert len(copy.weights) == len(model.weights)
    for ours, theirs in zip(copy.weights, model.weights):
        assert ours.dtype == "bfloat16"
        np.testing.assert_array_equal(ours.numpy(), tf.cast(theirs, tf.bfloat16).numpy())


def test_bfloat16_layers_with_a_float32_output_layer_mostly_keep_the_tokens(model, inp):
    exact = _ends_at_different_steps(model, inp)
    whole = FastGreedy(model, 25, None, bfloat16=True)
    assert whole.bfloat16
    out = whole(inp).numpy()
    width = min(out.shape[1], exact.shape[1])
    assert (out[:, :width] == exact[:, :width]).mean() > 0.8


class WordTokenizer:
    """A stand-in for SubwordTokenizer: one id per whitespace word, after the 4 reserved ids."""

    def __init__(self, words):
        self.ids = {w: i + 4 for i, w in enumerate(words)}
        self.vocab_size = len(words) + 4

    def encode(self, texts):
        return [[START_ID] + [self.ids[w] for w in t.split()] + [END_ID] for t in texts]


PAIRS = [
    ("the cat", "el gato"),
    ("the black cat", "el gato negro"),
    ("the dog", "el perro"),
    ("a dog", "un perro"),
    ("the black dog", "el perro negro"),
    ("a cat", "un gato"),
]


@pytest.fixture
def tokenizer():
    return WordTokenizer("the a cat dog black el un gato perro negro".split())


def test_the_shortlist_keeps_the_pieces_seen_in_translations(tokenizer):
    shortlist = build_shortlist(PAIRS, tokenizer, tokenizer, frequent=1, per_source=2, min_count=2)
    ids = tokenizer.ids
    assert list(shortlist.frequent) == [ids["el"]]  # in 4 of 6 translations
    cat = shortlist.candidates[shortlist.offsets[ids["cat"]] : shortlist.offsets[ids["cat"] + 1]]
    assert ids["gato"] in cat and ids["perro"] not in cat  # seen together 3 times, never
    vocab = shortlist.batch_vocabulary([[START_ID, ids["cat"], END_ID, PAD_ID]])
    assert {ids["el"], ids["gato"], ids["cat"], END_ID} <= set(vocab)  # frequent, candidate, copy, END
    assert not {PAD_ID, UNK_ID, START_ID, ids["perro"]} & set(vocab)
    assert list(vocab) == sorted(vocab) and vocab.dtype == np.int32


def test_the_shortlist_round_trips_and_refuses_another_vocabulary(tokenizer, tmp_path):
    shortlist = build_shortlist(PAIRS, tokenizer, tokenizer, frequent=2, per_source=3, min_count=1)
    shortlist.save(tmp_path, frequent=2)
    loaded = LexicalShortlist.load(tmp_path, tokenizer.vocab_size)
    for name in ("frequent", "offsets", "candidates"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(shortlist, name))
    assert LexicalShortlist.load(tmp_path / "elsewhere") is None
    with pytest.raises(TransformerTFError, match="vocabulary of 14 pieces, the model has 99: rebuild"):
        LexicalShortlist.load(tmp_path, 99)
    (tmp_path / "shortlist.npz").write_bytes(b"not a zip")
    with pytest.raises(TransformerTFError, match="unreadable shortlist"):
        LexicalShortlist.load(tmp_path)
    with pytest.raises(TransformerTFError, match="per_source=-1"):
        build_shortlist(PAIRS, tokenizer, tokenizer, per_source=-1)


@pytest.mark.slow
def test_shortlist_cli_then_translate_fast_and_exact(trained_dir, tmp_path, capsys):
    from transformer_tf.cli import main
    from transformer_tf.translate import Translator

    run = tmp_path / "run"  # the shortlist is written into the folder: a copy, the fixture is shared
    shutil.copytree(trained_dir, run)
    assert main(["shortlist", "--checkpoint-dir", str(run), "--frequent", "50", "--per-source", "10"]) == 0
    assert "wrote" in capsys.readouterr().out and (run / "shortlist.npz").is_file()
    assert Translator.from_checkpoint(run).shortlist is not None
    assert Translator.from_checkpoint(run, exact=True).shortlist is None

    sentences = ["I am here.", "Tom is tall.", "Where is the station?"]
    assert main(["translate", "--checkpoint-dir", str(run), *sentences]) == 0
    fast = capsys.readouterr().out.splitlines()
    assert main(["translate", "--checkpoint-dir", str(run), "--exact", *sentences]) == 0
    exact = capsys.readouterr().out.splitlines()
    assert len(fast) == len(exact) == 3 and all(exact)
    assert main(["evaluate", "--checkpoint-dir", str(run), "--limit", "5", "--exact"]) == 0
    assert "5 sentences of the held-out test split, greedy exact (tensorflow): BLEU" in capsys.readouterr().out
    assert main(["shortlist", "--checkpoint-dir", str(run), "--per-source", "-1"]) == 2
    assert "--per-source -1" in capsys.readouterr().err


SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints" / "en_es"


@pytest.mark.slow
def test_the_shipped_model_translates_held_out_sentences_fast_as_exactly(shared_data):
    """Every 20th pair of the shipped model's test split (~300, all lengths): the fast path
    (its shortlist.npz, bfloat16 where the CPU has it) gives the exact path's translation for
    most of them (measured: 95%+ with the 21-epoch model, 94.3% with the places release, 96.2%
    on bench/translate_speed.py's 3,000) and BLEU / chrF within 1.0 / 0.7 (on the full split,
    5,945 pairs, the gap is within 0.3: docs/benchmarks.md)."""
    from transformer_tf.evaluate import evaluate, evaluation_pairs
    from transformer_tf.translate import Translator

    pairs, _ = evaluation_pairs(SHIPPED, data=shared_data / "spa-eng" / "spa.txt")
    pairs = pairs[::20]
    fast = Translator.from_checkpoint(SHIPPED)
    assert fast.shortlist is not None  # shipped with the model
    exact = Translator(fast.model, fast.source_tokenizer, fast.target_tokenizer, fast.max_tokens, exact=True)
    fast_result, exact_result = evaluate(fast, pairs, batch_size=256), evaluate(exact, pairs, batch_size=256)
    same = np.mean([a == b for a, b in zip(fast_result["hypotheses"], exact_result["hypotheses"])])
    assert same >= 0.93
    assert abs(fast_result["bleu"] - exact_result["bleu"]) <= 1.0
    assert abs(fast_result["chrf"] - exact_result["chrf"]) <= 0.7


@pytest.mark.slow
def test_several_decode_streams_translate_exactly_like_one(shared_data):
    """The shipped model on every 40th held-out sentence (~150), in batches of 16: decoding two
    or three batches at once, each in its own thread, gives the one-stream translations, for
    the fast path, the exact path and beam search."""
    from transformer_tf.evaluate import evaluation_pairs
    from transformer_tf.translate import Translator

    pairs, _ = evaluation_pairs(SHIPPED, data=shared_data / "spa-eng" / "spa.txt")
    english = [en for en, _ in pairs[::40]]
    one = Translator.from_checkpoint(SHIPPED, streams=1)
    exact = Translator(one.model, one.source_tokenizer, one.target_tokenizer, one.max_tokens, exact=True, streams=1)
    for translator, beam, sentences in ((one, 1, english), (exact, 1, english), (one, 2, english[::4])):
        alone = translator.translate(sentences, batch_size=16, beam=beam)
        for streams in (2, 3):
            translator.streams = streams
            assert translator.translate(sentences, batch_size=16, beam=beam) == alone
        translator.streams = 1
