"""Pseudonyms in Spark: the same HMAC-SHA256 as warehouse.pseudonyms.pseudonym, from Spark SQL's
own sha2 (no Python UDF, so no Python workers on the executors).

The key's padded forms travel as a one-row broadcast table joined to the data, not as literals:
a literal would be printed in every query plan (explain, the Spark UI, event logs), and the
padded key gives the key back with one XOR.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from warehouse.pseudonyms import PSEUDONYM_HEX_CHARS, hmac_pads

INNER, OUTER = "_key_inner", "_key_outer"


def with_key(df: DataFrame, key: bytes) -> DataFrame:
    """``df`` with the key's two padded forms as columns (drop them with ``without_key``)."""
    pads = df.sparkSession.createDataFrame([hmac_pads(key)], f"{INNER} binary, {OUTER} binary")
    return df.crossJoin(F.broadcast(pads))


def keyed_hash(raw_id: Column) -> Column:
    """The pseudonym of ``raw_id``, on a frame from ``with_key``."""
    inner = F.unhex(F.sha2(F.concat(F.col(INNER), F.encode(raw_id, "UTF-8")), 256))
    outer = F.sha2(F.concat(F.col(OUTER), inner), 256)
    return F.substring(outer, 1, PSEUDONYM_HEX_CHARS)


def without_key(df: DataFrame) -> DataFrame:
    return df.drop(INNER, OUTER)
