"""Char-LSTM training throughput: difsci (JAX, compiled) vs PyTorch `nn.LSTM`, on CPU.

Same model (one-hot characters -> 2 LSTM layers of 128 -> dense -> softmax), same batch,
sequence length, initial weights, Adam settings and float32. Reports characters per second
of full training steps (forward + backward + Adam), compile time apart.

    python benchmarks/lstm_train.py [--quick]
"""

import argparse
import os
import sys
from pathlib import Path

import difsci as ds

if __name__ == "__main__":
    # One CPU device per core: the batch is split over them (data parallel), as `ds.train` does.
    ds.set_host_device_count(os.cpu_count() or 1)

import jax
import numpy as np
import optax
import equinox as eqx

sys.path.insert(0, str(Path(__file__).parent))
from _common import median_seconds, report  # noqa: E402

import models  # noqa: E402


def torch_model_like(model, torch):
    """A PyTorch LSTM + Linear holding exactly `model`'s weights."""
    hidden = model.layers[0].hidden
    lstm = torch.nn.LSTM(model.vocab_size, hidden, num_layers=len(model.layers), batch_first=True)
    head = torch.nn.Linear(hidden, model.vocab_size)
    with torch.no_grad():
        for i, layer in enumerate(model.layers):
            getattr(lstm, f"weight_ih_l{i}").copy_(torch.from_numpy(np.asarray(layer.w_x).T.copy()))
            getattr(lstm, f"weight_hh_l{i}").copy_(torch.from_numpy(np.asarray(layer.w_h).T.copy()))
            getattr(lstm, f"bias_ih_l{i}").copy_(torch.from_numpy(np.array(layer.bias)))
            getattr(lstm, f"bias_hh_l{i}").zero_()
        head.weight.copy_(torch.from_numpy(np.asarray(model.head_w).T.copy()))
        head.bias.copy_(torch.from_numpy(np.array(model.head_b)))
    return lstm, head


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    import torch

    batch_size, seq_len, hidden = (8, 16, 32) if args.quick else (32, 64, 128)
    repeats = 3 if args.quick else 20
    text = models.builtin_corpus()
    vocab = models.Vocabulary.from_text(text)
    tokens = vocab.encode(text)
    model = models.CharLSTM(len(vocab.chars), hidden, 2, key=jax.random.key(0))
    batch = models.window_sampler(tokens, batch_size, seq_len)(jax.random.key(1))
    optimizer = optax.adam(2e-3)

    # --- difsci: one jit-compiled training step ---
    @eqx.filter_jit
    def step(model, opt_state, batch):
        loss, grads = eqx.filter_value_and_grad(models.sequence_loss)(model, batch)
        updates, opt_state = optimizer.update(grads, opt_state, model)
        return eqx.apply_updates(model, updates), opt_state, loss

    opt_state = optimizer.init(eqx.filter(model, eqx.is_array))
    sharded_batch = ds.shard_batch(batch) if batch_size % jax.device_count() == 0 else batch
    import time

    start = time.perf_counter()
    compiled = step.lower(model, opt_state, sharded_batch).compile()
    jax_compile = time.perf_counter() - start
    state = {"m": model, "o": opt_state}

    def jax_step():
        state["m"], state["o"], loss = compiled(state["m"], state["o"], sharded_batch)
        jax.block_until_ready(loss)

    # --- PyTorch eager ---
    torch.manual_seed(0)
    lstm, head = torch_model_like(model, torch)
    params = list(lstm.parameters()) + list(head.parameters())
    torch_opt = torch.optim.Adam(params, lr=2e-3)
    np_batch = np.asarray(batch)
    inputs = torch.nn.functional.one_hot(torch.from_numpy(np_batch[:, :-1]).long(), len(vocab.chars)).float()
    targets = torch.from_numpy(np_batch[:, 1:]).long()

    def torch_loss():
        out, _ = lstm(inputs)
        logits = head(out)
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

    # Check both compute the same loss and gradients before timing anything.
    jax_loss, jax_grads = jax.value_and_grad(models.sequence_loss)(model, batch)
    t_loss = torch_loss()
    t_loss.backward()
    np.testing.assert_allclose(t_loss.item(), float(jax_loss), rtol=1e-4)
    np.testing.assert_allclose(
        lstm.weight_hh_l1.grad.numpy().T, np.asarray(jax_grads.layers[1].w_h), rtol=2e-3, atol=1e-6
    )
    torch_opt.zero_grad()

    def torch_step():
        torch_opt.zero_grad()
        loss = torch_loss()
        loss.backward()
        torch_opt.step()

    for _ in range(2):
        jax_step()
        torch_step()
    jax_s = median_seconds(jax_step, repeats)
    torch_s = median_seconds(torch_step, repeats)
    chars = batch_size * seq_len
    metrics = {
        "difsci_chars_per_s": chars / jax_s,
        "torch_chars_per_s": chars / torch_s,
        "ratio": torch_s / jax_s,
        "difsci_compile_s": jax_compile,
        "difsci_step_ms": jax_s * 1e3,
        "torch_step_ms": torch_s * 1e3,
        "torch_threads": torch.get_num_threads(),
        "difsci_devices": jax.device_count(),
    }
    print(f"difsci {chars / jax_s:,.0f} chars/s ({jax_s * 1e3:.2f} ms/step, compile {jax_compile:.2f} s); "
          f"PyTorch {chars / torch_s:,.0f} chars/s ({torch_s * 1e3:.2f} ms/step); ratio {torch_s / jax_s:.2f}x")
    report(
        "lstm_train",
        metrics,
        f"2-layer LSTM hidden {hidden}, vocab {len(vocab.chars)}, batch {batch_size}, seq {seq_len}, "
        "float32, Adam(2e-3), same initial weights and batch, loss and gradients checked equal; "
        f"difsci splits the batch over {jax.device_count()} {jax.devices()[0].platform} devices, PyTorch runs on the CPU with {torch.get_num_threads()} threads",
    )
    return metrics


if __name__ == "__main__":
    main()
