"""The encoded shards: batch counts, resumable streams, reuse on resume, damage and corpus changes found."""

import dataclasses
import random

import numpy as np
import pytest

from transformer_tf.augment_stream import NUMBER_SHARE_CAP, StreamAugmenter
from transformer_tf.config import TrainConfig
from transformer_tf.corpus import held_out_pairs
from transformer_tf.errors import TransformerTFError
from transformer_tf.prepare import prepare_shards
from transformer_tf.shards import batches_per_epoch, decode_record, encode_record, shard_batches, shard_files
from transformer_tf.train import make_tokenizers


def _corpus_lines(n, seed=0):
    rng = random.Random(seed)
    words = "the cat dog house red big small runs sees eats we you they".split()
    palabras = "el gato perro casa rojo grande pequeño corre ve come nosotros tú ellos".split()
    lines = []
    for i in range(n):
        k = rng.randint(1, 12)
        picks = [rng.randrange(len(words)) for _ in range(k)]
        lines.append(f"{' '.join(words[p] for p in picks)} {i}.\t{' '.join(palabras[p] for p in picks)} {i}.")
    return lines


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A corpus of 3,000 lines prepared once: ``(config, run folder, data)``; tests that change it copy it."""
    base = tmp_path_factory.mktemp("shards")
    (base / "c.tsv").write_text("\n".join(_corpus_lines(3000)) + "\n", encoding="utf-8")
    config = TrainConfig(data=str(base / "c.tsv"), vocab_size=300, max_tokens=24)
    data = prepare_shards(config, base / "run", make_tokenizers, verbose=0)
    return config, base / "run", data


def test_a_record_holds_both_sides():
    source, target = decode_record(encode_record([2, 7, 9, 3], [2, 5, 3]))
    assert source.numpy().tolist() == [2, 7, 9, 3] and target.numpy().tolist() == [2, 5, 3]


@pytest.mark.parametrize("drop_remainder", [False, True])
def test_the_batch_count_from_the_histogram_is_what_the_shards_give(prepared, drop_remainder):
    config, _, data = prepared
    files, records = shard_files(data.folder, data.manifest, "train")
    counted = sum(1 for _ in shard_batches(files, 32, config.max_tokens, 5, drop_remainder, records))
    assert data.steps_per_epoch(32, config.max_tokens, drop_remainder) == counted > 0
    histogram = data.manifest["splits"]["train"]["histogram"]
    assert batches_per_epoch(histogram, 10**6, config.max_tokens) == sum(1 for h in _buckets(histogram, config) if h)


def _buckets(histogram, config):
    from transformer_tf.data import bucket_limits

    edges = [0, *bucket_limits(max_tokens=config.max_tokens), len(histogram)]
    return [sum(histogram[a:b]) for a, b in zip(edges, edges[1:])]


def test_an_epoch_holds_every_training_pair_once_in_a_seeded_order(prepared):
    config, _, data = prepared
    files, records = shard_files(data.folder, data.manifest, "train")

    def rows(seed):
        out = []
        for (inp, _), _ in shard_batches(files, 32, config.max_tokens, seed, False, records):
            out += [tuple(r[r > 0]) for r in inp.numpy()]
        return out

    first, again, other = rows(1), rows(1), rows(2)
    assert first == again and first != other and sorted(first) == sorted(other)
    assert len(first) == data.manifest["splits"]["train"]["pairs"]


def test_a_resumed_stream_gives_the_batches_an_uninterrupted_one_gives(prepared):
    config, _, data = prepared
    steps = data.steps_per_epoch(32, config.max_tokens)
    straight = [x[0].numpy() for (x, _) in data.train_stream(0, 0, steps, 32, config.max_tokens).take(steps + 5)]
    resumed = [x[0].numpy() for (x, _) in data.train_stream(0, steps - 3, steps, 32, config.max_tokens).take(8)]
    for a, b in zip(straight[steps - 3 :], resumed, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_validation_shard_holds_the_held_out_validation_pairs(prepared):
    config, _, data = prepared
    expected = held_out_pairs(config)["validation"]
    sources = data.tokenizers[0].encode([en for en, _ in expected])
    targets = data.tokenizers[1].encode([es for _, es in expected])
    fits = [len(s) <= config.max_tokens and len(t) <= config.max_tokens for s, t in zip(sources, targets)]
    kept = sorted(tuple(s) for s, fit in zip(sources, fits) if fit)
    got = []
    for (inp, _), _ in data.validation(16, config.max_tokens):
        got += [tuple(r[r > 0]) for r in inp.numpy()]
    assert sorted(got) == kept and len(got) == data.manifest["splits"]["validation"]["pairs"] > 0


def test_a_resumed_run_reuses_the_shards_without_reading_the_corpus(prepared, monkeypatch):
    config, run, data = prepared
    before = {p.name: p.stat().st_mtime_ns for p in data.folder.iterdir()}

    def no_second_read(*args, **kwargs):
        raise AssertionError("the corpus was read again")

    monkeypatch.setattr("transformer_tf.prepare.survey", no_second_read)
    again = prepare_shards(config, run, make_tokenizers, data.tokenizers, verbose=0)
    assert again.manifest == data.manifest
    assert {p.name: p.stat().st_mtime_ns for p in data.folder.iterdir()} == before


def test_a_damaged_shard_is_named_with_the_fix(prepared, tmp_path):
    import shutil

    config, run, data = prepared
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    shard = copy / "shards" / data.manifest["splits"]["train"]["files"][3]["name"]
    raw = bytearray(shard.read_bytes())
    raw[40] ^= 0xFF
    shard.write_bytes(bytes(raw))
    with pytest.raises(TransformerTFError, match=rf"shard .*{shard.name} is damaged .*delete .*shards"):
        prepare_shards(config, copy, make_tokenizers, data.tokenizers, verbose=0)


def test_a_changed_corpus_is_found_before_training(prepared, tmp_path):
    import shutil

    config, _, data = prepared
    shutil.copytree(data.folder, tmp_path / "shards")
    changed = tmp_path / "c.tsv"
    changed.write_text("\n".join(_corpus_lines(3000)[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(TransformerTFError, match=r"encoded from other inputs \(corpus changed; corpus then c.tsv"):
        prepare_shards(dataclasses.replace(config, data=str(changed)), tmp_path, make_tokenizers, data.tokenizers, 0)


def test_shards_hold_the_cleaning_counts_and_drop_pairs_over_the_token_limit(prepared):
    config, _, data = prepared
    cleaning = data.manifest["cleaning"]
    assert cleaning["read"] == 3000 and sum(cleaning["kept"].values()) == 3000
    assert cleaning["over_max_tokens"] > 0  # 12 words and a number do not always fit 24 pieces
    histogram = data.manifest["splits"]["train"]["histogram"]
    assert len(histogram) == config.max_tokens + 1 and sum(histogram) == data.manifest["splits"]["train"]["pairs"]
    assert any(line.startswith("corpus: 3,000 pairs read") for line in data.report())


def test_augmentation_stays_a_share_of_the_corpus_when_every_line_has_a_number():
    """Before: 5 copies of every pair holding a number (a corpus like this grew 6x)."""
    pairs = [tuple(line.split("\t")) for line in _corpus_lines(4000)]
    augmenter = StreamAugmenter(pairs[:1000], seed=0, names=0.2, numbers=5, concat=0.1)
    added = sum(len(augmenter(en, es)) for en, es in pairs)
    assert augmenter.counts["numbers"] <= 1.1 * NUMBER_SHARE_CAP * len(pairs)
    assert 0.05 * len(pairs) < augmenter.counts["joined"] < 0.15 * len(pairs)
    assert added == sum(augmenter.counts.values()) < 0.5 * len(pairs)


def test_train_refuses_a_misaligned_moses_pair_with_status_2_and_writes_nothing(tmp_path, capsys):
    from transformer_tf.cli import main

    (tmp_path / "corpus.en").write_text("Go.\nHi.\nRun.\n", encoding="utf-8")
    (tmp_path / "corpus.es").write_text("Ve.\nHola.\n", encoding="utf-8")
    code = main(["train", "--data", str(tmp_path / "corpus"), "--checkpoint-dir", str(tmp_path / "ck")])
    err = capsys.readouterr().err
    assert code == 2 and "corpus.en has 3 lines" in err and "corpus.es has 2" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.en", "corpus.es"]


def _one_pair_at_a_time(config, tokenizers):
    """The records of each split as the first streaming version wrote them: the corpus read
    line by line, each pair cleaned, split and encoded on its own (``Tokenizer.encode``)."""
    import unicodedata

    from transformer_tf.corpus import Cleaning, split_of
    from transformer_tf.shards import encode_record

    records, seen, probe = {"train": [], "validation": []}, set(), Cleaning()
    with open(config.data, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\r\n").split("\t", 2)
            en, es = (unicodedata.normalize("NFC", field.strip()) for field in fields[:2])
            if probe.reason(en, es) or (en, es) in seen:
                continue
            seen.add((en, es))
            split = split_of(en, config.seed, config.val_fraction, config.test_fraction)
            source, target = tokenizers[0].encode(en), tokenizers[1].encode(es)
            if split != "test" and max(len(source), len(target)) <= config.max_tokens:
                records[split].append(encode_record(source, target))
    return records


def test_the_batched_threaded_encoding_writes_what_one_pair_at_a_time_writes(prepared, tmp_path, monkeypatch):
    """Blocks of lines, one SentencePiece call a chunk, worker threads (forced here for
    3,000 lines): the same records, in the same files, in the same order."""
    import tensorflow as tf

    config, _, data = prepared
    config = dataclasses.replace(config, augment=False)
    monkeypatch.setattr("transformer_tf.prepare.HELPER_MIN_PAIRS", 0)
    threaded = prepare_shards(config, tmp_path / "run", make_tokenizers, data.tokenizers, verbose=0)
    expected = _one_pair_at_a_time(config, data.tokenizers)
    for split, records in expected.items():
        files, _ = shard_files(threaded.folder, threaded.manifest, split)
        assert len(records) == threaded.manifest["splits"][split]["pairs"] > 0
        for i, path in enumerate(files):
            assert [r.numpy() for r in tf.data.TFRecordDataset(path)] == records[i :: len(files)]


def test_reading_in_blocks_gives_the_pairs_line_by_line_reading_gives(tmp_path, monkeypatch):
    """A BOM, CRLF line ends, a decomposed é in one block only, a line without a tab, a
    last line without a line end: blocks of 2 lines give what ``for line in file`` gives."""
    import unicodedata

    from transformer_tf.corpus import iter_pairs, open_corpus

    monkeypatch.setattr("transformer_tf.corpus.BLOCK_LINES", 2)
    text = "\ufeffGo.\tVe.\r\n Hi. \tHola.\r\nno tab\nCafe\u0301.\tCafé.\n\n  \t x\nLast.\tÚltimo."
    (tmp_path / "c.tsv").write_bytes(text.encode())
    expected = []
    for line in text.lstrip("\ufeff").split("\n"):
        fields = line.rstrip("\r\n").split("\t", 2)
        pair = [unicodedata.normalize("NFC", f.strip()) for f in fields[:2]]
        expected.append(tuple(pair) if len(fields) >= 2 else ("", ""))
    assert list(iter_pairs(open_corpus(tmp_path / "c.tsv"))) == expected
    assert expected[3] == ("Café.", "Café.")


def test_the_preparation_progress_is_shown_only_on_a_terminal(monkeypatch):
    import io
    import sys

    from transformer_tf import prepare

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for stream, shown in ((io.StringIO(), False), (Terminal(), True)):
        monkeypatch.setattr(sys, "stderr", stream)
        with prepare._progress(1, "reading the corpus (1/2)") as bar:
            bar.update(5)
        assert ("reading the corpus" in stream.getvalue()) is shown


def test_the_helper_process_writes_the_shards_the_main_process_writes(prepared, tmp_path, monkeypatch):
    """Augmentation on: every shard's SHA-256 is the same whether the pairs are encoded in
    the helper process (forced here for 3,000 lines) or in the main one."""
    config, _, data = prepared
    monkeypatch.setattr("transformer_tf.prepare.HELPER_MIN_PAIRS", 0)
    helped = prepare_shards(config, tmp_path / "run", make_tokenizers, data.tokenizers, verbose=0)
    assert helped.digests() == data.digests() and len(data.digests()) == 17
    assert helped.manifest["augmented"] == data.manifest["augmented"] and sum(data.manifest["augmented"].values())


def test_an_encoding_helper_that_ends_early_is_an_error_naming_it(prepared):
    from transformer_tf.prepare import Chunk
    from transformer_tf.records import ChunkEncoder

    _, _, data = prepared
    chunk = Chunk()
    chunk.add("the cat 1.", "el gato 1.")
    with pytest.raises(TransformerTFError, match="encoding helper process"):
        with ChunkEncoder(data.tokenizers, 24, True, lambda key, result: None) as encoder:
            encoder.proc.kill()
            encoder.submit(1, chunk)


def test_an_interrupted_preparation_ends_its_helper_process(prepared):
    from transformer_tf.prepare import Chunk
    from transformer_tf.records import ChunkEncoder

    _, _, data = prepared
    chunk = Chunk()
    chunk.add("the cat 1.", "el gato 1.")
    with pytest.raises(KeyboardInterrupt):
        with ChunkEncoder(data.tokenizers, 24, True, lambda key, result: None) as encoder:
            encoder.submit(1, chunk)
            helper = encoder.proc
            raise KeyboardInterrupt
    assert helper.returncode is not None  # ended and waited for: no process left behind
