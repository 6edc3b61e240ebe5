"""Rules as SQL over OMOP CDM: the compiled query agrees with the Python evaluator.

The equivalence tests write a seeded synthetic extract, screen it with the compiled SQL on
DuckDB (and Spark when pyspark and Java are there) and with ``--engine python`` (the extract read
into profiles, the evaluator), and require the same status for every person × criterion the
compiler accepts; the criteria it refuses must read ``review`` with a reason.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from eligibility.batch import compile_file
from eligibility.facts import Options
from eligibility.loaders import load_rules
from eligibility.model import RuleSet
from eligibility.omop import engines, extract, synth
from eligibility.omop.compiler import DIALECTS, compile_trial

ROOT = Path(__file__).resolve().parents[1]
RULES = [ROOT / "rules" / "NCT03859128.yaml", ROOT / "rules" / "NCT04669496.yaml"]
AS_OF = date(2024, 3, 1)


@pytest.fixture(scope="module")
def extract_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("omop")
    synth.write(synth.synthesize(400, seed=7), out)
    return out


def _statuses(rows) -> dict[tuple[str, str], tuple[str, ...]]:  # type: ignore[no-untyped-def]
    return {(r.trial, r.patient): r.statuses for r in rows}


def _compare(sql_rows, py_rows, queries) -> int:  # type: ignore[no-untyped-def]
    refused = {q.trial_id: q.refused for q in queries}
    ids = {q.trial_id: [c for c, _ in q.criteria] for q in queries}
    assert set(sql_rows) == set(py_rows)
    compared = 0
    for key, py in py_rows.items():
        sql = sql_rows[key]
        for cid, a, b in zip(ids[key[0]], py, sql, strict=True):
            if cid in refused[key[0]]:
                assert b == "review", (key, cid)
                continue
            assert a == b, f"{key} {cid}: python {a}, sql {b}"
            compared += 1
    return compared


@pytest.mark.parametrize(
    "options", [Options(), Options("unknown", 30), Options(max_lab_age_days=None)]
)
def test_duckdb_matches_the_evaluator(extract_dir: Path, options: Options) -> None:
    trials = [compile_file(p) for p in RULES]
    con = extract.open_duckdb(extract_dir)
    terms = extract.distinct_terms(con)
    screened = engines.run_duckdb(con, trials, terms, AS_OF, options, "x")
    sql_rows = {}
    for s in screened:
        for row in s.rows:
            assert engines.check_verdict(row)
            sql_rows[(row.trial, row.patient)] = row.statuses
    py = list(engines.run_python(con, trials, AS_OF, options, "x"))
    assert not [r for r in py if r.error]
    queries = [s.query for s in screened]
    compared = _compare(sql_rows, _statuses(py), queries)
    assert compared == 400 * sum(len(q.criteria) - len(q.refused) for q in queries) > 400 * 40
    # every status occurs, so the comparison is not vacuous
    seen = {s for statuses in sql_rows.values() for s in statuses}
    assert seen == {"pass", "fail", "unknown", "review"}


def test_passes_in_several_words(extract_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The condition and therapy passes keep each rule's two bits in a ``BIT_OR`` word of 30
    rules; with one rule a word (the seed trials have fewer than 30), the statuses are the
    evaluator's still."""
    from eligibility.omop import compiler

    monkeypatch.setattr(compiler, "_PER_WORD", 1)
    assert "AS w5" in compile_trial(load_rules(RULES[1]), AS_OF).sql("duckdb")
    test_duckdb_matches_the_evaluator(extract_dir, Options())


@pytest.mark.parametrize(
    ("ids", "threshold"),
    [(range(1, 6001), 13), (range(10**9, 10**9 + 6000), 13), ([1, 5, 10**9], 12), ([""], 12)],
)
def test_dense_person_ids_group_by_index(tmp_path: Path, ids, threshold: int) -> None:  # type: ignore[no-untyped-def]
    """Dense person ids (a range at most twice their number) let DuckDB group by person
    through a table indexed by the id; sparse ones keep its default (a range of 2^12)."""
    lines = ["person_id,gender_concept_id,year_of_birth", *[f"{i},8507,1970" for i in ids]]
    (tmp_path / "person.csv").write_text("\n".join(lines) + "\n")
    con = extract.open_duckdb(tmp_path)
    got = con.sql("SELECT current_setting('perfect_ht_threshold')").fetchall()[0][0]
    assert int(got) == threshold


def test_refusals_name_why(extract_dir: Path) -> None:
    rules = load_rules(RULES[1])
    query = compile_trial(rules, AS_OF)
    assert query.refused["I3"] == "rule kind 'child_pugh' is not compiled to SQL"
    assert "Cockcroft-Gault" in query.refused["I6.5"]
    assert "E14" not in query.refused  # log10 units of HBV DNA convert by a power of 10


def test_every_dialect_generates(extract_dir: Path) -> None:
    import sqlglot

    rules = load_rules(RULES[0])
    query = compile_trial(rules, AS_OF)
    for dialect in DIALECTS:
        text = query.sql(dialect)
        assert "WITH" in text and "verdict" in text
        sqlglot.parse_one(text, read=dialect)  # reads back in its own dialect


def test_spark_sql_runs_on_duckdb(extract_dir: Path) -> None:
    """The Spark text, read back by sqlglot and run on DuckDB, gives the same rows: what the
    Spark engine executes is checked even where Spark cannot start."""
    import sqlglot

    rules = load_rules(RULES[1])
    con = extract.open_duckdb(extract_dir)
    query = compile_trial(rules, AS_OF, terms=extract.distinct_terms(con))
    direct = con.sql(query.sql("duckdb")).fetchall()
    via_spark = sqlglot.transpile(query.sql("spark"), read="spark", write="duckdb")[0]
    assert con.sql(via_spark).fetchall() == direct


def _spark_problem() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install 'eligibility[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (java not on PATH, JAVA_HOME unset)"
    return None


@pytest.mark.skipif(_spark_problem() is not None, reason=str(_spark_problem()))
def test_spark_matches_the_evaluator(tmp_path: Path) -> None:
    synth.write(synth.synthesize(40, seed=11), tmp_path)
    trials = [compile_file(p) for p in RULES]
    con = extract.open_duckdb(tmp_path)
    terms = extract.distinct_terms(con)
    spark = engines.spark_session()
    engines.spark_views(spark, str(tmp_path))
    screened = engines.run_spark(spark, trials, terms, AS_OF, Options(), "x")
    sql_rows = {(r.trial, r.patient): r.statuses for s in screened for r in s.rows}
    py = _statuses(engines.run_python(con, trials, AS_OF, Options(), "x"))
    assert _compare(sql_rows, py, [s.query for s in screened]) > 40 * 40


def test_tolerant_comparison_is_the_evaluators() -> None:
    """``sqlexpr.compare`` on DuckDB gives ``compiled._CMP``'s truth for every pair of values at
    the edges: equal, within and just past the tolerance, zero, the largest float and
    infinity (a value times a unit factor past the largest float, close to nothing)."""
    import math

    import duckdb
    import pyarrow as pa
    from sqlglot import exp

    from eligibility.compiled import _CMP
    from eligibility.omop.sqlexpr import col, compare

    edge = [0.0, 1e-12, 2e-12, 5.0, 120.0, 120.0 * (1 + 1e-9), 120.0 * (1 + 3e-9)]
    edge += [sys.float_info.max, math.inf]
    pairs = [(a, b) for a in edge for b in edge]
    table = pa.table({"a": [a for a, _ in pairs], "b": [b for _, b in pairs]})
    con = duckdb.connect()
    con.register("pairs", table)
    for op, expected in _CMP.items():
        query = exp.select(compare(col("a"), op, col("b"))).from_("pairs").sql("duckdb")
        got = [r[0] for r in con.sql(query).fetchall()]
        assert got == [expected(a, b) for a, b in pairs], op


def test_edge_rows_agree(tmp_path: Path) -> None:
    """Hand-made rows at the edges: ties that disagree, a result exactly at the bound, one a
    day too old, an undated one, a blank unit, NaN, low above high, an end before the start."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    d = date
    person = {
        "person_id": [1, 2, 3, 4, 5],
        "gender_concept_id": [8507, 8532, 0, 8507, 8532],
        "year_of_birth": [1970, 2006, 1950, 1954, 2024],
        "month_of_birth": [1, 3, 2, 3, 5],
        "day_of_birth": [1, 1, 29, 2, 1],
    }
    m = [  # person, term, date, value, unit, low, high
        (1, "ALT", d(2024, 2, 20), 120.0, "U/L", 7.0, 40.0),  # exactly 3 × ULN
        (2, "ALT", d(2024, 2, 20), 35.0, "U/L", 7.0, 40.0),
        (2, "SGPT", d(2024, 2, 20), 200.0, "IU/L", 7.0, 40.0),  # same day, disagrees
        (3, "ALT", d(2023, 12, 2), 35.0, "U/L", 7.0, 40.0),  # 90 days before: still current
        (3, "platelets", d(2023, 12, 1), 200.0, "10^9/L", None, None),  # 91 days: stale
        (4, "platelets", None, 200.0, "10^9/L", None, None),
        (4, "ANC", d(2024, 2, 1), 1500.0, "/mm3", None, None),
        (4, "hemoglobin", d(2024, 2, 1), 90.0, "g/L", None, None),
        (5, "hemoglobin", d(2024, 2, 1), 9.0, "", None, None),
        (5, "ALT", d(2024, 2, 1), float("nan"), "U/L", 7.0, 40.0),
        (5, "AST", d(2024, 2, 1), 30.0, "U/L", 50.0, 40.0),
        (1, "INR", d(2024, 2, 1), 1.1, None, None, None),
        (1, "89247-1", d(2024, 1, 1), 1.0, None, None, None),
        (1, "89247-1", d(2024, 2, 1), 0.0, None, None, None),
        (2, "89243-0", d(2024, 2, 1), 90.0, None, None, None),
        # converted to within the conversion's rounding of the bound (9.008 g/dL; 10^4.0)
        (3, "hemoglobin", d(2024, 2, 1), 5.59, "mmol/L", None, None),
        (4, "HBV DNA", d(2024, 2, 1), 4.0, "log10 copies/mL", None, None),
    ]
    cols = list(extract.COLUMNS["measurement"])
    conditions = {
        "person_id": [1, 2, 3, 4],
        "condition_source_value": ["C22.1", "A15.0", "Z86.11", "B18.1"],
        "condition_start_date": [d(2023, 1, 1), d(2023, 6, 1), None, d(2024, 1, 1)],
        "condition_end_date": [None, d(2023, 9, 1), None, d(2023, 1, 1)],
    }
    drugs = {
        "person_id": [1, 2, 3],
        "drug_source_value": ["Keytruda", "methotrexate", "lenvatinib"],
        "drug_exposure_start_date": [d(2022, 1, 1), None, d(2024, 4, 1)],
        "drug_exposure_end_date": [None, None, None],
    }
    pq.write_table(pa.table(person), tmp_path / "person.parquet")
    pq.write_table(
        pa.table({c: [r[i] for r in m] for i, c in enumerate(cols)}),
        tmp_path / "measurement.parquet",
    )
    pq.write_table(pa.table(conditions), tmp_path / "condition_occurrence.parquet")
    pq.write_table(pa.table(drugs), tmp_path / "drug_exposure.parquet")
    trials = [compile_file(p) for p in RULES]
    con = extract.open_duckdb(tmp_path)  # no procedure_occurrence: read as empty
    terms = extract.distinct_terms(con)
    screened = engines.run_duckdb(con, trials, terms, AS_OF, Options(), "x")
    sql_rows = {(r.trial, r.patient): r.statuses for s in screened for r in s.rows}
    py = _statuses(engines.run_python(con, trials, AS_OF, Options(), "x"))
    assert _compare(sql_rows, py, [s.query for s in screened]) > 5 * 40


def test_no_sql_is_built_from_strings() -> None:
    """The query is an AST: no f-string, ``+``, ``%`` or ``.format`` puts SQL words together."""
    sql_words = re.compile(r"\b(SELECT|FROM|WHERE|JOIN|CASE|WHEN|GROUP BY|UNION|VALUES)\b")

    def text(node: ast.AST) -> str:
        return " ".join(
            n.value
            for n in ast.walk(node)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        )

    for path in sorted((ROOT / "src" / "eligibility" / "omop").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            built = (
                isinstance(node, ast.JoinedStr)
                or (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod))
                or (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "format"
                )
            )
            if built:
                assert not sql_words.search(text(node)), (
                    f"{path.name}:{node.lineno}: SQL built from text"
                )


def test_cli_sql_and_screen(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    run = [sys.executable, "-m", "eligibility"]
    out = subprocess.run(
        [*run, "omop", "synth", "--persons", "60", "--out", str(tmp_path / "x"), "--seed", "2"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    out = subprocess.run(
        [*run, "sql", str(RULES[0]), "--as-of", "2024-03-01", "--dialect", "trino"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0 and out.stdout.startswith("WITH"), out.stderr
    assert "I3: not compiled to SQL" in out.stderr
    results = {}
    for engine in ("duckdb", "python"):
        out = subprocess.run(
            [
                *run,
                "screen",
                *map(str, RULES),
                "--omop",
                str(tmp_path / "x"),
                "--as-of",
                "2024-03-01",
                "--format",
                "jsonl",
                "--engine",
                engine,
            ],
            capture_output=True,
            text=True,
            env=env,
        )
        assert out.returncode in (1, 3), out.stderr
        results[engine] = [json.loads(line) for line in out.stdout.splitlines()]
        assert len(results[engine]) == 120
    out = subprocess.run(
        [*run, "screen", str(RULES[0]), "--omop", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "not a folder" in out.stderr


def test_a_rules_file_with_nothing_to_compute() -> None:
    rules = RuleSet.model_validate(
        {
            "trial": {"id": "T"},
            "criteria": [
                {
                    "id": "c1",
                    "section": "inclusion",
                    "text": "consent",
                    "rule": {"kind": "manual", "reason": "consent"},
                }
            ],
        }
    )
    text = compile_trial(rules, AS_OF).sql("postgres")
    assert "'review'" in text


def test_csv_tables_read_as_parquet(extract_dir: Path, tmp_path: Path) -> None:
    """The same extract as CSV files (types inferred, then cast) screens the same."""
    import duckdb

    con = duckdb.connect()
    for table in extract.COLUMNS:
        con.read_parquet(str(extract_dir / f"{table}.parquet")).write_csv(
            str(tmp_path / f"{table}.csv")
        )
    trials = [compile_file(RULES[1])]
    results = []
    for folder in (extract_dir, tmp_path):
        c = extract.open_duckdb(folder)
        screened = engines.run_duckdb(c, trials, extract.distinct_terms(c), AS_OF, Options(), "x")
        results.append([r.statuses for s in screened for r in s.rows])
    assert results[0] == results[1]
