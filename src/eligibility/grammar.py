"""Criterion text → token stream → LALR parse of short clause islands.

Why a lexicon tokeniser in front of Lark: criteria are free prose in which only a few islands
("ALT ≤ 3 × ULN", "ECOG 0-1") are computable. A master regex splits the text into words, numbers
and punctuation; a greedy longest-match over folded n-grams turns vocabulary terms (generated from
``eligibility.vocab``, the one source of truth) and the grammar's phrase table
(``eligibility.phrases``) into typed tokens; unknown words stay ``WORD``, which no grammar rule
accepts, so any clause containing one is not computable. The LALR parser (``criteria.lark``) is
built once and fed those tokens directly, which keeps a parse in the tens of microseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from operator import itemgetter
from typing import TYPE_CHECKING, NamedTuple

from lark import Lark, Token, Tree
from lark.exceptions import LarkError
from lark.lexer import Lexer

from eligibility import phrases, vocab
from eligibility.normalize import fold_text as fold_characters

if TYPE_CHECKING:
    from eligibility import tables

# --------------------------------------------------------------------------- normalisation

# Character folding (comparator variants, dashes, micro signs, superscript powers, markdown
# escapes, HTML entities, NFKC) is ``eligibility.normalize``'s, shared with ingest. What follows
# is only the tokeniser's own canonical spelling on top of it.
_CHARS = str.maketrans(
    {
        "µ": "u",  # unit spellings: "/µL" and "/uL" are one key
        "~": "-",  # "18~75": a range
        "`": "'",
        "·": ".",  # "1·5": a decimal point
        "⋅": "×",
    }
)
# (the digit or point before is matched and put back, not looked behind for: a pattern that
# starts with a character class is scanned for it at C speed)
_TIMES_BEFORE = re.compile(
    r"([\d.])\s*[xX×*]\s*(?=ULN|LLN|IULN|upper|lower|the\b|institutional|normal|10\s*\^)"
)
# Every run of spaces, tabs and line ends becomes one space; matching only the runs that change
# (two or more, or a lone tab or line end) leaves the many single spaces alone, which is faster.
_SPACE = re.compile(r"[ \t\r\n]{2,}|[\t\r\n]")


def normalise(text: str) -> str:
    """Canonical text for the tokeniser: ``normalize`` plus ">=" → "≥", "3xULN" → "3 × ULN".

    Superscripts become "^n" there *before* NFKC, which would turn "10⁹" into the misleading
    "109". Markdown escapes are removed ("\\>" → ">"); the caller learns of them via
    ``had_escapes``. Offsets are not kept: criterion spans come from the splitter, and reasons
    quote text.
    """
    text = fold_characters(text)
    # each step only where it has work (most criteria are ASCII, without "~", "`" or "=")
    if not text.isascii() or "~" in text or "`" in text:
        text = text.translate(_CHARS)
    if "=" in text:
        text = text.replace(">=", "≥").replace("=>", "≥").replace("<=", "≤").replace("=<", "≤")
    if "x" in text or "X" in text or "×" in text or "*" in text:  # what every match holds
        text = _TIMES_BEFORE.sub(r"\1 × ", text)
    if "  " in text or "\t" in text or "\n" in text or "\r" in text:  # (ditto: a run to fold)
        text = _SPACE.sub(" ", text)
    return text.strip()


def had_escapes(text: str) -> bool:
    """Markdown-escaped comparators mark pages whose superscripts were flattened ("\\>104")."""
    return "\\>" in text or "\\<" in text or "\\*" in text


# --------------------------------------------------------------------------- tokens


class Tok(NamedTuple):
    """One token: grammar type, payload (vocabulary id, comparator, number text), source offsets.

    A named tuple, not a frozen dataclass: every word becomes one, and tuples are 3× as cheap.
    """

    type: str
    value: str
    start: int
    end: int
    alt: tuple[tuple[str, str], ...] = ()  # other vocabulary readings of the same words


# A token's type and (type, value), read in C: the parser's scans over whole token lists use them
# (``map(TYPE, toks)``) where a Python loop would cost a step per token.
TYPE = itemgetter(0)
_TYPE_VALUE = itemgetter(0, 1)


@dataclass(frozen=True, slots=True)
class _Entry:
    type: str
    value: str
    exact: frozenset[str] | None  # case-sensitive short terms: the allowed raw spellings
    head: str | None = (
        None  # last word of a drug class name ("antibody"), for "PD-1, PD-L1 … antibody"
    )


@dataclass(frozen=True)
class Lexicon:
    entries: dict[str, list[_Entry]]
    prefixes: frozenset[str]
    anchors: frozenset[str]  # folded first words of anchor terms, for the pre-filter
    max_len: int


# Token types that name the variable they constrain ("ANC", "ECOG", "pregnant"): a clause holding
# one says what it is about. Anchors (what the pre-filter looks for) add the words that only
# point at one ("PS", "years old"); the chunker's self-named pieces add a bare sex.
NAMED_TYPES = frozenset(
    ["LAB", "VITAL", "MEASURE", "COND", "DRUG", "TARGET", "ECOG", "KPS", "CHILDPUGH", "AGE",
     "PREG", "BF", "SEXALL", "LIFE"]
)  # fmt: skip
_ANCHOR_TYPES = NAMED_TYPES | {"PS", "OLD"}
_VOCAB_PRIORITY = {"LAB": 0, "VITAL": 0, "MEASURE": 0, "COND": 1, "DRUG": 1, "TARGET": 2}
_VOCAB_TYPES = frozenset(_VOCAB_PRIORITY)
_ANALYTE_TYPES = frozenset({"LAB", "VITAL", "MEASURE"})
# Words the grammar reads itself: a vocabulary term starting with one is left to the grammar
# ("active tuberculosis" → ACTIVE COND; "other malignancy" → OTHER COND, which is relative to the
# trial's own disease and stays manual — never the unconditional "malignancy").
_GRAMMAR_LEADS = ("active ", "other ", "another ", "second ", "additional ")
_BASE_RE = re.compile(
    r"(?P<amb>\b[1-9]\d{0,2}(?:\.\d{3})+(?![\d.]))"
    r"|(?P<num>\d{1,3}(?:,\d{3})+(?![\d,])|\d+(?:\.\d+)?)"
    r"|(?P<word>(?:[^\W\d_]\.){2,}|[^\W\d_][\w']*)"
    r"|(?P<punct>≥ or =|≤ or =|and/or|>/|[^\w\s])"
)
_JOINERS = frozenset("-/.'")
_COMPACT = re.compile(r"[\s\-.'’]")  # a short term's spelling without spaces, hyphens, dots
_ANCHOR_WORD = re.compile(r"[^\W\d_][\w']*")


class _Folds(dict[str, str]):
    """Word → its folded key, kept: the corpus repeats its words (65,536 of them, a few MB).

    A dict, not ``lru_cache``: the tokeniser looks up every word, and ``folds[word]`` is the
    cheapest lookup Python has; a word not seen before is folded by ``__missing__``.
    """

    def __missing__(self, text: str) -> str:
        if len(self) >= 1 << 16:
            self.clear()
        key = self[text] = "" if text in {"-", ".", "'"} else vocab.fold(text) or text.lower()
        return key


_FOLDS = _Folds()
_fold_piece = _FOLDS.__getitem__


def _short(term: str) -> bool:
    return len(vocab.fold(term)) <= 4


def _phrase_entries() -> list[tuple[str, _Entry]]:
    out: list[tuple[str, _Entry]] = []
    for op, spec in phrases.CMP.items():
        out += [(p, _Entry("CMP", op, None)) for p, _ in phrases.split_phrases(spec)]
    for op, spec in phrases.CMP_POST.items():
        out += [(p, _Entry("CMP_POST", op, None)) for p, _ in phrases.split_phrases(spec)]
    for typ, spec in phrases.PHRASES.items():
        for p, payload in phrases.split_phrases(spec):
            exact = frozenset({p}) if p.isupper() and _short(p) else None
            out.append((p, _Entry(typ, payload or p.lower(), exact)))
    out += [(p, _Entry("FILLER", p, None)) for p, _ in phrases.split_phrases(phrases.FILLER)]
    return out


def _vocab_entries() -> list[tuple[str, _Entry]]:
    out: list[tuple[str, _Entry]] = []
    heads = ("antibody", "antibodies", "inhibitor", "inhibitors")

    def add(term: str, typ: str, value: str, head: str | None = None) -> None:
        exact = None
        if _short(term):
            compact = _COMPACT.sub("", term)
            exact = frozenset({compact, compact.upper()} if compact.isupper() else {compact})
        out.append((term, _Entry(typ, value, exact, head)))

    for a in vocab.analytes():
        typ = {"vital": "VITAL", "measure": "MEASURE"}.get(a.category, "LAB")
        for term in (a.name, *a.synonyms):
            add(term, typ, a.id)
    for c in vocab.conditions():
        for term in (c.name, *c.synonyms):
            if term.lower().startswith(_GRAMMAR_LEADS):
                continue  # grammar words: "active" sets ``active: true``, "other" → manual
            add(term, "COND", c.id)
    for d in vocab.drugs():
        for term in (d.name, *d.synonyms):
            words = term.split()
            head = words[-1].lower() if len(words) > 1 and words[-1].lower() in heads else None
            add(term, "DRUG", d.id, head)
            if head and len(words) == 2 and not words[0].lower().startswith("anti"):
                add(words[0], "TARGET", vocab.fold(words[0]))
    return out


@cache
def lexicon() -> Lexicon:
    """Folded n-gram → entries, from the vocabulary and the phrase table (see ``tables``)."""
    return _tables().lexicon


def _tables() -> tables.Built:
    from eligibility import tables

    return tables.built()


def build_lexicon() -> Lexicon:
    """The lexicon, built from the vocabulary and the phrase table (most of a second)."""
    entries: dict[str, list[_Entry]] = {}
    for term, entry in _vocab_entries() + _phrase_entries():
        pieces = [m.group(0) for m in _BASE_RE.finditer(normalise(term))]
        key = " ".join(_fold_piece(p) for p in pieces if _fold_piece(p))
        if not key:
            continue
        bucket = entries.setdefault(key, [])
        if entry not in bucket:
            bucket.append(entry)
    for bucket in entries.values():
        bucket.sort(key=lambda e: _VOCAB_PRIORITY.get(e.type, 3))
    prefixes = set()
    for key in entries:
        parts = key.split(" ")
        for i in range(1, len(parts)):
            prefixes.add(" ".join(parts[:i]))
    anchors = frozenset(
        key.split(" ")[0]
        for key, bucket in entries.items()
        if any(e.type in _ANCHOR_TYPES for e in bucket)
    )
    return Lexicon(entries, frozenset(prefixes), anchors, max(len(k.split(" ")) for k in entries))


# Units are recognised only directly after a number, so "s" or "cm" elsewhere stay words.
@cache
def _unit_re() -> re.Pattern[str]:
    return re.compile(_tables().unit_pattern, re.IGNORECASE)


@cache
def _unit_starts() -> frozenset[str]:
    return frozenset(_tables().unit_starts)


def _unit_spellings() -> set[str]:
    spellings: set[str] = set()
    for canonical, spec in vocab._load("units.yaml")["units"].items():
        for s in (canonical, *spec.get("spellings", ())):
            if s and s not in {"1", "ratio"}:
                spellings.add(s)
    return spellings


def unit_starts() -> str:
    """The ASCII characters a match of ``unit_pattern`` can start with after its spaces.

    Most numbers are followed by none ("18 years", "2 or more"): ``_number`` then skips the
    pattern, an alternation of some 240 spellings. Found by matching each character against each
    alternative's first character with the pattern's own flags, so nothing the pattern would
    match is skipped; a character beyond ASCII is always left to the pattern.
    """
    firsts = {s.lstrip()[0] for s in _unit_spellings()} | set("×x*1")  # + the sci and mangled
    pats = [re.compile(re.escape(f), re.IGNORECASE) for f in firsts]
    return "".join(c for c in map(chr, range(128)) if any(p.fullmatch(c) for p in pats))


def unit_pattern() -> str:
    """The regular expression (source) of the vocabulary's unit spellings after a number."""
    alts = []
    for s in sorted(_unit_spellings(), key=len, reverse=True):
        pat = (
            re.escape(s).replace(r"\ ", r"\s*").replace("/", r"\s*/\s*").replace(r"\^", r"\s*\^\s*")
        )
        alts.append(pat)
    sci = r"(?:[×x*]\s*)?10\s*\^\s*\d{1,2}\s*(?:cells\s*)?/\s*(?:L|l|uL|ul|mm3|mm\^3|mcL|cumm)"
    return (
        rf"\s*(?P<sci>{sci})(?![A-Za-z])|\s*(?P<mangled>\*\s*10(?:9|12)\s*/\s*[lL])(?![A-Za-z])"
        rf"|\s*(?P<unit>{'|'.join(alts)})(?![A-Za-z0-9])"
    )


_TIME_RE = re.compile(
    r"\s*-?\s*(?P<u>days?|d|weeks?|wks?|w|months?|mos?|years?|yrs?|y|hours?|hrs?|h)\b\.?",
    re.IGNORECASE,
)
_TIME_UNITS = {"d": "days", "w": "weeks", "m": "months", "y": "years", "h": "hours"}
_POW_RE = re.compile(r"\s*(?:×\s*)?10\s*\^\s*(\d{1,2})(?!\s*(?:cells\s*)?/\s*(?:L|l|u|mm|mc))")
_BARE_POW = re.compile(r"\^\s*(\d{1,2})(?!\s*(?:cells\s*)?/)")  # "10^9" without a unit
_CP_SCORE = re.compile(r"[ABC](?:[5-9]|1[0-5])")


def tokenize(text: str) -> list[Tok]:
    """Typed tokens of a normalised criterion (see the module docstring). Fillers are dropped."""
    lex = lexicon()
    entries, prefixes, reach = lex.entries, lex.prefixes, lex.max_len + 4
    starters = _starters()
    # (every alternative of _BASE_RE is a named group: ``lastgroup`` is never None)
    base = [(m.lastgroup, m.group(), m.start(), m.end()) for m in _BASE_RE.finditer(text)]
    folds, _new = _FOLDS, tuple.__new__  # a token built without the named tuple's __new__
    folded = [folds[r] if k != "num" else r for k, r, _, _ in base]
    toks: list[Tok] = []
    cp_seen = False
    seen = 0  # which of the later passes have anything to do (bits of _LATER_PASSES, _ALT)
    i, n = 0, len(base)
    while i < n:
        kind, raw, start, end = base[i]
        if kind == "word" and not cp_seen:
            first = folded[i]
            if first not in starters:
                # most words: no term starts with them, so they are a WORD (or an article,
                # dropped), as the checks below would find one by one
                if raw.lower() not in _ARTICLES:
                    toks.append(_new(Tok, ("WORD", raw, start, end, ())))
                i += 1
                continue
        if kind == "num":
            i = _number(text, base, i, toks)
            continue
        if kind == "amb":
            toks.append(_new(Tok, ("AMBIG", raw, start, end, ())))
            i += 1
            continue
        if kind == "word" and cp_seen and (raw in {"A", "B", "C"} or _CP_SCORE.fullmatch(raw)):
            toks.append(
                _new(Tok, ("CPLETTER" if len(raw) == 1 else "CPSCORE", raw, start, end, ()))
            )
            i += 1
            continue
        if raw == "-":
            if i + 1 < n and base[i + 1][1].lower() in {"fold", "folds", "times"}:
                i += 1  # "2.5-fold": the dash belongs to the multiplier
                continue
            toks.append(_new(Tok, ("TO", "-", start, end, ())))
            i += 1
            continue
        best: tuple[int, _Entry, tuple[tuple[str, str], ...]] | None = None
        first = folded[i]
        if kind in {"word", "punct"} and first and (first in entries or first in prefixes):
            # (a word that neither names a term nor starts one is the common case: no walk)
            key = ""
            j = i
            gloss: tuple[int, int] | None = None  # base indices of "(" and ")" skipped inside
            while j < n and j - i < reach + (gloss[1] - gloss[0] + 1 if gloss else 0):
                piece = folded[j]
                if (
                    j > i
                    and base[j][0] == "punct"
                    and base[j][1] not in _JOINERS
                    and f"{key} {piece}" not in prefixes  # "(non-infectious) pneumonia"
                ):
                    close = _gloss_end(base, j) if gloss is None and key in prefixes else None
                    if close is None:
                        break
                    gloss = (j, close)  # "International normalised (…) ratio": look past it
                    j = close + 1
                    continue
                if piece:
                    key = f"{key} {piece}" if key else piece
                    bucket = entries.get(key, ())
                    for entry in bucket:
                        if entry.exact is not None:
                            compact = _COMPACT.sub("", text[start : base[j][3]])
                            if compact not in entry.exact:
                                continue
                        if gloss is not None and not _glosses_analyte(
                            entry, text[base[gloss[0]][3] : base[gloss[1]][2]]
                        ):
                            continue
                        alt = (
                            tuple(
                                (e.type, e.value)
                                for e in bucket
                                if e is not entry and {e.type, entry.type} <= _VOCAB_TYPES
                            )
                            if len(bucket) > 1
                            else ()
                        )
                        best = (j, entry, alt)
                        break
                    if key not in prefixes:
                        break
                j += 1
        if best is not None:
            j, entry, alt = best
            t_end = base[j][3]
            value = entry.value
            if entry.type == "DRUG" and entry.head:
                value = f"{value}#{entry.head}"
            if entry.type == "CHILDPUGH":
                cp_seen = True
            seen |= _LATER_PASSES.get(entry.type, 0) | (_ALT if alt else 0)
            # "Woman who is either pregnant or breast feeding" (NCT05692518): "either" opens the
            # alternatives that qualify her; it is no "or" between the woman and them
            either = entry.type == "OR" and value == "either" and toks and toks[-1][0] == "SEX"
            if entry.type != "FILLER" and not either:
                toks.append(_new(Tok, (entry.type, value, start, t_end, alt)))
            i = j + 1
            continue
        if kind == "word" and raw.lower() in _ARTICLES:
            pass
        elif kind == "punct" and raw in {":", ";"}:
            toks.append(_new(Tok, ("SEMI" if raw == ";" else "COLON", raw, start, end, ())))
        elif (
            kind == "punct"
            and raw == "."
            and (_genus_dot(toks, text, end) or _abbrev_dot(text, start))
        ):
            toks.append(
                _new(Tok, ("WORD", raw, start, end, ()))
            )  # "M. tuberculosis", "i.e.": no full stop
        elif kind == "punct" and raw == ".":
            toks.append(_new(Tok, ("STOP", raw, start, end, ())))
        else:
            toks.append(_new(Tok, ("WORD", raw, start, end, ())))
        i += 1
    # only vocabulary terms give those passes work: most criteria skip them (same tokens)
    if seen & _COND:
        toks = _ellipses(toks, text)
    return _glosses(toks) if seen & (_ALT | _LIMIT) else toks


_COND, _LIMIT, _ALT = 1, 2, 4
_ARTICLES = frozenset({"a", "an"})
_LATER_PASSES = {"COND": _COND, "ULN": _LIMIT, "LLN": _LIMIT}


@cache
def _starters() -> frozenset[str]:
    """Folded words that name or start a term: one look-up for the many words that do neither
    (no key or prefix is empty, so an empty fold is not one)."""
    lex = lexicon()
    return frozenset(lex.entries) | lex.prefixes


def _ellipses(toks: list[Tok], text: str) -> list[Tok]:
    """ "alcohol or drug abuse": a word before "or"/"and" shares the next condition's head noun.

    The word becomes that condition only when "word + head noun" is itself a vocabulary name of a
    condition ("alcohol abuse"); otherwise it stays an unknown word. When one concept means both
    (the same one, one under the other, or a group that is exactly the two: see
    ``vocab.condition_union``) the pair is one term ("active alcohol or drug abuse" → ACTIVE
    substance_abuse), so modifiers before it and qualifiers after it apply to the whole.
    """
    out = toks
    if not any(t.type == "COND" for t in toks):
        return toks  # the common case, decided in one pass
    k = -1
    while k + 3 < len(out):
        k += 1
        t, sep, cond = out[k], out[k + 1], out[k + 2]
        if t.type not in {"WORD", "HEAD"} or sep.type not in {"OR", "AND"} or cond.type != "COND":
            continue
        words = text[cond.start : cond.end].split()
        if len(words) < 2 or text[t.end : sep.start].strip() or text[sep.end : cond.start].strip():
            continue  # "CNS disease or brain metastases": a dropped word breaks the ellipsis
        word = _fold_piece(text[t.start : t.end])
        if word == _fold_piece(words[0]):
            # "active bleeding or bleeding diathesis" (NCT03591276, fresh audit 58): the word
            # the condition repeats is a term of its own, not an elided one
            continue
        key = f"{word} {_fold_piece(words[-1])}"
        entry = next((e for e in lexicon().entries.get(key, ()) if e.type == "COND"), None)
        before = out[k - 1] if k > 0 else None
        if (
            entry is None
            and before is not None
            and before.type in {"WORD", "HEAD"}
            and not text[before.end : t.start].strip()
        ):
            # "Recurrent Ovarian Epithelial or Primary Peritoneal Cancer" (NCT00006812, fresh
            # audit 62): two words share the head noun
            two = f"{_fold_piece(text[before.start : before.end])} {key}"
            entry = next((e for e in lexicon().entries.get(two, ()) if e.type == "COND"), None)
            if entry is not None and entry.exact is None:
                out = out if out is not toks else list(toks)
                out[k - 1 : k + 1] = [Tok("WORD", "", before.start, t.end)]
                k -= 1
                t = out[k]
        if entry is None or entry.exact is not None:
            continue
        out = out if out is not toks else list(toks)
        union = condition_union((entry.value, cond.value))
        if len(union) == 1:  # one concept means both: "alcohol or drug abuse" → substance abuse
            out[k : k + 3] = [Tok("COND", union[0], t.start, cond.end)]
        else:
            out[k] = Tok("COND", entry.value, t.start, t.end)
            if sep.type == "AND":
                # "Ischemic and hemorrhagic stroke patients": two kinds of one disease, and a
                # patient has either; read as both, every patient with one would fail
                out[k + 1] = Tok("OR", sep.value, sep.start, sep.end)
    return out


@lru_cache(maxsize=4096)
def condition_union(ids: tuple[str, ...]) -> tuple[str, ...]:
    """``vocab.condition_union``, kept: it walks the whole hierarchy, and the pairs repeat."""
    return tuple(vocab.condition_union(ids))


def _gloss_end(base: list[tuple[str, str, int, int]], j: int) -> int | None:
    """Index of the ")" closing a short parenthesis of words opened at ``base[j]``, if any."""
    if base[j][1] != "(":
        return None
    for c in range(j + 1, min(j + 7, len(base))):
        if base[c][1] == ")":
            return c if c > j + 1 else None
        if base[c][0] not in {"word", "punct"} or base[c][1] in "();,":
            return None
    return None


def _glosses_analyte(entry: _Entry, inner: str) -> bool:
    """Is ``inner`` (a parenthesis inside a term's words) a gloss of that analyte?

    Only one analyte term is allowed, and it must be the same analyte or a test named inside one
    of its names ("prothrombin time" of "prothrombin time INR"): "International standardization
    (prothrombin time) ratio" is the INR, never a prothrombin-time rule.
    """
    if entry.type not in _ANALYTE_TYPES:
        return False
    toks = tokenize(inner)
    if len(toks) != 1 or toks[0].type not in _ANALYTE_TYPES:
        return False
    if toks[0].value == entry.value:
        return True
    return _fold_key(inner) in _sub_phrases(entry.value)


def _fold_key(text: str) -> str:
    pieces = (_fold_piece(m.group(0)) for m in _BASE_RE.finditer(normalise(text)))
    return " ".join(p for p in pieces if p)


@cache
def _sub_phrases(analyte_id: str) -> frozenset[str]:
    """Every run of words inside the names of an analyte, folded."""
    a = vocab.analyte(analyte_id)
    out: set[str] = set()
    for term in (a.name, *a.synonyms) if a else ():
        words = _fold_key(term).split(" ")
        out |= {
            " ".join(words[x:y]) for x in range(len(words)) for y in range(x + 1, len(words) + 1)
        }
    return frozenset(out)


def _glosses(toks: list[Tok]) -> list[Tok]:
    """Parenthesised glosses that repeat the term they follow.

    * "ULN (upper limit of normal)": the repeated limit is dropped.
    * "Human immunodeficiency virus (HIV, HIV1/2 antibody)": inside a parenthesis after a
      condition (or an analyte), a term the vocabulary also lists as a name of *that* concept
      takes that reading — the diagnostic test named beside its condition is the condition.
    * "HIV antibody positive": a term that names both a test and a condition, followed by
      "positive"/"negative", is the condition (no lab rule reads "positive").
    """
    toks = _agree(toks)
    if not any(t.type in {"ULN", "LLN"} for t in toks):
        return toks
    out: list[Tok] = []
    k = 0
    while k < len(toks):
        t = toks[k]
        out.append(t)
        if (
            t.type in {"ULN", "LLN"}
            and k + 3 < len(toks) + 0
            and toks[k + 1].type == "LPAR"
            and toks[k + 2].type == t.type
            and toks[k + 3].type == "RPAR"
        ):
            k += 4
            continue
        k += 1
    return out


def _retyped(t: Tok, typ: str, value: str) -> Tok:
    return Tok(typ, value, t.start, t.end, ((t.type, t.value),))


def _agree(toks: list[Tok]) -> list[Tok]:
    """Give ambiguous vocabulary terms the reading their gloss head or "positive" demands."""
    if not any(t.alt for t in toks):
        return toks
    out = list(toks)
    for k, t in enumerate(out):
        if not t.alt:
            continue
        nxt = out[k + 1].type if k + 1 < len(out) else None
        if t.type != "COND" and nxt in {"POSITIVE", "NEGATIVE"}:
            cond = next((v for typ, v in t.alt if typ == "COND"), None)
            if cond is not None:
                out[k] = _retyped(t, "COND", cond)
                continue
        head = _gloss_head(out, k)
        if head is not None and head.type != t.type and (head.type, head.value) in t.alt:
            out[k] = _retyped(t, head.type, head.value)
    return out


def _gloss_head(toks: list[Tok], k: int) -> Tok | None:
    """The vocabulary term a parenthesis holding ``toks[k]`` directly follows, if any."""
    j = k - 1
    while j >= 0 and toks[j].type in {"COMMA", "SLASH", "OR", "AND", *_VOCAB_TYPES}:
        j -= 1
    if j >= 1 and toks[j].type == "LPAR" and toks[j - 1].type in _VOCAB_TYPES:
        return toks[j - 1]
    return None


def _number(text: str, base: list[tuple[str, str, int, int]], i: int, toks: list[Tok]) -> int:
    """A number, its power of ten and its unit or time unit; returns the next base index."""
    _, raw, start, end = base[i]
    value = raw
    pos = end
    m = _POW_RE.match(text, pos)
    if m and raw != "10":
        value = f"{raw}e{m.group(1)}"
        pos = m.end()
    elif raw == "10" and text.startswith("^", pos):
        m2 = _BARE_POW.match(text, pos)
        if m2:
            value = f"1e{m2.group(1)}"
            pos = m2.end()
    toks.append(Tok("NUM", value, start, pos))
    at = pos
    while at < len(text) and text[at].isspace():  # the pattern's leading ``\s*``
        at += 1
    after = text[at : at + 1]
    u = (
        _unit_re().match(text, pos)
        if after and (after in _unit_starts() or after > "\x7f")
        else None
    )
    if u:
        if u.group("mangled"):
            canon = "10^12/L" if "12" in u.group("mangled") else "10^9/L"
            toks.append(Tok("MANGLED", canon, u.start("mangled"), u.end()))
            pos = u.end()
        else:
            utext = u.group("sci") or u.group("unit")
            canon = (
                None
                if utext.strip().startswith("G/") or utext.strip() == "mM"
                else vocab.unit(utext)
            )
            toks.append(Tok("UNIT" if canon else "WORD", canon or utext, u.start(0), u.end()))
            pos = u.end()
    else:
        t = _TIME_RE.match(text, pos)
        if t:
            unit_word = t.group("u").lower()
            canon = _TIME_UNITS.get(unit_word[0], "")
            if unit_word.startswith("mo") or unit_word == "m":
                canon = "months"
            toks.append(Tok("TIMEUNIT", canon, t.start("u"), t.end()))
            pos = t.end()
    j = i + 1
    while j < len(base) and base[j][2] < pos:
        j += 1
    return j


def has_anchor(text: str) -> bool:
    """Cheap pre-filter: any word that can start an anchor term, or a comparator symbol?"""
    if "≥" in text or "≤" in text or "<" in text or ">" in text:
        return True
    # word by word, so the search stops at the first anchor (most criteria name one early); the
    # loop is C's: ``map`` over the matches and the fold table, ``isdisjoint`` stopping early
    words = map(re.Match.group, _ANCHOR_WORD.finditer(text))
    return not lexicon().anchors.isdisjoint(map(_fold_piece, words))


# --------------------------------------------------------------------------- parser


class _Feed(Lexer):
    """Lark "lexer" that hands over the tokens we already made."""

    def __init__(self, conf: object) -> None:
        pass

    def lex(self, data):  # type: ignore[no-untyped-def,override]
        return iter(data)


def grammar_text() -> str:
    return resources.files("eligibility").joinpath("criteria.lark").read_text(encoding="utf-8")


@cache
def parser() -> Lark:
    """The LALR parser (see ``tables``: built once, then read from the user's cache)."""
    return _tables().parser


def build_parser() -> Lark:
    """The LALR parser, built from ``criteria.lark`` (a tenth of a second or more)."""
    return Lark(grammar_text(), parser="lalr", lexer=_Feed, start="start")


def clause_key(toks: list[Tok]) -> tuple[tuple[str, str], ...] | None:
    """What a parse of ``toks`` depends on (types and values); None when it cannot parse."""
    if not toks or not _NEVER.isdisjoint(map(TYPE, toks)):
        return None
    return tuple(map(_TYPE_VALUE, toks))


def parse_tokens(toks: list[Tok]) -> Tree | None:
    """Parse one clause island; None when the tokens are not a sentence of the grammar."""
    if not toks:
        return None
    for t in toks:
        if t.type in _NEVER:
            return None
    types = tuple(map(TYPE, toks))
    if types in _REFUSED:
        return None
    # ", except …": the comma only marks the exception; as a token LALR would read it as the
    # separator of a longer list of conditions and fail at "except"
    feed = [
        Token(t.type, t.value, start_pos=t.start, end_pos=t.end)
        for k, t in enumerate(toks)
        if not (t.type == "COMMA" and k + 1 < len(toks) and toks[k + 1].type == "EXCEPT")
    ]
    try:
        return parser().parse(feed)
    except LarkError:
        if len(_REFUSED) >= 16384:
            _REFUSED.clear()
        _REFUSED.add(types)
        return None


# Token types the parser refused. Whether LALR accepts a clause depends on its types alone (the
# tokens are fed as they are, matched by type), and a refused sequence recurs: about half of the
# refusals repeat one seen before.
_REFUSED: set[tuple[str, ...]] = set()


_GENUS_NEXT = re.compile(r" [a-z]{3,}")


def _genus_dot(toks: list[Tok], text: str, end: int) -> bool:
    """A single capital before ". lower-case word" abbreviates a genus (M. tuberculosis)."""
    last = toks[-1] if toks else None
    return (
        last is not None
        and last.end == end - 1
        and len(last.value) == 1
        and last.value.isupper()
        and _GENUS_NEXT.match(text, end) is not None
    )


# The dots of "i.e.", "e.g.", "vs." and "et al." end no sentence: "neuropathy, i.e., … of grade 3
# or worse" is one sentence whose grade reaches back.
# Nor does "etc." before a comma or a lower-case word ("radiotherapy, etc., 14 days or within 5
# half-lives … prior to dosing": the window is the same sentence's).
_ABBREV = re.compile(r"(?i)\b(?:i\.\s?e|e\.\s?g|vs|et\s+al)\.")
_ETC = re.compile(r"\b[Ee][Tt][Cc]\.(?=\s*(?:[,;)]|[a-z]))")
_ABBREV_LAST = frozenset("iegslcIEGSLC")


def _abbrev_dot(text: str, at: int) -> bool:
    before = text[at - 1 : at]  # every dot of _ABBREV and _ETC follows one of these letters
    if before.isascii() and before not in _ABBREV_LAST:
        return False
    lo, hi = max(0, at - 8), at + 5
    return any(
        m.start() <= at < m.end()
        for pattern in (_ABBREV, _ETC)
        for m in pattern.finditer(text, lo, min(len(text), hi + 8))
    )


_NEVER = frozenset({"WORD", "AMBIG", "SEMI", "STOP", "UNLESS", "AGO", "COLON"})
