"""Train the character-level LSTM on a text file and sample from it.

    python examples/char_lstm.py                      # Python's own docstrings as the corpus
    python examples/char_lstm.py --text shakespeare.txt --steps 5000
"""

import argparse
import time
from pathlib import Path

import jax
import numpy as np

import models


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text", help="a UTF-8 text file (default: a corpus that ships with Python)")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--sample-length", type=int, default=300)
    parser.add_argument("--checkpoint", help="checkpoint path (resumes if it exists)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    text = Path(args.text).read_text(encoding="utf-8") if args.text else models.builtin_corpus()
    key = jax.random.key(args.seed)
    start = time.perf_counter()
    model, vocab, result = models.train_char_lstm(
        text, key, num_steps=args.steps, batch_size=args.batch_size, seq_len=args.seq_len,
        hidden=args.hidden, checkpoint_path=args.checkpoint,
    )
    seconds = time.perf_counter() - start
    unigram = np.bincount(np.asarray(vocab.encode(text)), minlength=len(vocab.chars)) / len(text)
    unigram_entropy = float(-(unigram[unigram > 0] * np.log(unigram[unigram > 0])).sum())
    tail = float(np.mean(result.losses[-50:]))
    prompt = vocab.encode("The ")
    sampled = vocab.decode(models.generate(model, jax.random.fold_in(key, 1), prompt, args.sample_length, 0.8))
    print(f"trained {result.step} steps in {seconds:.1f} s: loss {tail:.3f} nats/char "
          f"(unigram entropy {unigram_entropy:.3f})")
    print("sample:\nThe " + sampled)
    return {"loss": tail, "unigram_entropy": unigram_entropy, "sample": sampled, "steps": result.step}


if __name__ == "__main__":
    from models._cli import enable_compilation_cache

    enable_compilation_cache()  # DIFSCI_NO_CACHE=1 turns it off
    main()
