import keras
import numpy as np
import pytest

from transformer_tf import CustomSchedule


def test_schedule_follows_the_paper_formula():
    schedule = CustomSchedule(d_model=128, warmup_steps=4000)
    for step in (1, 100, 3999, 4000, 4001, 20000):
        expected = 128 ** -0.5 * min(step ** -0.5, step * 4000 ** -1.5)
        np.testing.assert_allclose(float(schedule(step)), expected, rtol=1e-6)


def test_schedule_peaks_at_the_end_of_warmup():
    schedule = CustomSchedule(d_model=512, warmup_steps=100)
    rates = np.array([float(schedule(s)) for s in range(1, 400)])
    assert rates.argmax() + 1 == 100
    np.testing.assert_allclose(rates.max(), (512 * 100) ** -0.5, rtol=1e-6)
    assert np.isfinite(float(schedule(0)))  # Keras' first iteration is step 0


def test_schedule_serializes_alone_and_inside_adam():
    schedule = CustomSchedule(d_model=64, warmup_steps=10)
    again = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    assert isinstance(again, CustomSchedule) and again.get_config() == schedule.get_config()

    adam = keras.optimizers.Adam(schedule, beta_1=0.9, beta_2=0.98, epsilon=1e-9)
    config = adam.get_config()
    assert config["learning_rate"]["class_name"] == "CustomSchedule"
    restored = keras.optimizers.Adam.from_config(config)
    assert restored.get_config() == adam.get_config()  # (from_config consumed `config` in place)
    # Keras 3's `learning_rate` is the schedule evaluated at the optimizer's step (0 here).
    np.testing.assert_allclose(float(restored.learning_rate), float(schedule(0)), rtol=1e-6)


@pytest.mark.parametrize("kwargs", [{"d_model": 128, "warmup_steps": 0}, {"d_model": 0, "warmup_steps": 10}])
def test_a_schedule_that_would_divide_by_zero_is_refused(kwargs):
    with pytest.raises(ValueError, match="must both be positive"):
        CustomSchedule(**kwargs)
