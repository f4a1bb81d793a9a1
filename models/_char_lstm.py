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
        self, xs_projected: Float[Array, "t 4h"], state: tuple[Array, Array]
    ) -> tuple[Float[Array, "t h"], tuple[Array, Array]]:
        """Run over a sequence whose input projection `xs @ w_x` is already computed."""

        def cell(carry, gx):
            h, c = carry
            gates = gx + h @ self.w_h + self.bias
            i, f, g, o = jnp.split(gates, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h

        state, hs = jax.lax.scan(cell, state, xs_projected)
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

    def initial_state(self) -> tuple[tuple[Array, Array], ...]:
        return tuple((jnp.zeros(l.hidden), jnp.zeros(l.hidden)) for l in self.layers)

    def __call__(self, tokens: Int[Array, " t"], state=None) -> tuple[Float[Array, "t v"], tuple]:
        """Logits for the next character after each of `tokens`, and the final state."""
        state = self.initial_state() if state is None else state
        # One-hot input times w_x is a row lookup.
        xs = self.layers[0].w_x[tokens]
        new_state = []
        for i, (layer, s) in enumerate(zip(self.layers, state)):
            if i > 0:
                xs = xs @ layer.w_x
            xs, s = layer(xs, s)
            new_state.append(s)
        return xs @ self.head_w + self.head_b, tuple(new_state)


def sequence_loss(model: CharLSTM, batch: Int[Array, "b t1"], key=None) -> Float[Array, ""]:
    """Mean cross-entropy (nats per character) of predicting batch[:, 1:] from batch[:, :-1]."""
    logits, _ = jax.vmap(lambda seq: model(seq[:-1]))(batch)
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
