"""The held-out sentences the place pre-pass changes, translated without and with it.

``transformer-tf evaluate --places`` and ``--no-places`` score the whole split, where the few
sentences with a switchable place hardly move the total. This prints how many sentences of
each split the pre-pass (:mod:`transformer_tf.code_switch`) changes, how many of their
translations differ, and BLEU / chrF on those sentences alone, without and with it; with
``--show``, each translation that differs.

    python bench/place_subsets.py [--checkpoint-dir checkpoints/en_es] [--split validation --split test] [--show]
"""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint-dir", default=None, metavar="DIR", help="(default: the shipped model)")
    parser.add_argument("--split", action="append", choices=("validation", "test"), help="repeat for both")
    parser.add_argument("--show", action="store_true", help="print each translation that differs")
    args = parser.parse_args(argv)
    import cli_common

    cli_common.quiet_tensorflow()  # before TensorFlow loads
    cli_common.import_tensorflow_quietly()  # its start-up lines, muted (unless TF_CPP_MIN_LOG_LEVEL is set)
    import sacrebleu

    from transformer_tf.code_switch import with_stand_ins
    from transformer_tf.config import DEFAULT_CHECKPOINT_DIR
    from transformer_tf.evaluate import evaluation_pairs
    from transformer_tf.translate import Translator

    folder = args.checkpoint_dir or DEFAULT_CHECKPOINT_DIR
    translator = Translator.from_checkpoint(folder, places=False)
    for split in args.split or ["validation", "test"]:
        pairs, _ = evaluation_pairs(folder, split=split)
        changed = [(en, es) for en, es in pairs if with_stand_ins(en)[0] != en]
        sources, references = [en for en, _ in changed], [[es for _, es in changed]]
        translator.places = False
        without = translator.translate(sources, progress=False)
        translator.places = True
        with_places = translator.translate(sources, progress=False)
        differ = [(s, a, b) for s, a, b in zip(sources, without, with_places) if a != b]
        bleu = [sacrebleu.corpus_bleu(h, references).score for h in (without, with_places)]
        chrf = [sacrebleu.corpus_chrf(h, references).score for h in (without, with_places)]
        print(
            f"{split}: the pre-pass changes {len(changed)} of {len(pairs):,} inputs and {len(differ)} translations; "
            f"on those {len(changed)}: BLEU {bleu[0]:.1f} → {bleu[1]:.1f}, chrF {chrf[0]:.1f} → {chrf[1]:.1f}"
        )
        for source, a, b in differ if args.show else ():
            print(f"  {source}\n    without: {a}\n    with:    {b}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
