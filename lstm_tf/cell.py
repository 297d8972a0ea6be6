"""The LSTM block of Greff et al., "LSTM: A Search Space Odyssey", as a Keras 3 RNN cell.

Forward pass at step t (row vectors, so ``W x`` is written ``x @ W``; g = h = tanh, σ = sigmoid)::

    z̄ = W_z x + R_z y⁽ᵗ⁻¹⁾ + b_z                    z = g(z̄)        block input
    ī = W_i x + R_i y⁽ᵗ⁻¹⁾ + p_i ⊙ c⁽ᵗ⁻¹⁾ + b_i       i = σ(ī)        input gate
    f̄ = W_f x + R_f y⁽ᵗ⁻¹⁾ + p_f ⊙ c⁽ᵗ⁻¹⁾ + b_f       f = σ(f̄)        forget gate
    c = z ⊙ i + c⁽ᵗ⁻¹⁾ ⊙ f                                           cell state
    ō = W_o x + R_o y⁽ᵗ⁻¹⁾ + p_o ⊙ c + b_o           o = σ(ō)        output gate (peeks at the new c)
    y = o ⊙ h(c)                                                     block output

The weights of all blocks are packed side by side (``kernel`` = [W_z | W_i | W_f | W_o]) so
one matmul serves every block; :meth:`SpaceOdysseyLSTMCell.gate_weights` unpacks them into
the articles' names. A variant (see :mod:`lstm_tf.variants`) packs only the blocks it has.
"""

import keras
import numpy as np
import tensorflow as tf

from lstm_tf.variants import get_variant

_ACTIVATIONS = {"tanh": tf.tanh, "linear": lambda x: x}


@keras.saving.register_keras_serializable(package="lstm_tf")
class SpaceOdysseyLSTMCell(keras.layers.Layer):
    """One LSTM block of the Space Odyssey paper, for ``keras.layers.RNN``.

    Args:
        units: number of LSTM blocks (size of ``y`` and ``c``).
        variant: one of ``vanilla, NIG, NFG, NOG, NIAF, NOAF, NP, CIFG, FGR`` (default vanilla).
        unit_forget_bias: start the forget-gate bias at 1, as ``keras.layers.LSTM`` does
            (default True; ignored by variants without a forget gate).
        kernel_initializer, recurrent_initializer, peephole_initializer: initializers of
            ``W``, ``R`` (and FGR's gate-to-gate matrices) and ``p``.

    Call:
        ``cell(x, states)`` with ``x`` of shape ``(batch, input_dim)`` and ``states`` =
        ``[y⁽ᵗ⁻¹⁾, c⁽ᵗ⁻¹⁾]`` (each ``(batch, units)``; FGR adds the previous gates
        ``[i, f, o]`` as a third state of shape ``(batch, 3·units)``). Returns
        ``(y, new_states)``.

    Weights (only those the variant uses): ``kernel`` ``(input_dim, blocks·units)``,
    ``recurrent_kernel`` ``(units, blocks·units)``, ``bias`` ``(blocks·units,)``,
    ``peephole_i/f/o`` ``(units,)``, FGR's ``gate_recurrent_kernel`` ``(3·units, 3·units)``.
    """

    def __init__(
        self,
        units,
        variant="vanilla",
        unit_forget_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        peephole_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(units) < 1:
            raise ValueError(f"units must be a positive integer, got {units!r}.")
        self.units = int(units)
        self.variant = get_variant(variant)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.peephole_initializer = keras.initializers.get(peephole_initializer)
        self._g = _ACTIVATIONS[self.variant.input_activation]
        self._h = _ACTIVATIONS[self.variant.output_activation]
        self.state_size = [self.units, self.units]
        if self.variant.gate_recurrence:
            self.state_size.append(len(self.variant.gates) * self.units)
        self.output_size = self.units

    # ---------------------------------------------------------------- weights
    def build(self, input_shape):
        input_dim = int(input_shape[-1])
        width = len(self.variant.blocks) * self.units
        self.kernel = self.add_weight(shape=(input_dim, width), initializer=self.kernel_initializer, name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width), initializer=self.recurrent_initializer, name="recurrent_kernel"
        )
        self.bias = self.add_weight(shape=(width,), initializer=self._bias_initializer, name="bias")
        # One attribute per peephole (not a dict): tf.train.Checkpoint sees attributes for sure.
        for gate in self.variant.peepholes:
            setattr(
                self,
                f"peephole_{gate}",
                self.add_weight(shape=(self.units,), initializer=self.peephole_initializer, name=f"peephole_{gate}"),
            )
        if self.variant.gate_recurrence:
            n = len(self.variant.gates) * self.units
            self.gate_recurrent_kernel = self.add_weight(
                shape=(n, n), initializer=self.recurrent_initializer, name="gate_recurrent_kernel"
            )

    @property
    def peepholes(self):
        """``{gate: p_gate}`` for the gates that have a peephole."""
        return {gate: getattr(self, f"peephole_{gate}") for gate in self.variant.peepholes}

    def _bias_initializer(self, shape, dtype=None):
        bias = np.zeros(shape, dtype="float32")
        if self.unit_forget_bias and "f" in self.variant.blocks:
            start = self.variant.blocks.index("f") * self.units
            bias[start : start + self.units] = 1.0
        return keras.ops.convert_to_tensor(bias, dtype=dtype)

    def _weight_names(self):
        """Article name → (variable, column slice or None) for every weight the variant has."""
        if not self.built:  # the kernel's rows are the input features, known at the first call
            raise ValueError(
                "the cell has no weights yet: call it (or its layer) on an input first, or build it with "
                "cell.build((None, input_dim))."
            )
        u, names = self.units, {}
        for k, block in enumerate(self.variant.blocks):
            cols = slice(k * u, (k + 1) * u)
            names[f"W_{block}"] = (self.kernel, cols)
            names[f"R_{block}"] = (self.recurrent_kernel, cols)
            names[f"b_{block}"] = (self.bias, cols)
            if block in self.peepholes:
                names[f"p_{block}"] = (self.peepholes[block], None)
        if self.variant.gate_recurrence:
            gates = self.variant.gates
            for a, source in enumerate(gates):
                for b, target in enumerate(gates):
                    # R_fi: from f⁽ᵗ⁻¹⁾ into ī⁽ᵗ⁾ (rows: source gate, columns: target gate)
                    names[f"R_{source}{target}"] = (
                        self.gate_recurrent_kernel,
                        (slice(a * u, (a + 1) * u), slice(b * u, (b + 1) * u)),
                    )
        return names

    def gate_weights(self):
        """The weights in the articles' notation, as NumPy arrays.

        Returns:
            dict with ``W_*`` ``(input_dim, units)``, ``R_*`` ``(units, units)``, ``p_*`` and
            ``b_*`` ``(units,)`` for ``* ∈ {z, i, f, o}`` where the variant has them, and for
            FGR the nine gate-to-gate matrices ``R_{source}{target}`` (e.g. ``R_fi``: f⁽ᵗ⁻¹⁾ → ī).
        """
        return self._unpack({id(v): keras.ops.convert_to_numpy(v) for v in self.weights})

    def named_gradients(self, gradients):
        """Gradients of the cell's weights in the articles' notation.

        Args:
            gradients: one array per variable of ``cell.weights``, in that order (what
                ``tape.gradient(loss, cell.weights)`` returns).

        Returns:
            dict keyed and shaped like :meth:`gate_weights` (``dJ/dW_f``, ``dJ/dp_o``, ...).
        """
        return self._unpack({id(v): np.asarray(g) for v, g in zip(self.weights, gradients)})

    def _unpack(self, packed):
        """``{id(variable): array}`` of the packed variables → the articles' named slices."""
        out = {}
        for name, (var, where) in self._weight_names().items():
            value = packed[id(var)]
            if where is None:
                out[name] = value
            elif isinstance(where, tuple):
                out[name] = value[where]
            else:
                out[name] = value[..., where]
        return out

    def set_gate_weights(self, weights):
        """Set every weight from a dict shaped like :meth:`gate_weights`' result.

        Raises:
            ValueError: a name is missing or unknown for this variant, or a shape differs.
        """
        names = self._weight_names()
        missing, unknown = sorted(set(names) - set(weights)), sorted(set(weights) - set(names))
        if missing or unknown:
            raise ValueError(
                f"{self.variant.name} cell weights: missing {missing or 'none'}, "
                f"unknown {unknown or 'none'} (this variant has {sorted(names)})."
            )
        packed = {id(var): keras.ops.convert_to_numpy(var).copy() for var, _ in names.values()}
        for name, (var, where) in names.items():
            target = packed[id(var)]
            index = where if isinstance(where, tuple) else (Ellipsis, where) if where is not None else Ellipsis
            value = np.asarray(weights[name])
            if value.shape != target[index].shape:
                raise ValueError(f"{name} must have shape {target[index].shape}, got {value.shape}.")
            target[index] = value
        for var, _ in names.values():
            var.assign(packed[id(var)])

    # ---------------------------------------------------------------- forward
    def input_projection(self, x):
        """``x @ [W_z | W_i | W_f | W_o] + b``: the part of every block that does not recur.

        ``x``: ``(..., input_dim)`` → ``(..., blocks·units)``. The fast layer computes it for
        all time steps in one matmul.
        """
        return keras.ops.matmul(x, self.kernel) + self.bias

    def recurrent_weights(self):
        """``{name: variable}`` of the weights used inside the recurrence (all but W and b)."""
        weights = {"recurrent_kernel": self.recurrent_kernel}
        weights.update({f"peephole_{gate}": var for gate, var in self.peepholes.items()})
        if self.variant.gate_recurrence:
            weights["gate_recurrent_kernel"] = self.gate_recurrent_kernel
        return weights

    def step(self, projected, states, weights=None):
        """One time step given ``input_projection(x)``: returns ``(y, new_states)``.

        Args:
            projected: ``(batch, blocks·units)``, the step's ``x @ W + b``.
            states: ``[y⁽ᵗ⁻¹⁾, c⁽ᵗ⁻¹⁾]`` (+ FGR's previous gates), each ``(batch, size)``.
            weights: tensors to use instead of :meth:`recurrent_weights` (same keys); the
                fast layer passes them explicitly to differentiate the recurrence itself.
        """
        w = weights or self.recurrent_weights()
        y_prev, c_prev = states[0], states[1]
        pre = projected + keras.ops.matmul(y_prev, w["recurrent_kernel"])
        blocks = dict(zip(self.variant.blocks, tf.split(pre, len(self.variant.blocks), axis=-1)))
        if self.variant.gate_recurrence:
            gate_input = keras.ops.matmul(states[2], w["gate_recurrent_kernel"])
            for gate, extra in zip(self.variant.gates, tf.split(gate_input, len(self.variant.gates), axis=-1)):
                blocks[gate] = blocks[gate] + extra

        def gate(name, cell_state):  # σ(pre-activation + peephole ⊙ c), or 1 when the gate is removed
            if name not in blocks:
                return 1.0
            peephole = w.get(f"peephole_{name}")
            return tf.sigmoid(blocks[name] if peephole is None else blocks[name] + peephole * cell_state)

        z = self._g(blocks["z"])
        i = gate("i", c_prev)
        f = 1.0 - i if self.variant.coupled_forget else gate("f", c_prev)
        c = z * i + c_prev * f
        o = gate("o", c)
        y = o * self._h(c)

        new_states = [y, c]
        if self.variant.gate_recurrence:
            new_states.append(tf.concat([i, f, o], axis=-1))
        return y, new_states

    def call(self, inputs, states, training=None):
        return self.step(self.input_projection(inputs), states)

    def get_initial_state(self, batch_size=None):
        return [keras.ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in self.state_size]

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            variant=self.variant.name,
            unit_forget_bias=self.unit_forget_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            recurrent_initializer=keras.initializers.serialize(self.recurrent_initializer),
            peephole_initializer=keras.initializers.serialize(self.peephole_initializer),
        )
        return config
