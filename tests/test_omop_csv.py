"""``screen --omop DIR --format csv`` on DuckDB: the lines the query builds (``omop/csvout.py``)
are byte for byte the cohort writer's lines for the same rows (``engines.run_duckdb`` →
``interleave`` → ``batch_report.write_csv``), and where the shortcut would differ it steps aside.
"""

from __future__ import annotations

import io
import shutil
from collections import Counter
from pathlib import Path

import pytest

from eligibility.batch import compile_file
from eligibility.batch_report import write_csv
from eligibility.cli import main
from eligibility.facts import Options
from eligibility.omop import csvout, engines, extract, synth
from eligibility.omop.compiler import compile_trial
from test_omop import AS_OF, RULES


@pytest.fixture(scope="module")
def extract_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("omopcsv")
    synth.write(synth.synthesize(300, seed=11), out)
    return out


def _by_rows(folder: str, rules: list[Path]) -> str:
    """The CSV the cohort writer makes from the DuckDB engine's rows."""
    con = extract.open_duckdb(folder)
    trials = [compile_file(r) for r in rules]
    terms = extract.distinct_terms(con)
    screened = engines.run_duckdb(con, trials, terms, AS_OF, Options(), folder)
    buf = io.StringIO()
    for _ in write_csv(engines.interleave(screened), buf):
        pass
    return buf.getvalue()


def _by_cli(folder: str, rules: list[Path], out: Path) -> str:
    code = main(
        [
            *("screen", *map(str, rules), "--omop", folder, "--as-of", "2024-03-01"),
            *("--format", "csv", "-o", str(out)),
        ]
    )
    assert code in (1, 3)
    return out.read_text(encoding="utf-8")


@pytest.mark.parametrize("trials", [RULES, RULES[:1], RULES[::-1]])
def test_query_csv_is_the_writers_csv(extract_dir: Path, tmp_path: Path, trials) -> None:  # type: ignore[no-untyped-def]
    assert _by_cli(str(extract_dir), trials, tmp_path / "a.csv") == _by_rows(
        str(extract_dir), trials
    )


def test_the_shortcut_is_taken(extract_dir: Path) -> None:
    con = extract.open_duckdb(extract_dir)
    trials = [compile_file(r) for r in RULES]
    terms = extract.distinct_terms(con)
    queries = [compile_trial(t.rules, AS_OF, Options(), terms) for t in trials]
    query = csvout.plan(con, trials, queries, str(extract_dir), AS_OF)
    assert query is not None
    buf, tally = io.StringIO(), Counter[str]()
    csvout.write(con, query, buf, tally)
    assert sum(tally.values()) == 2 * 300 == buf.getvalue().count("\n")


def test_a_source_the_writer_quotes(
    extract_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder named like a formula, with a comma and a quote: the source cell is escaped
    and quoted as the writer does it, around each person's id."""
    name = '=odd,"dir'
    shutil.copytree(extract_dir, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    text = _by_cli(name, RULES, tmp_path / "a.csv")
    assert text == _by_rows(name, RULES)
    assert '"\'=odd,""dir#person_id=1"' in text


def test_negative_ids_and_odd_criterion_ids(tmp_path: Path) -> None:
    """A negative person id gets the formula escape; a criterion id the writer must quote
    turns the shortcut off, and the cohort writer writes the same file as before."""
    import duckdb

    folder = tmp_path / "x"
    synth.write(synth.synthesize(40, seed=3), folder)
    con = duckdb.connect()
    for table in folder.glob("*.parquet"):
        rel = con.read_parquet(str(table))
        cols = ", ".join("-person_id AS person_id" if c == "person_id" else c for c in rel.columns)
        rel.project(cols).write_parquet(str(table))
    rules = tmp_path / "odd.yaml"
    rules.write_text(
        RULES[0].read_text(encoding="utf-8").replace("- id: I1\n", '- id: "I,1"\n'),
        encoding="utf-8",
    )
    trial = compile_file(rules)
    assert not csvout._plain(trial)
    for given in ([RULES[0]], [rules, RULES[1]]):
        text = _by_cli(str(folder), given, tmp_path / "a.csv")
        assert text == _by_rows(str(folder), given)
        assert "\n'-1," in text
