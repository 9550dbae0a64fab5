"""The contract between the catalog and the listing plugins' automatic checks.

The catalog builds a ListingContent (what a reviewer would approve: the listing
itself, or the listing with its pending revision applied) and runs the
`check_listing` hook; each plugin adds ListingProblem entries to the list it is
given. An empty list means the listing may go to human review.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ListingImage:
    media_id: int | None
    width: int
    height: int


@dataclass(frozen=True)
class ListingContent:
    product: object  # backend.catalog.models.Product
    name: str
    description: str
    category_id: int
    attributes: dict[str, str]
    variant_attributes: list[dict[str, str]] = field(default_factory=list)
    images: list[ListingImage] = field(default_factory=list)

    def texts(self) -> dict[str, str]:
        """Every text a shopper would read, keyed by the input field it came from."""
        texts = {"name": self.name, "description": self.description}
        if self.attributes:
            texts["attributes"] = " ".join(str(v) for v in self.attributes.values())
        variant_values = [str(v) for values in self.variant_attributes for v in values.values()]
        if variant_values:
            texts["variants"] = " ".join(variant_values)
        return texts


@dataclass(frozen=True)
class ListingProblem:
    """One failed check. `code` names a CatalogErrorCode member (e.g. BANNED_WORD)."""

    code: str
    message: str
    field: str | None = None
