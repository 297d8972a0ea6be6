"""What this machine's CPU offers the model: bfloat16 matrix units, or not.

bfloat16 pays on a CPU only where it multiplies bfloat16 in hardware: AVX-512 BF16 (AMD Zen 4,
Intel Cooper Lake) or AMX (Intel Sapphire Rapids and later). Elsewhere oneDNN converts every
operand to float32 and back, and a bfloat16 matmul is several times *slower* than a float32 one
(docs/benchmarks.md, "Mixed precision": on an Intel Xeon whose hypervisor shows neither flag, a
4096² ``tf.matmul`` ran 62 GFLOP/s in bfloat16 against 314 in float32, and a training step under
``--mixed-precision`` at 0.39× the float32 step). So fast decoding uses bfloat16 weights only where
:func:`cpu_has_bfloat16`, and :func:`mixed_precision_policy` warns when training is asked for mixed
precision without them.
"""

import functools
import re
import warnings
from pathlib import Path


@functools.lru_cache(maxsize=1)
def cpu_has_bfloat16(cpuinfo="/proc/cpuinfo"):
    """Whether this CPU has bfloat16 matrix units (Linux ``/proc/cpuinfo``: ``avx512_bf16``
    or ``amx_bf16``); elsewhere False (not Linux: not known, so no bfloat16 is assumed)."""
    try:
        flags = Path(cpuinfo).read_text()
    except OSError:
        return False
    return re.search(r"\b(avx512_bf16|amx_bf16)\b", flags) is not None


#: Said once a run when mixed precision is asked of a CPU that has no bfloat16 units.
MIXED_PRECISION_WITHOUT_UNITS = (
    "this CPU has no bfloat16 units (neither avx512_bf16 nor amx_bf16 in /proc/cpuinfo): mixed precision "
    "emulates bfloat16 here and trains slower than float32 (0.39x on such a CPU, docs/benchmarks.md); "
    "leave out --mixed-precision on this machine."
)


def mixed_precision_policy():
    """The Keras dtype policy that ``--mixed-precision`` trains in here: ``"mixed_float16"`` on a GPU,
    ``"mixed_bfloat16"`` on a CPU (AVX-512 BF16 runs its matmuls about 2× float32). On a CPU without
    bfloat16 units it warns (:data:`MIXED_PRECISION_WITHOUT_UNITS`): a step there is slower than in float32."""
    import tensorflow as tf  # only the device list; the probe above needs no TensorFlow

    if tf.config.list_physical_devices("GPU"):
        return "mixed_float16"
    if not cpu_has_bfloat16():
        warnings.warn(MIXED_PRECISION_WITHOUT_UNITS, stacklevel=2)
    return "mixed_bfloat16"
