"""Sentence assembly: a sentence cut at its top-level connectives, runs parsed longest-first.

What does not parse becomes a ``manual`` piece quoting the text. Pieces are joined by the
sentence's connective; when that is unclear, or an un-understood piece holds an exception or
condition, the whole sentence is ``manual``: a wrong computable rule is worse than none. The
composition laws the result is labelled with live in ``compose``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from operator import countOf

from eligibility import compose, grammar, vocab
from eligibility.grammar import Tok
from eligibility.model import ManualRule, Rule, SexRule, iter_rules
from eligibility.parse.base import Ctx, _first_at, _flat, _leaves, _manual, _words
from eligibility.parse.clauses import _distinct_cancers, _primary_cancer, _try

_SPLIT = frozenset({"COMMA", "AND", "OR", "ANDOR"})
# analytes that measure one thing: "Hemoglobin less than 12 g/dl and hematocrit less than 36%"
# joins two views of one anaemia
_ONE_MEASURE = (
    frozenset({"hemoglobin", "hematocrit"}),
    frozenset({"creatinine", "creatinine_clearance", "egfr"}),
)


def _unlike_counts(pieces: list) -> bool:  # type: ignore[type-arg]
    """Two or more lab limits of different measures ("WBC <2000/mm3 and Platelet count
    <50,000/mm3", NCT00826813, fresh audit 87): under an exclusion the "and" may list them."""
    analytes = {
        getattr(leaf, "analyte", None)
        for p in pieces
        if p.rule is not None
        for leaf in _leaves(p.rule)
        if leaf.kind == "lab"
    }
    analytes.discard(None)
    return len(analytes) > 1 and not any(analytes <= same for same in _ONE_MEASURE)


_CUES = frozenset(
    [
        "allowed",
        "allow",
        "allows",
        "eligible",
        "permitted",
        "permissible",
        "acceptable",
        "accepted",
        "selected",
        "enrolled",
        "included",
        "unless",
        "except",
        "excepting",
        "exceptions",
        "excluding",
        "however",
        "provided",
        "but",
        "exception",
        "exempt",
        "if",
        "when",
        # "SS patients cannot have sarcoidosis, HIV infection, or lymphoma"
        "cannot",
        # "HIV and HTLV-I negative": a negation after the list reaches back over all of it
        "negative",
        "seronegative",
        "negativity",
        "nonreactive",
        "non-reactive",
        "undetectable",
    ]
)
_MAX_RUN = 12
_HEAD_WORDS = (
    r"diseases?|disorders?|cancers?|carcinomas?|tumou?rs?|infections?|failure|insufficiency"
    r"|syndromes?|neoplasms?|malignanc(?:y|ies)|metastas[ie]s|lesions?|illness(?:es)?"
)
_HEAD = re.compile(rf"(?i)\b(?:{_HEAD_WORDS})\b")
# an unread item of organs alone ("Breast, Prostate, and Lung Cancer"): other cancers, not a
# qualifier of the read one ("ER positive, … HER2 negative breast cancer")
_SITES = (
    r"breast|lung|colon|colorectal|rectal|rectum|prostate|bladder|cervical|cervix|ovarian|ovary"
    r"|endometrial|uterine|gastric|stomach|pancreatic|pancreas|liver|hepatic|renal|kidney|thyroid"
    r"|esophageal|oesophageal|head and neck|anal|skin|brain|bone|testicular|melanoma"
)
_SITES_ONLY = re.compile(rf"(?i)^\W*(?:(?:{_SITES})(?:\W+(?:and|or|and/or))?\W*)+$")
_HEAD_LAST = re.compile(rf"(?i)\b(?:{_HEAD_WORDS})\W*$")
_SELF_NAMED = grammar.NAMED_TYPES | {"SEX"}


@dataclass(frozen=True, slots=True)
class _Piece:
    start: int
    end: int
    rule: Rule | None  # None: not understood
    reason: str | None = None


_RUNS_ON = frozenset(["restriction", "judgement", "subject"])
_LEADS_INTO = re.compile(
    r"(?i)\b(?:as\s+)?(?:evidenced|shown|manifested|demonstrated|defined)\s+by\b|\bsuch\s+as\b"
)
# "Hepatic disease, ALAT > 2 x normal." (NCT00497133, fresh audit 51): an unread piece that is
# a reading, right after a condition, may be that condition's definition
_READING_PIECE = re.compile(
    r"(?i)^\W*\(?[A-Za-z][\w/-]*(?:\s+[\w/-]+){0,3}?\s*(?:[<>≤≥]|=<|>=|greater\s+than|less\s+than"
    r"|above|below|more\s+than|over|under)\s*=?\s*\d"
)
_NEWLY = re.compile(r"(?i)\b(?:newly|recently|initially|first)\s+diagnosed\b")


# Words naming a tumour type, in a piece the grammar did not read.
_TUMOUR_WORD = re.compile(
    r"\b(?:cancers?|carcinomas?|tumou?rs?|neoplasms?|malignan\w*|leuka?emias?|\w*(?:sarc|lymph|"
    r"melan|myel|blast|gli|mesotheli|thym|ependym|astrocyt|germin|neurocyt)omas?)\b",
    re.IGNORECASE,
)


def _cancer_beside_unread_tumour(pieces: list[_Piece], unread: list[str]) -> bool:
    """True when a read piece is a primary cancer and an unread one names a tumour type too."""
    read = any(
        leaf.kind == "condition" and _primary_cancer(leaf.condition)  # type: ignore[union-attr]
        for p in pieces
        if p.rule is not None
        for leaf in _leaves(p.rule)
    )
    return read and any(_TUMOUR_WORD.search(t) for t in unread)


def _split(toks: list[Tok], at: frozenset[str]) -> list[tuple[list[Tok], list[Tok]]]:
    """Chunks at depth-0 separators: [(chunk tokens, separator tokens after it)]."""
    out: list[tuple[list[Tok], list[Tok]]] = []
    cur: list[Tok] = []
    seps: list[Tok] = []
    depth = 0
    for t in toks:
        if t.type == "LPAR":
            depth += 1
        elif t.type == "RPAR":
            depth = max(0, depth - 1)
        if depth == 0 and t.type in at:
            if cur:
                seps.append(t)
            continue
        if seps:
            out.append((cur, seps))
            cur, seps = [], []
        cur.append(t)
    if cur:
        out.append((cur, seps))
    return out


# A piece that starts by naming a population: another group beside the one read.
_GROUP_START = re.compile(
    r"(?i)^(?:healthy\s+|their\s+|the\s+)?(?:children|child|adolescents?|teenagers?|infants?|"
    r"newborns?|neonates?|toddlers?|minors?|boys|girls|men|women|males|females|adults?|"
    r"elderly|youths?|kids)\b"
    # "patients with Psoriasis and Patients with A topic dermatitis" (fresh audit 47)
    r"|^(?:patients|subjects|participants|individuals|persons|people|those)\s+(?:with|who|having)\b"
)


def _two_sexes(rule: Rule) -> bool:
    """ "Women aged 18-45 and men aged 18-60" read as one clause: two groups, not one."""
    found = {s.allowed[0] for s in _leaves(rule) if isinstance(s, SexRule) and len(s.allowed) == 1}
    return len(found) > 1


_ELIDED_BOUND = re.compile(
    r"(?i)^\W*(at\s+(?:least|most)|no\s+(?:more|less|greater|lower)\s+than|(?:greater|less|more|"
    r"lower|higher)\s+than|[<>≤≥]=?)\s*\d"
)
_BOUND_KINDS = frozenset(["lab", "measure", "vital", "life_expectancy"])
_OWN_BOUND = re.compile(
    r"[≤≥<>]|\b(?:less|greater|more|higher|lower)\s+than\b|\bat\s+(?:least|most)\b|\bno\s+more\b"
)


def _lower_word(word: str) -> bool:
    """Whether a comparator phrase bounds from below ("at least", "≥", "no less than")."""
    w = word.lower()
    return w.startswith((">", "≥", "at least", "greater", "more", "higher", "no less", "no lower"))


_AFTER_NUMBER = re.compile(r"\d[\d.,]*\s*(%|percent\b|[^\s,;()]+)")


def _same_unit(leaf: Rule, after: str) -> bool:
    """Whether the unread bound's unit is the read one's ("75%" and "25% of predicted")."""
    m = _AFTER_NUMBER.match(after)
    unit = getattr(leaf, "unit", None)
    if m is None or unit is None:
        return False
    said = "%" if m.group(1).lower() == "percent" else m.group(1)
    return said == unit or vocab.unit(said) == vocab.unit(unit)


def _lower(leaf: Rule) -> bool | None:
    if leaf.kind not in _BOUND_KINDS:
        return None
    comparator = getattr(leaf, "comparator", None)
    return None if comparator is None else comparator.startswith(">")


_OWN_QUALIFIER = re.compile(
    r"(?i)\s*(?:known|active|current|currently|suspected|evidence\s+of|presence\s+of|ongoing)\b"
)


def _chunked(toks: list[Tok], norm: str, ctx: Ctx, lo: int, hi: int) -> Rule:
    """The sentence cut at its top-level connectives, runs parsed longest-first."""
    chunks = _split(toks, _SPLIT)
    bad = [not grammar._NEVER.isdisjoint(map(grammar.TYPE, c)) for c, _ in chunks]
    pieces: list[_Piece] = []
    boundaries: list[list[Tok]] = []
    hidden: set[str] = set()  # connectives swallowed by merged unknown pieces
    i = 0
    while i < len(chunks):
        rule: Rule | None = None
        j_ok = i + 1
        if not bad[i]:
            limit = i + 1
            while limit < len(chunks) and limit - i < _MAX_RUN and not bad[limit]:
                limit += 1
            own = ctx
            if (
                i > 0
                and ctx.history
                and _OWN_QUALIFIER.match(norm, chunks[i - 1][1][-1].end)
                and any(t.type != "HIST" for t in chunks[i - 1][0])  # (not "History of or known")
            ):
                # "history of documented thrombosis (PE or DVT), or known coagulopathy" (fresh
                # audit 54): an item with its own qualifier is not under the list's "history of"
                own = replace(ctx, history=False)
            for j in range(limit, i, -1):
                run = [t for c, s in chunks[i:j] for t in (*c, *s)]
                run = run[: len(run) - len(chunks[j - 1][1])]
                rule = _try(run, own)
                if rule is not None and j > i + 1 and _two_sexes(rule):
                    rule = None  # "women aged 18-45 and men aged 18-60": one group a piece
                if rule is not None:
                    j_ok = j
                    break
        start = chunks[i - 1][1][-1].end if i > 0 else lo
        end = chunks[j_ok - 1][1][0].start if chunks[j_ok - 1][1] else hi
        if rule is None and pieces and pieces[-1].rule is None and not _has_or(boundaries[-1]):
            if any(t.type == "AND" for t in boundaries[-1]):
                hidden.add("and")
            pieces[-1] = _Piece(pieces[-1].start, end, None)  # merge adjacent unknown chunks
            boundaries[-1] = chunks[j_ok - 1][1]
        else:
            pieces.append(_Piece(start, end, rule))
            boundaries.append(chunks[j_ok - 1][1])
        i = j_ok

    for k in range(len(pieces) - 1):
        here, nxt = pieces[k], pieces[k + 1]
        if here.rule is not None and here.rule.kind == "sex" and nxt.rule is None:
            first = _first_at(toks, nxt.start)
            if first is not None and first.type == "SEX":
                # "Male and female smoking participants, …": "male" shares the noun the next
                # piece does not read; alone it would admit men only
                pieces[k] = _Piece(here.start, here.end, None)
        elif (
            nxt.rule is not None
            and nxt.rule.kind == "sex"
            and here.rule is None
            and any(t.type == "SEX" and here.start <= t.start < here.end for t in toks)
        ):
            # "gender includes female and male" (fresh audit 39): the sex the unread piece
            # names is the other half of the list; alone "male" would admit men only
            pieces[k + 1] = _Piece(nxt.start, nxt.end, None)

    def text_of(p: _Piece) -> str:
        return norm[p.start : p.end].strip(" ,;.:")

    grouped = _sex_groups(toks, pieces, norm, lo, hi)
    if grouped is not None:
        return grouped
    if all(p.rule is None for p in pieces):
        return _manual(norm[lo:hi].strip(" ,;.:"))
    unknown = [p for p in pieces if p.rule is None]
    for p in unknown:
        words = _words(text_of(p))
        if words & _CUES or _has_types(toks, p, {"EXCEPT", "UNLESS", "NOT", "IF"}):
            return _manual(
                norm[lo:hi],
                f"negation, exception or condition not understood: '{text_of(p)}'",
            )
    excepting = next(
        (k for k, p in enumerate(pieces[:-1]) if _has_types(toks, p, {"EXCEPT"})), None
    )
    if excepting is not None and any(p.rule is None for p in pieces[excepting + 1 :]):
        # "Active malignancy other than Kaposi's sarcoma, cutaneous basal cell carcinoma, or in
        # situ carcinoma of the cervix" (NCT00002131, fresh audit 62): an exception list with an
        # item not read; its other items would become exclusions of their own
        read = _flat("all", [p.rule for p in pieces if p.rule is not None])
        why = f"an exception list with an item not read ('{text_of(unknown[0])}')"
        return compose.assisted(norm[lo:hi], why, read)
    if any(p.rule is not None and p.rule.kind == "not" for p in pieces[:-1]):
        # "No diabetes or ALT > 3 × ULN": the negation may reach over what follows it
        return _manual(norm[lo:hi], f"scope of a negation unclear: '{norm[lo:hi].strip()}'")
    last = pieces[-1]
    if len(pieces) > 1 and last.rule is not None and last.rule.kind == "not":
        tail = [t for t in toks if last.start <= t.start < last.end]
        conds = any(
            leaf.kind == "condition"
            for p in pieces[:-1]
            if p.rule is not None
            for leaf in _leaves(p.rule)
        )
        if tail and tail[-1].type == "NEGATIVE" and conds:
            # "History of known HIV, Hepatitis B and Hepatitis C negative" (NCT00463073): a
            # negation after a list of conditions may reach back over all of it
            read = _flat("all", [p.rule for p in pieces if p.rule is not None])
            return compose.assisted(
                norm[lo:hi], "a negation after a list may reach all of it", read
            )
    kinds = set(hidden)
    for b, after in zip(boundaries[:-1], pieces[1:], strict=True):
        types = {t.type for t in b}
        if "OR" in types or "ANDOR" in types:
            kinds.add("or")
        elif "AND" in types and not (ctx.section == "exclusion" and _starts_other(toks, after)):
            kinds.add("and")
    if len(kinds) > 1:
        return _manual(
            norm[lo:hi], f"connective unclear (and/or at one level): '{norm[lo:hi].strip()}'"
        )
    ors = [k for k, b in enumerate(boundaries[:-1]) if {t.type for t in b} & {"OR", "ANDOR"}]
    if ors and any(
        any(t.type == "COMMA" for t in b) and not {t.type for t in b} & {"OR", "ANDOR"}
        for b in boundaries[ors[-1] + 1 : -1]
    ):
        # "female ≥ 18 years old, ECOG 0-2 or KPS ≥ 60, life expectancy > 12 weeks": an "or"
        # inside a comma list, not before its last item, joins its neighbours only
        read = _flat("all", [p.rule for p in pieces if p.rule is not None])
        why = "an 'or' inside a comma list: how far it reaches is unclear"
        return compose.assisted(norm[lo:hi], why, read)
    commas = sum(  # commas between items, not the one before the "or" ("X, or Y")
        any(t.type == "COMMA" for t in b) and not {t.type for t in b} & {"OR", "ANDOR"}
        for b in boundaries[:-1]
    )
    read_kinds = {p.rule.kind for p in pieces if p.rule is not None}
    demographic = bool(read_kinds & {"age", "sex"}) and any(p.rule is None for p in pieces)
    if (
        ctx.section == "inclusion"
        and kinds == {"or"}
        and commas
        and (len(read_kinds) > 1 or demographic)
    ):
        # "Women, aged 40 and over, at high risk, with a history of CVD or three or more risk
        # factors": requirements of different kinds listed with commas, the "or" only between
        # the last two; read as alternatives, any woman of any age would pass (so too with an
        # age beside unread pieces: "either gender, aged ≥ 18, with NA or with clinical
        # features …", fresh audit 43)
        read = _flat("all", [p.rule for p in pieces if p.rule is not None])
        why = "an 'or' at the end of a list of different requirements: how far it reaches"
        return compose.assisted(norm[lo:hi], why, read)
    if (
        ctx.section == "inclusion"
        and kinds == {"or"}
        and commas
        and pieces[0].rule is not None
        and pieces[0].rule.kind in _BOUND_KINDS
        and _OWN_BOUND.search(norm[pieces[-1].start : pieces[-1].end])
    ):
        # "INR ≤1.5×ULN, prothrombin time (PT) or … (APTT) ≤1.5×ULN" (NCT03994107, fresh audit
        # 61): a bound, then a list ending in "or" with a bound of its own: two requirements, the
        # second with two ways to meet it, or three alternatives?
        read = _flat("all", [p.rule for p in pieces if p.rule is not None])
        why = "a bound before a list ending in 'or' with its own bound: how far the 'or' reaches"
        return compose.assisted(norm[lo:hi], why, read)
    if kinds == {"or"}:
        kind = "any"
    elif kinds == {"and"}:
        kind = "all"
    else:
        kind = "all" if ctx.section == "inclusion" else "any"
    if kind == "all" and ctx.section == "exclusion" and len(pieces) > 1:
        listed = sum(any(t.type == "COMMA" for t in b) for b in boundaries[:-1])
        if listed and len(pieces) > 2:
            # "History of cardiovascular disease, diabetes mellitus, liver and kidney disease":
            # an excluding enumeration; each item excludes on its own
            kind = "any"
        elif any(
            p.rule is None or p.rule.kind in {"condition", "therapy"} for p in pieces
        ) or _unlike_counts(pieces):
            # "HIV and hepatitis B": a list of exclusions or one patient with both; which one
            # the "and" means is for a person
            read = _flat("all", [q.rule for q in pieces if q.rule is not None])
            return compose.assisted(
                norm[lo:hi],
                "'and' in an exclusion may list alternatives or join requirements",
                read,
            )
    if kind == "all" and ctx.section == "inclusion" and not kinds and commas:
        named = {
            leaf.condition  # type: ignore[union-attr]
            for p in pieces
            if p.rule is not None
            for leaf in _leaves(p.rule)
            if leaf.kind == "condition"
        }
        if len(named) > 1:
            # "Diagnosis: pemphigus vulgaris, pemphigus foliaceus, bullous pemphigoid"
            # (NCT02753777, fresh audit 87): diagnoses listed with commas alone name
            # alternatives far more often than one patient with all
            read = _flat("all", [q.rule for q in pieces if q.rule is not None])
            why = "diagnoses listed with commas alone: alternatives or all?"
            return compose.assisted(norm[lo:hi], why, read)
    if (
        kind == "all"
        and ctx.section == "inclusion"
        and _distinct_cancers(
            leaf.condition  # type: ignore[union-attr]
            for p in pieces
            if p.rule is not None
            for leaf in _leaves(p.rule)
            if leaf.kind == "condition"
        )
    ):
        # "ovarian cancer, non-small cell lung cancer, breast cancer, gastric cancer, etc.": a
        # list of tumour types in an inclusion names alternatives, not one patient with all
        read = _flat("any", [q.rule for q in pieces if q.rule is not None])
        return compose.assisted(norm[lo:hi], "tumour types listed as alternatives or both", read)
    if (
        kind == "all"
        and ctx.section == "inclusion"
        and _cancer_beside_unread_tumour(pieces, [text_of(p) for p in pieces if p.rule is None])
    ):
        # "Sarcomas: Rhabdomyosarcoma Ewing's sarcoma, …, Osteosarcoma, Other soft tissue
        # sarcomas": one tumour type read among unread ones is an alternative, not a requirement
        read = _flat("all", [q.rule for q in pieces if q.rule is not None])
        return compose.assisted(norm[lo:hi], "tumour types listed as alternatives or both", read)
    if kind == "all" and ctx.section == "inclusion":
        first_read = next(k for k, p in enumerate(pieces) if p.rule is not None)
        other = next(
            (
                p
                for p in pieces[first_read + 1 :]
                if p.rule is None and _GROUP_START.match(text_of(p))
            ),
            None,
        )
        if other is not None:
            # "participants ≥18 years of age and children 10-17 years of age", "Women and
            # children from three villages": the unread piece names another group, so what was
            # read is one group's requirement, not everyone's
            read = _flat(kind, [q.rule for q in pieces if q.rule is not None])
            why = f"another group in an unread part ('{text_of(other)[:60]}')"
            return compose.assisted(norm[lo:hi], why, read)
    timed = [
        leaf.within is not None  # type: ignore[union-attr]
        for p in pieces
        if p.rule is not None
        for leaf in _leaves(p.rule)
        if leaf.kind in {"condition", "therapy"}
    ]
    if len(set(timed)) > 1 and any(p.rule is None for p in pieces):
        # "acute MI, unstable angina, coronary artery disease or stroke within the last 3
        # months": with an item not read, the window was read on the last item only, though it
        # may reach the whole list
        read = _flat(kind, [q.rule for q in pieces if q.rule is not None])
        why = "a window read on some items of a list may reach the others"
        return compose.assisted(norm[lo:hi], why, read)
    for k, p in enumerate(pieces[:-1]):
        nxt = pieces[k + 1]
        if p.rule is not None or nxt.rule is None:
            continue
        if _HEAD.search(re.split(r"[:–—]|\s-\s", text_of(p))[-1]):
            continue  # (after a label: "Disease Characteristics - Breast, Prostate")
        # an exclusion's items are alternatives anyway: only a modifier can reach ("significant")
        tail = re.split(r"[:–—]|\s-\s", text_of(p))[-1]
        if ctx.section == "inclusion" and kind == "all":
            reaches = _SITES_ONLY.match(tail) is not None
        else:
            # (an inclusion's "or": "confirmed PIK3CA mutant advanced or metastatic breast
            # cancer", NCT05631795, fresh audit 52 — the modifiers qualify the read one too)
            reaches = compose.scope_word(text_of(p)) is not None
        if (
            reaches
            and _HEAD_LAST.search(text_of(nxt))
            and any(leaf.kind == "condition" for leaf in _leaves(nxt.rule))
        ):
            # "significant cardiorespiratory or cerebrovascular disease", "Breast, Prostate, and
            # Lung Cancer": the unread items share the read one's head noun, so they are its
            # alternatives and their modifiers may reach it
            read = _flat(kind, [q.rule for q in pieces if q.rule is not None])
            why = (
                f"an unread item shares its head noun ('{text_of(p)[:40]} … {text_of(nxt)[-30:]}')"
            )
            return compose.assisted(norm[lo:hi], why, read)
    for k, p in enumerate(pieces[1:], 1):
        prev = pieces[k - 1].rule
        m = _ELIDED_BOUND.match(text_of(p)) if p.rule is None and prev is not None else None
        if (
            m is not None
            and kind == "all"
            and any(
                _lower(leaf) == _lower_word(m.group(1))
                and _same_unit(leaf, text_of(p)[m.end() - 1 :])
                for leaf in _leaves(prev)  # type: ignore[arg-type]
            )
        ):
            # "FEV1 at least 75% and at least 25% of predicted" (fresh audit 55): a second
            # bound the same way on the same measure, unread, may correct or replace the one
            # read (not a range's other end: "≥ 40 kg and ≤ 110 kg")
            read = _flat(kind, [q.rule for q in pieces if q.rule is not None])
            why = f"another bound of the same measure unread ('{text_of(p)[:40]}')"
            return compose.assisted(norm[lo:hi], why, read)
    for k, p in enumerate(pieces):
        if p.rule is not None:
            continue
        forward, backward = compose.reach(text_of(p))
        before = any(q.rule is not None for q in pieces[:k])
        after = any(q.rule is not None for q in pieces[k + 1 :])
        if k == 0 and forward is None and backward and backward[0] in _RUNS_ON:
            # the first piece's tail runs on into the list: "Patients with medical conditions
            # that the only manifestation is hydrothorax, ascites, …"
            forward = backward
        if (
            k == 0
            and forward is None
            and backward
            and backward[0] in ("time", "status")
            and _LEADS_INTO.search(text_of(p))
        ):
            # "Exhibits dysregulation within the past six months as evidenced by 1) … suicide
            # attempt and/or 2) …" (fresh audit 44): the items show the head, and its window
            # or status is theirs
            forward = backward
        newly = _NEWLY.search(text_of(p)) if k == 0 and forward is None else None
        if newly:
            # "women with newly diagnosed with ovarian, primary peritoneal, or fallopian tube
            # cancer" (fresh audit 43): when it was diagnosed dates every item of the list
            forward = ("status", newly.group(0).lower())
        scoped = (backward if before else None) or (forward if after else None)
        if scoped is None and ((k == 0 and after) or (k == len(pieces) - 1 and before)):
            # "Uncontrollable pleural effusion or ascites", "liver disease or cirrhosis with an
            # elevated INR": the first item read but for words before it, or the last but for
            # words after it — words the grammar does not know, in the place of a modifier
            # shared by the list (compose: scope law, whatever the word)
            extra = _unread_modifier(toks, p, norm, ctx, first=k == 0)
            if extra:
                scoped = ("modifier", extra[:40])
        marker = compose.example_start(text_of(p)) if scoped is None and k > 0 else None
        if marker and after and _qualified(pieces[k - 1].rule, text_of(pieces[k - 1])):
            # "Active inflammatory bowel disease, such as Crohn's disease or ulcerative colitis"
            # (NCT05691010, fresh audit 82): the items after it are examples of the item
            # before, and its modifier ("Active") is theirs
            scoped = ("example", marker)
        if scoped is None and k > 0 and _READING_PIECE.match(text_of(p)):
            prev = pieces[k - 1].rule
            if prev is not None and all(leaf.kind == "condition" for leaf in _leaves(prev)):
                scoped = ("test", "a reading")  # what the reading after it may define
        if scoped is not None:
            # "MI, stroke or other arterial events within the past 6 months": the unread piece's
            # modifier may reach the pieces read, so none of them decides (compose: scope law)
            read = _flat(kind, [q.rule for q in pieces if q.rule is not None])
            return compose.assisted(
                norm[lo:hi],
                f"{scoped[0]} word '{scoped[1]}' in an unread part may reach the rest",
                read,
            )
    rules = [p.rule if p.rule is not None else _manual(text_of(p)) for p in pieces]
    return compose.with_law(_flat(kind, rules), "separate")


def _qualified(rule: Rule | None, text: str) -> bool:
    """Whether a read piece carries a modifier: a qualifier law part, or a scope word."""
    if rule is None:
        return False
    law = any(isinstance(r, ManualRule) and r.law == "qualifier" for r in iter_rules(rule))
    return law or compose.scope_word(text) is not None


def _unread_modifier(toks: list[Tok], p: _Piece, norm: str, ctx: Ctx, first: bool) -> str:
    """Words of an unread list end that leave a condition when dropped ("" when none do)."""
    own = [t for t in toks if p.start <= t.start < p.end]
    if len(own) < 2 or len(own) > 10:
        return ""
    cuts = range(1, len(own)) if first else range(len(own) - 1, 0, -1)
    for d in cuts:
        rule = _try(own[d:] if first else own[:d], ctx)
        if rule is not None and any(leaf.kind == "condition" for leaf in _leaves(rule)):
            span = norm[p.start : own[d].start] if first else norm[own[d].start : p.end]
            span = _ACRONYM.sub("", span).strip(" ,;.:")
            if not span or span[0] in "-/" or _words(span) <= _FILLER:
                # "Women with a history of breast …" (who, not which), "… B Viral infection" (the
                # head noun), "AIDS-related complex" (one word), "… (VT)" (its acronym)
                return ""
            return span
    return ""


# Words before a list that say whose or that it is recorded, not which of it is meant
# fmt: off
_FILLER = frozenset([
    "patient", "patients", "subject", "subjects", "participant", "participants", "individual",
    "individuals", "women", "woman", "men", "man", "those", "people", "persons", "person",
    "with", "who", "have", "has", "had", "having", "a", "an", "the", "any", "known", "history",
    "of", "there", "is", "are", "was", "were", "prior", "previous", "previously", "past",
    "diagnosis", "diagnosed", "documented", "suspected", "confirmed", "medical", "personal",
    "or", "and", "infection", "infections", "viral", "virus", "disease", "diseases", "etc",
    "excluded", "will", "be",
])
# fmt: on
_ACRONYM = re.compile(r"\(\s*[A-Z0-9-]{1,8}\s*\)")


def _sex_groups(toks: list[Tok], pieces: list[_Piece], norm: str, lo: int, hi: int) -> Rule | None:
    """ "Women aged 9-45 and men aged 9-15": one group per sex, each with its own limits.

    Read as one conjunction it would fail every patient; the groups are alternatives. When a
    group's piece is not read the criterion is assisted (no group decides for the others).
    """
    if countOf(map(grammar.TYPE, toks), "SEX") < 2:
        return None  # (most sentences name no sex, and none names two groups without both)
    sexes = [
        {t.value for t in toks if t.type == "SEX" and p.start <= t.start < p.end} for p in pieces
    ]
    named = [k for k, found in enumerate(sexes) if len(found) == 1]
    if len(named) < 2 or len({next(iter(sexes[k])) for k in named}) < 2:
        return None
    groups: list[list[_Piece]] = []
    for k, p in enumerate(pieces):
        if k in named or not groups:
            groups.append([p])
        else:
            groups[-1].append(p)

    def own_limits(p: _Piece) -> bool:
        if p.rule is None:
            return any(ch.isdigit() for ch in norm[p.start : p.end])
        return any(not isinstance(x, SexRule) for x in _leaves(p.rule))

    if not all(any(own_limits(p) for p in g) for g in groups):
        return None  # "Male and female patients, 18 years or older": one group, both sexes
    text = norm[lo:hi]
    rules: list[Rule] = []
    for g in groups:
        read = [p.rule for p in g]
        if any(r is None for r in read) or not any(
            isinstance(r, SexRule)
            for r in read
            for r in _leaves(r)  # type: ignore[arg-type]
        ):
            parsed = [r for p in pieces if (r := p.rule) is not None]
            return (
                compose.assisted(
                    text, "groups with their own limits, one not read", _flat("any", parsed)
                )
                if parsed
                else _manual(text)
            )
        rules.append(_flat("all", read))  # type: ignore[arg-type]
    return _flat("any", rules)


def _has_or(seps: list[Tok]) -> bool:
    return any(t.type in {"OR", "ANDOR"} for t in seps)


def _has_types(toks: list[Tok], piece: _Piece, types: set[str]) -> bool:
    """Does the piece hold a negation, exception or condition whose scope we cannot see?"""
    return any(
        t.type in types
        and piece.start <= t.start < piece.end
        and t.value != "in"
        and not (_starts_other(toks, piece) and _word_prefix(toks, k))
        for k, t in enumerate(toks)
    )


def _starts_other(toks: list[Tok], piece: _Piece) -> bool:
    """ "A, B and other C" closes an enumeration with a catch-all: "and" lists, it does not join."""
    first = _first_at(toks, piece.start)
    return first is not None and first.type == "OTHER" and first.start < piece.end


def _word_prefix(toks: list[Tok], k: int) -> bool:
    """ "and other non-biliary … components": "non" hyphened to its word is no negation there.

    Elsewhere it may be one ("Diabetes, non-compliant with treatment"), and it keeps a sentence
    manual whose chunks would otherwise be read apart ("Males or (non-pregnant) females must be
    at least 18 Years of age").
    """
    t = toks[k]
    if t.type != "NOT" or t.value.lower() != "non" or k + 1 >= len(toks):
        return False
    nxt = toks[k + 1]
    return nxt.value == "-" and nxt.start == t.end
