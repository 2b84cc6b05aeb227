"""What a Spark job is called: each action dedupe starts is described by the stage it serves."""
from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def described(sc, what: str):
    """Spark's jobs started inside are described as ``dedupe: what`` (in the Spark UI and the
    event log, where ``benchmarks/spark.py`` reads each stage's shuffle bytes)."""
    sc.setJobDescription(f"dedupe: {what}")
    try:
        yield
    finally:
        sc.setLocalProperty("spark.job.description", None)


__all__ = ["described"]
