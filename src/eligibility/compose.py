"""Composition laws: when a computable piece may decide a criterion that holds unread words.

A criterion is parsed into pieces; the pieces that the grammar reads become rules, the rest
``manual``. Joining them by the sentence's connective is sound only under these laws (written out
with examples in docs/parser.md, checked per law and section by tests/test_compose.py):

* ``separate`` — ``any[X, manual]`` / ``all[X, manual]`` where the unread part is another
  alternative (or requirement) of its own: it shares no modifier with X, so X decides alone
  when it is true (``any``) or false (``all``).
* ``qualifier`` — ``all[X, manual]`` where the unread words only narrow X ("symptomatic brain
  metastases", "After antiviral therapy, HBV DNA > 2000 IU/mL"): X is necessary.
* ``allowance`` — a later sentence lets patients in ("Treated brain metastases are eligible"):
  exclusion ``all[rest, manual]``, inclusion ``any[rest, manual]``.

The law that is *not* allowed is the silent one: an unread piece that carries a word of a
**scope class** — a time, a status, a severity, a setting, a test or finding, a subject other
than the patient, a cause — may reach its neighbours ("MI, stroke or other arterial events within
the past 6 months"; "AIDS-related infection or cancer"). Then no piece decides: the criterion is
``manual`` with the computable pieces kept as ``evidence`` for the reviewer (*assisted*).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from eligibility import vocab
from eligibility.model import (
    AllRule,
    AnyRule,
    ConditionRule,
    Criterion,
    ManualRule,
    NotRule,
    Rule,
    iter_rules,
)

Law = Literal["separate", "qualifier", "allowance"]

# Words that may scope over a neighbouring piece, by class. Matched as whole lower-case words of
# the unread piece; each class is what a reviewer is told ("time word 'within'").
# fmt: off
SCOPE_CLASSES: dict[str, frozenset[str]] = {
    "time": frozenset([
        "within", "last", "preceding", "recent", "recently", "current", "currently",
        "ongoing", "concurrent", "concurrently", "concomitant", "since", "before", "after",
        "during", "until", "month", "months", "week", "weeks", "day", "days", "year", "years",
        "hours", "period", "immediately", "later", "earlier", "regular", "regularly", "daily",
        "chronically",
    ]),
    "status": frozenset([
        "active", "inactive", "uncontrolled", "controlled", "unstable", "stable", "symptomatic",
        "asymptomatic", "untreated", "treated", "progressive", "progressing", "progression",
        # "… or meningeal metastasis with clinical symptoms" (fresh audit 55)
        "symptoms", "symptom",
        "refractory", "recurrent", "relapsed", "chronic", "acute", "resolved", "persistent",
        "residual", "unresolved", "decompensated", "compensated", "initial", "newly",
        "malignant",
        # "First episode schizophrenia, schizophreniform disorder or schizoaffective disorder"
        # (NCT00000374, fresh audit 61)
        "episode", "episodes",
        # "Uncontrollable pleural effusion or ascites" (NCT05697237, fresh audit 75)
        "uncontrollable", "intractable", "worsening",
    ]),
    "severity": frozenset([
        "severe", "significant", "significantly", "clinically", "serious", "grade", "moderate",
        "terminal", "end-stage", "advanced-stage", "debilitating",
        "mild", "major", "life", "threatening", "requiring", "require", "requires", "need",
        "needing", "needs", "necessitating", "hospitalization", "hospitalisation", "relevant",
        "hospitalized", "hospitalised", "intervention",
        # "Massive pericardial, pleural effusion, or ascites" (NCT00190476, fresh audit 78)
        "massive", "extensive", "gross",
        # "Obvious bullae, pneumothorax and pleural effusion" (NCT05706467, fresh audit 79)
        "obvious", "marked", "overt",
    ]),
    "setting": frozenset([
        "metastatic", "adjuvant", "neoadjuvant", "setting", "line", "maintenance", "advanced",
        "stage",
        # "Localized mucocutaneous herpes simplex OR undisseminated varicella or zoster"
        # (NCT00001054, fresh audit 62): how far a disease has spread
        "disseminated", "undisseminated", "nondisseminated", "localized", "localised",
        "generalized", "generalised", "widespread",
        # where and when it is seen dates every item ("… at presentation", "in the ICU")
        "icu", "emergency", "presentation", "admission", "arrival", "triage",
    ]),
    "test": frozenset([
        "histologically", "histological", "histologic", "cytologically", "pathologically",
        "biopsy-proven", "proven",
        "ecg", "ekg", "electrocardiogram", "mri", "ct", "pet", "scan", "scans", "imaging",
        "radiograph", "radiographic", "radiological", "echocardiogram", "test", "tests", "tested",
        "testing", "evidence", "presence", "finding", "findings", "biopsy", "serology",
        "serologic", "serological", "pcr", "assay", "culture", "detectable", "detected",
        "screening", "titer", "titre",
    ]),
    "subject": frozenset([
        "parent", "parents", "mother", "mothers", "father", "fathers", "partner", "partners",
        "spouse", "household", "contact", "contacts", "sibling", "siblings", "family", "relative",
        "relatives", "donor", "donors", "recipient", "recipients", "caregiver", "caregivers",
        "infant", "infants", "baby", "babies", "fetus", "offspring", "sexual",
    ]),
    "judgement": frozenset([
        "would", "could", "might", "interfere", "interferes", "interfering", "compromise",
        "compromises", "limit", "limits", "preclude", "precludes", "affect", "affects",
        "jeopardize", "jeopardise", "impair", "impairs", "opinion", "investigator", "affecting",
        "limiting", "impairing", "compromising", "precluding", "jeopardizing", "jeopardising",
    ]),
    "restriction": frozenset(
        ["only", "solely", "exclusively", "isolated", "sole", "arm", "arms", "cohort", "cohorts"]
    ),
    "source": frozenset([
        "allogeneic", "allogenic", "autologous", "syngeneic", "haploidentical", "xenogeneic",
        "allograft", "autograft",
    ]),
    "cause": frozenset([
        "related", "associated", "induced", "due", "secondary", "caused", "attributable",
        "attributed", "because", "defining", "leading", "resulting", "causing", "cause", "causes",
        "etiology", "aetiology", "origin",
        # "… antiviral, or antibiotic agents to treat oral candidiasis, herpes simplex, herpes
        # zoster …" (fresh audit 54): what a drug is given for, not the patient's exclusion
        "treat", "treating",
    ]),
    # "Osteoporosis, receiving biphosphonates" (fresh audit 52): a treatment that says which
    # patients with the condition are meant
    "treatment": frozenset(["receiving", "taking", "undergoing"]),
    # "History of other neurologic or psychiatric disease": other than the trial's own, over
    # the whole list (a pre-modifier: it reaches the items after it)
    "relative": frozenset(["other"]),
}
# fmt: on
_WORD = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")
# Words that open a post-modifier ("… within 6 months", "… on MRI", "… requiring treatment"):
# scope words after one reach back over the pieces before; scope words before one (or in a
# piece that starts with one: "In the past 12 months: …") reach forward over the pieces after.
# fmt: off
_TAIL = frozenset([
    "within", "in", "on", "at", "during", "after", "before", "since", "over", "for",
    "requiring", "requires", "required", "that", "which", "who", "whose", "with", "without",
    "by", "due", "related", "associated", "secondary", "induced", "following", "from",
    "despite", "under", "as", "when", "while", "where", "including", "such", "prior",
    "previously", "immediately", "leading", "resulting", "causing", "later", "earlier",
    "affecting", "limiting", "impairing", "compromising", "precluding", "interfering",
    # "TIA or stroke is attributed to …", "… damage thought to be caused by Histoplasma" (fresh
    # audit 49): the cause trails its head, so it reaches back over the list
    "caused", "attributed", "attributable", "thought", "believed",
    # "Kaposi's sarcoma or other malignancy likely to require chemotherapy …" (fresh audit 51)
    "require", "needing", "receiving", "taking", "undergoing",
])
# fmt: on


# A time that points into the trial ("planning to become pregnant during the study") does not
# narrow what the patient is now ("pregnant, breastfeeding, or planning …").
_FUTURE = re.compile(
    r"(?i)\b(?:during|throughout|within\s+the\s+(?:\w+\s+)?duration\s+of|for\s+the\s+duration"
    r"\s+of|until|through)\b[^.;]*"
    r"\b(?:study|trial|participation|treatment\s+period)\b|\bafter\s+the\s+last\s+dose\b"
)
_PAST = re.compile(r"(?i)\b(?:within|prior|before|last|preceding|previous|since|ago|past)\b")


_EXAMPLES = re.compile(
    r"(?i)\b(?:such\s+as|e\.\s?g\.|for\s+example|for\s+instance|like|including|i\.\s?e\."
    r"|(?:one|any|either)\s+of\s+the\s+following)\b"
)
_OTHER_LABEL = re.compile(r"(?i)^\W*other\s*:")


def example_start(text: str) -> str | None:
    """The example marker an unread piece starts with ("such as Crohn's disease"), or None."""
    m = _EXAMPLES.match(text.strip())
    return m.group(0).lower() if m else None


# "… defined … as 3 or more of the following criteria: …, HDL-C < 50 mg/dL" (NCT04257500, fresh
# audit 79): the items after a count are not alternatives of their own
_COUNT_LEAD = re.compile(
    r"(?i)\b(?:(?:[2-9]|two|three|four|five|six)\s+(?:or\s+more\s+)?(?:of\s+the\s+following|of"
    r"\s+these))\b"
)
_WINDOW_AFTER = re.compile(
    r"(?i)\b(?:less|more|fewer|greater|longer|shorter)\s+than\s+(?:\w+\s+){0,2}"
    r"(days?|weeks?|months?|years?|hours?)\s+(?:prior|before|ago|since|after|preceding)\b"
)
_PHASE_AFTER = re.compile(
    r"(?i)\b(active|inactive|acute|chronic|uncontrolled|stable|latent)\s+(?:period|phase|stage|state)\b"
)
# "BUN > 20 mg/dL and/or serum creatinine > 1.2 mg/dL unresolved with change in diet" (fresh
# audit 39): a status after the last item's value qualifies every value of the list
_STATUS_AFTER_VALUE = re.compile(
    r"(?i)\d[^;,()]{0,20}?\b(unresolved|persistent|persisting|sustained|repeated|uncorrected"
    r"|despite|confirmed)\b"
)
_REACTION_TO = re.compile(
    r"(?i)\b(?:reactions?|allerg\w*|hypersensitivity|intolerance|sensitivity)\s+to\b"
)
_SIZE_AFTER = re.compile(
    r"(?i)(?:[<>≤≥]|more\s+than|greater\s+than|larger\s+than|less\s+than|at\s+least)\s*=?\s*"
    r"\d[\d.,]*\s*(?:l|liters?|litres?|ml|cm|mm)\b(?!\s*(?:/|hg\b|per\b))"
)
_STAGED = re.compile(
    r"(?i)^\W*(stage|class|classes|stages|type|types)\s*(?:[0-5]|[IV]{1,4})\b"
    r"(?:\s*(?:or|and|to|-|–|/|,)\s*(?:[0-5]|[IV]{1,4})\b)*\W*$"
)
_THAT_IS = re.compile(r"(?i)^\W*(?:that\s+is|i\.?\s?e\.?|namely|defined\s+as|meaning)\b")
_GRADED = re.compile(r"(?i)\b(?:ctcae\s+)?grade\s*(?:[≥>]=?\s*)?(?:\d|[IV]{1,3}\b)")
_DEFINING = re.compile(
    r"(?i)\b(?:positive|negative|positivity|defined|definition|dna|rna|titers?|titres?|antigen"
    r"|antibod(?:y|ies)|uln|lln)\b|[<>≤≥]"
)


def _scope_class(word: str) -> str | None:
    for part in word.split("-"):
        for name, words in SCOPE_CLASSES.items():
            if part in words:
                return name
    return None


# "as a result of", "as the result of": a cause, where "laboratory results" is none
_AS_A_RESULT = re.compile(r"(?i)\bas\s+(?:a|the)\s+(?:direct\s+)?result\s+of\b")


def scope_word(text: str) -> tuple[str, str] | None:
    """The first (class, word) of a scope class in ``text``, or None."""
    words = _WORD.findall(_AS_A_RESULT.sub("resulting from", text))
    for i, w in enumerate(words):
        cls = _scope_class(w.lower())
        if cls == "relative" and i == len(words) - 1:
            continue  # a bare "Other" (NCI's "Other:" label) modifies nothing
        if cls is not None:
            return cls, w.lower()
    return None


# "Individuals who had been hospitalised with complications of Diabetes mellitus, CKD, …"
# (NCT05696808, fresh audit 76): the subject and its verb open the piece, the words after them
# are its pre-modifiers, as in the bare "Hospitalised with complications of …"
_SUBJECT_CLAUSE = re.compile(
    r"(?i)^\W*(?:individuals|patients|subjects|participants|persons|people|those)\s+(?:with\s+|"
    r"(?:who|that)\s+(?:(?:have|has|had|are|is|were|was)\s+)?(?:been\s+)?)"
)
_WITH_VALUE = re.compile(
    r"(?i)\W*\bwith\s+(?:an?\s+)?(?:[\w-]+\s+){0,4}?(?:[<>≤≥=]\s*|(?:of|above|below|over|under"
    r"|than)\s+[<>≤≥=]?\s*)\d+(?:[.,]\d+)?"
)
_SITE_AFTER = re.compile(
    r"(?i)\bof\s+the\s+(?:[\w-]+\s+){0,2}(?:tract|system|organs?|region)\b(?=\W*$)"
)
_SEEN_IN = re.compile(
    r"\b(?:in|at)\s+the\s+(?:ED|ER|ICU)\b|(?i:\bemergency\s+(?:department|room)\b)"
)


def reach(text: str) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
    """Scope words of an unread piece that reach forward and backward: (forward, backward).

    A hyphened compound ("AIDS-related infection") is a pre-modifier, so it reaches forward.
    """
    text = _AS_A_RESULT.sub("resulting from", _OTHER_LABEL.sub("", text))  # "Other:" heads a list
    words = [w.lower() for w in _WORD.findall(_SUBJECT_CLAUSE.sub("", text))]
    cut = next((i for i, w in enumerate(words) if w in _TAIL), len(words))
    forward = backward = None
    defined = _THAT_IS.match(text)
    if defined:
        # "History of heart failure, that is NYHA Class III-IV" (fresh audit 40): the piece
        # defines the one before it
        return scope_word(text), ("definition", defined.group(0).strip().lower())
    if cut == 0:  # "In the past 12 months: MI, …" leads; "…, that requires treatment" trails
        valued = _WITH_VALUE.match(text)  # "…, with an expression of CD70 … ≥ 10%" (NCT05703854)
        found = scope_word(text) or (("definition", valued.group(0).lower()) if valued else None)
        return found, found

    if ":" in text:  # "Any of the following within 6 months: MI, …": the lead-in reaches on
        head = text.rsplit(":", 1)[0]
        counted = _COUNT_LEAD.search(head)
        forward = scope_word(head) or (("count", counted.group(0).lower()) if counted else None)
    example = _EXAMPLES.search(text)
    if example and example.start() > 0:
        # "Terminal illness such as AIDS or cancer": the items after are examples of an unread
        # head, which qualifies them (terminal cancer), so none of them decides alone
        forward = forward or ("example", example.group(0).lower())
    paren = text.find("(")
    if paren >= 0:
        # "active hepatitis B or C (HBsAg positive and HBV DNA above the ULN)": a parenthesis
        # defines what comes before it, so its tests and statuses reach back
        close = text.find(")", paren)
        inner = text[paren : close if close > 0 else len(text)]
        m = _DEFINING.search(inner)
        backward = scope_word(inner) or (("test", m.group(0)) if m else None)
    for pattern, cls, group in _TRAILING:
        found = pattern.search(text)
        if found and found.start() > 0:  # a phrase after the last item reaches back over them
            backward = backward or (cls, found.group(group).lower())
    size = _SIZE_AFTER.search(text)
    if size:
        # "Pleural effusion or ascites > 1 liter" (fresh audit 42): a size or volume after the
        # last item may bound every item
        backward = backward or ("severity", size.group(0).strip().lower())
    status = _STATUS_AFTER_VALUE.search(text)
    if status:
        backward = backward or ("status", status.group(1).lower())
    staged = _STAGED.match(text)
    if staged:
        # "chronic kidney disease, stage 3 or 4" (fresh audit 44): a stage or class after the
        # condition narrows it
        backward = backward or ("setting", staged.group(1).lower())
    if _GRADED.search(text):
        # "…, or neurosensory deficits of grade 3 or worse": a grade at the end of a list grades
        # every item of it
        backward = backward or ("severity", "grade")
    seen = _SEEN_IN.search(text)
    if seen and seen.start() > 0:
        # "unstable angina or acute myocardial infarction in the ED" (NCT00534066, fresh audit
        # 64): where it is seen dates every item of the list
        backward = backward or ("setting", seen.group(0).lower())
    if words and words[-1] in ("setting", "settings"):
        # "an anthracycline and/or a taxane in either an adjuvant or metastatic setting"
        # (NCT04556292, fresh audit 60): "… setting" ends a phrase begun before the items
        backward = backward or ("setting", words[-1])
    future = _FUTURE.search(text) is not None and not _PAST.search(_FUTURE.sub(" ", text))
    for i, w in enumerate(words):
        cls = _scope_class(w)
        if cls is None or (cls == "time" and future):
            continue
        if cls == "relative" and i == len(words) - 1:
            continue  # a bare "Other" (NCI's "Other:" label) modifies nothing
        if i < cut or cls == "cause":
            # a cause word also reaches on: "malignancies related to HIV or solid organ
            # transplant" names the causes, not the patient's conditions
            forward = forward or (cls, w)
        if i >= cut:
            backward = backward or (cls, w)
    return forward, backward


def assisted(text: str, why: str, evidence: Rule) -> ManualRule:
    """A criterion no piece can decide: manual, with what was read kept as evidence."""
    snippet = text.strip() if len(text.strip()) <= 160 else text.strip()[:157] + "…"
    return ManualRule(reason=f"{why}: '{snippet}'", evidence=evidence)


def as_evidence(criterion: Criterion, why: str) -> Criterion:
    """The criterion made a review item that keeps its computable part as evidence."""
    kept = computable_part(criterion.rule)
    return criterion.model_copy(update={"rule": assisted(criterion.text, why, kept)})


def computable_part(rule: Rule) -> Rule | None:
    """``rule`` without its manual parts (None when nothing computable is left)."""
    if rule.kind == "manual":
        return None
    if isinstance(rule, AllRule | AnyRule):
        kept = [c for c in (computable_part(r) for r in rule.rules) if c is not None]
        if not kept:
            return None
        if len(kept) == 1:
            return kept[0]
        return type(rule)(rules=kept)
    return rule


def with_law(rule: Rule, law: Law) -> Rule:
    """Name the law under which ``rule``'s manual parts leave its computable parts deciding.

    Only manual parts inside all/any get one (a criterion that is manual as a whole needs none),
    and a part keeps the law it was given where it was made.
    """
    if not isinstance(rule, AllRule | AnyRule):
        return rule
    return type(rule)(rules=[_named(r, law) for r in rule.rules])


def _named(rule: Rule, law: Law) -> Rule:
    if isinstance(rule, ManualRule):
        return rule if rule.law is not None else rule.model_copy(update={"law": law})
    return with_law(rule, law)


def _deciding_leaves(rule: Rule, negative: bool = False):  # type: ignore[no-untyped-def]
    """(leaf, under a negation) for leaves that may decide: not inside an ``all`` with a
    manual sibling (there the manual part keeps the last word) and not evidence."""
    if isinstance(rule, AllRule):
        if any(r.kind == "manual" for r in rule.rules):
            return
        for r in rule.rules:
            yield from _deciding_leaves(r, negative)
    elif isinstance(rule, AnyRule):
        for r in rule.rules:
            yield from _deciding_leaves(r, negative)
    elif rule.kind == "not":
        yield from _deciding_leaves(rule.rule, not negative)  # type: ignore[union-attr]
    elif rule.kind != "manual":
        yield rule, negative


def _scales_joined(rule: Rule) -> bool:
    """An ``all`` that requires two different performance scales (ECOG and Karnofsky)."""
    if isinstance(rule, AllRule):
        scales = {r.scale for r in rule.rules if r.kind == "performance"}  # type: ignore[union-attr]
        if len(scales) > 1:
            return True
    if isinstance(rule, AllRule | AnyRule):
        return any(_scales_joined(r) for r in rule.rules)
    return False


def _sex_beside_unread(rule: Rule) -> bool:
    """An ``any`` that holds a sex rule and a manual part (an excluding alternative)."""
    if isinstance(rule, AnyRule):
        kinds = {r.kind for r in rule.rules}
        if "sex" in kinds and "manual" in kinds:
            return True
    if isinstance(rule, AllRule | AnyRule):
        return any(_sex_beside_unread(r) for r in rule.rules)
    return False


def undecidable(rule: Rule, section: str, primary: tuple[str, ...]) -> str | None:
    """Why a parsed rule must not decide although every piece was read, or None.

    * The trial's own disease would exclude: "No prior diagnosis of cancer" in a cervical
      cancer trial, "Have liver disease" in a hepatitis C trial (a concept that is, or holds,
      one of the conditions in the trial's title, on the excluding side).
    * An inclusion that asks for poor performance ("ECOG > 2"): read as written it fails every
      fit patient; such lines are most often typos for "≤", so a person decides.
    * An exclusion of normal values ("AST < 2.5 × ULN" under exclusions): a requirement filed
      under the wrong heading, read as written it excludes the healthy; the same for a life
      expectancy that keeps out those expected to live longest.
    """

    if _sex_beside_unread(rule):
        # "Any female patient known or found to be pregnant …" split at "or": a sex read
        # beside an unread alternative would exclude every woman; in an inclusion ("female
        # participants, age >/=18 years, advanced, inflammatory or early stage … cancer")
        # it would admit every woman
        return "a sex read beside an unread part: whom it names is in the unread words"
    if section == "inclusion" and _scales_joined(rule):
        # "Karnofsky greater than 70; ECOG 0 to 2": two scales that do not match are
        # alternatives (either record suffices), not two requirements
        return "two performance scales: alternatives, or both required?"
    for leaf, negative in _deciding_leaves(rule):
        excluding = (section == "exclusion") != negative
        if leaf.kind == "condition" and excluding:
            excepted = set(leaf.except_)  # type: ignore[union-attr]
            own = [
                p
                for p in primary
                if vocab.condition_matches(leaf.condition, p)  # type: ignore[union-attr]
                and not any(vocab.condition_matches(x, p) for x in excepted)
            ]
            if own:
                return f"the trial's own condition ({own[0]}) falls under it"
        if leaf.kind == "lab" and excluding and leaf.of is not None:  # type: ignore[union-attr]
            low = leaf.comparator in {"<", "<="}  # type: ignore[union-attr]
            if low == (leaf.of == "ULN"):  # type: ignore[union-attr]
                # "AST and ALT < 2.5 x ULN" in an exclusion list excludes the healthy: a
                # requirement filed under the wrong heading, most often
                return "an exclusion of normal values (a requirement filed under exclusions?)"
        if (
            leaf.kind == "lab"
            and section == "inclusion"
            and not negative
            and leaf.of == "ULN"  # type: ignore[union-attr]
            and leaf.comparator in {">", ">="}  # type: ignore[union-attr]
        ):
            # "Bilirubin >= 1.5 x upper limit of normal" required (the next line sends
            # patients with hepatic dysfunction to another study): most often a typo for "≤";
            # where a trial does ask for raised values (ALT in hepatitis B), a person confirms
            return "an inclusion that asks for a value above the normal range (a typo for '≤'?)"
        if (
            leaf.kind in {"lab", "vital", "measure"}
            and excluding
            and getattr(leaf, "of", None) is None
            and _normal_excluded(leaf)
        ):
            return "an exclusion of normal values (a requirement filed under exclusions?)"
        if leaf.kind == "performance" and excluding and _fittest(leaf):
            # "ECOG performance status ≤ 1." under exclusions excludes the fittest patients
            return "an exclusion of the fittest patients (a requirement filed under exclusions?)"
        if leaf.kind == "performance" and section == "inclusion" and not negative:
            top = 0 if leaf.scale == "ecog" else 100  # type: ignore[union-attr]
            allowed = leaf.allowed  # type: ignore[union-attr]
            lo, hi = leaf.min, leaf.max  # type: ignore[union-attr]
            fit = top in allowed if allowed else (lo is None or lo <= top <= (hi or top))
            if leaf.scale != "ecog":  # type: ignore[union-attr]
                fit = top in allowed if allowed else (hi is None or hi >= top) and (lo or 0) <= top
            if not fit:
                return "an inclusion that leaves out the fittest patients (a typo for '≤'?)"
        if leaf.kind == "life_expectancy" and excluding == (leaf.comparator in {">", ">="}):  # type: ignore[union-attr]
            # "Life expectancy at least 12 weeks" under exclusions, "Life expectancy ≤ 6
            # months" required: read as written they keep out the patients expected to live
            # longest (a requirement misfiled or a reversed sign, or a palliative population)
            return "asks for a short life expectancy (misfiled, a reversed sign, or palliative?)"
    return None


# Kinds that name what the patient has or had (not a measured value): read beside unread words
# in an inclusion, they are most often one of its alternatives
_NAMED_KINDS = frozenset(["condition", "therapy", "procedure", "pregnancy", "breastfeeding"])
_DIAGNOSIS_KINDS = frozenset(["condition", "therapy", "procedure"])


def named_beside_unread(rule: Rule, section: str) -> str | None:
    """Why an inclusion that joins a diagnosis or treatment to unread words must not decide.

    Under the ``separate`` law such a rule was wrong one time in five in the audits (52 of 234
    judged; 12 of 78 from fresh audit 54 on): the unread words were the diagnosis's
    alternatives ("Diagnoses: AML, MDS"; "Oncology, neuro-oncology, and stem cell transplant
    patients"), the trial's cohorts, or a qualifier the list shares ("… with an expression of
    CD70 ≥ 10 %"). So the diagnosis is the reviewer's evidence (law: scope, *assisted*).
    """
    if section != "inclusion":
        return None
    parts = list(iter_rules(rule))
    if not any(isinstance(r, ManualRule) and r.law == "separate" for r in parts):
        return None
    if any(r.kind in _NAMED_KINDS for r in parts):
        return "a diagnosis or treatment read beside unread words of an inclusion"
    return None


# An unread list end about what the patient plans or will do ("… or plans to become pregnant
# during the study", "… or poor compliance") is an alternative of its own: it carries no
# modifier over the items read.
_OWN_ALTERNATIVE = re.compile(
    r"(?i)^\W*not\s+understood:\W+(?:including|especially|particularly)\b|"
    r"\b(?:plans?|planning|intends?|intending|wish(?:es)?|wishing|desires?|wants?)\s+"
    r"(?:to|a|an|on|for|pregnan\w*)\b|\b(?:un)?willing\b|\bunable\b|\b(?:non-?)?complian\w*|"
    r"\brefus\w*|\bconsent\b"
)


_POST_MODIFIER = re.compile(
    r"(?i)\b(?:of|in|with|without|that|which|who|whose|requiring|required|requires|needing|"
    r"due|to|on|at|during|within|after|before|prior|for|from|by|per|upon|since|than|under|"
    r"involving|affecting|causing|leading|resulting|associated|related)\b|[(\[]|-related\b"
)
_REACHING_HEAD = re.compile(
    r"(?i)\b(?:allerg\w*|hypersensitivit\w*|intoleran\w*|contraindicat\w*)\W*'?\s*$"
)
# "Fasting plasma glucose (FPG) >126 mg/dL or history of diabetes": an unread value with its
# bound (and no scope word) is a test of its own, not a word on the items beside it
_MEASURED = re.compile(r"[<>≤≥]\s*=?\s*\d")
_WITH_JOINED = re.compile(r"(?i),\s*with(?:out)?\b")
_FIRST_WITH_VALUE = re.compile(
    r"(?i)[a-z]\s+with\s+[^']{0,40}?(?:[<>≤≥]|less\s+than|greater\s+than)\s*=?\s*\d"
)


def list_end_unread(text: str, rule: Rule, section: str) -> str | None:
    """Why an exclusion list whose first or last item is unread must not decide on the rest.

    A list's modifiers sit at its ends: "Uncontrollable pleural effusion or ascites",
    "Primary diagnosis of borderline personality disorder, major depressive disorder, …",
    "Cancer or other disease of the uterus", "malignancy or strong suspicion of malignancy that
    may alter the planned surgical approach". When the end item is the one not read, whether
    its words reach the items read is not known. Of the judged items of every ledger this law
    now takes (one sentence, ``any``, an unread first item, or an unread last item with words
    after its head, beside a diagnosis or treatment), 17 in 399 were wrong (7 in 87 from fresh
    audit 75 on); the shapes it leaves deciding were wrong 7 in 338 (a last item that modifies
    only itself, an example) and 1 in 76 (a middle item, a sentence of its own), as fully
    computable exclusions are; pregnancy lists 3 in 303 (none of them this shape). So a
    diagnosis or treatment read is evidence.
    """
    if section != "exclusion" or rule.kind != "any":
        return None
    if re.search(r"[.;]\s+\S", text.strip().rstrip(".;")):
        return None  # sentences of their own
    kids = rule.rules  # type: ignore[union-attr]
    unread = [
        k
        for k in (kids[0], kids[-1])
        if isinstance(k, ManualRule)
        and k.law == "separate"
        and k.reason.startswith("not understood")  # (not "suspected …: for a person to judge")
        and not _OWN_ALTERNATIVE.search(k.reason)
        and not (_MEASURED.search(k.reason) and scope_word(k.reason) is None)
        # a last item reaches back only by words after its head ("… of the uterus", "… that
        # may alter …"); "… or recurrent liver cancer" modifies itself
        and (
            k is kids[0]
            or _POST_MODIFIER.search(k.reason.partition(":")[2]) is not None
            # "History of anakinra or prednisone allergy" (NCT04844814, fresh audit 87): a
            # head noun that makes the items before it its objects
            or _REACHING_HEAD.search(k.reason) is not None
        )
    ]
    why = "an unread word at the end of the list may reach the items read"
    if not unread and _WITH_JOINED.search(text):
        # "Coagulant function abnormality (INR > 1.5 ULN, APTT > 1.5 ULN), with bleeding
        # tendency" (NCT03634059, fresh audit 85): ", with" qualifies, it lists nothing
        unread = [
            k for k in (kids[0], kids[-1]) if isinstance(k, ManualRule) and k.law == "separate"
        ]
        why = "', with' joins the pieces: one qualifies the other, they are no list"
    first = kids[0]
    if (
        isinstance(first, ManualRule)
        and first.law == "separate"
        and _FIRST_WITH_VALUE.search(first.reason)
        and any(r.kind in ("lab", "vital", "measure") for r in kids[1:])
    ):
        # "Unexplained anemia with hemoglobin < 10 percent or hematocrit less than 30 percent"
        # (NCT00002058, fresh audit 89): the condition before "with" qualifies every value
        return "the first item's 'with' may govern the values after it"
    if not unread or not any(r.kind in _DIAGNOSIS_KINDS for r in iter_rules(rule)):
        return None  # (a pregnancy list: 3 wrong in 303 judged, none of them this shape)
    return why


# "SBP ≥ 140mmHg or DBP ≥ 90mmHg in a sitting position on two measurements on two clinic visits"
# (NCT00134160, fresh audit 88): words after the last alternative's value may be how both are
# measured
_AFTER_VALUE = re.compile(
    r"[<>≤≥]\s*=?\s*\d[\d.,]*\s*(?:[^\s\d'][^\s']*)?\s+(?P<rest>(?:in|on|at|during|after|while|"
    r"measured|confirmed|taken|obtained|when)\b[^']{8,})"
)


def alternative_end_measured(rule: Rule, section: str) -> str | None:
    """Why an inclusion's alternatives must not decide when the last, unread, has words after
    its value that may say how every one of them is measured."""
    if section != "inclusion" or not isinstance(rule, AnyRule):
        return None
    last = rule.rules[-1]
    if not (isinstance(last, ManualRule) and last.law == "separate"):
        return None
    if not any(r.kind in ("lab", "vital", "measure") for r in rule.rules[:-1]):
        return None
    m = _AFTER_VALUE.search(last.reason)
    return None if m is None else "words after the last alternative's value may reach the others"


def window_in_qualifier(rule: Rule) -> str | None:
    """Why a condition read as present now must not decide beside an unread qualifier that holds
    a time word: "any active infection requiring systemic treatment by intravenous infusion
    within 14 days prior to the first administration" (NCT05690581, fresh audit 82) asks about
    an infection of the last 14 days, which "active" now does not cover. The condition is not
    necessary for the criterion, so the qualifier law does not hold."""
    for r in iter_rules(rule):
        if not isinstance(r, AllRule):
            continue
        # (only an "active" one: a present-tense one sends a resolved entry to review already)
        conds = [c for c in r.rules if isinstance(c, ConditionRule) and c.active and not c.within]
        quals = [
            m for m in r.rules if isinstance(m, ManualRule) and m.law == "qualifier" and m.reason
        ]
        if conds and any((scope_word(m.reason) or ("", ""))[0] == "time" for m in quals):
            return "a time word in the unread qualifier may reach the condition"
    return None


def _against_normal(leaf: Rule) -> tuple[float, float, float] | None:
    """(bound in the analyte's unit, lower limit, upper limit) of its reference interval."""
    a = vocab.analyte(getattr(leaf, "analyte", None) or getattr(leaf, "name", None) or "")
    if a is None or a.normal is None or leaf.value is None:  # type: ignore[union-attr]
        return None
    try:
        v = vocab.convert(leaf.value, leaf.unit or a.unit, a.unit, a.id)  # type: ignore[union-attr]
    except (vocab.UnitError, ValueError, ZeroDivisionError):
        return None
    return v, a.normal[0], a.normal[1]


def _normal_excluded(leaf: Rule) -> bool:
    """True when excluding on this bound excludes every value in the reference interval:
    "Hemoglobin > 9 g/dL" (9 is below it), "Creatinine < 2 mg/dL" (2 is above it)."""
    found = _against_normal(leaf)
    if found is None:
        return False
    v, lo, hi = found
    if leaf.comparator in {">", ">="}:  # type: ignore[union-attr]
        return v < lo
    return leaf.comparator in {"<", "<="} and v > hi  # type: ignore[union-attr]


def below_normal(leaf: Rule) -> bool:
    """True when an upper bound lies at or below the lower limit of the reference interval
    ("ANC ≤ 1500/µL"): every normal value fails it."""
    found = _against_normal(leaf)
    return found is not None and found[0] <= found[1]


def above_normal(leaf: Rule) -> bool:
    """True when a lower bound lies at or above the upper limit of the reference interval
    ("creatinine > 1.6 mg/dL", "ALT ≥ 2 × ULN"): every normal value fails it."""
    if getattr(leaf, "of", None) == "ULN" and leaf.multiple is not None:  # type: ignore[union-attr]
        return leaf.multiple >= 1  # type: ignore[union-attr]
    found = _against_normal(leaf)
    return found is not None and found[0] >= found[2]


def _fittest(leaf: Rule) -> bool:
    """True when a performance bound holds the best score (ECOG 0, Karnofsky 100)."""
    top = 0 if leaf.scale == "ecog" else 100  # type: ignore[union-attr]
    allowed, lo, hi = leaf.allowed, leaf.min, leaf.max  # type: ignore[union-attr]
    if allowed:
        return top in allowed
    return (lo is None or lo <= top) and (hi is None or hi >= top)


@lru_cache(maxsize=512)
def _group(concept_id: str) -> bool:
    """True for a concept with members ("malignancy" from a title's "cancer"): excepting it
    would except every member too (hepatocellular carcinoma from "Known liver disease" in a
    breast cancer trial, fresh audit 17)."""
    return any(
        c.id != concept_id and vocab.condition_matches(concept_id, c.id) for c in vocab.conditions()
    )


def except_own(rule: Rule, section: str, primary: tuple[str, ...]) -> Rule:
    """``rule`` with the trial's own conditions excepted where they are only a "may be" of an
    excluding condition ("Known liver diseases" in an HCC trial: liver cancer may be a liver
    disease, but the trial's own disease is not what the criterion is about)."""

    def walk(r: Rule, negative: bool) -> Rule:
        if isinstance(r, AllRule | AnyRule):
            return type(r)(rules=[walk(c, negative) for c in r.rules])
        if isinstance(r, NotRule):
            return r.model_copy(update={"rule": walk(r.rule, not negative)})
        if isinstance(r, ConditionRule) and (section == "exclusion") != negative:
            own = [
                p
                for p in primary
                if p not in r.except_ and not _group(p) and vocab.concept_may_be(r.condition, p)
            ]
            if own:
                return r.model_copy(update={"except_": [*r.except_, *own]})
        return r

    return walk(rule, False) if primary else rule


# "Active" of a tumour means untreated or progressing, which a problem list's status does not
# record: "active brain metastases" is the metastases and a judgement (law: qualifier).
_TUMOUR_ROOTS = ("malignancy", "cns_metastases", "liver_metastases", "bone_metastases")
# "Active" of a relapsing-remitting disease (IBD, lupus, rheumatoid arthritis) means a flare or
# disease activity, which a problem list's "active" (still diagnosed) does not say either.
_FLARING_ROOTS = ("autoimmune_disease",)
# "Active" of chronic coronary disease as a whole means ongoing ischaemia (angina, a recent
# infarct), not a stable I25.10 or a stent status still on the list (fresh audit 37,
# NCT00001428); the concepts themselves, not their members.
_ISCHAEMIC_ROOTS = ("ischemic_heart_disease", "coronary_artery_disease")


def _under(roots: tuple[str, ...], cid: str) -> bool:
    return any(
        vocab.condition_matches(root, cid) for root in roots if vocab.condition(root) is not None
    )


def judged_activity(cid: str) -> bool:
    """Whether "active" of this condition is a judgement (a tumour, a disease that flares)."""
    return _activity_judged(cid) is not None


def _activity_judged(cid: str) -> str | None:
    """What "active" of this condition means when a person must judge it, else None."""
    if _under(_TUMOUR_ROOTS, cid):
        return "a tumour (untreated, progressing)"
    if _under(_FLARING_ROOTS, cid):
        return "a disease that flares"
    if cid in _ISCHAEMIC_ROOTS:  # not angina or an infarct: their "active" is on the list
        return "coronary disease (ongoing ischaemia)"
    return None


def active_tumours(rule: Rule) -> Rule:
    """``rule`` with each ``active`` tumour condition read as all[condition, manual]."""

    if isinstance(rule, AllRule | AnyRule):
        return type(rule)(rules=[active_tumours(r) for r in rule.rules])
    if rule.kind == "not":
        return rule.model_copy(update={"rule": active_tumours(rule.rule)})  # type: ignore[union-attr]
    if isinstance(rule, ConditionRule) and rule.active:
        what = _activity_judged(rule.condition)
        if what is not None:
            note = ManualRule(reason=f"'active' of {what} is judged", law="qualifier")
            return AllRule(rules=[rule.model_copy(update={"active": None}), note])
    return rule


# Phrases after a list's last item that reach back over every item: (pattern, class, group).
_TRAILING: tuple[tuple[re.Pattern[str], str, int], ...] = (
    # "hepatitis B or C active period": a status after the last item, as "in active phase"
    (_PHASE_AFTER, "status", 1),
    # "glucocorticoids or ACTH less than one month prior to inclusion": a window dates them all
    (_WINDOW_AFTER, "time", 1),
    # "liver disease or cirrhosis with an elevated INR >1.4" (NCT05699902, fresh audit 77)
    (_WITH_VALUE, "definition", 0),
    # "malignancies or borderline tumors of the reproductive tract" (NCT05932082, audit 76)
    (_SITE_AFTER, "site", 0),
    # "asthma, hives or an allergic reaction to aspirin, ibuprofen …" (fresh audit 45): what
    # the reaction is to may be what the earlier items were a reaction to as well
    (_REACTION_TO, "cause", 0),
)
