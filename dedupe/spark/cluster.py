"""Connected components on Spark: the large-star/small-star rounds of Kiveris et al. (2014,
"Connected Components in MapReduce and Beyond"), as BigCode's Spark dedup runs them.

Both steps keep every edge pointing from a node to a smaller one and never join two
components, so every node ends pointing at its component's smallest node: the label
``dedupe.cluster.connected_components`` gives (deterministic, whatever the partitioning).

* **large-star**: every node's larger neighbours are linked to the smallest node of its
  neighbourhood (itself included);
* **small-star**: every node and its smaller neighbours are linked to the smallest of them.

The rounds stop when the graph is a star around each component's smallest node (no edge
ends at a node that has an edge of its own, no node has two): checked in one job a round,
one round sooner than waiting for a round that changes no edge.  Each round is a few shuffles of the edge list; the number of
rounds grows with the log of the components' diameter (``Components.rounds``).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Components:
    """``labels``: a DataFrame ``(node, label)`` of every node on an edge (``label``: the
    smallest node of its component; a node alone is left out); ``rounds``: the rounds run."""
    labels: object
    rounds: int


def components(edges, a: str = "a", b: str = "b", max_rounds: int = 100) -> Components:
    """Connected components of the undirected ``edges`` (a DataFrame with long columns ``a``
    and ``b``; self-loops and repeated edges are harmless)."""
    from pyspark.sql import functions as F

    u, v = F.col("u"), F.col("v")
    # Every edge once, from the larger node to the smaller (u > v).
    current = (edges.select(F.greatest(a, b).alias("u"), F.least(a, b).alias("v")).where(u != v).distinct()
               .localCheckpoint())
    rounds = 0
    while True:
        rounds += 1
        if rounds > max_rounds:
            raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")
        # large-star: node x with neighbourhood N; m = min(N + x); every y in N with y > x -> m.
        both = current.select(u.alias("x"), v.alias("y")).unionByName(current.select(v.alias("x"), u.alias("y")))
        least = both.groupBy("x").agg(F.min("y").alias("m")).select("x", F.least("x", "m").alias("m"))
        large = (both.join(least, "x").where(F.col("y") > F.col("x"))
                 .select(F.col("y").alias("u"), F.col("m").alias("v")).distinct())
        # small-star: node u with smaller neighbours N (edges u > v); m = min(N); u and every v != m -> m.
        small_min = large.groupBy("u").agg(F.min("v").alias("m"))
        small = (large.join(small_min, "u").select(F.col("v").alias("u"), F.col("m").alias("v")).where(u != v)
                 .unionByName(small_min.select("u", F.col("m").alias("v"))).distinct()).localCheckpoint()
        current = small
        # Converged when the graph is a star around each component's smallest node: no edge
        # ends where another starts, and no node has two edges (the rounds keep every
        # component, so each star is one).  One job: either kind of offending node, if any.
        chained = current.join(current.select(u.alias("v")), "v").select("u")
        forked = current.groupBy("u").count().where(F.col("count") > 1).select("u")
        if not chained.unionByName(forked).limit(1).count():
            break
    labels = current.select(F.col("u").alias("node"), F.col("v").alias("label")).unionByName(
        current.select(F.col("v").alias("node"), F.col("v").alias("label"))).distinct()
    return Components(labels=labels, rounds=rounds)


__all__ = ["components", "Components"]
