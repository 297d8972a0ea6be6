"""Quoted speech goes around the model in parts and comes back together (transformer_tf.quotes)."""

import re

import pytest
from echo_translator import EchoTranslator

from transformer_tf import quotes
from transformer_tf.stand_ins import replace_once


@pytest.mark.parametrize(
    "sentence, texts",
    [
        ('"Are your parents home?" "Only my dad."', ["Are your parents home?", "Only my dad."]),  # dialogue
        ("“Where is it?” — “Here.”", ["Where is it?", "Here."]),
        ('"Stop!" she shouted.', ["Tom she shouted.", "Stop!"]),
        ('"You talk too much," he said.', ["Tom he said.", "You talk too much"]),  # the comma stays out
        ('Tom said, "I do."', ["Tom said, John", "I do."]),  # Tom is taken
        ("Ella dijo: «we are late».", ["Ella dijo: Tom.", "We are late"]),  # the model reads a capital
        ("'I don't know,' he said.", ["Tom he said.", "I don't know"]),  # single quotes around speech
        ("‘Where is it?’ ‘Here.’", ["Where is it?", "Here."]),
    ],
)
def test_a_sentence_with_quotations_goes_to_the_model_in_parts(sentence, texts):
    assert quotes.take_apart(sentence).texts == texts


@pytest.mark.parametrize(
    "sentence",
    [
        "No quotation here.",
        'The word "cat" has three letters.',  # a word mentioned, not speech
        'A young dog is called a "puppy."',
        'He said "hi and left.',  # unpaired
        '"Fast" is the opposite of "slow."',
        'Tom and John said "Go!" and "Stop!"',  # more quotations than free stand-ins
        "He said 'stop' twice.",  # single quotes: also apostrophes; speech starts with a capital
        "The dogs' bowls are 'Full'.",  # and ends with its punctuation
        "'Tis the season.",
        "Rock 'n' roll is here.",
    ],
)
def test_mentions_unpaired_marks_and_single_quotes_leave_the_sentence_as_it_is(sentence):
    assert quotes.take_apart(sentence) is None


def test_the_translations_go_back_between_their_marks():
    dialogue = quotes.take_apart('"Are your parents home?"  "Only my dad."')
    assert dialogue.put_together(["¿Están tus padres en casa?", "Solo mi padre."]) == (
        '"¿Están tus padres en casa?"  "Solo mi padre."'  # the spaces between as written
    )
    speech = quotes.take_apart('"You talk too much," he said.')
    assert speech.put_together(["Tom dijo.", "Hablas demasiado."]) == '"Hablas demasiado," dijo.'
    ending = quotes.take_apart('He said, "I am tired."')
    assert ending.put_together(["Él dijo, Tom.", "Estoy cansado."]) == 'Él dijo, "Estoy cansado."'  # one full stop
    lower = quotes.take_apart("Ella dijo: «we are late».")
    assert lower.put_together(["Ella dijo: Tom.", "Llegamos tarde."]) == "Ella dijo: «llegamos tarde»."


@pytest.mark.parametrize("frame", ["Él gritó.", "Tom y Tom gritó.", "Tomás gritó."])
def test_a_stand_in_dropped_repeated_or_changed_is_said(frame):
    assert quotes.take_apart('"Stop!" he shouted.').put_together([frame, "¡Para!"]) is None


def test_the_model_reads_the_parts_and_the_translation_is_put_together():
    translator = EchoTranslator()
    out = translator.translate(['"Stop!" she shouted. I am here.', '"Hi." "Hello."'], progress=False)
    assert out == ['"Stop!" she shouted. I am here.', '"Hi." "Hello."']
    assert translator.read == [["Tom she shouted.", "Stop!", "I am here.", "Hi.", "Hello."]]


def test_a_sentence_whose_stand_in_does_not_come_back_is_translated_as_it_was():
    translator = EchoTranslator(drops="Tom ")
    assert translator.translate(['"Stop!" she shouted.'], progress=False) == ['"Stop!" she shouted.']
    assert translator.read == [["Tom she shouted.", "Stop!"], ['"Stop!" she shouted.']]


def test_the_source_texts_hold_the_parts_and_the_sentence():
    assert EchoTranslator().source_texts('"It costs $25.99," she said.') == (
        "Tom she said.",
        "It costs $48",
        "It costs $25.99",
        '"It costs $48," she said.',  # the rare second try: the sentence as it was, its number a stand-in
        '"It costs $25.99," she said.',
    )


def test_replace_once_puts_texts_back_as_written_or_says_none():
    """The shared put-back of the stand-in passes: a text goes in literally (no group references), and a
    pattern found twice or not at all gives None."""
    tom, john = re.compile(r"\bTom\b"), re.compile(r"\bJohn\b")
    assert replace_once("Tom vio a John.", {tom: r'"\1 \g<0>"', john: "Ana"}) == r'"\1 \g<0>" vio a Ana.'
    assert replace_once("Tom y Tom.", {tom: "x"}) is None
    assert replace_once("Nadie.", {tom: "x"}) is None
