"""Inputs of the wrong shape or kind are refused with a message saying what is expected."""

import re

import numpy as np
import pytest
import tensorflow as tf

from transformer_tf import MultiHeadAttention, Transformer
from transformer_tf.seq2seq import RNNTranslator


@pytest.mark.parametrize("shape", [(5, 16), (2, 3, 5, 16), (16,)])
@pytest.mark.parametrize("which", ["v", "k", "q"])
def test_attention_refuses_inputs_that_are_not_batch_seq_d_model(shape, which):
    mha = MultiHeadAttention(d_model=16, num_heads=2)
    good = tf.zeros((2, 5, 16))
    inputs = {"v": good, "k": good, "q": good, which: tf.zeros(shape)}
    with pytest.raises(
        ValueError, match=rf"{which}: .*\(batch, seq, d_model\).*{len(shape)}-D .*{re.escape(str(shape))}"
    ):
        mha(inputs["v"], inputs["k"], inputs["q"])


def test_attention_takes_batch_seq_d_model():
    out, weights = MultiHeadAttention(d_model=16, num_heads=2)(
        tf.zeros((2, 5, 16)), tf.zeros((2, 5, 16)), tf.zeros((2, 3, 16))
    )
    assert out.shape == (2, 3, 16) and weights.shape == (2, 2, 3, 5)


@pytest.fixture(scope="module")
def models():
    transformer = Transformer(
        num_layers=1,
        d_model=16,
        num_heads=2,
        dff=32,
        input_vocab_size=60,
        target_vocab_size=70,
        pe_input=20,
        pe_target=20,
        rate=0.0,
    )
    rnn = RNNTranslator(input_vocab_size=60, target_vocab_size=70, embedding_dim=8, units=8)
    return {"transformer": transformer, "rnn": rnn}


GOOD = tf.constant([[3, 4, 5]], tf.int64)


@pytest.mark.parametrize("kind", ["transformer", "rnn"])
@pytest.mark.parametrize("side", [0, 1])
def test_negative_token_ids_are_refused(models, kind, side):
    bad = tf.constant([[3, -4, 5]], tf.int64)
    inputs = (bad, GOOD) if side == 0 else (GOOD, bad)
    with pytest.raises(ValueError, match="token ids must be ≥ 0"):
        models[kind](inputs)
    graph = tf.function(lambda inp, tar: models[kind]((inp, tar)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="token ids must be ≥ 0"):
        graph(*inputs)


@pytest.mark.parametrize("kind", ["transformer", "rnn"])
def test_float_token_ids_are_refused(models, kind):
    with pytest.raises(TypeError, match="token ids must be integers.*float32"):
        models[kind]((tf.constant([[3.0, 4.7, 5.0]]), GOOD))
    with pytest.raises(ValueError, match="token ids must be ≥ 0"):
        models[kind].start_decoding(tf.constant([[3, -1]], tf.int64), 4)
    assert models[kind]((GOOD, GOOD)).shape == (1, 3, 70)


def test_in_a_graph_float_ids_must_be_whole_numbers(models):
    """Keras traces a saved model's default signature with float32 inputs: whole numbers pass there."""
    graph = tf.function(lambda inp, tar: models["transformer"]((inp, tar)))
    whole = graph(tf.constant([[3.0, 4.0, 5.0]]), tf.cast(GOOD, tf.float32))
    np.testing.assert_allclose(whole.numpy(), models["transformer"]((GOOD, GOOD)).numpy(), atol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError, match="token ids must be whole numbers"):
        graph(tf.constant([[3.0, 4.7, 5.0]]), tf.cast(GOOD, tf.float32))
