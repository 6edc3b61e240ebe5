"""Record-level readings of cohorts: lines that say a criterion is one group's, not everyone's.

Each pass takes the record's criteria (after every one has its rule) and turns the computable
rules that may be one group's only into evidence for the reviewer (``compose.assisted``): read
as everyone's, they would fail a patient another group admits.
"""

from __future__ import annotations

import re

from eligibility import compose, grammar, vocab
from eligibility.model import (
    AllRule,
    AnyRule,
    ConditionRule,
    Criterion,
    ManualRule,
    NotRule,
    Rule,
    TherapyRule,
    iter_rules,
)
from eligibility.parse.base import FOR_A_CONDITION, _leaves
from eligibility.parse.criterion import context_problem

_LAB_KINDS = frozenset(["lab", "measure", "vital"])
_IF_AGE = re.compile(
    r"(?i)\bif\s+(?:the\s+patient\s+is\s+)?(?P<side>under|over|younger\s+than|older\s+than|"
    r"less\s+than|more\s+than|greater\s+than|below|above)\s+(?:age\s+)?(?:of\s+)?(?P<n>\d+)"
    # an age: years, or no unit at all ("If under 65, …"), never "if less than 1 month"
    r"(?=\s*(?:(?:years?|yrs?|y)\b(?!\s+(?:postmenopausal|since|after|ago|from|prior|before|"
    r"post))|of\s+age\b|[,;.)]|$))"
)


def _outside(m: re.Match[str], rule: Rule) -> bool:
    """Whether the ages "if under N" / "if over N" names lie outside the age rule's limits:
    then the line says what happens to patients the limit leaves out ("If under 65, higher
    priority is given to protocol …" beside "65 to 74"); "if under 18, consent of a parent"
    beside "13 and over" speaks of patients inside it."""
    n = float(m.group("n"))
    low = m.group("side").lower().split()[0] in ("under", "younger", "less", "below")
    bound = getattr(rule, "min" if low else "max", None)
    return bound is not None and (n <= bound if low else n >= bound)


def conditional_limits(criteria: list[Criterion]) -> list[Criterion]:
    """A later line "If transferrin saturation is less than 20% or ferritin is less than 50
    ng/mL, investigator …" says what happens when an earlier limit is not met: the earlier
    limits on the analytes it names are evidence."""
    out = list(criteria)
    for k, c in enumerate(criteria):
        if c.rule.kind == "manual" and _allows_values(c.text):
            _relaxed_limits(out, k, c)
        if _CYTOPENIAS_ALLOWED.search(c.text):
            _relaxed_limits(out, k, c, _cytopenia_analytes(c.text))
        if c.rule.kind != "manual" or not re.search(r"(?i)\bif\b", c.text):
            continue
        toks = grammar.tokenize(" ".join(c.text.split()))
        first_if = next((i for i, t in enumerate(toks) if t.type == "IF"), None)
        if first_if is None:
            continue
        # "If TSAT < 20% …", "Creatinine CL ≥ 60 ml/min if creatinine > 1.5 mg/dl": the
        # analytes the condition names
        named = {t.value for t in toks[first_if:] if t.type == "LAB"}
        if_age = _IF_AGE.search(c.text)
        if not named and if_age is None:
            continue
        flat = " ".join(c.text.split())[:100]
        for j in range(k - 1, -1, -1):
            other = out[j]
            if other.section != c.section or other.id in ("age", "sex"):
                break
            aged = if_age is not None and any(
                _outside(if_age, r) for r in _leaves(other.rule) if r.kind == "age"
            )
            if not aged and not _limits_on(other.rule, named):
                continue
            why = f"a later line says what happens if it is not met ('{flat}')"
            out[j] = compose.as_evidence(other, why)
    return out


# "Patients with documented Gilbert's disease may have bilirubin up to 2.5 mg/dL" on the line
# after "Total bilirubin =< 1.5 x ULN": a later (or earlier) line that lets some patients have
# other values of an analyte another line limits.
_ALLOWS_VALUES = re.compile(
    r"(?i)\b(?:may|can|could|are\s+allowed\s+to|is\s+allowed\s+to)\s+(?:still\s+)?(?:have|be\s+up\s+to|"
    r"exceed|be\s+(?:above|over|higher|greater|enrolled|eligible|included))\b|\b(?:is|are)\s+"
    r"(?:allowed|acceptable|permitted)\b"
)


_LIMIT_WORDS = re.compile(r"[<>≤≥=]|\b(?:up\s+to|less|more|greater|below|above|under|over)\b")
_FOR_SOME = re.compile(
    r"(?i)^\W*(?:note\s*:\s*)?(?:(?:patients|subjects|participants|individuals|those)\s+"
    r"(?:with|who|on|receiving)|(?:for|in)\s+(?:patients|subjects|participants|those))\b"
    # "Note: for HCC, AST, ALT, and alkaline phosphatase (ALP) ≤ 5 x upper limit of normal"
    # (NCT05482516, fresh audit 84)
    r"|^\W*(?:note\s*:\s*)?(?:for|in)\s+[A-Z]{2,6}\b(?=\s*(?:patients|subjects)?\s*[,:])"
)


# "AST < 2.5 x ULN (patients with liver metastasis)" below "AST < 1.5 x ULN" (NCT01683682,
# fresh audit 75): a limit for a subgroup it names after the limit
_FOR_SOME_AFTER = re.compile(
    r"(?i)(?:[(,;]\s*|\b(?:in|for)\s+)(?:patients|subjects|participants|those)\s+"
    r"(?:with|who|on|receiving)\b"
    # "AST/ALT ≤ 5X ULN in the presence of liver metastases" split from "AST/ALT ≤ 3X ULN"
    # at its ';' (NCT05442060, fresh audit 80)
    rf"|{FOR_A_CONDITION}"
)


def _allows_values(text: str) -> bool:
    """A line for a subgroup that lets it have other values ("Patients with Gilbert's … may
    have bilirubin up to 2.5 mg/dL"; "for patients with liver metastasis, both AST and ALT
    should be ≤5×ULN", a piece the splitter cut from its limit at ";")."""
    if _FOR_SOME.search(text) is None:
        after = _FOR_SOME_AFTER.search(text)  # (the limit before the subgroup it is for)
        return after is not None and _LIMIT_WORDS.search(text, 0, after.start()) is not None
    return (
        _ALLOWS_VALUES.search(text) is not None
        or re.match(r"(?i)\W*(?:note\s*:\s*)?(?:for|in)\b", text) is not None
    )


def _limits_on(rule: Rule, analytes: set[str]) -> bool:
    """Whether ``rule`` limits one of ``analytes`` (a lab, measure or vital)."""
    return any(
        getattr(r, "analyte", None) in analytes for r in _leaves(rule) if r.kind in _LAB_KINDS
    )


# "Metastasis to bone marrow with granulocytopenia, anemia, and/or thrombocytopenia allowed"
# (NCT00006760, above "ANC at least 1,000/mm^3"): a cytopenia let in is a count's limit relaxed.
_CYTOPENIA = {
    "granulocytopenia": ("neutrophils", "wbc"),
    "neutropenia": ("neutrophils", "wbc"),
    "agranulocytosis": ("neutrophils", "wbc"),
    "leukopenia": ("wbc", "neutrophils"),
    "anemia": ("hemoglobin", "hematocrit"),
    "anaemia": ("hemoglobin", "hematocrit"),
    "thrombocytopenia": ("platelets",),
    "cytopenia": ("neutrophils", "wbc", "hemoglobin", "hematocrit", "platelets"),
    "cytopenias": ("neutrophils", "wbc", "hemoglobin", "hematocrit", "platelets"),
    "pancytopenia": ("neutrophils", "wbc", "hemoglobin", "hematocrit", "platelets"),
    # "Inadequate peripheral blood counts due to bone marrow infiltration allowed" (NCT00004078,
    # re-audit of session 27)
    "blood counts": ("neutrophils", "wbc", "hemoglobin", "hematocrit", "platelets"),
    "blood count": ("neutrophils", "wbc", "hemoglobin", "hematocrit", "platelets"),
}
_CYTOPENIA_WORD = re.compile(r"(?i)\b(" + "|".join(_CYTOPENIA) + r")\b")
_CYTOPENIAS_ALLOWED = re.compile(
    r"(?i)\b(?:" + "|".join(_CYTOPENIA) + r")\b.*\b(?:allowed|permitted|acceptable|eligible)\b"
)


def _cytopenia_analytes(text: str) -> set[str]:
    """The counts whose cytopenia the line lets in; none when the cytopenia is what a therapy
    is for ("Concurrent epoetin alfa for anemia allowed": the limit stands)."""
    return {
        a
        for m in _CYTOPENIA_WORD.finditer(text)
        if not re.search(r"(?i)\bfor\s+(?:[\w-]+\s+){0,3}$", text[: m.start()])
        for a in _CYTOPENIA[m.group(1).lower()]
    }


_FRACTIONS = {"direct_bilirubin": "total_bilirubin", "indirect_bilirubin": "total_bilirubin"}


def _relaxed_limits(
    out: list[Criterion], k: int, c: Criterion, named: set[str] | None = None
) -> None:
    """Make the limits on the analytes ``c`` names (or ``named``), on the lines of its section,
    evidence."""
    if named is None:
        named = {t.value for t in grammar.tokenize(" ".join(c.text.split())) if t.type == "LAB"}
        # "For patients with Gilbert syndrome, the direct bilirubin should be within … normal"
        # (NCT04893109, fresh audit 50): a fraction's limit stands in for the total's
        named |= {whole for part, whole in _FRACTIONS.items() if part in named}
    if not named:
        return
    flat = " ".join(c.text.split())[:100]
    for j, other in enumerate(out):
        if j == k or other.section != c.section or other.id in ("age", "sex"):
            continue
        if _limits_on(other.rule, named):
            why = f"another line allows other values for some patients ('{flat}')"
            out[j] = compose.as_evidence(other, why)


# A lead-in or heading that says for whom its items hold ("In the absence of marrow
# involvement:", "FOR PATIENTS UNDERGOING BAL:"): the items are that subgroup's.
SUBGROUP_LEAD = re.compile(
    r"(?i)^\W*(?:(?:for|in)\s+(?:patients|subjects|participants|those|children|adults|women|men)\b"
    r"|in\s+the\s+(?:absence|presence)\s+of\b|if\b|when\b|unless\b"
    # "With bone marrow involvement:" then "ANC at least 750/mm3" (NCT00002825, fresh audit 58)
    r"|with(?:out)?\b(?!\s+(?:adequate|normal|sufficient|acceptable)\b))"
)
_DANGLING = re.compile(
    r"(?i)\b(?:with|of|having|who\s+(?:have|had|are)|including)\s*$"
    r"|\b(?:with|of|for)\s*\((?:or|and)\s+\w+\)\s*$"  # "… a claim for (or with)"
)
# (or is only a count lead-in in parentheses: "(any of the following conditions)" above the
# conditions it offers, NCT01601171, fresh audit 81)
_ENDS_AS_LEAD_IN = re.compile(
    r"[:：]\s*$|^\W*\((?:[\w-]+\s+){1,3}of\s+the\s+following\b[^()]*\)\W*$"
    # "The following severe bacterial pneumonia meeting the diagnostic criteria of pneumonia or
    # secondary infection of chronic respiratory disease" then "Severe pneumonia", …
    # (NCT01561794, fresh audit 85), "Require at least one of the following medical history or
    # risk factors" (NCT00454662, fresh audit 86): one sentence that only leads in, its colon lost
    r"|(?i:\bthe\s+following\b)[^:：.;]*$"
)
_GROUP_WORD = re.compile(
    r"(?i)\b(?:groups?|cohorts?|arms?|parts?|stratum|strata|sub-?stud(?:y|ies))\b"
)
# "For Cohorts A and B (Recruitment Closed)" … "For cohorts C:" (NCT02448420, fresh audit 62): a
# line that only names the cohorts the lines after it are for, its colon dropped
_COHORT_LABEL = re.compile(
    r"(?i)^\W*(?:for\s+|in\s+)?(?:cohorts?|arms?|groups?|parts?)\s+(?:[A-Z0-9]{1,3}\b[\s,&/]*|and\s+)+"
    r"(?:\([^)]{0,40}\))?\s*[:：]?\s*$"
    # "For the endometriosis cohort" over the exclusions, the controls' own line after them
    # (NCT06907303, fresh audit 76)
    r"|^\W*(?:for|in)\s+the\s+(?:[\w-]+\s+){1,3}(?:cohorts?|arms?|groups?)\s*[:：]?\s*$"
)


# "For renal Impairment subjects" then "- 30 ≤ eGFR < 90", "For healthy subjects" then "- eGFR ≥
# 90" (NCT05703282, fresh audit 84): a group's label that lost its colon (not "For all subjects")
_FOR_GROUP_LABEL = re.compile(
    r"(?i)^\W*for\s+(?!all\b|each\b|every\b)(?:[\w-]+\s+){0,3}(?:subjects|patients|participants"
    r"|volunteers|groups?|cohorts?)\W*$"
)


def _leads_in(flat: str) -> bool:
    return (
        _ENDS_AS_LEAD_IN.search(flat) is not None
        or _COHORT_LABEL.match(flat) is not None
        or _FOR_GROUP_LABEL.match(flat) is not None
    )


# "Also has one of more of the following chronic diseases:" then "- Hypertension," at the same
# level: the items are alternatives (or a count of them), not requirements each
_COUNT_LEAD = re.compile(
    r"(?i)\b(?:one\s+(?:or|of)\s+more|any\s+(?:one\s+)?of|at\s+least\s+(?:one|two|three|\d+)|"
    r"one\s+of|either|\d+\s+or\s+more)\b(?:\s+of)?\s+(?:the\s+)?following\b"
    # "Presence of at least one co-morbidity:" (NCT03368820, fresh audit 83)
    r"|\bat\s+least\s+(?:one|two|three|\d+)\s+(?:[\w-]+\s+){0,2}[\w-]+\s*[:：]\s*$"
)


def subgroup_lead_ins(criteria: list[Criterion]) -> list[Criterion]:
    """A line that leads into the items after it for a subgroup, its nesting lost ("Known HIV-
    infected persons are not eligible if any of the following criteria apply：" then "CD4+
    T-cell count less than 350 cells/μL"; "Additionally, volunteers may be eligible for the
    HIV-positive group in this study if they:"): those items are the subgroup's."""
    out = list(criteria)
    for k, c in enumerate(criteria):
        flat = " ".join(c.text.split())
        # "Persons with" then "- stroke", "- multiple sclerosis": a lead-in that lost its colon
        dangles = _DANGLING.search(flat) is not None
        dangling = c.section == "inclusion" and dangles
        # "During baseline 365 days, any patient with a claim for (or with)" then "- Bone marrow
        # or stem cell transplant" (NCT02921191, fresh audit 82): an exclusion lead-in that lost
        # its colon, its window with it
        windowed = c.section == "exclusion" and dangles and compose.scope_word(flat) is not None
        if c.rule.kind != "manual" or not (_leads_in(flat) or dangling or windowed):
            continue
        named = (
            any(t.type == "COND" for t in grammar.tokenize(flat))
            or bool(SUBGROUP_LEAD.match(flat))
            # "Age 65-70 years:" then "LVEF at least 45%": that age group's items
            or any(r.kind == "age" for r in _leaves(getattr(c.rule, "evidence", None) or c.rule))
        )
        count = _COUNT_LEAD.search(flat)
        # under exclusions each of "any of the following" excludes alone; "at least two" not
        counted = dangling or (
            count is not None
            and (
                c.section == "inclusion"
                or re.search(r"(?i)two|three|[2-9]", count.group(0)) is not None
            )
        )
        grouped = _GROUP_WORD.search(flat) or _FOR_GROUP_LABEL.match(flat)
        if not named and not counted and not windowed and not grouped:
            continue
        why = (
            f"one of the alternatives of a lead-in whose nesting was lost ('{flat[:80]}')"
            if counted
            else f"under a lead-in whose nesting was lost, its words reach it ('{flat[:80]}')"
            if windowed
            else f"under a subgroup's lead-in ('{flat[:80]}'): the subgroup's only?"
        )
        # a line naming only cohorts holds their lines up to the next such line, the lead-ins
        # and nested items inside them too
        label = _COHORT_LABEL.match(flat) is not None
        for j in range(k + 1, len(criteria)):
            item = criteria[j]
            said = " ".join(item.text.split())
            if item.section != c.section or (item.context != c.context and not label):
                break
            if label and _COHORT_LABEL.match(said):
                break  # the next cohorts' lines
            if not label and _leads_in(said):
                break  # another lead-in: another group
            if counted and _NEGATED_START.match(item.text):
                break  # "Not pregnant or nursing" after the items: a requirement of its own
            if dangling and any(r.kind not in ("condition", "manual") for r in _leaves(item.rule)):
                break  # "Persons with" takes condition names; "ECOG ≤ 1" is a line of its own
            if item.rule.kind == "manual":
                continue
            out[j] = compose.as_evidence(item, why)
    return out


# An inclusion that offers another way in than a neighbour's condition ("Diagnosis of other
# immunodeficiencies other than AIDS, with … CMV disease" beside "Diagnosis of AIDS and
# life-threatening CMV infection"): the two lines are alternatives, so neither decides.
_OTHER_THAN = re.compile(r"(?i)\bother\s+(?:[\w-]+\s+){0,3}?than\b|\bother\s+than\b")
_NEGATED_START = re.compile(r"(?i)^\W*(?:no|not|none|without|absence|free)\b")


def alternative_lines(criteria: list[Criterion]) -> list[Criterion]:
    """An inclusion's condition that another inclusion line names in "other … than X" is evidence:
    that line admits the patients without X."""
    out = list(criteria)
    for c in criteria:
        flat = " ".join(c.text.split())
        if c.section != "inclusion" or _NEGATED_START.match(flat):
            continue
        m = _OTHER_THAN.search(flat)
        if m is None:
            continue
        named = {t.value for t in grammar.tokenize(flat[m.end() :]) if t.type == "COND"}
        if not named:
            continue
        for k, other in enumerate(out):
            if other.id == c.id or other.section != "inclusion" or other.rule.kind == "manual":
                continue
            conds = {r.condition for r in _leaves(other.rule) if r.kind == "condition"}  # type: ignore[union-attr]
            if not conds & named:
                continue
            why = f"another line offers a way in without it ('{flat[:80]}')"
            out[k] = compose.as_evidence(other, why)
    return out


# A line that is only an exception to the one before it ("Calculated creatinine clearance >= 50
# ml/min" then the sub-bullet "Unless attributable to lymphoma").
_EXCEPTION_LINE = re.compile(
    r"(?i)^\W*(?:unless|except(?:ing)?|excluding|but\s+not|with\s+the\s+exception\s+of)\b"
)


# "Except for Cohort A, prior therapy targeting CTLA-4 …", "With the exception of alopecia, any
# unresolved toxicities …": the exception is to the line's own clause after the comma.
_OWN_CLAUSE = re.compile(
    r"(?i)^\W*(?:except|with\s+the\s+exception\s+of)\b[^,;]{0,80}[,;]\s*(?:prior|previous|any|"
    r"history|patients?|subjects?|participants?|treatment|the|no|all)\b"
)


def exception_lines(criteria: list[Criterion], under: dict[str, str | None]) -> list[Criterion]:
    """The criterion before a line that opens with "Unless …"/"Except …" is evidence: the line
    takes some patients out of it, and what it says was not read. A parenthesised one that opens
    a group ("Hematopoietic:" then "(unless histologic evidence of bone marrow involvement by
    tumor)." then the counts, NCT00001341, re-audit of session 27) is the group's: the lines of
    the group after it are evidence, and the line before (another group's) is not touched."""
    out = list(criteria)
    opening: set[int] = set()
    for k, c in enumerate(criteria):
        flat = " ".join(c.text.split())
        if not flat.startswith("(") or not _EXCEPTION_LINE.match(flat):
            continue
        if k > 0 and _group_of(criteria[k - 1]) == _group_of(c):
            continue  # an exception to the line before, within its group
        opening.add(k)
        for j in range(k + 1, len(criteria)):
            item = criteria[j]
            if item.section != c.section or _group_of(item) != _group_of(c):
                break
            if under.get(item.id) != under.get(c.id):
                break
            if item.rule.kind != "manual":
                why = f"the line above makes an exception ('{flat[:80]}')"
                out[j] = compose.as_evidence(item, why)
    for k in range(1, len(out)):
        c, prev = out[k], out[k - 1]
        if prev.section != c.section or prev.rule.kind == "manual" or prev.id in ("age", "sex"):
            continue
        if k in opening:
            continue  # its group's exception, not the line before's
        flat = " ".join(c.text.split())
        if _EXCEPTION_LINE.match(flat) and not _OWN_CLAUSE.match(flat):
            out[k - 1] = compose.as_evidence(
                prev, f"the next line makes an exception ('{flat[:80]}')"
            )
    return out


def _group_of(c: Criterion) -> str:
    """The id's group ("I11" of "I11.3"): the lines a label holds share it."""
    return c.id.split(".", 1)[0] if "." in c.id else c.id


# "- Allowed:" then "- Kaposi's sarcoma." at the same level (NCT00002008): the items after a
# lead-in that says they are permitted are allowances, not requirements.
_ALLOWED_LEAD = re.compile(
    r"(?i)^\W*(?:allowed|permitted|acceptable|optional|not\s+required|not\s+excluded)\s*:?\s*$"
)


def allowed_items(criteria: list[Criterion], under: dict[str, str | None]) -> list[Criterion]:
    """The items after an "Allowed:" item or heading, up to the next lead-in, are evidence."""
    out = list(criteria)
    run: tuple[str | None, str | None] | None = None  # (heading, context) of the open run
    for k, c in enumerate(criteria):
        head = " ".join((under.get(c.id) or "").split())
        flat = " ".join(c.text.split())
        if not _ALLOWED_LEAD.match(head):
            run = None
        elif run is None or run[0] != head:
            run = (head, c.context)
        if run is not None and (c.context != run[1] or _ENDS_AS_LEAD_IN.search(flat)):
            run = (head, "\0")  # a new lead-in ends the heading's list: it held no nesting
        if run is not None and run[1] == c.context and c.rule.kind != "manual":
            out[k] = compose.as_evidence(c, f"listed under '{head}': allowed, not required")
        if not _ALLOWED_LEAD.match(flat):
            continue
        for j in range(k + 1, len(criteria)):
            item = criteria[j]
            if item.section != c.section or _ENDS_AS_LEAD_IN.search(item.text.strip()):
                break
            if item.rule.kind != "manual":
                out[j] = compose.as_evidence(item, f"listed under '{flat}': allowed, not required")
    return out


# Lines that each require a different primary cancer ("2. De novo AML", "4. MDS with excess
# blasts", "6. Myeloproliferative neoplasms with blastic transformation", NCT03795779): one of
# them is the patient's diagnosis, so none is required alone.
_NEOPLASMS = ("malignancy", "myelodysplastic_syndrome", "myeloproliferative_neoplasm")
_DIAGNOSIS = re.compile(r"\b(?:AML|ALL|CML|CLL|MDS|MPN|NHL)\b")  # unread short forms
# an unread line that is only a tumour type, a cohort's heading ("Metastatic prostate cancer"
# above "Documented evidence of mCRPC", NCT04169841, fresh audit 40)
_TUMOUR_LINE = re.compile(
    r"(?i)^\W*(?:[\w/-]+\s+){0,6}(?:cancers?|carcinomas?|tumou?rs?|sarcomas?|lymphomas?|"
    r"leuka?emias?|melanomas?|myelomas?|gliomas?)"
    # "Non-Small Cell Lung Cancer (Monotherapy and Combination)" (NCT05082610, fresh audit 57)
    r"(?:\s*\([^()]*\))?\W*$"
)


# a tumour line that is an exclusion or a qualifier, not a cohort's name
_NOT_A_HEADING = re.compile(
    r"(?i)^\W*(?:no|not|non(?!-small)|without|with|prior|previous|history|other|any|complete|unresectable"
    r"|resected|recurrent|relapsed|borderline|occult|in\s+situ|diagnosis|histologically|confirmed)\b"
)


def alternative_diagnoses(criteria: list[Criterion]) -> list[Criterion]:
    """Inclusion lines requiring primary neoplasms unrelated to each other are evidence."""

    def primaries(c: Criterion) -> set[str]:
        return {
            r.condition  # type: ignore[union-attr]
            for r in _needed(c.rule)
            if any(vocab.condition_matches(n, r.condition) for n in _NEOPLASMS)  # type: ignore[union-attr]
            and not vocab.condition_matches("secondary_malignancy", r.condition)  # type: ignore[union-attr]
        }

    found = [(k, primaries(c)) for k, c in enumerate(criteria) if c.section == "inclusion"]
    found = [(k, p) for k, p in found if p]
    if not found:
        return criteria
    # lines naming a diagnosis the parser did not read ("2. De novo AML", "4. MDS with …")
    unread = [
        (k, _named_primaries(c.text))
        for k, c in enumerate(criteria)
        if c.section == "inclusion"
        and c.rule.kind == "manual"
        and (_DIAGNOSIS.search(c.text) or _named_primaries(c.text))
    ]
    found = found + unread
    if len(found) < 2:
        return criteria

    def related(a: set[str], b: set[str]) -> bool:
        return any(
            vocab.condition_matches(x, y) or vocab.condition_matches(y, x) for x in a for y in b
        )

    out = list(criteria)
    for k, p in found:
        if criteria[k].rule.kind == "manual":
            continue
        if any(not related(p, q) for j, q in found if j != k):
            why = "another inclusion line names another diagnosis: alternatives, or both?"
            out[k] = compose.as_evidence(criteria[k], why)
    return out


def _named_primaries(text: str) -> set[str]:
    """The primary neoplasms an unread tumour line names ("Metastatic prostate cancer"); none
    for a short form ("De novo AML"), which stays unrelated to every other line."""
    flat = " ".join(text.split())
    if not _TUMOUR_LINE.match(flat) or _NOT_A_HEADING.match(flat):
        return set()
    return {
        cid
        for cid in vocab.conditions_named_in(flat)
        if cid != "malignancy"  # "Basal or squamous skin cancer": an exception's item
        and any(vocab.condition_matches(n, cid) for n in _NEOPLASMS)
        and not vocab.condition_matches("secondary_malignancy", cid)
    }


def contradicting_conditions(criteria: list[Criterion]) -> list[Criterion]:
    """Inclusion lines that ask for a condition and for its absence ("PCOS" then "Non-PCOS",
    NCT06124261, fresh audit 76) name the trial's groups: neither decides alone."""
    inc = [k for k, c in enumerate(criteria) if c.section == "inclusion"]
    asked = {k: {r.condition for r in _needed(criteria[k].rule)} for k in inc}  # type: ignore[union-attr]
    refused = {k: _negated(criteria[k].text) for k in inc}
    out = list(criteria)
    for k in inc:
        for j in inc:
            # (what is asked lies inside what is refused: "Diabetes" and "No type 1 diabetes"
            # agree on type 2)
            clash = j != k and any(
                vocab.condition_matches(b, a) for a in asked[k] for b in refused[j]
            )
            if not clash:
                continue
            flat = " ".join(criteria[j].text.split())[:80]
            why = f"another inclusion line asks for its absence ('{flat}'): groups?"
            for i in (k, j):
                if out[i].rule.kind != "manual":
                    out[i] = compose.as_evidence(criteria[i], why)
    return out


def _negated(text: str) -> set[str]:
    """The condition a line is only the negation of ("Non-PCOS", "No diabetes.")."""
    toks = [t for t in grammar.tokenize(" ".join(text.split())) if t.type not in ("TO", "STOP")]
    if len(toks) == 2 and toks[0].type == "NOT" and toks[1].type == "COND":
        return {toks[1].value}
    return set()


def _needed(rule: Rule) -> list[Rule]:
    """The condition leaves an inclusion requires (under ``all``, not under a ``not``)."""
    if rule.kind == "condition":
        return [rule]
    if rule.kind == "all":
        return [r for child in rule.rules for r in _needed(child)]  # type: ignore[union-attr]
    return []


# A top-level lead-in whose items are its siblings ("-  Serious intolerance to pentamidine
# therapy defined as follows:" "-  Serum creatinine > 3.0 mg/dl.", NCT00000714, fresh audit 48):
# an inclusion's definition (its items are one requirement's alternatives), or a window that
# dates them ("Excluded within 90 days of study entry:"). Other lead-ins' items read alone.
_DEFINING_LEAD = re.compile(
    r"(?i)\b(?:defined\s+as|as\s+follows|(?:any|one|either)(?:\s+or\s+more)?\s+of\s+the"
    r"\s+following)\b"
)
_WINDOW_LEAD = re.compile(
    r"(?i)\b(?:within|with|during)\s+(?:the\s+)?(?:first\s+|past\s+|last\s+)?(?:\d+|one|two"
    r"|three|four|six|twelve)\s*(?:days?|weeks?|months?|years?)\b"
)


def _sibling_lead_in(c: Criterion, flat: str) -> bool:
    if c.rule.kind != "manual" or not context_problem(flat, c.section):
        return False
    return bool(_WINDOW_LEAD.search(flat) or _PART_LEAD.search(flat)) or (
        c.section == "inclusion" and _DEFINING_LEAD.search(flat) is not None
    )


# "Participants will be excluded from the physical activity and weight loss interventions (but
# not the smoking cessation component) for:" (NCT05687604, fresh audit 75), its items its siblings
_PART_LEAD = re.compile(
    r"(?i)\bexcluded\s+from\s+(?:the\s+)?(?!(?:the|study|trial|this|participation|protocol)\b)\w+"
)


def lost_nesting(criteria: list[Criterion], under: dict[str, str | None]) -> list[Criterion]:
    """A nested lead-in ("Failure of at least 1 prior regimen OR - At least 3 of the following
    risk factors:") followed by top-level lines under the same heading ("Over 60 years of age"):
    the source lost their nesting, so they are its items — a subgroup's, or a count of them."""
    out = list(criteria)
    for k, c in enumerate(criteria):
        flat = " ".join(c.text.split())
        if not _ENDS_AS_LEAD_IN.search(flat):
            continue
        if c.context is None and not _sibling_lead_in(c, flat):
            continue
        why = f"may be an item of a lead-in above it whose nesting was lost ('{flat[:80]}')"
        for j in range(k + 1, len(criteria)):
            item = criteria[j]
            # its top-level lines, or its siblings under the same lead-in ("Performance status:"
            # > "Age 65-70 years:", "Karnofsky 80-100%", NCT00005984, fresh audit 57)
            if item.section != c.section or item.context not in (None, c.context):
                break
            if item.context is not None and not context_problem(flat, c.section):
                break  # (a label's siblings: "Cardiovascular:" then "Active drug abuse.")
            if under.get(item.id) != under.get(c.id):
                break
            if _ENDS_AS_LEAD_IN.search(" ".join(item.text.split())):
                break
            if item.rule.kind != "manual":
                out[j] = compose.as_evidence(item, why)
    return out


# A title that says the patients have not had a treatment ("… in Antiretroviral-Naive
# Patients"): an inclusion requiring that treatment is an exclusion that lost its "no".
_NAIVE_TITLE = re.compile(r"(?i)\b((?:[\w/]+[\s-]){1,3}?)na[iï]ve\b")


def naive_titles(criteria: list[Criterion], title: str | None) -> list[Criterion]:
    """Inclusions that require a treatment the title says the patients are naive to: evidence;
    so are inclusions that require, as prior treatment, the trial's own drugs the title names
    ("Fluzoparib … With Chidamide or Camrelizumab …" over "Previous treatment with immune
    checkpoint inhibitors, PARP inhibitors and HDAC inhibitors", NCT05085626: a lost "no")."""
    m = _NAIVE_TITLE.search(title or "")
    if m is not None:
        words = m.group(1).replace("-", " ")
        named = {t.value for t in grammar.tokenize(words) if t.type == "DRUG"}
        why = f"the title says the patients are naive to it ('{m.group(0).strip()}')"
        criteria = _requiring(criteria, named, why)
    refused = _refused_treatments(criteria)
    if refused:
        why = "another inclusion line asks for none of it: one group's requirement?"
        criteria = _requiring(criteria, refused, why)
    own = {t.value for t in grammar.tokenize(grammar.normalise(title or "")) if t.type == "DRUG"}
    if own:
        gives = ", ".join(sorted(own))
        why = f"asks for prior treatment with a drug the title names ({gives}): a lost 'no'?"
        # one class holding one of the trial's drugs ("Previous treatment with antiretrovirals"
        # in a saquinavir trial) is a real requirement; the drug itself, or classes holding
        # two of them, are not
        criteria = _requiring(criteria, own, why, least=2)
    return criteria


def _refused_treatments(criteria: list[Criterion]) -> set[str]:
    """The drugs an inclusion line asks the patient not to have had ("No prior treatment with a
    PARP inhibitor" beside "Prior treatment with PARP inhibitor", NCT04991480, fresh audit 48:
    a trial of parts, each with its own list)."""
    if not any(c.section == "inclusion" and _required(c.rule) for c in criteria):
        return set()  # (most records: no inclusion asks for a treatment, nothing to tokenise)
    refused: set[str] = set()
    for c in criteria:
        flat = " ".join(c.text.split())
        if c.section != "inclusion" or not _NEGATED_BEFORE.search(flat):
            continue
        for t in grammar.tokenize(flat):
            if t.type == "DRUG" and _NEGATED_BEFORE.search(_sentence_before(flat, t.start)):
                refused.add(t.value.split("#")[0])
    return refused


def _sentence_before(flat: str, start: int) -> str:
    """The words of the sentence before ``start`` (what a drug's mention follows)."""
    return flat[max(flat.rfind(". ", 0, start), 0) : start]


def _requiring(
    criteria: list[Criterion], named: set[str], why: str, least: int = 1
) -> list[Criterion]:
    """The inclusions that require a therapy covering (or covered by) ``least`` of ``named``
    (or naming one of them itself), as evidence."""
    if not named:
        return criteria
    out = list(criteria)
    for k, c in enumerate(criteria):
        if c.section != "inclusion" or c.rule.kind == "manual":
            continue
        agents = {a for r in _required(c.rule) for a in r.agents}  # type: ignore[union-attr]
        hit = {
            n for n in named for a in agents if vocab.drug_matches(n, a) or vocab.drug_matches(a, n)
        }
        if len(hit) >= least or agents & named:
            out[k] = compose.as_evidence(c, why)
    return out


def _required(rule: Rule) -> list[Rule]:
    """The therapy rules an inclusion asks for (not the ones under a "no")."""
    if rule.kind == "therapy":
        return [rule]
    if rule.kind in ("all", "any"):
        return [r for child in rule.rules for r in _required(child)]  # type: ignore[union-attr]
    return []


def members_elsewhere(criteria: list[Criterion]) -> list[Criterion]:
    """ "History of psychiatric illness" beside "History of severe alcohol or drug abuse"
    (NCT00001783, fresh audit 5): a group's exclusion leaves out a member whose membership
    common usage disputes (``separate_members`` in conditions.yaml: substance abuse of mental
    disorders, type 1 diabetes of autoimmune diseases) when another exclusion line of the
    record handles it; that line decides it. Not for members in general: an MI two years ago
    is still "coronary artery disease" beside "MI within 6 months"."""
    if not any(
        c.section == "exclusion"
        and any(
            isinstance(r, ConditionRule)
            and (g := vocab.condition(r.condition)) is not None
            and g.extra.get("separate_members")
            for r in iter_rules(c.rule)
        )
        for c in criteria
    ):
        return criteria  # (most records: no group with a disputed member)
    named = [_conditions_of(c) if c.section == "exclusion" else set() for c in criteria]
    out = list(criteria)
    for k, c in enumerate(criteria):
        if c.section != "exclusion" or c.rule.kind == "manual":
            continue
        others = set().union(*(n for j, n in enumerate(named) if j != k)) - named[k]
        if others:
            rule = _except_members(c.rule, True, others)
            if rule != c.rule:
                out[k] = c.model_copy(update={"rule": rule})
    return out


def _conditions_of(c: Criterion) -> set[str]:
    """The conditions a line reads or names (a manual line's words count: "severe alcohol or
    drug abuse" names substance abuse)."""
    found: set[str] = set(vocab.conditions_named_in(" ".join(c.text.split())))
    todo = [c.rule]
    while todo:
        for r in iter_rules(todo.pop()):
            if isinstance(r, ConditionRule):
                found.add(r.condition)
            elif isinstance(r, ManualRule) and r.evidence is not None:
                todo.append(r.evidence)
    return found


def _except_members(rule: Rule, excluding: bool, others: set[str]) -> Rule:
    if isinstance(rule, AllRule | AnyRule):
        return type(rule)(rules=[_except_members(r, excluding, others) for r in rule.rules])
    if isinstance(rule, NotRule):
        return rule.model_copy(update={"rule": _except_members(rule.rule, not excluding, others)})
    if not (isinstance(rule, ConditionRule) and excluding):
        return rule
    g = vocab.condition(rule.condition)
    if g is None:
        return rule
    add: list[str] = []
    for s in g.extra.get("separate_members", ()):  # type: ignore[attr-defined]
        for m in sorted(others):
            if vocab.condition_matches(s, m):
                hit = m  # the member, or the kind of it the line names (drug dependence)
            elif vocab.condition_matches(m, s) and not vocab.condition_matches(m, g.id):
                hit = s  # a line on diabetes handles type 1 diabetes
            else:
                continue
            if hit not in rule.except_ and hit not in add:
                add.append(hit)
    return rule.model_copy(update={"except_": [*rule.except_, *add]}) if add else rule


# a treatment an inclusion line says was given ("within 2 years of completing initial
# chemotherapy"), not one the trial plans ("eligible for chemotherapy with carboplatin"), and no
# negation before it in its sentence
_PRIOR_BEFORE = re.compile(
    r"(?i)\b(?:prior|previous(?:ly)?|received|completed|completing|completion|history\s+of"
    r"|progressed|progression|failed|failure|treated|pretreated|refractory|resistant|exposure"
    r"|exposed)\b"
)
_NEGATED_BEFORE = re.compile(r"(?i)\b(?:no|not|non|without|never|naive|free\s+of|exclud\w*)\b")


def treatments_asked_elsewhere(criteria: list[Criterion]) -> list[Criterion]:
    """ "Previous exposure to chemotherapy" excluded where an inclusion line asks for it ("Cohort
    1 only: within 2 years of completing initial chemotherapy", NCT03921658, fresh audit 19): the
    exclusion cannot mean every such treatment, so a windowless one is evidence."""
    if not any(
        c.section == "exclusion" and isinstance(r, TherapyRule) and r.within is None
        for c in criteria
        for r in _leaves(c.rule)
    ):
        return criteria  # (most records: no line to tokenise again)
    asked: set[str] = set()
    for c in criteria:
        flat = " ".join(c.text.split())
        if c.section != "inclusion" or not _PRIOR_BEFORE.search(flat):
            continue
        for t in grammar.tokenize(flat):
            if t.type != "DRUG":
                continue
            sentence = _sentence_before(flat, t.start)
            if _PRIOR_BEFORE.search(sentence) and not _NEGATED_BEFORE.search(sentence):
                asked.add(t.value.split("#")[0])
    if not asked:
        return criteria
    out = list(criteria)
    for k, c in enumerate(criteria):
        if c.section != "exclusion" or c.rule.kind == "manual":
            continue
        hit = next(
            (
                d
                for r in _leaves(c.rule)
                if isinstance(r, TherapyRule) and r.within is None
                for a in r.agents
                for d in sorted(asked)
                if vocab.drug_matches(a, d)  # the excluded class holds what is asked for
            ),
            None,
        )
        if hit is not None:
            why = f"an inclusion line asks for {vocab.drug(hit).name}: which of it is excluded?"  # type: ignore[union-attr]
            out[k] = compose.as_evidence(c, why)
    return out
