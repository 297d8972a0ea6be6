"""A stand-in model for the pre-pass tests (numbers, quotations): it copies what it reads."""

from transformer_tf.sentence_translator import SentenceTranslator


class EchoTranslator(SentenceTranslator):
    """A model that copies its input, each ``drops`` taken out of it (a stand-in it loses); records
    what it read, a list per decode."""

    places = False

    def __init__(self, drops=""):
        self.drops, self.read = drops, []

    def _decode_sentences(self, sentences, batch_size, beam, progress):
        self.read.append(list(sentences))
        return [s.replace(self.drops, "") if self.drops else s for s in sentences]
