"""List the corpus criteria whose parsed rule changed since a revision, for reading.

  python bench/rule_diff.py REV [--out DIR] [--sample N --seed S] [--old DUMP] [--new DUMP]

Parses the shared corpus with REV (a temporary worktree) and with this checkout, then prints how
many criteria changed and how their class moved (computable / partial / assisted / manual), and
writes ``changed.jsonl`` (every change: text, old rule, new rule) and, with ``--sample``, a seeded
``sample.md`` to read against tests/data/audit/BRIEF.md. A criterion that was computable or
partial and is now wholly manual is listed apart (``lost.jsonl``): each needs a reason; a criterion
whose section or text is new (a split or heading moved it) is listed in ``added.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _corpus import classify, find_corpus  # noqa: E402  (a script beside its helper)


def _dump(src: Path, corpus: Path, out: Path) -> dict[tuple[str, str, str], dict]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    subprocess.run(
        [sys.executable, str(HERE / "_corpus.py"), str(corpus), str(out)], check=True, env=env
    )
    return _load(out)


def _load(path: Path) -> dict[tuple[str, str, str], dict]:
    items: dict[tuple[str, str, str], dict] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            it = json.loads(line)
            items[(it["nct"], it["section"], it["text"])] = it
    return items


def _show(rule: dict) -> str:
    return yaml.safe_dump(rule, sort_keys=False, allow_unicode=True, width=100).rstrip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rev")
    ap.add_argument("--corpus", default="../shared/corpus/trials.jsonl")
    ap.add_argument("--out", default="/tmp/rule-diff")
    ap.add_argument("--sample", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--old", help="a dump of REV made before (bench/_corpus.py), to reuse")
    ap.add_argument("--new", help="a dump of this checkout made before, to reuse")
    args = ap.parse_args(argv)
    corpus = find_corpus(args.corpus).resolve()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    top = Path(subprocess.check_output(["git", "rev-parse", "--show-toplevel"], text=True).strip())
    if args.old:  # the corpus takes minutes to parse: a dump of REV made earlier is reused
        old = _load(Path(args.old))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            wt = Path(tmp) / "old"
            subprocess.run(
                ["git", "worktree", "add", "-q", "--detach", str(wt), args.rev], check=True
            )
            try:
                old = _dump(wt / "src", corpus, out / "old.jsonl")
            finally:
                subprocess.run(["git", "worktree", "remove", "--force", str(wt)], check=True)
    new = _load(Path(args.new)) if args.new else _dump(top / "src", corpus, out / "new.jsonl")
    moves: Counter[tuple[str, str]] = Counter()
    changed, lost, added = [], [], []
    for k, it in new.items():
        before = old.get(k)
        if before is None:
            moves[("(new)", classify(it["rule"]))] += 1
            added.append({**it, "class": classify(it["rule"])})
            continue
        if before["rule"] == it["rule"]:
            continue
        a, b = classify(before["rule"]), classify(it["rule"])
        moves[(a, b)] += 1
        row = {**it, "old_rule": before["rule"], "old_class": a, "class": b}
        changed.append(row)
        if a in {"computable", "partial"} and b in {"manual", "assisted"}:
            lost.append(row)
    gone = len(set(old) - set(new))
    for name, rows in (("changed", changed), ("lost", lost), ("added", added)):
        with (out / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(old)} criteria before, {len(new)} now ({gone} texts no longer present)")
    print(f"{len(changed)} changed rules; class moves (before -> now):")
    for (a, b), n in sorted(moves.items(), key=lambda kv: -kv[1]):
        print(f"  {a:>10} -> {b:<10} {n}")
    print(f"{len(lost)} computable/partial became manual or assisted: {out / 'lost.jsonl'}")
    if args.sample:
        picked = random.Random(args.seed).sample(changed, min(args.sample, len(changed)))
        with (out / "sample.md").open("w", encoding="utf-8") as fh:
            for n, row in enumerate(picked, 1):
                fh.write(
                    f"## {n}. {row['nct']} {row['id']} ({row['section']}: "
                    f"{row['old_class']} -> {row['class']})\n"
                    + (f"Lead-in: {row['context']}\n" if row.get("context") else "")
                    + "> "
                    + row["text"].replace("\n", "\n> ")
                    + "\n\nBefore:\n```yaml\n"
                    + _show(row["old_rule"])
                    + "\n```\nNow:\n```yaml\n"
                    + _show(row["rule"])
                    + "\n```\n\n"
                )
        print(f"sample of {len(picked)} (seed {args.seed}): {out / 'sample.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
