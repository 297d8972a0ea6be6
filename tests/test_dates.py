"""May before a day goes round the model as June and comes back as "mayo" (transformer_tf.dates)."""

import pytest
from echo_translator import EchoTranslator

from transformer_tf.config import DEFAULT_CHECKPOINT_DIR
from transformer_tf.dates import put_back, take_out


@pytest.mark.parametrize(
    "sentence, text, stand_ins",
    [
        ("The meeting is on May 10.", "The meeting is on June 10.", 1),
        ("I was born on May 5, 1990.", "I was born on June 5, 1990.", 1),
        ("the meeting is on may 10", "the meeting is on June 10", 1),  # a sentence typed in capitals, recased
        ("From May 1 to May 31.", "From June 1 to June 31.", 2),
    ],
)
def test_may_before_a_day_goes_to_the_model_as_june(sentence, text, stand_ins):
    assert take_out(sentence) == (text, stand_ins)


@pytest.mark.parametrize(
    "sentence",
    [
        "May I come in?",
        "You may go.",
        "We met in May.",
        "It may 3D print it.",  # not a day
        "The shop opens at May 10:30.",  # a time, not a day
        "It was May 2024.",  # a year
        "Between May 1 and June 5 we worked.",  # "junio" would be ambiguous
        "It happened in June.",
    ],
)
def test_what_stays_as_typed(sentence):
    assert take_out(sentence) == (sentence, 0)


def test_junio_comes_back_as_mayo_as_many_times_as_it_went():
    assert put_back("La reunión es el 10 de junio.", 1) == "La reunión es el 10 de mayo."
    assert put_back("Junio 10 es el día.", 1) == "Mayo 10 es el día."
    assert put_back("Del 1 de junio al 31 de junio.", 2) == "Del 1 de mayo al 31 de mayo."
    assert put_back("En junio.", 0) == "En junio."  # nothing went: the translation as it is
    assert put_back("La reunión es el 10.", 1) is None  # the model dropped it
    assert put_back("junio y junio", 1) is None
    assert put_back("juniors", 1) is None


class JuneTranslator(EchoTranslator):
    """A model that writes "June" as "junio" and copies the rest."""

    def _decode_sentences(self, sentences, batch_size, beam, progress):
        return [s.replace("June", "junio") for s in super()._decode_sentences(sentences, batch_size, beam, progress)]


def test_the_translators_put_may_back_and_retry_a_lost_one_as_typed():
    june = JuneTranslator()
    assert june.translate(["The meeting is on May 10."], progress=False) == ["The meeting is on mayo 10."]
    assert june.read == [["The meeting is on June 10."]]
    assert "The meeting is on June 10." in june.source_texts("The meeting is on May 10.")

    echo = EchoTranslator()  # a model that loses the month: the sentence again, as typed
    assert echo.translate(["The meeting is on May 10."], progress=False) == ["The meeting is on May 10."]
    assert echo.read == [["The meeting is on June 10."], ["The meeting is on May 10."]]


@pytest.mark.slow
def test_the_shipped_model_writes_may_with_its_day():
    from transformer_tf.engines import open_translator

    translator = open_translator(DEFAULT_CHECKPOINT_DIR)
    sentences = ["The meeting is on May 10.", "I was born on May 5, 1990.", "It happened on 10 May."]
    translations = translator.translate(sentences, progress=False)
    assert ["de mayo" in t for t in translations] == [True, True, True], translations
    assert "10 de mayo" in translations[0] and "5 de mayo de 1990" in translations[1]
