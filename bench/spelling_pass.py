"""British spellings through the model as typed, or in the American form its corpus writes?

``transformer_tf.spelling`` writes each British spelling of the model folder's ``spelling.json``
(Breame's pairs whose American form the training split writes more often: "colour" → "color",
"realise" → "realize") in its American form before the model. This compares the shipped model's
translations with that pass and without it (each sentence as typed) on:

- ``held-out``: the pairs of the model's validation and test splits whose English holds an American
  form of the table, written with the British one instead ("What's your favourite colour?"; the
  references as they are).

Prints sacreBLEU BLEU/chrF of each way, of the same sentences as the corpus wrote them (the
ceiling), and examples.

    python bench/spelling_pass.py [--checkpoint-dir checkpoints/en_es] [--data PATH]
"""

import re

import held_out


def _in_british(pairs, forms):
    """``pairs`` whose English holds an American form of ``forms`` (``{british: american}``), with each
    such word written the British way, in its case."""
    from transformer_tf.spelling import _in_case_of

    british = {american: b for b, american in forms.items()}
    words = re.compile(rf"\b(?:{'|'.join(map(re.escape, british))})\b", re.IGNORECASE)
    written = ((words.sub(lambda m: _in_case_of(m[0], british[m[0].lower()]), en), es) for en, es in pairs)
    return [(en, es) for (en, es), (original, _) in zip(written, pairs) if en != original]


def main(argv=None):
    args, pairs, translator = held_out.start(__doc__, argv)
    from transformer_tf.evaluate import score
    from transformer_tf.spelling import Spellings

    british = _in_british(pairs, translator.spellings.forms)
    sets = {"held-out, written British": british}
    print(f"{args.engine}, greedy; {len(translator.spellings.forms)} pairs in the model's spelling.json")
    outputs = held_out.rewrite_rows(translator.translate, Spellings, "respelled", sets, "respelled")
    american = [en for en, _ in pairs if _in_british([(en, "")], translator.spellings.forms)]
    scores = score(translator.translate(american, progress=False), [es for _, es in british])
    bleu, chrf = f"{scores['bleu']:.1f}", f"{scores['chrf']:.1f}"
    print(f"| the same, as the corpus wrote them | {len(american)} | American | {bleu} | {chrf} |")
    held_out.print_examples(sets, outputs, "respelled", count=8)


if __name__ == "__main__":
    main()
