import runpy
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "char_lstm.py"


def test_char_lstm_example_runs_tiny(tmp_path, monkeypatch):
    corpus = tmp_path / "t.txt"
    corpus.write_text("The quick brown fox jumps over the lazy dog. " * 40)
    namespace = runpy.run_path(str(EXAMPLE))
    out = namespace["main"](["--text", str(corpus), "--steps", "30", "--batch-size", "4", "--seq-len", "16", "--hidden", "8", "--sample-length", "10"])
    assert len(out["sample"]) == 10 and out["steps"] == 30
    assert out["loss"] < out["unigram_entropy"] + 0.5
