"""The nine LSTM variants of Greff et al., "LSTM: A Search Space Odyssey" (2017), as data.

Each variant is the vanilla LSTM with one change. A :class:`Variant` records which blocks
(cell input ``z`` and the gates ``i``, ``f``, ``o``) have their own weights, which
peepholes exist, and which activations are replaced, so the cell can create exactly the
weights a variant uses and nothing else.

=======  ==============================================================
vanilla  the full LSTM with peepholes (the paper's reference)
NIG      no input gate:          i = 1
NFG      no forget gate:         f = 1
NOG      no output gate:         o = 1
NIAF     no input activation:    g(x) = x
NOAF     no output activation:   h(x) = x
NP       no peepholes:           p_i = p_f = p_o = 0
CIFG     coupled input-forget:   f = 1 − i
FGR      full gate recurrence:   i, f, o at t−1 feed every gate at t
=======  ==============================================================
"""

from dataclasses import dataclass

VARIANTS = ("vanilla", "NIG", "NFG", "NOG", "NIAF", "NOAF", "NP", "CIFG", "FGR")


@dataclass(frozen=True)
class Variant:
    """What one variant keeps of the vanilla LSTM.

    Attributes:
        name: one of :data:`VARIANTS`.
        blocks: the blocks with their own ``W``, ``R`` and ``b``, in packing order
            (``"z"`` first, then the gates the variant has among ``"i", "f", "o"``).
        peepholes: the gates with a peephole weight ``p_*``.
        input_activation: ``"tanh"`` (g) or ``"linear"`` (NIAF).
        output_activation: ``"tanh"`` (h) or ``"linear"`` (NOAF).
        coupled_forget: ``f = 1 − i`` (CIFG).
        gate_recurrence: the gates of step t−1 feed every gate at t (FGR).
    """

    name: str
    blocks: tuple
    peepholes: tuple
    input_activation: str = "tanh"
    output_activation: str = "tanh"
    coupled_forget: bool = False
    gate_recurrence: bool = False

    @property
    def gates(self):
        """The gates with weights of their own, e.g. ``("i", "f", "o")``."""
        return tuple(b for b in self.blocks if b != "z")


def get_variant(name):
    """The :class:`Variant` called ``name`` (case-insensitive, e.g. ``"cifg"``)."""
    canonical = {v.lower(): v for v in VARIANTS}.get(str(name).lower())
    if canonical is None:
        raise ValueError(f"unknown LSTM variant {name!r}; choose one of {', '.join(VARIANTS)}.")
    blocks, peepholes = ["z", "i", "f", "o"], ["i", "f", "o"]
    options = {}
    if canonical == "NIG":
        blocks.remove("i"), peepholes.remove("i")
    elif canonical == "NFG":
        blocks.remove("f"), peepholes.remove("f")
    elif canonical == "NOG":
        blocks.remove("o"), peepholes.remove("o")
    elif canonical == "CIFG":
        blocks.remove("f"), peepholes.remove("f")
        options["coupled_forget"] = True
    elif canonical == "NP":
        peepholes.clear()
    elif canonical == "NIAF":
        options["input_activation"] = "linear"
    elif canonical == "NOAF":
        options["output_activation"] = "linear"
    elif canonical == "FGR":
        options["gate_recurrence"] = True
    return Variant(canonical, tuple(blocks), tuple(peepholes), **options)
