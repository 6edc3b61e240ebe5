"""Read and split the whole shared corpus: criteria per second, counts, and any lost characters.

Usage: python bench/split_corpus.py [path/to/trials.jsonl]

Also counts the criteria still linked to a neighbour by a leading or trailing "or"/"and", the
criteria joined from several list items (and how many items they took), the plain lines that
only continue the line above (a bare number, a unit, a leading comparator) and the criteria
marked ``linked`` (to be read with their neighbour). Older versions of the splitter, without
``parts``/``linked``, report those as 0.
"""

from __future__ import annotations

import itertools
import re
import sys
import time
from collections import Counter
from pathlib import Path

from eligibility.ingest import RecordError, read_records
from eligibility.split import split_record


def default_corpus() -> Path:
    """``shared/corpus/trials.jsonl`` beside the repository (or beside any folder above it)."""
    here = Path(__file__).resolve().parent
    for folder in here.parents:
        candidate = folder / "shared" / "corpus" / "trials.jsonl"
        if candidate.exists():
            return candidate
    return here.parent.parent / "shared" / "corpus" / "trials.jsonl"


LINK_END = re.compile(r"(?i)\b(?:or|and|and/or)[\s;,.:]*$")
LINK_START = re.compile(r"(?i)(?:or|and)\b")
FRAGMENT = re.compile(
    r"(?i)(?:[-–~]?\s*\d+(?:[.,]\d+)?(?:\s*(?:-|–|~|to)\s*\d+(?:[.,]\d+)?)?\s*[.;,)]*"
    r"|\\?[<>≤≥=].*)"
)
MARKER = re.compile(r"\\?[-*+•·‣◦▪▫●○■□➢►–—]|\(?[0-9A-Za-z]{1,6}(?:\.[0-9]{1,3})*\\?[.)]")


def lost_characters(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> str:
    """Non-blank text of the block outside every segment that is not a list marker."""
    lost = []
    pos = start
    for s, e in [*spans, (end, end)]:
        lost += [t for t in text[pos:s].split() if not MARKER.fullmatch(t)]
        pos = max(pos, e)
    return " ".join(lost)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else default_corpus()
    t0 = time.perf_counter()
    records = [r for r in read_records(path) if not isinstance(r, RecordError)]
    t1 = time.perf_counter()
    kinds: Counter[str] = Counter()
    sections: Counter[str] = Counter()
    lost = 0
    links: Counter[str] = Counter(
        dict.fromkeys(
            [
                "ends with or/and",
                "starts with or/and",
                "joined criteria",
                "items in joined criteria",
                "continuation lines joined",
                "linked, not joined (manual)",
            ],
            0,
        )
    )
    for record in records:
        segs = split_record(record)
        for seg in segs:
            kinds[seg.kind] += 1
            if seg.kind != "criterion":
                continue
            sections[seg.section] += 1
            parts = getattr(seg, "parts", ())
            links["ends with or/and"] += LINK_END.search(seg.text) is not None
            links["starts with or/and"] += LINK_START.match(seg.text) is not None
            links["joined criteria"] += len(parts) > 1
            links["items in joined criteria"] += len(parts) if len(parts) > 1 else 0
            links["linked, not joined (manual)"] += bool(getattr(seg, "linked", False))
            lines = seg.text.split("\n")
            for prev, line in itertools.pairwise(lines):
                prev, line = prev.rstrip(), line.strip()
                if prev and prev[-1] not in ".;:!?" and FRAGMENT.fullmatch(line):
                    links["continuation lines joined"] += 1
        for block in record.blocks:
            spans = [(s.start, s.end) for s in segs if block.start <= s.start < block.end]
            if lost_characters(record.text, block.start, block.end, spans):
                lost += 1
    t2 = time.perf_counter()
    n = kinds["criterion"]
    print(f"records: {len(records)} read in {t1 - t0:.2f} s")
    print(f"segments: {dict(kinds)}; criteria by section: {dict(sections)}")
    print(f"split: {t2 - t1:.2f} s = {n / (t2 - t1):,.0f} criteria/s (single core)")
    print(f"blocks with unaccounted characters: {lost}")
    print("links: " + ", ".join(f"{k}: {v}" for k, v in links.items()))


if __name__ == "__main__":
    main()
