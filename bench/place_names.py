"""Place names on the challenge set: how many come out in their Spanish form, per system.

Runs ``bench/challenge.py``'s table (every category, BLEU and chrF, the checkpoints and
``apertium -u eng-spa`` side by side in one run), then, on the ``places`` category, counts
for each system the places of ``bench/challenge_en_es_places.tsv`` (English form, Spanish
form) whose Spanish form stands in its translation: those whose Spanish form differs
(Berlin → Berlín), split into those the gazetteer knows (:mod:`transformer_tf.places`) and
those it does not (Munich → Múnich), and the copy cases (Budapest). A form counts when it
stands in the translation as a word, case aside (``el Cairo`` counts for ``El Cairo``), as
often as the English form stands in the input.

    python bench/place_names.py --checkpoint-dir checkpoints/en_es [--checkpoint-dir runs/ft] [--places both]
        [--hypotheses DIR]
"""

import argparse
import re
import sys
from pathlib import Path

from transformer_tf.config import PLACES as PRE_PASS_DEFAULT
from transformer_tf.errors import TransformerTFError
from transformer_tf.places import spanish_form

PLACES = Path(__file__).resolve().parent / "challenge_en_es_places.tsv"
GROUPS = ("differs, in gazetteer", "differs, not in gazetteer", "copy")


def read_places(path=PLACES):
    """``{english: spanish}`` of the place list (a header row ``english<TAB>spanish``, then one place a line)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return dict(line.split("\t") for line in lines[1:] if line.strip())


def _count(form, text):
    return len(re.findall(rf"(?<![\w-]){re.escape(form)}(?![\w-])", text, flags=re.IGNORECASE))


def group_of(english, spanish):
    """Which of :data:`GROUPS` a place belongs to."""
    if english == spanish:
        return "copy"
    return "differs, in gazetteer" if spanish_form(english) == spanish else "differs, not in gazetteer"


def place_counts(inputs, hypotheses, places):
    """``{group: (right, total)}`` over every occurrence of a listed place in ``inputs``.

    Args:
        inputs: English inputs; hypotheses: a system's translations of them, in order.
        places: ``{english: spanish}``.
    """
    counts = {group: [0, 0] for group in GROUPS}
    for en, hypothesis in zip(inputs, hypotheses):
        for english, spanish in places.items():
            n = len(re.findall(rf"(?<![\w-]){re.escape(english)}(?![\w-])", en))
            if n:
                counts[group_of(english, spanish)][0] += min(n, _count(spanish, hypothesis))
                counts[group_of(english, spanish)][1] += n
    return {group: tuple(v) for group, v in counts.items()}


def place_table(results, inputs, categories, places, category="places"):
    """A markdown table: per system, the Spanish forms right per group, and the category's chrF."""
    rows = [i for i, c in enumerate(categories) if c == category]
    lines = [
        "| system | " + " | ".join(GROUPS) + " | all that differ | chrF |",
        "|---|" + "---:|" * (len(GROUPS) + 2),
    ]
    for name, result in results.items():
        counts = place_counts([inputs[i] for i in rows], [result["hypotheses"][i] for i in rows], places)
        differ = [sum(counts[g][k] for g in GROUPS[:2]) for k in (0, 1)]
        cells = [f"{right}/{total}" for right, total in counts.values()] + [f"{differ[0]}/{differ[1]}"]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {result['categories'][category]['chrf']:.1f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint-dir", action="append", default=[], metavar="DIR", help="repeat for several")
    parser.add_argument("--no-apertium", action="store_true", help="leave apertium -u eng-spa out")
    parser.add_argument(
        "--places",
        choices=("off", "on", "both"),
        default="on" if PRE_PASS_DEFAULT else "off",
        help="the models without the place pre-pass (transformer-tf translate --places), with it, or both "
        "(default %(default)s)",
    )
    parser.add_argument("--hypotheses", metavar="DIR", help="write each system's translations to DIR/NAME.txt")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    # bench/challenge.py loads TensorFlow: only once --help and a bad flag have answered
    from challenge import CHALLENGE, apertium_or_none, challenge, load_systems

    from transformer_tf.evaluate import read_labelled_pairs

    try:
        systems = load_systems(args.checkpoint_dir, apertium=False, places=args.places)
        if not args.no_apertium and (system := apertium_or_none()):
            systems["apertium"] = system
        if not systems:
            parser.error("no system to run: give --checkpoint-dir DIR or install apertium-en-es.")
        results = challenge(systems, CHALLENGE, args.batch_size, 1, args.hypotheses)
    except TransformerTFError as err:
        print(f"bench/place_names.py: error: {err}", file=sys.stderr)
        return 2
    pairs, categories = read_labelled_pairs(CHALLENGE)
    print("\nplaces category: Spanish forms right / places (every occurrence), and chrF\n")
    print(place_table(results, [en for en, _ in pairs], categories, read_places()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
