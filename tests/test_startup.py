"""Start-up work: lazy imports, the parser's cached tables and the fast paths taken for speed.

No timings here (they live in bench/startup.py); these tests check that the fast paths give the
same results as the slow ones, and that a bad cache is never worse than none.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Lark, Token
from lark.exceptions import LarkError

from eligibility import grammar, tables
from eligibility.normalize import fold_text, normalize
from eligibility.transform import parse_criterion

SAMPLE = [
    ("ALT ≤ 3 × ULN and total bilirubin ≤ 1.5 mg/dL", "inclusion"),
    ("ECOG performance status 0-1", "inclusion"),
    ("Platelets &gte; 100 × 10⁹/L", "inclusion"),
    ("History of myocardial infarction within 6 months", "exclusion"),
    ("Known HIV infection or active hepatitis B", "exclusion"),
    ("Child-Pugh A5-B7; aged 18 to 75 years", "inclusion"),
    ("Prior treatment with a PD-1 or PD-L1 antibody", "exclusion"),
    ("Pregnant or breastfeeding women", "exclusion"),
]


def _run(code: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return out.stdout


def test_version_imports_nothing_heavy() -> None:
    """``eligibility --version`` must not pay for pydantic, rich, yaml, lark or the models."""
    code = (
        "import sys\nfrom eligibility.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('pydantic', 'rich', 'yaml', 'lark', 'pint', 'fhir', "
        "'ucumvert', 'eligibility.model', 'eligibility.evaluate') if m in sys.modules))"
    )
    assert _run(code).splitlines()[-1] == "[]"


def test_public_names_load_on_first_use() -> None:
    code = (
        "import sys, eligibility\nbefore = 'eligibility.loaders' in sys.modules\n"
        "eligibility.load_rules\nprint(before, 'eligibility.loaders' in sys.modules)"
    )
    assert _run(code).split() == ["False", "True"]
    import eligibility

    with pytest.raises(AttributeError):
        eligibility.no_such_name  # noqa: B018


def test_parser_needs_no_models_or_yaml_with_a_warm_cache(tmp_path: Path) -> None:
    env = {"ELIGIBILITY_CACHE_DIR": str(tmp_path)}
    code = (
        "import sys\nfrom eligibility import grammar\n"
        "grammar.parser(); grammar.lexicon(); grammar._unit_re()\n"
        "print(sorted(m for m in ('pydantic', 'yaml', 'pint') if m in sys.modules))"
    )
    _run(code, env)  # builds and stores
    assert len(list(tmp_path.glob("grammar-*.json"))) == 1
    assert _run(code, env).splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    "name",
    sorted(
        p.name for p in resources.files("eligibility.vocab").iterdir() if p.name.endswith(".yaml")
    ),
)
def test_vocabulary_reads_the_same_with_libyaml(name: str) -> None:
    text = resources.files("eligibility.vocab").joinpath(name).read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    assert yaml.load(text, Loader=loader) == yaml.load(text, Loader=yaml.SafeLoader)


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("aZ 1<>=&;#x\\*-–⁹²µμ≧ＡＬ\u00a0\u200b")) | st.characters()
    )
)
def test_fold_text_is_normalize_without_offsets(text: str) -> None:
    assert fold_text(text) == normalize(text).text


def test_fold_text_on_entities_and_superscripts() -> None:
    for text in ("&gte; 5 &amp;gt; 10⁹/L", "\\> 3 ×ULN", "≦ 2 &#8805; 1 &unknown;", "plain"):
        assert fold_text(text) == normalize(text).text


def _rules() -> list[dict]:
    return [parse_criterion(t, s).model_dump(mode="json") for t, s in SAMPLE]  # type: ignore[arg-type]


def test_cached_tables_equal_the_built_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ELIGIBILITY_CACHE_DIR", str(tmp_path))
    first = tables.built.__wrapped__()  # builds and stores
    files = list(tmp_path.glob("grammar-*.json"))
    assert len(files) == 1
    loaded = tables.built.__wrapped__()  # reads the file
    assert loaded.lexicon == first.lexicon == grammar.build_lexicon()
    assert loaded.unit_pattern == first.unit_pattern == grammar.unit_pattern()
    assert loaded.unit_starts == first.unit_starts == grammar.unit_starts()
    assert loaded.parser is not first.parser
    for text, _ in SAMPLE:
        toks = grammar.tokenize(grammar.normalise(text))
        for k in range(len(toks)):  # every prefix, so failures are compared as well as trees
            feed = [Token(t.type, t.value) for t in toks[: k + 1]]
            assert _parse(loaded.parser, feed) == _parse(first.parser, feed)


def _parse(parser: Lark, feed: list) -> object:
    try:
        return parser.parse(feed)
    except LarkError as exc:
        return type(exc)


def test_a_damaged_cache_file_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELIGIBILITY_CACHE_DIR", str(tmp_path))
    good = tables.built.__wrapped__()
    (path,) = tmp_path.glob("grammar-*.json")
    raw = path.read_bytes()
    for damaged in (
        b"",
        b"not json",
        raw[: len(raw) // 2],
        raw.replace(b'"max_len":', b'"max_l":'),
    ):
        path.write_bytes(damaged)
        again = tables.built.__wrapped__()
        assert again.lexicon == good.lexicon
        assert tables.load(tables.NAME, path.stem.split("-", 1)[1]) is not None  # whole again
    # a file whose checksum fits but whose content does not (written by hand): built instead
    body = json.dumps({"lark": {}, "entries": {}}).encode()
    path.write_bytes(hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
    assert tables.built.__wrapped__().lexicon == good.lexicon


def test_an_unwritable_cache_folder_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ELIGIBILITY_CACHE_DIR", str(blocker / "cache"))
    assert tables.built.__wrapped__().lexicon == grammar.build_lexicon()
    assert blocker.read_text() == "not a folder"


def test_an_empty_cache_setting_turns_the_cache_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ELIGIBILITY_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert tables.cache_dir() is None
    tables.built.__wrapped__()
    assert not any(tmp_path.rglob("*.json"))


def test_the_key_follows_the_sources() -> None:
    key = tables.source_key(["criteria.lark"], "x")
    assert key == tables.source_key(["criteria.lark"], "x")
    assert key != tables.source_key(["criteria.lark"], "y")
    assert key != tables.source_key(["criteria.lark", "grammar.py"], "x")
    assert tables.source_key(["no-such-file.txt"]) is None
    assert "grammar.py" in tables._sources() and "vocab/conditions.yaml" in tables._sources()


def test_the_cache_never_changes_a_parse(tmp_path: Path) -> None:
    """A process reading the cached tables parses as one that built them."""
    code = (
        "import json\nfrom eligibility.transform import parse_criterion\n"
        f"print(json.dumps([parse_criterion(t, s).model_dump(mode='json') for t, s in {SAMPLE!r}]))"
    )
    cold = _run(code, {"ELIGIBILITY_CACHE_DIR": ""})
    _run(code, {"ELIGIBILITY_CACHE_DIR": str(tmp_path)})
    warm = _run(code, {"ELIGIBILITY_CACHE_DIR": str(tmp_path)})
    assert json.loads(warm) == json.loads(cold) == _rules()


@pytest.mark.parametrize(
    "name",
    sorted(
        p.name for p in resources.files("eligibility.vocab").iterdir() if p.name.endswith(".yaml")
    ),
)
def test_the_vocabulary_cache_gives_the_yaml_data(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eligibility.vocab import data

    text = resources.files("eligibility.vocab").joinpath(name).read_text(encoding="utf-8")
    expected = yaml.load(text, Loader=yaml.SafeLoader)
    monkeypatch.setenv("ELIGIBILITY_CACHE_DIR", str(tmp_path))
    assert data._load(name) == expected  # read from the YAML, stored
    stem = "vocab-" + name.rpartition(".")[0]
    (path,) = tmp_path.glob(f"{stem}-*.json")
    assert data._load(name) == expected  # read from the cache
    path.write_bytes(path.read_bytes()[:-1])  # cut short: the checksum fails, YAML is read
    assert data._load(name) == expected
    monkeypatch.setenv("ELIGIBILITY_CACHE_DIR", "")
    assert data._load(name) == expected


def test_the_vocabulary_cache_keeps_only_what_json_gives_back() -> None:
    from datetime import date

    from eligibility.vocab.data import _same_as_json

    assert _same_as_json({"a": [1, 2.5, True, None, "µ"], "b": {"c": -0.0}})
    for changed in ({1: "int key"}, {"d": date(2024, 1, 1)}, {"t": (1, 2)}, {"n": float("nan")}):
        assert not _same_as_json(changed)


def test_a_screening_reads_no_vocabulary_yaml_with_a_warm_cache(tmp_path: Path) -> None:
    env = {"ELIGIBILITY_CACHE_DIR": str(tmp_path)}
    root = Path(__file__).resolve().parent.parent
    rules, patient = root / "rules" / "NCT03859128.yaml", root / "examples" / "patients"
    code = (
        "import os, sys, eligibility.vocab.data as d\ncalls = []\nread = d._read_yaml\n"
        "d._read_yaml = lambda raw: calls.append(1) or read(raw)\n"
        "from eligibility.cli import main\nsys.stdout = open(os.devnull, 'w')\n"
        f"main(['screen', {str(rules)!r}, {str(patient / 'p01_eligible_hcc.json')!r}])\n"
        "sys.stdout = sys.__stdout__\nprint(len(calls))"
    )
    cold = int(_run(code, env).splitlines()[-1])  # reads the YAML, stores
    assert cold >= 3 and len(list(tmp_path.glob("vocab-*.json"))) == cold
    assert _run(code, env).splitlines()[-1] == "0"
