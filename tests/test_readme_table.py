import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("readme_table", ROOT / "benchmarks" / "readme_table.py")
readme_table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(readme_table)

_RECORD = {
    "benchmark": "trebuchet",
    "date": "2026-12-03",
    "machine": "x86_64 2 cores; jax devices: cpu",
    "command": "python benchmarks/trebuchet.py",
    "quick": False,
    "metrics": {"difsci_shots_per_s": 41234.5678, "ratio": 402.0, "batch": 4096, "one": {"ms": 0.381}},
    "held_equal": "rtol 1e-8 | atol 1e-8",
}


def _write(folder, name, record):
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(json.dumps(record))


def test_table_from_sample_records(tmp_path):
    _write(tmp_path, "trebuchet.json", _RECORD)
    _write(tmp_path, "lstm_train.quick.json", {**_RECORD, "benchmark": "lstm_train", "quick": True, "metrics": {"x": [1, 2.5]},
                                              "command": "python benchmarks/lstm_train.py --quick"})
    lines = readme_table.table(readme_table.load_records(tmp_path)).splitlines()
    assert lines[2:] == [
        "| benchmark (command) | date | machine | metrics | held equal |",
        "|---|---|---|---|---|",
        # sorted by file name; quick runs marked; floats to 4 significant digits; nested metrics dotted
        "| `python benchmarks/lstm_train.py --quick` (quick) | 2026-12-03 | x86_64 2 cores; jax devices: cpu "
        "| x [1, 2.5] | rtol 1e-8 \\| atol 1e-8 |",
        "| `python benchmarks/trebuchet.py` | 2026-12-03 | x86_64 2 cores; jax devices: cpu "
        "| difsci_shots_per_s 4.123e+04; ratio 402; batch 4096; one.ms 0.381 | rtol 1e-8 \\| atol 1e-8 |",
    ]


def test_rewrite_replaces_only_the_block_and_is_idempotent(tmp_path):
    _write(tmp_path / "r", "trebuchet.json", _RECORD)
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\nbefore\n{readme_table.START}\nstale figures\n{readme_table.END}\nafter\n")
    args = ["--results", str(tmp_path / "r"), "--readme", str(readme)]
    assert readme_table.main([*args, "--check"]) == 1
    assert readme_table.main(args) == 0
    text = readme.read_text()
    assert text.startswith("# title\nbefore\n") and text.endswith(f"{readme_table.END}\nafter\n")
    assert "stale" not in text and "4.123e+04" in text
    assert readme_table.main([*args, "--check"]) == 0
    assert readme_table.main(args) == 0 and readme.read_text() == text


def test_bad_records_and_markers_are_clear_errors(tmp_path):
    _write(tmp_path, "a.json", {k: v for k, v in _RECORD.items() if k != "date"})
    with pytest.raises(ValueError, match="lacks the field.*date"):
        readme_table.load_records(tmp_path)
    (tmp_path / "a.json").write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        readme_table.load_records(tmp_path)
    with pytest.raises(ValueError, match="must hold one"):
        readme_table.rewrite("no markers here", "table")
    with pytest.raises(ValueError, match="must hold one"):
        readme_table.rewrite(f"{readme_table.END}\n{readme_table.START}", "table")


def test_benchmark_report_saves_a_record(tmp_path, monkeypatch, capsys):
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import _common
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    monkeypatch.setattr(sys, "argv", [str(ROOT / "benchmarks" / "nuts.py"), "--quick"])
    monkeypatch.setenv("DIFSCI_BENCH_RESULTS", str(tmp_path))
    path = _common.report("nuts", {"ess_per_s": 12.5}, "chains")
    assert path == tmp_path / "nuts.quick.json"
    record = json.loads(path.read_text())
    assert record["command"] == "python benchmarks/nuts.py --quick" and record["quick"] is True
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["metrics"] == {"ess_per_s": 12.5}
    assert readme_table.load_records(tmp_path) == [record]


def test_readme_block_is_what_the_committed_records_give():
    readme = (ROOT / "README.md").read_text()
    records = readme_table.load_records(ROOT / "benchmarks" / "results")
    assert readme_table.rewrite(readme, readme_table.table(records)) == readme, (
        "README's perf-table block is out of date: run python benchmarks/readme_table.py")
