"""A small GraphQL client over Django's test client, for both endpoints."""

from __future__ import annotations

import json

from django.test import Client

from backend.accounts.jwt import create_access_token

CORE_URL = "/graphql/"
STOREFRONT_URL = "/storefront/graphql/"


class GraphQLClient:
    def __init__(self, url: str):
        self.url = url
        self.client = Client()
        self.user = None
        self.token: str | None = None

    def login(self, user) -> GraphQLClient:
        self.user = user
        self.token = create_access_token(user)
        return self

    def logout(self) -> GraphQLClient:
        self.user = None
        self.token = None
        return self

    def _headers(self, token: str | None) -> dict:
        token = token if token is not None else self.token
        return {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def raw(self, query: str, variables: dict | None = None, *, token: str | None = None, files=None):
        if files:
            return self._multipart(query, variables or {}, files, token)
        body = json.dumps({"query": query, "variables": variables or {}})
        return self.client.post(self.url, body, content_type="application/json", **self._headers(token))

    def _multipart(self, query, variables, files: dict, token):
        """GraphQL multipart request spec: files maps a variables path ("variables.x.0") to a file."""
        file_map = {}
        data = {}
        for index, (path, upload) in enumerate(files.items()):
            key = str(index)
            file_map[key] = [path]
            data[key] = upload
        data["operations"] = json.dumps({"query": query, "variables": variables})
        data["map"] = json.dumps(file_map)
        # As the project's clients do: a multipart post is a "simple" request, which the core API
        # serves only with a header a cross-site form cannot set (the bearer token is one too).
        return self.client.post(self.url, data, HTTP_APOLLO_REQUIRE_PREFLIGHT="true", **self._headers(token))

    def execute(self, query: str, variables: dict | None = None, **kwargs) -> dict:
        """Run an operation; top-level GraphQL errors fail the test."""
        response = self.raw(query, variables, **kwargs)
        assert response.status_code == 200, (response.status_code, response.content[:2000])
        payload = response.json()
        assert "errors" not in payload, payload["errors"]
        return payload["data"]

    def mutate(self, query: str, variables: dict | None = None, **kwargs) -> dict:
        """Run a single mutation and return its payload (the first field of data)."""
        data = self.execute(query, variables, **kwargs)
        assert len(data) == 1, data
        return next(iter(data.values()))


def error_codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["errors"]]
