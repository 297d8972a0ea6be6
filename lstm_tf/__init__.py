"""lstm_tf: the LSTM of Greff et al., "LSTM: A Search Space Odyssey", in Keras 3 (work in progress)."""

from lstm_tf.cell import SpaceOdysseyLSTMCell
from lstm_tf.layer import SpaceOdysseyLSTM
from lstm_tf.variants import VARIANTS, Variant, get_variant

__all__ = ["SpaceOdysseyLSTMCell", "SpaceOdysseyLSTM", "VARIANTS", "Variant", "get_variant"]
