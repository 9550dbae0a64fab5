"""Turning product text and shoppers' queries into the same search tokens.

Chinese (and Japanese/Korean) has no spaces between words, so runs of CJK
characters are indexed as overlapping character bigrams: "华为手机" gives
华为, 为手, 手机, and a two-character word inside a title is found as one
bigram. The last character of a run is indexed on its own too, so a
one-character query finds every position. Other scripts split into words on
anything that is not a letter or a digit. Everything is NFKC-normalised and
lower-cased, so full-width "ＭＡＴＥ" matches "mate".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_CJK = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
)
_RUNS = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)", re.UNICODE)
_MAX_WORD = 40


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def _cjk_tokens(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)] + [run[-1]]


def index_tokens(text: str) -> list[str]:
    """Tokens to store for a text, in order, duplicates kept (they weigh in ranking)."""
    tokens: list[str] = []
    for match in _RUNS.finditer(normalise(text)):
        cjk, word = match.groups()
        if cjk:
            tokens.extend(_cjk_tokens(cjk))
        else:
            tokens.append(word[:_MAX_WORD])
    return tokens


@dataclass(frozen=True)
class QueryTerm:
    token: str
    prefix: bool  # match the start of a stored token


def query_terms(query: str, *, max_terms: int = 16) -> list[QueryTerm]:
    """Terms that must all match. Words match as prefixes ("iph" finds "iphone"); a CJK run
    of two or more characters gives bigrams, a single CJK character matches as a prefix."""
    terms: list[QueryTerm] = []
    seen: set[QueryTerm] = set()
    for match in _RUNS.finditer(normalise(query)):
        cjk, word = match.groups()
        if cjk:
            if len(cjk) == 1:
                found = [QueryTerm(cjk, True)]
            else:
                # Non-overlapping bigrams covering the run: "华为手机" needs 华为 and 手机,
                # so it still finds "华为 Mate 60 手机" where the two words stand apart.
                starts = list(range(0, len(cjk) - 1, 2))
                if len(cjk) % 2:
                    starts.append(len(cjk) - 2)
                found = [QueryTerm(cjk[i : i + 2], False) for i in starts]
        else:
            found = [QueryTerm(word[:_MAX_WORD], True)]
        for term in found:
            if term not in seen:
                seen.add(term)
                terms.append(term)
    return terms[:max_terms]
