"""How long a user waits for each command line to answer, beside ``import tensorflow`` in the same run.

Times, round after round (``bench/interleave.py``'s alternation, so the machine's load hits all
alike), fresh processes of:

- ``python -c "import tensorflow"``: the floor of any command that needs TensorFlow;
- ``transformer-tf --help``, ``lstm-tf --help``, ``dm-pipeline --help``: no TensorFlow at all;
- ``transformer-tf translate "…"``: one sentence with the shipped model (import, restore, decode).

Prints each median wall time and its ratio to ``import tensorflow``, and whether a one-sentence
translation wrote anything on standard error (TensorFlow's log lines are muted by default).

    python bench/startup.py [--rounds 5]
"""

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

from interleave import interleaved_times  # bench/interleave.py

BIN = Path(sys.executable).parent
SENTENCE = "He admired her as a great director."


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="alternating measurement rounds")
    return parser


def command(name):
    """The console script ``name`` of this interpreter's environment."""
    return str(BIN / name)


def main():
    args = build_parser().parse_args()
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
    }
    times = interleaved_times(workloads, args.rounds)
    floor = statistics.median(times["import tensorflow"])
    print(f"fresh processes, {args.rounds} interleaved rounds, median wall time:")
    for name, runs in times.items():
        median = statistics.median(runs)
        print(f"  {name:58s} {median:6.2f} s  ({median / floor:.2f}× import tensorflow)")
    lines = [line for line in stderr["translate"].splitlines() if line.strip()]
    print(f"translate wrote {len(lines)} line(s) on standard error" + (f": {lines[:3]}" if lines else ""))


if __name__ == "__main__":
    main()
