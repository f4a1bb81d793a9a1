"""A character-level LSTM language model (the Zygote paper's Shakespeare model).

Two stacked LSTM layers of 128 units, a dense layer and a softmax over characters. Each
layer applies its input weights to the whole sequence in one matrix product and scans
only the recurrent part over time (the layout fused RNN kernels use).
"""

import codecs
import contextlib
import io
import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Float, Int, PRNGKeyArray

import difsci as ds


def _gates(gx, h, w_h):
    """Activated gates (input, forget, cell, output) from the pre-activations."""
    hidden = w_h.shape[0]
    z = gx + h @ w_h
    # One tanh for all four gates: sigmoid(x) = (1 + tanh(x / 2)) / 2.
    scale = jnp.ones(4 * hidden, z.dtype).at[: 2 * hidden].set(0.5).at[3 * hidden :].set(0.5)
    t = jnp.tanh(z * scale)
    i, f, g, o = jnp.split(t, 4, axis=-1)
    return (1 + i) / 2, (1 + f) / 2, g, (1 + o) / 2


def _lstm_forward(w_h, gx, h0, c0):
    def step(carry, gx_t):
        h, c = carry
        i, f, g, o = _gates(gx_t, h, w_h)
        c_new = f * c + i * g
        tc = jnp.tanh(c_new)
        h_new = o * tc
        return (h_new, c_new), (h_new, (i, f, g, o, c, tc, h))

    (h, c), (hs, saved) = jax.lax.scan(step, (h0, c0), gx)
    return hs, (h, c), saved


@jax.custom_vjp
def lstm_scan(
    w_h: Float[Array, "h 4h"], gx: Float[Array, "t b 4h"], h0: Float[Array, "b h"], c0: Float[Array, "b h"]
) -> tuple[Float[Array, "t b h"], tuple[Array, Array]]:
    """An LSTM over time-major input pre-activations `gx = x W_x + b`.

    Its gradient is written by hand (as fused RNN kernels do): the backward scan carries
    only the hidden/cell gradients, and the recurrent weights' gradient is one matrix
    product over all time steps afterwards instead of a sum of per-step products.
    """
    hs, final, _ = _lstm_forward(w_h, gx, h0, c0)
    return hs, final


def _lstm_scan_fwd(w_h, gx, h0, c0):
    hs, final, saved = _lstm_forward(w_h, gx, h0, c0)
    return (hs, final), (w_h, saved)


def _lstm_scan_bwd(residuals, cotangents):
    w_h, saved = residuals
    d_hs, (d_h_last, d_c_last) = cotangents

    def step(carry, inputs):
        dh_next, dc_next = carry
        d_h_out, (i, f, g, o, c_prev, tc, _) = inputs
        dh = d_h_out + dh_next
        dc = dc_next + dh * o * (1 - tc**2)
        d_pre = jnp.concatenate(
            [dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g**2), dh * tc * o * (1 - o)], axis=-1
        )
        return (d_pre @ w_h.T, dc * f), d_pre

    (dh0, dc0), d_pre = jax.lax.scan(step, (d_h_last, d_c_last), (d_hs, saved), reverse=True)
    h_prev = saved[-1]
    d_w_h = jnp.einsum("tbh,tbg->hg", h_prev, d_pre)
    return d_w_h, d_pre, dh0, dc0


lstm_scan.defvjp(_lstm_scan_fwd, _lstm_scan_bwd)


class LSTMLayer(eqx.Module):
    """One LSTM layer: gates (input, forget, cell, output) from x W_x + h W_h + b."""

    w_x: Float[Array, "n_in 4h"]
    w_h: Float[Array, "h 4h"]
    bias: Float[Array, "4h"]

    def __init__(self, n_in: int, hidden: int, *, key: PRNGKeyArray):
        kx, kh = jax.random.split(key)
        bound = 1 / math.sqrt(hidden)
        self.w_x = jax.random.uniform(kx, (n_in, 4 * hidden), minval=-bound, maxval=bound)
        self.w_h = jax.random.uniform(kh, (hidden, 4 * hidden), minval=-bound, maxval=bound)
        # A forget-gate bias of 1 helps gradients flow early in training (Jozefowicz et al. 2015).
        self.bias = jnp.zeros(4 * hidden).at[hidden : 2 * hidden].set(1.0)

    @property
    def hidden(self) -> int:
        return self.w_h.shape[0]

    def __call__(
        self, xs_projected: Float[Array, "t b 4h"], state: tuple[Array, Array]
    ) -> tuple[Float[Array, "t b h"], tuple[Array, Array]]:
        """Run over time-major input whose projection `xs @ w_x` (without bias) is computed."""
        hs, state = lstm_scan(self.w_h, xs_projected + self.bias, *state)
        return hs, state


class CharLSTM(eqx.Module):
    """Characters in, next-character logits out: one-hot -> LSTM x layers -> dense."""

    layers: tuple[LSTMLayer, ...]
    head_w: Float[Array, "h v"]
    head_b: Float[Array, "v"]
    vocab_size: int = eqx.field(static=True)

    def __init__(self, vocab_size: int, hidden: int = 128, num_layers: int = 2, *, key: PRNGKeyArray):
        if vocab_size < 2 or hidden < 1 or num_layers < 1:
            raise ValueError(
                f"CharLSTM: need vocab_size >= 2, hidden >= 1, num_layers >= 1; got {vocab_size}, {hidden}, {num_layers}"
            )
        keys = jax.random.split(key, num_layers + 1)
        sizes = [vocab_size] + [hidden] * num_layers
        self.layers = tuple(LSTMLayer(sizes[i], hidden, key=keys[i]) for i in range(num_layers))
        bound = 1 / math.sqrt(hidden)
        self.head_w = jax.random.uniform(keys[-1], (hidden, vocab_size), minval=-bound, maxval=bound)
        self.head_b = jnp.zeros(vocab_size)
        self.vocab_size = vocab_size

    def initial_state(self, batch_shape: tuple[int, ...] = ()) -> tuple[tuple[Array, Array], ...]:
        return tuple((jnp.zeros(batch_shape + (l.hidden,)), jnp.zeros(batch_shape + (l.hidden,))) for l in self.layers)

    def __call__(self, tokens: Int[Array, "*batch t"], state=None) -> tuple[Float[Array, "*batch t v"], tuple]:
        """Logits for the next character after each of `tokens`, and the final state.

        `tokens` may carry any leading batch axes; they are processed together.
        """
        batch_shape, t = tokens.shape[:-1], tokens.shape[-1]
        flat = tokens.reshape(-1, t)
        state = self.initial_state(batch_shape) if state is None else state
        state = jax.tree_util.tree_map(lambda x: x.reshape(-1, x.shape[-1]), state)
        # One-hot input times w_x is a row lookup; time-major from here on.
        xs = self.layers[0].w_x[flat.T]
        new_state = []
        for i, (layer, s) in enumerate(zip(self.layers, state)):
            if i > 0:
                xs = xs @ layer.w_x
            xs, s = layer(xs, s)
            new_state.append(jax.tree_util.tree_map(lambda x: x.reshape(batch_shape + x.shape[-1:]), s))
        logits = jnp.swapaxes(xs @ self.head_w + self.head_b, 0, 1)
        return logits.reshape(batch_shape + (t, self.vocab_size)), tuple(new_state)


def sequence_loss(model: CharLSTM, batch: Int[Array, "b t1"], key=None) -> Float[Array, ""]:
    """Mean cross-entropy (nats per character) of predicting batch[:, 1:] from batch[:, :-1]."""
    logits, _ = model(batch[:, :-1])
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, batch[:, 1:]))


class Vocabulary(eqx.Module):
    """The characters of a corpus, and the maps between text and integer tokens."""

    chars: str = eqx.field(static=True)

    @classmethod
    def from_text(cls, text: str) -> "Vocabulary":
        return cls("".join(sorted(set(text))))

    def encode(self, text: str) -> Int[Array, " n"]:
        index = {c: i for i, c in enumerate(self.chars)}
        unknown = sorted(set(text) - set(index))
        if unknown:
            raise ValueError(f"Vocabulary.encode: characters not in the vocabulary: {unknown[:10]!r}")
        return jnp.asarray([index[c] for c in text], dtype=jnp.int32)

    def decode(self, tokens: Sequence[int]) -> str:
        return "".join(self.chars[int(t)] for t in np.asarray(tokens))


def window_sampler(tokens: Int[Array, " n"], batch_size: int, seq_len: int):
    """A keyed `batch_fn` drawing `batch_size` random windows of `seq_len + 1` tokens."""
    if tokens.shape[0] <= seq_len + 1:
        raise ValueError(f"window_sampler: the corpus ({tokens.shape[0]} tokens) is shorter than seq_len + 1 = {seq_len + 1}")

    def batch_fn(key):
        starts = jax.random.randint(key, (batch_size,), 0, tokens.shape[0] - seq_len - 1)
        return jax.vmap(lambda s: jax.lax.dynamic_slice(tokens, (s,), (seq_len + 1,)))(starts)

    return batch_fn


def generate(
    model: CharLSTM, key: PRNGKeyArray, prompt: Int[Array, " p"], length: int, temperature: float = 1.0
) -> Int[Array, " length"]:
    """Sample `length` characters after `prompt` (temperature > 0; lower is greedier)."""
    temperature = ds.check_positive("temperature", temperature)
    if prompt.shape[0] < 1:
        raise ValueError("generate: `prompt` needs at least one token")
    logits, state = model(prompt)

    def step(carry, k):
        last_logits, state = carry
        token = jax.random.categorical(k, last_logits / temperature)
        logits, state = model(token[None], state)
        return (logits[-1], state), token

    _, tokens = jax.lax.scan(step, (logits[-1], state), jax.random.split(key, length))
    return tokens


def builtin_corpus() -> str:
    """English text that ships with Python: the Zen of Python and the standard library's docstrings."""
    import importlib

    with contextlib.redirect_stdout(io.StringIO()):
        this = importlib.import_module("this")
    parts = [codecs.decode(this.s, "rot13")]
    for name in ["collections", "functools", "itertools", "json", "pathlib", "random", "statistics", "string", "textwrap", "argparse", "logging", "inspect", "dataclasses"]:
        module = importlib.import_module(name)
        docs = [module.__doc__ or ""] + [
            getattr(module, attr).__doc__ or "" for attr in sorted(dir(module)) if not attr.startswith("_")
        ]
        parts.extend(d.strip() for d in docs if isinstance(d, str) and len(d.strip()) > 40)
    text = "\n\n".join(parts)
    return "".join(c for c in text if c.isprintable() or c == "\n")


def train_char_lstm(
    text: str,
    key: PRNGKeyArray,
    *,
    num_steps: int = 2000,
    batch_size: int = 32,
    seq_len: int = 64,
    hidden: int = 128,
    num_layers: int = 2,
    learning_rate: float = 2e-3,
    checkpoint_path=None,
    progress_bar: bool = True,
) -> tuple[CharLSTM, Vocabulary, "ds.TrainResult"]:
    """Train a `CharLSTM` on `text` with the core training loop (Adam, clipped gradients).

    **Returns:** `(model, vocabulary, train_result)`; `train_result.losses` is in nats per
    character.
    """
    vocab = Vocabulary.from_text(text)
    tokens = vocab.encode(text)
    init_key, train_key = jax.random.split(key)
    model = CharLSTM(len(vocab.chars), hidden, num_layers, key=init_key)
    optimizer = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(learning_rate))
    result = ds.train(
        model,
        sequence_loss,
        optimizer,
        train_key,
        num_steps=num_steps,
        batch_fn=window_sampler(tokens, batch_size, seq_len),
        checkpoint_path=checkpoint_path,
        checkpoint_every=max(1, min(500, num_steps)),
        progress_bar=progress_bar,
    )
    return result.model, vocab, result
