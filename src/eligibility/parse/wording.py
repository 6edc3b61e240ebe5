"""Words around a read rule that change what it decides: an inline quantifier ("One or more of
the following: …"), a past pregnancy ("have been or currently pregnant"), an allowance that
reaches beyond the condition read ("Active syphilis. NOTE: … a remote (> 6 months) treated
infection are eligible"), tumour types listed across ";", a comparator word beside a strict bound.
Each returns the rule to use, or why the read part is only evidence."""

from __future__ import annotations

import re
from itertools import pairwise

from eligibility import compose, grammar, vocab
from eligibility.model import (
    AllRule,
    AnyRule,
    ConditionRule,
    Criterion,
    ManualRule,
    NotRule,
    Rule,
    Section,
)
from eligibility.parse.base import FOR_A_CONDITION, _deep_leaves, _leaves, may_hold
from eligibility.parse.clauses import _distinct_cancers

# "One or more of the following diagnoses: A, B, pneumonia/sepsis, D" (NCT00005776, fresh audit
# 40): the lead-in says how many of the list's items are needed, whatever the section's default.
_LEAD_ANY = re.compile(
    r"(?i)^\W*(?:(?:any|either|one)(?:\s+or\s+more)?|at\s+least\s+one)\s+of\s+(?:the\s+)?"
    r"following(?:\s+[\w-]+){0,3}\s*:"
)
_LEAD_ALL = re.compile(
    r"(?i)^\W*(?:all|both|each)\s+of\s+(?:the\s+)?following(?:\s+[\w-]+){0,3}\s*:"
)
_LEAD_COUNT = re.compile(
    r"(?i)^\W*(?:(?:at\s+least|any)\s+)?(?:two|three|four|[2-9]|≥\s*[2-9])(?:\s+or\s+more)?\s+of\s+"
    r"(?:the\s+)?following\b"
)


def inline_quantifier(text: str, rule: Rule) -> Rule:
    """The list after an inline "any/all of the following:" joined as it says (one sentence)."""
    if ". " in text.strip().rstrip("."):
        return rule
    if isinstance(rule, AllRule) and _LEAD_ANY.match(text):
        return AnyRule(rules=rule.rules)
    if isinstance(rule, AnyRule) and _LEAD_ALL.match(text):
        return AllRule(rules=rule.rules)
    if rule.kind != "manual" and _LEAD_COUNT.match(text):
        read = compose.computable_part(rule)
        why = "a count of the items listed"
        return compose.assisted(text, why, read) if read is not None else rule
    return rule


# "Have been or currently pregnant" (NCT00000429, fresh audit 39): a pregnancy rule is about
# now; a past pregnancy is not a recorded fact it reads.
_PAST_PREGNANCY = re.compile(
    r"(?i)\b(?:(?:have|has|had|ever)\s+(?:ever\s+)?been(?:\s+or\s+(?:are\s+)?(?:currently|now))?"
    r"\s+pregnan\w*|(?:previous(?:ly)?|prior|past|former|history\s+of(?:\s+a)?)\s+pregnan\w*)"
)


def past_pregnancy(text: str, rule: Rule) -> str | None:
    if not may_hold(text, ("pregnan",)) or not any(r.kind == "pregnancy" for r in _leaves(rule)):
        return None
    m = _PAST_PREGNANCY.search(text)
    return None if m is None else f"a past pregnancy is not recorded ('{m.group(0)}')"


# "Active syphilis. NOTE: Subjects for whom serology is documented to be a false positive or due
# to a remote (> 6 months) treated infection are eligible" (NCT00001042, fresh audit 40): an
# allowance for cases treated long enough ago says the exclusion reaches past "active" to the
# recently treated (an allowance for any treated case, "Prior treated hepatitis B … may be
# enrolled", says no more than "active").
_PAST_CASES = re.compile(
    r"(?i)\bremote\b|(?:[>≥]|more\s+than|greater\s+than|at\s+least|over)\s*\(?\s*\d+\s*\)?\s*"
    r"(?:months?|years?)\s+(?:ago|prior|before|since|earlier)\b"
)


def allowance_wider(text: str, rule: Rule, section: Section) -> str | None:
    if section != "exclusion" or not any(
        isinstance(r, ConditionRule) and r.active for r in _deep_leaves(rule)
    ):
        return None
    for r in _leaves(rule):
        if isinstance(r, ManualRule) and r.law == "allowance" and _PAST_CASES.search(r.reason):
            return "an allowance for cases treated long ago: the exclusion reaches past 'active'"
    return None


def tumour_alternatives(rule: Rule, section: Section) -> str | None:
    """ "…, specifically: small cell and non-small cell lung cancer; breast cancer (…); carcinoma
    of unknown primary; bladder cancer; and malignant melanoma" (NCT05144698, fresh audit 42):
    tumour types listed across ";" pieces name alternatives, not one patient with all."""
    if section != "inclusion" or not isinstance(rule, AllRule):
        return None
    cancers = [r.condition for r in rule.rules if isinstance(r, ConditionRule)]
    if cancers:  # "AML and medium-high risk MDS patients …" (NCT05703204): one named unread
        for r in rule.rules:
            if isinstance(r, ManualRule) and "'" in r.reason:
                said = r.reason.split("'", 1)[1]
                cancers += [t.value for t in grammar.tokenize(said) if t.type == "COND"]
    if _distinct_cancers(cancers):
        return "tumour types listed as alternatives or both"
    return None


# "Patients with a life expectancy superior to 12 weeks, at least." (NCT00496301, fresh audit
# 42): a comparator word left unread may make the strict bound read an inclusive one.
_COMPARATOR_WORDS = re.compile(
    r"(?i)'(?:at\s+(?:least|most)|or\s+(?:more|greater|above|over|less|below|equal|higher|lower)"
    r"|minimum|maximum|inclusive|or\s+equal\s+to)'"
)
_BOUNDS = ("lab", "age", "life_expectancy", "measure", "vital", "bmi")


def comparator_left(rule: Rule) -> str | None:
    if not isinstance(rule, AllRule):
        return None
    strict = any(
        r.kind in _BOUNDS
        and (
            getattr(r, "comparator", None) in ("<", ">")
            # "greater than 18 years old, inclusive" (NCT05756322, fresh audit 85)
            or getattr(r, "min_inclusive", True) is False
            or getattr(r, "max_inclusive", True) is False
        )
        for r in rule.rules
    )
    word = any(isinstance(r, ManualRule) and _COMPARATOR_WORDS.search(r.reason) for r in rule.rules)
    return "a comparator word beside a strict bound was not read" if strict and word else None


# "Examples of disease that may be studied under this protocol include alpha-1 antitrypsin
# deficiency; …; and sarcoidosis" (NCT00001618, fresh audit 43): examples of who may come, not
# a requirement.
_EXAMPLES_OF = re.compile(
    r"(?i)\bexamples?\s+of\b|\b(?:that|which|who)\s+may\s+be\s+(?:studied|included|enrolled|"
    r"eligible|considered)\b|\bmay\s+include\b"
)


def examples_listed(text: str, rule: Rule) -> str | None:
    if not may_hold(text, ("exampl", "may")) or not any(
        r.kind in ("condition", "therapy") for r in _deep_leaves(rule)
    ):
        return None
    m = _EXAMPLES_OF.search(text)
    return (
        None if m is None else f"examples of who may take part ('{m.group(0)}'), not a requirement"
    )


# "It is our intention to remove as many … barriers as we reasonably can … Pregnant or nursing
# women may be limited in their participation in some aspects of the study." (NCT00106977,
# fresh audit 85): a note on how people take part, not a criterion
_PARTICIPATION_NOTE = re.compile(
    r"(?i)\bmay\s+(?:be\s+)?(?:limited|restricted)\s+in\s+(?:their|his|her)\s+participation\b"
    r"|\bin\s+some\s+(?:aspects|parts|portions)\s+of\s+the\s+(?:study|protocol|research)\b"
    r"|\bit\s+is\s+our\s+intention\b"
)


def participation_note(text: str, rule: Rule) -> str | None:
    if not may_hold(text, ("may", "some", "intention")):
        return None
    m = _PARTICIPATION_NOTE.search(text)
    return None if m is None else f"a note on taking part ('{m.group(0)}'), not a criterion"


# "ECOG performance status of 0,1 and 3" (NCT01054274, fresh audit 88): a set that skips a
# grade is a typo (for 0-1, 0-3?); the grammar refuses it whole, but a piece read alone
# ("ECOG 0,1") must not decide either
_PERF_SET = re.compile(
    r"(?i)\b(?:ecog|zubrod|who|performance\s+status|ps)\b\D{0,30}?"
    r"(?P<set>\d(?:\s*(?:,|/|and|or|&)\s*\d)+)\b"
)


def performance_gap(text: str, rule: Rule) -> str | None:
    if not any(r.kind == "performance" for r in _deep_leaves(rule)):
        return None
    for m in _PERF_SET.finditer(text):
        grades = sorted({int(d) for d in re.findall(r"\d", m.group("set"))})
        if any(b - a > 1 for a, b in pairwise(grades)):
            return f"a performance status set that skips a grade ('{m.group(0)}')"
    return None


def pregnant_or_lactating(rule: Rule) -> Rule:
    """ "Pregnant females and lactation." (NCT03793634, fresh audit 44): either state, never
    both at once as a requirement of the list."""
    if (
        isinstance(rule, AllRule)
        and len(rule.rules) == 2
        and {r.kind for r in rule.rules} == {"pregnancy", "breastfeeding"}
    ):
        return AnyRule(rules=rule.rules)
    return rule


# "Prior history of invasive breast cancer." in a breast cancer trial (NCT04722718, fresh audit
# 44): a past one of the trial's own kind of cancer is an earlier cancer, which the current one
# recorded may or may not be.
_GENERIC = frozenset(
    ["malignancy", "solid_tumor", "hematologic_malignancy", "lymphoma", "leukemia"]
)
_PRIOR_ONE = re.compile(r"(?i)\b(?:prior|previous|history|past)\b")


def prior_own_cancer(
    text: str, rule: Rule, section: Section, primary: tuple[str, ...]
) -> str | None:
    if not primary or not _PRIOR_ONE.search(text):
        return None
    for leaf, negative in compose._deciding_leaves(rule):
        if not isinstance(leaf, ConditionRule) or (section == "exclusion") == negative:
            continue
        own = next(
            (p for p in primary if p not in _GENERIC and _own_cancer_kind(p, leaf.condition)), None
        )
        if own is not None:
            return f"a prior cancer of the trial's own kind ({own}): this one, or an earlier one?"
    return None


def _own_cancer_kind(primary: str, cid: str) -> bool:
    """True when ``cid`` is a kind of the trial's own primary cancer (not a metastasis)."""
    return (
        cid != primary
        and vocab.condition_matches(primary, cid)
        and vocab.condition_matches("malignancy", primary)
        and not vocab.condition_matches("secondary_malignancy", cid)
    )


# "Absolute neutrophil count ≤ 1500/µL, platelet count ≥ 100,000/µL" (NCT03242551, fresh audit
# 46): among blood counts required at or above their limits, one bounded from above below its
# reference interval is a reversed sign, most often.
_COUNTS = frozenset(["neutrophils", "platelets", "hemoglobin", "wbc"])


def reversed_count(rule: Rule, section: Section) -> str | None:
    if section != "inclusion" or not isinstance(rule, AllRule):
        return None
    labs = [r for r in _leaves(rule) if r.kind == "lab" and getattr(r, "analyte", None) in _COUNTS]
    up = [r for r in labs if r.comparator in (">", ">=")]  # type: ignore[union-attr]
    for r in labs:
        if r.comparator in ("<", "<=") and up and compose.below_normal(r):  # type: ignore[union-attr]
            return "one blood count bounded from above beside the others (a reversed sign?)"
    return None


# "Creatinine > 1.6 mg/dl" beside "Hemoglobin >= 12 g/dl" and "Platelet Count >= 100000 /mm3"
# among the inclusions of an HIV trial (NCT00000391, fresh audit 58; "Serum creatinine ≥ 2.0
# mg/dl" beside "Absolute neutrophil count ≥ 1,000", NCT00000136): a kidney or liver value
# required above normal beside blood counts required at normal is a reversed sign, most often,
# unless the trial is about that organ.
_ORGAN = frozenset(
    ["creatinine", "bilirubin", "direct_bilirubin", "alt", "ast", "alkaline_phosphatase"]
)
_ORGAN_TITLE = re.compile(
    r"(?i)renal|kidney|nephr|dialysis|uremi|uraemi|hepat|liver|cirrho|cholesta|biliar|jaundice"
    r"|gilbert|impair|insufficien"
)


def reversed_organ_bounds(criteria: list[Criterion], title: str | None) -> list[Criterion]:
    """Inclusions asking for a kidney or liver value above normal beside counts at normal are
    evidence (record-level: the counts are other lines)."""

    def raised(r: Rule) -> bool:
        return (
            r.kind == "lab"
            and getattr(r, "analyte", None) in _ORGAN
            and r.comparator in (">", ">=")  # type: ignore[union-attr]
            and compose.above_normal(r)
        )

    def count_at_normal(r: Rule) -> bool:
        return (
            r.kind == "lab"
            and getattr(r, "analyte", None) in _COUNTS
            and r.comparator in (">", ">=")  # type: ignore[union-attr]
        )

    found = [
        k
        for k, c in enumerate(criteria)
        if c.section == "inclusion" and any(raised(r) for r in _leaves(c.rule))
    ]
    if not found or (title and _ORGAN_TITLE.search(title)):
        return criteria  # (most records)
    if not any(
        c.section == "inclusion" and any(count_at_normal(r) for r in _leaves(c.rule))
        for c in criteria
    ):
        return criteria
    out = list(criteria)
    why = "a kidney or liver value required above normal beside blood counts at normal (reversed?)"
    for k in found:
        out[k] = compose.as_evidence(criteria[k], why)
    return out


# "Coronary artery disease/myocardial infarction, acute coronary syndromes within the past 6
# months" (NCT00493818, fresh audit 46), "Ischemic heart disease within 6 months" (NCT02214004,
# fresh audit 47): a lasting coronary diagnosis (CAD since 2015) is "within 6 months" only if the
# window asks for a recent event or diagnosis, which the words leave open.
def state_among_events(rule: Rule) -> str | None:
    lasting = [
        r
        for r in _deep_leaves(rule)
        if isinstance(r, ConditionRule) and r.within is not None and r.condition in _LASTING
    ]
    if lasting:
        return "a lasting coronary diagnosis under a window: a recent event, or any?"
    return None


# diagnoses that stay on the list for life once made (angina, heart failure may come and go)
_LASTING = frozenset(["coronary_artery_disease", "ischemic_heart_disease"])


# "Any other malignant tumor has been diagnosed within 3 years before randomization" (NCT05077449,
# fresh audit 49): the window dates the diagnosis, not the disease's presence — a cancer found
# five years ago and still on the list was not diagnosed within three.
_DIAGNOSED_WITHIN = re.compile(
    r"(?i)\bdiagnos(?:ed|is|es)\b(?:\s+(?!within\b)[\w-]+){0,2}?\s+(?:within|in\s+the\s+"
    r"(?:past|last|previous|preceding|prior))\b"
)


def diagnosed_within(text: str, rule: Rule) -> Rule:
    """The windowed conditions of a line whose words date the diagnosis, dated by onset."""
    if "diagnos" not in text.lower() or not _DIAGNOSED_WITHIN.search(text):
        return rule

    def walk(r: Rule) -> Rule:
        if isinstance(r, AllRule | AnyRule):
            return type(r)(rules=[walk(c) for c in r.rules])
        if isinstance(r, NotRule):
            return r.model_copy(update={"rule": walk(r.rule)})
        if isinstance(r, ConditionRule) and r.within is not None:
            return r.model_copy(update={"onset": True})
        return r

    return walk(rule)


# "Brain metastases with clinically controlled neurologic symptoms." among the inclusions of a
# breast cancer trial (NCT04946864, fresh audit 52): metastases with a status are what a trial
# lets in, not what every patient must have — unless the trial is about them.
_SITE_METASTASES = frozenset(
    [
        "cns_metastases", "brain_metastases", "spinal_cord_metastases", "leptomeningeal_metastases",
        "liver_metastases", "bone_metastases",
    ]
)  # fmt: skip
_LET_IN_STATUS = re.compile(
    r"(?i)\b(?:controlled|stable|treated|asymptomatic|inactive|quiescent|non-?progressive)\b"
)


def metastases_let_in(
    text: str, rule: Rule, section: Section, primary: tuple[str, ...]
) -> str | None:
    """Why an inclusion requiring site metastases with a status is a permission, or None."""
    if section != "inclusion" or not _LET_IN_STATUS.search(text):
        return None
    sites = {
        r.condition
        for r in _leaves(rule)
        if isinstance(r, ConditionRule) and r.condition in _SITE_METASTASES
    }
    if not sites or any(
        vocab.condition_matches(s, p) or vocab.condition_matches(p, s)
        for s in sites
        for p in primary
    ):
        return None
    return "metastases with a status among the inclusions: allowed, or required?"


# "Adolescent participants: History of mood or psychotic disorder" (NCT03929263, fresh audit 54:
# the trial enrols the adolescents' mothers too): a line labelled for one group is that group's.
_GROUP_LABEL = re.compile(
    r"(?i)^\W*(?:(?:for\s+)?(?:adolescent|adult|pediatric|paediatric|child|infant|maternal|female"
    r"|male|older|younger|healthy|control|caregiver|parent)\s+(?:participants?|patients?"
    r"|subjects?|volunteers?)|(?:for\s+)?(?:adolescents|children|adults|mothers|fathers|infants"
    r"|caregivers|controls|healthy\s+volunteers))\s*(?:only)?\s*:"
)


# "Age 8 and under: clinically normal pulmonary function" then "Over age 8: FEV1 and FVC at
# least 50% predicted" (NCT00007813, fresh audit 58): an age group's label before a colon
_AGE_LABEL = re.compile(
    r"(?i)^\W*(?:(?:patients?|children|subjects?|participants?)\s+)?(?:"
    r"(?:age[ds]?\s+)?(?:over|under|above|below|older\s+than|younger\s+than|less\s+than|more\s+than"
    r"|[<>≤≥]=?)\s*(?:the\s+)?(?:age\s+(?:of\s+)?)?\d+"
    r"|age[ds]?\s+\d+(?:\s*(?:-|–|to)\s*\d+)?(?:\s*(?:years?|yrs?))?(?:\s+(?:and|or)\s+"
    r"(?:under|over|older|younger|above|below|less|more))?"
    r")(?:\s*(?:years?|yrs?|y)\b)?(?:\s+(?:old|of\s+age))?\s*[:：]\s*\S"
)


def group_label(text: str, rule: Rule) -> str | None:
    """Why a line labelled for one group decides nothing alone, or None."""
    if rule.kind == "manual":
        return None
    m = _GROUP_LABEL.match(text)
    if m is not None:
        return f"a line labelled for one group ('{m.group(0).strip()}')"
    m = _AGE_LABEL.match(text)
    if m is not None and any(r.kind != "age" for r in _leaves(rule)):
        return f"a line labelled for one age group ('{m.group(0)[:-1].strip()}')"
    return None


# "Patients with diabetic retinopathy and age-related macular degeneration." beside "Patients
# with vascular occlusive disease, central serous retinopathy, or rare/unknown retinal disease."
# (NCT00005784, fresh audit 58): a plural "patients with A and B" may name two groups
_PLURAL_WITH = re.compile(
    r"(?i)^\W*(?:patients|subjects|participants|individuals|people|children|adults|men|women)"
    r"\s+with\b"
)
_TOGETHER = re.compile(
    r"(?i)\b(?:both|co-?infect\w*|co-?existing|coexist\w*|concurrent|concomitant|together|combined"
    r"|as\s+well\s+as|and/or|along\s+with|plus)\b"
)


def distributive_plural(text: str, rule: Rule, section: Section) -> str | None:
    """An inclusion "Patients with A and B" of conditions only: each, or both?"""
    if section != "inclusion" or not isinstance(rule, AllRule) or not _PLURAL_WITH.match(text):
        return None
    leaves = _leaves(rule)
    if len(leaves) < 2 or not all(isinstance(r, ConditionRule) for r in leaves):
        return None
    if _TOGETHER.search(text) or " and " not in text.lower():
        return None
    return "'patients with A and B' may name two groups: each, or only those with both?"


# "Oncology, neuro-oncology, and stem cell transplant patients" (NCT05696899, fresh audit 77):
# a list before a plural population noun names groups, each of them a way in
_GROUPS_BEFORE = re.compile(
    r"(?i)^[^.;:]*(?:,|\band\b)[^.;:]*\b(?:patients|subjects|participants|cases"
    r"|survivors|recipients)\W*$"
)


def population_list(text: str, rule: Rule, section: Section) -> str | None:
    if section != "inclusion" or not isinstance(rule, AllRule) or _TOGETHER.search(text):
        return None
    if not any(isinstance(r, ConditionRule) for r in _leaves(rule)):
        return None
    if not _GROUPS_BEFORE.match(text):
        return None
    return "a list before 'patients' may name groups: any of them, or all?"


# "This study has been changed. The inclusion criteria reflects a change in … the required CD4
# and HIV levels." (NCT00001108, fresh audit 62): a note on the protocol's amendment names what
# changed, it asks nothing of the patient
_AMENDED = re.compile(
    r"(?i)^\W*(?:this|the)\s+(?:study|protocol|trial)\s+(?:has\s+been|was|is\s+being)\s+"
    r"(?:changed|amended|modified|revised|updated)\b"
)


def amendment_note(text: str, rule: Rule) -> str | None:
    if rule.kind == "manual" or not _AMENDED.match(text):
        return None
    return "a note on the protocol's amendment, not a criterion"


# An unread sentence that says for whom the rest holds ("For patients with hepatic metastases,
# …", "… applies only to …", "if abnormal, …"): the read part is one subgroup's (criterion).
SUBGROUP_SENTENCE = re.compile(
    r"(?i)\b(?:for|in|among)\s+(?:\w+\s+)?(?:patients|subjects|participants|those|women|men|"
    r"females|males|children|adults|cases)\b|\b(?:applies|apply|applicable|pertains)\s+"
    r"(?:\w+\s+)?to\b|\bif\s+(?:the\s+)?(?:patients?|subjects?|participants?)\s+(?:has|have)\b"
    # "… amylase < 1.5 × ULN. If abnormal, a pancreatic amylase < 45 U/L.": a second way in
    r"|\bif\s+(?:abnormal|elevated|increased|high|low|not\s+(?:normal|met|available))\b"
    # "…; if liver function abnormalities are due to hepatic metastasis, then AST and ALT ≤ 5 ×"
    r"|\bif\b[^.;]{0,80}?\b(?:due\s+to|attributable\s+to|secondary\s+to|caused\s+by)\b"
    # "ECOG 0 or 1. If ECOG … is an inappropriate performance measurement …, then Karnofsky
    # ≥ 70" (NCT04622774, fresh audit 39): another way in for some patients
    r"|\bif\b[^.;]{0,80}?\b(?:inappropriate|not\s+(?:possible|feasible|appropriate|applicable|"
    r"assessable|evaluable)|unable|cannot|can\s*not)\b"
    rf"|{FOR_A_CONDITION}"
    # "… These women will be excluded from the imaging portions of the protocol." (NCT00001178,
    # re-audit of session 27): only a part of the study
    r"|\b(?:portions?|parts?)\s+of\s+the\s+(?:protocol|study|trial)\b"
)


# "Adult patients diagnosed as having pleural thickening with or without pleural effusion"
# (NCT05701462, fresh audit 76): what follows is optional; split at its "or" it became "without
# pleural effusion", which passes everyone without one
_WITH_OR_WITHOUT = re.compile(r"(?i)\bwith(?:\s+or\s+|\s*/\s*)without\b")


def with_or_without(text: str, rule: Rule) -> str | None:
    if (
        rule.kind == "manual"
        or not may_hold(text, ("without",))
        or not _WITH_OR_WITHOUT.search(text)
    ):
        return None
    return "'with or without' makes what follows it optional"


# "BMI < 40 kg/m2 or > 27 kg/m2" (NCT01745471, fresh audit 77): an unread piece that is only a
# bound belongs to the variable before it (a range whose "and" became "or"), no alternative
_BOUND_ONLY = re.compile(r"^\s*(?:[<>≤≥=]|&[lg]t)")


def subjectless_bound(rule: Rule, section: Section) -> str | None:
    """Only a bound the other way from a read one, as an inclusion's alternative ("< 40 … or >
    27"): a repeat in another unit ("ANC ≥ 1500/µL or ≥ 1.5 × 10^9/L"), a range's end under
    ``all`` and an exclusion's "< 18 or > 35" stay sound."""
    if section != "inclusion" or not isinstance(rule, AnyRule):
        return None
    ways = {_WAY.get(getattr(r, "comparator", None) or "") for r in _leaves(rule)} - {None}
    for r in rule.rules:
        if isinstance(r, ManualRule) and r.reason.startswith("not understood: '"):
            said = r.reason.split("'", 1)[1]
            m = _BOUND_ONLY.match(said)
            if m and ways and _WAY.get(m.group(0).strip()[:1]) not in ways:
                return f"a bound with no subject ('{said.rstrip(chr(39))[:40]}') is its neighbour's"
    return None


_WAY = {"<": "down", "≤": "down", "<=": "down", ">": "up", "≥": "up", ">=": "up"}


# "Patient treated with miconazole" (NCT05687500, fresh audit 77, beside "continuous insulin IV
# administration"): with no tense or past word, the treatment may be the current one
_TREATED_WITH = re.compile(r"(?i)\btreated\s+with\b")
_TENSED = re.compile(
    r"(?i)\b(?:have|has|had|been|previously|prior|ever|history|past|before|within|last|preceding"
    r"|currently|current|concurrent|concurrently|ongoing)\b"
)


def tenseless_treated(text: str, rule: Rule, section: Section) -> str | None:
    if section != "exclusion" or not _TREATED_WITH.search(text) or _TENSED.search(text):
        return None
    if not any(r.kind == "therapy" and r.within is None for r in _leaves(rule)):  # type: ignore[union-attr]
        return None
    return "'treated with' gives no tense: the current treatment, or any ever given?"


def _age_reach(rule: Rule) -> tuple[float, float] | None:
    """The ages a part can hold (lowest bound, highest bound), or None if it asks more."""
    ages = [leaf for leaf in _leaves(rule) if leaf.kind == "age"]
    if not ages or any(
        leaf.kind != "age" and not (leaf.kind == "manual" and leaf.law == "qualifier")  # type: ignore[union-attr]
        for leaf in _leaves(rule)
    ):
        return None
    lows = [a.min if a.min is not None else float("-inf") for a in ages]  # type: ignore[union-attr]
    highs = [a.max if a.max is not None else float("inf") for a in ages]  # type: ignore[union-attr]
    return min(lows), max(highs)


def disjoint_ages(rule: Rule, section: str) -> Rule:
    """ "Age <18 and >55 years" under exclusions (NCT05696808, fresh audit 78): two age ranges
    no one is in at once, joined by "and", list who is excluded — either one, not both."""
    if section != "exclusion" or not isinstance(rule, AllRule) or len(rule.rules) != 2:
        return rule
    a, b = (_age_reach(r) for r in rule.rules)
    if a is None or b is None:
        return rule
    if a[1] < b[0] or b[1] < a[0]:
        return AnyRule(rules=rule.rules)
    return rule


def impossible_ages(rule: Rule, section: str) -> str | None:
    """ "age is ≤ 18 years old and ≥ 80 years old" under inclusions (NCT03792074, fresh audit
    80, an adult trial: a misprint for 18-80): age bounds that every patient must meet at once
    and no one can. The words say something else; a person reads them."""
    if section != "inclusion" or not isinstance(rule, AllRule):
        return None
    ages = [leaf for leaf in rule.rules if leaf.kind == "age"]
    lo = max((a.min for a in ages if a.min is not None), default=float("-inf"))  # type: ignore[union-attr]
    hi = min((a.max for a in ages if a.max is not None), default=float("inf"))  # type: ignore[union-attr]
    if len(ages) > 1 and hi < lo:
        return "age bounds no one meets at once (a misprint?)"
    return None


# a later item with a test result of its own: "HCV-positive", "HIV seropositive", "HBsAg carrier"
_OWN_RESULT = re.compile(r"(?i)[-\s](?:sero)?(?:positive|reactive|carriers?)$")


def status_beside_result(text: str, rule: Rule) -> str | None:
    """ "Active hepatitis B or HCV-positive subjects" (NCT06962865, fresh audit 83): "active"
    is read over the list, but an item that names its own test result ("HCV-positive": a cured
    infection stays antibody-positive) does not ask for an active one."""
    if "ACTIVE" not in text.upper() or not any(
        getattr(r, "active", None) for r in _leaves(rule) if r.kind == "condition"
    ):
        return None
    norm = grammar.normalise(text)
    toks = grammar.tokenize(norm)
    lead = next((i for i, t in enumerate(toks) if t.type in ("ACTIVE", "COND")), None)
    if lead is None or toks[lead].type != "ACTIVE":
        return None
    later = [t for t in toks[lead + 1 :] if t.type == "COND"][1:]
    said = next(
        (norm[t.start : t.end] for t in later if _OWN_RESULT.search(norm[t.start : t.end])), None
    )
    return None if said is None else f"'active' read over an item with its own result ('{said}')"


def graded_by_score(rule: Rule, section: str) -> str | None:
    """ "Evidence of hepatic cirrhosis with Child-Pugh score C." (NCT04855929, fresh audit 83):
    a Child-Pugh class grades a cirrhosis, so a class on record says there is one even where the
    diagnosis is not coded; the two and-ed would let such a patient through."""
    if section != "exclusion" or not isinstance(rule, AllRule):
        return None
    kinds = {r.kind for r in rule.rules}
    if {"condition", "child_pugh"} <= kinds:
        return "a Child-Pugh class and the diagnosis it grades, and-ed"
    return None


_PLANNED = re.compile(
    r"(?i)\b(?:prior\s+to|before|pending|awaiting|planned|scheduled\s+for|candidates?\s+for|"
    r"eligible\s+for|referred\s+for|undergoing)\s+(?:[\w-]+\s+){0,3}?(?:transplant\w*|"
    r"(?:stem\s+cell\s+)?mobili[sz]ation)\b"
)
_CONSENT = re.compile(
    r"(?i)\b(?:consent(?:s|ed|ing)?\s+to|agree[sd]?\s+to|willing\s+to|accept(?:s|ed)?\s+to)\b"
)


_IF_THEN = re.compile(
    r"(?i)\b(?:patients|subjects|participants|those|women|men)\s+(?:with|who\s+(?:have|had))\b"
    r"[^.;]{3,160}?\b(?:must|should|will\s+need\s+to|are\s+required\s+to)\b"
    r"(?!\s+(?:be\s+)?(?:excluded|eligible|allowed|included|permitted))"
)


# "Family history of breast cancer", "first-degree relative with ovarian cancer": a relative's
_RELATIVES = re.compile(
    r"(?i)\bfamil(?:y|ial)\s+(?:history|member)|\b(?:first|second)[- ]degree\s+relatives?\b|"
    r"\b(?:relatives?|mother|father|sister|brother|sibling)s?\s+(?:with|who|diagnosed)\b"
)


# "No history of prior malignancy … (Controls)" in a case-control trial (NCT00495235, fresh
# audit 39): a label naming the group the line is for.
_GROUP_IN_BRACKETS = re.compile(
    r"(?i)\(\s*(?:for\s+|in\s+)?(?:(?:healthy\s+)?controls?|cases?|healthy\s+(?:volunteers|subjects)"
    r"|(?:cohort|group|arm|part)\s+\w{1,3})(?:\s+only)?\s*\)\W*$"
)


# Conditions a criterion names that are not the patient's: (pattern, sections, concept the
# condition must fall under or None, why).
# * "… consolidation chemotherapy prior to mobilization and transplant": a transplant the trial
#   plans, which every candidate lacks.
# * "Subjects who consented to carry out serological tests HIV, HCV, HBV": what the tests look
#   for.
# * "Patients with a history of CHF or MI must have a normal ejection fraction" (inclusion):
#   whom the requirement is for; read as alternatives, CHF alone passed.
_BOTH = ("inclusion", "exclusion")
_NOT_THE_PATIENTS: tuple[tuple[re.Pattern[str], tuple[str, ...], str | None, str], ...] = (
    (_PLANNED, _BOTH, "transplant", "a procedure the trial plans, not one on record: '{}'"),
    (_CONSENT, _BOTH, None, "the conditions are the object of '{}', not the patient's"),
    (_IF_THEN, ("inclusion",), None, "a requirement for patients with the conditions named: '{}'"),
    (_RELATIVES, _BOTH, None, "the conditions are a relative's ('{}'), not the patient's"),
    (_GROUP_IN_BRACKETS, _BOTH, None, "a criterion of one group only ('{}')"),
)


def not_the_patients(text: str, rule: Rule, section: Section) -> str | None:
    """Why the conditions the rule decides on are not the patient's, or None."""
    conditions = [r.condition for r in _deep_leaves(rule) if r.kind == "condition"]  # type: ignore[union-attr]
    if not conditions:
        return None
    for pattern, sections, under, why in _NOT_THE_PATIENTS:
        if section not in sections:
            continue
        m = pattern.search(text)
        if m and (under is None or any(vocab.condition_matches(under, c) for c in conditions)):
            return why.format(m.group(0)[:80])
    return None
