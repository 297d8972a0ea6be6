"""Sentences in capitals or in lower case: as typed, or recased first (``transformer_tf.casing``)?

The corpus's English is in sentence case. This takes held-out sentences of the shipped model
(its validation and test splits, a seeded sample) and writes each three ways:

- ``capitals``: the sentence in capitals, scored against its reference in capitals (the pass
  gives the translation of a sentence in capitals in capitals);
- ``lower case``: the sentence in lower case, scored with hypothesis and reference in lower
  case (the words alone: the pass leaves the model's case on these);
- ``as written``: the sentence itself, scored in lower case as the set above (the ceiling of the
  two sets; the pass must leave these sentences alone: it says how many it touched).

Each set is translated with the model folder's three possible tables: none (each sentence as
typed), "i" alone (:data:`~transformer_tf.casing.I_ONLY`: a folder without ``casing.json``) and the
training split's (``casing.json``, ``transformer-tf casing``). Also printed: the share of the
sentences in capitals whose recased text is the sentence exactly.

    python bench/casing_pass.py [--checkpoint-dir checkpoints/en_es] [--data PATH] [--sample 2000]
"""

import random
import types

import held_out

#: The pass off: every sentence goes to the model as typed.
AS_TYPED = types.SimpleNamespace(take_out=lambda sentence: (sentence, None))


def main(argv=None):
    args, pairs, translator = held_out.start(__doc__, argv, sample=(2000, "held-out pairs"))
    from transformer_tf.casing import I_ONLY, CaseTable
    from transformer_tf.evaluate import score

    pairs = random.Random(0).sample(pairs, min(args.sample, len(pairs)))
    english, spanish = [en for en, _ in pairs], [es for _, es in pairs]
    tables = {
        "as typed": AS_TYPED,
        '"i" alone (no casing.json)': CaseTable(I_ONLY),
        "training split's table (casing.json)": translator.case_table,
    }
    sets = {
        "capitals": ([en.upper() for en in english], [es.upper() for es in spanish], str),
        "lower case": ([en.lower() for en in english], [es.lower() for es in spanish], str.lower),
        "as written": (english, [es.lower() for es in spanish], str.lower),
    }
    for name, table in tables.items():
        if isinstance(table, CaseTable):
            same = sum(table.take_out(en.upper())[0] == en for en in english) / len(english)
            print(f"{name}: {len(table.forms):,} words; sentences in capitals recased exactly as written: {same:.1%}")
    print(f"\n{args.engine}, greedy, {len(pairs):,} held-out pairs; a row per set and table")
    print("| set | table | sentences recased | BLEU | chrF |")
    print("|---|---|---:|---:|---:|")
    examples = {}
    for set_name, (sources, references, scored_as) in sets.items():
        for name, table in tables.items():
            translator.case_table = table  # the instance's own: the class's cached property stays
            out = translator.translate(sources, progress=False)
            recased = sum(table.take_out(s)[1] is not None for s in sources)
            scores = score([scored_as(o) for o in out], references)
            print(f"| {set_name} | {name} | {recased:,} | {scores['bleu']:.1f} | {scores['chrf']:.1f} |")
            examples[set_name, name] = out[:3]
    print("\nexamples, one line per table:")
    for set_name, (sources, _, _) in sets.items():
        for i, source in enumerate(sources[:3]):
            print(f"  {source}")
            for name in tables:
                print(f"    {examples[set_name, name][i]}")


if __name__ == "__main__":
    main()
