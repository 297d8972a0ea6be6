"""lstm_tf: the LSTM of Greff et al., "LSTM: A Search Space Odyssey" (2017), in Keras 3.

data → model → training → analysis:

- :mod:`lstm_tf.jsb`        JSB Chorales (the paper's music data) as 88-key piano rolls
- :mod:`lstm_tf.variants`   the nine variants (vanilla, NIG, NFG, NOG, NIAF, NOAF, NP, CIFG, FGR)
- :mod:`lstm_tf.cell`       ``SpaceOdysseyLSTMCell``: the forward equations, one Keras RNN cell
- :mod:`lstm_tf.layer`      ``SpaceOdysseyLSTM``: the same over a sequence, XLA-compiled
- :mod:`lstm_tf.bptt`       the backward δ equations by hand (NumPy, float64)
- :mod:`lstm_tf.gradients`  vanishing gradients through time; clipping by global norm
- :mod:`lstm_tf.study`      the variant study (random search, NLL per step, top 10 %, Welch, fANOVA)
- :mod:`lstm_tf.search`     its Optuna store: same draws for all variants, resume, many workers, fANOVA
- :mod:`lstm_tf.cli`        ``lstm-tf study | gradients | bptt``
"""

from lstm_tf.cell import SpaceOdysseyLSTMCell
from lstm_tf.errors import LSTMTFError
from lstm_tf.jsb import load_jsb_chorales, piano_roll
from lstm_tf.layer import SpaceOdysseyLSTM
from lstm_tf.variants import VARIANTS, Variant, get_variant

__all__ = [
    "SpaceOdysseyLSTMCell",
    "SpaceOdysseyLSTM",
    "VARIANTS",
    "Variant",
    "get_variant",
    "load_jsb_chorales",
    "piano_roll",
    "LSTMTFError",
]
