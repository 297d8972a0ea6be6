"""Where an emoji between words goes back in the translation: rules compared on reference pairs.

``transformer_tf.pictographs.put_back`` puts an emoji that stood between two words after the same
share of the translation's words. No corpus pairs emoji, so a proxy stands in: a name that the
reference copies unchanged (capitalised, not the first word, once on each side) is a word whose
place in the Spanish is known. An emoji right after it in the English ("Tom 👋 is here.") should
come right after it in the Spanish, one right before it right before it. For each rule, and each
of the two, this prints how often the rule puts the emoji there and how many words off it is on
average, and checks that ``put_back`` does what its rule says. The pairs are the shipped model's
validation split (no model is run).

    python bench/pictograph_position.py [--checkpoint-dir checkpoints/en_es] [--data PATH] [--split validation]
"""

import argparse
import re

SHIPPED = "same share of the words (put_back)"


def _rules(i, n, m):
    """Each rule's Spanish slot (words before the emoji) for an emoji ``i`` words into ``n`` English
    words, ``m`` Spanish words; as ``put_back``, never before the first word nor after the last."""

    def clamp(slot):
        return min(max(slot, 1), m - 1)

    share, from_end = i * m / n, m - (n - i)
    return {
        SHIPPED: clamp(int(share + 0.5)),
        "as many words from the start": clamp(i),
        "as many words from the end": clamp(from_end),
        "mean of the share and from the end": clamp(int((share + from_end) / 2 + 0.5)),
    }


def _cases(pairs):
    """``(english words, spanish words, i, j)`` of each copied name: its index in each."""
    for english, spanish in pairs:
        en, es = english.split(), spanish.split()
        bare_en, bare_es = [re.sub(r"\W", "", w) for w in en], [re.sub(r"\W", "", w) for w in es]
        for i, word in enumerate(en[1:], start=1):
            name = bare_en[i]
            if word[:1].isupper() and name and bare_en.count(name) == 1 and bare_es.count(name) == 1:
                yield en, es, i, bare_es.index(name)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint-dir", default=None, metavar="DIR", help="(default: the shipped model)")
    parser.add_argument("--data", default=None, metavar="PATH", help="the corpus (default: its config's path)")
    parser.add_argument("--split", choices=("validation", "test"), default="validation")
    args = parser.parse_args(argv)
    import cli_common

    cli_common.quiet_tensorflow()  # the corpus reader may load TensorFlow: its start-up lines muted
    cli_common.import_tensorflow_quietly()
    from transformer_tf.config import DEFAULT_CHECKPOINT_DIR
    from transformer_tf.evaluate import evaluation_pairs
    from transformer_tf.pictographs import put_back, take_out

    pairs, _ = evaluation_pairs(args.checkpoint_dir or DEFAULT_CHECKPOINT_DIR, data=args.data, split=args.split)
    stats = {side: {"cases": 0, "put_back": 0, "hits": {}, "off": {}} for side in ("before", "after")}
    for en, es, i, j in _cases(pairs):
        for side, shift in (("before", 0), ("after", 1)):  # the emoji before the name, or after it
            k, t = i + shift, j + shift  # words before the emoji in each; inner in both, or not counted
            if not (0 < k < len(en) and 0 < t < len(es)):
                continue
            counts = stats[side]
            counts["cases"] += 1
            for rule, slot in _rules(k, len(en), len(es)).items():
                counts["hits"][rule] = counts["hits"].get(rule, 0) + (slot == t)
                counts["off"][rule] = counts["off"].get(rule, 0) + abs(slot - t)
            placed = put_back(" ".join(es), take_out(" ".join([*en[:k], "🍕", *en[k:]])))
            counts["put_back"] += placed.split().index("🍕") == t
    before, after = stats["before"], stats["after"]
    print(
        f"copied names inside {len(pairs):,} {args.split} pairs: an emoji after {after['cases']:,} of them, "
        f"before {before['cases']:,}\n"
    )
    print("| rule | emoji after the name: right | words off | emoji before the name: right | words off |")
    print("|---|---:|---:|---:|---:|")
    for rule in after["hits"]:
        cells = [f"{s['hits'][rule] / s['cases']:.1%} | {s['off'][rule] / s['cases']:.2f}" for s in (after, before)]
        print(f"| {rule} | {' | '.join(cells)} |")
    shares = [f"{s['put_back'] / s['cases']:.1%} {side}" for side, s in (("after", after), ("before", before))]
    print(f"\nput_back itself: {', '.join(shares)}")


if __name__ == "__main__":
    main()
