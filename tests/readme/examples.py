"""Runs README.md's worked examples (blocks marked `run: <account>`) in README order against a served API.

    runner = ExampleRunner(instance.graphql)      # or graphql_over_http("http://127.0.0.1:8000")
    results = runner.run(worked_examples())

Each block runs as the demo account its marker names (signed in once through the core API's
tokenCreate, `anonymous` for no token) with the variables of the ```json block after it;
`"$from:Operation.path"` strings are replaced by the value at that path of an earlier
example's `data`. A path segment `[field.path=value]` picks the list item whose field has
that value (`orders[vendor.name=...]`). An answer passes when it has no top-level errors and
every payload `errors` list is empty, or, for a block marked `expect: CODE`, when that code
is among them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable

from graphql import OperationDefinitionNode, parse

from .readme import Block, blocks

DEMO_PASSWORD = "Market-Demo-2024"
ACCOUNTS = {
    "staff": "staff@example.com",
    "reviewer": "reviewer@example.com",
    "merchant": "owner@huaqiang-digital.example.com",
    "tea": "owner@west-lake-tea.example.com",
    "shopper": "shopper@example.com",
    "anonymous": None,
}
FROM = "$from:"
PICK = re.compile(r"^(?P<key>[^\[]+)?\[(?P<field>[^=\]]+)=(?P<value>[^\]]*)\]$")

# graphql(query, variables, *, endpoint, token) -> (http_status, json_body), as ServedInstance.graphql
GraphQL = Callable[..., tuple[int, dict]]


class ExampleFailed(AssertionError):
    pass


@dataclass
class Result:
    block: Block
    name: str
    status: int
    body: dict


def worked_examples(text: str | None = None) -> list[Block]:
    return [block for block in blocks(text) if block.run_as]


def operation_name(block: Block) -> str:
    [operation] = [d for d in parse(block.text).definitions if isinstance(d, OperationDefinitionNode)]
    return operation.name.value


def _step(value: Any, segment: str, where: str) -> Any:
    match = PICK.match(segment)
    if match:
        if match["key"]:
            value = _step(value, match["key"], where)
        for item in value or []:
            found = item
            for part in match["field"].split("."):
                found = found.get(part) if isinstance(found, dict) else None
            if str(found) == match["value"]:
                return item
        raise ExampleFailed(f"{where}: no item with {match['field']} = {match['value']!r}")
    if isinstance(value, list):
        return value[int(segment)]
    if not isinstance(value, dict) or segment not in value:
        raise ExampleFailed(f"{where}: nothing at {segment!r}")
    return value[segment]


def resolve(value: Any, answers: dict[str, dict], where: str) -> Any:
    """Replaces every "$from:Operation.path" string inside value by what that answer holds."""
    if isinstance(value, dict):
        return {key: resolve(item, answers, where) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, answers, where) for item in value]
    if isinstance(value, str) and value.startswith(FROM):
        name, _, path = value[len(FROM):].partition(".")
        if name not in answers:
            raise ExampleFailed(f"{where}: {value} names no earlier worked example")
        found = answers[name]
        # Dots inside [field.path=value] belong to the picker.
        for segment in re.findall(r"[^.\[]*\[[^\]]*\]|[^.]+", path):
            found = _step(found, segment, f"{where}: {value}")
        return found
    return value


def payload_error_codes(value: Any) -> list[str]:
    """Codes of every `errors` list inside the data (mutation payloads)."""
    codes = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "errors" and isinstance(item, list):
                codes += [str(error.get("code")) for error in item if isinstance(error, dict)]
            else:
                codes += payload_error_codes(item)
    elif isinstance(value, list):
        for item in value:
            codes += payload_error_codes(item)
    return codes


def check(block: Block, status: int, body: dict) -> None:
    where = block.where()
    if status != 200 or body.get("errors"):
        raise ExampleFailed(f"{where}: HTTP {status}, {json.dumps(body.get('errors'), ensure_ascii=False)[:600]}")
    codes = payload_error_codes(body.get("data"))
    if block.expect:
        if block.expect not in codes:
            raise ExampleFailed(f"{where}: the README shows {block.expect}, the answer has {codes or 'no error'}")
    elif codes:
        raise ExampleFailed(f"{where}: errors {codes} in {json.dumps(body.get('data'), ensure_ascii=False)[:600]}")


class ExampleRunner:
    def __init__(self, graphql: GraphQL, accounts: dict[str, str | None] = ACCOUNTS, password: str = DEMO_PASSWORD):
        self.graphql = graphql
        self.accounts = accounts
        self.password = password
        self.tokens: dict[str, str | None] = {}
        self.answers: dict[str, dict] = {}

    def token(self, account: str, where: str) -> str | None:
        if account not in self.accounts:
            raise ExampleFailed(f"{where}: unknown demo account {account!r} (one of {', '.join(self.accounts)})")
        if account not in self.tokens:
            email = self.accounts[account]
            if email is None:
                self.tokens[account] = None
            else:
                status, body = self.graphql(
                    "mutation SignIn($email: String!, $password: String!) { tokenCreate(email: $email, "
                    "password: $password) { token errors { code } } }",
                    {"email": email, "password": self.password},
                    endpoint="core",
                )
                token = ((body.get("data") or {}).get("tokenCreate") or {}).get("token")
                if not token:
                    raise ExampleFailed(f"{where}: {email} cannot sign in: {body}")
                self.tokens[account] = token
        return self.tokens[account]

    def run_one(self, block: Block) -> Result:
        where = block.where()
        name = operation_name(block)
        variables = None
        if block.variables_text is not None:
            try:
                variables = json.loads(block.variables_text)
            except json.JSONDecodeError as exc:
                raise ExampleFailed(f"README.md line {block.variables_line}: variables are not JSON: {exc}") from exc
            variables = resolve(variables, self.answers, where)
        status, body = self.graphql(block.text, variables, endpoint=block.endpoint, token=self.token(block.run_as, where))
        check(block, status, body)
        self.answers[name] = body.get("data") or {}
        return Result(block, name, status, body)

    def run(self, examples: list[Block]) -> list[Result]:
        return [self.run_one(block) for block in examples]


def graphql_over_http(base_url: str) -> GraphQL:
    """A GraphQL caller for any running instance (`make run`'s http://127.0.0.1:8000, say)."""
    import requests

    paths = {"core": "/graphql/", "storefront": "/storefront/graphql/"}

    def call(query, variables=None, *, endpoint="core", token=None, headers=None):
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        response = requests.post(
            base_url.rstrip("/") + paths[endpoint], json={"query": query, "variables": variables}, headers=sent,
            timeout=60,
        )
        return response.status_code, response.json()

    return call


if __name__ == "__main__":  # .venv/bin/python -m tests.readme.examples http://127.0.0.1:8000
    import sys

    for result in ExampleRunner(graphql_over_http(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")).run(
        worked_examples()
    ):
        print(f"ok  {result.block.where()}  {result.name}")
