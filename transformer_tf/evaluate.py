"""Corpus BLEU and chrF of a translator (sacreBLEU, the field's reference implementation)."""

import sacrebleu

from transformer_tf.data import read_pairs
from transformer_tf.errors import TransformerTFError
from transformer_tf.train import TrainConfig, load_splits


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


def evaluation_pairs(checkpoint_dir, pairs_path=None, data=None, limit=None):
    """The pairs to score: a given TSV, else the run's held-out test split.

    The test split is rebuilt from ``config.json`` (same corpus subset, fractions and
    seed), so it is the one the model never saw. ``data`` overrides the corpus path saved
    in the config.
    """
    if pairs_path:
        pairs = read_pairs(pairs_path)
    else:
        config = TrainConfig.load(checkpoint_dir)
        if data:
            config.data = str(data)
        pairs = load_splits(config)["test"]
    if limit is not None and limit < 1:
        raise TransformerTFError(f"--limit {limit}: give a number of pairs ≥ 1 (or leave it out: all of them).")
    return pairs if limit is None else pairs[:limit]


def evaluate(translator, pairs, batch_size=64, beam=1):
    """Translate the English side of ``pairs`` (greedy, or beam search with ``beam`` beams)
    and score it against the Spanish side."""
    hypotheses = translator.translate([en for en, _ in pairs], batch_size=batch_size, beam=beam)
    return score(hypotheses, [es for _, es in pairs])
