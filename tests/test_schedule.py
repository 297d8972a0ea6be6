import keras
import numpy as np
import pytest

from transformer_tf import CustomSchedule

# lrate = d_model^-0.5 · min(step^-0.5, step · warmup^-1.5) for d_model 128, warmup 4000 (the
# TensorFlow tutorial's plot), worked out to 30 digits with Python's decimal module, not with
# the implementation's expression: the peak 1/√(128 · 4000) at step 4000, its half and quarter.
PAPER_RATES = {
    1: 3.4938562148e-7,
    1000: 3.4938562148e-4,
    2000: 6.9877124297e-4,
    4000: 1.3975424859e-3,
    16000: 6.9877124297e-4,
    64000: 3.4938562148e-4,
}


def test_schedule_gives_the_papers_rates_for_the_tutorials_model():
    schedule = CustomSchedule(d_model=128, warmup_steps=4000)
    for step, rate in PAPER_RATES.items():
        np.testing.assert_allclose(float(schedule(step)), rate, rtol=1e-6, err_msg=f"step {step}")


def test_schedule_rises_linearly_then_decays_as_the_inverse_square_root():
    schedule = CustomSchedule(d_model=128, warmup_steps=4000)
    peak = float(schedule(4000))
    # linear warm-up: half the steps, half the rate; 4× the steps after it: half the rate
    np.testing.assert_allclose(
        [float(schedule(s)) / peak for s in (1000, 2000, 16000, 64000)], [0.25, 0.5, 0.5, 0.25], rtol=1e-6
    )
    rates = np.array([float(schedule(s)) for s in range(1, 20001, 50)])
    steps = np.arange(1, 20001, 50)
    assert np.all(np.diff(rates[steps <= 4000]) > 0) and np.all(np.diff(rates[steps >= 4000]) < 0)


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
