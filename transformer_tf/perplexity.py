"""Perplexity of a language model: the NLP-prerequisites article's yardstick.

A language model gives every next token a probability given the tokens before it,
P(w_t | w_1 … w_{t-1}). Its perplexity on a sequence of N tokens is

    PP(w_1 … w_N) = P(w_1 … w_N)^(-1/N) = exp( -(1/N) · Σ_t log P(w_t | w_1 … w_{t-1}) ),

the exponential of the mean negative log-probability (the cross-entropy in nats). It reads
as an *effective number of choices*: a model that spreads its probability uniformly over
V words is exactly as perplexed as a V-sided die, PP = V; a model that is sure of every
right word has PP = 1; a model that ever gives a right word probability 0 has PP = ∞.

The article's toy example uses the 9-word vocabulary of :data:`TOY_VOCABULARY` (the
song "You've got the touch" sung by Mark Walberg's character in *Boogie Nights*).
Its exact probabilities are not in this repository, so :mod:`tests.test_perplexity`
reproduces what follows from the definition on that vocabulary: the uniform model has
perplexity 9, and a bigram model counted on the two lines of the lyric has perplexity
2^(1/4) ≈ 1.19 on "You've got the power" (only the word after "the" is a 50/50 guess).

For a trained model, :func:`translation_perplexity` is the perplexity of the shipped
translator's decoder, a conditional language model P(Spanish | English).
"""

import math
from collections import Counter, defaultdict

import numpy as np

#: The toy example's vocabulary, in the article's order.
TOY_VOCABULARY = ("the", "You've", "Walberg", "touch", "power", "Nights", "got", "Mark", "Boogie")
#: The lyric the bigram toy model is counted on: one sentence a tuple.
TOY_CORPUS = (("You've", "got", "the", "touch"), ("You've", "got", "the", "power"))
#: Sentence-start symbol of the bigram model (not part of the vocabulary).
BOS = "<s>"


def perplexity(token_probabilities):
    """PP = exp(-(1/N) Σ log p_t) for the probabilities the model gave the N actual tokens.

    Args:
        token_probabilities: ``(N,)`` array-like of P(w_t | w_<t), each in [0, 1].

    Returns:
        float ≥ 1; ``inf`` if any probability is 0.

    Raises:
        ValueError: empty input or a value outside [0, 1].
    """
    p = np.asarray(token_probabilities, dtype=np.float64).ravel()
    if p.size == 0:
        raise ValueError("perplexity of no tokens is undefined: give at least one probability.")
    if np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise ValueError(f"token probabilities must lie in [0, 1], got {p[(p < 0) | (p > 1) | np.isnan(p)][:3]}")
    if np.any(p == 0):
        return math.inf
    return float(np.exp(-np.mean(np.log(p))))


def uniform_model(vocabulary):
    """The know-nothing language model: P(w | anything) = 1/V for every word of the vocabulary.

    Returns:
        ``model(history, word) -> probability``.
    """
    vocabulary = frozenset(vocabulary)

    def model(history, word):
        return 1.0 / len(vocabulary) if word in vocabulary else 0.0

    return model


def bigram_model(sentences, vocabulary, smoothing=0.0):
    """A bigram language model counted on ``sentences``: P(w_t | w_{t-1}).

    P(w | v) = (count(v, w) + k) / (count(v) + k·V), with add-k smoothing ``k``
    (0: maximum likelihood). The first word of a sentence follows :data:`BOS`.

    Returns:
        ``model(history, word) -> probability`` (only the last word of ``history`` matters).
    """
    vocabulary = tuple(vocabulary)
    pairs, firsts = defaultdict(Counter), Counter()
    for sentence in sentences:
        for previous, word in zip((BOS, *sentence), sentence):
            pairs[previous][word] += 1
            firsts[previous] += 1

    def model(history, word):
        previous = history[-1] if history else BOS
        denominator = firsts[previous] + smoothing * len(vocabulary)
        if denominator == 0:  # an unseen history and no smoothing: fall back to uniform
            return 1.0 / len(vocabulary)
        return (pairs[previous][word] + smoothing) / denominator

    return model


def sentence_probabilities(model, sentence):
    """P(w_t | w_1 … w_{t-1}) for every word of ``sentence`` under ``model(history, word)``."""
    return [model(tuple(sentence[:t]), word) for t, word in enumerate(sentence)]


def translation_perplexity(translator, source, target):
    """Perplexity of the translator's decoder on a given Spanish ``target`` for English ``source``.

    The decoder is fed ``<start>`` + target pieces (teacher forcing) and scored on
    predicting the target pieces + ``<end>``: N = pieces + 1 probabilities.

    Args:
        translator: a :class:`~transformer_tf.translate.Translator`.
        source, target: one English sentence and one Spanish sentence.

    Returns:
        ``(perplexity, probabilities)``; ``probabilities`` is the ``(N,)`` array it came from.
    """
    import tensorflow as tf

    inp = tf.constant([translator.encode_sources([source])[0]], tf.int64)
    ids = translator.target_tokenizer.encode(target)  # [START, …, END]
    logits = translator.model((inp, tf.constant([ids[:-1]], tf.int64)), training=False)
    probabilities = tf.nn.softmax(logits[0], axis=-1).numpy()  # (N, vocab)
    chosen = probabilities[np.arange(len(ids) - 1), ids[1:]]
    return perplexity(chosen), chosen
