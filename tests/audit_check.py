"""Screen one audit-ledger item's patient against the rule the parser gives its text *today*.

Used by ``test_audit_ledger.py`` and by readers checking the patient they wrote:
``python tests/audit_check.py ITEM.json`` prints the criterion's status and reason.
"""

from __future__ import annotations

import json
import re
import sys
from types import SimpleNamespace
from typing import Any

from eligibility import screen
from eligibility.loaders import patient_from_data
from eligibility.model import Criterion, Rule, RuleSet, Trial
from eligibility.transform import _primary_conditions, parse_criterion


def parsed_rule(item: dict[str, Any]) -> Rule:
    """The rule of the item's text; with ``record`` (the trial's own inclusion and exclusion
    text, for a line whose meaning the other lines change) the rule the whole record gives it."""
    if item.get("record"):
        return _record_rule(item)
    primary = _primary_conditions(SimpleNamespace(title=item.get("title")))  # type: ignore[arg-type]
    return parse_criterion(_reading(item["text"]), item["section"], item.get("context"), primary)


_MARKER = re.compile(r"\n\s*(?:[-*•·]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s+")


def _reading(text: str) -> str:
    """A criterion joined over lines, as the splitter reads it (``Segment.reading``): the list
    markers between its lines dropped ("… mg/dL OR\n-  Creatinine clearance …")."""
    return _MARKER.sub(" ", text) if "\n" in text else text


def _record_rule(item: dict[str, Any]) -> Rule:
    from eligibility.ingest import _corpus_record
    from eligibility.transform import parse_record

    obj = {"nct_id": item.get("nct"), "title": item.get("title"), **item["record"]}
    flat = " ".join(item["text"].split())
    criteria = parse_record(_corpus_record(obj, "ledger", item.get("nct", "?"))).criteria
    found = [c for c in criteria if " ".join(c.text.split()) == flat]
    # a line the splitter now joins with the next ("… and either" / "1. …") is screened as
    # the joined criterion
    found = found or [c for c in criteria if " ".join(c.text.split()).startswith(flat)]
    # … and a piece it no longer cuts from its line ("…; non-muscle invasive bladder cancer; …"
    # after an "except for") as the whole line
    found = found or [c for c in criteria if flat in " ".join(c.text.split())]
    # (the same text twice, "BMI 18.00-40.0 kg/m^2" under two cohorts: the item's own id first)
    for c in sorted(found, key=lambda c: (c.section != item["section"], c.id != item.get("id"))):
        # a line the record now files under the other section (a heading it had missed) is
        # screened there: its rule is what the patient gets
        item["section"] = c.section
        return c.rule
    raise LookupError(f"{item.get('nct')}: the record has no criterion {flat[:60]!r}")


def status(item: dict[str, Any]) -> tuple[str, str, Rule]:
    """(status, reason, rule) of the item's criterion for the item's patient."""
    rule = parsed_rule(item)
    rules = RuleSet(
        trial=Trial(id=item.get("nct", "audit")),
        criteria=[Criterion(id="c", section=item["section"], text=item["text"], rule=rule)],
    )
    patient = patient_from_data(item["patient"], "ledger")
    result = screen(rules, patient, as_of=patient.screening_date)
    c = result.criteria[0]
    return c.status, c.reason, rule


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as fh:
        text = fh.read().strip()
    items = [json.loads(line) for line in text.splitlines()] if text.startswith("{") else []
    for it in items:
        if "patient" not in it:
            continue
        st, why, rule = status(it)
        ok = "ok" if st in it.get("acceptable", [st]) else "STILL WRONG"
        print(f"{it.get('n', '?')}: {st} ({ok}) — {why}")
