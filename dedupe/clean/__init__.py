"""Clean stage: named rules, per-source learned lines, HTML extraction, content filter."""
from .cleaner import clean_and_explain, clean_document, clean_text, split_lines  # noqa: F401
