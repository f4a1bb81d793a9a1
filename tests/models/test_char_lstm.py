import equinox as eqx
import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

import models
from ..helpers import finite_difference_grad


def test_lstm_layer_matches_equinox_cell(key):
    layer = models.LSTMLayer(3, 5, key=key)
    cell = eqx.nn.LSTMCell(3, 5, key=key)
    cell = eqx.tree_at(lambda c: (c.weight_ih, c.weight_hh, c.bias), cell, (layer.w_x.T, layer.w_h.T, layer.bias))
    xs = jax.random.normal(jax.random.fold_in(key, 1), (7, 3))
    state = (jnp.zeros(5), jnp.zeros(5))
    hs, (h, c) = layer(xs @ layer.w_x, state)
    ref_state, ref_hs = state, []
    for x in xs:
        ref_state = cell(x, ref_state)
        ref_hs.append(ref_state[0])
    np.testing.assert_allclose(hs, np.stack(ref_hs), rtol=1e-10)
    np.testing.assert_allclose(c, ref_state[1], rtol=1e-10)


def test_sequence_loss_gradient_against_finite_differences(key):
    model = models.CharLSTM(6, hidden=4, num_layers=2, key=key)
    batch = jax.random.randint(jax.random.fold_in(key, 2), (2, 5), 0, 6)
    grads = jax.grad(models.sequence_loss)(model, batch)
    f = jax.jit(lambda w: models.sequence_loss(eqx.tree_at(lambda m: m.layers[1].w_h, model, w), batch))
    fd = finite_difference_grad(f, model.layers[1].w_h)
    np.testing.assert_allclose(grads.layers[1].w_h, fd, rtol=1e-5, atol=1e-8)
    jax.test_util.check_grads(jax.jit(lambda b: models.sequence_loss(eqx.tree_at(lambda m: m.head_b, model, b), batch)), (model.head_b,), order=1, modes=("fwd", "rev"))


def test_training_learns_text_and_generates(key):
    text = "abcabcabd " * 60
    model, vocab, result = models.train_char_lstm(
        text, key, num_steps=150, batch_size=8, seq_len=12, hidden=16, learning_rate=2e-2, progress_bar=False
    )
    counts = np.bincount(np.asarray(vocab.encode(text)))
    p = counts / counts.sum()
    unigram_entropy = -(p * np.log(p)).sum()
    assert np.mean(result.losses[-20:]) < 0.5 * unigram_entropy
    out = models.generate(model, key, vocab.encode("abca"), 20, temperature=0.5)
    assert out.shape == (20,) and int(out.min()) >= 0 and int(out.max()) < len(vocab.chars)
    assert vocab.decode(out[:1]) == "b"  # every "abca" in the corpus is followed by "b"


def test_vocabulary_round_trip_and_errors(key):
    vocab = models.Vocabulary.from_text("hello world")
    assert vocab.decode(vocab.encode("low hello")) == "low hello"
    with pytest.raises(ValueError, match="not in the vocabulary"):
        vocab.encode("xyz")
    with pytest.raises(ValueError, match="vocab_size"):
        models.CharLSTM(1, key=key)
    with pytest.raises(ValueError, match="shorter"):
        models.window_sampler(jnp.arange(5), 2, 10)
    with pytest.raises(ValueError, match="temperature"):
        models.generate(models.CharLSTM(4, hidden=3, key=key), key, jnp.array([1]), 3, temperature=0.0)


def test_builtin_corpus_is_english_text():
    text = models.builtin_corpus()
    assert len(text) > 50_000 and "Beautiful is better than ugly." in text


def test_hand_written_lstm_gradient_matches_autodiff(key):
    from models._char_lstm import lstm_scan

    t, b, h = 5, 3, 4
    keys = jax.random.split(key, 5)
    w_h = jax.random.normal(keys[0], (h, 4 * h)) * 0.5
    gx = jax.random.normal(keys[1], (t, b, 4 * h))
    h0 = jax.random.normal(keys[2], (b, h))
    c0 = jax.random.normal(keys[3], (b, h))
    weights = jax.random.normal(keys[4], (t, b, h))

    def reference(w_h, gx, h0, c0):
        def cell(carry, g):
            hh, cc = carry
            i, f, gg, o = jnp.split(g + hh @ w_h, 4, axis=-1)
            cc = jax.nn.sigmoid(f) * cc + jax.nn.sigmoid(i) * jnp.tanh(gg)
            hh = jax.nn.sigmoid(o) * jnp.tanh(cc)
            return (hh, cc), hh

        (hT, cT), hs = jax.lax.scan(cell, (h0, c0), gx)
        return jnp.sum(hs * weights) + jnp.sum(hT**2) + jnp.sum(jnp.sin(cT))

    def ours(w_h, gx, h0, c0):
        hs, (hT, cT) = lstm_scan(w_h, gx, h0, c0)
        return jnp.sum(hs * weights) + jnp.sum(hT**2) + jnp.sum(jnp.sin(cT))

    args = (w_h, gx, h0, c0)
    np.testing.assert_allclose(ours(*args), reference(*args), rtol=1e-12)
    for g_ours, g_ref in zip(jax.grad(ours, argnums=(0, 1, 2, 3))(*args), jax.grad(reference, argnums=(0, 1, 2, 3))(*args)):
        np.testing.assert_allclose(g_ours, g_ref, rtol=1e-9, atol=1e-12)
