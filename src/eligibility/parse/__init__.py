"""Free text → rules: the parser's layers, each a module with one job, in the order they run.

``record`` (a trial record's criteria, ids and spans) → ``criterion`` (one criterion's text,
sentence by sentence) → ``readings`` (one sentence: whole-sentence readings, else its chunks) →
``chunks`` (runs of chunks parsed longest-first, joined by their connective) → ``clauses``
(the Lark transformer: one clause's tree → a builder) → ``quantities`` (numbers, units, scores);
``base`` holds what they all share. Tokenising and the LALR tables are in ``eligibility.grammar``,
the composition laws in ``eligibility.compose``. Nothing is imported here, so that importing one
layer does not load the others.
"""
