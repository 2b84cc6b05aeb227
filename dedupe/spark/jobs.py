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


def java_message(err: BaseException) -> str:
    """What a Spark or py4j error says, in one line: the Java exception and, when it has
    causes, the innermost (``UnknownHostException: nn``); else the first line of the text
    that names an exception, never a stack frame."""
    java = getattr(err, "java_exception", None)
    if java is not None:
        try:
            chain, t = [], java
            while t is not None and len(chain) < 8:
                chain.append(str(t.toString()))
                t = t.getCause()
            if chain:
                return chain[0] if chain[-1] in chain[0] else f"{chain[0]} (caused by {chain[-1]})"
        except Exception:  # the JVM is gone: fall back to the text
            pass
    lines = [line.strip() for line in str(err).splitlines()]
    lines = [line.lstrip(": ") for line in lines if line and not line.startswith(("at ", "..."))]
    return next((line for line in lines if "Exception" in line or "Error" in line), lines[0] if lines else type(err).__name__)


__all__ = ["described", "java_message"]
