"""OMOP concept ids read as the vocabulary's words, when the extract ships its concept tables.

A warehouse codes its rows by standard ``concept_id`` (LOINC measurements, SNOMED conditions,
RxNorm drugs) and keeps the local strings in ``*_source_value``. The vocabulary speaks LOINC,
ICD-10-CM and drug names, so with ``concept`` (and ``concept_relationship``, optionally
``concept_ancestor``) in the extract each table's term is taken from them, through
``vocabulary_id`` + ``concept_code`` and "Maps to", before the query or the profile reader sees
the row; the source columns fill what the concept tables leave open. Without ``concept`` the
source columns alone are read (as before). Either way the compiled query and ``--engine
python`` read the very same views, so they agree by construction; what the concept tables add
is only which string a row carries:

- measurement: the LOINC code of ``measurement_concept_id`` (or of the concept it "Maps to"),
  else ``measurement_source_value``; the unit ``unit_source_value``, else the UCUM code of
  ``unit_concept_id`` (a UCUM code with annotations the vocabulary may not read, so the
  warehouse's own spelling first);
- condition_occurrence: the ICD-10-CM (or ICD-10) code of ``condition_source_concept_id`` or
  ``condition_concept_id``, else ``condition_source_value``, else, for a SNOMED CT concept, the
  name of the vocabulary's concept ``snomed.yaml`` maps it to, else the SNOMED concept's name
  (read as free text, as a FHIR resource's display is);
- drug_exposure: the names of the RxNorm ingredients of ``drug_concept_id`` (itself, or by
  "RxNorm has ing", or ``concept_ancestor``, after "Maps to"; one row per ingredient), else
  ``drug_source_value``, else the drug concept's name;
- procedure_occurrence: ``procedure_source_value``, else the procedure concept's name.
"""

from __future__ import annotations

from functools import cache

from sqlglot import exp

from .sqlexpr import and_, col, string, values

# the concept-id columns read beside extract.COLUMNS (CDM v5.4 names)
CONCEPT_IDS: dict[str, dict[str, str]] = {
    "person": {},
    "measurement": {"measurement_concept_id": "BIGINT", "unit_concept_id": "BIGINT"},
    "condition_occurrence": {
        "condition_concept_id": "BIGINT",
        "condition_source_concept_id": "BIGINT",
    },
    "drug_exposure": {"drug_concept_id": "BIGINT"},
    "procedure_occurrence": {"procedure_concept_id": "BIGINT"},
}
VOCABULARY_TABLES: dict[str, dict[str, str]] = {
    "concept": {
        "concept_id": "BIGINT",
        "concept_name": "VARCHAR",
        "vocabulary_id": "VARCHAR",
        "concept_class_id": "VARCHAR",
        "concept_code": "VARCHAR",
    },
    "concept_relationship": {
        "concept_id_1": "BIGINT",
        "concept_id_2": "BIGINT",
        "relationship_id": "VARCHAR",
    },
    "concept_ancestor": {"ancestor_concept_id": "BIGINT", "descendant_concept_id": "BIGINT"},
}
ICD10 = ("ICD10CM", "ICD10")
RXNORM = ("RxNorm", "RxNorm Extension")


@cache
def snomed_names() -> tuple[tuple[str, str], ...]:
    """(SNOMED CT code, the vocabulary concept's name) from ``vocab/snomed.yaml``, the table
    FHIR input reads: a concept there is read by the name of the concept it means."""
    from .. import vocab
    from ..vocab.data import _load

    out = []
    for entry in _load("snomed.yaml")["codes"]:
        concept = vocab.condition(str(entry["concept"]))
        if concept is not None:
            out.append((str(entry["code"]), concept.name))
    return tuple(out)


def _eq(a: exp.Expression, b: exp.Expression) -> exp.Expression:
    return exp.EQ(this=a, expression=b)


def _concept(alias: str, on: exp.Expression, vocabularies: tuple[str, ...]) -> tuple:
    """A left join of ``concept`` as ``alias`` on concept id ``on`` in ``vocabularies``."""
    cond = _eq(col("concept_id", alias), on)
    if vocabularies:
        cond = and_(
            cond,
            exp.In(this=col("vocabulary_id", alias), expressions=[string(v) for v in vocabularies]),
        )
    return exp.alias_(exp.to_identifier("concept"), alias), cond


def _blank(e: exp.Expression) -> exp.Expression:
    return exp.Nullif(this=e, expression=string(""))


def _coalesce(*parts: exp.Expression) -> exp.Expression:
    return exp.Coalesce(this=parts[0], expressions=list(parts[1:]))


def _maps_to(alias: str, on: exp.Expression) -> tuple:
    rel = exp.alias_(exp.to_identifier("concept_relationship"), alias)
    return rel, and_(
        _eq(col("concept_id_1", alias), on),
        _eq(col("relationship_id", alias), string("Maps to")),
    )


def ingredients() -> exp.Expression:
    """(drug concept id, ingredient name): an RxNorm ingredient is its own; a drug has those
    it names by "RxNorm has ing" or below which ``concept_ancestor`` puts it."""
    is_ingredient = and_(
        exp.In(this=col("vocabulary_id", "i"), expressions=[string(v) for v in RXNORM]),
        _eq(col("concept_class_id", "i"), string("Ingredient")),
    )
    own = (
        exp.select(col("concept_id", "i").as_("drug"), col("concept_name", "i").as_("name"))
        .from_(exp.alias_(exp.to_identifier("concept"), "i"))
        .where(is_ingredient)
    )
    related = (
        exp.select(col("concept_id_1", "r").as_("drug"), col("concept_name", "i").as_("name"))
        .from_(exp.alias_(exp.to_identifier("concept_relationship"), "r"))
        .join(
            exp.alias_(exp.to_identifier("concept"), "i"),
            on=and_(_eq(col("concept_id", "i"), col("concept_id_2", "r")), is_ingredient),
        )
        .where(_eq(col("relationship_id", "r"), string("RxNorm has ing")))
    )
    below = (
        exp.select(
            col("descendant_concept_id", "a").as_("drug"), col("concept_name", "i").as_("name")
        )
        .from_(exp.alias_(exp.to_identifier("concept_ancestor"), "a"))
        .join(
            exp.alias_(exp.to_identifier("concept"), "i"),
            on=and_(_eq(col("concept_id", "i"), col("ancestor_concept_id", "a")), is_ingredient),
        )
    )
    union = exp.union(exp.union(own, related, distinct=False), below, distinct=False)
    return exp.select("drug", "name").distinct().from_(exp.alias_(exp.paren(union), "u"))


def resolved(table: str, columns: list[str], raw: str, concepts: bool) -> exp.Select:
    """``table`` as the compiler and the profile reader read it (``columns``, extract.COLUMNS
    order), from the raw view ``raw``; ``concepts``: the extract ships ``concept``."""
    r = exp.alias_(exp.to_identifier(raw), "r")
    term: exp.Expression | None = None
    joins: list[tuple] = []
    if concepts and table == "measurement":
        joins = [
            _concept("lc", col("measurement_concept_id", "r"), ("LOINC",)),
            _maps_to("lm", col("measurement_concept_id", "r")),
            _concept("lt", col("concept_id_2", "lm"), ("LOINC",)),
            _concept("uc", col("unit_concept_id", "r"), ("UCUM",)),
        ]
        term = _coalesce(
            col("concept_code", "lc"),
            col("concept_code", "lt"),
            _blank(col("measurement_source_value", "r")),
        )
    elif concepts and table == "condition_occurrence":
        sn = values("sn", ["code", "name"], list(snomed_names()) or [("", "")])
        joins = [
            _concept("sc", col("condition_source_concept_id", "r"), ICD10),
            _concept("cc", col("condition_concept_id", "r"), ICD10),
            _concept("sx", col("condition_concept_id", "r"), ("SNOMED",)),
            (sn, _eq(col("code", "sn"), col("concept_code", "sx"))),
        ]
        term = _coalesce(
            col("concept_code", "sc"),
            col("concept_code", "cc"),
            _blank(col("condition_source_value", "r")),
            col("name", "sn"),
            col("concept_name", "sx"),
        )
    elif concepts and table == "drug_exposure":
        joins = [
            _maps_to("dm", col("drug_concept_id", "r")),
            (
                exp.alias_(exp.paren(ingredients()), "ing"),
                _eq(
                    col("drug", "ing"),
                    _coalesce(col("concept_id_2", "dm"), col("drug_concept_id", "r")),
                ),
            ),
            _concept("dc", col("drug_concept_id", "r"), ()),
        ]
        term = _coalesce(
            col("name", "ing"), _blank(col("drug_source_value", "r")), col("concept_name", "dc")
        )
    elif concepts and table == "procedure_occurrence":
        joins = [_concept("pc", col("procedure_concept_id", "r"), ())]
        term = _coalesce(_blank(col("procedure_source_value", "r")), col("concept_name", "pc"))
    picks: list[exp.Expression] = []
    for name in columns:
        if name.endswith("_source_value") and not name.startswith("unit") and term is not None:
            picks.append(term.as_(name))
        elif name == "unit_source_value" and concepts:
            unit = _coalesce(_blank(col(name, "r")), col("concept_code", "uc"))
            picks.append(unit.as_(name))
        else:
            picks.append(col(name, "r").as_(name))
    q = exp.select(*picks).from_(r)
    for target, on in joins:
        q = q.join(target, on=on, join_type="left")
    return q
