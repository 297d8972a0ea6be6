"""A long sentence goes to the model in clauses and its translation is put together (transformer_tf.clauses)."""

import types
import warnings

import pytest
from echo_translator import EchoTranslator

from transformer_tf import clauses
from transformer_tf.clauses import put_together, take_apart


def words(text):
    """A stand-in token count: the words, and START and END."""
    return len(text.split()) + 2


def test_a_sentence_longer_than_the_limit_is_cut_after_its_marks_into_the_fewest_pieces_that_fit():
    sentence = "When I came home, the dog was asleep; my sister was reading: a long book, and I sat down."
    assert take_apart(sentence, words, 10) == [
        "When I came home, the dog was asleep;",  # 8 words and 2: two clauses packed together
        "my sister was reading: a long book,",
        "and I sat down.",
    ]
    assert take_apart(sentence, words, 30) is None  # it fits
    assert take_apart("One two three four five six seven eight nine ten.", words, 8) is None  # nowhere to cut
    assert take_apart("It was 3,5 or 1:2 then, see.", words, 4) == [
        "It was 3,5 or 1:2 then,",
        "see.",
    ]  # marks in numbers stay


@pytest.mark.parametrize(
    ("pieces", "translations", "expected"),
    [
        (
            ["When I came,", "and Tom wanted it,", "and it rained."],
            ["Cuando vine.", "Tom lo quería.", "Y llovió."],
            "Cuando vine, Tom lo quería, y llovió.",
        ),  # a name keeps its capital; the pieces' marks
        (["If you go,", "will you call me?"], ["Si te vas.", "¿Me llamarás?"], "Si te vas, ¿me llamarás?"),
        (["Help;", "help me!"], ["¡Ayuda!", "¡Ayúdame!"], "Ayuda; ¡ayúdame!"),  # ¡ goes with its !
        (["I said:", "NASA called."], ["Dije.", "NASA llamó."], "Dije: NASA llamó."),  # an acronym stays
    ],
)
def test_the_translations_are_joined_with_the_english_marks_as_one_sentence(pieces, translations, expected):
    assert put_together(pieces, translations) == expected


class LongEcho(EchoTranslator):
    """The echo model with a length: it reads at most 12 stand-in tokens (words, START, END)."""

    max_tokens = 12
    source_tokenizer = types.SimpleNamespace(encode=lambda texts: [[0] * words(t) for t in texts])


def test_the_translators_read_a_long_sentence_in_pieces_and_put_them_together(monkeypatch):
    monkeypatch.setattr(clauses, "PIECE", 10)
    echo = LongEcho()
    sentence = "When I came home, the dog was asleep; my sister was reading: a long book, and I sat down."
    assert echo.translate([sentence, "Short one."], progress=False) == [sentence, "Short one."]
    assert echo.read == [
        [
            "When I came home, the dog was asleep;",
            "my sister was reading: a long book,",
            "and I sat down.",
            "Short one.",
        ]
    ]


def test_a_piece_cut_to_the_models_length_is_found_for_its_sentence(monkeypatch):
    """serve tells a client which sentence was cut (``cut_tokens``): a piece the model read counts."""
    monkeypatch.setattr(clauses, "PIECE", 10)
    echo = LongEcho()
    sentence = "When I came home, the dog was asleep; my sister was reading: a long book, and I sat down."
    assert "and I sat down." in echo.source_texts(sentence)
    assert echo.cut_tokens([sentence, "Short one."], {"my sister was reading: a long book,": 13}) == {0: 13}


def test_a_short_ascii_sentence_is_answered_without_the_tokenizer():
    counted = []
    tokens = lambda text: counted.append(text) or words(text)  # noqa: E731
    done = clauses.around(lambda s, *_: lambda: s, tokens, 32, ["Short.", "x" * 40], 64, 1, False)()
    assert done == ["Short.", "x" * 40] and counted == ["x" * 40]  # 40 characters may be 33 tokens


@pytest.mark.slow  # restores the shipped Transformer's CTranslate2 model (~3 s)
def test_the_shipped_model_reads_a_sentence_past_its_length_whole_in_pieces():
    from transformer_tf.config import DEFAULT_CHECKPOINT_DIR
    from transformer_tf.engines import open_translator

    translator = open_translator(DEFAULT_CHECKPOINT_DIR)
    sentence = (
        "When I was a child, I used to spend every summer at my grandparents' farm in the countryside, where "
        "I learned to ride horses, milk cows, feed the chickens, pick apples in the orchard, swim in the river "
        "with my cousins, and listen to the old stories that my grandfather told us every night by the fire, "
        "stories about the war, about his brothers, about the long winters and the hard work that the family "
        "had to do to survive."
    )
    tokens = lambda text: len(translator.source_tokenizer.encode([text])[0])  # noqa: E731
    assert tokens(sentence) > translator.max_tokens  # cut before, its end lost
    pieces = take_apart(sentence, tokens, clauses.PIECE)
    assert len(pieces) > 1 and all(tokens(p) <= clauses.PIECE for p in pieces)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "only the start is translated"
        whole = translator.translate([sentence], progress=False)[0]
    assert whole == put_together(pieces, translator._start_decode(pieces, 64, 1, False)())  # the model's own
