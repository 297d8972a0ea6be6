"""How long a user waits for each command line to answer, beside ``import tensorflow`` in the same run.

Times, round after round (``bench/interleave.py``'s alternation, so the machine's load hits all
alike), fresh processes of:

- ``python -c "import tensorflow"``: the floor of any command that needs TensorFlow;
- ``transformer-tf --help``, ``lstm-tf --help``, ``dm-pipeline --help``: no TensorFlow at all;
- ``transformer-tf translate "…"``: one sentence with the shipped model on the default engine
  (CTranslate2: the cached converted model, no TensorFlow), and the same with
  ``--engine tensorflow`` (import TensorFlow, restore, trace, decode).

Prints each median wall time and its ratio to ``import tensorflow``, and whether a one-sentence
translation wrote anything on standard error (TensorFlow's log lines are muted by default).

``--breakdown`` times instead the steps of that one-sentence translation, each in a fresh process
(:data:`PROBE`): importing TensorFlow, the rest of the imports, restoring the model, the
shortlist, the bfloat16 copy of the weights, tracing the fast decoder, its first call (TensorFlow
optimises the graph) and a second sentence; with the decoder traced as it is now (no AutoGraph)
and with AutoGraph, as before, the two alternating.

    python bench/startup.py [--rounds 5] [--breakdown]
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from interleave import interleaved_times, write_bytecode  # bench/interleave.py

BIN = Path(sys.executable).parent
SENTENCE = "He admired her as a great director."


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="alternating measurement rounds")
    parser.add_argument("--breakdown", action="store_true", help="time the steps of a one-sentence translate")
    return parser


# One fresh process: the steps of `transformer-tf translate "…"`, timed one by one (seconds, JSON).
PROBE = """
import json, sys, time
steps, last = {}, time.perf_counter()
def done(name):
    global last
    now = time.perf_counter(); steps[name] = now - last; last = now
import cli_common
cli_common.quiet_tensorflow(); cli_common.import_tensorflow_quietly(); done("import tensorflow")
from transformer_tf import fast_decode
from transformer_tf.checkpoints import restore_model
from transformer_tf.shortlist import LexicalShortlist
from transformer_tf.translate import Translator
from transformer_tf.config import DEFAULT_CHECKPOINT_DIR as folder
done("other imports (Keras, SentencePiece)")
fast_decode.AUTOGRAPH = sys.argv[1] == "autograph"
config, model, source, target = restore_model(folder); done("restore the model")
shortlist = LexicalShortlist.load(folder, target.vocab_size); done("load the shortlist")
translator = Translator(model, source, target, config.max_tokens, shortlist)
decoder = translator._decoder(1); done("bfloat16 copy of the weights")
decoder._decode.get_concrete_function(); done("trace the decoder")
translator.translate(sys.argv[2]); done("first call (graph optimised, run)")
translator.translate("Where is the station?"); done("a second sentence")
print(json.dumps(steps))
"""


def breakdown(rounds):
    """Median seconds of each step of :data:`PROBE`, without and with AutoGraph, interleaved."""
    steps = {"now": [], "autograph": []}

    def probe(variant):
        def work():
            argv = [sys.executable, "-c", PROBE, variant, SENTENCE]
            steps[variant].append(json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout))

        return work

    interleaved_times({variant: probe(variant) for variant in steps}, rounds)
    print(f"one-sentence translate, step by step: fresh processes, {rounds} interleaved rounds, median s")
    print("| step | now (no AutoGraph) | with AutoGraph (before) |")
    print("|---|---:|---:|")
    for name in steps["now"][0]:
        now, before = (statistics.median(run[name] for run in steps[v]) for v in ("now", "autograph"))
        print(f"| {name} | {now:.2f} | {before:.2f} |")
    now, before = (statistics.median(sum(run.values()) for run in steps[v]) for v in ("now", "autograph"))
    print(f"| total | {now:.2f} | {before:.2f} |")


def command(name):
    """The console script ``name`` of this interpreter's environment."""
    return str(BIN / name)


def main():
    args = build_parser().parse_args()
    if args.breakdown:
        breakdown(args.rounds)
        return
    write_bytecode()
    stderr = {}

    def run(argv, key):
        def work():
            result = subprocess.run(argv, capture_output=True, text=True, check=True)
            stderr[key] = result.stderr

        return work

    workloads = {
        "import tensorflow": run([sys.executable, "-c", "import tensorflow"], "import"),
        "transformer-tf --help": run([command("transformer-tf"), "--help"], "help"),
        "lstm-tf --help": run([command("lstm-tf"), "--help"], "lstm"),
        "dm-pipeline --help": run([command("dm-pipeline"), "--help"], "pipeline"),
        f'transformer-tf translate "{SENTENCE}"': run([command("transformer-tf"), "translate", SENTENCE], "translate"),
        "the same, --engine tensorflow": run(
            [command("transformer-tf"), "translate", "--engine", "tensorflow", SENTENCE], "tensorflow"
        ),
    }
    times = interleaved_times(workloads, args.rounds)
    floor = statistics.median(times["import tensorflow"])
    print(f"fresh processes, {args.rounds} interleaved rounds, median wall time:")
    for name, runs in times.items():
        median = statistics.median(runs)
        print(f"  {name:58s} {median:6.2f} s  ({median / floor:.2f}× import tensorflow)")
    for key in ("translate", "tensorflow"):
        lines = [line for line in stderr[key].splitlines() if line.strip()]
        print(f"{key} wrote {len(lines)} line(s) on standard error" + (f": {lines[:3]}" if lines else ""))


if __name__ == "__main__":
    main()
