"""What the pre-pass benches (``number_stand_ins.py``, ``quotes_pass.py``) share: their model and
corpus flags, and the model's held-out pairs with its translator."""


def add_model_arguments(parser):
    """``--checkpoint-dir``, ``--data`` and ``--engine`` on ``parser``."""
    parser.add_argument("--checkpoint-dir", default=None, metavar="DIR", help="(default: the shipped model)")
    parser.add_argument("--data", default=None, metavar="PATH", help="the corpus (default: its config's path)")
    parser.add_argument("--engine", default="ctranslate2", choices=("ctranslate2", "tensorflow"))


def held_out_and_translator(args):
    """``(pairs, translator)``: the validation and test pairs of ``args``' model (English, Spanish) and
    its translator on ``args.engine``. TensorFlow is imported, quietly: the splits are read with it."""
    import cli_common

    cli_common.quiet_tensorflow()
    cli_common.import_tensorflow_quietly()
    from transformer_tf.config import DEFAULT_CHECKPOINT_DIR
    from transformer_tf.engines import open_translator
    from transformer_tf.evaluate import evaluation_pairs

    folder = args.checkpoint_dir or DEFAULT_CHECKPOINT_DIR
    pairs = [p for split in ("validation", "test") for p in evaluation_pairs(folder, data=args.data, split=split)[0]]
    return pairs, open_translator(folder, args.engine)
