"""Quoted speech through the model as it is, or taken apart: which translates it better?

``transformer_tf.quotes`` sends each quotation of a sentence to the model alone and the words
around it with a stand-in name, and puts the translation together. This compares the shipped
model's translations with that pass and without it (each sentence as it is) on held-out sentences:

- ``corpus``: the pairs of the model's validation and test splits whose English holds a quotation
  in double quotes (few: the corpus is everyday sentences), scored against their references;
- ``dialogue``: two held-out pairs made into one exchange, ``"A." "B."``, against ``"A_es" "B_es"``
  (seeded; a proxy for the dialogue the corpus lacks);
- ``speech``: one held-out sentence quoted in a frame, ``He said, "A."`` or ``"A," she said.`` in
  turn; scored on what the translation holds between quotation marks (all of it where it holds
  none) against the sentence's reference: the frame's words have no reference; the same with
  single quotes (``He said, 'A.'``).

For each set and way: the share of translations that hold as many quotations as their English,
how many sentences had a stand-in that did not come back once (each then translated as it was),
and sacreBLEU BLEU/chrF.

    python bench/quotes_pass.py [--checkpoint-dir checkpoints/en_es] [--data PATH] [--made 100]
"""

import random
from unittest import mock

import held_out


def _made(pairs, rng, count):
    """``(dialogue, speech)``: made pairs from held-out pairs of one sentence each (see above)."""
    plain = [(en, es) for en, es in pairs if '"' not in en + es and en[-1:] in ".!?" and len(en.split()) >= 3]
    plain = rng.sample(plain, min(len(plain), 3 * count))
    dialogue = [(f'"{a}" "{b}"', f'"{a_es}" "{b_es}"') for (a, a_es), (b, b_es) in zip(plain[:count], plain[count:])]
    speech = []
    for i, (en, es) in enumerate(plain[2 * count :]):
        quoted = f'"{en[:-1]}," she said.' if i % 2 and en.endswith(".") else f'He said, "{en}"'
        speech.append((quoted, es))
    return dialogue, speech


def _single(pairs):
    """``pairs`` with their double quotes made single (``He said, 'A.'``), the references as they are."""
    return [(en.replace('"', "'"), es) for en, es in pairs]


def main(argv=None):
    args, pairs, translator = held_out.start(__doc__, argv, made=(100, "made pairs a set"))
    from transformer_tf import quotes
    from transformer_tf.evaluate import score

    dialogue, speech = _made(pairs, random.Random(0), args.made)
    sets = {
        "corpus": [p for p in pairs if quotes.QUOTED.search(p[0])],
        "dialogue": dialogue,
        "speech": speech,
        "speech, single quotes": _single(speech),
    }
    take_apart, put_together = quotes.take_apart, quotes.Quoted.put_together
    missed = []

    def counted(self, translations):
        result = put_together(self, translations)
        missed.append(result is None)
        return result

    def quoted(text):
        """The words of each quotation in ``text``."""
        return [next(w for w in m.groups()[1::3] if w is not None) for m in quotes.QUOTED.finditer(text)]

    print(f"{args.engine}, greedy; a row per set and way")
    print("| set | sentences | way | quotations kept | stand-in missed (translated as it was) | BLEU | chrF |")
    print("|---|---:|---|---:|---:|---:|---:|")
    outputs = {}
    for name, pairs in sets.items():
        english, references = [en for en, _ in pairs], [es for _, es in pairs]
        for way in ("as they are", "taken apart (quotes)"):
            missed.clear()
            apart = take_apart if way.startswith("taken") else lambda s: None
            counting = mock.patch.object(quotes.Quoted, "put_together", counted)
            with mock.patch.object(quotes, "take_apart", apart), counting:
                out = translator.translate(english, progress=False)
            outputs[name, way] = out
            kept = sum(len(quoted(en)) == len(quoted(es)) for en, es in zip(english, out)) / max(1, len(out))
            scored = [" ".join(quoted(o)) or o for o in out] if name.startswith("speech") else out
            scores = score(scored, references)
            print(
                f"| {name} | {len(pairs)} | {way} | {kept:.1%} | {sum(missed)} | "
                f"{scores['bleu']:.1f} | {scores['chrf']:.1f} |"
            )
    print("\nexamples, as they are → taken apart:")
    for name, pairs in sets.items():
        for i, (en, _) in enumerate(pairs[:4]):
            print(f"  {en}\n    {outputs[name, 'as they are'][i]}\n    {outputs[name, 'taken apart (quotes)'][i]}")


if __name__ == "__main__":
    main()
