"""The challenge set and translation speed: checkpoints and Apertium, side by side in one run.

Scores every system on ``bench/challenge_en_es.tsv`` (names, numbers, long, multi-sentence
and news-like inputs; see ``bench/challenge_en_es.md``) with ``transformer_tf.evaluate``
(sacreBLEU BLEU and chrF, overall and per category) and prints one markdown table. The
systems are the ``--checkpoint-dir`` folders (greedy unless ``--beam``) and the rule-based
``apertium -u eng-spa`` (Debian packages ``apertium`` and ``apertium-en-es``), skipped with
a note when it is not installed.

``--speed N`` also measures translation speed: sentences/s for the first N English sides
of the held-out test split (the first checkpoint's, rebuilt from its ``config.json``),
batched, after a warm-up translation of all of them (so model load and tracing are not
counted), the systems taking turns every ``--chunk`` sentences (``bench/interleave.py``'s
alternation) so that the machine's load hits them alike. Apertium runs one process per chunk.

    apt-get install -y apertium apertium-en-es      # optional: the rule-based baseline
    python bench/challenge.py --checkpoint-dir OLD --checkpoint-dir checkpoints/en_es \\
        [--hypotheses DIR] [--speed 2000 --rounds 3 --data ../shared/data/spa-eng/spa.txt]
"""

import argparse
import re
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import cli_common
from transformer_tf.config import PLACES

cli_common.quiet_tensorflow()  # before TensorFlow loads; TF_CPP_MIN_LOG_LEVEL=0 shows its logs

CHALLENGE = Path(__file__).resolve().parent / "challenge_en_es.tsv"
PLACES_CHOICES = {"off": (False,), "on": (True,), "both": (False, True)}


def add_places_choice(parser):
    """``--places off|on|both``: each model without, with, or without and with the place pre-pass."""
    parser.add_argument(
        "--places",
        choices=PLACES_CHOICES,
        default="on" if PLACES else "off",
        help="the models without the place pre-pass (Warsaw → Varsovia: transformer-tf translate "
        "--places), with it, or both side by side (default %(default)s)",
    )


def build_parser():
    """The command line; it needs no TensorFlow."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--checkpoint-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="a model folder (config.json, tokenizers, weights); repeat for several",
    )
    parser.add_argument(
        "--pairs",
        default=str(CHALLENGE),
        metavar="TSV",
        help="labelled pairs english<TAB>spanish<TAB>category (default: the challenge set)",
    )
    parser.add_argument("--no-apertium", action="store_true", help="leave apertium -u eng-spa out")
    add_places_choice(parser)
    parser.add_argument("--hypotheses", metavar="DIR", help="write each system's translations to DIR/NAME.txt")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--beam", type=int, default=1, help="beam size for the models (default 1: greedy)")
    parser.add_argument(
        "--speed",
        type=int,
        default=0,
        metavar="N",
        help="also time translating the first N held-out test sentences (e.g. 2000)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="speed rounds per system (default 3)")
    parser.add_argument(
        "--chunk",
        type=int,
        default=512,
        help="sentences each system translates before the next takes its turn (default 512)",
    )
    parser.add_argument("--data", metavar="PATH", help="spa.txt, if not where the first model was trained from")
    return parser


if __name__ == "__main__":  # --help and a bad flag answer at once, before TensorFlow loads
    build_parser().parse_args()

cli_common.import_tensorflow_quietly()  # TensorFlow's start-up lines, muted (unless TF_CPP_MIN_LOG_LEVEL is set)

from interleave import medians  # noqa: E402 (bench/interleave.py)

from transformer_tf import Translator  # noqa: E402
from transformer_tf.errors import TransformerTFError  # noqa: E402
from transformer_tf.evaluate import category_table, evaluate, evaluation_pairs, read_labelled_pairs  # noqa: E402


class Apertium:
    """``apertium -u PAIR`` with the :class:`~transformer_tf.translate.Translator`'s
    ``translate`` signature (one process per call; batch size and beam do not apply)."""

    def __init__(self, pair="eng-spa"):
        self.pair = pair

    def translate(self, sentences, batch_size=None, beam=1):
        lines = [" ".join(s.split()) for s in sentences]  # one input a line, whatever it holds
        done = subprocess.run(
            ["apertium", "-u", self.pair],
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            check=True,
        )
        out = [line.strip() for line in done.stdout.split("\n")][: len(lines)]
        if len(out) != len(lines) or done.stdout.count("\n") != len(lines):
            raise RuntimeError(f"apertium returned {done.stdout.count(chr(10))} lines for {len(lines)} inputs")
        return out


def apertium_or_none(pair="eng-spa"):
    """An :class:`Apertium` that works, or None after saying why not."""
    if shutil.which("apertium") is None:
        print("apertium: not installed (apt-get install -y apertium apertium-en-es): skipped")
        return None
    system = Apertium(pair)
    try:
        system.translate(["Hello."])
    except (subprocess.CalledProcessError, RuntimeError) as err:
        print(f"apertium -u {pair}: does not run ({getattr(err, 'stderr', '') or err}): skipped".strip())
        return None
    return system


def load_systems(checkpoint_dirs, apertium, places="off"):
    """``{name: system}``: each checkpoint folder under its path as given (``+ places`` when
    with the place pre-pass; ``places``: a key of :data:`PLACES_CHOICES`), then Apertium."""
    systems = {}
    for folder in checkpoint_dirs:
        for with_places in PLACES_CHOICES[places]:
            name = str(folder) + (" + places" if with_places else "")
            name = name if name not in systems else f"{name} #{len(systems) + 1}"
            systems[name] = Translator.from_checkpoint(folder, places=with_places)
    if apertium and (system := apertium_or_none()):
        systems["apertium"] = system
    return systems


def challenge(systems, pairs_path, batch_size, beam, hypotheses_dir=None):
    """Score every system on the labelled pairs; print one table; optionally write outputs."""
    pairs, categories = read_labelled_pairs(pairs_path)
    results = {}
    for name, system in systems.items():
        with warnings.catch_warnings(record=True) as caught:  # too-long inputs: count, don't spam
            warnings.simplefilter("always")
            results[name] = evaluate(system, pairs, batch_size, beam, categories)
        for w in caught:
            print(f"{name}: warning: {w.message}")
    decoding = f"beam {beam}" if beam > 1 else "greedy"
    print(f"\n{len(pairs)} inputs of {pairs_path}, models {decoding}; sacreBLEU BLEU and chrF\n")
    print(category_table(results))
    print(f"\nsacreBLEU {next(iter(results.values()))['bleu_signature']}; chrF: sacreBLEU CHRF() defaults")
    if hypotheses_dir:
        folder = Path(hypotheses_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "references.txt").write_text("".join(f"{es}\n" for _, es in pairs), encoding="utf-8")
        for name, result in results.items():
            stem = re.sub(r"[^\w.-]+", "_", name).strip("_")
            (folder / f"{stem}.txt").write_text("".join(f"{h}\n" for h in result["hypotheses"]), encoding="utf-8")
        print(f"wrote the references and each system's translations to {folder}/")
    return results


def speed(systems, sentences, batch_size, rounds, chunk=512):
    """Sentences/s of each system on the same sentences, after a warm-up translation of all.

    The sentences are put shortest first and cut into chunks of ``chunk`` (whole batches,
    so a model sees the batches one call of all of them would make); each round walks
    through the chunks and has every system translate each chunk in turn, the order
    rotating from chunk to chunk (``bench/interleave.py``'s alternation, finer grained): a
    busy moment of the shared machine then slows every system alike. Wall-clock time is
    the measure; the process's CPU time is reported beside it, since it depends less on
    what else runs (for Apertium, a subprocess, it is not counted).

    Returns:
        ``{name: [wall seconds for all sentences, one per round]}``.
    """
    ordered = sorted(sentences, key=len)
    chunks = [ordered[i : i + chunk] for i in range(0, len(ordered), chunk)]
    for system in systems.values():
        system.translate(ordered, batch_size=batch_size)  # traces the decoder; not timed
    names = list(systems)
    wall, cpu = ({name: [0.0] * rounds for name in names} for _ in range(2))
    for r in range(rounds):
        for i, part in enumerate(chunks):
            for name in names[i % len(names) :] + names[: i % len(names)]:
                w0, c0 = time.perf_counter(), time.process_time()
                systems[name].translate(part, batch_size=batch_size)
                wall[name][r] += time.perf_counter() - w0
                cpu[name][r] += time.process_time() - c0

    print(
        f"\ntranslation speed: {len(sentences):,} held-out sentences, batch {batch_size}, greedy, "
        f"after a warm-up; {rounds} rounds, systems taking turns every {chunk} sentences"
    )
    meds, cpu_meds = medians(wall), medians(cpu)
    first = meds[names[0]]
    for name, med in meds.items():
        best = len(sentences) / min(wall[name])
        print(
            f"  {name:32s} median {len(sentences) / med:5.0f} sentences/s, best {best:5.0f}"
            f"  ({med:.2f} s, CPU {cpu_meds[name]:.2f} s; time vs first {med / first:.2f}×)"
        )
    return wall


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.checkpoint_dir and args.no_apertium:
        parser.error("nothing to compare: give --checkpoint-dir DIR (and/or leave Apertium in).")

    if args.speed and not args.checkpoint_dir:
        parser.error("--speed takes the held-out sentences from the first --checkpoint-dir's config.")
    try:
        systems = load_systems(args.checkpoint_dir, apertium=not args.no_apertium, places=args.places)
        if not systems:
            parser.error("no system to run: give --checkpoint-dir DIR or install apertium-en-es.")
        challenge(systems, args.pairs, args.batch_size, args.beam, args.hypotheses)
        if args.speed:
            pairs, _ = evaluation_pairs(args.checkpoint_dir[0], data=args.data, limit=args.speed)
            speed(systems, [en for en, _ in pairs], args.batch_size, args.rounds, args.chunk)
    except TransformerTFError as err:
        print(f"bench/challenge.py: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
