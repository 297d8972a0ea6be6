"""Corpus BLEU and chrF of a translator (sacreBLEU, the field's reference implementation).

Pairs to score come from the held-out test (or validation) split, from a spa.txt-style TSV, or from a
*labelled* TSV whose first line is the header ``english<TAB>spanish<TAB>category``
(``bench/challenge_en_es.tsv``); a labelled file is scored overall and per category.
"""

import unicodedata

import sacrebleu

from transformer_tf.config import HELD_OUT_SPLITS, trained_config
from transformer_tf.corpus import held_out_splits
from transformer_tf.data import read_pairs
from transformer_tf.errors import TransformerTFError
from transformer_tf.text import read_text, split_lines

LABELLED_HEADER = ("english", "spanish", "category")


def score(hypotheses, references):
    """sacreBLEU corpus BLEU and chrF of ``hypotheses`` against one reference each.

    Returns:
        dict ``{"bleu": float, "chrf": float, "sentences": int, "bleu_signature": str}``.
    """
    bleu = sacrebleu.metrics.BLEU()
    chrf = sacrebleu.metrics.CHRF()
    return {
        "bleu": bleu.corpus_score(hypotheses, [references]).score,
        "chrf": chrf.corpus_score(hypotheses, [references]).score,
        "sentences": len(hypotheses),
        "bleu_signature": str(bleu.get_signature()),
    }


def score_by_category(hypotheses, references, categories):
    """:func:`score` of each category's subset, in the order categories first appear.

    Returns:
        dict ``{category: score dict}``.
    """
    if not len(hypotheses) == len(references) == len(categories):
        raise ValueError("hypotheses, references and categories must have the same length.")
    return {
        name: score(
            [h for h, c in zip(hypotheses, categories) if c == name],
            [r for r, c in zip(references, categories) if c == name],
        )
        for name in dict.fromkeys(categories)
    }


def read_labelled_pairs(path):
    """Pairs and their categories from a TSV, with or without a header row.

    A file whose first line is ``english<TAB>spanish<TAB>category`` is labelled: every
    other line must then have exactly those three non-empty fields. Any other file is read
    as the corpus is (:func:`~transformer_tf.data.read_pairs`: a third column there is
    spa.txt's attribution, not a category).

    Returns:
        ``(pairs, categories)``: ``(english, spanish)`` tuples (NFC) and one category per
        pair, or ``None`` for an unlabelled file.

    Raises:
        TransformerTFError: not UTF-8, a labelled line without three fields, or no pairs.
    """
    lines = split_lines(read_text(path, f"--pairs {path}"))  # strict UTF-8, as every text input
    header = tuple(field.strip().lower() for field in lines[0].split("\t")) if lines else ()
    if header != LABELLED_HEADER:
        return read_pairs(path), None
    pairs, categories = [], []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = [unicodedata.normalize("NFC", field.strip()) for field in line.split("\t")]
        if len(fields) != 3 or not all(fields):
            raise TransformerTFError(
                f"{path}, line {number}: need english<TAB>spanish<TAB>category "
                f"(the header's three columns, none empty); found {len(fields)} field(s)."
            )
        pairs.append(tuple(fields[:2]))
        categories.append(fields[2])
    if not pairs:
        raise TransformerTFError(f"{path}: a header row but no english<TAB>spanish<TAB>category lines.")
    return pairs, categories


def evaluation_pairs(checkpoint_dir, pairs_path=None, data=None, limit=None, split="test"):
    """The pairs to score: a given TSV, else one of the run's held-out splits.

    The split (``"test"``, or ``"validation"``: the one to choose a release or a setting
    on, so that the test split stays unseen) is rebuilt from ``config.json`` (same corpus
    subset, fractions and seed), so it is one the model never trained on. ``data``: where
    that corpus is, if not at the path saved in the config; another corpus is refused
    (:func:`~transformer_tf.config.trained_config`).

    Returns:
        ``(pairs, categories)``; ``categories`` is one label per pair for a labelled TSV
        (see :func:`read_labelled_pairs`), else ``None``.
    """
    if limit is not None and limit < 1:  # before the corpus is read
        raise TransformerTFError(f"limit {limit}: give a number of pairs ≥ 1 (or None: all of them).")
    if pairs_path:
        pairs, categories = read_labelled_pairs(pairs_path)
    else:
        config = trained_config(checkpoint_dir, data)  # the corpus it was trained on, checked
        if split not in HELD_OUT_SPLITS:
            raise TransformerTFError(f"split {split!r}: choose one of {', '.join(HELD_OUT_SPLITS)}.")
        pairs, categories = held_out_splits(config)[split], None
    if limit is not None:
        pairs, categories = pairs[:limit], categories and categories[:limit]
    return pairs, categories


def evaluate(translator, pairs, batch_size=64, beam=1, categories=None):
    """Translate the English side of ``pairs`` (greedy, or beam search with ``beam`` beams)
    and score it against the Spanish side.

    ``translator`` is anything with ``translate(sentences, batch_size=, beam=)``.

    Returns:
        :func:`score`'s dict plus ``"hypotheses"`` (the translations) and, when
        ``categories`` (one per pair) is given, ``"categories"``: :func:`score_by_category`.
    """
    hypotheses = translator.translate([en for en, _ in pairs], batch_size=batch_size, beam=beam)
    return evaluate_hypotheses(hypotheses, [es for _, es in pairs], categories)


def evaluate_hypotheses(hypotheses, references, categories=None):
    """:func:`score` with the hypotheses kept and, given ``categories``, per-category scores:
    the result :func:`evaluate` returns, for translations made by any system."""
    result = {**score(hypotheses, references), "hypotheses": list(hypotheses)}
    if categories is not None:
        result["categories"] = score_by_category(hypotheses, references, categories)
    return result


def category_table(results):
    """A markdown table of BLEU and chrF per category, one column pair per system.

    Args:
        results: ``{system name: result}`` with results from :func:`evaluate` or
            :func:`evaluate_hypotheses` on the same pairs (with ``"categories"``, or only the overall row).

    Returns:
        the table as a string: one row per category, then ``all``.
    """
    first = next(iter(results.values()))
    rows = [
        (name, part["sentences"], lambda result, name=name: result["categories"][name])
        for name, part in first.get("categories", {}).items()
    ]
    rows.append(("all", first["sentences"], lambda result: result))
    lines = [
        "| category | sentences | " + " | ".join(f"{system} BLEU | {system} chrF" for system in results) + " |",
        "|---|---:|" + "---:|---:|" * len(results),
    ]
    for name, count, part_of in rows:
        cells = [f"{part_of(result)['bleu']:.1f} | {part_of(result)['chrf']:.1f}" for result in results.values()]
        lines.append(f"| {name} | {count} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
