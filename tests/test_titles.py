"""Titles before names go around the model as stand-in first names and come back in Spanish form,
with the article Spanish needs (transformer_tf.titles)."""

import pytest
from echo_translator import EchoTranslator

from transformer_tf.config import DEFAULT_CHECKPOINT_DIR
from transformer_tf.titles import put_back, take_out


@pytest.mark.parametrize(
    ("sentence", "text", "stand_ins"),
    [
        ("Mr. Smith is here.", "Tom is here.", {"Tom": ("Sr. Smith", "m", False)}),
        ("Is Mrs. Brown in?", "Is Mary in?", {"Mary": ("Sra. Brown", "f", False)}),
        (
            "Ms Green and Dr Lee met.",
            "Mary and Tom met.",
            {"Mary": ("Sra. Green", "f", False), "Tom": ("Dr. Lee", "m", False)},
        ),
        ("Dr. Martin Luther King spoke.", "Tom spoke.", {"Tom": ("Dr. Martin Luther King", "m", False)}),
        ("Mr Smith's car is red.", "Tom's car is red.", {"Tom": ("Sr. Smith", "m", False)}),
        ("Is Miss O'Brien in?", "Is Mary in?", {"Mary": ("señorita O'Brien", "f", False)}),
        ("Ask Professor Green.", "Ask Tom.", {"Tom": ("profesor Green", "m", False)}),
        # addressed: after a comma or at the start, and before a comma or the end
        ("Thank you, Mr. Smith!", "Thank you, Tom!", {"Tom": ("Sr. Smith", "m", True)}),
        ("Mister Smith, come in.", "Tom, come in.", {"Tom": ("señor Smith", "m", True)}),
        ("Yesterday, Mr. Smith came.", "Yesterday, Tom came.", {"Tom": ("Sr. Smith", "m", False)}),
        # the sentence holds Tom already: the next free name
        ("Tom knows Mr. Smith.", "Tom knows John.", {"John": ("Sr. Smith", "m", False)}),
    ],
)
def test_a_titled_name_goes_to_the_model_as_a_free_first_name(sentence, text, stand_ins):
    assert take_out(sentence) == (text, stand_ins)


@pytest.mark.parametrize(
    "sentence",
    [
        "Thank you, doctor.",  # no name after the title
        "Mr. and Mrs. Smith are here.",  # a couple: "los señores Smith"
        "Ask Mrs. Brown and Ms. Green.",  # two women, one free woman's name
        "Mary knows Mrs. Brown.",  # the woman's name is taken
        "I Miss You.",  # the verb, in title case
        "Mr. smith is here.",  # no capitalised name
        "Mrs.Brown is here.",
        "No title here.",
    ],
)
def test_what_stays_as_typed(sentence):
    assert take_out(sentence) == (sentence, {})


@pytest.mark.parametrize(
    ("translation", "stand_ins", "expected"),
    [
        ("Tom está aquí.", {"Tom": ("Sr. Smith", "m", False)}, "El Sr. Smith está aquí."),
        ("¿Está Tom aquí?", {"Tom": ("Sr. Smith", "m", False)}, "¿Está el Sr. Smith aquí?"),
        ("¿Tom está aquí?", {"Tom": ("Sr. Smith", "m", False)}, "¿El Sr. Smith está aquí?"),
        ("¿Conoces a Tom?", {"Tom": ("Sr. Jackson", "m", False)}, "¿Conoces al Sr. Jackson?"),
        ("A Tom le gusta.", {"Tom": ("Dr. Lee", "m", False)}, "Al Dr. Lee le gusta."),
        ("El coche de Tom es rojo.", {"Tom": ("Sr. Smith", "m", False)}, "El coche del Sr. Smith es rojo."),
        ("¿Conoces a Mary?", {"Mary": ("Sra. Brown", "f", False)}, "¿Conoces a la Sra. Brown?"),
        ("María está cansada.", {"Mary": ("Sra. Brown", "f", False)}, "La Sra. Brown está cansada."),
        ("Gracias, Tom.", {"Tom": ("Sr. Smith", "m", True)}, "Gracias, Sr. Smith."),
        ("Tom, pasa.", {"Tom": ("señor Smith", "m", True)}, "Señor Smith, pasa."),
        (
            "Tom y Mary están aquí.",
            {"Tom": ("Sr. Smith", "m", False), "Mary": ("Sra. Brown", "f", False)},
            "El Sr. Smith y la Sra. Brown están aquí.",
        ),
    ],
)
def test_the_spanish_form_comes_back_with_its_article(translation, stand_ins, expected):
    assert put_back(translation, stand_ins) == expected


def test_a_stand_in_that_does_not_come_back_once_gives_none():
    stand_ins = {"Tom": ("Sr. Smith", "m", False)}
    assert put_back("Tomás está aquí.", stand_ins) is None
    assert put_back("Tom y Tom.", stand_ins) is None
    assert put_back("Está aquí.", stand_ins) is None


def test_the_translators_put_titles_back_and_retry_a_lost_one_as_typed():
    echo = EchoTranslator()
    assert echo.translate(["Mr. Smith is here. Write to tom@example.com!"], progress=False) == [
        "El Sr. Smith is here. Write to tom@example.com!"
    ]
    assert echo.read == [["Tom is here.", "Write to Tom!"]]
    assert "Tom is here." in echo.source_texts("Mr. Smith is here.")

    both = EchoTranslator()  # the address takes Tom first, the title the next free name
    assert both.translate(["Tell Dr. Lee at lee@example.com."], progress=False) == [
        "Tell el Dr. Lee at lee@example.com."
    ]
    assert both.read == [["Tell John at Tom."]]

    losing = EchoTranslator(drops="Tom")  # a model that drops the stand-in: the sentence again, as typed
    assert losing.translate(["Mr. Smith is here."], progress=False) == ["Mr. Smith is here."]
    assert losing.read == [["Tom is here."], ["Mr. Smith is here."]]


def test_a_sentence_in_capitals_keeps_its_titled_name_in_capitals():
    echo = EchoTranslator()
    echo.checkpoint_dir = DEFAULT_CHECKPOINT_DIR  # the shipped casing.json writes "Mr." and "Smith"
    assert echo.translate(["MR. SMITH IS HERE."], progress=False) == ["EL SR. SMITH IS HERE."]
    assert echo.read == [["Tom is here."]]
