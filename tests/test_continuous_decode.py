"""Continuous batching (:mod:`transformer_tf.continuous_decode`): rows that join and leave a running
decode loop get the translation each sentence gets decoded alone."""

import threading
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from transformer_tf import Translator
from transformer_tf.continuous_decode import ContinuousDecoder, ContinuousTranslator
from transformer_tf.fast_decode import FastGreedy

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints" / "en_es"
SENTENCES = [
    "Hi.",
    "He admired her as a great director.",
    "Where is the station?",
    "I have never seen such a beautiful sunset over the mountains before.",
    "Tom is tired.",
    "Could you tell me how to get to the nearest post office, please?",
    "We ate.",
    "The children were playing in the garden while their parents cooked dinner.",
    "It's raining.",
    "She bought three books and a red umbrella yesterday afternoon.",
    "Thanks.",
    "My brother lives in a small town near the sea.",
]


@pytest.fixture(scope="module")
def shipped():
    return Translator.from_checkpoint(SHIPPED, places=False)


@pytest.fixture(scope="module")
def float32_fast(shipped):
    """The shipped model's fast greedy decoder (its shortlist) in float32."""
    return FastGreedy(shipped.model, shipped.max_tokens, shipped.shortlist, bfloat16=False)


def alone(decoder, ids):
    """``decoder``'s (a ``FastGreedy``) output ids for one sentence decoded alone, without the padding after END."""
    out = decoder(tf.constant([ids], tf.int64)).numpy()[0].tolist()
    while out and out[-1] == 0:
        out.pop()
    return out


def test_rows_joining_at_different_steps_and_orders_get_the_ids_of_the_sentence_decoded_alone(shipped, float32_fast):
    ids = shipped.encode_sources(SENTENCES)
    expected = {tuple(x): alone(float32_fast, x) for x in ids}
    loop = ContinuousDecoder(shipped.model, shipped.max_tokens, shipped.shortlist, slots=4, bfloat16=False, join_at=1)
    try:
        first = [loop.submit(x) for x in ids]  # 12 sentences, 4 slots: they join as rows end, slot by slot
        first[0].result()  # a few steps later, the same sentences again in the other order
        second = [loop.submit(x) for x in reversed(ids)]
        got = [f.result() for f in first] + [f.result() for f in reversed(second)]
    finally:
        loop.close()
    assert got == [expected[tuple(x)] for x in ids] * 2
    assert max(loop.step_sizes) == 4 and min(loop.step_sizes) < 4  # full steps, and steps with free slots
    assert loop.admissions > 2  # rows joined at several steps, not in one batch


def test_a_row_that_ends_early_frees_its_slot_for_a_waiting_sentence(shipped, float32_fast):
    long, short, waiting = shipped.encode_sources([SENTENCES[7], "Hi.", "Thanks."])
    ended = []
    loop = ContinuousDecoder(shipped.model, shipped.max_tokens, shipped.shortlist, slots=2, bfloat16=False, join_at=1)
    try:
        futures = {name: loop.submit(ids) for name, ids in (("long", long), ("short", short), ("waiting", waiting))}
        for name, future in futures.items():
            future.add_done_callback(lambda _, name=name: ended.append(name))
        results = {name: future.result() for name, future in futures.items()}
    finally:
        loop.close()
    assert ended == ["short", "waiting", "long"]  # "waiting" took the short one's slot and ended first
    assert len(results["long"]) > len(results["short"]) + len(results["waiting"])
    assert max(loop.step_sizes) == 2
    assert results == {
        name: alone(float32_fast, ids) for name, ids in (("long", long), ("short", short), ("waiting", waiting))
    }


def test_close_finishes_the_rows_in_flight_and_those_waiting(shipped):
    ids = shipped.encode_sources(SENTENCES)
    loop = ContinuousDecoder(shipped.model, shipped.max_tokens, shipped.shortlist, slots=2)
    futures = [loop.submit(x) for x in ids]
    loop.close()
    assert all(f.done() and f.exception() is None for f in futures)
    assert loop.admitted == len(SENTENCES) and loop.pending == 0
    assert not loop._thread.is_alive()


def test_the_translator_of_two_loops_answers_concurrent_callers_as_translator_translate(shipped, float32_fast):
    looped = ContinuousTranslator(shipped, slots=4, loops=2, bfloat16=False)
    float32 = Translator(
        shipped.model, shipped.source_tokenizer, shipped.target_tokenizer, shipped.max_tokens, places=False
    )
    float32._decoders["fast"] = float32_fast
    answers = [None] * len(SENTENCES)

    def ask(i):
        answers[i] = looped.translate(SENTENCES[i], progress=False)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(SENTENCES))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        looped.close()
    assert answers == [float32.translate(s, progress=False) for s in SENTENCES]
    assert all(loop.admitted > 0 for loop in looped.loops)  # both loops decoded
    assert np.sum([loop.admitted for loop in looped.loops]) == len(SENTENCES)
