"""Words typed in another spelling through the model as typed, or in the corpus's form?

``transformer_tf.spelling`` writes each word of the model folder's ``spelling.json`` in the form the
training split writes it before the model: a British spelling in the American form ("colour" →
"color"), a contraction typed without its apostrophe with it ("dont" → "don't"). This compares the
shipped model's translations with that pass and without it (each sentence as typed) on:

- ``held-out, written British``: the pairs of the model's validation and test splits whose English
  holds an American form of the table, written with the British one instead ("What's your favourite
  colour?"; the references as they are);
- ``held-out, contractions without the apostrophe``: those whose English holds a contraction of the
  table, written without it ("I dont know.").

Prints sacreBLEU BLEU/chrF of each way, of the same sentences as the corpus wrote them (the
ceiling), and examples.

    python bench/spelling_pass.py [--checkpoint-dir checkpoints/en_es] [--data PATH]
"""

import re

import held_out


def _written(pairs, typed):
    """``pairs`` whose English holds a corpus form of ``typed`` (``{typed: form}``), with each such word
    written as typed instead, in its case."""
    from transformer_tf.spelling import _in_case_of

    back = {form.lower(): letters for letters, form in typed.items()}
    words = re.compile(rf"\b(?:{'|'.join(map(re.escape, back))})\b", re.IGNORECASE)
    written = ((words.sub(lambda m: _in_case_of(m[0], back[m[0].lower()]), en), es) for en, es in pairs)
    return [(en, es) for (en, es), (original, _) in zip(written, pairs) if en != original]


def main(argv=None):
    args, pairs, translator = held_out.start(__doc__, argv)
    from transformer_tf.evaluate import score
    from transformer_tf.spelling import Spellings

    forms = translator.spellings.forms
    british = {k: v for k, v in forms.items() if "'" not in v}
    apostrophes = {k: v for k, v in forms.items() if "'" in v}
    sets = {
        "held-out, written British": _written(pairs, british),
        "held-out, contractions without the apostrophe": _written(pairs, apostrophes),
    }
    print(f"{args.engine}, greedy; {len(british)} British spellings, {len(apostrophes)} contractions in spelling.json")
    outputs = held_out.rewrite_rows(translator.translate, Spellings, "respelled", sets, "respelled")
    for name, typed in (("written British", british), ("contractions", apostrophes)):
        originals = [(en, es) for en, es in pairs if _written([(en, es)], typed)]
        scores = score(translator.translate([en for en, _ in originals], progress=False), [es for _, es in originals])
        bleu, chrf = f"{scores['bleu']:.1f}", f"{scores['chrf']:.1f}"
        print(f"| {name}: the same, as the corpus wrote them | {len(originals)} | as written | {bleu} | {chrf} |")
    held_out.print_examples(sets, outputs, "respelled", count=4)


if __name__ == "__main__":
    main()
