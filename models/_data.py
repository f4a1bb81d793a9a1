"""Small real data sets that ship inside packages (no downloads)."""

import numpy as np


def load_digits(*, binarize: bool = False, test_fraction: float = 0.15, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 handwritten digits (1,797 images), pixels scaled to [0, 1].

    **Returns:** `(train, test)`, arrays of shape `(n, 64)`, split at random with `seed`.
    With `binarize`, pixels are thresholded at 0.5 (for a Bernoulli likelihood).
    Needs scikit-learn (`pip install scikit-learn`), which ships the data.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"load_digits: `test_fraction` must lie in (0, 1), got {test_fraction}")
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        raise ImportError("load_digits needs scikit-learn, which ships the data: pip install scikit-learn") from None
    x = sklearn_digits().data.astype(np.float64) / 16.0
    if binarize:
        x = (x >= 0.5).astype(np.float64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(test_fraction * len(x)))
    return x[order[n_test:]], x[order[:n_test]]
