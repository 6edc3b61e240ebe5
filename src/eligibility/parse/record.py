"""Record assembly: every split criterion of a trial record gets its id, span, context and rule.

Also reads the registry's structured age and sex fields, and the conditions the trial is about
(from its title), which "other malignancy" leaves out.
"""

from __future__ import annotations

import re

from eligibility import grammar, vocab
from eligibility.ingest import TrialRecord
from eligibility.model import AgeRule, Criterion, ManualRule, Rule, RuleSet, SexRule, Span, Trial
from eligibility.parse.criterion import parse_criterion


def _label_key(label: str | None) -> str | None:
    if not label:
        return None
    key = label.strip().strip("()").rstrip(".)").replace("\\", "").strip()
    return key or None


def parse_record(record: TrialRecord) -> RuleSet:
    """Every criterion of a record with its id, verbatim text, span, context and rule.

    Ids: ``I<n>``/``E<n>`` for top-level items (the source's own number when it has one),
    ``I6.1`` for sub-items, ``I6.1a``/``I6.1b`` for the ";"-pieces of one item, and ``age``/``sex``
    for the registry's structured fields. Items the splitter joined ("… OR" + the next item) take
    the first one's id and the later ids do not shift. A criterion linked to a neighbour it could
    not be joined with is manual.
    """
    from eligibility.split import split_record

    segments = split_record(record)
    criteria: list[Criterion] = _registry_criteria(record)
    ids: dict[int, str] = {}
    counters: dict[object, int] = {}
    pieces: dict[int, list[int]] = {}  # first piece index -> all piece indices
    piece_of: dict[int, int] = {}
    for k, seg in enumerate(segments):
        if seg.kind == "heading":
            continue
        prev = _previous_sibling(segments, k)
        if (
            prev is not None
            and seg.label is None
            and segments[prev].kind == "criterion"
            and "\n" not in record.text[segments[prev].end : seg.start]
        ):
            first = piece_of.get(prev, prev)
            piece_of[k] = first
            pieces.setdefault(first, [first]).append(k)
    for k, seg in enumerate(segments):
        if seg.kind == "heading":
            continue
        parent = seg.parent
        nested = parent is not None and segments[parent].kind != "heading"
        scope: object = (seg.section, parent if nested else None)
        if k in piece_of:
            counters[scope] = counters.get(scope, 0) + _later_items(seg)
            continue
        counters[scope] = counters.get(scope, 0) + 1
        own = _label_key(seg.label)
        number = own if own is not None else str(counters[scope])
        if own is not None and own.isdigit():
            counters[scope] = int(own)
        counters[scope] += _later_items(seg)  # the items joined to it keep their numbers
        prefix = (
            ids[parent] + "."
            if nested and parent in ids
            else ("I" if seg.section == "inclusion" else "E")
        )
        ids[k] = prefix + number
    for first, members in pieces.items():
        base = ids[first]
        for n, k in enumerate(members):
            ids[k] = f"{base}{chr(ord('a') + n)}" if n < 26 else f"{base}.{n}"
    primary = _primary_conditions(record)
    seen: set[str] = {c.id for c in criteria}
    for k, seg in enumerate(segments):
        if seg.kind != "criterion":
            continue
        cid = ids[k]
        while cid in seen:
            cid += "'"
        seen.add(cid)
        if seg.linked:
            flat = " ".join(seg.text.split())
            why = f"linked ('and'/'or', a continued line) to a neighbour not joined: '{flat}'"
            rule: Rule = ManualRule(reason=why)
        else:
            rule = parse_criterion(seg.reading, seg.section, seg.context, primary)
        criteria.append(
            Criterion(
                id=cid,
                section=seg.section,
                text=seg.text,
                span=Span(start=seg.start, end=seg.end),
                context=seg.context,
                rule=rule,
            )
        )
    trial = Trial(id=record.id or "unknown", title=record.title, source=record.source)
    return RuleSet(trial=trial, criteria=criteria)


def _later_items(seg) -> int:  # type: ignore[no-untyped-def]
    """List items (parts on a line of their own) joined to a criterion after its first."""
    p = seg.parts
    return sum(
        "\n" in seg.text[p[i - 1][1] - seg.start : p[i][0] - seg.start] for i in range(1, len(p))
    )


def _previous_sibling(segments: list, k: int) -> int | None:  # type: ignore[type-arg]
    for j in range(k - 1, -1, -1):
        if segments[j].parent == segments[k].parent and segments[j].kind != "heading":
            return j
        if j == segments[k].parent:
            return None
    return None


def _registry_criteria(record: TrialRecord) -> list[Criterion]:
    """The structured age and sex fields as criteria ``age`` and ``sex`` (section inclusion)."""
    out: list[Criterion] = []
    lo = record.min_age.years if record.min_age else None
    hi = record.max_age.years if record.max_age else None
    if lo == 0:
        lo = None
    if lo is not None or hi is not None:
        spans = [a.span for a in (record.min_age, record.max_age) if a is not None and a.span]
        span = (
            Span(start=min(s.start for s in spans), end=max(s.end for s in spans))
            if spans
            else None
        )
        raw = " to ".join(a.raw for a in (record.min_age, record.max_age) if a is not None)
        text = record.text[span.start : span.end] if span else raw
        out.append(
            Criterion(
                id="age", section="inclusion", text=text, span=span, rule=AgeRule(min=lo, max=hi)
            )
        )
    if record.sex:
        allowed = ["female", "male"] if record.sex == "all" else [record.sex]
        span = record.sex_span
        text = record.text[span.start : span.end] if span else record.sex
        out.append(
            Criterion(
                id="sex", section="inclusion", text=text, span=span, rule=SexRule(allowed=allowed)
            )  # type: ignore[arg-type]
        )
    return out


# A cancer named in a title the vocabulary has no concept for (non-Hodgkin lymphoma, glioma):
# the trial is still about a malignancy, so "no prior malignancy" cannot mean any malignancy.
_CANCER_TITLE = re.compile(
    r"(?i)\b(?:cancers?|carcinomas?|adenocarcinomas?|lymphomas?|leuka?emias?|myelomas?|sarcomas?"
    r"|melanomas?|gliomas?|glioblastomas?|astrocytomas?|\w+blastomas?|mesotheliomas?|neoplasms?"
    r"|tumou?rs?|malignan\w*|metasta\w*|oncolog\w*|carcinoids?|seminomas?|germ[- ]cell)\b"
)


# A mental disorder named in a title ("Depersonalization Disorder", "Treatment-resistant
# depression"): "History of mental disorders" there means other ones.
_PSYCH_TITLE = re.compile(
    r"(?i)\b(?:depress\w*|schizo\w*|bipolar|psychos[ie]s|psychotic|anxiety|panic|phobi\w*"
    r"|obsessive|compulsive|ptsd|post-?traumatic|autis\w*|adhd|attention[- ]deficit|dementia"
    r"|depersonali[sz]ation|dissociative|anorexia|bulimia|binge|eating disorders?|insomnia"
    r"|addiction|dependence|alcoholism|substance use|opioid use|cocaine|methamphetamine"
    r"|personality disorders?|psychiatric|mental (?:illness|disorders?|health))\b"
)


def _primary_conditions(record: TrialRecord) -> tuple[str, ...]:
    """Conditions the trial is about, from its title: what "other malignancy" leaves out."""
    if not record.title:
        return ()
    found: list[str] = []
    for t in grammar.tokenize(grammar.normalise(record.title)):
        if t.type == "COND" and t.value not in found:
            found.append(t.value)
    cancer = any(vocab.condition_matches("malignancy", f) for f in found)
    if not cancer and _CANCER_TITLE.search(record.title):
        found.append("malignancy")
    psych = any(vocab.condition_matches("mental_disorder", f) for f in found)
    if not psych and _PSYCH_TITLE.search(record.title):
        found.append("mental_disorder")
    return tuple(found)
