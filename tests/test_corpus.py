"""The streaming corpus: input formats, the hash split, cleaning counts, the shipped folders' split."""

import gzip
import hashlib
import json
import subprocess
import sys

import pytest
from processes import child_env  # tests/processes.py

from transformer_tf.config import TrainConfig
from transformer_tf.corpus import (
    Cleaning,
    clean_pairs,
    held_out_pairs,
    held_out_splits,
    iter_pairs,
    open_corpus,
    split_of,
    survey,
    training_split,
)
from transformer_tf.errors import TransformerTFError

PAIRS = [
    ("Go.", "Ve."),
    ("Hi.", "Hola."),
    ("Tom saw 3 cats in Boston.", "Tom vio 3 gatos en Boston."),
    ("Caf\u0065\u0301 time.", "Hora del caf\u00e9."),  # decomposed é: read back NFC
    ("I'm here.", "Estoy aquí."),
]
EXPECTED = [(en.replace("e\u0301", "\u00e9"), es) for en, es in PAIRS]


def _write(path, text):
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("layout", ["tsv", "tsv3", "tsv.gz", "moses", "moses.gz", "moses-paths"])
def test_every_format_gives_the_same_pairs(layout, tmp_path):
    if layout.startswith("tsv"):
        extra = "\tCC-BY 2.0 (France) Attribution" if layout == "tsv3" else ""
        name = "corpus.tsv.gz" if layout.endswith(".gz") else "corpus.tsv"
        spec = _write(tmp_path / name, "".join(f"{en}\t{es}{extra}\n" for en, es in PAIRS))
    else:
        suffix = ".gz" if layout.endswith(".gz") else ""
        en = _write(tmp_path / f"corpus.en{suffix}", "".join(f"{en}\n" for en, _ in PAIRS))
        es = _write(tmp_path / f"corpus.es{suffix}", "".join(f"{es}\n" for _, es in PAIRS))
        spec = f"{en},{es}" if layout == "moses-paths" else tmp_path / "corpus"
    assert list(iter_pairs(open_corpus(spec))) == EXPECTED


def test_a_moses_pair_with_different_line_counts_is_refused_naming_both(tmp_path):
    _write(tmp_path / "corpus.en", "a\nb\nc\n")
    _write(tmp_path / "corpus.es", "x\ny\n")
    with pytest.raises(TransformerTFError, match=r"corpus.en has 3 lines, .*corpus.es has 2"):
        open_corpus(tmp_path / "corpus")


def test_nothing_under_data_names_every_form_it_may_take(tmp_path):
    with pytest.raises(TransformerTFError, match=r"no such file, and no Moses pair .*tfds:NAME"):
        open_corpus(tmp_path / "nothing")


def test_a_latin1_line_is_refused_naming_the_file_byte_and_offset(tmp_path):
    path = tmp_path / "corpus.tsv"
    path.write_bytes(b"Go.\tVe.\n" + "Coffee.\tCaf\u00e9.\n".encode("latin-1"))
    with pytest.raises(TransformerTFError, match=r"corpus.tsv: not UTF-8 text \(byte 0xe9 at offset 19\)"):
        list(iter_pairs(open_corpus(path)))


def test_an_unprepared_tfds_dataset_is_refused_without_downloading(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    with pytest.raises(TransformerTFError, match=r"tfds:ted_hrlr_translate/pt_to_en is not prepared in .*DATA_DIR"):
        open_corpus("tfds:ted_hrlr_translate/pt_to_en")
    assert list(tmp_path.iterdir()) == []  # nothing downloaded


def test_a_locally_prepared_tfds_dataset_gives_the_same_pairs(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    class TinyEnEsTranslate(tfds.core.GeneratorBasedBuilder):
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            return tfds.core.DatasetInfo(
                builder=self,
                features=tfds.features.Translation(languages=("en", "es")),
                supervised_keys=("en", "es"),
            )

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples()}

        def _generate_examples(self):
            for i, (en, es) in enumerate(PAIRS):
                yield i, {"en": en, "es": es}

    TinyEnEsTranslate(data_dir=str(tmp_path)).download_and_prepare()
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    assert sorted(iter_pairs(open_corpus("tfds:tiny_en_es_translate"))) == sorted(EXPECTED)


def _corpus(n, seed=0):
    """n pairs; every English sentence has 1-3 Spanish translations."""
    import random

    rng = random.Random(seed)
    pairs = []
    for i in range(n):
        pairs += [(f"Sentence number {i}.", f"Frase número {i}, versión {k}.") for k in range(rng.randint(1, 3))]
    return pairs


def test_the_hash_split_is_grouped_by_the_english_sentence():
    where = {}
    for en, _ in _corpus(3000):
        where.setdefault(en, set()).add(split_of(en, 0, 0.05, 0.05))
    assert all(len(splits) == 1 for splits in where.values())
    shares = {s: sum(v == {s} for v in where.values()) / len(where) for s in ("train", "validation", "test")}
    assert 0.03 < shares["validation"] < 0.07 and 0.03 < shares["test"] < 0.07  # 5% of 3,000 sentences


def test_the_hash_split_is_stable_when_the_corpus_grows(tmp_path):
    config = TrainConfig(data=str(tmp_path / "c.tsv"))
    pairs = _corpus(2000)
    _write(tmp_path / "c.tsv", "".join(f"{en}\t{es}\n" for en, es in pairs[:1500]))
    before = held_out_pairs(config)
    _write(tmp_path / "c.tsv", "".join(f"{en}\t{es}\n" for en, es in pairs))
    after = held_out_pairs(config)
    for split in ("validation", "test"):
        assert after[split][: len(before[split])] == before[split] and len(after[split]) > len(before[split])


def test_the_training_split_of_a_hash_run_is_the_rest_of_the_cleaned_corpus(tmp_path):
    config = TrainConfig(data=str(tmp_path / "c.tsv"))
    pairs = _corpus(2000)
    _write(tmp_path / "c.tsv", "".join(f"{en}\t{es}\n" for en, es in pairs))
    train, held = training_split(config), held_out_pairs(config)
    held_english = {en for split in held.values() for en, _ in split}
    assert train and {en for en, _ in train}.isdisjoint(held_english)  # grouped by English sentence
    assert sorted(train + held["validation"] + held["test"]) == sorted(set(pairs))  # nothing lost, none twice
    assert all(split_of(en, config.seed, config.val_fraction, config.test_fraction) == "train" for en, _ in train)


def test_the_hash_split_is_the_same_in_every_process():
    """A worker is another process, with another PYTHONHASHSEED: the split must not depend on it."""
    sentences = [en for en, _ in _corpus(300)]
    code = (
        "import json, sys; from transformer_tf.corpus import split_of; "
        "print(json.dumps([split_of(s, 7, 0.1, 0.1) for s in json.loads(sys.stdin.read())]))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(sentences),
        capture_output=True,
        text=True,
        check=True,
        env=child_env(PYTHONHASHSEED="0"),  # this process's string hashes are randomized
    ).stdout
    assert json.loads(other) == [split_of(s, 7, 0.1, 0.1) for s in sentences]
    assert {"train", "validation", "test"} <= set(json.loads(other))


def test_cleaning_counts_what_it_drops_and_keeps_the_first_duplicate(tmp_path):
    lines = [
        *(f"Sentence {i}.\tFrase {i}." for i in range(40)),
        "Sentence 1.\tFrase 1.",  # duplicate
        "Sentence 1.\tFrase 1.",  # duplicate
        "   \tVacío.",  # empty English side
        "Empty.\t",  # empty Spanish side
        "Yes.\t" + "Una frase mucho más larga que la original, que no es su traducción.",  # ratio
        "no tab on this line",
    ]
    _write(tmp_path / "c.tsv", "\n".join(lines) + "\n")
    config = TrainConfig(data=str(tmp_path / "c.tsv"))
    source = open_corpus(config.data)
    cleaning, sample, _ = survey(source, config)
    kept = list(clean_pairs(source, cleaning))
    assert (cleaning.read, cleaning.empty, cleaning.length_ratio, cleaning.duplicate) == (46, 3, 1, 2)
    assert len(kept) == 40 == sum(cleaning.kept.values()) == cleaning.distinct_english
    assert sorted(set(sample)) == sorted((en, es) for split, en, es in kept if split == "train")
    assert "2 duplicates" in cleaning.report() and "3 with an empty side" in cleaning.report()


def test_a_corpus_of_two_english_sentences_is_refused(tmp_path):
    _write(tmp_path / "c.tsv", "Go.\tVe.\nGo.\tVete.\nHi.\tHola.\n")
    config = TrainConfig(data=str(tmp_path / "c.tsv"))
    with pytest.raises(TransformerTFError, match=r"2 distinct English sentence\(s\): too few to split"):
        survey(open_corpus(config.data), config)


def test_a_file_without_tabs_is_refused_saying_its_lines_were_dropped(tmp_path):
    _write(tmp_path / "c.txt", "Go away.  Vete.\nHello there.  Hola.\n")  # spaces, not a TAB
    config = TrainConfig(data=str(tmp_path / "c.txt"))
    with pytest.raises(TransformerTFError, match=r"2 line\(s\) \(dropped 2 with an empty side or no TAB,"):
        survey(open_corpus(config.data), config)


@pytest.mark.parametrize("damage", ["cut_off", "not_gzip"])
def test_a_damaged_gzip_corpus_is_named_with_the_fix(damage, tmp_path):
    whole = gzip.compress("".join(f"Sentence {i}.\tFrase {i}.\n" for i in range(3000)).encode())
    data = whole[: len(whole) // 2] if damage == "cut_off" else b"plain text, named .gz"
    for name in ("c.tsv.gz", "c.en.gz", "c.es.gz"):
        (tmp_path / name).write_bytes(data)
    for spec in ("c.tsv.gz", "c"):  # a TSV, and a Moses pair (its lines are counted first)
        config = TrainConfig(data=str(tmp_path / spec))
        with pytest.raises(TransformerTFError, match=r"\.gz: not a whole gzip file .*gzip -t"):
            survey(open_corpus(config.data), config)


def test_the_grouped_split_refuses_the_forms_only_the_hash_split_reads(tmp_path):
    text = "".join(f"Sentence {i}.\tFrase {i}.\n" for i in range(30))
    (tmp_path / "c.tsv.gz").write_bytes(gzip.compress(text.encode()))
    _write(tmp_path / "m.en", "Go.\nHi.\nRun.\n")
    _write(tmp_path / "m.es", "Ve.\nHola.\nCorre.\n")
    for data in ("c.tsv.gz", "m", "m.en,m.es"):  # each read by the default split, not by the in-memory one
        config = TrainConfig(data=str(tmp_path / data), split_method="grouped-shuffle")
        with pytest.raises(TransformerTFError, match="'grouped-shuffle' reads one uncompressed TSV .*'hash'"):
            held_out_splits(config)


def test_max_pairs_takes_a_seeded_subset(tmp_path):
    _write(tmp_path / "c.tsv", "".join(f"S {i}.\tF {i}.\n" for i in range(500)))
    config = TrainConfig(data=str(tmp_path / "c.tsv"), max_pairs=100)
    cleaning, _, lines = survey(open_corpus(config.data), config)
    again = survey(open_corpus(config.data), config)[2]
    assert cleaning.read == 100 == len(lines) and (lines == again).all()


# The held-out pairs of the shipped models, as the code that trained them split spa.txt
# (GroupShuffleSplit, seed 0, 5% + 5%): computed with main at eb7b4c6, before the hash split existed.
SHIPPED_HELD_OUT = {
    "validation": (5907, "409ba82aadedc80ba015ba71d5e1743d394bce5e7b5961bdce82e86f93e0b4cc"),
    "test": (5945, "ba247fe10c07be32252ca2696470cf1e447771c1cf8fc0e2cb1cc51d69b696a6"),
}


@pytest.mark.parametrize("folder", ["checkpoints/en_es", "checkpoints/en_es_rnn"])
def test_the_shipped_folders_keep_their_held_out_pairs(folder, shared_data):
    config = TrainConfig.load(folder)
    assert config.split_method == "grouped-shuffle"  # their config.json predates the field
    config.data = str(shared_data / "spa-eng" / "spa.txt")
    splits = held_out_splits(config)
    for name, (count, digest) in SHIPPED_HELD_OUT.items():
        text = "\n".join(f"{en}\t{es}" for en, es in splits[name])
        assert (len(splits[name]), hashlib.sha256(text.encode()).hexdigest()) == (count, digest)


def test_a_new_config_splits_by_hash_and_cleaning_reports_every_reason():
    assert TrainConfig().split_method == "hash"
    report = Cleaning(read=10, empty=1, length_ratio=2, duplicate=3, over_max_tokens=4).report()
    for part in ("10 pairs read", "1 with an empty side", "2 with lengths", "3 duplicates", "4 over --max-tokens"):
        assert part in report
