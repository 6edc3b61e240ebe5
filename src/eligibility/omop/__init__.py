"""Trials' rules as SQL over OMOP CDM tables, and the engines that run it.

``compiler`` builds one query per trial as a sqlglot AST (any dialect), ``mapping`` resolves the
extract's codes, units and names through the vocabulary, ``extract`` reads an extract (DuckDB
views; profiles for the Python evaluator), ``engines`` runs DuckDB, Spark or the evaluator,
``synth`` writes synthetic extracts and ``commands`` is the CLI. Importing this package imports
none of DuckDB, sqlglot or pyarrow: the modules that need them do.
"""
