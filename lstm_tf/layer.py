"""``SpaceOdysseyLSTM``: the Space Odyssey cell run over a whole sequence, fast.

Same numbers as ``keras.layers.RNN(SpaceOdysseyLSTMCell(...))``, computed in two parts:

1. the input projections ``x⁽ᵗ⁾ W + b`` of *all* time steps in one matmul
   (``(batch, time, input_dim) @ (input_dim, blocks·units)``), since they do not depend on
   the recurrence;
2. the recurrence alone, a ``tf.scan`` over time compiled with XLA (``jit_compile``), which
   fuses each step's element-wise gate arithmetic into a few kernels.

Keras only turns XLA on by itself on GPU machines (``jit_compile="auto"`` is off on CPU);
compiling the recurrence inside the layer gives the speed-up everywhere.

It takes the arguments of ``keras.layers.RNN`` that ``keras.layers.Bidirectional`` needs
(``go_backwards``, masks, ``zero_output_for_mask``, ``stateful`` read as False), so
``Bidirectional(SpaceOdysseyLSTM(...))`` works as ``Bidirectional(LSTM(...))`` does.
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
        go_backwards: read the sequence from its last step and return the outputs in that
            reversed order, as ``keras.layers.RNN`` does (default False; ``Bidirectional``
            sets it on its backward copy).
        zero_output_for_mask: masked steps output zeros instead of the previous step's output
            (default False, as ``keras.layers.RNN``; ``Bidirectional`` sets it to
            ``return_sequences``).
        jit_compile: compile the recurrence with XLA (default True).
        **cell_kwargs: passed to the cell (``unit_forget_bias``, initializers).

    Call:
        ``layer(x, initial_state=None, mask=None)`` with ``x`` of shape ``(batch, time, input_dim)``
        and ``mask`` ``(batch, time)``, True at real steps (Keras passes it from a
        ``Masking`` or ``Embedding(mask_zero=True)`` layer). A masked step keeps the states of
        the step before, as in ``keras.layers.RNN``. Without a mask, padding at the end never
        changes the outputs of earlier steps (the recurrence is causal); read backwards, or
        for the final state, it does: pass the mask.

    The weights live in ``layer.cell``: ``layer.cell.gate_weights()`` gives them in the
    articles' notation.
    """

    # keras.layers.Bidirectional reads these attributes of an RNN: no state is kept across batches
    stateful = False
    states = None

    def __init__(
        self,
        units,
        variant="vanilla",
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        zero_output_for_mask=False,
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
        self.go_backwards = bool(go_backwards)
        self.zero_output_for_mask = bool(zero_output_for_mask)
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

    def _step(self, projected_t, states, weights, mask_t):
        """One step's new states; where ``mask_t`` ``(batch, 1)`` is False, the old ones."""
        new_states = self.cell.step(projected_t, states, weights)[1]
        if mask_t is None:
            return new_states
        return [tf.where(mask_t, new, old) for new, old in zip(new_states, states)]

    def _forward(self, projected, states, weights, mask=None):
        """``projected``: ``(time, batch, blocks·units)`` → every step's states, time-major.

        ``mask``: ``(time, batch, 1)`` bool, or None.
        """

        def step(carry, inputs):
            projected_t, mask_t = (inputs, None) if mask is None else inputs
            return tuple(self._step(projected_t, list(carry), weights, mask_t))

        return tf.scan(step, projected if mask is None else (projected, mask), initializer=tuple(states))

    def _backward(self, projected, states, weights, sequences, upstream, mask=None):
        """Backprop through time, one step at a time from the last.

        Each step's local derivatives come from autodiff of :meth:`SpaceOdysseyLSTMCell.step`
        (``lstm_tf.bptt`` writes the same equations out by hand for the vanilla cell).

        Args:
            sequences: the forward's states at every step, each ``(time, batch, size)``.
            upstream: dJ/d(those states) from outside the recurrence, same shapes.
            mask: as in :meth:`_forward`.

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
                new_states = self._step(projected_t, prev_t, weights, None if mask is None else mask[t])
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

    def _recurrence(self, projected, states, mask=None):
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
            sequences = self._compiled_forward(*tf.nest.map_structure(tf.stop_gradient, (projected, states, w)), mask)

            def grad(*upstream):
                upstream = [tf.zeros_like(s) if u is None else u for s, u in zip(sequences, upstream)]
                d_projected, d_states, d_w = self._compiled_backward(projected, states, w, sequences, upstream, mask)
                return (d_projected, *d_states, *(d_w[n] for n in names))

            return sequences, grad

        return recurrence(projected, *states, *(weights[n] for n in names))

    def call(self, inputs, initial_state=None, mask=None):
        inputs = keras.ops.convert_to_tensor(inputs, dtype=self.compute_dtype)
        if initial_state is None:
            initial_state = self.cell.get_initial_state(tf.shape(inputs)[0])
        inputs = tf.transpose(inputs, (1, 0, 2))  # time-major, (time, batch, input_dim)
        if mask is not None:
            mask = tf.transpose(tf.cast(mask, tf.bool))[:, :, None]  # (time, batch, 1)
        if self.go_backwards:
            inputs = tf.reverse(inputs, [0])
            mask = None if mask is None else tf.reverse(mask, [0])
        projected = self.cell.input_projection(inputs)  # (time, batch, blocks·units)
        sequences = self._recurrence(projected, tuple(initial_state), mask)  # each (time, batch, size)
        outputs = sequences[0]
        if mask is not None:
            # keras.layers.RNN's outputs: a masked step repeats the previous output (zeros
            # before the first real step), or gives zeros with zero_output_for_mask
            real = mask if self.zero_output_for_mask else tf.cumsum(tf.cast(mask, tf.int32), axis=0) > 0
            outputs = tf.where(real, outputs, tf.zeros_like(outputs))
        final_states = [s[-1] for s in sequences]
        output = tf.transpose(outputs, (1, 0, 2)) if self.return_sequences else outputs[-1]
        return (output, *final_states) if self.return_state else output

    def compute_output_shape(self, input_shape):
        batch, time = input_shape[0], input_shape[1]
        output = (batch, time, self.units) if self.return_sequences else (batch, self.units)
        if not self.return_state:
            return output
        return (output, *[(batch, size) for size in self.cell.state_size])

    def compute_mask(self, inputs, mask):
        """The mask goes on with the sequence output (as ``keras.layers.RNN``), not the states."""
        output_mask = mask if self.return_sequences else None
        return [output_mask] + [None] * len(self.cell.state_size) if self.return_state else output_mask

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            variant=self.variant.name,
            return_sequences=self.return_sequences,
            return_state=self.return_state,
            go_backwards=self.go_backwards,
            zero_output_for_mask=self.zero_output_for_mask,
            jit_compile=self.jit_compile,
            cell=keras.saving.serialize_keras_object(self.cell),
        )
        return config
