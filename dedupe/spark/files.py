"""Input files on any filesystem Hadoop can open (``hdfs://``, ``s3a://``, ``gs://``, ``abfs://``,
``file://``): listed on the driver through the JVM's Hadoop ``FileSystem`` (so the user's
Spark configuration, credentials included, applies), read on the executors by Spark
(``SparkContext.binaryFiles``), and parsed by the local engine's readers.

A URL argument is listed as a local folder is (``read.iter_files``): recursively, in the
order of each file's path relative to the argument, files of unknown formats and folders
holding an earlier dedupe output left out; a document's id and source follow the same
rules (the path relative to the argument, the folder holding the file).  Each file arrives
on an executor whole (Spark reads a file as one record, at most 2 GB), is written to the
executor's temporary folder under its own name and read from there, so every format the
local engine reads (JSONL, gzip, WARC, Parquet, HTML, text) is read the same way.
"""
from __future__ import annotations

import logging
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Tuple

from ..errors import InputError
from ..model import OUTPUT_MARKER
from ..read import detect_format
from .jobs import java_message

log = logging.getLogger(__name__)

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
#: Characters Hadoop reads as a glob or a list separator in an input path.
_GLOB = re.compile(r"([\\,{}\[\]*?])")


def is_url(arg: str) -> bool:
    """Whether an input argument is a URL (``scheme://...``) for Hadoop's filesystems to open."""
    return bool(_URL.match(arg))


def list_url(sc, arg: str) -> List[Tuple[str, str, str]]:
    """``(url, document id prefix, default source)`` for every input file at ``arg``, a file
    or a folder, in the order ``read.iter_files`` gives a local folder's."""
    jvm = sc._jvm
    hadoop = jvm.org.apache.hadoop.fs.Path(arg)
    try:
        fs = hadoop.getFileSystem(sc._jsc.hadoopConfiguration())
        root = fs.makeQualified(hadoop)
        if not fs.exists(root):
            raise InputError(f"{arg}: no such file or folder")
        status = fs.getFileStatus(root)
        if status.isFile():
            if detect_format(arg) is None:
                raise InputError(f"{arg}: unknown format (expected .txt, .html, .jsonl, .warc, .parquet, optionally .gz)")
            name = root.getName()
            parent = root.getParent()
            return [(root.toString(), name, parent.getName() if parent is not None else "")]
        base = root.toString().rstrip("/")
        found, outputs, hidden = [], set(), 0
        listing = fs.listFiles(root, True)
        while listing.hasNext():
            path = listing.next().getPath()
            url = path.toString()
            rel = url[len(base):].lstrip("/")
            folder = rel.rpartition("/")[0]
            name = path.getName()
            if name == OUTPUT_MARKER:
                outputs.add(folder)
            elif name.startswith(("_", ".")):  # Hadoop's input formats never read these (_SUCCESS, .crc)
                hidden += 1
            else:
                found.append((rel, url, folder))
    except InputError:
        raise
    except Exception as err:  # py4j's error carries the Java exception
        message = java_message(err)
        if "No FileSystem for scheme" in message or "FileSystem not found" in message:
            message += (" (Spark needs that filesystem's connector on its classpath, e.g. spark-submit --packages "
                        "org.apache.hadoop:hadoop-aws:VERSION for s3a://, VERSION the Hadoop version of your Spark)")
        raise InputError(f"{arg}: cannot list: {message}") from None
    if hidden:
        log.info("%s: %d files whose names start with '_' or '.' not read (Hadoop's input formats skip them)", arg,
                 hidden)

    def in_output(folder: str) -> bool:
        return any(o == "" or folder == o or folder.startswith(o + "/") for o in outputs)

    out = []
    for rel, url, folder in sorted(found):
        if detect_format(rel) is None or in_output(folder):
            continue
        source = folder.rpartition("/")[2] if folder else root.getName()
        out.append((url, rel, source))
    return out


def spark_paths(urls: List[str]) -> str:
    """The URLs as one ``binaryFiles`` argument: comma-separated, glob characters escaped."""
    return ",".join(_GLOB.sub(r"\\\1", url) for url in urls)


@contextmanager
def local_copy(url: str, data: bytes) -> Iterator[Path]:
    """``data`` (the file at ``url``, as Spark read it) as a local file of the same name, for
    the local engine's readers; removed afterwards."""
    folder = tempfile.mkdtemp(prefix="dedupe-")
    try:
        path = Path(folder, url.rstrip("/").rpartition("/")[2] or "input")
        path.write_bytes(data)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


__all__ = ["is_url", "list_url", "spark_paths", "local_copy"]
