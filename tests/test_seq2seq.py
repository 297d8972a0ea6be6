"""The RNN encoder–decoder with Bahdanau attention (issue 15): attention, incremental decoding,
the Space Odyssey LSTM inside it, and the whole stack on a folder of model kind "rnn"."""

import dataclasses
import json
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from transformer_tf import seq2seq
from transformer_tf.attention_maps import sentence_attention
from transformer_tf.checkpoints import checkpoint_kind
from transformer_tf.cli import main
from transformer_tf.config import CONFIG_FILE, TrainConfig
from transformer_tf.decoding import FullRecompute, beam_search_decode, greedy_decode, greedy_decode_full
from transformer_tf.errors import TransformerTFError
from transformer_tf.tokenizer import END_ID, START_ID
from transformer_tf.translate import Translator

SENTENCES = ["He admired her as a great director.", "I am here.", "Tom is tall."]


def tiny_model(cell="lstm", variant="vanilla", share_embeddings=True):
    model = seq2seq.RNNTranslator(
        60, 60, embedding_dim=16, units=24, cell=cell, variant=variant, rate=0.0, share_embeddings=share_embeddings
    )
    model.build(((None, None), (None, None)))
    return model


def padded_sources(lengths, vocab=60, seed=0):
    """``(len(lengths), max + 2)`` START … END ids, 0-padded after each sentence's END."""
    rng = np.random.default_rng(seed)
    width = max(lengths) + 2
    rows = [[START_ID, *rng.integers(4, vocab, n), END_ID] + [0] * (width - n - 2) for n in lengths]
    return tf.constant(rows, tf.int64)


def test_attention_weights_sum_to_one_over_real_source_tokens_and_are_zero_on_padding():
    inp = padded_sources([2, 9, 5])  # real lengths 4, 11, 7 of 11
    real = (inp.numpy() != 0).astype(float)[:, np.newaxis, :]  # (batch, 1, inp_len)
    model = tiny_model()
    tar = padded_sources([6, 3, 1], seed=1)
    _, attention = model((inp, tar), return_attention=True)
    weights = attention["cross_attention"].numpy()[:, 0]  # (batch, tar_len, inp_len), one "head"
    assert weights.shape == (3, tar.shape[1], inp.shape[1])
    np.testing.assert_allclose((weights * real).sum(-1), 1.0, atol=1e-6)
    assert np.all(weights[np.broadcast_to(real, weights.shape) == 0] == 0.0)  # exactly 0, not merely small
    assert np.all(weights[np.broadcast_to(real, weights.shape) == 1] > 0.0)

    # the layer alone, with the article's names: score = vᵀ tanh(W₁ h_s + W₂ h_t)
    attention_layer = seq2seq.BahdanauAttention(8)
    h_t, h_s = tf.random.normal((3, 4, 6)), tf.random.normal((3, 11, 6))
    context, alpha = attention_layer(h_t, h_s, padding_mask=seq2seq.source_padding_mask(inp))
    score = attention_layer.V(tf.tanh(attention_layer.W1(h_s)[:, None] + attention_layer.W2(h_t)[:, :, None]))[..., 0]
    expected = np.where(real == 1, np.exp(score - score.numpy().max(-1, keepdims=True)), 0.0)
    np.testing.assert_allclose(alpha, expected / expected.sum(-1, keepdims=True), atol=1e-6)
    np.testing.assert_allclose(context, np.einsum("bts,bsd->btd", alpha, h_s), atol=1e-5)


def test_padding_does_not_change_a_sentences_encoding():
    model = tiny_model("gru")
    short, padded = padded_sources([4]), tf.pad(padded_sources([4]), [[0, 0], [0, 5]])
    np.testing.assert_allclose(model.encoder(padded)[:, :6], model.encoder(short), atol=1e-6)
    assert np.all(model.encoder(padded).numpy()[:, 6:] == 0)


@pytest.mark.parametrize("cell, variant", [("lstm", "vanilla"), ("gru", "vanilla"), ("space_odyssey", "FGR")])
def test_incremental_decoding_equals_full_recomputation_token_for_token(cell, variant):
    model = tiny_model(cell, variant)
    inp = padded_sources([3, 8, 5, 1])
    incremental = greedy_decode(model, inp, 9, stop_at_end=False).numpy()
    full = greedy_decode_full(model, inp, 9, stop_at_end=False).numpy()
    assert incremental.shape == (4, 9)
    np.testing.assert_array_equal(incremental, full)
    beam = beam_search_decode(model, inp, 9, beam_size=3).numpy()
    np.testing.assert_array_equal(beam, beam_search_decode(FullRecompute(model), inp, 9, beam_size=3).numpy())
    graph = tf.function(lambda x: greedy_decode(model, x, 9, stop_at_end=False))(inp)
    np.testing.assert_array_equal(graph, incremental)


def test_the_model_serializes_and_reloads_with_the_same_outputs(tmp_path):
    model = tiny_model("gru", share_embeddings=False)
    inp, tar = padded_sources([3, 6]), padded_sources([4, 2], seed=1)
    model.save(tmp_path / "rnn.keras")
    reloaded = keras.saving.load_model(tmp_path / "rnn.keras")
    assert isinstance(reloaded, seq2seq.RNNTranslator) and reloaded.hparams == model.hparams
    np.testing.assert_allclose(reloaded((inp, tar)), model((inp, tar)), atol=1e-6)


def copy_task_losses(config, epochs=6):
    """Per-epoch training losses of ``build_model(config)`` learning to copy 256 random sentences."""
    from transformer_tf.train import build_model

    model = build_model(dataclasses.replace(config, warmup_steps=20, dropout=0.0), 30, 30)
    # copy task: the target is the source
    rng = np.random.default_rng(0)
    body = rng.integers(4, 30, (256, 6))
    start, end = np.full((256, 1), START_ID), np.full((256, 1), END_ID)
    inp = np.concatenate([start, body, end], 1)
    history = model.fit((inp, inp[:, :-1]), inp[:, 1:], batch_size=32, epochs=epochs, verbose=0)
    return model, history.history["loss"]


def test_the_space_odyssey_lstm_plugs_in_and_trains_a_tiny_model():
    from lstm_tf import SpaceOdysseyLSTM

    config = TrainConfig(model="rnn", rnn_cell="space_odyssey", rnn_variant="CIFG", rnn_units=32, rnn_embedding=16)
    model, losses = copy_task_losses(config)
    assert isinstance(model.encoder.forward_rnn, SpaceOdysseyLSTM)
    assert model.decoder.rnn.variant.name == "CIFG"
    assert losses[-1] < 0.8 * losses[0], losses


def test_the_rnn_trains_under_mixed_precision():
    config = TrainConfig(model="rnn", rnn_cell="gru", rnn_units=32, rnn_embedding=16, mixed_precision=True)
    model, losses = copy_task_losses(config, epochs=3)
    assert model.encoder.forward_rnn.compute_dtype == "bfloat16"  # a CPU: mixed_bfloat16
    assert losses[-1] < losses[0], losses


def test_a_config_without_a_model_kind_loads_as_a_transformer(tmp_path):
    TrainConfig().save(tmp_path)
    payload = json.loads((tmp_path / CONFIG_FILE).read_text())
    del payload["model"]
    (tmp_path / CONFIG_FILE).write_text(json.dumps(payload))
    assert TrainConfig.load(tmp_path).model == "transformer"


def test_bad_rnn_settings_name_the_field_or_the_flag(tmp_path, capsys):
    with pytest.raises(TransformerTFError, match="^rnn_variant 'LSTM'"):
        TrainConfig(model="rnn", rnn_cell="space_odyssey", rnn_variant="LSTM").validate()
    with pytest.raises(TransformerTFError, match="^model 'cnn': choose one of transformer, rnn"):
        TrainConfig(model="cnn").validate()
    assert main(["train", "--model", "rnn", "--rnn-units", "0", "--checkpoint-dir", str(tmp_path / "x")]) == 2
    assert "--rnn-units 0" in capsys.readouterr().err and not (tmp_path / "x").exists()


# ---------------------------------------------------------------- a trained folder of kind "rnn"


@pytest.fixture(scope="module")
def rnn_dir(shared_data, tmp_path_factory):
    """A tiny RNN trained for one epoch on 1,500 real pairs through the training command's code."""
    from transformer_tf.train import train

    folder = tmp_path_factory.mktemp("rnn")
    config = TrainConfig(
        model="rnn",
        rnn_units=32,
        rnn_embedding=16,
        data=str(shared_data / "spa-eng" / "spa.txt"),
        max_pairs=1500,
        epochs=1,
        vocab_size=500,
        max_tokens=24,
    )
    train(config, folder / "ckpt", folder / "logs", verbose=0)
    return folder / "ckpt"


def test_the_compiled_attention_pass_gives_the_rnns_eager_weights(rnn_dir):
    from test_explorer import assert_compiled_pass_matches_eager

    assert_compiled_pass_matches_eager(Translator.from_checkpoint(rnn_dir), SENTENCES)


@pytest.mark.slow
def test_training_an_rnn_folder_records_its_kind_and_logs(rnn_dir):
    assert TrainConfig.load(rnn_dir).model == "rnn"
    prefix = tf.train.latest_checkpoint(str(rnn_dir))
    assert checkpoint_kind(prefix) == "rnn"
    assert list((rnn_dir.parent / "logs").rglob("events.out.tfevents.*"))
    translator = Translator.from_checkpoint(rnn_dir)
    assert isinstance(translator.model, seq2seq.RNNTranslator)


@pytest.mark.slow
def test_an_rnn_run_resumes_from_its_checkpoint(rnn_dir, tmp_path):
    from transformer_tf.train import train

    folder = tmp_path / "resumed"
    shutil.copytree(rnn_dir, folder)
    steps = int(tf.train.latest_checkpoint(str(folder)).rsplit("-", 1)[1])  # one epoch
    config = dataclasses.replace(TrainConfig.load(folder), epochs=2)
    model, history = train(config, folder, tmp_path / "logs", verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 2 * steps
    assert list(history.epoch) == [1] and TrainConfig.load(folder).epochs == 2


@pytest.mark.slow
def test_a_checkpoint_restores_into_a_fresh_process_and_exports(rnn_dir, tmp_path):
    translator = Translator.from_checkpoint(rnn_dir)
    expected = {beam: translator.translate(SENTENCES, beam=beam) for beam in (1, 3)}
    assert main(["export", str(tmp_path / "exported"), "--checkpoint-dir", str(rnn_dir)]) == 0
    script = (
        "import json, sys, tensorflow as tf, tensorflow_text\n"
        "from transformer_tf.translate import Translator\n"
        "sentences = json.loads(sys.argv[3])\n"
        "t = Translator.from_checkpoint(sys.argv[1])\n"
        "m = tf.saved_model.load(sys.argv[2])\n"
        "exported = m.translate(tf.constant(sentences))\n"
        "print(json.dumps({'1': t.translate(sentences), '3': t.translate(sentences, beam=3),\n"
        "                  'export': [s.decode('utf-8') for s in exported.numpy()]}))\n"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", script, str(rnn_dir), str(tmp_path / "exported"), json.dumps(SENTENCES)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    got = json.loads(fresh.stdout.strip().splitlines()[-1])
    assert got == {"1": expected[1], "3": expected[3], "export": expected[1]}


@pytest.mark.slow
def test_translate_and_evaluate_cli_on_an_rnn_folder(rnn_dir, capsys):
    assert main(["translate", "--checkpoint-dir", str(rnn_dir), "--beam", "2", *SENTENCES[:2]]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2
    assert main(["evaluate", "--checkpoint-dir", str(rnn_dir), "--limit", "5", "--beam", "2"]) == 0
    assert "5 sentences of the held-out test split, beam 2 (tensorflow): BLEU" in capsys.readouterr().out


@pytest.mark.slow
def test_released_rnn_weights_alone_translate_like_the_checkpoint(rnn_dir, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(rnn_dir, folder)
    expected = Translator.from_checkpoint(folder).translate(SENTENCES)
    assert main(["release", "--checkpoint-dir", str(folder), "--average", "1"]) == 0
    shipped = tmp_path / "shipped"  # what a clone has: config, tokenizers, weights
    shutil.copytree(folder / "weights", shipped / "weights")
    for item in folder.glob("*.json"):
        shutil.copy(item, shipped)
    for item in folder.glob("*.model"):
        shutil.copy(item, shipped)
    assert checkpoint_kind(str(shipped / "weights" / "model")) == "rnn"
    assert Translator.from_checkpoint(shipped).translate(SENTENCES) == expected


@pytest.mark.slow
def test_plot_attention_on_an_rnn_folder_draws_one_target_by_source_heatmap(rnn_dir, tmp_path, capsys):
    from transformer_tf.explorer import PAGE_NAME

    out = tmp_path / "att"
    assert main(["plot-attention", SENTENCES[0], "--out", str(out), "--checkpoint-dir", str(rnn_dir)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [PAGE_NAME, "cross_attention.png", "overview_cross.png"]
    pixels = np.asarray(Image.open(out / "cross_attention.png").convert("L"), dtype=float)
    assert pixels.std() > 20
    page = (out / PAGE_NAME).read_text(encoding="utf-8")
    data = json.loads(page.split('id="attention-data">', 1)[1].split("</script>", 1)[0])
    attention = sentence_attention(Translator.from_checkpoint(rnn_dir), SENTENCES[0])
    assert [kind["name"] for kind in data["kinds"]] == attention.kinds == ["cross"]
    weights = np.array(data["kinds"][0]["weights"])  # (layers, heads, target, source)
    assert weights.shape == (1, 1, len(attention.target_pieces), len(attention.source_pieces))
    np.testing.assert_allclose(weights[0], attention.matrix("cross", 1), atol=1e-6)
    assert "bidirectional lstm, 32 units" in page
    capsys.readouterr()
    assert main(["plot-attention", SENTENCES[0], "--kind", "encoder", "--out", str(tmp_path / "no"),
                 "--checkpoint-dir", str(rnn_dir)]) == 2  # fmt: skip
    assert "it has cross" in capsys.readouterr().err and not (tmp_path / "no").exists()


@pytest.mark.slow
def test_a_checkpoint_of_one_kind_loaded_as_the_other_fails_naming_both(rnn_dir, tmp_path, capsys):
    from transformer_tf.train import train

    mislabelled = tmp_path / "mislabelled"
    shutil.copytree(rnn_dir, mislabelled)
    payload = json.loads((mislabelled / CONFIG_FILE).read_text())
    (mislabelled / CONFIG_FILE).write_text(json.dumps({**payload, "model": "transformer"}))
    # config.json says transformer, the weights are an RNN's
    assert main(["translate", "--checkpoint-dir", str(mislabelled), "Hi."]) == 2
    err = capsys.readouterr().err
    assert "weights of a 'rnn' model, but config.json describes a 'transformer' model" in err
    assert "Traceback" not in err
    # a folder of kind "transformer" resumed as --model rnn
    config = TrainConfig.load(mislabelled)
    with pytest.raises(TransformerTFError, match="is a 'transformer' model and model='rnn' asks for a 'rnn'"):
        train(dataclasses.replace(config, model="rnn"), mislabelled, tmp_path / "logs", verbose=0)
