"""``transformer-tf translate --file`` against ``apertium -u eng-spa`` on the same file, one run.

Writes N English sentences of the shipped model's held-out test split (evenly spread over it:
the split keeps the corpus's order, short sentences first) to one file,
then times, round after round (``bench/interleave.py``'s alternation, so the machine's load
hits all alike), each system translating **the whole file in one process**:

- ``fast``: ``transformer-tf translate --file F`` with default flags (the fast greedy path:
  lexical shortlist, finished sentences leaving the batch, bfloat16 layers where the CPU
  has them);
- ``exact``: the same with ``--exact`` (float32, the whole vocabulary);
- ``beam N`` (with ``--beam N``): ``translate --beam N --file F``;
- ``apertium``: ``apertium -u eng-spa F`` (skipped with a note when not installed).

A ``transformer-tf`` process also imports TensorFlow and restores the model before it
translates: the same command on a one-sentence file is timed in the same rounds, and
``N / (time of the file − time of one sentence)`` is printed beside the whole-process rate.
The last round's outputs are scored (sacreBLEU against the test split's references) and
compared with the exact path's.

    python bench/translate_speed.py [--sentences 3000] [--rounds 3] [--beam 4]
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import cli_common

cli_common.quiet_tensorflow()  # before TensorFlow loads; TF_CPP_MIN_LOG_LEVEL=0 shows its logs


def build_parser():
    """The command line; it needs no TensorFlow."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=3000, help="test-split sentences in the file")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--checkpoint-dir", default="checkpoints/en_es")
    parser.add_argument("--data", help="spa.txt, if not where the model was trained from")
    parser.add_argument("--beam", type=int, default=0, metavar="N", help="also time --beam N (default: not)")
    return parser


if __name__ == "__main__":  # --help and a bad flag answer at once, before TensorFlow loads
    build_parser().parse_args()

from interleave import interleaved_times  # noqa: E402 (bench/interleave.py)

from transformer_tf.evaluate import evaluation_pairs, score  # noqa: E402


def command(checkpoint_dir, *flags):
    """``transformer-tf translate`` (this Python, this checkout) with ``flags``; the file comes last."""
    return [
        sys.executable,
        "-m",
        "transformer_tf.cli",
        "translate",
        "--checkpoint-dir",
        checkpoint_dir,
        *flags,
        "--file",
    ]


def run(argv, path, outputs, name):
    """Run ``argv`` on the file ``path``; keep its output lines in ``outputs[name]``."""
    outputs[name] = subprocess.run([*argv, str(path)], check=True, capture_output=True, text=True).stdout.splitlines()


def main():
    args = build_parser().parse_args()

    pairs, _ = evaluation_pairs(args.checkpoint_dir, data=args.data)
    if args.sentences < len(pairs):  # evenly spread over the split, which keeps the corpus's short-to-long order
        pairs = [pairs[i * len(pairs) // args.sentences] for i in range(args.sentences)]
    english, references = [en for en, _ in pairs], [es for _, es in pairs]
    folder = Path(tempfile.mkdtemp(prefix="translate_speed_"))
    whole, one = folder / "sentences.en", folder / "one.en"
    whole.write_text("\n".join(english) + "\n", encoding="utf-8")
    one.write_text(english[0] + "\n", encoding="utf-8")

    systems = {"fast": command(args.checkpoint_dir), "exact": command(args.checkpoint_dir, "--exact")}
    if args.beam > 1:
        systems[f"beam {args.beam}"] = command(args.checkpoint_dir, "--beam", str(args.beam))
    if shutil.which("apertium"):
        systems["apertium"] = ["apertium", "-u", "eng-spa"]
    else:
        print("apertium: not installed (apt-get install -y apertium apertium-en-es): skipped")
    outputs = {}
    workloads = {name: (lambda a=argv, n=name: run(a, whole, outputs, n)) for name, argv in systems.items()}
    for name in ("fast", "exact"):  # start-up: import, restore, trace; one sentence
        workloads[f"{name}, one sentence"] = lambda a=systems[name], n=name: run(a, one, {}, n)
    try:
        times = interleaved_times(workloads, args.rounds)
    finally:
        shutil.rmtree(folder)

    n = len(english)
    best = {name: min(t) for name, t in times.items()}
    print(f"{n:,} held-out test sentences in one file, whole file per process, {args.rounds} interleaved rounds")
    print("| system | median s | best s | sentences/s (best) | × apertium | without start-up | BLEU | chrF |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    apertium = best.get("apertium")
    for name in systems:
        rate = n / best[name]
        startup = best.get(f"{name.split(',')[0]}, one sentence") if name in ("fast", "exact") else None
        translating = f"{n / (best[name] - startup):,.0f}/s" if startup and best[name] > startup else "—"
        ratio = f"{apertium / best[name]:.2f}" if apertium else "—"
        scored = score(outputs[name], references) if len(outputs[name]) == n else None
        quality = f"{scored['bleu']:.1f} | {scored['chrf']:.1f}" if scored else "— | —"
        print(
            f"| {name} | {statistics.median(times[name]):.2f} | {best[name]:.2f} | {rate:,.0f} | {ratio} "
            f"| {translating} | {quality} |"
        )
    for name in ("fast, one sentence", "exact, one sentence"):
        print(f"start-up ({name}): best {best[name]:.2f} s")
    same = sum(a == b for a, b in zip(outputs["fast"], outputs["exact"]))
    print(f"fast = exact on {same:,} of {n:,} sentences ({same / n:.1%})")


if __name__ == "__main__":
    main()
