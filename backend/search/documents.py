"""What of a product is searchable, shared by every backend."""

from __future__ import annotations

from dataclasses import dataclass

from .text import index_tokens


@dataclass(frozen=True)
class ProductDocument:
    product_id: int
    name: str
    body: str

    @property
    def name_tokens(self) -> list[str]:
        return index_tokens(self.name)

    @property
    def body_tokens(self) -> list[str]:
        return index_tokens(self.body)


def product_document(product) -> ProductDocument:
    """The approved text of a listing: name (weighted), then description and attribute values."""
    values = " ".join(str(v) for v in (product.attributes or {}).values())
    return ProductDocument(product_id=product.pk, name=product.name, body=f"{product.description}\n{values}")
