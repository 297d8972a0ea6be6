"""Export the translator as a SavedModel that maps ``tf.string`` to ``tf.string``.

Everything runs inside the graph: NFC normalisation, SentencePiece tokenization
(tensorflow-text's op, with the tokenizer models embedded in the SavedModel), incremental
greedy decoding (the Transformer's cached keys/values, or the RNN's recurrent state: either
model kind), detokenization. Reloaded with ``tf.saved_model.load`` in any process, it gives
the same translations as :meth:`transformer_tf.translate.Translator.translate` on one sentence
that none of the Translator's Python passes changes (the places pre-pass, emoji carried around
the model). ``transformer_tf`` is not needed there, only ``tensorflow_text``, whose import
registers the SentencePiece op::

    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the SentencePiece op)

    reloaded = tf.saved_model.load("exported/")
    reloaded.translate(tf.constant(["He admired her as a great director."]))
"""

import json
from pathlib import Path

import tensorflow as tf
import tensorflow_text as tf_text

from cli_common import files
from transformer_tf.checkpoints import enclosing_model_folder
from transformer_tf.decoding import decode_length, greedy_decode
from transformer_tf.errors import TransformerTFError, os_cause
from transformer_tf.masks import PAD_ID
from transformer_tf.tokenizer import END_ID, INVALID_BYTES, SPACE_AFTER_OPENING, START_ID


class _InGraphTokenizer(tf.Module):
    """A :class:`~transformer_tf.tokenizer.SubwordTokenizer` as graph ops."""

    def __init__(self, tokenizer, name):
        super().__init__(name=name)
        # A distinct op name per tokenizer: tensorflow-text's SentencePiece resource is
        # shared by node name, so two models under the default name collapse into one
        # when the SavedModel is loaded (the Spanish side would decode with English pieces).
        self.sp = tf_text.SentencepieceTokenizer(
            model=tokenizer.model_proto, out_type=tf.int32, name=f"{name}_sentencepiece"
        )
        self.offset = tokenizer.offset
        self.bpemb_preprocess = tokenizer.bpemb_preprocess

    def encode(self, texts, max_tokens):
        """``(batch,)`` strings → ``(batch, ≤ max_tokens)`` START … END ids, 0-padded."""
        if self.bpemb_preprocess:
            texts = tf.strings.regex_replace(tf.strings.lower(texts), r"\d", "0")
        ids = tf.cast(self.sp.tokenize(texts), tf.int64) + self.offset
        ids = ids[:, : max_tokens - 2]  # as Translator.encode_sources: keep the start
        batch = tf.shape(ids.row_lengths())[0]
        start = tf.fill((batch, 1), tf.constant(START_ID, tf.int64))
        end = tf.fill((batch, 1), tf.constant(END_ID, tf.int64))
        return tf.concat([start, ids, end], axis=1).to_tensor(PAD_ID)

    def decode(self, ids):
        """``(batch, steps)`` generated ids → strings: stop at END, drop padding and START."""
        before_end = tf.cumsum(tf.cast(ids == END_ID, tf.int32), axis=1) == 0
        keep = before_end & (ids != PAD_ID) & (ids != START_ID)
        pieces = tf.ragged.boolean_mask(ids, keep) - self.offset
        text = self.sp.detokenize(tf.cast(pieces, tf.int32))
        text = tf.strings.regex_replace(text, INVALID_BYTES, "")  # as SubwordTokenizer.decode
        return tf.strings.regex_replace(text, SPACE_AFTER_OPENING, r"\1")


class ExportedTranslator(tf.Module):
    """The SavedModel's contents: model, both tokenizers, and the ``translate`` function."""

    def __init__(self, translator):
        super().__init__()
        self.model = translator.model
        self.source = _InGraphTokenizer(translator.source_tokenizer, "source")
        self.target = _InGraphTokenizer(translator.target_tokenizer, "target")
        self.max_tokens = translator.max_tokens

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def translate(self, sentences):
        """``(batch,)`` English strings → ``(batch,)`` Spanish strings; blank input gives ``""``,
        an empty batch an empty batch."""
        return tf.cond(tf.size(sentences) > 0, lambda: self._translate(sentences), lambda: tf.constant([], tf.string))

    def _translate(self, sentences):
        sentences = tf_text.normalize_utf8(sentences, "NFC")
        inp = self.source.encode(sentences, self.max_tokens)
        outputs = self.target.decode(greedy_decode(self.model, inp, decode_length(inp, self.max_tokens)))
        blank = tf.strings.length(tf.strings.strip(sentences)) == 0
        return tf.where(blank, tf.constant(""), outputs)


EXPORT_MARKER = "transformer-tf-export.json"  # written into every export: what may be replaced later


def export_translator(translator, directory, force=False):
    """Write the SavedModel to ``directory`` atomically (a fresh folder beside it, then a rename).

    What is at ``directory`` already is replaced only once the new export is complete, and
    only if it is an earlier export of this function (it holds :data:`EXPORT_MARKER`) or an
    empty folder; anything else is refused unless ``force``. The folder the translator was
    restored from, and any folder holding it or the working directory, are never replaced.
    A failure leaves ``directory`` untouched and nothing half-written behind.

    Returns:
        the ``Path`` written.

    Raises:
        TransformerTFError: ``directory`` may not be replaced.
    """
    directory = Path(directory).resolve()
    try:
        with files.atomic_folder(
            directory, lambda d: check_replaceable(d, translator.checkpoint_dir, force)
        ) as staging:
            module = ExportedTranslator(translator)
            tf.saved_model.save(module, str(staging), signatures={"translate": module.translate})
            marker = {
                "written_by": "transformer-tf export",
                "checkpoint_dir": str(translator.checkpoint_dir) if translator.checkpoint_dir else None,
            }
            (staging / EXPORT_MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    except (OSError, tf.errors.OpError) as err:  # a full disk, an unwritable parent
        raise TransformerTFError(
            f"cannot write the export to {directory}: {os_cause(err)}; nothing was changed there."
        ) from None
    return directory


def check_replaceable(directory, checkpoint_dir, force):
    """Refuse, even with ``force``: the working directory or a folder holding it, the model's
    folder or a folder holding it, and anything inside a model folder (its weights, tokenizers);
    without ``force``, whatever is not an earlier export or an empty folder."""
    protected = [Path.cwd().resolve()] + ([Path(checkpoint_dir).resolve()] if checkpoint_dir else [])
    for keep in protected:
        if directory == keep or directory in keep.parents:
            what = "the model's checkpoint_dir" if keep != protected[0] else "the working directory"
            raise TransformerTFError(
                f"{directory} is or holds {what} ({keep}): export elsewhere, e.g. "
                f"exported/en_es (never replaced, even with force=True)."
            )
    model_folder = enclosing_model_folder(directory)
    if model_folder:
        raise TransformerTFError(
            f"{directory} is inside the model folder {model_folder}: export never writes into a model "
            f"folder (its weights and tokenizers are not replaced, even with force=True); export elsewhere, "
            f"e.g. exported/en_es."
        )
    if not directory.exists() or force:
        return
    if directory.is_dir() and ((directory / EXPORT_MARKER).is_file() or not any(directory.iterdir())):
        return
    kind = "folder" if directory.is_dir() else "file"
    raise TransformerTFError(
        f"{directory} is a {kind} that is not an earlier transformer-tf export "
        f"(no {EXPORT_MARKER}): choose another path, or pass force=True to replace it."
    )
