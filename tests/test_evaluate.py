"""BLEU and chrF overall and per category: the scores are sacreBLEU's, on the right subsets."""

import pytest
import sacrebleu

from transformer_tf.errors import TransformerTFError
from transformer_tf.evaluate import category_table, evaluate, evaluation_pairs, read_labelled_pairs

LABELLED = (
    "english\tspanish\tcategory\n"
    "Yuki bought a house.\tYuki compró una casa.\tnames\n"
    "It costs 25 euros.\tCuesta 25 euros.\tnumbers\n"
    "Olga lives in Novosibirsk.\tOlga vive en Novosibirsk.\tnames\n"
    "She was born in 1986.\tNació en 1986.\tnumbers\n"
    "The storm left the coast without power.\tLa tormenta dejó la costa sin luz.\tnews\n"
)

# What a (bad) system answers: some exact, some partly right, some wrong.
ANSWERS = {
    "Yuki bought a house.": "Yuki compró una casa.",
    "It costs 25 euros.": "Cuesta 52 euros.",
    "Olga lives in Novosibirsk.": "Olga vive en Novosibirsco.",
    "She was born in 1986.": "Ella nació en 186.",
    "The storm left the coast without power.": "La tormenta dejó la costa sin electricidad.",
}


class FixedTranslator:
    """A stand-in with the Translator's ``translate`` signature and known outputs."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def translate(self, sentences, batch_size=64, beam=1):
        self.calls.append((list(sentences), batch_size, beam))
        return [self.answers[s] for s in sentences]


@pytest.fixture
def labelled(tmp_path):
    path = tmp_path / "challenge.tsv"
    path.write_text(LABELLED, encoding="utf-8")
    return path


def _sacrebleu(hypotheses, references):
    return (
        sacrebleu.corpus_bleu(hypotheses, [references]).score,
        sacrebleu.corpus_chrf(hypotheses, [references]).score,
    )


def test_a_header_row_makes_the_third_column_a_category(labelled):
    pairs, categories = read_labelled_pairs(labelled)
    assert pairs[0] == ("Yuki bought a house.", "Yuki compró una casa.")
    assert categories == ["names", "numbers", "names", "numbers", "news"]


def test_without_the_header_a_third_column_stays_spa_txt_attribution(tmp_path):
    path = tmp_path / "spa.tsv"
    path.write_text(
        "Go.\tVe.\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272\nHi.\tHola.\tCC-BY\n",
        encoding="utf-8",
    )
    pairs, categories = read_labelled_pairs(path)
    assert pairs == [("Go.", "Ve."), ("Hi.", "Hola.")] and categories is None


def test_per_category_scores_are_sacrebleu_on_that_category_alone(labelled):
    pairs, categories = read_labelled_pairs(labelled)
    translator = FixedTranslator(ANSWERS)
    result = evaluate(translator, pairs, batch_size=7, beam=3, categories=categories)
    assert translator.calls == [([en for en, _ in pairs], 7, 3)]
    assert result["hypotheses"] == [ANSWERS[en] for en, _ in pairs]

    assert (result["bleu"], result["chrf"]) == pytest.approx(_sacrebleu(result["hypotheses"], [es for _, es in pairs]))
    assert list(result["categories"]) == ["names", "numbers", "news"]  # first-seen order
    for name, part in result["categories"].items():
        subset = [(ANSWERS[en], es) for (en, es), c in zip(pairs, categories) if c == name]
        assert part["sentences"] == len(subset)
        assert (part["bleu"], part["chrf"]) == pytest.approx(_sacrebleu(*zip(*subset)))
    assert result["categories"]["names"]["chrf"] != result["categories"]["numbers"]["chrf"]


def test_the_table_has_a_row_per_category_and_a_column_pair_per_system(labelled):
    pairs, categories = read_labelled_pairs(labelled)
    good = evaluate(FixedTranslator({en: es for en, es in pairs}), pairs, categories=categories)
    bad = evaluate(FixedTranslator(ANSWERS), pairs, categories=categories)
    lines = category_table({"good": good, "bad": bad}).splitlines()
    assert lines[0] == "| category | sentences | good BLEU | good chrF | bad BLEU | bad chrF |"
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| names", "| numbers", "| news", "| all"]
    numbers = lines[3].strip("| ").split(" | ")
    assert numbers[:4] == ["numbers", "2", "100.0", "100.0"]
    assert numbers[5] == f"{bad['categories']['numbers']['chrf']:.1f}"
    assert lines[-1].startswith("| all | 5 | 100.0 | 100.0 |")


def test_limit_cuts_pairs_and_categories_alike(labelled):
    pairs, categories = evaluation_pairs(None, labelled, limit=2)
    assert len(pairs) == 2 and categories == ["names", "numbers"]


def test_a_labelled_line_without_three_fields_names_its_line(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("english\tspanish\tcategory\nGo.\tVe.\tnames\nHi.\tHola.\n", encoding="utf-8")
    with pytest.raises(TransformerTFError, match="line 3: need english<TAB>spanish<TAB>category"):
        read_labelled_pairs(path)


def test_evaluate_cli_prints_the_category_table_and_errors_exit_2(labelled, tmp_path, capsys, monkeypatch):
    from transformer_tf.cli import main

    monkeypatch.setattr("transformer_tf.engines.open_translator", lambda *args, **options: FixedTranslator(ANSWERS))
    assert main(["evaluate", "--pairs", str(labelled)]) == 0
    out = capsys.readouterr().out
    pairs, categories = read_labelled_pairs(labelled)
    expected = evaluate(FixedTranslator(ANSWERS), pairs, categories=categories)
    assert (
        f"5 sentences of {labelled}, greedy (ctranslate2): BLEU {expected['bleu']:.1f}, chrF {expected['chrf']:.1f}"
        in out
    )
    assert category_table({"model": expected}) in out

    binary = tmp_path / "bin.tsv"
    binary.write_bytes(b"english\tspanish\tcategory\n\xff\xfe bad\n")
    bad_row = tmp_path / "short.tsv"
    bad_row.write_text("english\tspanish\tcategory\nGo.\tVe.\n", encoding="utf-8")
    assert main(["evaluate", "--pairs", str(binary)]) == 2
    assert main(["evaluate", "--pairs", str(bad_row)]) == 2
    err = capsys.readouterr().err
    assert "not UTF-8" in err and "line 2" in err and "Traceback" not in err


@pytest.fixture
def run_folder(tmp_path):
    """A model folder's config.json (no weights: the corpus check comes first), trained on a small TSV."""
    from transformer_tf.config import TrainConfig, corpus_fingerprint

    corpus = tmp_path / "corpus.tsv"
    corpus.write_text("".join(f"Sentence {i}.\tFrase {i}.\n" for i in range(200)), encoding="utf-8")
    folder = tmp_path / "run"
    TrainConfig(data=str(corpus)).save(folder, corpus_fingerprint(corpus))
    return folder, corpus


def test_the_held_out_split_is_rebuilt_from_the_corpus_the_model_was_trained_on(run_folder):
    folder, corpus = run_folder
    test_pairs, _ = evaluation_pairs(folder)
    moved = corpus.with_name("moved.tsv")  # the same file elsewhere is fine
    corpus.rename(moved)
    assert evaluation_pairs(folder, data=moved)[0] == test_pairs and test_pairs
    other = corpus.with_name("other.tsv")
    other.write_text("".join(f"Sentence {i}.\tFrase {i}.\n" for i in range(150)), encoding="utf-8")
    with pytest.raises(TransformerTFError, match=f"data {other}: not the corpus {folder} was trained on"):
        evaluation_pairs(folder, data=other)


def test_a_corpus_path_of_config_json_that_is_not_there_is_named_with_the_fix(run_folder, tmp_path, monkeypatch):
    from transformer_tf.config import TrainConfig

    folder, corpus = run_folder
    monkeypatch.chdir(tmp_path)
    TrainConfig(data="corpus.tsv").save(folder)  # a relative path, read from the working directory
    assert evaluation_pairs(folder)[0]
    monkeypatch.chdir(folder)
    with pytest.raises(TransformerTFError, match=r"trained on, corpus.tsv \(its config.json; a relative .*data=PATH"):
        evaluation_pairs(folder)


def test_shortlist_and_evaluate_refuse_another_corpus_and_write_nothing(run_folder, capsys):
    from transformer_tf.cli import main

    folder, corpus = run_folder
    (folder / "shortlist.npz").write_bytes(b"the model's own")
    other = corpus.with_name("other.tsv")
    other.write_text("Hello.\tHola.\n", encoding="utf-8")
    assert main(["shortlist", "--checkpoint-dir", str(folder), "--data", str(other)]) == 2
    assert main(["evaluate", "--checkpoint-dir", str(folder), "--data", str(other), "--engine", "tensorflow"]) == 2
    err = capsys.readouterr().err
    assert err.count(f"--data {other}: not the corpus {folder} was trained on") == 2 and "Traceback" not in err
    assert (folder / "shortlist.npz").read_bytes() == b"the model's own"


def test_shortlist_names_a_bad_size_before_it_reads_the_corpus(run_folder, capsys):
    from transformer_tf.cli import main

    folder, corpus = run_folder
    corpus.unlink()  # never read: the sizes are checked first
    assert main(["shortlist", "--checkpoint-dir", str(folder), "--frequent", "-1"]) == 2
    assert "--frequent -1" in capsys.readouterr().err and not (folder / "shortlist.npz").exists()


def test_shortlist_refuses_an_rnn_folder_which_never_reads_one(run_folder, capsys):
    from transformer_tf.cli import main
    from transformer_tf.config import TrainConfig, corpus_fingerprint

    folder, corpus = run_folder
    TrainConfig(model="rnn", data=str(corpus)).save(folder, corpus_fingerprint(corpus))
    assert main(["shortlist", "--checkpoint-dir", str(folder)]) == 2
    assert "holds a 'rnn' model, which decodes without a shortlist" in capsys.readouterr().err
    assert not (folder / "shortlist.npz").exists()
