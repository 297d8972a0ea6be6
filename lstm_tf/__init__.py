"""lstm_tf: the LSTM cells of "LSTM: A Search Space Odyssey" (Greff et al.) in Keras 3.

Not built yet: the cells, the fast layer, explicit BPTT and the JSB Chorales variant
study are the work of a later issue. Importing this package works and exports nothing.
"""

__all__ = []
