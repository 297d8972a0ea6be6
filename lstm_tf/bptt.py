"""Backpropagation through time for the vanilla LSTM, written out by hand in NumPy (float64).

The equations are those of Greff et al., "LSTM: A Search Space Odyssey" (appendix), that the
LSTM article derives. ``Δ⁽ᵗ⁾`` is the gradient that reaches ``y⁽ᵗ⁾`` from the layer above
(``dJ/dy⁽ᵗ⁾`` holding the recurrence fixed); quantities at ``t+1`` are zero after the last
step. Row vectors, so ``Rᵀδ`` is written ``δ @ R.T``::

    δy⁽ᵗ⁾ = Δ⁽ᵗ⁾ + R_zᵀ δz̄⁽ᵗ⁺¹⁾ + R_iᵀ δī⁽ᵗ⁺¹⁾ + R_fᵀ δf̄⁽ᵗ⁺¹⁾ + R_oᵀ δō⁽ᵗ⁺¹⁾
    δō⁽ᵗ⁾ = δy⁽ᵗ⁾ ⊙ h(c⁽ᵗ⁾) ⊙ σ'(ō⁽ᵗ⁾)
    δc⁽ᵗ⁾ = δy⁽ᵗ⁾ ⊙ o⁽ᵗ⁾ ⊙ h'(c⁽ᵗ⁾) + p_o ⊙ δō⁽ᵗ⁾ + p_i ⊙ δī⁽ᵗ⁺¹⁾ + p_f ⊙ δf̄⁽ᵗ⁺¹⁾ + δc⁽ᵗ⁺¹⁾ ⊙ f⁽ᵗ⁺¹⁾
    δf̄⁽ᵗ⁾ = δc⁽ᵗ⁾ ⊙ c⁽ᵗ⁻¹⁾ ⊙ σ'(f̄⁽ᵗ⁾)
    δī⁽ᵗ⁾ = δc⁽ᵗ⁾ ⊙ z⁽ᵗ⁾ ⊙ σ'(ī⁽ᵗ⁾)
    δz̄⁽ᵗ⁾ = δc⁽ᵗ⁾ ⊙ i⁽ᵗ⁾ ⊙ g'(z̄⁽ᵗ⁾)
    δx⁽ᵗ⁾ = W_zᵀ δz̄⁽ᵗ⁾ + W_iᵀ δī⁽ᵗ⁾ + W_fᵀ δf̄⁽ᵗ⁾ + W_oᵀ δō⁽ᵗ⁾

and the weight gradients, for ``* ∈ {z, i, f, o}``::

    δW_* = Σₜ x⁽ᵗ⁾ ⊗ δ*⁽ᵗ⁾      δR_* = Σₜ y⁽ᵗ⁻¹⁾ ⊗ δ*⁽ᵗ⁾      δb_* = Σₜ δ*⁽ᵗ⁾
    δp_i = Σₜ c⁽ᵗ⁻¹⁾ ⊙ δī⁽ᵗ⁾   δp_f = Σₜ c⁽ᵗ⁻¹⁾ ⊙ δf̄⁽ᵗ⁾   δp_o = Σₜ c⁽ᵗ⁾ ⊙ δō⁽ᵗ⁾

(the paper writes the R and p sums with ``t+1``; shifting the index gives the same terms).
With a batch, every ⊗ also sums over the batch. Weights are named as
:meth:`lstm_tf.SpaceOdysseyLSTMCell.gate_weights` returns them, so the two can be compared
one to one; without ``p_*`` (the NP variant) the peephole terms are zero.
"""

import numpy as np

BLOCKS = ("z", "i", "f", "o")


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_forward(x, weights, y0=None, c0=None):
    """Run the vanilla LSTM forward and keep everything the backward pass needs.

    Args:
        x: inputs ``(batch, time, input_dim)``.
        weights: ``W_*`` ``(input_dim, units)``, ``R_*`` ``(units, units)``, ``b_*`` and
            (optionally) ``p_i, p_f, p_o`` ``(units,)``.
        y0, c0: initial output and cell state ``(batch, units)`` (default zeros).

    Returns:
        ``(y, cache)``: outputs ``(batch, time, units)`` and a dict of per-step arrays
        (pre-activations ``z_bar, i_bar, f_bar, o_bar``, activations ``z, i, f, o``, states
        ``c``, ``y``, each ``(time, batch, units)``, plus ``x``, ``y0``, ``c0``, ``weights``).
    """
    x = np.asarray(x, dtype=np.float64)
    w = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
    batch, steps, _ = x.shape
    units = w["R_z"].shape[0]
    zeros = np.zeros(units)
    p_i, p_f, p_o = (w.get(f"p_{g}", zeros) for g in "ifo")
    y_prev = np.zeros((batch, units)) if y0 is None else np.asarray(y0, np.float64)
    c_prev = np.zeros((batch, units)) if c0 is None else np.asarray(c0, np.float64)
    cache = {k: [] for k in ("z_bar", "i_bar", "f_bar", "o_bar", "z", "i", "f", "o", "c", "y")}
    cache.update(x=x, y0=y_prev, c0=c_prev, weights=w)

    for t in range(steps):
        x_t = x[:, t]
        z_bar = x_t @ w["W_z"] + y_prev @ w["R_z"] + w["b_z"]
        i_bar = x_t @ w["W_i"] + y_prev @ w["R_i"] + p_i * c_prev + w["b_i"]
        f_bar = x_t @ w["W_f"] + y_prev @ w["R_f"] + p_f * c_prev + w["b_f"]
        z, i, f = np.tanh(z_bar), _sigmoid(i_bar), _sigmoid(f_bar)
        c = z * i + c_prev * f
        o_bar = x_t @ w["W_o"] + y_prev @ w["R_o"] + p_o * c + w["b_o"]
        o = _sigmoid(o_bar)
        y = o * np.tanh(c)
        for name, value in (
            ("z_bar", z_bar),
            ("i_bar", i_bar),
            ("f_bar", f_bar),
            ("o_bar", o_bar),
            ("z", z),
            ("i", i),
            ("f", f),
            ("o", o),
            ("c", c),
            ("y", y),
        ):
            cache[name].append(value)
        y_prev, c_prev = y, c

    for name in ("z_bar", "i_bar", "f_bar", "o_bar", "z", "i", "f", "o", "c", "y"):
        cache[name] = np.stack(cache[name])
    return cache["y"].transpose(1, 0, 2), cache


def lstm_backward(dy, cache):
    """The δ equations of the module docstring, from the last step to the first.

    Args:
        dy: ``Δ``, the gradient reaching each output from above, ``(batch, time, units)``.
        cache: from :func:`lstm_forward`.

    Returns:
        dict of gradients: ``x`` ``(batch, time, input_dim)``, ``y0`` and ``c0``
        ``(batch, units)``, and one entry per weight of ``cache["weights"]`` with its shape.
    """
    w, x = cache["weights"], cache["x"]
    dy = np.asarray(dy, dtype=np.float64).transpose(1, 0, 2)  # (time, batch, units)
    steps, batch, units = dy.shape
    zeros = np.zeros(units)
    p_i, p_f, p_o = (w.get(f"p_{g}", zeros) for g in "ifo")
    c_prev_all = np.concatenate([cache["c0"][None], cache["c"][:-1]])  # c⁽ᵗ⁻¹⁾ for every t
    y_prev_all = np.concatenate([cache["y0"][None], cache["y"][:-1]])  # y⁽ᵗ⁻¹⁾ for every t

    # δ of the pre-activations at every step, filled from the last step backwards.
    delta = {b: np.zeros((steps, batch, units)) for b in BLOCKS}
    next_delta = {b: np.zeros((batch, units)) for b in BLOCKS}  # δ*⁽ᵗ⁺¹⁾
    dc_next, f_next = np.zeros((batch, units)), np.zeros((batch, units))  # δc⁽ᵗ⁺¹⁾, f⁽ᵗ⁺¹⁾

    for t in reversed(range(steps)):
        c, o, z, i = cache["c"][t], cache["o"][t], cache["z"][t], cache["i"][t]
        d_y = dy[t] + sum(next_delta[b] @ w[f"R_{b}"].T for b in BLOCKS)
        d_o = d_y * np.tanh(c) * o * (1 - o)  # σ'(ō) = o(1 − o)
        d_c = (
            d_y * o * (1 - np.tanh(c) ** 2)
            + p_o * d_o
            + p_i * next_delta["i"]
            + p_f * next_delta["f"]
            + dc_next * f_next
        )
        f = cache["f"][t]
        d_f = d_c * c_prev_all[t] * f * (1 - f)
        d_i = d_c * z * i * (1 - i)
        d_z = d_c * i * (1 - z**2)  # g' = 1 − tanh²
        for b, d in zip(BLOCKS, (d_z, d_i, d_f, d_o)):
            delta[b][t] = next_delta[b] = d
        dc_next, f_next = d_c, f

    grads = {
        "x": sum(np.einsum("tbu,ku->btk", delta[b], w[f"W_{b}"]) for b in BLOCKS),
        # the initial states feed step 0 exactly as y⁽ᵗ⁻¹⁾ and c⁽ᵗ⁻¹⁾ feed step t
        "y0": sum(delta[b][0] @ w[f"R_{b}"].T for b in BLOCKS),
        "c0": dc_next * f_next + p_i * delta["i"][0] + p_f * delta["f"][0],
    }
    for b in BLOCKS:
        grads[f"W_{b}"] = np.einsum("btk,tbu->ku", x, delta[b])
        grads[f"R_{b}"] = np.einsum("tbk,tbu->ku", y_prev_all, delta[b])
        grads[f"b_{b}"] = delta[b].sum(axis=(0, 1))
    if "p_i" in w:
        grads["p_i"] = (c_prev_all * delta["i"]).sum(axis=(0, 1))
        grads["p_f"] = (c_prev_all * delta["f"]).sum(axis=(0, 1))
        grads["p_o"] = (cache["c"] * delta["o"]).sum(axis=(0, 1))
    return grads


def autodiff_gradients(x, weights, upstream, y0=None, c0=None, variant="vanilla"):
    """The same gradients from ``tf.GradientTape`` through the Keras cell, to check the δ's.

    Takes the arguments of :func:`lstm_forward` / :func:`lstm_backward` (``upstream`` is
    ``Δ``), builds a float64 :class:`~lstm_tf.SpaceOdysseyLSTMCell` with these weights and
    differentiates ``J = Σₜ Δ⁽ᵗ⁾ · y⁽ᵗ⁾``.

    Returns:
        ``(y, grads)``: outputs ``(batch, time, units)`` and a dict keyed like
        :func:`lstm_backward`'s.
    """
    import keras
    import tensorflow as tf

    from lstm_tf.cell import SpaceOdysseyLSTMCell

    x = tf.constant(np.asarray(x, dtype=np.float64))
    batch, units = x.shape[0], np.shape(weights["R_z"])[0]
    y0, c0 = (tf.constant(np.zeros((batch, units)) if s is None else np.asarray(s, np.float64)) for s in (y0, c0))
    cell = SpaceOdysseyLSTMCell(units, variant=variant, dtype="float64")
    rnn = keras.layers.RNN(cell, return_sequences=True, dtype="float64")
    rnn(x[:, :1], initial_state=[y0, c0])  # build
    cell.set_gate_weights(weights)
    with tf.GradientTape() as tape:
        tape.watch([x, y0, c0])
        y = rnn(x, initial_state=[y0, c0])
        loss = tf.reduce_sum(y * upstream)
    grads = tape.gradient(loss, [x, y0, c0, *cell.weights])
    named = {"x": grads[0].numpy(), "y0": grads[1].numpy(), "c0": grads[2].numpy()}
    named.update(cell.named_gradients([g.numpy() for g in grads[3:]]))
    return y.numpy(), named
