"""README.md's GraphQL blocks, as the README's conventions mark them (see "How the examples are marked").

    <!-- endpoint: storefront; run: shopper -->
    ```graphql
    mutation CheckoutCreate($variant: ID!) { ... }
    ```
    ```json
    {"variant": "$from:ProductPage.product.variants.0.id"}
    ```

Every ```graphql fence is preceded by an ``endpoint`` marker (``core`` or ``storefront``); ``run:``
names the demo account that runs it as a worked example (``anonymous`` for none), ``expect: CODE``
says the README shows that error code on purpose. A ```json block right after a run block holds its
variables; a string ``"$from:Operation.path.to.value"`` is taken from an earlier worked example's
answer (``data`` of that operation, list indexes as numbers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = re.compile(r"^<!--\s*(?P<body>endpoint\s*:.*?)\s*-->\s*$")
ENDPOINTS = ("core", "storefront")


@dataclass
class Block:
    line: int  # of the ```graphql fence, 1-based
    text: str
    marker: dict[str, str] | None
    variables_text: str | None = None
    variables_line: int | None = None
    options: dict = field(default_factory=dict)

    @property
    def endpoint(self) -> str | None:
        return (self.marker or {}).get("endpoint")

    @property
    def run_as(self) -> str | None:
        return (self.marker or {}).get("run")

    @property
    def expect(self) -> str | None:
        return (self.marker or {}).get("expect")

    def where(self) -> str:
        return f"README.md line {self.line}"


def parse_marker(body: str) -> dict[str, str]:
    values = {}
    for part in body.split(";"):
        if not part.strip():
            continue
        key, _, value = part.partition(":")
        values[key.strip()] = value.strip()
    return values


def blocks(text: str | None = None) -> list[Block]:
    """Every ```graphql block of the README with its marker and, for run blocks, its ```json variables."""
    lines = (README.read_text(encoding="utf-8") if text is None else text).splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.strip().startswith("```graphql"):
            start = index
            body = []
            index += 1
            while index < len(lines) and not lines[index].strip().startswith("```"):
                body.append(lines[index])
                index += 1
            # The marker is the nearest non-blank line above the fence.
            above = start - 1
            while above >= 0 and not lines[above].strip():
                above -= 1
            match = MARKER.match(lines[above].strip()) if above >= 0 else None
            block = Block(line=start + 1, text="\n".join(body), marker=parse_marker(match["body"]) if match else None)
            # Variables: a ```json fence right after (blank lines allowed).
            after = index + 1
            while after < len(lines) and not lines[after].strip():
                after += 1
            if block.run_as and after < len(lines) and lines[after].strip() == "```json":
                json_body = []
                cursor = after + 1
                while cursor < len(lines) and not lines[cursor].strip().startswith("```"):
                    json_body.append(lines[cursor])
                    cursor += 1
                block.variables_text = "\n".join(json_body)
                block.variables_line = after + 1
                index = cursor
            found.append(block)
        index += 1
    return found
