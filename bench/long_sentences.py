"""Long sentences through the model whole, or in clauses?

``transformer_tf.clauses`` cuts a sentence of more than ``clauses.PIECE`` source tokens after its
commas, semicolons and colons into pieces of at most that many, translates each and puts the
translations together. This compares the shipped model's translations of long sentences with that
pass and without it (each sentence whole: past the model's ``max_tokens``, only its start) on:

- ``held-out, joined``: seeded groups of the model's validation and test statements (ending in a
  full stop, no other punctuation), 2 to 14 in a group, joined into one sentence with ", and " on the
  English side and ", y " (``e`` before an i sound) on the reference side, each but the first in lower
  case (not "I", nor a name the model folder's case table writes with a capital); a row per length
  in source tokens.

Prints sacreBLEU BLEU/chrF of each way and length, and examples.

    python bench/long_sentences.py [--groups N] [--checkpoint-dir checkpoints/en_es] [--data PATH]
"""

import random
import re

import held_out

_PLAIN = re.compile(r"^[A-Z][\w' ]*\.$")  # a statement with no punctuation but its final full stop
BINS = ((33, 60), (61, 96), (97, 10_000))


def _joined(group, names):
    """One English sentence and its reference from ``group`` (pairs), joined with "and"."""
    english, spanish = [], []
    for i, (en, es) in enumerate(group):
        en, es = en[:-1], es.rstrip(".")
        if i:
            first = en.split()[0]
            en = en if first == "I" or first.startswith("I'") or first in names else en[0].lower() + en[1:]
            word = es.split()[0]
            es = es if word in names else es[0].lower() + es[1:]
            y = "e" if re.match(r"(?i)h?i(?![aeou])", es) else "y"
            english.append(f", and {en}")
            spanish.append(f", {y} {es}")
        else:
            english.append(en)
            spanish.append(es)
    return "".join(english) + ".", "".join(spanish) + "."


def main(argv=None):
    args, pairs, translator = held_out.start(__doc__, argv, groups=(600, "groups joined"))
    from transformer_tf import clauses

    names = set(translator.case_table.forms.values())
    plain = [(en, es) for en, es in pairs if _PLAIN.match(en) and es.endswith(".") and "," not in es]
    rng = random.Random(0)
    made = [_joined(rng.sample(plain, rng.randint(2, 14)), names) for _ in range(args.groups)]

    def tokens(text):
        return len(translator.source_tokenizer.encode([text])[0])

    sets = {}
    for low, high in BINS:
        name = f"{low}–{high} tokens" if high < 10_000 else f"over {low - 1} tokens (past max_tokens)"
        sets[name] = [(en, es) for en, es in made if low <= tokens(en) <= high] or None
    sets = {name: pairs for name, pairs in sets.items() if pairs}
    print(f"{args.engine}, greedy; pieces of at most {clauses.PIECE} tokens; max_tokens {translator.max_tokens}")
    outputs = held_out.rewrite_rows(
        translator.translate, clauses, "take_apart", sets, "in clauses", off=lambda *a: None
    )
    held_out.print_examples(sets, outputs, "in clauses", count=2)


if __name__ == "__main__":
    main()
