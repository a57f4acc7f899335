"""Fixtures for the Tokens console tests: HTMX headers, signed-in clients, tokens, a small DOM."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client

from tests.factories import issue, signed_in
from tokens.models import Token, TokenKind


@pytest.fixture
def admin_client(admin_user) -> Client:
    return signed_in(admin_user)


@pytest.fixture
def manager_client(manager_user) -> Client:
    return signed_in(manager_user)


@pytest.fixture
def member_client(member_user) -> Client:
    return signed_in(member_user)


@pytest.fixture
def ws_token(workspace, manager_user) -> Token:
    """Return the workspace token ci-deploy, created by the Manager."""
    return issue(manager_user, workspace, "ci-deploy", description="Deploys from main")[0]


@pytest.fixture
def admin_personal(workspace, admin_user) -> Token:
    return issue(admin_user, workspace, "ada-laptop", kind=TokenKind.PERSONAL)[0]


@pytest.fixture
def manager_personal(workspace, manager_user) -> Token:
    return issue(manager_user, workspace, "max-laptop", kind=TokenKind.PERSONAL)[0]


@pytest.fixture
def member_personal(workspace, member_user) -> Token:
    return issue(member_user, workspace, "mia-laptop", kind=TokenKind.PERSONAL)[0]


@pytest.fixture
def foreign_token(other_workspace, outsider) -> Token:
    """Return a workspace token of the other workspace."""
    return issue(outsider, other_workspace, "globex-ci")[0]


# A small DOM, enough to ask where an error is shown ------------------------------------

VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


class Node:
    def __init__(self, tag: str, attrs: dict, parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    def text(self) -> str:
        """Return the text inside this element, with whitespace collapsed."""
        return " ".join(
            " ".join(c if isinstance(c, str) else c.text() for c in self.children).split()
        )

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs) -> list[Node]:
        return [
            n
            for n in self.iter()
            if (tag is None or n.tag == tag)
            and all(n.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]

    def find(self, tag: str | None = None, **attrs) -> Node | None:
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def closest(self, predicate) -> Node | None:
        node = self.parent
        while node is not None and not predicate(node):
            node = node.parent
        return node


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current)
        self.current.children.append(node)

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(response_or_html) -> Node:
    """Return the DOM of a response's body (or of an HTML string)."""
    html = response_or_html
    if not isinstance(html, str):
        html = response_or_html.content.decode()
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def field_of(dom: Node, name: str) -> Node:
    """Return the element that holds the form control `name` with its label and errors."""
    control = next(
        n
        for n in dom.iter()
        if n.tag in {"input", "textarea", "select"} and n.attrs.get("name") == name
    )
    return control.closest(lambda n: n.tag in {"div", "fieldset"} and "field" in n.classes())


def errors_of(field: Node) -> str:
    """Return the text of the error messages inside `field` (not inside nested fields)."""
    return " ".join(n.text() for n in field.iter() if "errors" in n.classes())
