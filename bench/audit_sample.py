"""Draw a seeded sample of computable/partial corpus criteria for reading, and record verdicts.

  python bench/audit_sample.py sample --n 400 --seed 10 --batches 5 --out /tmp/audit
      writes batch-K.jsonl (one item a line) and batch-K.md (the same, for reading)
  python bench/audit_sample.py record --sample /tmp/audit/batch-1.jsonl \
      --verdicts /tmp/audit/verdicts-1.jsonl --ledger tests/data/audit/before.yaml
      adds the judged items (text, rule, verdict, why, patient, acceptable) to the ledger

Items already in any ledger file under tests/data/audit/ are never drawn again, so a fresh
sample after a fix is fresh. See tests/data/audit/BRIEF.md for how items are judged.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from _corpus import classify, find_corpus

LEDGER_DIR = Path(__file__).parent.parent / "tests" / "data" / "audit"


def key(item: dict) -> tuple[str, str, str]:
    return (item["nct"], item["section"], item["text"])


def ledger_keys() -> set[tuple[str, str, str]]:
    seen: set[tuple[str, str, str]] = set()
    for path in sorted(LEDGER_DIR.glob("*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            seen.add(key(item))
    return seen


def load_dump(path: str | None, corpus: Path) -> list[dict]:
    if path is None:
        path = "/tmp/eligibility-dump.jsonl"
        subprocess.run(
            [sys.executable, str(Path(__file__).parent / "_corpus.py"), str(corpus), path],
            check=True,
        )
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def as_text(item: dict) -> str:
    rule = yaml.safe_dump(item["rule"], sort_keys=False, allow_unicode=True, width=100)
    lines = [
        f"## {item['n']}. {item['nct']} {item['id']} ({item['section']}, {item['class']})",
        f"Title: {item['title']}",
    ]
    if item.get("context"):
        lines.append(f"Lead-in: {item['context']}")
    lines += [
        "Text:",
        "> " + item["text"].replace("\n", "\n> "),
        "Rule:",
        "```yaml",
        rule.rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def sample(args: argparse.Namespace) -> int:
    items = load_dump(args.dump, find_corpus(args.corpus))
    seen = ledger_keys()
    pool = [
        it
        for it in items
        if classify(it["rule"]) in {"computable", "partial"} and key(it) not in seen
    ]
    picked = random.Random(args.seed).sample(pool, min(args.n, len(pool)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    size = -(-len(picked) // args.batches)
    for b in range(args.batches):
        batch = picked[b * size : (b + 1) * size]
        with (out / f"batch-{b + 1}.jsonl").open("w", encoding="utf-8") as fh:
            for n, it in enumerate(batch, 1):
                it = {"n": n, "class": classify(it["rule"]), **it}
                fh.write(json.dumps(it, ensure_ascii=False) + "\n")
        with (out / f"batch-{b + 1}.md").open("w", encoding="utf-8") as fh:
            for n, it in enumerate(batch, 1):
                fh.write(as_text({"n": n, "class": classify(it["rule"]), **it}) + "\n")
    print(f"pool {len(pool)}, drew {len(picked)} (seed {args.seed}) into {args.batches} batches")
    return 0


def record(args: argparse.Namespace) -> int:
    with open(args.sample, encoding="utf-8") as fh:
        items = {json.loads(line)["n"]: json.loads(line) for line in fh}
    ledger = Path(args.ledger)
    entries = yaml.safe_load(ledger.read_text(encoding="utf-8")) if ledger.exists() else None
    entries = entries or []
    with open(args.verdicts, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            v = json.loads(line)
            it = items[v["n"]]
            entry = {
                "nct": it["nct"],
                "id": it["id"],
                "section": it["section"],
                "context": it.get("context"),
                "title": it.get("title"),
                "text": it["text"],
                "rule": it["rule"],
                "class": it["class"],
                "verdict": v["verdict"],
                "why": v.get("why", ""),
                "judged_by": args.by,
                "sample": args.label,
            }
            if v.get("category"):
                entry["category"] = v["category"]
            if v.get("patient"):
                entry["patient"] = v["patient"]
                entry["acceptable"] = v["acceptable"]
                if v.get("record"):  # the trial's text, for a line the record around it changes
                    entry["record"] = v["record"]
            entries.append({k: val for k, val in entry.items() if val is not None})
    ledger.write_text(
        yaml.safe_dump(entries, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8"
    )
    print(f"{ledger}: {len(entries)} items")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample")
    s.add_argument("--n", type=int, default=200)
    s.add_argument("--seed", type=int, default=10)
    s.add_argument("--batches", type=int, default=1)
    s.add_argument("--out", default="/tmp/audit")
    s.add_argument("--corpus", default="../shared/corpus/trials.jsonl")
    s.add_argument("--dump", help="a dump written by bench/_corpus.py (else one is made)")
    r = sub.add_parser("record")
    r.add_argument("--sample", required=True)
    r.add_argument("--verdicts", required=True)
    r.add_argument("--ledger", required=True)
    r.add_argument("--by", default="helper")
    r.add_argument("--label", default="before")
    args = ap.parse_args(argv)
    return sample(args) if args.cmd == "sample" else record(args)


if __name__ == "__main__":
    sys.exit(main())
