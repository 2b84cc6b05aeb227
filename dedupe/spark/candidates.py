"""The match stage on Spark: the local engine's candidates and verification
(``dedupe.candidates``, ``pipeline.band_matches``), distributed, with the same matches and
components.

What pass 2 leaves on the executors, chunk by chunk (``pipeline._clean_job``), becomes a
DataFrame of chunks (``chunks``): each paragraph's shingle set, band keys and containment
keys, with its global number (``pid``: documents in input order, paragraphs in reading
order, as ``pipeline.assemble`` numbers them).  Then:

1. **Band buckets**: one row per (band key, paragraph) of live paragraphs, hash-partitioned
   by key (one shuffle) and each partition sorted in numpy (``_bucket_batch``: a sort where
   Spark's windows sort twice and box every row); buckets of two or more are kept.
2. **Components of candidates**: a bucket links its paragraphs (a star around its smallest);
   ``spark.cluster.components`` labels them.  Every band candidate pair lies inside one such
   component, and they are small (copies of one paragraph), so:
3. **Band matches**: the buckets and shingle sets of whole components are brought
   together, a partition of components at a time, and ``pipeline.band_matches`` (each
   paragraph's earliest verified match, then the pairs joining what those leave apart)
   runs on them, the local engine's own function.
4. **Containment candidates**: shared containment keys, each bucket cut to its first
   ``containment_bucket_cap`` carriers, and prefix filtering over the buckets that hold more
   than one component (``candidates._contained_candidates``, stated as joins and sorts of
   whole buckets or whole paragraphs' keys in numpy, a partition at a time:
   each paragraph takes ``k // 2 + 2`` of its keys, the unshared first, then its smallest
   mixed buckets, ties by key; it keeps the partners it meets often enough).  The
   candidates are verified on the shingle sets of both ends (two joins).
5. **Components of matches**: ``spark.cluster.components`` over the band components and the
   contained pairs.

What reaches the driver: the verified pairs (a, b, Jaccard, containment) and the label of
every paragraph that has a partner.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from .. import candidates as local
from ..config import Config
from .cluster import components
from .jobs import described

log = logging.getLogger(__name__)

_U32 = np.uint32


def chunk_row(record) -> tuple:
    """A pass-2 output ``(start, end, (documents, fingerprints))`` as a row of ``chunks``'s
    schema (before its paragraph numbers are known: ``base`` is set by ``chunks``)."""
    start, _, (_, (values, offsets, keys, live, (packed, counts))) = record
    band_keys = np.stack(keys) if len(keys) else np.zeros((0, live.size), _U32)
    return (int(start), int(live.size), values.astype(_U32).tobytes(), offsets.astype(np.int64).tobytes(),
            np.ascontiguousarray(band_keys, dtype=_U32).tobytes(), live.astype(np.bool_).tobytes(),
            packed.astype(np.uint64).tobytes(), counts.astype(np.int32).tobytes())


_CHUNK_SCHEMA = ("start long, n long, base long, values binary, offsets binary, keys binary, live binary, "
                 "packed binary, counts binary")


@dataclass(frozen=True)
class Chunks:
    """Pass 2's fingerprints on the executors: ``frame``, a DataFrame with a row per chunk
    (``_CHUNK_SCHEMA``: each chunk's first paragraph number ``base``, chunks numbered in
    document order), over ``rows``, the persisted RDD it is made from; ``total``: the paragraphs.

    The rows are kept as an RDD (serialized blocks, which spill to disk one at a time), not
    as a cached DataFrame: Spark caches a DataFrame in columnar batches of 10,000 rows, and a
    row here is a chunk of up to 4,000 paragraphs, so a partition's column would be one
    buffer of hundreds of MB (a 1M-paragraph run ran out of a 4 GB heap building it)."""
    frame: object
    rows: object
    total: int

    def unpersist(self) -> None:
        self.rows.unpersist()


def chunks(spark, outputs, storage) -> Chunks:
    """``Chunks`` of pass 2's outputs (``(start, end, _clean_job result)`` records)."""
    rows = outputs.map(chunk_row)
    sizes = sorted(rows.map(lambda r: (r[0], r[1])).collect())
    bases, total = {}, 0
    for start, n in sizes:
        bases[start] = total
        total += n
    based = rows.map(lambda r: (r[0], r[1], bases[r[0]], *r[2:])).persist(storage)
    based.count()
    return Chunks(frame=spark.createDataFrame(based, _CHUNK_SCHEMA), rows=based, total=total)


def _band_entries(batches, bands: int) -> Iterator:
    import pyarrow as pa

    for batch in batches:
        for row in batch.to_pylist():
            n, base = row["n"], row["base"]
            if not n:
                continue
            keys = np.frombuffer(row["keys"], _U32).reshape(bands, n)
            live = np.frombuffer(row["live"], np.bool_)
            ids = np.flatnonzero(live)
            bk = ((np.arange(bands, dtype=np.int64)[:, None] << 32) | keys[:, ids].astype(np.int64)).ravel()
            pid = np.tile(ids.astype(np.int64) + base, bands)
            yield pa.RecordBatch.from_arrays([pa.array(bk), pa.array(pid)], names=["bk", "pid"])


def _sets(batches) -> Iterator:
    import pyarrow as pa

    for batch in batches:
        for row in batch.to_pylist():
            n, base = row["n"], row["base"]
            if not n:
                continue
            offsets = np.frombuffer(row["offsets"], np.int64)
            data = row["values"]
            sets = [data[4 * offsets[i]:4 * offsets[i + 1]] for i in range(n)]
            yield pa.RecordBatch.from_arrays([pa.array(np.arange(base, base + n, dtype=np.int64)),
                                              pa.array(sets, pa.binary())], names=["pid", "sset"])


def _contained_entries(batches) -> Iterator:
    import pyarrow as pa

    for batch in batches:
        for row in batch.to_pylist():
            base = row["base"]
            packed = np.frombuffer(row["packed"], np.uint64)
            counts = np.frombuffer(row["counts"], np.int32)
            if packed.size:
                key = (packed >> np.uint64(32)).astype(np.int64)
                pid = (packed & np.uint64(0xFFFFFFFF)).astype(np.int64) + base
                yield pa.RecordBatch.from_arrays([pa.array(key), pa.array(pid), pa.array(np.zeros(key.size, np.int32))],
                                                 names=["ckey", "pid", "kc"])
            has = np.flatnonzero(counts)
            if has.size:  # the key count of every paragraph with keys, on a row of its own (ckey -1)
                yield pa.RecordBatch.from_arrays([pa.array(np.full(has.size, -1, np.int64)),
                                                  pa.array(has.astype(np.int64) + base), pa.array(counts[has])],
                                                 names=["ckey", "pid", "kc"])



def _table(batches):
    """A partition's Arrow batches as one table (None when empty)."""
    import pyarrow as pa

    batches = [b for b in batches if b.num_rows]
    return pa.Table.from_batches(batches) if batches else None


def _groups(key: np.ndarray, pid: np.ndarray) -> tuple:
    """Rows sorted by (key, pid): ``(order, group of each sorted row, first sorted row of
    each group, size of each group)``."""
    order = np.lexsort((pid, key))
    k = key[order]
    new = np.ones(k.size, bool)
    new[1:] = k[1:] != k[:-1]
    starts = np.flatnonzero(new)
    group = np.cumsum(new) - 1
    sizes = np.diff(np.append(starts, k.size))
    return order, group, starts, sizes


def _bucket_batch(batches) -> Iterator:
    """Rows ``(bk, pid)`` of a partition of whole band buckets: those of buckets with two or
    more paragraphs, with the bucket's smallest paragraph ``head`` (a sort, not a window)."""
    import pyarrow as pa

    table = _table(batches)
    if table is None:
        return
    bk, pid = table.column("bk").to_numpy(), table.column("pid").to_numpy()
    order, group, starts, sizes = _groups(bk, pid)
    keep = sizes[group] >= 2
    rows = order[keep]
    heads = pid[order][starts][group[keep]]
    yield pa.RecordBatch.from_arrays([pa.array(bk[rows]), pa.array(pid[rows]), pa.array(heads)],
                                     names=["bk", "pid", "head"])


def _capped_batch(batches, cap: int) -> Iterator:
    """Rows ``(ckey, pid)`` of a partition of whole containment buckets: the first ``cap``
    paragraphs of each bucket of two or more, with ``size`` (the carriers, at most ``cap``)."""
    import pyarrow as pa

    table = _table(batches)
    if table is None:
        return
    ckey, pid = table.column("ckey").to_numpy(), table.column("pid").to_numpy()
    order, group, starts, sizes = _groups(ckey, pid)
    rank = np.arange(order.size) - starts[group]
    keep = (sizes[group] >= 2) & (rank < cap)
    rows = order[keep]
    yield pa.RecordBatch.from_arrays([pa.array(ckey[rows]), pa.array(pid[rows]),
                                      pa.array(np.minimum(sizes[group[keep]], cap))], names=["ckey", "pid", "size"])


def _mixed_batch(batches) -> Iterator:
    """Rows ``(ckey, pid, size, label)`` of a partition of whole capped containment buckets:
    those of buckets holding more than one component (``label``)."""
    import pyarrow as pa

    table = _table(batches)
    if table is None:
        return
    ckey, label = table.column("ckey").to_numpy(), table.column("label").to_numpy()
    order, group, starts, _ = _groups(ckey, label)  # sorted by label within a bucket: first and last differ
    ends = np.append(starts[1:], order.size) - 1
    mixed = label[order][starts] != label[order][ends]
    rows = np.sort(order[mixed[group]])
    if rows.size:
        yield from table.take(pa.array(rows)).to_batches()


def _chosen_batch(batches) -> Iterator:
    """Rows of a partition of whole paragraphs' mixed keys ``(pid, ckey, label, kc, size)``:
    the keys each paragraph takes (its ``k // 2 + 2`` keys, the unshared first, then its
    smallest mixed buckets, ties by key) as ``(p, ckey, lp, kp, need)``."""
    import pyarrow as pa

    table = _table(batches)
    if table is None:
        return
    pid, ckey = table.column("pid").to_numpy(), table.column("ckey").to_numpy()
    size, kc = table.column("size").to_numpy(), table.column("kc").to_numpy().astype(np.int64)
    rank_key = (np.minimum(size, 63).astype(np.int64) << 57) | ckey  # ckey < 2**32: size first, then key
    order, group, starts, sizes = _groups(pid, rank_key)
    rank = np.arange(order.size) - starts[group] + 1
    k = kc[order]
    half = k // 2
    chosen = np.minimum(k, half + 2)
    take = chosen - (k - sizes[group])
    rows = order[rank <= take]
    need = (chosen - half)[rank <= take]
    yield pa.RecordBatch.from_arrays([pa.array(pid[rows]), pa.array(ckey[rows]),
                                      pa.array(table.column("label").to_numpy()[rows]), pa.array(kc[rows].astype(np.int32)),
                                      pa.array(need)], names=["p", "ckey", "lp", "kp", "need"])


def _flat(sets) -> tuple:
    """Flat ``(values, offsets)`` of shingle sets given as bytes (uint32 each)."""
    lengths = np.fromiter((len(s) // 4 for s in sets), np.int64, count=len(sets))
    offsets = np.zeros(len(sets) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    values = np.frombuffer(b"".join(sets), _U32) if len(sets) else np.zeros(0, _U32)
    return values, offsets


def _band_batch(batches, config: Config) -> Iterator:
    """``pipeline.band_matches`` on a partition of whole components of candidates: rows of
    kind 0 ``(a, b, jaccard, containment)`` (matches) and kind 1 ``(pid, label)``."""
    import pyarrow as pa
    from ..pipeline import band_matches

    batches = list(batches)
    if not batches or not sum(b.num_rows for b in batches):
        return
    table = pa.Table.from_batches(batches)
    is_set = table.column("bk").is_null().to_numpy(zero_copy_only=False)
    pid = table.column("pid").to_numpy()
    set_rows = np.flatnonzero(is_set)
    order = set_rows[np.argsort(pid[set_rows], kind="stable")]
    pids = pid[order]
    sets = table.column("sset").take(pa.array(order)).to_pylist()
    values, offsets = _flat(sets)
    del sets
    entries = np.flatnonzero(~is_set)
    bk = table.column("bk").take(pa.array(entries)).to_numpy()
    node = np.searchsorted(pids, pid[entries]).astype(np.uint64)
    shared = []
    band = bk >> 32
    for b in range(config.bands):
        mine = band == b
        both = ((bk[mine] & 0xFFFFFFFF).astype(np.uint64) << np.uint64(32)) | node[mine]
        both.sort()
        sk = both >> np.uint64(32)
        new = np.ones(sk.size, dtype=bool)
        new[1:] = sk[1:] != sk[:-1]
        shared.append(((both & np.uint64(0xFFFFFFFF)).astype(np.int32), new))
    found, labels = band_matches(shared, pids.size, values, offsets, config)
    pairs = pids[found.pairs] if len(found) else np.zeros((0, 2), np.int64)
    yield pa.RecordBatch.from_arrays([pa.array(np.zeros(len(pairs), np.int8)), pa.array(pairs[:, 0]),
                                      pa.array(pairs[:, 1]), pa.array(found.jaccard), pa.array(found.containment)],
                                     names=["kind", "a", "b", "jaccard", "containment"])
    moved = np.flatnonzero(labels != np.arange(labels.size))
    yield pa.RecordBatch.from_arrays([pa.array(np.ones(moved.size, np.int8)), pa.array(pids[moved]),
                                      pa.array(pids[labels[moved]]), pa.array(np.zeros(moved.size)),
                                      pa.array(np.zeros(moved.size))],
                                     names=["kind", "a", "b", "jaccard", "containment"])


def _verify_batch(batches, config: Config) -> Iterator:
    """``candidates.verify_flat`` on rows ``(a, b, sa, sb)``: the verified ones, with their figures."""
    import pyarrow as pa

    for batch in batches:
        if not batch.num_rows:
            continue
        sa, sb = batch.column(2).to_pylist(), batch.column(3).to_pylist()
        values, offsets = _flat(sa + sb)
        m = len(sa)
        pairs = np.stack([np.arange(m), np.arange(m) + m], axis=1).astype(np.int64)
        ok, jac, con = local._verify_flat(pairs, values, offsets, config)
        a, b = batch.column(0).to_numpy(), batch.column(1).to_numpy()
        yield pa.RecordBatch.from_arrays([pa.array(a[ok]), pa.array(b[ok]), pa.array(jac[ok]), pa.array(con[ok])],
                                         names=["a", "b", "jaccard", "containment"])


@dataclass(frozen=True)
class Matched:
    """What the match stage sends the driver: ``matches`` (``candidates.Matches``, sorted by
    (a, b)), ``labels`` (every paragraph's component of matches) and what it took."""
    matches: local.Matches
    labels: np.ndarray
    rounds: tuple
    seconds: float


def _pairs(frame) -> tuple:
    """``(pairs, jaccard, containment)`` of a DataFrame ``(a, b, jaccard, containment)``, on the driver."""
    table = frame.toArrow()
    pairs = np.stack([table.column("a").to_numpy(), table.column("b").to_numpy()], axis=1).astype(np.int64)
    return pairs.reshape(-1, 2), table.column("jaccard").to_numpy().astype(float), \
        table.column("containment").to_numpy().astype(float)


#: Rows per partition of a grouping step (a partition's rows are sorted in numpy at once).
GROUP_ROWS = 4_000_000


def _partitions(sc, rows: int) -> int:
    """Partitions for a grouping step over about ``rows`` rows: at least two per core."""
    return max(2 * sc.defaultParallelism, -(-rows // GROUP_ROWS))


def match(spark, frame, total: int, config: Config, partitions: int, storage) -> Matched:
    """The verified matches of the paragraphs of ``frame`` (``chunks``) and their components:
    what ``pipeline._match`` finds on the same paragraphs."""
    from pyspark.sql import functions as F

    started = time.perf_counter()
    col = F.col
    sc = spark.sparkContext
    entries = frame.mapInArrow(lambda it: _band_entries(it, config.bands), "bk long, pid long")
    groups = _partitions(sc, total * config.bands)
    shared = (entries.repartition(groups, "bk").mapInArrow(_bucket_batch, "bk long, pid long, head long")
              .persist(storage))
    with described(sc, "band buckets, components of candidates"):
        candidate = components(shared.where(col("pid") != col("head")).select(col("pid").alias("a"), col("head").alias("b")))
    comp = candidate.labels.persist(storage)
    sets = frame.mapInArrow(_sets, "pid long, sset binary").persist(storage)
    grouped = (shared.join(comp, shared["head"] == comp["node"]).select(col("label").alias("comp"), "pid", "bk",
                                                                  F.lit(None).cast("binary").alias("sset"))
               .unionByName(sets.join(comp, sets["pid"] == comp["node"]).select(col("label").alias("comp"), "pid",
                                                                          F.lit(None).cast("long").alias("bk"), "sset")))
    banded = (grouped.repartition(partitions, "comp")
              .mapInArrow(lambda it: _band_batch(it, config),
                          "kind byte, a long, b long, jaccard double, containment double")).persist(storage)
    band_found = banded.where(col("kind") == 0).drop("kind")
    band_labels = banded.where(col("kind") == 1).select(col("a").alias("pid"), col("b").alias("label"))
    with described(sc, "band matches, per partition of components"):
        banded.count()
    shared.unpersist()

    with described(sc, "containment candidates, verified"):
        contained = _containment(frame, band_labels, sets, config, storage, _partitions(sc, 8 * total))
    edges = band_labels.select(col("pid").alias("a"), col("label").alias("b")).unionByName(contained.select("a", "b"))
    with described(sc, "components of matches"):
        final = components(edges)
    with described(sc, "send matches and components to the driver"):
        first, jf, cf = _pairs(band_found)
        more, jm, cm = _pairs(contained)
        labels = np.arange(total, dtype=np.int64)
        table = final.labels.toArrow()
    labels[table.column("node").to_numpy()] = table.column("label").to_numpy()
    for f in (banded, comp, sets):
        f.unpersist()
    empty = np.zeros(0, np.int64)
    matches = local.Matches.join(local.Matches(first, jf, cf, empty),
                                 local.Matches(more, jm, cm, empty, np.zeros(len(more), bool))).in_order()
    matches.failed = None
    seconds = time.perf_counter() - started
    log.info("spark match: %d + %d verified pairs in %.1f s (components: %d and %d rounds)", len(first), len(more),
             seconds, candidate.rounds, final.rounds)
    return Matched(matches=matches, labels=labels, rounds=(candidate.rounds, final.rounds), seconds=seconds)


def _containment(frame, band_labels, sets, config: Config, storage, groups: int):
    """Verified pairs ``(a, b, jaccard, containment)`` of paragraphs in different components
    of band matches that share at least half the containment keys of the one with fewer
    (``candidates.containment_cross``).  ``groups``: partitions of the grouping steps."""
    from pyspark.sql import functions as F

    col = F.col
    if config.containment_sample <= 0:
        return sets.sparkSession.createDataFrame([], "a long, b long, jaccard double, containment double")
    raw = frame.mapInArrow(_contained_entries, "ckey long, pid long, kc int").persist(storage)
    counts = raw.where(col("ckey") < 0).select("pid", "kc")
    keys = raw.where(col("ckey") >= 0).select("ckey", "pid")
    cap = config.containment_bucket_cap
    capped = keys.repartition(groups, "ckey").mapInArrow(lambda it: _capped_batch(it, cap),
                                                         "ckey long, pid long, size long")
    labelled = (capped.join(band_labels, "pid", "left").select("ckey", "pid", "size",
                                                               F.coalesce(col("label"), col("pid")).alias("label")))
    mixed = (labelled.repartition(groups, "ckey").mapInArrow(_mixed_batch, "ckey long, pid long, size long, label long")
             .persist(storage))
    counted = mixed.join(counts, "pid")  # (pid, ckey, size, label, kc)
    chosen = (counted.repartition(groups, "pid")
              .mapInArrow(_chosen_batch, "p long, ckey long, lp long, kp int, need long"))
    partners = counted.select("ckey", col("pid").alias("q"), col("label").alias("lq"), col("kc").alias("kq"))
    met = (chosen.join(partners, "ckey").where((col("lq") != col("lp")) & (col("kq") >= col("kp")))
           .groupBy("p", "q", "need").count().where(col("count") >= col("need"))
           .select(F.least("p", "q").alias("a"), F.greatest("p", "q").alias("b")).distinct())
    sa = sets.select(col("pid").alias("a"), col("sset").alias("sa"))
    sb = sets.select(col("pid").alias("b"), col("sset").alias("sb"))
    found = (met.join(sa, "a").join(sb, "b").select("a", "b", "sa", "sb")
             .mapInArrow(lambda it: _verify_batch(it, config), "a long, b long, jaccard double, containment double")
             ).persist(storage)
    found.count()
    raw.unpersist()
    mixed.unpersist()
    return found


__all__ = ["chunks", "match", "Matched"]
