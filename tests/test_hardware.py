"""The bfloat16 units probe, and what training says where a CPU has none."""

import warnings

import pytest
import tensorflow as tf

from transformer_tf.hardware import cpu_has_bfloat16

FLAGS = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni {extra}\n"


@pytest.mark.parametrize(
    ("extra", "has_units"),
    [("avx512_bf16", True), ("amx_tile amx_bf16 amx_int8", True), ("", False), ("avx512_bf16x", False)],
)
def test_bfloat16_units_are_read_off_the_cpu_flags(tmp_path, extra, has_units):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(FLAGS.format(extra=extra))
    assert cpu_has_bfloat16(str(cpuinfo)) is has_units


def test_an_unreadable_cpuinfo_means_no_bfloat16_units(tmp_path):
    assert cpu_has_bfloat16(str(tmp_path / "absent")) is False


@pytest.mark.parametrize("has_units", [True, False])
def test_mixed_precision_on_a_cpu_warns_only_without_bfloat16_units(monkeypatch, has_units):
    from transformer_tf import hardware

    monkeypatch.setattr(hardware, "cpu_has_bfloat16", lambda: has_units)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert hardware.mixed_precision_policy() == "mixed_bfloat16"
    said = [str(w.message) for w in caught if "bfloat16 units" in str(w.message)]
    assert said == ([] if has_units else [hardware.MIXED_PRECISION_WITHOUT_UNITS])
    if said:
        assert "--mixed-precision" in said[0] and "slower than float32" in said[0]


def test_mixed_precision_on_a_gpu_is_float16_and_says_nothing(monkeypatch):
    from transformer_tf import hardware

    monkeypatch.setattr(hardware, "cpu_has_bfloat16", lambda: False)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hardware.mixed_precision_policy() == "mixed_float16"
