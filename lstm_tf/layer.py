"""``SpaceOdysseyLSTM``: the Space Odyssey cell run over a whole sequence, fast.

Same numbers as ``keras.layers.RNN(SpaceOdysseyLSTMCell(...))``, computed in two parts:

1. the input projections ``x⁽ᵗ⁾ W + b`` of *all* time steps in one matmul
   (``(batch, time, input_dim) @ (input_dim, blocks·units)``), since they do not depend on
   the recurrence;
2. the recurrence alone, a ``tf.scan`` over time compiled with XLA (``jit_compile``), which
   fuses each step's element-wise gate arithmetic into a few kernels.

Keras only turns XLA on by itself on GPU machines (``jit_compile="auto"`` is off on CPU);
compiling the recurrence inside the layer gives the speed-up everywhere.
"""

import keras
import tensorflow as tf

from lstm_tf.cell import SpaceOdysseyLSTMCell


@keras.saving.register_keras_serializable(package="lstm_tf")
class SpaceOdysseyLSTM(keras.layers.Layer):
    """A recurrent layer of :class:`SpaceOdysseyLSTMCell` blocks.

    Args:
        units: number of LSTM blocks.
        variant: ``vanilla, NIG, NFG, NOG, NIAF, NOAF, NP, CIFG`` or ``FGR`` (default vanilla).
        return_sequences: return ``y`` at every step ``(batch, time, units)`` instead of the
            last one ``(batch, units)`` (default False).
        return_state: also return the final states ``[y, c]`` (FGR: ``[y, c, gates]``).
        jit_compile: compile the recurrence with XLA (default True).
        **cell_kwargs: passed to the cell (``unit_forget_bias``, initializers).

    Call:
        ``layer(x, initial_state=None)`` with ``x`` of shape ``(batch, time, input_dim)``.
        Sequences of different lengths: pad at the end and mask the loss (the recurrence is
        causal, so padding never changes the outputs of earlier steps); masks are not consumed.

    The weights live in ``layer.cell``: ``layer.cell.gate_weights()`` gives them in the
    articles' notation.
    """

    def __init__(
        self,
        units,
        variant="vanilla",
        return_sequences=False,
        return_state=False,
        jit_compile=True,
        cell=None,
        **kwargs,
    ):
        cell_keys = (
            "unit_forget_bias",
            "kernel_initializer",
            "recurrent_initializer",
            "peephole_initializer",
        )
        cell_kwargs = {k: kwargs.pop(k) for k in cell_keys if k in kwargs}
        super().__init__(**kwargs)
        if isinstance(cell, dict):  # from get_config
            cell = keras.saving.deserialize_keras_object(cell)
        self.cell = cell or SpaceOdysseyLSTMCell(units, variant=variant, dtype=self.dtype_policy, **cell_kwargs)
        self.units = self.cell.units
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.jit_compile = bool(jit_compile)
        # Keras checks calls against it: a missing time axis is named, not a Transpose error
        self.input_spec = keras.InputSpec(ndim=3)
        self._compiled_forward = tf.function(self._forward, jit_compile=self.jit_compile, autograph=False)
        self._compiled_backward = tf.function(self._backward, jit_compile=self.jit_compile, autograph=False)

    @property
    def variant(self):
        return self.cell.variant

    def build(self, input_shape):
        if not self.cell.built:  # a deserialized cell arrives built
            self.cell.build(input_shape[:1] + input_shape[2:])
        # from now on the features must match the kernel's rows, (input_dim, blocks·units)
        self.input_spec = keras.InputSpec(ndim=3, axes={-1: int(self.cell.kernel.shape[0])})

    def _forward(self, projected, states, weights):
        """``projected``: ``(time, batch, blocks·units)`` → every step's states, time-major."""

        def step(carry, projected_t):
            return tuple(self.cell.step(projected_t, list(carry), weights)[1])

        return tf.scan(step, projected, initializer=tuple(states))

    def _backward(self, projected, states, weights, sequences, upstream):
        """Backprop through time, one step at a time from the last.

        Each step's local derivatives come from autodiff of :meth:`SpaceOdysseyLSTMCell.step`
        (``lstm_tf.bptt`` writes the same equations out by hand for the vanilla cell).

        Args:
            sequences: the forward's states at every step, each ``(time, batch, size)``.
            upstream: dJ/d(those states) from outside the recurrence, same shapes.

        Returns:
            dJ/d ``projected``, dJ/d initial states, dJ/d weights (same keys as ``weights``).
        """
        previous = [tf.concat([s[None], seq[:-1]], axis=0) for s, seq in zip(states, sequences)]
        names = sorted(weights)
        steps = tf.shape(projected)[0]

        def step(t, d_later, d_weights, d_projected):
            # d_later: dJ/d states⁽ᵗ⁾ through step t+1; d_weights: weight gradients of steps > t
            projected_t, prev_t = projected[t], [p[t] for p in previous]
            with tf.GradientTape() as tape:
                tape.watch([projected_t, *prev_t, *weights.values()])
                _, new_states = self.cell.step(projected_t, prev_t, weights)
            d_new = [u[t] + d for u, d in zip(upstream, d_later)]
            grads = tape.gradient(
                new_states,
                [projected_t, *prev_t, *(weights[n] for n in names)],
                output_gradients=d_new,
                unconnected_gradients=tf.UnconnectedGradients.ZERO,
            )
            d_prev, d_w = grads[1 : 1 + len(prev_t)], grads[1 + len(prev_t) :]
            return (
                t - 1,
                tuple(d_prev),
                tuple(a + b for a, b in zip(d_weights, d_w)),
                d_projected.write(t, grads[0]),
            )

        _, d_states, d_w, d_projected = tf.while_loop(
            lambda t, *_: t >= 0,
            step,
            (
                steps - 1,
                tuple(tf.zeros_like(s) for s in states),
                tuple(tf.zeros_like(weights[n]) for n in names),
                tf.TensorArray(projected.dtype, size=steps),
            ),
        )
        return d_projected.stack(), d_states, dict(zip(names, d_w))

    def _recurrence(self, projected, states):
        """The recurrence with its own gradient, so forward and backward are each one XLA program.

        (Autodiff straight through a compiled ``tf.scan`` fails: its saved intermediates
        cannot leave the XLA program.)
        """
        weights = {n: tf.convert_to_tensor(v) for n, v in self.cell.recurrent_weights().items()}
        names = sorted(weights)

        @tf.custom_gradient
        def recurrence(projected, *flat):
            states, w = flat[: len(flat) - len(names)], dict(zip(names, flat[len(flat) - len(names) :]))
            # stop_gradient: a tape must not record the compiled forward (it would ask XLA for
            # its intermediates); `grad` below is this function's whole derivative.
            sequences = self._compiled_forward(*tf.nest.map_structure(tf.stop_gradient, (projected, states, w)))

            def grad(*upstream):
                upstream = [tf.zeros_like(s) if u is None else u for s, u in zip(sequences, upstream)]
                d_projected, d_states, d_w = self._compiled_backward(projected, states, w, sequences, upstream)
                return (d_projected, *d_states, *(d_w[n] for n in names))

            return sequences, grad

        return recurrence(projected, *states, *(weights[n] for n in names))

    def call(self, inputs, initial_state=None):
        inputs = keras.ops.convert_to_tensor(inputs, dtype=self.compute_dtype)
        if initial_state is None:
            initial_state = self.cell.get_initial_state(tf.shape(inputs)[0])
        projected = self.cell.input_projection(tf.transpose(inputs, (1, 0, 2)))  # (time, batch, blocks·units)
        sequences = self._recurrence(projected, tuple(initial_state))  # each (time, batch, size)
        final_states = [s[-1] for s in sequences]
        output = tf.transpose(sequences[0], (1, 0, 2)) if self.return_sequences else final_states[0]
        return [output, *final_states] if self.return_state else output

    def compute_output_shape(self, input_shape):
        batch, time = input_shape[0], input_shape[1]
        output = (batch, time, self.units) if self.return_sequences else (batch, self.units)
        if not self.return_state:
            return output
        return [output, *[(batch, size) for size in self.cell.state_size]]

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            variant=self.variant.name,
            return_sequences=self.return_sequences,
            return_state=self.return_state,
            jit_compile=self.jit_compile,
            cell=keras.saving.serialize_keras_object(self.cell),
        )
        return config
