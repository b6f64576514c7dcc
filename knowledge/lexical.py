"""A lexical (BM25) index that works for Chinese.

Terms are jieba words (with the guides' names and aliases added to its dictionary, so
"个体工商户设立登记" stays one term next to its parts), character bigrams, or both ("mixed").
`eval/README.md` reports which is better; "mixed" is the default.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np
from scipy import sparse

Mode = Literal["jieba", "bigram", "mixed"]
_WORD = re.compile(r"[a-z0-9]+(?:[.\-][a-z0-9]+)*|[\u3400-\u9fff]+")
_HAN = re.compile(r"[\u3400-\u9fff]")


class TermSplitter:
    """Splits normalised text into index terms."""

    def __init__(self, mode: Mode = "mixed", user_words: Iterable[str] = ()):
        self.mode = mode
        self.user_words = sorted({w for w in user_words if len(w) >= 2})
        self._jieba = None
        if mode in ("jieba", "mixed"):
            import jieba

            jieba.setLogLevel(logging.WARNING)
            self._jieba = jieba.Tokenizer()
            self._jieba.initialize()
            for word in self.user_words:
                self._jieba.add_word(word, freq=20000)

    def words(self, text: str) -> list[str]:
        """Whole words (jieba's precise mode; runs of Latin letters or digits as they are)."""
        out: list[str] = []
        for run in _WORD.findall(text):
            if self._jieba is not None and _HAN.match(run):
                out.extend(self._jieba.cut(run, HMM=False))
            else:
                out.append(run)
        return out

    def subwords(self, text: str) -> list[str]:
        """Every dictionary word inside the text's words (jieba's search mode): 居民身份证首次申领 gives
        身份, 身份证, 首次, 申领 … as well as the whole name. Empty without a word segmenter."""
        if self._jieba is None:
            return []
        return [
            w
            for run in _WORD.findall(text)
            if _HAN.match(run)
            for w in self._jieba.cut_for_search(run, HMM=False)
        ]

    def in_dictionary(self, text: str) -> bool:
        """Whether the segmenter's dictionary has the text as a word or as the start of one."""
        return self._jieba is not None and text in self._jieba.FREQ

    def terms(self, text: str) -> list[str]:
        out: list[str] = []
        for run in _WORD.findall(text):
            if not _HAN.match(run):
                out.append(run)
                continue
            if self._jieba is not None:
                out.extend(w for w in self._jieba.cut_for_search(run, HMM=False) if w.strip())
            if self.mode in ("bigram", "mixed"):
                if len(run) == 1:
                    if self.mode == "bigram":
                        out.append(run)
                else:
                    out.extend("#" + run[i : i + 2] for i in range(len(run) - 1))
        return out


class BM25Index:
    def __init__(
        self, splitter: TermSplitter, vocab: dict[str, int], matrix: sparse.csc_matrix, k1: float, b: float
    ):
        self.splitter = splitter
        self.vocab = vocab
        self.matrix = matrix  # documents x terms, BM25 weights already applied
        self.k1 = k1
        self.b = b

    @classmethod
    def build(cls, texts: list[str], splitter: TermSplitter, k1: float = 1.2, b: float = 0.75) -> BM25Index:
        vocab: dict[str, int] = {}
        rows, cols, tfs = [], [], []
        lengths = np.zeros(len(texts), dtype=np.float32)
        for d, text in enumerate(texts):
            counts = Counter(splitter.terms(text))
            lengths[d] = sum(counts.values())
            for term, tf in counts.items():
                rows.append(d)
                cols.append(vocab.setdefault(term, len(vocab)))
                tfs.append(tf)
        n_docs = max(len(texts), 1)
        tf_arr = np.asarray(tfs, dtype=np.float32)
        row_arr = np.asarray(rows, dtype=np.int64)
        col_arr = np.asarray(cols, dtype=np.int64)
        df = np.bincount(col_arr, minlength=len(vocab)).astype(np.float32)
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        avg = float(lengths.mean()) if len(texts) else 1.0
        norm = k1 * (1 - b + b * lengths[row_arr] / max(avg, 1e-6)) if len(texts) else np.zeros(0)
        weights = idf[col_arr] * tf_arr * (k1 + 1) / (tf_arr + norm)
        matrix = sparse.csc_matrix(
            (weights, (row_arr, col_arr)), shape=(len(texts), len(vocab)), dtype=np.float32
        )
        return cls(splitter, vocab, matrix, k1, b)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query`` (already normalised)."""
        ids = sorted({self.vocab[t] for t in self.splitter.terms(query) if t in self.vocab})
        if not ids:
            return np.zeros(self.matrix.shape[0], dtype=np.float32)
        return np.asarray(self.matrix[:, ids].sum(axis=1)).ravel()

    def coverage(self, query: str) -> float:
        """Share of the query's terms that occur in the index (0 for an empty query)."""
        terms = self.splitter.terms(query)
        return sum(1 for t in terms if t in self.vocab) / len(terms) if terms else 0.0

    def known_share(self, text: str) -> float:
        """Share of the text's words (two or more characters) that occur in the index as words.

        A question whose content words the knowledge base has never seen is not answerable from it.
        """
        if self.splitter.mode == "bigram":
            return self.coverage(text)
        words = [w for w in self.splitter.words(text) if len(w) >= 2]
        return sum(1 for w in words if w in self.vocab) / len(words) if words else 1.0

    def attests(self, run: str) -> bool:
        """Whether the indexed text has every character pair of ``run`` (without character pairs
        in the index, say so always: nothing may then be taken for a typo)."""
        if self.splitter.mode == "jieba":
            return True
        return all("#" + run[i : i + 2] in self.vocab for i in range(len(run) - 1))

    def dump(self) -> tuple[bytes, str]:
        """The index as (matrix in .npz form, everything else as JSON): what a database row keeps."""
        buffer = io.BytesIO()
        sparse.save_npz(buffer, self.matrix.tocsc())
        meta = {
            "mode": self.splitter.mode,
            "k1": self.k1,
            "b": self.b,
            "user_words": self.splitter.user_words,
        }
        return buffer.getvalue(), json.dumps({**meta, "vocab": self.vocab}, ensure_ascii=False)

    @classmethod
    def restore(cls, matrix: bytes, meta_json: str) -> BM25Index:
        meta = json.loads(meta_json)
        splitter = TermSplitter(meta["mode"], meta["user_words"])
        return cls(
            splitter, meta["vocab"], sparse.load_npz(io.BytesIO(matrix)).tocsc(), meta["k1"], meta["b"]
        )

    def save(self, folder: Path) -> None:
        matrix, meta = self.dump()
        (folder / "bm25.npz").write_bytes(matrix)
        (folder / "bm25.json").write_text(meta)

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        return cls.restore((folder / "bm25.npz").read_bytes(), (folder / "bm25.json").read_text())
