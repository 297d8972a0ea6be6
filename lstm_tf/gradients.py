"""Vanishing gradients and gradient clipping, measured.

How much does the output at step ``t`` still depend on the state at an earlier step ``k``?
:func:`gradient_norms_through_time` runs a cell over a random sequence and measures
``‖∂J⁽ᵗ⁾/∂y⁽ᵏ⁾‖`` for every ``k``, where ``J⁽ᵗ⁾`` is a fixed random projection of the last
output. In a simple RNN every step multiplies that gradient by ``Rᵀ diag(tanh')``, so it
shrinks geometrically with ``t − k``; the LSTM's cell state adds a path ``δc⁽ᵗ⁻¹⁾ = δc⁽ᵗ⁾ ⊙ f``
that only the forget gate scales (the constant error carousel), so it decays far slower.

Gradient clipping by global norm, as the article gives it::

    if ‖g‖ > threshold:  g ← threshold · g / ‖g‖      (‖g‖ over *all* weights at once)

is ``tf.clip_by_global_norm`` (or ``global_clipnorm=`` of any Keras optimizer);
:func:`clipping_demo` shows it bounds the update step of an exploding RNN.
"""

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from lstm_tf.cell import SpaceOdysseyLSTMCell


def gradient_norms_through_time(cell, steps=60, input_dim=8, batch=16, seed=0):
    """``‖∂J⁽ᵀ⁾/∂y⁽ᵏ⁾‖`` for every earlier step ``k`` of a random input sequence.

    Args:
        cell: a Keras RNN cell (``cell(x, states) → (y, new_states)``), built or not.
        steps: sequence length ``T``.
        input_dim, batch: size of the random inputs ``x ~ N(0, 1)``, ``(batch, T, input_dim)``.
        seed: seeds the inputs and the projection ``J⁽ᵀ⁾ = Σ y⁽ᵀ⁾ ⊙ v``.

    Returns:
        array ``(steps,)``: entry ``d`` is the gradient norm at distance ``d = T − k``
        (entry 0: the last step itself), averaged over the batch.
    """
    x = tf.random.stateless_normal((batch, steps, input_dim), seed=(seed, 0))
    states = [tf.zeros((batch, size)) for size in np.atleast_1d(cell.state_size)]
    outputs = []
    with tf.GradientTape() as tape:
        for t in range(steps):
            y, states = cell(x[:, t], states)
            states = list(states) if isinstance(states, (list, tuple)) else [states]
            outputs.append(y)
        v = tf.random.stateless_normal(y.shape[1:], seed=(seed, 1))
        loss = tf.reduce_sum(outputs[-1] * v)
    grads = tape.gradient(loss, outputs)  # total derivatives: every later path included
    norms = [float(tf.reduce_mean(tf.norm(g, axis=-1))) for g in grads]
    return np.array(norms[::-1])


def vanishing_gradient_study(units=32, steps=60, variants=("vanilla", "NFG", "CIFG"), seeds=(0, 1, 2)):
    """Gradient norm against distance for a simple RNN and LSTM variants (default initialisation).

    Returns:
        DataFrame with columns ``model``, ``distance`` (t − k), ``norm`` (mean over ``seeds``),
        ``relative`` (norm / norm at distance 0).
    """
    makers = {"SimpleRNN (tanh)": lambda: keras.layers.SimpleRNNCell(units)}
    makers.update({f"LSTM {v}": (lambda v=v: SpaceOdysseyLSTMCell(units, variant=v)) for v in variants})
    rows = []
    for name, make in makers.items():
        norms = []
        for seed in seeds:
            keras.utils.set_random_seed(seed)  # the cell's initial weights
            norms.append(gradient_norms_through_time(make(), steps=steps, seed=seed))
        mean = np.mean(norms, axis=0)
        rows += [{"model": name, "distance": d, "norm": n, "relative": n / mean[0]} for d, n in enumerate(mean)]
    return pd.DataFrame(rows)


def plot_vanishing_gradients(study, path=None):
    """Semilog plot of :func:`vanishing_gradient_study`'s relative norms; saved if ``path``."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, group in study.groupby("model", sort=False):
        ax.semilogy(group["distance"], group["relative"], label=name)
    ax.set_xlabel("distance t − k (steps back in time)")
    ax.set_ylabel("‖∂J⁽ᵗ⁾/∂y⁽ᵏ⁾‖ / ‖∂J⁽ᵗ⁾/∂y⁽ᵗ⁾‖")
    ax.set_title("How far back the gradient reaches")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def clipping_demo(clip_norm=1.0, recurrent_scale=3.0, units=32, steps=40, learning_rate=0.1, seed=0):
    """Gradient of an exploding simple RNN, before and after ``tf.clip_by_global_norm``.

    The recurrent matrix is an orthogonal one times ``recurrent_scale`` (> 1 makes gradients
    grow with the sequence length). One SGD step with the raw gradient moves the weights by
    ``learning_rate · ‖g‖``; with ``global_clipnorm=clip_norm`` by at most
    ``learning_rate · clip_norm``.

    Returns:
        dict: ``global_norm`` (before), ``clipped_norm``, ``cosine`` (direction kept: 1.0),
        ``step_raw`` and ``step_clipped`` (norms of the SGD updates actually applied).
    """
    keras.utils.set_random_seed(seed)
    rnn = keras.layers.RNN(
        keras.layers.SimpleRNNCell(
            units, recurrent_initializer=keras.initializers.Orthogonal(gain=recurrent_scale, seed=seed)
        )
    )
    x = tf.random.stateless_normal((8, steps, 4), seed=(seed, 2))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(rnn(x))
    grads = tape.gradient(loss, rnn.trainable_variables)
    clipped, global_norm = tf.clip_by_global_norm(grads, clip_norm)
    flat, flat_clipped = (tf.concat([tf.reshape(g, [-1]) for g in gs], 0) for gs in (grads, clipped))
    cosine = tf.reduce_sum(flat * flat_clipped) / (tf.norm(flat) * tf.norm(flat_clipped))

    def step_norm(**clipping):
        start = [v.numpy().copy() for v in rnn.trainable_variables]
        keras.optimizers.SGD(learning_rate, **clipping).apply(grads, rnn.trainable_variables)
        moved = np.sqrt(sum(np.sum((v.numpy() - s) ** 2) for v, s in zip(rnn.trainable_variables, start)))
        for v, s in zip(rnn.trainable_variables, start):
            v.assign(s)
        return float(moved)

    return {
        "global_norm": float(global_norm),
        "clipped_norm": float(tf.linalg.global_norm(clipped)),
        "cosine": float(cosine),
        "step_raw": step_norm(),
        "step_clipped": step_norm(global_clipnorm=clip_norm),
    }
