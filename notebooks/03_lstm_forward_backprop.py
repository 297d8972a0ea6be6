# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The LSTM of "LSTM: A Search Space Odyssey": forward pass, backprop, variants
#
# Companion to the LSTM articles (forward pass and backpropagation through time of Greff et al.,
# 2017). Everything runs through `lstm_tf`:
#
# 1. the forward equations of one step, quantity by quantity (`SpaceOdysseyLSTMCell`, `lstm_tf.bptt`);
# 2. the nine variants and the weights each has;
# 3. the δ equations of BPTT, written by hand, against `tf.GradientTape`;
# 4. vanishing gradients through time, and clipping by global norm (`lstm_tf.gradients`);
# 5. the fast layer `SpaceOdysseyLSTM`;
# 6. the variant study on JSB Chorales (`lstm_tf.study`, then `lstm_tf.analysis` and `lstm_tf.report`).
#
# `QUICK = True` (what the test suite uses) shortens the sequences of the gradient studies.

# %% tags=["parameters"]
QUICK = False

# %%
from pathlib import Path

REPO = Path.cwd().resolve().parent  # the working directory is notebooks/ (Jupyter's default)
import tempfile

import keras
import numpy as np
import optuna
import pandas as pd
import tensorflow as tf
from IPython.display import Markdown, display

from lstm_tf import VARIANTS, SpaceOdysseyLSTM, SpaceOdysseyLSTMCell, get_variant, load_jsb_chorales
from lstm_tf.analysis import check_paper_claims, importance_by_variant, summarize, variant_forests
from lstm_tf.bptt import autodiff_gradients, lstm_backward, lstm_forward
from lstm_tf.gradients import clipping_demo, plot_vanishing_gradients, vanishing_gradient_study
from lstm_tf.jsb import plot_piano_roll
from lstm_tf.report import markdown_report, plot_importance, plot_learning_rate_marginal, plot_study
from lstm_tf.study import run_study
from lstm_tf.study_config import StudyConfig, search_space

keras.utils.set_random_seed(0)
optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial is too much here
np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## 1. One step of the forward pass
#
# With g = h = tanh and σ the logistic sigmoid, an LSTM block with peepholes computes
#
# | | pre-activation | activation |
# | --- | --- | --- |
# | block input | z̄ = W_z x + R_z y⁽ᵗ⁻¹⁾ + b_z | z = g(z̄) |
# | input gate | ī = W_i x + R_i y⁽ᵗ⁻¹⁾ + p_i ⊙ c⁽ᵗ⁻¹⁾ + b_i | i = σ(ī) |
# | forget gate | f̄ = W_f x + R_f y⁽ᵗ⁻¹⁾ + p_f ⊙ c⁽ᵗ⁻¹⁾ + b_f | f = σ(f̄) |
# | cell state | | c = z ⊙ i + c⁽ᵗ⁻¹⁾ ⊙ f |
# | output gate | ō = W_o x + R_o y⁽ᵗ⁻¹⁾ + p_o ⊙ c + b_o | o = σ(ō) |
# | block output | | y = o ⊙ h(c) |
#
# The cell keeps its weights under these names (`gate_weights()`): W as `(input_dim, units)`
# (a row vector times W), R as `(units, units)`, p and b as `(units,)`.

# %%
cell = SpaceOdysseyLSTMCell(units=3)
cell.build((None, 2))  # 2 input features, 3 blocks
weights = cell.gate_weights()
{name: value.shape for name, value in weights.items()}

# %% [markdown]
# `lstm_forward` (NumPy, float64) keeps every intermediate quantity. One step from
# y⁽⁰⁾ = c⁽⁰⁾ = 0 with x = (1, −1); note `b_f` = 1, the forget bias Keras also starts with.

# %%
x = np.array([[[1.0, -1.0]]])  # (batch 1, time 1, features 2)
y, cache = lstm_forward(x, weights)
steps = pd.DataFrame(
    {name: cache[name][0, 0] for name in ("z_bar", "z", "i_bar", "i", "f_bar", "f", "c", "o_bar", "o", "y")}
).T
steps.columns = [f"unit {u}" for u in range(3)]
steps

# %%
y_keras, (y_state, c_state) = cell(tf.constant(x[:, 0], tf.float32), [tf.zeros((1, 3)), tf.zeros((1, 3))])
print("Keras cell y:", y_keras.numpy()[0], " c:", c_state.numpy()[0])
print("equations  y:", cache["y"][0, 0], " c:", cache["c"][0, 0])

# %% [markdown]
# ## 2. Nine variants, each with only the weights it uses
#
# The paper removes or changes one part at a time: no input / forget / output gate (NIG, NFG,
# NOG), no input or output activation function (NIAF, NOAF), no peepholes (NP), coupled input
# and forget gate f = 1 − i (CIFG), full gate recurrence (FGR: the gates at t − 1 feed every
# gate at t through nine more matrices R_ii … R_oo).

# %%
rows = []
for variant in VARIANTS:
    v_cell = SpaceOdysseyLSTMCell(3, variant=variant)
    v_cell.build((None, 2))
    names = v_cell.gate_weights()
    rows.append(
        {
            "variant": variant,
            "blocks": " ".join(get_variant(variant).blocks),
            "peepholes": " ".join(f"p_{g}" for g in get_variant(variant).peepholes) or "none",
            "weights": len(names),
            "parameters": sum(a.size for a in names.values()),
        }
    )
pd.DataFrame(rows).set_index("variant")

# %% [markdown]
# ## 3. Backpropagation through time, by hand
#
# Going backwards from the last step, with Δ⁽ᵗ⁾ the gradient from the layer above:
#
# - δy⁽ᵗ⁾ = Δ⁽ᵗ⁾ + R_zᵀ δz̄⁽ᵗ⁺¹⁾ + R_iᵀ δī⁽ᵗ⁺¹⁾ + R_fᵀ δf̄⁽ᵗ⁺¹⁾ + R_oᵀ δō⁽ᵗ⁺¹⁾
# - δō⁽ᵗ⁾ = δy⁽ᵗ⁾ ⊙ h(c⁽ᵗ⁾) ⊙ σ'(ō⁽ᵗ⁾)
# - δc⁽ᵗ⁾ = δy⁽ᵗ⁾ ⊙ o⁽ᵗ⁾ ⊙ h'(c⁽ᵗ⁾) + p_o ⊙ δō⁽ᵗ⁾ + p_i ⊙ δī⁽ᵗ⁺¹⁾ + p_f ⊙ δf̄⁽ᵗ⁺¹⁾ + δc⁽ᵗ⁺¹⁾ ⊙ f⁽ᵗ⁺¹⁾
# - δf̄⁽ᵗ⁾ = δc⁽ᵗ⁾ ⊙ c⁽ᵗ⁻¹⁾ ⊙ σ'(f̄⁽ᵗ⁾),  δī⁽ᵗ⁾ = δc⁽ᵗ⁾ ⊙ z⁽ᵗ⁾ ⊙ σ'(ī⁽ᵗ⁾),  δz̄⁽ᵗ⁾ = δc⁽ᵗ⁾ ⊙ i⁽ᵗ⁾ ⊙ g'(z̄⁽ᵗ⁾)
#
# and the weight gradients sum outer products over time: δW_* = Σ x⁽ᵗ⁾ ⊗ δ*⁽ᵗ⁾,
# δR_* = Σ y⁽ᵗ⁻¹⁾ ⊗ δ*⁽ᵗ⁾, δp_i = Σ c⁽ᵗ⁻¹⁾ ⊙ δī⁽ᵗ⁾, δp_f = Σ c⁽ᵗ⁻¹⁾ ⊙ δf̄⁽ᵗ⁾, δp_o = Σ c⁽ᵗ⁾ ⊙ δō⁽ᵗ⁾,
# δb_* = Σ δ*⁽ᵗ⁾. `lstm_backward` is exactly these lines; `autodiff_gradients` asks
# `tf.GradientTape` for the same numbers through the Keras cell.

# %%
rng = np.random.default_rng(0)
units, steps_bptt = 4, (8 if QUICK else 30)
big = SpaceOdysseyLSTMCell(units)
big.build((None, 3))
w = {name: rng.standard_normal(value.shape) for name, value in big.gate_weights().items()}
x_seq = rng.standard_normal((2, steps_bptt, 3))  # (batch, time, features)
delta = rng.standard_normal((2, steps_bptt, units))  # Δ: dJ/dy from above, J = Σ Δ · y

_, cache = lstm_forward(x_seq, w)
by_hand = lstm_backward(delta, cache)
_, by_tape = autodiff_gradients(x_seq, w, delta)
pd.DataFrame(
    {
        "shape": [by_hand[n].shape for n in by_hand],
        "max |hand − tape|": [np.abs(by_hand[n] - by_tape[n]).max() for n in by_hand],
    },
    index=list(by_hand),
)

# %% [markdown]
# ## 4. Vanishing gradients, and clipping
#
# How much does the last output still depend on the output k steps earlier? In a simple RNN the
# gradient is multiplied by Rᵀ diag(tanh') at every step and shrinks geometrically. In the LSTM
# the cell-state path multiplies it by f only: with f = 1 (NFG, the original "constant error
# carousel") nothing is lost; with f ≈ 0.73 (forget bias 1) or f ≈ 0.5 (CIFG at initialisation)
# it still decays, until training opens the gates.

# %%
study = vanishing_gradient_study(units=32, steps=20 if QUICK else 60, variants=("vanilla", "NFG", "CIFG", "NP"))
plot_vanishing_gradients(study)
study.pivot(index="distance", columns="model", values="relative").iloc[[1, 5, 10, -1]]

# %% [markdown]
# Exploding gradients are the other failure. Clipping by global norm rescales all gradients
# together when their joint norm exceeds a threshold: g ← threshold · g / ‖g‖. The direction is
# kept; only the step is bounded (`tf.clip_by_global_norm`, or `global_clipnorm=` of a Keras
# optimizer).

# %%
demo = clipping_demo(clip_norm=1.0, recurrent_scale=3.0, learning_rate=0.1)
print(f"global gradient norm of an exploding RNN: {demo['global_norm']:.3g}")
print(
    f"after clip_by_global_norm(·, 1.0): {demo['clipped_norm']:.3g}, cosine with the raw gradient {demo['cosine']:.4f}"
)
print(f"SGD step (lr 0.1): raw {demo['step_raw']:.3g}, clipped {demo['step_clipped']:.3g}")

# %% [markdown]
# ## 5. The fast layer
#
# `SpaceOdysseyLSTM` gives the same numbers as `keras.layers.RNN(SpaceOdysseyLSTMCell(...))`
# but computes the input projections of all steps in one matmul and compiles the recurrence
# (forward, and its own backward loop) with XLA. `bench/lstm.py` measures it against
# `keras.layers.LSTM`.

# %%
inputs = tf.random.normal((4, 25, 8))
fast = SpaceOdysseyLSTM(16, variant="CIFG", return_sequences=True)
slow = keras.layers.RNN(SpaceOdysseyLSTMCell(16, variant="CIFG"), return_sequences=True)
fast(inputs), slow(inputs)
slow.cell.set_gate_weights(fast.cell.gate_weights())
print("largest difference:", float(tf.reduce_max(tf.abs(fast(inputs) - slow(inputs)))))

# %% [markdown]
# ## 6. The variant study on JSB Chorales
#
# Bach chorales as 88-key piano rolls (one step per quarter note); the model predicts the next
# step's keys with sigmoid outputs; the score is the negative log-likelihood per time step on the
# test split. Here is the first training chorale:

# %%
# the project machines' copy; elsewhere: the cache or a download
shared = REPO.parent / "shared" / "data" / "jsb-chorales"
data = load_jsb_chorales(shared if shared.exists() else None)
print({split: len(rolls) for split, rolls in data.items()})
_ = plot_piano_roll(data["train"][0], title="JSB Chorales, train[0]")

# %% [markdown]
# The study as the paper ran it (`lstm-tf study --protocol paper`: random search on Optuna over
# the paper's space — hidden units, learning rate, momentum, Gaussian input noise — SGD with
# Nesterov momentum and early stopping, hidden units ≤ 64 and ≤ 12 epochs so it fits a CPU) is
# committed as `notebooks/figures/lstm_variant_study.csv`: this cell reads it (or
# `runs/lstm_study/results.csv` if you ran your own). Without either file it runs a seconds-long
# smoke study instead: its numbers show the method, not the paper's conclusions. The box plot shows the
# top 10 % of the trials per variant by validation, as the paper's figure 3; the verdicts use the
# paper's test (Welch's t-test against vanilla).

# %%
mine = REPO / "runs" / "lstm_study" / "results.csv"
committed = REPO / "notebooks" / "figures" / "lstm_variant_study.csv"
full_results = mine if mine.exists() else committed
if full_results.exists():
    results = pd.read_csv(full_results)
    protocol = "paper" if "input_noise" in results else "fast"
    config = StudyConfig.for_protocol(protocol, trials=int(results.groupby("variant").size().min()))
    table = summarize(results)
    checks = check_paper_claims(table)
else:
    config = StudyConfig.quick()
    results, table, checks = run_study(data, config, tempfile.mkdtemp(), progress=print)
plot_study(results)
display(Markdown(markdown_report(table, checks, config)))

# %% [markdown]
# ## 7. Which hyperparameters matter: fANOVA
#
# fANOVA fits a random forest to the test NLL against the hyperparameters and splits its variance
# into a share per hyperparameter and per pair. The paper found the learning rate most important
# on every dataset, then the hidden size; momentum hardly mattered and interactions were small.
# The row `all` pools every variant, with the variant as one more input. The second plot is the
# forest's test NLL against the learning rate, the other hyperparameters averaged out (band:
# ± 1 std over trees).

# %%
space = search_space(config)
# one fANOVA forest per variant, for the importance table and the learning-rate curves;
# the quick run fits 4 trees instead of 32: it only checks that the cells work
forests = variant_forests(results, space, n_trees=4 if QUICK else 32)
importance = importance_by_variant(results, space, forests=forests)
if len(importance):
    plot_importance(importance)
    plot_learning_rate_marginal(results, space, forests=forests)
    # formatted as text: DataFrame.style would need jinja2, which the project does not install
    display(importance.map(lambda share: "–" if pd.isna(share) else f"{share:.1%}"))
else:
    print(
        "fANOVA needs at least 5 trials per variant; the quick study has",
        len(results) // results["variant"].nunique(),
    )
