"""Write the README's table of recorded benchmark runs from the benchmarks' saved JSON.

Every benchmark saves its final record in `benchmarks/results/NAME.json` (`NAME.quick.json` for
a `--quick` smoke run; see `_common.report`). This script renders those records, sorted by file
name, as one markdown table and puts it between the README's `<!-- perf-table:start -->` and
`<!-- perf-table:end -->` lines, so the figures there are always the ones a benchmark printed.
The output depends only on the JSON files (no clock, no machine look-up).

    python benchmarks/readme_table.py [--results benchmarks/results] [--readme README.md] [--check]

`--check` changes nothing and exits 1 when the README's block is not what the records give.
"""

import argparse
import json
import sys
from pathlib import Path

START, END = "<!-- perf-table:start -->", "<!-- perf-table:end -->"
ROOT = Path(__file__).resolve().parents[1]
_FIELDS = ("benchmark", "date", "machine", "command", "quick", "metrics", "held_equal")


def load_records(folder: str | Path) -> list[dict]:
    """The records in `folder/*.json`, sorted by file name; a file missing a field is an error."""
    records = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"readme_table: {path} is not valid JSON: {e}") from e
        missing = [f for f in _FIELDS if not isinstance(record, dict) or f not in record]
        if missing:
            raise ValueError(f"readme_table: {path} lacks the field(s) {', '.join(missing)} (see benchmarks/_common.report)")
        records.append(record)
    return records


def _value(v) -> str:
    if isinstance(v, bool) or v is None:
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return str(v)


def _flatten(metrics: dict, prefix: str = "") -> list[tuple[str, object]]:
    items = []
    for k, v in metrics.items():
        if isinstance(v, dict):
            items += _flatten(v, f"{prefix}{k}.")
        else:
            items.append((f"{prefix}{k}", v))
    return items


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(records: list[dict]) -> str:
    """The markdown table (with a line saying where it comes from) for `records`."""
    lines = [
        "_Written by `python benchmarks/readme_table.py` from `benchmarks/results/*.json`, the records the "
        "benchmarks save; do not edit by hand. Rows marked quick are smoke runs at tiny sizes, not figures to compare._",
        "",
        "| benchmark (command) | date | machine | metrics | held equal |",
        "|---|---|---|---|---|",
    ]
    for r in records:
        name = f"`{r['command']}`" + (" (quick)" if r["quick"] else "")
        metrics = "; ".join(f"{k} {_value(v)}" for k, v in _flatten(r["metrics"]))
        lines.append("| " + " | ".join(_cell(c) for c in (name, r["date"], r["machine"], metrics, r["held_equal"])) + " |")
    if not records:
        lines.append("| (no records yet: run a benchmark) | | | | |")
    return "\n".join(lines)


def rewrite(readme: str, block: str) -> str:
    """`readme` with the text between its START and END marker lines replaced by `block`."""
    if readme.count(START) != 1 or readme.count(END) != 1 or readme.index(START) > readme.index(END):
        raise ValueError(f"readme_table: the README must hold one {START} line followed by one {END} line")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{block}\n{END}{tail}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results", help="folder of the JSON records")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md", help="the file holding the markers")
    parser.add_argument("--check", action="store_true", help="exit 1 if the README's block is out of date")
    args = parser.parse_args(argv)
    old = args.readme.read_text()
    new = rewrite(old, table(load_records(args.results)))
    if args.check:
        if new != old:
            print(f"{args.readme}: the performance table is out of date; run python benchmarks/readme_table.py",
                  file=sys.stderr)
            return 1
        return 0
    if new != old:
        args.readme.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
