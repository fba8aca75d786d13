"""Words for the lexical (BM25) index: what a text is indexed as and how a query matches.

The docstore keeps an SQLite FTS5 table beside the documents (same transactions), whose
`unicode61` tokenizer splits on spaces and punctuation. Chinese has no spaces, so runs of
CJK characters are segmented by jieba (its bundled dictionary, search-engine mode: the
words plus their dictionary sub-words, so 忘记密码 also matches 密码) and the words are
stored space-joined. Other scripts are lower-cased words (NFKC first, so full-width
letters and digits match their ASCII forms).
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata

ANALYZER_VERSION = "1"  # bump when terms() changes: stores re-index on open

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"([{_CJK}]+)|([^\W_]+)")
_jieba_lock = threading.Lock()
_jieba = None


def _segmenter():
    """jieba, imported and its dictionary loaded once (about 1 s) on the first CJK text."""
    global _jieba
    with _jieba_lock:
        if _jieba is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _jieba = jieba
    return _jieba


def terms(text: str) -> list[str]:
    """The words of `text` in order: CJK runs segmented by jieba, other words lower-cased."""
    out: list[str] = []
    for cjk, word in _RUNS.findall(unicodedata.normalize("NFKC", text).lower()):
        if word:
            out.append(word)
        elif cjk:
            out += [w for w in _segmenter().lcut_for_search(cjk) if w.strip()]
    return out


def indexed_text(text: str) -> str:
    """What the FTS5 column holds for `text`: its terms joined by spaces."""
    return " ".join(terms(text))


def match_expression(text: str) -> str | None:
    """An FTS5 MATCH expression: any of the query's distinct terms (BM25 ranks by how many
    and how rare); None when the query has no word at all."""
    unique = dict.fromkeys(terms(text))
    if not unique:
        return None
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in unique)


# ---- the FTS5 table (called by DocStore inside its transactions) ------------------------
TABLE_SQL = "CREATE VIRTUAL TABLE IF NOT EXISTS lexical USING fts5(terms, tokenize = 'unicode61')"


def write_rows(conn, rows) -> None:
    """Index `(iid, text)` rows (documents or aliases), replacing what those iids had."""
    rows = [(int(iid), indexed_text(text)) for iid, text in rows]
    conn.executemany("DELETE FROM lexical WHERE rowid = ?", ((iid,) for iid, _ in rows))
    conn.executemany("INSERT INTO lexical(rowid, terms) VALUES (?, ?)", rows)


def remove_rows(conn, iids) -> None:
    conn.executemany("DELETE FROM lexical WHERE rowid = ?", ((int(i),) for i in iids))


def rebuild(conn) -> None:
    """Re-index every document and alias (a store from before the lexical index, or one
    indexed by another ANALYZER_VERSION)."""
    conn.execute("DELETE FROM lexical")
    for table in ("docs", "aliases"):
        write_rows(conn, conn.execute(f"SELECT iid, text FROM {table}").fetchall())


def search(conn, query: str, k: int) -> list[tuple[int, float]]:
    """Up to k `(iid, bm25)` best first, bm25 >= 0 larger is better (FTS5's rank negated)."""
    expr = match_expression(query)
    if expr is None or k < 1:
        return []
    rows = conn.execute(
        "SELECT rowid, bm25(lexical) FROM lexical WHERE lexical MATCH ? "
        "ORDER BY bm25(lexical) LIMIT ?",
        (expr, int(k)),
    ).fetchall()
    return [(int(r[0]), -float(r[1])) for r in rows]
