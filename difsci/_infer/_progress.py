"""A tqdm progress bar that compiled loops (scan, vmap over chains, shard_map) can advance."""

import threading

import jax
import jax.numpy as jnp
from tqdm.auto import tqdm


class CompiledProgress:
    """Counts iterations reported from inside compiled code via `jax.debug.callback`.

    A vmapped loop reports once per iteration; a loop under `shard_map` once per device, so
    a tick is 1/num_streams of an iteration.
    """

    def __init__(self, total: int, num_streams: int, desc: str, enabled: bool):
        self.total = total
        self.num_streams = num_streams
        self.enabled = enabled
        self.desc = desc
        self._ticks = 0
        self._shown = 0
        self._lock = threading.Lock()
        self._bar = None

    def __enter__(self):
        if self.enabled:
            self._bar = tqdm(total=self.total, desc=self.desc, unit="it", leave=True)
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _tick(self, phase, every):
        if self._bar is None:
            return
        with self._lock:
            self._ticks += int(every)
            done = min(self._ticks // self.num_streams, self.total)
            if done > self._shown:
                self._bar.update(done - self._shown)
                self._shown = done
            self._bar.set_postfix_str("warmup" if int(phase) == 0 else "sampling", refresh=False)

    def report(self, step, phase: int, every: int):
        """Call inside a compiled loop: report every `every` iterations (step is the loop index)."""
        if not self.enabled:
            return

        def fire():
            jax.debug.callback(self._tick, jnp.asarray(phase), jnp.asarray(every), ordered=False)

        jax.lax.cond(step % every == every - 1, fire, lambda: None)

