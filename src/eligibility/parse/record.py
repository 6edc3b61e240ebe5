"""Record assembly: every split criterion of a trial record gets its id, span, context and rule.

Also reads the registry's structured age and sex fields, and the conditions the trial is about
(from its title), which "other malignancy" leaves out.
"""

from __future__ import annotations

import re
from itertools import pairwise

from eligibility import compose, grammar, vocab
from eligibility.ingest import TrialRecord
from eligibility.model import (
    AgeRule,
    Criterion,
    ManualRule,
    Rule,
    RuleSet,
    SexRule,
    Span,
    Trial,
    iter_rules,
)
from eligibility.parse import cohorts, groups, parts, wording
from eligibility.parse.base import _leaves
from eligibility.parse.criterion import _PAST_WORDS, _is_allowance, parse_criterion


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
    heading: dict[str, str] = {}  # the last heading line of each section
    under: dict[str, str | None] = {}
    # consecutive heading lines ("Concurrent Medication:" "Excluded:"), and each criterion's
    # run of them joined
    stacked: dict[str, list[str]] = {}
    heads: dict[str, str] = {}
    above: list[str] = []  # the heading lines just above, whatever their section
    just_above: dict[str, str] = {}
    parents = {seg.parent for seg in segments if seg.parent is not None}  # (``segments`` indices)
    after_heading = False
    for k, seg in enumerate(segments):
        if seg.kind == "heading":
            run = stacked.setdefault(seg.section, [])
            if not after_heading:
                run.clear()
                above.clear()
            run.append(seg.text)
            above.append(seg.text)
            heading[seg.section] = seg.text
            after_heading = True
            continue
        after_heading = False
        if seg.kind != "criterion":
            continue
        cid = ids[k]
        while cid in seen:
            cid += "'"
        seen.add(cid)
        under[cid] = heading.get(seg.section)
        heads[cid] = " ".join(stacked.get(seg.section, []))
        just_above[cid] = " ".join(above)
        if seg.linked:
            flat = " ".join(seg.text.split())
            why = f"linked ('and'/'or', a continued line) to a neighbour not joined: '{flat}'"
            rule: Rule = ManualRule(reason=why)
        else:
            rule = parse_criterion(seg.reading, seg.section, seg.context, primary)
            outer = _outer_window(segments, seg)
            if outer is not None and rule.kind != "manual":
                # "Laboratory tests performed within 7 days … meet the following criteria:" >
                # "Bone marrow function:" > "hemoglobin ≥9.0 g/dL": the outer window is theirs
                first = rule
                rule = parse_criterion(seg.reading, seg.section, f"{outer} {seg.context}", primary)
                if rule.kind == "manual":
                    why = f"an outer lead-in's window may reach it ('{outer[:80]}')"
                    rule = compose.assisted(seg.text, why, compose.computable_part(first))
            if seg.section == "exclusion" and k in parents and parts.narrowed(rule, segments, k):
                # "Known history of HIV or hepatitis B or hepatitis C infection" > "Subjects who
                # are hepatitis B core antibody positive … will need a negative PCR" (NCT05707273,
                # fresh audit 78): the lines nested under a criterion may narrow it
                why = "lines nested under it may narrow it"
                rule = compose.assisted(seg.text, why, compose.computable_part(rule) or rule)
            outer_why = parts.outer_problem(segments, seg) if rule.kind != "manual" else None
            if outer_why is not None:
                # "Patient must meet at least one major criterion or … two minor criteria as
                # described below:" > "Major criteria" > "DLCO =< 50% predicted" (NCT00109876,
                # fresh audit 75): every lead-in above an item must let it stand alone
                rule = compose.assisted(seg.text, outer_why, compose.computable_part(rule))
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
    criteria = _allowed_elsewhere(parts.lost_lead_ins(criteria, primary))
    titled = tuple(_title_conditions(record.title))
    criteria = _bare_names(_waived(_split_values(criteria)), titled, record.title)
    criteria = cohorts.conditional_limits(parts.cohort_headings(criteria, under))
    criteria = parts.population_lines(cohorts.subgroup_lead_ins(criteria), record.title)
    criteria = cohorts.lost_nesting(cohorts.alternative_lines(criteria), under)
    criteria = cohorts.members_elsewhere(cohorts.exception_lines(criteria, under))
    criteria = parts.subject_labels(cohorts.treatments_asked_elsewhere(criteria))
    criteria = cohorts.alternative_diagnoses(cohorts.allowed_items(criteria, under))
    criteria = cohorts.naive_titles(_current_use(criteria, heads, under), record.title)
    criteria = _refiled_sentences(parts.alternatives_after(parts.named_parts(criteria)))
    criteria = parts.admitted_elsewhere(parts.title_alternatives(criteria, record.title))
    criteria = parts.scoped_headings(parts.later_steps(criteria), under)
    criteria = parts.glued_labels(parts.repeated_labels(criteria))
    criteria = parts.part_labels(cohorts.contradicting_conditions(criteria))
    criteria = parts.restarted_sections(criteria, just_above)
    criteria = groups.sex_branches(parts.registered_own(criteria, record.conditions))
    criteria = _prior_of_asked(groups.misfiled_sections(criteria))
    criteria = groups.contradicting_ages(groups.group_lines(groups.age_groups(criteria)))
    criteria = groups.any_age(criteria)
    criteria = wording.reversed_organ_bounds(criteria, record.title)
    return RuleSet(trial=trial, criteria=criteria)


_NEXT_SENTENCE = re.compile(r"[.;]\s+[A-Z]")


def _refiled_sentences(criteria: list[Criterion]) -> list[Criterion]:
    """A line a bare "Required:" moved out of the exclusion text, holding a second sentence
    ("Required: - AZT therapy at some time prior to screening. Active substance abuse.",
    NCT00002123, fresh audit 6): the source lost a line break, and the later sentence may be the
    field's own exclusion. Such lines come after the exclusions in the record's order."""
    out = list(criteria)
    after_exclusions = False
    for k, c in enumerate(criteria):
        after_exclusions = after_exclusions or c.section == "exclusion"
        if (
            after_exclusions
            and c.section == "inclusion"
            and c.rule.kind != "manual"
            and _NEXT_SENTENCE.search(c.text.strip())
        ):
            why = (
                "moved from the exclusion text by its heading; a later sentence may be an exclusion"
            )
            out[k] = compose.as_evidence(c, why)
    return out


_OTHERWISE = re.compile(r"(?i)^\W*otherwise\b")
_EXCEPT = re.compile(r"(?i)\b(?:except|other\s+than|but\s+not|excluding)\b")


_NOT_EXCLUDING = re.compile(
    r"(?i)\b(?:is|are)\s+not\s+(?:a\s+)?(?:criterion|criteria|grounds?|reason)\s+for\s+exclusion\b"
    r"|\b(?:will|shall)\s+not\s+be\s+excluded\b|\bdoes\s+not\s+exclude\b"
)


# an inclusion asking something of the patients with a condition admits them
_ADMITTED_IF = re.compile(
    r"(?i)^\W*(?:patients|subjects|participants|individuals|those)\s+(with\b[^.;]{1,150}?)"
    r"\b(?:must|should|need\s+to|needs\s+to|are\s+required|will\s+need)\b"
)


def _allowed_elsewhere(criteria: list[Criterion]) -> list[Criterion]:
    """A line (or lead-in) that lets some patients with a condition in ("Subjects with
    well-controlled HIV may be enrolled if all the following criteria are met:") makes the
    other lines of its section that decide on that condition evidence; a line starting
    "Otherwise, …" is the other branch of a condition on another line."""
    out = list(criteria)
    for k, c in enumerate(criteria):
        if _OTHERWISE.match(c.text) and c.rule.kind != "manual":
            why = "'otherwise' points to a condition on another line"
            out[k] = compose.as_evidence(c, why)
    # (section, the line it is on, the conditions it names); an allowance inside a line is
    # that line's own (the allowance law), and a lead-in's reaches other lines than itself
    allowances: list[tuple[str, str, frozenset[str]]] = []
    allowed_drugs: list[tuple[str, str, frozenset[str]]] = []  # "(GnRH agonists are allowed)"
    allowed_labs: list[tuple[str, str, frozenset[str]]] = []
    for c in criteria:
        for said, own in ((c.context or "", ""), (c.text, c.id)):
            flat = " ".join(said.split())
            if flat and _NOT_EXCLUDING.search(flat):
                # "Any non-lung cancer treated in the past … is not a criterion for exclusion"
                # under the inclusions (NCT06424327, fresh audit 76) speaks of the exclusions
                toks = [t for t in grammar.tokenize(flat) if t.type != "TO"]
                pairs = list(pairwise([None, *toks]))
                named = {
                    b.value for a, b in pairs if b.type == "COND" and (a is None or a.type != "NOT")
                }
                if len(named) < sum(b.type == "COND" for _, b in pairs):
                    named.add("malignancy")  # "non-lung cancer": a cancer other than the one named
                allowances.append(("exclusion", own, frozenset(named)))
            admitted = _ADMITTED_IF.match(flat) if own and c.section == "inclusion" else None
            if admitted:  # "Patients with HBV (HBsAg +ve) must be on antiviral therapy …"
                toks = grammar.tokenize(admitted.group(1))  # (NCT06055465, fresh audit 78)
                allowances.append(
                    ("exclusion", own, frozenset(t.value for t in toks if t.type == "COND"))
                )
            if flat and _is_allowance(flat):
                toks = grammar.tokenize(flat)
                named = frozenset(t.value for t in toks if t.type == "COND")
                if named:
                    allowances.append((c.section, own, named))
                cut = _EXCEPT.search(flat)  # "… is permitted; except for rifabutin and rifampin"
                kept = grammar.tokenize(flat[: cut.start()]) if cut else toks
                drugs = frozenset(t.value for t in kept if t.type == "DRUG")
                if drugs:
                    allowed_drugs.append((c.section, own, drugs))
                labs = frozenset(
                    t.value
                    for t in toks
                    if t.type in parts.LAB_TOKENS
                    and "ratio" not in flat[t.end : t.end + 25].lower()
                )  # (not a ratio's parts: "albumin-to-creatinine ratio", NCT05043714; a
                # measure too: "A lower LVEF is permissible if …", NCT00499577, fresh audit 60)
                if labs:  # "… warfarin or heparin will be allowed … provided that … INR/PTT is
                    # stable" (NCT04345913, fresh audit 49): their limits elsewhere are waived
                    allowed_labs.append((c.section, own, labs))
    for k, c in enumerate(out):
        allowed = {
            x for sec, own, names in allowances if sec == c.section and own != c.id for x in names
        }
        drugs = {
            x
            for sec, own, names in allowed_drugs
            if sec == c.section and own != c.id
            for x in names
        }
        if drugs and c.rule.kind != "manual":
            asked = [a for r in _leaves(c.rule) if r.kind == "therapy" for a in r.agents]  # type: ignore[union-attr]
            hit = next(
                (
                    d
                    for d in sorted(drugs)
                    for a in asked
                    # (or one that may be in it, GnRH agonists for "endocrine therapy", but not
                    # a broader class allowed: "one line of endocrine therapy" leaves "prior
                    # SERD" excluded)
                    if vocab.drug_matches(a, d)
                    or (vocab.drug_may_be(a, d) and not vocab.drug_matches(d, a))
                ),
                None,
            )
            if hit is not None:
                why = f"another line allows {vocab.drug(hit).name}"  # type: ignore[union-attr]
                out[k] = compose.as_evidence(c, why)
                continue
        labs = {
            x for sec, own, names in allowed_labs if sec == c.section and own != c.id for x in names
        }
        measured = {
            getattr(r, "analyte", None) or getattr(r, "name", None)
            for r in _leaves(c.rule)
            if r.kind in ("lab", "measure", "vital")
        } & labs
        if measured and c.rule.kind != "manual":
            names = ", ".join(sorted(getattr(vocab.analyte(a), "name", a) for a in measured))  # type: ignore[arg-type]
            why = f"another line allows some patients' {names} outside it"
            out[k] = compose.as_evidence(c, why)
            continue
        if not allowed or c.rule.kind == "manual":
            continue
        conds = [r.condition for r in _leaves(c.rule) if r.kind == "condition"]  # type: ignore[union-attr]
        hit = next(
            (a for a in sorted(allowed) for x in conds if vocab.condition_matches(x, a)), None
        )
        if hit is None:
            continue
        why = f"another line lets some patients with {vocab.condition(hit).name} in"  # type: ignore[union-attr]
        out[k] = compose.as_evidence(c, why)
    return out


# "ECOG PS score: 0" then a line "1; Expected survival ≥3 months": a range ("0-1") broken over
# two lines, the second starting with its last number. Read alone, the first line would fail
# everyone the range admits.
_ENDS_IN_NUMBER = re.compile(r"(?:[:=<>≤≥]|\bof|\bis)\s*\d+(?:[.,]\d+)?\s*$")
_STARTS_WITH_NUMBER = re.compile(r"^\s*\d+(?:[.,]\d+)?\s*[;,](?!\d)")


def _split_values(criteria: list[Criterion]) -> list[Criterion]:
    """A line ending in a value, followed by one that starts with a bare number: evidence."""
    out = list(criteria)
    for k in range(len(criteria) - 1):
        a, b = criteria[k], criteria[k + 1]
        if a.section != b.section or a.rule.kind == "manual":
            continue
        if not (_ENDS_IN_NUMBER.search(a.text) and _STARTS_WITH_NUMBER.match(b.text)):
            continue
        flat = " ".join(b.text.split())[:100]
        why = f"the next line may continue its value ('{flat}')"
        out[k] = compose.as_evidence(a, why)
    return out


# A line that waives or qualifies the laboratory limits above it: "(unless due to disease)",
# "Unless attributable to lymphoma", "not applicable if attributable to lymphomatous infiltration
# of bone marrow" (on a line of its own, for the lines just above), or "Above laboratory values
# required unless bone marrow, liver, kidney, or splenic involvement by tumor is documented" (for
# every limit above it). Read alone, each limit would fail a patient the text admits.
_WAIVES_ABOVE = re.compile(
    r"(?i)^\W*(?:unless\b|except\s+(?:if|when|where)\b|not\s+applicable\b|"
    r"(?:does|do)\s+not\s+apply\b|(?:may|can)\s+be\s+waived\b|waived\b)"
)
_WAIVES_ALL = re.compile(
    r"(?i)\b(?:above|these|preceding|foregoing|hematologic|haematologic|hepatic|renal|"
    r"laboratory)\s+(?:\w+\s+){0,2}(?:values?|limits?|criteria|"
    r"requirements?|parameters?|tests?|levels?)\b[^.;]*\b(?:unless|waived|not\s+required|"
    r"(?:does|do)\s+not\s+apply|not\s+applicable|except|exception|if\s+(?:due|attributable|"
    r"secondary|related))"
    # "No restrictions based on peripheral blood counts for CML and Ph-positive ALL"
    r"|\bno\s+(?:restrictions?|limits?|requirements?)\s+(?:\w+\s+){0,3}?(?:(?:blood\s+)?counts?"
    r"|laboratory\s+values?|lab\s+values?)\b"
)
_LIMIT_KINDS = frozenset(["lab", "measure"])
_LABEL = re.compile(r"^\W*[A-Za-z]+(?:\s+[A-Za-z]+)?:\s*")  # "Hepatic: ", "Renal function: "


# Words that make a short inclusion line a requirement rather than a bare name.
_REQUIRING = re.compile(
    r"(?i)histor|diagnos|\bwith\b|patient|subject|participant|confirm|document|\bmust\b|"
    r"\bhave\b|\bhas\b|prove|known|evidence|presence|suffer|\bno\b|\bnot\b|\bwithout\b"
)


def _bare_names(
    criteria: list[Criterion], primary: tuple[str, ...], title: str | None
) -> list[Criterion]:
    """A bare condition name among the inclusions ("Active drug or alcohol abuse.", "Angina")
    that the trial's title does not name is most often an item of a list whose heading the
    source lost (excluded conditions, a cohort, risk factors): evidence, not a requirement."""
    if not title:
        return criteria

    def bare(c: Criterion) -> bool:
        flat = " ".join(c.text.split())
        if c.section != "inclusion" or c.rule.kind != "condition" or c.context:
            return False
        if len(flat) > 70 or (_REQUIRING.search(flat) and not _HISTORY_ONLY.match(flat)):
            return False
        cid = c.rule.condition  # type: ignore[union-attr]
        # the title's disease, or broader, is the trial's requirement; a narrower one ("Ovarian
        # cancer", "Colorectal cancer" … each on its line in a solid-tumour trial) may be one
        # cohort of several, so it is bare too (and evidence only when listed with others)
        return not any(vocab.condition_matches(cid, p) for p in primary)

    names = [bare(c) for c in criteria]
    # two or more apart ("Rheumatoid Arthritis" … "Crohn's disease" … "Psoriasis", each above its
    # own items): a cohort's heading each
    cohorts = sum(names) > 1
    if cohorts:  # … and a title-cased name beside them is one too ("Dementia with Lewy Bodies"
        # between "Parkinson's Disease" and "Alzheimer's Disease", NCT05381090, fresh audit 83)
        names = [n or _cohort_name(c) for n, c in zip(names, criteria, strict=True)]
    out = list(criteria)
    for k, c in enumerate(criteria):
        if not names[k]:
            continue
        flat = " ".join(c.text.split())
        listed = cohorts or (k > 0 and names[k - 1]) or (k + 1 < len(names) and names[k + 1])
        if not listed and not _STATE_WORDS.match(flat) and not _HISTORY_ONLY.match(flat):
            continue  # one "HIV infection." line in an HIV trial is its requirement
        why = "a bare condition name the title does not name: it may be a lost heading's item"
        kept = compose.computable_part(c.rule) or c.rule
        out[k] = c.model_copy(update={"rule": compose.assisted(flat, why, kept)})
    for k, c in enumerate(criteria):
        # "Age ≥ 65 years" above "Hypertension (HTN)", "Diabetes", … (NCT01050361, fresh audit
        # 85): a short line at the head or foot of two bare names may be one more risk factor
        run = names[k + 1 : k + 3] if k + 2 < len(names) else []
        before = names[k - 2 : k] if k >= 2 else []
        if names[k] or c.section != "inclusion" or c.context or c.rule.kind == "manual":
            continue
        if c.id in ("age", "sex") or len(c.text.strip()) > 40:
            continue
        if (len(run) == 2 and all(run)) or (len(before) == 2 and all(before)):
            why = "beside bare condition names: it may be one more item of a lost heading"
            out[k] = compose.as_evidence(c, why)
    return out


_COHORT_NAME = re.compile(r"^(?:[A-Z][\w'-]*(?:\s+(?:with|of|and|the))?\s*){1,5}$")


def _cohort_name(c: Criterion) -> bool:
    """A title-cased inclusion line that reads as a condition: a cohort's name."""
    flat = " ".join(c.text.split())
    return (
        c.section == "inclusion"
        and _COHORT_NAME.match(flat) is not None
        and any(r.kind == "condition" for r in _leaves(c.rule))
    )


_STATE_WORDS = re.compile(r"(?i)^\W*(?:active|current|uncontrolled|recent|ongoing)\b")
# "History of alcohol abuse." alone, the last line of an AIDS trial's inclusions (NCT00002065,
# re-audit of session 27): a requirement, or an exclusion whose heading was lost
_HISTORY_ONLY = re.compile(r"(?i)^\W*(?:a\s+)?(?:past\s+)?history\s+of\s+[\w' -]+\.?\s*$")


def _waived(criteria: list[Criterion]) -> list[Criterion]:
    """The limits a waiver line qualifies become evidence for the reviewer (assisted)."""
    out = list(criteria)
    for k, c in enumerate(criteria):
        if c.rule.kind != "manual" or len(c.text) > 200:
            continue
        flat = " ".join(c.text.split())
        every = _WAIVES_ALL.search(flat) is not None
        unlabelled = _LABEL.sub("", flat, count=1)
        if not every and not _WAIVES_ABOVE.search(unlabelled):
            continue
        first = c.context is not None and (k == 0 or criteria[k - 1].context != c.context)
        if flat.endswith(":") and not every:
            # "Hepatic: Unless due to direct disease infiltration of the liver:" then the limits,
            # the nesting lost: the waiver leads into the lines after it
            reach = list(range(k + 1, len(out)))
            why = f"the waiver before it may lift it: '{flat[:100]}'"
        elif first and not every:
            # "Hepatic: (unless due to disease)" then the limits: the source put the heading's
            # own waiver on the first line under it, so it reaches the lines of that heading
            reach = [j for j in range(k + 1, len(out)) if out[j].context == c.context]
            reach = reach[: next((n for n, j in enumerate(reach) if j != k + 1 + n), len(reach))]
            why = f"the heading's waiver may lift it: '{flat[:100]}'"
        else:
            reach = list(range(k - 1, -1, -1))
            why = f"a later line may waive it: '{flat[:100]}'"
        for j in reach:
            other = out[j]
            if other.section != c.section or other.id in {"age", "sex"}:
                break
            if not any(r.kind in _LIMIT_KINDS for r in _leaves(other.rule)):
                if every:
                    continue
                break
            out[j] = compose.as_evidence(other, why)
    return out


# A heading or lead-in about current use ("Concurrent Medication: Excluded:", "Concomitant
# medications:"): its therapy items ask about now, which a rule of exposure at any time is not.
_CURRENT_HEADING = re.compile(r"(?i)\b(?:concurrent|concomitant|current|ongoing)\b")


def _current_use(
    criteria: list[Criterion], heads: dict[str, str], under: dict[str, str | None]
) -> list[Criterion]:
    """Therapy rules without a window under a heading or lead-in about current use, and every
    rule under a heading for a subgroup ("FOR PATIENTS UNDERGOING BAL:"): evidence."""
    out = list(criteria)
    for k, c in enumerate(criteria):
        if c.rule.kind == "manual":
            continue
        said = f"{heads.get(c.id, '')} {c.context or ''}"
        last = " ".join((under.get(c.id) or "").split())  # the heading line right above
        if last and cohorts.SUBGROUP_LEAD.match(last):
            out[k] = compose.as_evidence(c, f"under a heading for a subgroup ('{last[:60]}')")
            continue
        m = _CURRENT_HEADING.search(said)
        if m is None or _CURRENT_HEADING.search(c.text) or _PAST_WORDS.search(said + c.text):
            continue  # "PRIOR/CONCURRENT THERAPY:" "No prior chemotherapy": the item says when
        if any(r.kind == "therapy" and r.within is None for r in iter_rules(c.rule)):  # type: ignore[union-attr]
            why = f"under '{' '.join(said.split())[:60]}': current use, not use at any time?"
            out[k] = compose.as_evidence(c, why)
    return out


def _outer_window(segments: list, seg) -> str | None:  # type: ignore[type-arg,no-untyped-def]
    """The text of a lead-in above the item's own lead-in that sets a time window, or None."""
    if seg.context is None or seg.parent is None:
        return None
    outer = segments[seg.parent].parent
    while outer is not None and segments[outer].kind != "heading":
        flat = " ".join(segments[outer].text.split())
        if _WINDOW_WORD.search(flat):
            return flat
        outer = segments[outer].parent
    return None


_WINDOW_WORD = re.compile(r"(?i)\bwithin\s+\d+\s+(?:days?|weeks?|months?)\b")


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
    """Conditions the trial is about, from its title: what "other malignancy" leaves out. A
    record without a title, or whose title names none, is read for them in its inclusion
    lines ("Patient has a medically confirmed diagnosis of … breast cancer"): a trial's own
    disease found there only keeps an exclusion from deciding against it (``undecidable``)."""
    found = _title_conditions(record.title)
    if not found:
        lines = [
            line
            for b in getattr(record, "blocks", ())
            if b.section == "inclusion"
            for line in record.text[b.start : b.end].splitlines()
            if line.strip() and not _NOT_HAVING.search(line)
        ]
        found = _named_conditions([x for x in lines if _DIAGNOSED.search(x)])
        cancer = any(vocab.condition_matches("malignancy", f) for f in found)
        if not cancer and any(_CANCER_TITLE.search(x) for x in lines):
            found.append("malignancy")  # "Rectal adenocarcinoma with curative intent …"
    if any(vocab.condition_matches("acute_myeloid_leukemia", f) for f in found) and (
        _SECONDARY_AML.search(getattr(record, "text", ""))
    ):
        # "primary or secondary AML, as defined by WHO criteria" (NCT04946890, fresh audit 86):
        # the disease it grew from (MDS, CMML, an MPN) is the trial's own, not another cancer
        found += [x for x in _AML_ANTECEDENTS if x not in found]
    return tuple(found)


_SECONDARY_AML = re.compile(
    r"(?i)\bsecondary\s+(?:AML|acute\s+myeloid)|\b(?:AML|acute\s+myeloid\s+leuka?emia)\s+"
    r"(?:secondary\s+to|arising\s+from|evolv\w*\s+from|transformed\s+from)|\bs-?AML\b"
    r"|\bantecedent\s+hematologic"
)
_AML_ANTECEDENTS = (
    "myelodysplastic_syndrome", "chronic_myelomonocytic_leukemia", "myeloproliferative_neoplasm",
)  # fmt: skip


# the inclusion lines that say what the patients have ("confirmed diagnosis of …",
# "histologically proven …"), not what puts them at risk ("risk factors for atrial fibrillation")
_DIAGNOSED = re.compile(
    r"(?i)\b(?:diagnos\w*|confirmed|histolog\w*|cytolog\w*|patholog\w*|biopsy[- ]proven|proven"
    r"|documented)\b"
)
# an inclusion line that asks for the absence of a condition does not name the trial's own
_NOT_HAVING = re.compile(r"(?i)\b(?:no|not|without|negative|free\s+of|absence|none)\b")


def _title_conditions(title: str | None) -> list[str]:
    """The conditions the title names: a bare name among the inclusions that is one of these
    is the trial's own (``_bare_names``), not a lost heading's item."""
    return _named_conditions([title]) if title else []


# "Acute MI defined as: …" among the inclusions, "Prior MI" among the exclusions (NCT00557531,
# fresh audit 88): the trial's own episode is the one it asks for; "prior" may mean an earlier
# one, or this one
_ASKED_NOW = re.compile(
    r"(?i)^\W*(?:(?:an?\s+)?(?:acute|new|first|current|recent|ongoing)\b|(?:a\s+)?diagnosis\s+of"
    r"|(?:hospitali[sz]ed|admitted|presenting)\s+(?:for|with)\b)"
)
_PRIOR_WORDS = re.compile(r"(?i)\b(?:prior|previous|history\s+of|past)\b")


def _prior_of_asked(criteria: list[Criterion]) -> list[Criterion]:
    """An exclusion of a "prior" condition the inclusions ask for now is evidence."""
    asked = _named_conditions(
        [c.text for c in criteria if c.section == "inclusion" and _ASKED_NOW.match(c.text)]
    )
    if not asked:
        return criteria  # (most records)
    out = list(criteria)
    for k, c in enumerate(criteria):
        if c.section != "exclusion" or c.rule.kind == "manual" or not _PRIOR_WORDS.search(c.text):
            continue
        named = [r.condition for r in _leaves(c.rule) if r.kind == "condition"]  # type: ignore[union-attr]
        # (the one asked for, or broader: "Prior MI" beside an acute STEMI; not a narrower one,
        # "brain metastases" beside a malignancy)
        own = next((a for a in asked for n in named if vocab.condition_matches(n, a)), None)
        if own is not None:
            name = vocab.condition(own).name  # type: ignore[union-attr]
            why = f"an inclusion asks for {name} now: 'prior' may mean an earlier one, or this one"
            out[k] = compose.as_evidence(c, why)
    return out


def _named_conditions(texts: list[str]) -> list[str]:
    found: list[str] = []
    for text in texts:
        for t in grammar.tokenize(grammar.normalise(text)):
            if t.type == "COND" and t.value not in found:
                found.append(t.value)
    joined = " ".join(texts)
    cancer = any(vocab.condition_matches("malignancy", f) for f in found)
    if not cancer and _CANCER_TITLE.search(joined):
        found.append("malignancy")
    psych = any(vocab.condition_matches("mental_disorder", f) for f in found)
    if not psych and _PSYCH_TITLE.search(joined):
        found.append("mental_disorder")
    return found
