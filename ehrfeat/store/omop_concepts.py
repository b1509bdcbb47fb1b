"""OMOP concept ids of codes: ``(system, code)`` -> (source concept id, standard concept id).

The other direction of :mod:`ehrfeat.store.omop` (which reads concepts as codes),
for writing codes into OMOP tables such as NOTE_NLP: the code's own CONCEPT row
is its source concept, and its standard concept is itself when it is standard,
else the target of its ``Maps to`` relationship (0 when there is none). Codes
CONCEPT does not know get ``(0, 0)``; system ``OMOP`` codes are concept ids.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ehrfeat.codes import OMOP, Code
from ehrfeat.store.database import column_names, in_batches, sql_table, table_names
from ehrfeat.store.omop_concept_table import concept_key

__all__ = ["ConceptIds"]



class ConceptIds:
    """``(system, code)`` -> ``(source concept id, standard concept id)`` through OMOP CONCEPT (and ``Maps to``)."""

    def __init__(self, engine: Engine) -> None:
        names = table_names(engine)
        self._concept = self._relationship = None
        if "concept" in names:
            cols = column_names(engine, names["concept"])
            wanted = ["concept_id", "vocabulary_id", "concept_code", "standard_concept"]
            if all(c in cols for c in wanted[:3]):
                self._concept = sql_table(names["concept"], [cols[c] for c in wanted if c in cols])
        if "concept_relationship" in names:
            cols = column_names(engine, names["concept_relationship"])
            if all(c in cols for c in ("concept_id_1", "concept_id_2", "relationship_id")):
                self._relationship = sql_table(names["concept_relationship"], [cols["concept_id_1"], cols["concept_id_2"], cols["relationship_id"]])
        self._cache: dict[Code, tuple[int, int]] = {}

    def resolve(self, conn: Connection, codes: Iterable[Code]) -> dict[Code, tuple[int, int]]:
        todo = sorted({c for c in codes if c not in self._cache})
        found: dict[Code, tuple[int, str | None]] = {}
        for code in todo:
            if code.system == OMOP and code.code.isdigit():
                found[code] = (int(code.code), "S")
        if self._concept is not None:
            c = self._concept.c
            raw = sorted({code.code for code in todo} | {code.code.replace(".", "") for code in todo})
            for batch in in_batches(raw):
                query = sa.select(*c).where(c[2].in_(batch))
                for row in conn.execute(query):
                    raw_key = concept_key(row[1], row[2])
                    key = Code(*raw_key) if isinstance(raw_key, tuple) else None
                    if key is not None and key in todo:
                        found.setdefault(key, (int(row[0]), row[3] if len(row) > 3 else None))
        standard = self._maps_to(conn, [cid for cid, flag in found.values() if flag != "S"])
        for code in todo:
            if code in found:
                cid, flag = found[code]
                self._cache[code] = (cid, cid if flag == "S" else standard.get(cid, 0))
            else:
                self._cache[code] = (0, 0)
        return {code: self._cache[code] for code in codes}

    def _maps_to(self, conn: Connection, ids: Collection[int]) -> dict[int, int]:
        if self._relationship is None or not ids:
            return {}
        c = self._relationship.c
        out: dict[int, int] = {}
        values = sorted(ids)
        for batch in in_batches(values):
            query = sa.select(c[0], c[1]).where(c[0].in_(batch), c[2] == "Maps to")
            for a, b in conn.execute(query):
                out.setdefault(int(a), int(b))
        return out

