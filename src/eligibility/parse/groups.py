"""Lines that belong to one group of the trial's people: group lines, parts named "Criteria for
…", one sex's branch, an empty inclusion section, and age lines that name two groups' ages.

Each pass takes the record's criteria and returns them with the lines that may be one group's
made evidence (``compose.as_evidence``): read as everyone's, they would fail the other group.
"""

from __future__ import annotations

import re

from eligibility import compose
from eligibility.model import MAX_AGE_YEARS, Criterion, Rule
from eligibility.parse.base import _leaves
from eligibility.parse.criterion import _is_allowance

# One-word lines that name whom the items after them are for ("Adolescents", "Parents"): a
# heading the source lost its colon from. With two or more in a section, the items after the
# first are one group's each, and may not be the patient's.
_GROUP_LINE = re.compile(
    r"(?i)^\W*(?:(?:the\s+)?(?:adolescents?|children|adults?|parents?|caregivers?|mothers?|"
    r"fathers?|partners?|siblings?|donors?|recipients?|controls?|healthy\s+(?:controls?|"
    r"volunteers?)|patients?|infants?|families|family\s+members?|cohort\s+\w+|group\s+\w+|"
    r"part\s+\w+|arm\s+\w+))\W*$"
    # "Inclusion Criteria for Group 1", "Eligibility criteria for cohort B:" (not "all groups")
    r"|^\W*(?:inclusion|exclusion|eligibility)\s+criteria\s+(?:for|of)\s+(?:the\s+)?"
    r"(?:group|cohort|part|arm|stage|step|sub-?study|stratum)\s+(?!all\b)[\w-]+\W*$"
)


def group_lines(criteria: list[Criterion]) -> list[Criterion]:
    """The items after lost group headings ("Parents" then "Age >18") are evidence, and so are
    those after "Criteria for <part>" labels; a label for everyone ("Exclusion criteria for all
    randomisations") ends the groups' reach."""
    out = list(criteria)
    for section in ("inclusion", "exclusion"):
        idx = [k for k, c in enumerate(criteria) if c.section == section]
        heads = {k: h for k in idx if (h := _group_head(criteria[k])) is not None}
        if sum(1 for h in heads.values() if h) < 2:
            continue
        head = ""
        for k in idx:
            c = out[k]
            if k in heads:
                head = heads[k]
            elif head and c.rule.kind != "manual":
                why = f"under a group line ('{head}'): whose criterion it is is for a person"
                out[k] = compose.as_evidence(c, why)
    return out


def _group_head(c: Criterion) -> str | None:
    """The group a line names ("" for everyone), or None for a line that names none."""
    flat = " ".join(c.text.split())
    if _GROUP_LINE.match(flat):
        return c.text.strip()
    m = _CRITERIA_FOR.search(flat) if c.rule.kind == "manual" else None
    if m is None:
        return None
    return "" if _FOR_EVERYONE.search(m.group(1)) else m.group(1)


def _span(rule: Rule) -> tuple[float, float]:
    return (rule.min or 0.0, MAX_AGE_YEARS if rule.max is None else rule.max)  # type: ignore[attr-defined]


def contradicting_ages(criteria: list[Criterion]) -> list[Criterion]:
    """Age lines that together admit no one ("Aged under 18 years old" among the inclusions,
    "Aged <18 years old" among the exclusions, NCT03930485, fresh audit 51: one is a typo, and
    which one is for a person): the text's age rules become evidence."""
    inc = [k for k, c in enumerate(criteria) if c.section == "inclusion" and c.rule.kind == "age"]
    exc = [k for k, c in enumerate(criteria) if c.section == "exclusion" and c.rule.kind == "age"]
    if not inc or not exc:
        return criteria  # (most records)
    lo = max(_span(criteria[k].rule)[0] for k in inc)
    hi = min(_span(criteria[k].rule)[1] for k in inc)
    if lo < hi and not any(
        _span(criteria[k].rule)[0] <= lo and hi <= _span(criteria[k].rule)[1] for k in exc
    ):
        return criteria
    out = list(criteria)
    why = "the record's age lines admit no one together: which one is meant is for a person"
    for k in (*inc, *exc):
        if criteria[k].id != "age":  # (the registry's own bounds stand)
            out[k] = compose.as_evidence(criteria[k], why)
    return out


# "Male or female, aged 3 years to 70 years" then "Family members (any age) of patients with a
# family history of tumors" (NCT00001595, fresh audit 58): one group's age, not everyone's
_ANY_AGE = re.compile(
    r"(?i)\b(?:of\s+)?(?:any|all)\s+ages?\b"
    # "On rare occasions we may attempt to study children as young as 10 years with TES"
    # (NCT00001216, fresh audit 60)
    r"|\bas\s+(?:young|old)\s+as\s+\d"
    # "Patients with Ph chromosome-positive disease may be up to age 65" beside "15 to 65"
    # (NCT00002514, re-audit of session 27): one group's age limit, the others' unsaid
    r"|\bmay\s+be\s+(?:up\s+to|over|under|older\s+than|younger\s+than)\s+(?:(?:the\s+)?age\s+(?:of\s+)?"
    r"\d+|\d+\s+(?:years?|yrs?)\b)"
)


# "Note: In Japan, participants aged 16 to 70 years, inclusive, may be included." below "aged
# 18 to 70" (NCT05687916, fresh audit 79): a permission that names an age
_AGE_SAID = re.compile(r"(?i)\bage[ds]?\s+(?:of\s+)?(?:\d|between|from|up\s+to|over|under)")


def _admits_other_ages(text: str) -> bool:
    flat = " ".join(text.split())
    return bool(_ANY_AGE.search(flat) or (_AGE_SAID.search(flat) and _is_allowance(flat)))


def any_age(criteria: list[Criterion]) -> list[Criterion]:
    """With an inclusion line that admits any age (or a wider one), the text's age lines are
    evidence."""
    said = next(
        (c for c in criteria if c.section == "inclusion" and _admits_other_ages(c.text)), None
    )
    if said is None:
        return criteria  # (most records)
    out = list(criteria)
    why = f"another line admits other ages ('{' '.join(said.text.split())[:60]}')"
    for k, c in enumerate(criteria):
        if c is not said and c.id != "age" and c.section == "inclusion" and _ages(c):
            out[k] = compose.as_evidence(c, why)
    return out


def _ages(c: Criterion) -> list[Rule]:
    return [r for r in _leaves(c.rule) if r.kind == "age"]


def _same_side(a: list[Rule], b: list[Rule]) -> bool:
    """Both lines bound age from below, or both from above (two groups, not one range)."""
    lows = [any(r.min is not None for r in x) for x in (a, b)]  # type: ignore[attr-defined]
    highs = [any(r.max is not None for r in x) for x in (a, b)]  # type: ignore[attr-defined]
    return all(lows) or all(highs)


_AGE_WORDS = re.compile(r"(?i)\bage[ds]?\b|\byears?\s+old\b")


def age_groups(criteria: list[Criterion]) -> list[Criterion]:
    """Consecutive inclusions with different ages ("Individuals age 8 and older." then
    "Individuals age 6-8 with a family history of stuttering") are most often two ways in,
    one per group: read as two requirements, the second group would fail the first line."""
    out = list(criteria)
    for k, j in _age_pairs(criteria):
        a, b = criteria[k], criteria[j]
        ages_a, ages_b = _ages(a), _ages(b)
        nested_age = j == k + 1 and b.context == a.text and _AGE_WORDS.search(b.text) is not None
        if (
            j == k + 1
            and a.section == "inclusion"
            and a.context == b.context
            and not (ages_a and ages_b)
        ):
            # "Age ≥55 years and amenorrhea" then "Age <55 years and amenorrhea for ≥12 months
            # with FSH >30": the other group's age line is one the parser could not read
            if ages_a and _unread_age(b):
                nested_age = True
            elif ages_b and _unread_age(a):
                k, j, a, b, ages_a, ages_b = j, k, b, a, ages_b, ages_a
                nested_age = True
        if not ages_a or ages_a == ages_b or not (ages_b or nested_age):
            continue
        if ages_b and not _same_side(ages_a, ages_b):
            continue  # "≥ 18 years old" then "< 65 years old": the two ends of one range
        for n, c, other in ((k, a, b), (j, b, a)):
            if out[n].rule.kind == "manual":
                continue
            flat = " ".join(other.text.split())[:100]
            why = f"another line names another age ('{flat}'): one group each, or both required?"
            out[n] = compose.as_evidence(c, why)
    return out


# ("≥ 12 weeks" under "Age:" beside "≥12 months", NCT02724163, fresh audit 85)
_AGE_LINE = re.compile(
    r"(?i)^\W*(?:age[ds]?\b|\d+\s*(?:-|–|to)\s*\d+\b|\d+\s*(?:years?|months?|weeks?|days?)\b)"
)


def _unread_age(c: Criterion) -> bool:
    """A manual line that starts with an age ("Age 66 to 70 if in excellent physical condition",
    "10 to 66" under "Age:") and holds none the parser read."""
    if c.rule.kind != "manual" or _ages(c) or not _AGE_LINE.match(c.text):
        return False
    return c.text.lstrip()[:3].lower() == "age" or (c.context or "").strip().lower() == "age:"


def _age_pairs(criteria: list[Criterion]) -> list[tuple[int, int]]:
    """Pairs of lines of one section that may name two groups' ages: neighbours (the second
    may be nested), or any two lines that both bound age ("Age of 3 to 20 years." under part
    A, "Age of 3 years or greater." under part B; exclusions likewise)."""
    pairs: list[tuple[int, int]] = []
    aged = [
        k
        for k, c in enumerate(criteria)
        if c.id not in ("age", "sex") and c.rule.kind != "manual" and _ages(c)
    ]
    for k in range(len(criteria) - 1):
        a, b = criteria[k], criteria[k + 1]
        if a.section == b.section == "inclusion" and "age" not in (a.id, b.id):
            pairs.append((k, k + 1))
    for n, k in enumerate(aged):
        for j in aged[n + 1 :]:
            same = criteria[k].section == criteria[j].section
            # (neighbouring inclusions are paired above)
            if same and (j != k + 1 or criteria[k].section == "exclusion"):
                pairs.append((k, j))
    return pairs


# "Males" then "Females who are not pregnant or not planning a pregnancy …" (NCT02586493, fresh
# audit 86): one way in for each sex, not two requirements
# (… or a few words in: "not pregnant female" beside "Male", NCT04157569, fresh audit 87)
_SEX_START = {
    "male": re.compile(r"(?i)^\W*(?:[\w-]+\s+){0,3}?(?:males?|m[ae]n|boys?)\b"),
    "female": re.compile(r"(?i)^\W*(?:[\w-]+\s+){0,3}?(?:females?|wom[ae]n|girls?)\b"),
}


def sex_branches(criteria: list[Criterion]) -> list[Criterion]:
    """A line that admits one sex beside an inclusion that starts with the other is one branch
    of two: evidence."""
    out = list(criteria)
    for k, c in enumerate(criteria):
        if c.section != "inclusion" or c.id == "sex":
            continue
        sexes = [r for r in _leaves(c.rule) if r.kind == "sex"]
        if len(sexes) != 1 or len(sexes[0].allowed) != 1:  # type: ignore[attr-defined]
            continue
        other = "female" if sexes[0].allowed[0] == "male" else "male"  # type: ignore[attr-defined]
        for j in (k - 1, k + 1):
            near = criteria[j] if 0 <= j < len(criteria) else None
            if near is None or near.section != c.section or near.id in ("age", "sex"):
                continue
            if _SEX_START[other].match(near.text):
                flat = " ".join(near.text.split())[:60]
                out[k] = compose.as_evidence(c, f"a line beside it admits the other sex ('{flat}')")
                break
    return out


def misfiled_sections(criteria: list[Criterion]) -> list[Criterion]:
    """A section whose lines read as the other section's: its computable lines are evidence.

    * An inclusion section with no criterion ("Inclusion/" and nothing else, NCT04648969, fresh
      audit 86) and three or more exclusion lines that read as requirements ("No illicit drug
      use", "Normal blood pressure"); or, whatever the inclusions, exclusion lines that read as
      requirements being four or more and two in five of the section ("Zubrod performance status
      0-2" … "ANC > 1,500/mm^3" … "Not pregnant or nursing", the PDQ "PATIENT
      CHARACTERISTICS:" lines filed as exclusions, NCT00469937, fresh audit 87).
    * An exclusion section with no criterion and three or more inclusion lines that read as
      exclusions ("Known hypersensitivity to Ambroxol …", "Pregnancy and/or breast-feeding.",
      NCT00525044, fresh audit 87): the inclusion text holds both lists.
    """
    inc = [c for c in criteria if c.section == "inclusion" and c.id not in ("age", "sex")]
    exc = [c for c in criteria if c.section == "exclusion"]
    empty_inc = sum(len(_WORD.findall(c.text)) for c in inc) <= 2
    asked = sum(1 for c in exc if _REQUIREMENT_LIKE.match(c.text))
    if (empty_inc and asked >= 3) or (asked >= 4 and 5 * asked >= 2 * len(exc)):
        side, why = (
            "exclusion",
            "the exclusion lines read as requirements: this may be an inclusion",
        )
    elif (
        not exc
        and 5 * (said := sum(1 for c in inc if _EXCLUSION_LIKE.match(c.text))) >= len(inc)
        and said >= 3
    ):
        side, why = (
            "inclusion",
            "the inclusion text holds exclusion lines: this may be an exclusion",
        )
    else:
        return criteria  # (most records)
    out = list(criteria)
    for k, c in enumerate(criteria):
        if c.section == side and c.id not in ("age", "sex") and c.rule.kind != "manual":
            out[k] = compose.as_evidence(c, why)
    return out


_WORD = re.compile(r"[^\W\d_]{2,}")
_REQUIREMENT_LIKE = re.compile(
    r"(?i)^\W*(?:no|not|absence\s+of|normal|able|willing|must|confirmed|documented"
    r"|age[ds]?\s+\d+\s*(?:years?\s*)?(?:and|or)\s+(?:older|above|over))\b"
)
_EXCLUSION_LIKE = re.compile(
    r"(?i)^\W*(?:known\s+(?:hypersensitivity|allergy|history)|hypersensitivity|allerg(?:y|ies|ic)"
    r"|pregnan\w*\s*(?:,|/|and/or|and|or)\s*(?:breast-?feeding|lactat\w*|nursing)|breast-?feeding"
    r"|lactating|(?:simultaneous|concurrent)\s+participation|participation\s+in\s+(?:another|other"
    r"|any)\b|(?:alcohol|drug|substance)\b[\w\s,/-]{0,15}\babuse|(?:a\s+)?history\s+of)\b"
)


# "Criteria for Asthma" … "Never smoker, … quit smoking ≥5 years ago Criteria for COPD" …
# "Pregnancy Exclusion for COPD EXCLUSION" (NCT02487394, fresh audit 86): the criteria of each
# part, named on a line of its own or glued to the end of the line above
_CRITERIA_FOR = re.compile(
    r"(?:^|\s)((?:[IE](?i:nclusion|xclusion|ligibility)\s+)?[CIE](?i:riteria|nclusion|xclusion)"
    r"\s+(?i:for)\s+(?:the\s+)?(?:[\w'-]+\s*){1,4}?)(?i:\s+(?:inclusion|exclusion)(?:\s+criteria)?)?"
    r"\s*:?\s*$"
)
# "Exclusion criteria for all randomisations", "Inclusion criteria for trial entry": everyone's
_FOR_EVERYONE = re.compile(
    r"(?i)\bfor\s+(?:all|every|each|both|any|the\s+study|this\s+study|(?:trial\s+)?entry"
    r"|participation|enrol|registration)\b"
)
