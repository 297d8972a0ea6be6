"""Sentences in capitals or in lower case go to the model recased (transformer_tf.casing)."""

import json

import pytest
from echo_translator import EchoTranslator

from transformer_tf.casing import CASING_FILE, I_ONLY, CaseTable, put_back
from transformer_tf.errors import TransformerTFError
from transformer_tf.spelling import Spellings

TABLE = CaseTable({"tom": "Tom", "i": "I", "paris": "Paris", "ok": "OK", "usa": "USA", "mary": "Mary"})


def test_the_table_counts_each_word_where_it_does_not_start_a_sentence_or_quotation():
    table = CaseTable.from_sentences(
        [
            "Tom is here.",  # a sentence's start: tells nothing
            "I met Tom. He left.",  # "He" starts a sentence
            'She said, "Where is Tom?"',  # "Where" starts a quotation
            "I'm with Mary's dog, and I like it.",
            "Where is the TV? The tv is here, and the TV too.",
            "Turn the turkey. Visit Turkey.",  # a tie: lower case
            "Don't go.",
        ]
    )
    assert table.forms == {"tom": "Tom", "i": "I", "mary": "Mary", "tv": "TV"}


def test_place_names_the_sentences_never_write_in_lower_case_are_recased_whole():
    sentences = ["I like turkey.", "It is a nice day.", "They live in Paris.", "We ate in the new york-style diner."]
    table = CaseTable.from_sentences(sentences, places=["Turkey", "Nice", "Warsaw", "New York", "Rio de Janeiro"])
    assert table.forms == {"paris": "Paris", "warsaw": "Warsaw"}  # turkey and nice: words in lower case
    assert table.phrases == {"rio de janeiro": "Rio de Janeiro"}  # "new york" is written in lower case once
    assert table.take_out("i flew from rio de janeiro to warsaw.") == ("I flew from Rio de Janeiro to Warsaw.", "lower")
    assert table.take_out("FLY TO RIO DE JANEIRO!") == ("Fly to Rio de Janeiro!", "upper")


def test_a_sentence_in_capitals_is_recased_and_its_translation_put_in_capitals():
    assert TABLE.take_out("WHERE IS TOM?") == ("Where is Tom?", "upper")
    assert TABLE.take_out("I'M IN PARIS WITH MARY'S DOG.") == ("I'm in Paris with Mary's dog.", "upper")
    assert TABLE.take_out("DON'T DO THAT!") == ("Don't do that!", "upper")
    assert TABLE.take_out('HE SAID, "STOP!"') == ('He said, "Stop!"', "upper")  # a quotation's first letter
    assert TABLE.take_out("¿TOM? 3 DOGS.") == ("¿Tom? 3 dogs.", "upper")
    assert put_back("¿Dónde está Tom?", "upper") == "¿DÓNDE ESTÁ TOM?"
    assert put_back("Visita https://example.com/Docs hoy.", "upper") == "VISITA https://example.com/Docs HOY."


def test_a_sentence_that_starts_in_lower_case_has_its_lower_case_words_recased():
    assert TABLE.take_out("i met tom in paris.") == ("I met Tom in Paris.", "lower")
    assert TABLE.take_out("where is NASA, tom?") == ("Where is NASA, Tom?", "lower")  # NASA as typed
    assert put_back("Conocí a Tom en París.", "lower") == "Conocí a Tom en París."  # the model's case


@pytest.mark.parametrize(
    "sentence",
    [
        "Where is Tom?",  # sentence case: the writer's own
        "I met tom in paris.",  # starts with a capital: left as typed
        "OK.",  # the table's own capitals
        "USA!",
        "I.",
        "iPhone is great.",  # a first word with a capital inside
        "3 + 4 = 7",  # no word
        "10 minutes remained.",  # a number first: not a sentence in lower case
        "",
    ],
)
def test_a_sentence_in_its_written_case_is_left_alone(sentence):
    assert TABLE.take_out(sentence) == (sentence, None)
    assert put_back("x", None) == "x"


def test_the_table_is_saved_into_the_model_folder_and_read_back(tmp_path):
    path = TABLE.save(tmp_path, training_pairs=7)
    assert path == tmp_path / CASING_FILE
    assert json.loads(path.read_text(encoding="utf-8"))["about"] == {"training_pairs": 7}
    assert CaseTable.load(tmp_path).forms == TABLE.forms
    CaseTable({"tom": "Tom"}, {"new york": "New York"}).save(tmp_path)
    assert CaseTable.load(tmp_path).phrases == {"new york": "New York"}
    assert CaseTable.load(tmp_path / "elsewhere").forms == I_ONLY == CaseTable.load(None).forms
    assert CaseTable(I_ONLY).take_out("i met tom.") == ("I met tom.", "lower")  # "i" alone
    for broken in ("not json", '{"forms": [1]}', '{"forms": {"tom": 1}}', '{"forms": {}, "phrases": {"a b": 2}}', "{}"):
        path.write_text(broken, encoding="utf-8")
        with pytest.raises(TransformerTFError, match=r"not a case table .*transformer-tf casing --checkpoint-dir"):
            CaseTable.load(tmp_path)


def test_the_translators_read_recased_text_and_give_capitals_back(tmp_path):
    TABLE.save(tmp_path)
    echo = EchoTranslator()
    echo.checkpoint_dir = tmp_path
    out = echo.translate(["WHERE IS TOM? I'M HERE.", "i met tom 😀", "Where is Tom?"], progress=False)
    assert echo.read == [["Where is Tom?", "I'm here.", "I met Tom"]]  # a repeat decoded once
    assert out == ["WHERE IS TOM? I'M HERE.", "I met Tom 😀", "Where is Tom?"]
    assert "Where is Tom?" in echo.source_texts("WHERE IS TOM?")  # serve's cut warnings find it


def test_a_model_folder_without_a_table_recases_i_alone():
    echo = EchoTranslator()
    echo.checkpoint_dir = None
    assert echo.translate(["I AM TOM."], progress=False) == ["I AM TOM."]
    assert echo.read == [["I am tom."]]


def test_the_casing_command_writes_the_training_splits_table(tmp_path, capsys):
    from transformer_tf.cli import main
    from transformer_tf.config import TrainConfig, corpus_fingerprint

    corpus = tmp_path / "corpus.tsv"
    rows = [f"I saw Tom {i} times.\tVi a Tom {i} veces.\n" for i in range(200)] + [
        "Red is my color.\tEl rojo es mi color.\n"
    ]
    corpus.write_text("".join(rows), encoding="utf-8")
    folder = tmp_path / "run"
    TrainConfig(data=str(corpus)).save(folder, corpus_fingerprint(corpus))
    assert main(["casing", "--checkpoint-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "names of several words not in lower case, from" in out and "British spellings whose American" in out
    assert CaseTable.load(folder).forms["tom"] == "Tom"  # "I" starts every sentence: no count
    assert Spellings.load(folder).forms == {"colour": "color"}  # Breame's pair whose American form it writes
    assert CaseTable.load(folder).phrases["new york"] == "New York"  # the gazetteer's

    other = tmp_path / "other.tsv"
    other.write_text("Hello.\tHola.\n", encoding="utf-8")
    assert main(["casing", "--checkpoint-dir", str(folder), "--data", str(other)]) == 2
    err = capsys.readouterr().err
    assert f"--data {other}: not the corpus {folder} was trained on" in err and "Traceback" not in err


@pytest.mark.slow  # restores the shipped Transformer on both engines (~10 s)
def test_the_shipped_model_translates_capitals_addresses_titles_symbols_dashes_and_british_as_plain_forms():
    from transformer_tf.attention_maps import sentence_attention
    from transformer_tf.config import DEFAULT_CHECKPOINT_DIR
    from transformer_tf.engines import open_translator
    from transformer_tf.titles import put_back
    from transformer_tf.translate import Translator

    keras = Translator.from_checkpoint(DEFAULT_CHECKPOINT_DIR)
    for translator in (open_translator(DEFAULT_CHECKPOINT_DIR), keras):
        typed = ["WHERE ARE YOU?", "Write to tom@example.com.", "It costs €20.", "Tom - my brother - is here."]
        plain = ["Where are you?", "Write to Tom.", "It costs 20 euros.", "Tom, my brother, is here."]
        typed += ["Do you know Mrs. Brown?", "My favourite colour."]
        plain += ["Do you know Mary?", "My favorite color."]
        expected = translator.translate(plain, progress=False)
        expected[0] = expected[0].upper()
        expected[1] = expected[1].replace("Tom", "tom@example.com")
        expected[4] = put_back(expected[4], {"Mary": ("Sra. Brown", "f", False)})
        assert "la Sra. Brown" in expected[4]
        assert translator.translate(typed, progress=False) == expected
    seen = sentence_attention(keras, "WHERE ARE YOU?")  # the pieces the model reads: the recased sentence
    assert seen.source_pieces == keras.source_tokenizer.id_to_piece(keras.encode_sources(["Where are you?"])[0])
    assert seen.sentence == "WHERE ARE YOU?"
