"""The learning-rate schedule of "Attention Is All You Need" (section 5.3)."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="transformer_tf")
class CustomSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """lrate = d_model^-0.5 · min(step^-0.5, step · warmup_steps^-1.5).

    The rate rises linearly for the first ``warmup_steps`` steps, peaks at
    ``(d_model · warmup_steps)^-0.5``, then decays as ``step^-0.5``. Step 0 (Keras'
    first optimizer iteration) is treated as step 1 so that the rate is finite.

    Args:
        d_model: model width.
        warmup_steps: length of the linear warm-up (4000 in the paper).

    Use as ``keras.optimizers.Adam(CustomSchedule(d_model), beta_1=0.9, beta_2=0.98,
    epsilon=1e-9)``; it serializes with the optimizer.
    """

    def __init__(self, d_model, warmup_steps=4000):
        super().__init__()
        if d_model <= 0 or warmup_steps <= 0:
            raise ValueError(
                f"d_model={d_model} and warmup_steps={warmup_steps} must both be positive "
                f"(the rate divides by their square roots)."
            )
        self.d_model = d_model
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        step = tf.maximum(tf.cast(step, tf.float32), 1.0)
        arg1 = tf.math.rsqrt(step)
        arg2 = step * (self.warmup_steps**-1.5)
        return tf.math.rsqrt(tf.cast(self.d_model, tf.float32)) * tf.math.minimum(arg1, arg2)

    def get_config(self):
        return {"d_model": self.d_model, "warmup_steps": self.warmup_steps}
