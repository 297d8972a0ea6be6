"""Perplexity, and the NLP-prerequisites article's toy language model (transformer_tf.perplexity)."""

import math
from pathlib import Path

import numpy as np
import pytest

from transformer_tf import perplexity
from transformer_tf.perplexity import (
    TOY_CORPUS,
    TOY_VOCABULARY,
    bigram_model,
    sentence_probabilities,
    translation_perplexity,
    uniform_model,
)

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints" / "en_es"


def test_perplexity_is_exp_of_mean_negative_log_probability():
    p = [0.5, 0.25, 0.125]
    assert perplexity(p) == pytest.approx(math.exp(-np.mean(np.log(p))))
    assert perplexity(p) == pytest.approx(4.0)  # geometric mean of the probabilities is 1/4
    assert perplexity([1.0, 1.0]) == 1.0
    assert perplexity([0.9, 0.0]) == math.inf


def test_perplexity_refuses_what_is_not_a_probability():
    with pytest.raises(ValueError, match="at least one"):
        perplexity([])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        perplexity([0.5, 1.5])


def test_uniform_model_over_the_toy_vocabulary_has_perplexity_9():
    assert len(TOY_VOCABULARY) == 9
    model = uniform_model(TOY_VOCABULARY)
    for sentence in (
        ("You've", "got", "the", "touch"),
        ("Mark", "Walberg"),
        ("Boogie", "Nights", "the", "the"),
    ):
        assert perplexity(sentence_probabilities(model, sentence)) == pytest.approx(9.0)


def test_bigram_model_counted_on_the_lyric_is_only_perplexed_after_the():
    model = bigram_model(TOY_CORPUS, TOY_VOCABULARY)
    probabilities = sentence_probabilities(model, ("You've", "got", "the", "power"))
    assert probabilities == [1.0, 1.0, 1.0, 0.5]
    assert perplexity(probabilities) == pytest.approx(2**0.25)  # ≈ 1.19, against 9 for the uniform model
    # a sentence the lyric never continues that way is impossible without smoothing ...
    assert perplexity(sentence_probabilities(model, ("Mark", "Walberg"))) == math.inf


def test_add_one_smoothing_keeps_every_word_possible_and_sums_to_one():
    model = bigram_model(TOY_CORPUS, TOY_VOCABULARY, smoothing=1.0)
    for history in ((), ("the",), ("Walberg",)):
        assert sum(model(history, w) for w in TOY_VOCABULARY) == pytest.approx(1.0)
    assert model(("the",), "touch") == pytest.approx((1 + 1) / (2 + 9))
    assert math.isfinite(perplexity(sentence_probabilities(model, ("Mark", "Walberg"))))


@pytest.mark.slow
def test_translator_is_less_perplexed_by_its_own_translation_than_by_a_scrambled_one():
    from transformer_tf.translate import Translator

    translator = Translator.from_checkpoint(SHIPPED)
    source = "He admired her as a great director."
    own = translator.translate([source])[0]
    pp_own, probabilities = translation_perplexity(translator, source, own)
    pp_scrambled, _ = translation_perplexity(translator, source, " ".join(reversed(own.split())))
    assert len(probabilities) == len(translator.target_tokenizer.encode(own)) - 1  # pieces + <end>
    assert 1.0 <= pp_own < 3.0 < pp_scrambled
