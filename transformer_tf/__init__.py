"""transformer_tf: the Transformer of the article series, in TensorFlow 2 / Keras 3.

Names follow the official TensorFlow tutorial the articles port, so article and code
can be read side by side::

    from transformer_tf import (MultiHeadAttention, scaled_dot_product_attention,
                                create_padding_mask, create_look_ahead_mask, Transformer,
                                CustomSchedule)

and the object a user wants first, the shipped translator::

    from transformer_tf import Translator
    Translator.from_checkpoint().translate("He admired her.")

Reading order, the way data flows (no module imports a later stage):

data
    - :mod:`~transformer_tf.text`         one decoding policy for every text read (strict UTF-8)
    - :mod:`~transformer_tf.data`         spa.txt: find (path → Keras cache → download), read, split
      grouped by English (``load_splits``), bucketed ``tf.data`` batches, the resumable stream
    - :mod:`~transformer_tf.augment`      training pairs that teach copying (names, numbers, joins)
    - :mod:`~transformer_tf.corpus`       a corpus of any size as a stream: TSV, Moses pair, gzip,
      ``tfds:``; the hash split by English sentence; cleaning counts
    - :mod:`~transformer_tf.augment_stream` the augmentations pair by pair, as shares of the corpus
    - :mod:`~transformer_tf.places`       the gazetteer: places and languages with their Spanish
      forms (CLDR through Babel, iso-codes through pycountry)
    - :mod:`~transformer_tf.augment_places`  place-swapped pairs in the Spanish form (Berlin → Berlín)
    - :mod:`~transformer_tf.tokenizer`    SentencePiece subwords with reserved ids (``PAD_ID`` = 0)
    - :mod:`~transformer_tf.records`      pairs → the shards' records, each distinct word encoded once,
      in a helper process on the other core
model
    - :mod:`~transformer_tf.masks`        ``create_padding_mask``, ``create_look_ahead_mask``
    - :mod:`~transformer_tf.attention`    ``scaled_dot_product_attention``, ``MultiHeadAttention``
    - :mod:`~transformer_tf.config`       ``TrainConfig``: the architecture and run settings
      (``config.json``), every choice list and default (model kinds, cells, strategies, the
      shipped model's folder); imports no TensorFlow, so inference never imports training
    - :mod:`~transformer_tf.layers`       positional encoding, feed-forward, encoder/decoder layers,
      the output projection tied to the embedding (``TiedOutput``)
    - :mod:`~transformer_tf.model`        ``Transformer``
    - :mod:`~transformer_tf.seq2seq`      the series' previous step: an RNN encoder–decoder with
      Bahdanau attention (``RNNEncoder``, ``BahdanauAttention``, ``RNNDecoder``, ``RNNTranslator``)
    - :mod:`~transformer_tf.factory`      ``model_from_config``: either kind, from its config
    - :mod:`~transformer_tf.hardware`     ``cpu_has_bfloat16``: whether bfloat16 pays on this CPU
      (mixed-precision training warns without it; fast decoding uses it only with it)
training
    - :mod:`~transformer_tf.shards`       encoded pairs in TFRecord shards of the run folder, read back
      through ``tf.data``
    - :mod:`~transformer_tf.prepare`      corpus → cleaning → tokenizer → shards, in two streaming passes
    - :mod:`~transformer_tf.schedule`     ``CustomSchedule``, the paper's warm-up learning rate
    - :mod:`~transformer_tf.fused_loss`   label-smoothed cross-entropy with a hand-written gradient
      (no one-hot of the vocabulary)
    - :mod:`~transformer_tf.losses`       ``masked_loss`` (label smoothing), ``masked_accuracy``
    - :mod:`~transformer_tf.checkpoints`  what a run leaves in its folder, restored and released
    - :mod:`~transformer_tf.worker_startup`  multi-worker start-up: ``TF_CONFIG`` checked, the other
      workers awaited (SIGTERM obeyed), the strategy started
    - :mod:`~transformer_tf.distributed`  the multi-worker loop (``--strategy multiworker``)
    - :mod:`~transformer_tf.finetune`     a run that starts from a model folder's weights (``init_from``)
    - :mod:`~transformer_tf.train`        ``train``: prepare, then fit in process or across workers
inference
    - :mod:`~transformer_tf.decoding`     greedy and beam decoding with a cache, and the slow reference
    - :mod:`~transformer_tf.shortlist`    the lexical shortlist of the output layer (``shortlist.npz``)
    - :mod:`~transformer_tf.fast_decode`  fast greedy decoding: the shortlist, finished sentences
      leaving the batch, bfloat16 layers (``--exact``: the reference path)
    - :mod:`~transformer_tf.pictographs`  emoji and emoticons taken out of a sentence before the model and
      put back into its translation (``take_out``, ``put_back``)
    - :mod:`~transformer_tf.sentences`    ``split_sentences``: a text into its sentences
    - :mod:`~transformer_tf.casing`       a sentence in capitals or in lower case to the model in the
      corpus's case (``CaseTable``, ``casing.json``), its translation back in capitals
    - :mod:`~transformer_tf.spelling`     British spellings and contractions typed without their apostrophe
      to the model in the form its corpus writes (``Spellings``, ``spelling.json``)
    - :mod:`~transformer_tf.symbols`      ``&``, currency signs, unit abbreviations after a number and U.S., UK
      spelled out as the corpus writes them (``spelled_out``)
    - :mod:`~transformer_tf.punctuation`  dashes, brackets and ellipses to the model as commas and full
      stops, a final ellipsis back into the translation (``take_out``, ``put_back``)
    - :mod:`~transformer_tf.verbatim`     web and e-mail addresses, handles and tags through the model
      as stand-in names, and back as typed (``take_out``, ``put_back``)
    - :mod:`~transformer_tf.titles`       titles before names (Mr. Smith) through the model as stand-in
      first names, and back in Spanish form with their article (el Sr. Smith, al Dr. Jones)
    - :mod:`~transformer_tf.dates`        May before a day through the model as June, and back as "mayo"
    - :mod:`~transformer_tf.stand_ins`    ``replace_once``: a stand-in pass's translation gets the original
      back only where each stand-in came back exactly once
    - :mod:`~transformer_tf.quotes`       quoted speech through the model in parts (each quotation
      alone, the words around it with a stand-in name) and put together (``take_apart``)
    - :mod:`~transformer_tf.numerals`     numbers with separators (``400,000``, ``25.99``) through the
      model as stand-ins it copies, and back whole (``take_out``, ``put_back``)
    - :mod:`~transformer_tf.clauses`      a sentence of more than 32 tokens through the model in clauses,
      its translation put together (``take_apart``, ``put_together``)
    - :mod:`~transformer_tf.code_switch`  the place pre-pass: gazetteer places written in Spanish in
      the English input (Warsaw → Varsovia; ``--places``), which the model copies
    - :mod:`~transformer_tf.sentence_translator`  ``SentenceTranslator``: texts → sentences → places
      → length-sorted batches for either engine's decoder (no TensorFlow)
    - :mod:`~transformer_tf.translate`    ``Translator``: restore a model, translate texts (TensorFlow)
    - :mod:`~transformer_tf.ctranslate2_convert`  the Keras Transformer as a CTranslate2 ``TransformerSpec``
    - :mod:`~transformer_tf.ctranslate2_engine`  ``CTranslate2Translator``: the converted model, cached
      in the model folder with a stamp of its files; int8, no TensorFlow (the default engine)
    - :mod:`~transformer_tf.engines`      ``open_translator``: the engine ``--engine`` picks
    - :mod:`~transformer_tf.attention_maps`  ``sentence_attention``: every attention matrix for a sentence
    - :mod:`~transformer_tf.export`       a SavedModel from string to string
    - :mod:`~transformer_tf.evaluate`     sacreBLEU BLEU and chrF, overall and per category
plots
    - :mod:`~transformer_tf.plot`         attention heatmaps, one panel a head
    - :mod:`~transformer_tf.explorer`     the interactive attention page (``attention.html``)
    - :mod:`~transformer_tf.demo`         the multi-head attention article's worked example
serving
    - :mod:`~transformer_tf.serve_config` the defaults of its flags (each with its measurement) and ``ServeLimits``
    - :mod:`~transformer_tf.serve_models` the served models: each folder's engine translator and its Keras model
    - :mod:`~transformer_tf.batching`     dynamic batching: requests that arrive together share a decode batch
    - :mod:`~transformer_tf.continuous_decode`  continuous batching: sentences join and leave a running decode loop
    - :mod:`~transformer_tf.serve_schema` the JSON request bodies of the API (pydantic)
    - :mod:`~transformer_tf.serve_stages` where a request's time goes (receive, queue, gather, decode, resume, respond)
    - :mod:`~transformer_tf.serve`        ``transformer-tf serve``: the live explorer page and a JSON API
    - :mod:`~transformer_tf.serve_workers`  the one server process, or ``--workers N`` of them on one port
    - :mod:`~transformer_tf.serve_cli`    its flags (from ``ServeLimits``) and its handler
    - :mod:`~transformer_tf.translate_cli`  ``translate`` and ``evaluate``: their flags and handlers

:mod:`~transformer_tf.cli` wires these to ``transformer-tf``; :mod:`~transformer_tf.errors`
has the one exception type for user mistakes.

Where a reader of each article looks:

- multi-head attention: ``attention``, ``masks``, ``demo``, ``plot`` (notebook 01);
- the NLP prerequisites: :mod:`~transformer_tf.embeddings` (one-hot vectors, learned
  embeddings and their maps) and :mod:`~transformer_tf.perplexity` (perplexity, n-gram
  models) (notebook 02);
- the Transformer translator: ``data`` → ``tokenizer`` → ``model`` → ``train`` →
  ``translate``, in the order above.

Every name below is imported on first use (``lazy_loader``), so ``import transformer_tf`` and the
command line's ``--help`` start without TensorFlow.
"""

import lazy_loader

# each home module → the public names it defines (lazy_loader, SPEC 1 of Scientific Python:
# imported on first use, then an ordinary attribute of the package)
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "attention": ["MultiHeadAttention", "scaled_dot_product_attention"],
        "embeddings": ["embedding_classifier", "embedding_map", "one_hot_encode"],
        "layers": [
            "Decoder",
            "DecoderLayer",
            "Encoder",
            "EncoderLayer",
            "point_wise_feed_forward_network",
            "positional_encoding",
        ],
        "masks": ["PAD_ID", "create_look_ahead_mask", "create_masks", "create_padding_mask"],
        "model": ["Transformer"],
        "perplexity": ["perplexity"],
        "schedule": ["CustomSchedule"],
        "config": ["TrainConfig"],
        "errors": ["TransformerTFError"],
        "translate": ["Translator"],
        "attention_maps": ["sentence_attention"],
        "plot": ["plot_attention_heads", "plot_attention_weights", "plot_attention_overview"],
        "explorer": ["show_attention"],
    },
)
