"""Record-level readings of a trial's parts and subjects: cohort headings, lines naming their
population (or named by age), labels naming someone other than the patient, capitalised headings
of one part, a later "(at least one yes)" line over the items above it, a title joining two
diseases (or a disease and a described group), an admitted type an inclusion negates, a later
registration step's lines, headings that qualify their list, label lines repeated in both
sections.

Like ``cohorts``, each pass turns the computable rules that may be one group's (or someone
else's) into evidence for the reviewer (``compose.as_evidence``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from eligibility import compose, grammar, vocab
from eligibility.headings import heading_group
from eligibility.model import ConditionRule, Criterion, NotRule, Rule
from eligibility.parse.base import _leaves
from eligibility.parse.cohorts import _NEGATED_START, _needed
from eligibility.parse.criterion import context_problem, parse_criterion

# A heading that names a cohort ("Second Cohort Criteria:", "Group B:", "Part 2"), not all.
_COHORT_HEADING = re.compile(
    r"(?i)^(?!.*\ball\s+(?:cohorts|groups|arms|parts|participants|subjects)\b).*(?:"
    r"\b(?:first|second|third|fourth|fifth|\d+(?:st|nd|rd|th))\s+(?:cohort|group|arm|part)\b"
    r"|\b(?:cohorts?|groups?|arms?|parts?|stages?|steps?|stratum|strata|sub-?stud(?:y|ies))\s+(?:[A-Z0-9]{1,2}|one|two|three"
    r"|four|five|I{1,3}|IV)\b"
    # "PATIENTS WITH NORMAL ADRENAL GLANDS:" beside "PATIENTS WITH ACTH-INDEPENDENT CUSHING'S
    # SYNDROME:", "HEALTHY VOLUNTEERS:"
    r"|^(?!.*\b(?:following|excluded|included|eligible|ineligible|must|allowed|permitted)\b)"
    r"\W*(?:(?:patients|subjects|participants|individuals)\s+(?:with|who)\b|(?:normal|healthy)"
    r"\s+(?:volunteers|controls|subjects)\b|(?:controls?|donors?|recipients?)\W*$"
    # "PATIENT VOLUNTEERS:" beside "CONTROL NORMAL VOLUNTEERS:" (NCT00001681, fresh audit 55)
    r"|(?:patient|control|normal|healthy)(?:\s+(?:normal|healthy))?\s+(?:volunteers?|controls?"
    r"|subjects?)\W*$))"
)


def cohort_headings(criteria: list[Criterion], under: dict[str, str | None]) -> list[Criterion]:
    """Items under two or more cohort headings of one section ("First Cohort Criteria:" …
    "Second Cohort Criteria: … FEV1 ≤ 40% predicted") are each one cohort's."""
    out = list(criteria)
    for section in ("inclusion", "exclusion"):
        heads = {
            h
            for c in criteria
            if c.section == section and (h := under.get(c.id)) and _COHORT_HEADING.search(h)
        }
        if len(heads) < 2:
            continue
        for k, c in enumerate(criteria):
            head = under.get(c.id)
            if c.section != section or head not in heads or c.rule.kind == "manual":
                continue
            why = f"under a cohort heading ('{' '.join(head.split())[:80]}'): one cohort's only?"  # type: ignore[union-attr]
            out[k] = compose.as_evidence(c, why)
    return out


# A line that starts by naming its population ("Normal Volunteers who are not taking
# medications. … Cholesterol below 200 mg/dl." beside "Hypertensive Patients with blood pressure
# greater than 145/90 …"): with two or more in a section, each line is one group's.
_AGED = r"(?:infants?|neonates?|newborns?|babies|children|adolescents)"
_POPULATION_LINE = re.compile(
    r"(?i)^\W*(?:(?:normal|healthy)\s+(?:volunteers?|controls?|subjects?|individuals?)\b"
    r"|(?!(?:no|not|any|all|exclude[ds]?|only)\b)(?:[\w-]+\s+){1,3}patients\s+(?:with|who)\b"
    # "Infants with congenital toxoplasmosis …", "Pregnant women with evidence of toxoplasma
    # infection …", "Untreated older children entered as controls" (NCT00004317, fresh audit 59)
    r"|(?:(?:untreated|older|younger)\s+)*" + _AGED + r"\s+(?:with|who|born|entered|enrolled)\b"
    r"|pregnant\s+women\s+(?:with|who)\b|.*\b(?:entered|enrolled|included)\s+as\s+controls\b)"
)
# a population named by its age
_AGED_GROUP = re.compile(r"(?i)^\W*(?:(?:untreated|older|younger)\s+)*" + _AGED + r"\b")
# A title that names patients and healthy people ("… of Patients With High Cholesterol and
# Normal Volunteers"): an inclusion line may be either group's.
_TWO_POPULATIONS = re.compile(
    r"(?i)\b(?:patients?|subjects?|individuals?|people|children|adults|women|men)\b.*\b(?:and|&|"
    r"versus|vs\.?|compared\s+(?:to|with))\s+(?:normal|healthy)\s+(?:volunteers?|controls?|"
    r"subjects?|individuals?|adults|children)\b"
    r"|\b(?:normal|healthy)\s+(?:volunteers?|controls?|subjects?)\s+(?:and|&|versus|vs\.?)\s+"
    r"(?:\w+\s+){0,3}(?:patients?|subjects?)\b"
)


# A bare line naming a healthy group ("Health Subjects" heading the second exclusion list,
# NCT03935373, fresh audit 52): the trial enrols them beside its patients.
_HEALTHY_LABEL = re.compile(
    r"(?i)^\W*(?:health|healthy|normal)\s+(?:subjects?|volunteers?|controls?|individuals?"
    r"|participants?)\W*$"
)


def population_lines(criteria: list[Criterion], title: str | None) -> list[Criterion]:
    """Inclusions that may be one population's: lines that name theirs, or any inclusion of a
    trial whose title names patients and healthy volunteers, or whose lines label a healthy
    group (the registry's age and sex stay)."""
    titled = bool(title) and _TWO_POPULATIONS.search(title or "") is not None
    both = titled or any(_HEALTHY_LABEL.match(c.text) for c in criteria)
    lines = [
        c.section == "inclusion" and _POPULATION_LINE.match(" ".join(c.text.split())) is not None
        for c in criteria
    ]
    named = sum(lines) > 1
    if not both and not named:
        return criteria
    aged = named and any(
        line and _AGED_GROUP.match(c.text) for line, c in zip(lines, criteria, strict=True)
    )
    out = list(criteria)
    for k, c in enumerate(criteria):
        if c.section != "inclusion" or c.rule.kind == "manual" or c.id in ("age", "sex"):
            continue
        if named and lines[k]:
            why = "a line that names its population beside another group's"
        elif aged and all(r.kind == "age" for r in _leaves(c.rule)):
            why = "the lines name populations by age (infants, children): whose age line is this?"
        elif both:
            if all(r.kind in ("age", "sex") for r in _leaves(c.rule)):
                continue
            why = "the title names patients and healthy volunteers: whose criterion is this?"
            if not titled:
                why = "a line names healthy subjects beside the patients: whose criterion is this?"
        else:
            continue
        out[k] = compose.as_evidence(c, why)
    return out


# A line that only names whom the lines after it are about ("DONOR (Any of the following)",
# NCT00006413, fresh audit 41): a donor's, a control's or a parent's lines are not the patient's.
# "Participant's Sexual Partner Must Not Be/Have" (NCT00065858, fresh audit 85)
_SUBJECT_LABEL = re.compile(
    r"(?i)^\W*(?:(?:the\s+)?(?:participant|patient|subject|woman|man)(?:'|’)s\s+)?"
    r"(?:(?:sexual|male|female|primary)\s+)?"
    r"(?P<who>donors?|recipients?|patients?|participants?|subjects?|controls?|parents?"
    r"|caregivers?|partners?|siblings?)(?:\s+(?:inclusion|exclusion|eligibility))?"
    r"(?:\s+(?:criteria|characteristics|requirements))?\s*"
    r"(?:\s+(?:must|should)(?:\s+not)?\s+(?:be|have)(?:\s*/\s*(?:be|have))?)?"
    r"(?:\((?:any|all|one|each)\s+of\s+the\s+following\)|:)?\W*$"
)
_OTHER_SUBJECTS = ("donor", "control", "parent", "caregiver", "partner", "sibling")


def _under_labels(
    criteria: list[Criterion], label_of: Callable[[Criterion], str | None]
) -> Iterator[tuple[int, str]]:
    """(index, label) of each computable line below a label line of its section (a label holds
    the lines up to the next label or the section's end)."""
    label: str | None = None
    section = None
    for k, c in enumerate(criteria):
        if c.section != section:
            label, section = None, c.section
        found = label_of(c)
        if found is not None:
            label = found
        elif label is not None and c.rule.kind != "manual":
            yield k, label


def subject_labels(criteria: list[Criterion]) -> list[Criterion]:
    """The lines after a label naming someone other than the patient are evidence."""

    def who(c: Criterion) -> str | None:
        m = _SUBJECT_LABEL.match(" ".join(c.text.split()))
        return m.group("who").lower() if m else None

    out = list(criteria)
    for k, found in _under_labels(criteria, who):
        if found.startswith(_OTHER_SUBJECTS):
            why = f"under a line naming the {found.rstrip('s')}: not the patient's"
            out[k] = compose.as_evidence(criteria[k], why)
    return _restarted_for_others(out)


# "Donors: Eligibility for plasma donation" among the exclusions, then "Inclusions Criteria: …
# Exclusion Criteria: …" again (NCT04342182, fresh audits 78 and 80): the sections start over
# for someone else, and every line after the label is theirs
_SUBJECT_HEAD = re.compile(
    r"(?i)^\W*(?P<who>donors?|controls?|parents?|caregivers?|partners?|siblings?)\b\W*"
    r"(?::|(?:eligibility|criteria|requirements)\b)"
)


def _lines_matching(
    criteria: list[Criterion], pattern: re.Pattern[str]
) -> Iterator[tuple[int, Criterion, re.Match[str]]]:
    """(index, criterion, match) of the lines whose flattened text ``pattern`` matches."""
    for k, c in enumerate(criteria):
        m = pattern.match(" ".join(c.text.split()))
        if m is not None:
            yield k, c, m


_PART_HEADING = re.compile(
    r"(?i)\b(?:part|cohort|arm|group|sub-?stud(?:y|ies)|phase|stage|donors?|recipients?)\b"
)


def restarted_sections(criteria: list[Criterion], under: dict[str, str | None]) -> list[Criterion]:
    """Sections that start over under a heading naming a part ("Part A" … exclusions … "Part B
    Inclusion criteria" … "Exclusion criteria", NCT05246865, fresh audit 83) are two parts'
    lists: a line is one part's unless every part has it (the same text in the same section).
    Not the NIH layout where "Patients must have:" follows the exclusions: one population."""
    block, blocks, seen_exclusion = 0, [], False
    for k, c in enumerate(criteria):
        if c.section == "exclusion":
            seen_exclusion = True
        elif seen_exclusion:
            seen_exclusion = False
            # the headings run above it ("SubStudy B: Inclusion Criteria:"), or a short label
            # line just before it
            label = " ".join(criteria[k - 1].text.split()) if k else ""
            said = under.get(c.id) or ""
            if not (len(label.split()) <= 6 and _PART_HEADING.search(label)):
                label = ""
            if _SUBJECT_HEAD.match(label or said):
                continue  # the donors' sections: theirs only (``_restarted_for_others``)
            if _PART_HEADING.search(said) or label:
                block += 1
        blocks.append(block)
    if block == 0:
        return criteria  # (most records)
    has: dict[tuple[str, str], set[int]] = {}
    for c, b in zip(criteria, blocks, strict=True):
        has.setdefault((c.section, " ".join(c.text.split()).rstrip(" .;,").lower()), set()).add(b)
    out = list(criteria)
    for k, (c, b) in enumerate(zip(criteria, blocks, strict=True)):
        key = (c.section, " ".join(c.text.split()).rstrip(" .;,").lower())
        if c.rule.kind != "manual" and len(has[key]) <= block:
            why = f"the sections start over for another part of the trial: part {b + 1}'s line"
            out[k] = compose.as_evidence(c, why)
    return out


def _restarted_for_others(criteria: list[Criterion]) -> list[Criterion]:
    out = list(criteria)
    for k, c, m in _lines_matching(criteria, _SUBJECT_HEAD):
        seen_exclusion = c.section == "exclusion"
        restart = False
        for later in criteria[k + 1 :]:
            seen_exclusion = seen_exclusion or later.section == "exclusion"
            restart = restart or (seen_exclusion and later.section == "inclusion")
        if not restart:
            continue
        why = f"after a line naming the {m.group('who').lower().rstrip('s')}, whose criteria follow"
        for j in range(k + 1, len(out)):
            if out[j].rule.kind != "manual":
                out[j] = compose.as_evidence(out[j], why)
        break
    return out


# "… or a telehealth visit. Household Members of MSK Patients" (NCT04697927, fresh audit 75): the
# next group's label, its line break lost, closes a line; the lines after it are that group's
_GLUED_LABEL = re.compile(
    r"[.;]\s+((?:(?:[A-Z][\w'-]*|of|and|the|with|for|in)\s+){0,5}(?:Patients|Members|Participants"
    r"|Volunteers|Controls|Subjects|Donors|Caregivers|Carers|Partners|Parents|Children|Adults"
    r"|Individuals|Women|Men))\s*:?\s*$"
)


# "Not fluent in English (difficulty understanding questions) -In person EEG testing [Sub-study
# only]: [will interfere with EEG data collection safety or quality]:" (NCT05754190, fresh audit
# 81): a part of the study's heading, glued on after a dash or a full stop, ending in ":"
_GLUED_PART = re.compile(
    r"(?i)(?:[.;)]\s+|\s-\s*)((?:(?![.;]\s)[^:]){0,80}\b(?:sub-?stud(?:y|ies)|cohorts?|arms?|"
    r"groups?|parts?)\b[^:]{0,40}):(?:[^:]{0,100}:)?\s*$"
)


def glued_labels(criteria: list[Criterion]) -> list[Criterion]:
    """The lines after a group's label glued to the end of the line above are evidence."""

    def label(c: Criterion) -> str | None:
        flat = " ".join(c.text.split())
        m = _GLUED_LABEL.search(flat) or _GLUED_PART.search(flat)
        return m.group(1) if m else None

    out = list(criteria)
    for k, found in _under_labels(criteria, label):
        why = f"under a group's label at the end of a line above ('{found}')"
        out[k] = compose.as_evidence(criteria[k], why)
    return out


_GROUP_HEADING_GLUE = frozenset([
    "inclusion", "exclusion", "criteria", "patients", "subjects", "participants", "participating",
    "study", "adult", "adults", "children", "minors", "pilot", "cohort", "group",
])  # fmt: skip


def _distinct_words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]{5,}", text)} - _GROUP_HEADING_GLUE


def _capital_line(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return len(letters) >= 8 and sum(ch.isupper() for ch in letters) >= 0.9 * len(letters)


def named_parts(criteria: list[Criterion]) -> list[Criterion]:
    """Exclusions after a capitalised line naming a group an inclusion heading names are that
    group's ("INCLUSION CRITERIA FOR … PILOT STUDY OF COMBINATION RITUXIMAB AND CYCLOSPORINE:"
    … "RITUXIMAB AND CYCLOSPORINE. (CLOSED FOR SUBJECT RECRUITMENT.)" > "Age < 4 years.",
    NCT00001392, fresh audit 5): the trial's other parts enrol other patients."""
    names = [
        _distinct_words(c.context)
        for c in criteria
        if c.section == "inclusion"
        and c.context
        and (heading_group(c.context) or (_capital_line(c.context) and "CRITERIA" in c.context))
    ]
    if not names:
        return criteria
    out = list(criteria)
    part: str | None = None
    for k, c in enumerate(criteria):
        if c.section != "exclusion":
            continue
        if _capital_line(c.text):
            words = _distinct_words(c.text)
            if part or any(len(words & n) >= 2 for n in names):
                part = " ".join(c.text.split())[:80]
            continue
        if part and c.rule.kind != "manual":
            out[k] = compose.as_evidence(c, f"after a line naming one part of the trial ('{part}')")
    return out


# "Part A - HV" … "Part B - HAE" (NCT05691361, fresh audit 77): label lines naming the trial's
# parts, each above its own inclusion and exclusion lists
_PART_LABEL = re.compile(
    r"(?i)^\W*(?:part|cohort|arm|group)\s+(?:[A-Z]|\d{1,2}|[IV]{1,4})\b"
    r"(?:\s*[-–:(]\s*[^.;:]{0,40}?)?[):\s]*$"
    # "Decompensated left HF subgroup & Non CHF controls" … "Compensated left HF subgroup"
    # (NCT01940328, fresh audit 85): a subgroup's name alone on its line
    r"|^\W*(?:[\w&/-]+\s+){0,8}(?:sub-?groups?|controls)\W*$"
)


def part_labels(criteria: list[Criterion]) -> list[Criterion]:
    """Lines below one of two or more part labels are that part's, unless every part has them
    (a label holds the lines up to the next one; across sections only where both have labels)."""
    flat = [" ".join(c.text.split()) for c in criteria]
    at = [k for k, f in enumerate(flat) if _PART_LABEL.match(f)]
    if len({flat[k].lower() for k in at}) < 2:
        return criteria
    labelled = {criteria[k].section for k in at}
    under: list[int | None] = []
    label: int | None = None
    for k, c in enumerate(criteria):
        if k in at:
            label = k
        under.append(label if label is not None and c.section in labelled else None)
    if len(labelled) < 2:  # labels in one section reach only its lines
        under = [
            u if u is not None and criteria[u].section == criteria[k].section else None
            for k, u in enumerate(under)
        ]
    parts_of: dict[tuple[str, str], set[int]] = {}
    for k, u in enumerate(under):
        if u is not None:
            parts_of.setdefault((criteria[k].section, flat[k].rstrip(" .;,")), set()).add(u)
    # a part whose label is a lead-in, not a line ("Cohort 3:" above its items, NCT03049462,
    # fresh audit 83), is one more part the line may be missing from
    labels = {flat[k].lower() for k in at}
    leads = {
        " ".join(c.context.split()).lower()
        for c in criteria
        if c.context and _PART_LABEL.match(" ".join(c.context.split()))
    }
    every = len(at) + len(leads - labels)
    out = list(criteria)
    for k, (c, u) in enumerate(zip(criteria, under, strict=True)):
        if u is None or k in at or c.rule.kind == "manual":
            continue
        if len(parts_of[(c.section, flat[k].rstrip(" .;,"))]) == every:
            continue  # the same line under every part: everyone's
        out[k] = compose.as_evidence(c, f"under a line naming one part of the trial ('{flat[u]}')")
    return out


# "2.-9. (at least one yes)" after a numbered list (NCT00494390, fresh audits 56 and 57): the
# items above it are alternatives, not requirements each.
_AT_LEAST_ONE_AFTER = re.compile(
    r"(?i)^\W*(?:(?P<lo>\d+)\.?\s*[-–]\s*(?P<hi>\d+)\.?\s*)?\(?\s*(?:at\s+least\s+(?:one|1)|any\s+one"
    r"|one\s+or\s+more)\b(?:\s+(?:yes|of\s+(?:the\s+)?(?:above|these|items?)))"
)


def alternatives_after(criteria: list[Criterion]) -> list[Criterion]:
    """The items a later "(at least one yes)" line names, or all above it, as evidence."""
    out = list(criteria)
    for k, c, m in _lines_matching(criteria, _AT_LEAST_ONE_AFTER):
        wanted = None
        if m.group("lo"):
            prefix = c.id[0]
            wanted = {f"{prefix}{n}" for n in range(int(m.group("lo")), int(m.group("hi")) + 1)}
        why = f"a later line makes the items above it alternatives ('{c.text.strip()[:60]}')"
        for j in range(k):
            other = criteria[j]
            if (
                other.section != c.section
                or other.rule.kind == "manual"
                or other.id in ("age", "sex")
            ):
                continue
            if wanted is None or other.id.split(".")[0] in wanted:
                out[j] = compose.as_evidence(other, why)
    return out


_TITLE_OR = re.compile(r"(?i)\b(?:with|in|for|of)\s+(?P<a>[^,;:()]+?)\s+or\s+(?P<b>[^,;:()]+)$")
# "… Application to CVID and Immune Deficiencies With Dysmorphic Syndromes" (NCT02556359, fresh
# audit 64): a title naming two groups of diseases, one of which no concept names
_TITLE_AND = re.compile(
    r"(?i)\b(?:with|in|for|of|to)\s+(?P<a>[^,;:()]+?)\s+and\s+(?P<b>(?:other\s+)?[^,;:()]*?\b"
    r"(?:deficienc\w+|diseases|disorders|syndromes|conditions)\b[^,;:()]*)$"
)


def _title_named(text: str) -> frozenset[str]:
    return frozenset(t.value for t in grammar.tokenize(grammar.normalise(text)) if t.type == "COND")


def title_alternatives(criteria: list[Criterion], title: str | None) -> list[Criterion]:
    """Inclusions requiring one of two diseases a title joins with "or" ("… in Patients With
    Type 2 Diabetes or Chronic Heart Failure", NCT00497003, fresh audit 57): one group's each."""
    m = _TITLE_OR.search(title or "")
    if m is not None:
        sides = [vocab.conditions_named_in(m.group(g)) for g in ("a", "b")]
    else:
        # a named disease "and" a group the title only describes: the lines for the named one
        # are one group's ways in
        m = _TITLE_AND.search(title or "")
        sides = [_title_named(m.group("a")), frozenset(["-"])] if m else []
    if m is None or not all(sides):
        return criteria
    named = sides[0] | sides[1]
    out = list(criteria)
    for k, c in enumerate(criteria):
        if c.section != "inclusion" or c.rule.kind == "manual":
            continue
        needed = [r.condition for r in _needed(c.rule)]  # type: ignore[union-attr]
        if any(
            vocab.condition_matches(n, x) or vocab.condition_matches(x, n)
            for x in needed
            for n in named
        ):
            why = f"the title names two groups of diseases ('{m.group(0)[:80]}'): one group's?"
            out[k] = compose.as_evidence(c, why)
    return out


# a lead-in listing the types the trial admits ("… of one of the following types:")
_TYPES_LEAD = re.compile(
    r"(?i)\b(?:one\s+of\s+the\s+)?following\s+(?:types|subtypes|histolog\w*)\b"
)


def admitted_elsewhere(criteria: list[Criterion]) -> list[Criterion]:
    """An inclusion "No acute leukemia" after "Leukemia out of MDS (… greater than 30% blasts
    in marrow)" among the admitted types ("… of one of the following types:", NCT00003961, fresh
    audit 59): an item of the list admits what the negation names, or a kind of it, so the
    negation means only some of it. Not for lines in general: "Metastatic cancer" beside "No
    brain metastases", "HIV infection" beside "No AIDS" narrow, they do not contradict."""
    negated = [
        (k, r.rule.condition)  # type: ignore[union-attr]
        for k, c in enumerate(criteria)
        if c.section == "inclusion"
        and isinstance(r := c.rule, NotRule)
        and isinstance(r.rule, ConditionRule)
        and not r.rule.except_
    ]
    if not negated:
        return criteria  # (most records)
    named: dict[int, set[str]] = {
        k: {t.value for t in grammar.tokenize(" ".join(c.text.split())) if t.type == "COND"}
        for k, c in enumerate(criteria)
        if c.section == "inclusion"
        and not _NEGATED_START.match(c.text)
        and _TYPES_LEAD.search(c.context or "")
    }
    out = list(criteria)
    for k, cid in negated:
        for j, ids in named.items():
            hit = next(
                (
                    d
                    for d in ids
                    if vocab.condition_matches(d, cid) or vocab.condition_matches(cid, d)
                ),
                None,
            )
            if j != k and hit is not None:
                flat = " ".join(criteria[j].text.split())
                why = f"another inclusion line admits it or a kind of it ('{flat[:60]}')"
                out[k] = compose.as_evidence(criteria[k], why)
                break
    return out


# "REGISTRATION # 2 (RANDOMIZATION)" then "Alkaline phosphatase =< 2 times the institutional upper
# limit of normal; test must be completed within 7 days prior to registration" (NCT00002649, fresh
# audit 60): a later step's criteria, met after treatment has begun, not at entry
_LATER_STEP = re.compile(
    r"(?i)^\W*(?:registration|step|randomi[sz]ation)\s*(?:#|no\.?|number)?\s*(?:[2-9]|ii|iii|iv|two"
    r"|three)\b[^.;]{0,40}$|^\W*(?:second|third)\s+(?:registration|step|randomi[sz]ation)\b[^.;]{0,40}$"
)


def later_steps(criteria: list[Criterion]) -> list[Criterion]:
    """The lines after a label naming a later registration step are that step's: evidence."""

    def step(c: Criterion) -> str | None:
        flat = " ".join(c.text.split())
        return flat if _LATER_STEP.match(flat) else None

    out = list(criteria)
    for k, label in _under_labels(criteria, step):
        out[k] = compose.as_evidence(criteria[k], f"under a later step's label ('{label[:60]}')")
    return out


# "Patients with the following symptoms or conditions in the eye to be treated are excluded:"
# then "Retinal detachment." (NCT00002156, fresh audit 62): a heading that leads into a list and
# qualifies it after "the following" (the eye treated, a window, a status) reaches its items
_FOLLOWING = re.compile(r"(?i)\bthe\s+following\b(?P<rest>.*)[:：]\s*$")
# the words that name what the list holds, not a qualifier of it
_LIST_WORDS = re.compile(r"(?i)\b(?:other|symptoms?|conditions?|criteria|diseases?|disorders?)\b")


def scoped_headings(criteria: list[Criterion], under: dict[str, str | None]) -> list[Criterion]:
    """The lines under a "… the following … <qualifier>:" heading are evidence, and so are the
    lines under a heading naming someone else ("Donor Exclusion Criteria", NCT05507827, fresh
    audit 85)."""
    out = list(criteria)
    for k, c in enumerate(criteria):
        head = " ".join((under.get(c.id) or "").split())
        other = _SUBJECT_HEAD.match(head) or _SUBJECT_LABEL.match(head) if head else None
        if other and other.group("who").lower().startswith(_OTHER_SUBJECTS):
            if c.rule.kind != "manual":
                who = other.group("who").lower().rstrip("s")
                out[k] = compose.as_evidence(c, f"under the {who}'s heading ('{head[:60]}')")
            continue
        m = _FOLLOWING.search(head) if head and c.rule.kind != "manual" else None
        found = compose.scope_word(_LIST_WORDS.sub(" ", m.group("rest"))) if m else None
        if found is not None:
            why = f"under a heading whose {found[0]} word '{found[1]}' may reach it ('{head[:70]}')"
            out[k] = compose.as_evidence(c, why)
    return out


# "DDD Pacemaker Therapy" … "Cohort Study" as lines of both sections, each above its own items
# (NCT00001396, re-audit of session 27): the trial's parts, each with its own criteria
_LABEL_LIKE = re.compile(r"^[^\d<>≤≥=:;.]{3,50}$")


def repeated_labels(criteria: list[Criterion]) -> list[Criterion]:
    """With two or more short lines that label both sections alike, each label's lines are
    that part's: evidence."""

    def label(c: Criterion) -> str | None:
        flat = " ".join(c.text.split())
        if c.rule.kind != "manual" or not _LABEL_LIKE.match(flat) or _NEGATED_START.match(flat):
            return None
        return flat.lower()

    seen: dict[str, set[str]] = {}
    for c in criteria:
        if (name := label(c)) is not None:
            seen.setdefault(name, set()).add(c.section)
    labels = {n for n, sections in seen.items() if len(sections) == 2}
    if len(labels) < 2:
        return criteria  # (most records)

    def part(c: Criterion) -> str | None:
        return " ".join(c.text.split()) if label(c) in labels else None

    out = list(criteria)
    for k, current in _under_labels(criteria, part):
        out[k] = compose.as_evidence(
            criteria[k], f"under a part's label in both sections ('{current}')"
        )
    return out


def narrowed(rule: Rule, segments: list, k: int) -> bool:  # type: ignore[type-arg]
    """Whether a line nested under criterion ``k`` names a condition its rule decides on."""
    decided = [r.condition for r in _leaves(rule) if r.kind == "condition"]  # type: ignore[union-attr]
    if not decided:
        return False
    for seg in segments[k + 1 :]:
        if seg.parent != k:
            continue
        named = [t.value for t in grammar.tokenize(" ".join(seg.text.split())) if t.type == "COND"]
        if any(
            vocab.condition_matches(a, b) or vocab.condition_matches(b, a)
            for a in decided
            for b in named
        ):
            return True
    return False


def outer_problem(segments: list, seg) -> str | None:  # type: ignore[type-arg,no-untyped-def]
    """Why a lead-in above the item's own lead-in keeps it from standing alone, or None."""
    if seg.context is None or seg.parent is None:
        return None
    outer = segments[seg.parent].parent
    while outer is not None:
        why = context_problem(segments[outer].text, seg.section)
        if why is not None and why.startswith(("one of alternatives", "criteria for a group")):
            return f"under an outer lead-in: {why}"
        if segments[outer].kind == "heading":
            # "Inclusion criteria for the Phase 1b:" > "6. Have normal organ and marrow function
            # as defined below:" > "Hemoglobin > 9 g/dL" (NCT02840994, fresh audit 81): a group's
            # heading reaches the items nested below its lines too
            break
        outer = segments[outer].parent
    return None


def registered_own(criteria: list[Criterion], field: tuple[str, ...]) -> list[Criterion]:
    """A line that would exclude the disease the registry's Conditions field names is evidence.

    "A history of malignant tumor in the past 5 years" in a trial of "Organoid-guided … Treatment
    of Pleural Effusion" whose Conditions field says "Lung Cancer" (NCT06959173, fresh audit 79):
    the words mean another cancer. The field is often broader than the trial ("Leukemia" for an
    APL trial), so it only keeps lines from deciding; it never adds an exception.
    """
    registered = [  # (the concepts its words name: no "cancer"-word fallback as for titles)
        t.value
        for text in field
        for t in grammar.tokenize(grammar.normalise(text))
        if t.type == "COND"
    ]
    if not registered:
        return criteria  # (most records: no field, or one naming no concept)
    out = list(criteria)
    for k, c in enumerate(criteria):
        if c.rule.kind == "manual":
            continue
        for leaf, negative in compose._deciding_leaves(c.rule):
            if leaf.kind != "condition" or (c.section == "exclusion") == negative:
                continue
            own = next(
                (
                    p
                    for p in registered
                    if vocab.condition_matches(leaf.condition, p)
                    # (an exception of the trial's own kind already says what "other" leaves
                    # out: "other than Kaposi's sarcoma" beside the field's "Sarcoma, Kaposi")
                    and not any(
                        vocab.condition_matches(x, p) or vocab.condition_matches(p, x)
                        for x in leaf.except_
                    )
                ),
                None,
            )
            if own is not None:
                name = vocab.condition(own).name  # type: ignore[union-attr]
                why = f"the trial's registered condition ({name}) falls under it"
                out[k] = compose.as_evidence(c, why)
                break
    return out


# A line that leads into the lab lines after it with a window, the source's nesting lost
# ("Pretreatment laboratory data, obtained within 14 days of study entry, must meet the following
# criteria:" then "ANC >= 1,500 /mm^3" …): its window is theirs.
_LEAD_IN_WINDOW = re.compile(
    r"(?i)\bwithin\s+\d+\s+(?:days?|weeks?|months?)\b.*(?::\s*$|\bfollowing(?:\s+\w+)?\W*$)"
    # "… meeting all of the following criteria on a test within 28 days before enrollment. If
    # there are multiple test results …" then "(1) Neutrophil count: >=1,500/mm3 …" (NCT03264547,
    # re-audit of session 27): the window after "the following … criteria"
    r"|\bthe\s+following\s+(?:\w+\s+){0,3}?(?:criteria|values|conditions|requirements)\b[^.]{0,40}?"
    r"\bwithin\s+\d+\s+(?:days?|weeks?|months?)\b"
)
LAB_TOKENS = frozenset(["LAB", "MEASURE", "VITAL"])
_ORGAN_LABEL = re.compile(  # "Bone Marrow:", "Renal:", "Hepatic function:"
    r"(?i)^\W*(?:bone\s+marrow|h[a]?ematolog\w*|renal|kidney|hepatic|liver|coagulation|cardiac"
    r"|pulmonary|metabolic|endocrine|blood(?:\s+counts?)?|chemistry)(?:\s+function)?\s*:\s*$"
)


def lost_lead_ins(criteria: list[Criterion], primary: tuple[str, ...]) -> list[Criterion]:
    """The lab lines after a windowed lead-in that has no items of its own, read under it."""
    out = list(criteria)
    for k, c in enumerate(criteria):
        flat = " ".join(c.text.split())
        if c.rule.kind != "manual" or not _LEAD_IN_WINDOW.search(flat):
            continue
        for j in range(k + 1, len(criteria)):
            item = criteria[j]
            types = {t.type for t in grammar.tokenize(" ".join(item.text.split()))}
            # (or under an organ's label after it, "Bone Marrow:" > "Hemoglobin >= 9 g/dL", past
            # a note of its own; NCT05695898, fresh audit 82)
            label = item.context is not None and _ORGAN_LABEL.match(item.context) is not None
            own = item.context is not None and " ".join(item.context.split()) == flat
            if item.section != c.section or not (item.context is None or label or own):
                break
            if not types & LAB_TOKENS:
                if item.context is None:
                    break
                continue
            said = f"{flat} {item.context}" if label else flat
            rule = parse_criterion(item.text, item.section, said, primary)
            if rule.kind == "manual" and item.rule.kind != "manual":
                # the lead-in's window could not be read with it: the line's own reading is
                # evidence, the window is for the reviewer
                why = f"a window in the lead-in above may reach it ('{flat[:80]}')"
                rule = compose.assisted(item.text, why, compose.computable_part(item.rule))
            out[j] = item.model_copy(update={"rule": rule, "context": flat})
    return out
