"""Dashes, brackets and ellipses go to the model as commas and full stops, and a question typed without
its mark gets one (transformer_tf.punctuation)."""

import pytest
from echo_translator import EchoTranslator

from transformer_tf.punctuation import put_back, reads_as_question, take_out


@pytest.mark.parametrize(
    ("sentence", "text", "ending"),
    [
        ("Tom - my brother - is here.", "Tom, my brother, is here.", None),
        ("Tom — my brother — is here.", "Tom, my brother, is here.", None),
        ("Tom—my brother—is here.", "Tom, my brother, is here.", None),
        ("Tom (my brother) is here.", "Tom, my brother, is here.", None),
        ("I like cats (and dogs).", "I like cats, and dogs.", None),
        ("I was going to say... but never mind.", "I was going to say, but never mind.", None),
        ("Is it you...?", "Is it you?", None),
        ("Wait...", "Wait.", "..."),
        ("He said (quietly) that it was late…", "He said, quietly, that it was late.", "…"),
    ],
)
def test_dashes_brackets_and_ellipses_become_commas_and_full_stops(sentence, text, ending):
    assert take_out(sentence) == (text, ending)


@pytest.mark.parametrize(
    "sentence", ["A well-known man.", "It costs 5-10 dollars.", "I see :-)", "Smile () now.", "Hi.", ""]
)
def test_hyphens_in_words_and_empty_brackets_are_left_as_typed(sentence):
    assert take_out(sentence) == (sentence, None)


def test_the_final_ellipsis_comes_back_before_a_closing_mark():
    assert put_back("Espera.", "...") == "Espera..."
    assert put_back("¿Estás ahí?", "…") == "¿Estás ahí…?"
    assert put_back("¡Hola!", "...") == "¡Hola...!"
    assert put_back("Hola", "...") == "Hola..."
    assert put_back("Hola.", None) == "Hola."


def test_the_translators_read_the_corpus_punctuation_and_give_the_ellipsis_back():
    echo = EchoTranslator()
    assert echo.translate(["Tom (my brother) is here... WAIT..."], progress=False) == [
        "Tom, my brother, is here... WAIT..."
    ]
    assert echo.read == [["Tom, my brother, is here.", "Wait."]]
    assert "Tom, my brother, is here." in echo.source_texts("Tom (my brother) is here...")


@pytest.mark.parametrize(
    "sentence",
    [
        "Where is the station",
        "What's the matter",
        "Do you speak English",
        "Is Tom here",
        "Is breakfast included",
        "Can I help you",
        "Don't you know",
        "And who might you be",
        "Excuse me, is this seat taken",
        "You like him, don't you",
        "Tom is here, right",
    ],
)
def test_a_question_typed_without_its_question_mark_gets_one(sentence):
    assert reads_as_question(sentence)
    assert take_out(sentence) == (sentence + "?", None)


@pytest.mark.parametrize(
    "sentence",
    [
        "What a day",
        "How nice",
        "How tall you are",
        "What Tom says is true",
        "When I came, it rained",
        "Do it",
        "Have a nice day",
        "Have fun",
        "Can't wait to see you",
        "Hello",
        "I know",
        "Where is the station?",  # it has its mark: as it is
        "Where is the station.",  # the writer's full stop
    ],
)
def test_statements_commands_exclamations_and_ended_sentences_get_no_question_mark(sentence):
    assert take_out(sentence) == (sentence, None)


def test_the_translators_read_a_question_with_its_mark():
    echo = EchoTranslator()
    assert echo.translate(["where is the station", "Hello"], progress=False) == ["Where is the station?", "Hello"]
    assert echo.read == [["Where is the station?", "Hello"]]  # recased, then the question mark
