"""Which places the pre-pass should leave to the model: ``TAUGHT``, chosen on the validation split.

``transformer_tf.code_switch`` writes a gazetteer place in Spanish in the English input, except
one that ``TAUGHT`` or more training pairs show with its Spanish form (the model learnt it,
and a Spanish word in an English sentence only disturbs it). For each threshold, this
translates the held-out validation sentences that the pre-pass changes at all (the others
translate the same either way), without and with the pre-pass, and prints sacreBLEU BLEU and
chrF on them: the test split is not looked at.

    python bench/place_taught.py [--checkpoint-dir checkpoints/en_es] [--thresholds 1,5,10,20,50,none]
    python bench/place_taught.py --split test --thresholds 50      # only to report the choice
"""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint-dir", default=None, metavar="DIR", help="(default: the shipped model)")
    parser.add_argument("--thresholds", default="1,5,10,20,50,none", help="comma-separated; none: no such rule")
    parser.add_argument(
        "--split",
        choices=("validation", "test"),
        default="validation",
        help="choose on validation (default); test only to report the chosen threshold",
    )
    args = parser.parse_args(argv)
    import cli_common

    cli_common.quiet_tensorflow()  # before TensorFlow loads
    cli_common.import_tensorflow_quietly()  # its start-up lines, muted (unless TF_CPP_MIN_LOG_LEVEL is set)
    import sacrebleu

    from transformer_tf.code_switch import candidate_places, code_switch, find_collisions, training_pairs
    from transformer_tf.config import DEFAULT_CHECKPOINT_DIR
    from transformer_tf.evaluate import evaluation_pairs
    from transformer_tf.translate import Translator

    folder = args.checkpoint_dir or DEFAULT_CHECKPOINT_DIR
    thresholds = [None if t == "none" else int(t) for t in args.thresholds.split(",")]
    pairs = training_pairs(folder)
    other = set(find_collisions(pairs, taught=sys.maxsize))  # the lower-case words and first names
    counts = {e: int(r.split()[2]) for e, r in find_collisions(pairs, taught=1).items() if r.startswith("taught")}
    everything = {e: s for e, s in candidate_places().items() if e not in other}
    held_out, _ = evaluation_pairs(folder, split=args.split)
    changed = [(en, es) for en, es in held_out if code_switch(en, everything) != en]
    sources, references = [en for en, _ in changed], [[es for _, es in changed]]
    translator = Translator.from_checkpoint(folder)
    plain = translator.translate(sources, progress=False)
    print(f"{len(changed)} of {len(held_out):,} {args.split} sentences hold a place the pre-pass can switch\n")
    print("| TAUGHT | sentences switched | BLEU without | BLEU with | chrF without | chrF with |")
    print("|---|---:|---:|---:|---:|---:|")
    for taught in thresholds:
        places = {e: s for e, s in everything.items() if taught is None or counts.get(e, 0) < taught}
        switched = [code_switch(en, places) for en in sources]
        out = translator.translate(switched, progress=False)
        n = sum(a != b for a, b in zip(sources, switched))
        bleu = [sacrebleu.corpus_bleu(h, references).score for h in (plain, out)]
        chrf = [sacrebleu.corpus_chrf(h, references).score for h in (plain, out)]
        label = "none" if taught is None else taught
        print(f"| {label} | {n} | {bleu[0]:.1f} | {bleu[1]:.1f} | {chrf[0]:.1f} | {chrf[1]:.1f} |")
    most = sorted(counts.items(), key=lambda item: -item[1])[:12]
    print("\npairs per place, most taught first: " + ", ".join(f"{e} {n}" for e, n in most) + ", …")
    return 0


if __name__ == "__main__":
    sys.exit(main())
