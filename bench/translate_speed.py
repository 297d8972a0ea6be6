"""``transformer-tf translate --file`` against ``apertium -u eng-spa`` on the same file, one run.

Writes N English sentences of the shipped model's held-out test split (evenly spread over it:
the split keeps the corpus's order, short sentences first) to one file,
then times, round after round (``bench/interleave.py``'s alternation, so the machine's load
hits all alike), each system translating **the whole file in one process**:

- ``ctranslate2``: ``transformer-tf translate --file F`` with default flags (the Transformer
  converted to CTranslate2: int8 weights, the lexical shortlist as its vocabulary map, no
  TensorFlow in the process; :mod:`transformer_tf.ctranslate2_engine`);
- ``tensorflow``: the same with ``--engine tensorflow`` (TensorFlow's fast greedy path:
  lexical shortlist, finished sentences leaving the batch, bfloat16 layers where the CPU
  has them);
- ``exact``: ``--exact`` (TensorFlow, float32, the whole vocabulary: the reference);
- ``… beam N`` (with ``--beam N``): ``translate --beam N`` on each engine;
- ``apertium``: ``apertium -u eng-spa F`` (skipped with a note when not installed).

A ``transformer-tf`` process also starts up (imports, restores or loads the model) before it
translates: the same command on a one-sentence file is timed in the same rounds (Apertium's
too), and ``N / (time of the file − time of one sentence)`` is printed beside the
whole-process rate, with each process's CPU seconds (user + system of all its threads and
child processes: Apertium is a pipeline of processes). To explain the CTranslate2 process's
time, the same rounds also time ``python -c pass`` (the interpreter's start-up) and a
CTranslate2 ``translate --file`` whose steps are timed from inside (:data:`STEPS_PROBE`: the
imports, until the first chunk is ready for CTranslate2's threads (the model loads beside it),
until the last chunk is decoded, until the output is written).
The same rounds are also run **in one process** (``--mode in-process``; ``both`` by default):
the loaded, warmed-up translators called on the file's lines (what ``translate --file`` does
after its start-up), against Apertium still one process on the whole file; there the
CTranslate2 model also runs in float32 without the shortlist (``ctranslate2 float32``: the
Keras model's exact decoding) and TensorFlow's fast path with one decode stream. The last
round's outputs are scored (sacreBLEU against the test split's references) and compared with
the exact path's.

    python bench/translate_speed.py [--sentences 3000] [--rounds 3] [--beam 4] [--mode both]
"""

import argparse
import json
import resource
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
    parser.add_argument(
        "--mode",
        choices=("process", "in-process", "both"),
        default="both",
        help="time whole processes (start-up included), the restored translators, or both",
    )
    return parser


if __name__ == "__main__":  # --help and a bad flag answer at once, before TensorFlow loads
    build_parser().parse_args()

cli_common.import_tensorflow_quietly()  # TensorFlow's start-up lines, muted (unless TF_CPP_MIN_LOG_LEVEL is set)

from interleave import interleaved_times, write_bytecode  # noqa: E402 (bench/interleave.py)

from transformer_tf.ctranslate2_engine import converted_model  # noqa: E402
from transformer_tf.evaluate import evaluation_pairs, score  # noqa: E402
from transformer_tf.translate_cli import BATCH_SIZES  # noqa: E402

APERTIUM = ["apertium", "-u", "eng-spa"]
GREEDY = ("ctranslate2", "tensorflow", "exact")  # the systems also timed on one sentence (their start-up)


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


def run(argv, path, outputs, name, cpu=None):
    """Run ``argv`` on the file ``path``; keep its output lines in ``outputs[name]``, and the CPU
    seconds (user + system, all its threads and child processes) it took in ``cpu[name]``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([*argv, str(path)], check=True, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    outputs[name] = done.stdout.splitlines()
    if cpu is not None:
        used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        cpu.setdefault(name, []).append(used)


# One fresh `translate --file` process on the default engine, its steps timed from the first line
# of the script (Python's own start-up is the rest of the process's wall time): JSON on stdout.
STEPS_PROBE = """
import json, os, sys, time
t0 = time.perf_counter()
from transformer_tf.cli import main
from transformer_tf.ctranslate2_engine import CTranslate2Translator
steps = {"imports": time.perf_counter() - t0}
start = CTranslate2Translator._start_decode
def timed(self, *args):
    steps.setdefault("first chunk ready (the model loading beside it)", time.perf_counter() - t0)
    finish = start(self, *args)
    def wait():
        result = finish()
        steps["last chunk decoded"] = time.perf_counter() - t0
        return result
    return wait
CTranslate2Translator._start_decode = timed
out, sys.stdout = sys.stdout, open(os.devnull, "w")
main(["translate", "--checkpoint-dir", sys.argv[1], "--file", sys.argv[2]])
sys.stdout.close()
steps["written"] = time.perf_counter() - t0
print(json.dumps(steps), file=out)
"""


def process_workloads(args, whole, one, outputs, cpu, steps):
    """Each system as a fresh process on the whole file (its CPU seconds in ``cpu``), the greedy
    ones and Apertium on one sentence, ``python -c pass``, and the CTranslate2 process with its
    steps timed (:data:`STEPS_PROBE`; one dict a round appended to ``steps``)."""
    systems = {
        "ctranslate2": command(args.checkpoint_dir),
        "tensorflow": command(args.checkpoint_dir, "--engine", "tensorflow"),
        "exact": command(args.checkpoint_dir, "--exact"),
    }
    if args.beam > 1:
        for engine in ("ctranslate2", "tensorflow"):
            systems[f"{engine} beam {args.beam}"] = command(
                args.checkpoint_dir, "--engine", engine, "--beam", str(args.beam)
            )
    if shutil.which("apertium"):
        systems["apertium"] = APERTIUM
    workloads = {name: (lambda a=argv, n=name: run(a, whole, outputs, n, cpu)) for name, argv in systems.items()}
    for name in [*GREEDY, "apertium"] if "apertium" in systems else GREEDY:  # start-up: one sentence
        workloads[f"{name}, one sentence"] = lambda a=systems[name], n=name: run(a, one, {}, n)
    workloads["python -c pass"] = lambda: subprocess.run([sys.executable, "-c", "pass"], check=True)
    probe = [sys.executable, "-c", STEPS_PROBE, args.checkpoint_dir]
    workloads["ctranslate2, timed steps"] = lambda: steps.append(
        json.loads(subprocess.run([*probe, str(whole)], check=True, capture_output=True, text=True).stdout)
    )
    return workloads


def print_steps(steps, whole, python):
    """Where a CTranslate2 ``translate --file`` process's time goes: the median of each step's end
    over the rounds, the interpreter's start-up (``python -c pass``) before the first."""
    ends = {name: statistics.median(s[name] for s in steps) for name in steps[0]}
    print(f"where a ctranslate2 process's {whole:.2f} s go (median end of each step, seconds):")
    print(f"- Python's start-up (python -c pass): {python:.2f}")
    last = 0.0
    for name, end in ends.items():
        print(f"- {name}: {end - last:.2f} (until {python + end:.2f})")
        last = end


def in_process_workloads(args, whole, english, outputs):
    """The loaded translators called on the file's lines (what ``translate --file`` runs after
    its start-up), warmed up first; Apertium still one process on the whole file."""
    from transformer_tf.ctranslate2_engine import CTranslate2Translator
    from transformer_tf.translate import Translator

    ct2 = CTranslate2Translator.from_checkpoint(args.checkpoint_dir)
    ct2_float32 = CTranslate2Translator.from_checkpoint(args.checkpoint_dir, compute_type="float32")
    ct2_float32.use_vmap = False  # the whole vocabulary: the Keras model's own decoding
    fast = Translator.from_checkpoint(args.checkpoint_dir)
    one_stream = Translator(fast.model, fast.source_tokenizer, fast.target_tokenizer, fast.max_tokens, streams=1)
    one_stream.shortlist, one_stream._decoders = fast.shortlist, fast._decoders  # the same compiled decoder
    exact = Translator(fast.model, fast.source_tokenizer, fast.target_tokenizer, fast.max_tokens, exact=True)
    translators = {
        "ctranslate2": (ct2, 1),
        "ctranslate2 float32": (ct2_float32, 1),
        "tensorflow": (fast, 1),
        "tensorflow, 1 stream": (one_stream, 1),
        "exact": (exact, 1),
    }
    if args.beam > 1:
        translators[f"ctranslate2 beam {args.beam}"] = (ct2, args.beam)
        translators[f"tensorflow beam {args.beam}"] = (fast, args.beam)
    workloads = {}
    for name, (translator, beam) in translators.items():
        batch = BATCH_SIZES["ctranslate2" if name.startswith("ctranslate2") else "tensorflow"]  # translate's default
        translator.translate(english[:batch], batch_size=batch, beam=beam)  # trace the decoder

        def work(translator=translator, beam=beam, name=name, batch=batch):
            outputs[name] = translator.translate(english, batch_size=batch, beam=beam)

        workloads[name] = work
    if shutil.which("apertium"):
        workloads["apertium"] = lambda: run(APERTIUM, whole, outputs, "apertium")
    return workloads


def print_table(title, times, outputs, references, startups=None, cpu=None):
    """One markdown row a system: times, sentences/s, ratio to Apertium (by best and by median
    time), CPU seconds (processes only), BLEU and chrF."""
    n = len(references)
    best = {name: min(t) for name, t in times.items()}
    median = {name: statistics.median(t) for name, t in times.items()}
    apertium = best.get("apertium")
    print(title)
    print(
        "| system | median s | best s | sentences/s (best) | × apertium (best) | × apertium (median) | CPU s (best) "
        "| without start-up | BLEU | chrF |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in outputs:
        startup = (startups or {}).get(name)
        translating = f"{n / (best[name] - startup):,.0f}/s" if startup and best[name] > startup else "—"
        ratio = f"{apertium / best[name]:.2f} | {median['apertium'] / median[name]:.2f}" if apertium else "— | —"
        used = f"{min(cpu[name]):.2f}" if cpu and name in cpu else "—"
        scored = score(outputs[name], references) if len(outputs[name]) == n else None
        quality = f"{scored['bleu']:.1f} | {scored['chrf']:.1f}" if scored else "— | —"
        print(
            f"| {name} | {median[name]:.2f} | {best[name]:.2f} | {n / best[name]:,.0f} | {ratio} | {used} "
            f"| {translating} | {quality} |"
        )
    for name in outputs:
        if "exact" in outputs and name not in ("exact", "apertium") and "beam" not in name:
            same = sum(a == b for a, b in zip(outputs[name], outputs["exact"]))
            print(f"{name} = exact on {same:,} of {n:,} sentences ({same / n:.1%})")


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
    converted_model(args.checkpoint_dir)  # the CTranslate2 model converted before the timing (its first use)
    write_bytecode()
    if not shutil.which("apertium"):
        print("apertium: not installed (apt-get install -y apertium apertium-en-es): skipped")
    n, rounds = len(english), args.rounds
    try:
        if args.mode in ("process", "both"):
            outputs, cpu, steps = {}, {}, []
            times = interleaved_times(process_workloads(args, whole, one, outputs, cpu, steps), rounds)
            names = [name for name in times if name.endswith(", one sentence")]
            startups = {name.removesuffix(", one sentence"): min(times.pop(name)) for name in names}
            python, probed = min(times.pop("python -c pass")), statistics.median(times.pop("ctranslate2, timed steps"))
            title = f"{n:,} held-out test sentences in one file, one process per system and file, {rounds} rounds"
            print_table(title, times, outputs, references, startups, cpu)
            for name, seconds in startups.items():
                print(f"start-up of {name} (the same command on one sentence): best {seconds:.2f} s")
            print_steps(steps, probed, python)
        if args.mode in ("in-process", "both"):
            outputs = {}
            times = interleaved_times(in_process_workloads(args, whole, english, outputs), rounds)
            title = f"{n:,} held-out test sentences, loaded translators (translate's batch sizes), {rounds} rounds"
            print_table(title, times, outputs, references)
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
