"""lstm_tf: the LSTM of Greff et al., "LSTM: A Search Space Odyssey" (2017), in Keras 3.

Reading order, the way data flows (data → model → training → analysis and plots):

- :mod:`lstm_tf.jsb`        data: JSB Chorales (the paper's music data) as 88-key piano rolls
- :mod:`lstm_tf.variants`   model: the nine variants (vanilla, NIG, NFG, NOG, NIAF, NOAF, NP, CIFG, FGR)
- :mod:`lstm_tf.cell`       model: ``SpaceOdysseyLSTMCell``, the forward equations, one Keras RNN cell
- :mod:`lstm_tf.layer`      model: ``SpaceOdysseyLSTM``, the same over a sequence, XLA-compiled
- :mod:`lstm_tf.bptt`       training: the backward δ equations by hand (NumPy, float64)
- :mod:`lstm_tf.gradients`  training: vanishing gradients through time; clipping by global norm
- :mod:`lstm_tf.search`     training: the study's Optuna store (same draws for every variant, resume,
  many workers)
- :mod:`lstm_tf.study_config` training: ``StudyConfig``, the study's settings and its two protocols
- :mod:`lstm_tf.study`      training: the variant study (random search, NLL per step, early stopping);
  ``run_study`` runs the trials and writes the report
- :mod:`lstm_tf.analysis`   analysis: top 10 %, Welch's t-test against vanilla, the paper's claims, fANOVA
- :mod:`lstm_tf.report`     plots: the study's summary table and figures; ``report_study`` reports the
  stored trials without training
- :mod:`lstm_tf.cli`        ``lstm-tf study | gradients | bptt``; :mod:`lstm_tf.errors` its one error type

Where a reader of each article looks: the LSTM forward pass and backpropagation article reads
``cell`` (forward), ``bptt`` (backward) and ``gradients`` (notebook 03); the variant study of
the paper reads ``variants`` → ``study_config`` → ``study`` → ``analysis`` → ``report``
(notebook 03's last part). The package imports no other package of this project but the shared
command-line convention, ``cli_common``.
"""

# The names below are imported on first use (lazy_loader, SPEC 1 of Scientific Python):
# ``lstm_tf.search`` and ``lstm_tf.errors`` (the study's store, a report from it) need no
# TensorFlow, and importing this package must not start it (several seconds and ~700 MB).
import lazy_loader

# each home module → the public names it defines
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "cell": ["SpaceOdysseyLSTMCell"],
        "layer": ["SpaceOdysseyLSTM"],
        "variants": ["VARIANTS", "Variant", "get_variant"],
        "jsb": ["load_jsb_chorales", "piano_roll"],
        "study_config": ["StudyConfig"],
        "study": ["run_study"],
        "report": ["report_study"],
        "errors": ["LSTMTFError"],
    },
)
