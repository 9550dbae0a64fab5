"""Refuses listings whose texts contain a banned word.

The words come from data: the plugin's configuration (staff edit it with
pluginUpdate) and, unless switched off, the BannedWord table kept in the admin.
Words with Chinese characters match anywhere; other words match whole words
(so "gun" does not refuse "burgundy") in any case and width.
"""

from __future__ import annotations

import re

from backend.catalog.listing_checks import ListingContent, ListingProblem
from backend.catalog.models import BannedWord
from backend.search.text import normalise
from plugins.base import BasePlugin, ConfigField, ConfigType

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def _pattern(word: str) -> re.Pattern:
    if _CJK.search(word):
        return re.compile(re.escape(word))
    return re.compile(rf"(?<![^\W_]){re.escape(word)}(?![^\W_])")


class BannedWordsPlugin(BasePlugin):
    PLUGIN_ID = "listing.banned_words"
    PLUGIN_NAME = "Banned words"
    DESCRIPTION = "Refuses listings whose name, description or attributes contain a banned word."
    DEFAULT_ACTIVE = True
    CONFIG_STRUCTURE = {
        "words": ConfigField(
            ConfigType.JSON,
            default=["假货", "高仿", "counterfeit", "replica"],
            help_text="List of banned words and phrases.",
        ),
        "use_staff_list": ConfigField(
            ConfigType.BOOLEAN, default=True, help_text="Also refuse the words staff keep in the admin."
        ),
    }

    @classmethod
    def clean_configuration(cls, values):
        cleaned = super().clean_configuration(values)
        words = cleaned.get("words")
        if words is not None and (not isinstance(words, list) or not all(isinstance(w, str) for w in words)):
            from backend.core.error_codes import CoreErrorCode
            from backend.core.exceptions import DomainError

            raise DomainError(CoreErrorCode.INVALID, "words: a list of strings.", field="configuration")
        return cleaned

    def banned_words(self) -> list[str]:
        words = list(self.get("words", []) or [])
        if self.get("use_staff_list", True):
            words += list(BannedWord.objects.values_list("word", flat=True))
        cleaned = {normalise(w).strip() for w in words}
        return sorted(w for w in cleaned if w)

    def check_listing(self, listing: ListingContent, *, previous_value):
        problems = list(previous_value)
        patterns = [(word, _pattern(word)) for word in self.banned_words()]
        if not patterns:
            return problems
        for field, text in listing.texts().items():
            text = normalise(text)
            found = [word for word, pattern in patterns if pattern.search(text)]
            if found:
                problems.append(
                    ListingProblem(
                        code="BANNED_WORD",
                        message=f"The {field} contains words that are not allowed: {', '.join(found)}.",
                        field=field,
                    )
                )
        return problems
