"""Shared by the audit tools: find the corpus, and dump every parsed criterion as one JSON line.

Run as a script (``python bench/_corpus.py CORPUS OUT.jsonl``) it dumps with whatever
``eligibility`` is importable, so ``rule_diff.py`` can run it against an older checkout's ``src``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path


def find_corpus(given: str = "../shared/corpus/trials.jsonl") -> Path:
    """The corpus path as given, else ``shared/corpus/trials.jsonl`` in a parent folder."""
    path = Path(given)
    if path.exists():
        return path
    for base in [Path.cwd(), *Path.cwd().parents]:
        candidate = base / "shared" / "corpus" / "trials.jsonl"
        if candidate.exists():
            return candidate
    return path


def classify(rule: dict) -> str:
    """computable | partial | assisted | manual, on a dumped rule (works for older dumps)."""
    leaves: list[dict] = []

    def walk(r: dict) -> None:
        if r["kind"] in {"all", "any"}:
            for c in r["rules"]:
                walk(c)
        elif r["kind"] == "not":
            walk(r["rule"])
        else:
            leaves.append(r)

    walk(rule)
    manual = [r for r in leaves if r["kind"] == "manual"]
    if not manual:
        return "computable"
    if len(manual) < len(leaves):
        return "partial"
    return "assisted" if any(r.get("evidence") for r in manual) else "manual"


def dump(corpus: Path) -> Iterator[dict]:
    """One dict per text criterion (the registry's structured age/sex fields are left out)."""
    from eligibility.ingest import RecordError, read_records
    from eligibility.transform import parse_record

    for rec in read_records(corpus):
        if isinstance(rec, RecordError):
            continue
        rules = parse_record(rec)
        for c in rules.criteria:
            if c.id in {"age", "sex"}:
                continue
            yield {
                "nct": rules.trial.id,
                "id": c.id,
                "section": c.section,
                "context": c.context,
                "text": c.text,
                "title": rules.trial.title,
                "rule": c.rule.model_dump(mode="json", by_alias=True, exclude_defaults=True),
            }


def main() -> int:
    corpus, out = Path(sys.argv[1]), Path(sys.argv[2])
    with out.open("w", encoding="utf-8") as fh:
        for item in dump(corpus):
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
