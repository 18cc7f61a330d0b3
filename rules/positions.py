"""YAML parsing that keeps positions, so every error can point at `file:line:col`.

PyYAML is used in two steps: `compose` builds a node tree (each node has a `start_mark`), and the
same loader then constructs plain Python data from that tree. Validation errors (pydantic `loc`
tuples) are mapped back to nodes with `node_at`.

The loader resolves plain scalars closer to YAML 1.2 than PyYAML's default YAML 1.1: only
true/false are booleans (`no`, `on` stay strings: a keyword list `[yes, no]` means words) and
`12:30` is not a base-60 number. `1e9` is a float (PyYAML would keep it a string).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"

#: Guard against alias bombs: a document expanding to more nodes than this is refused.
MAX_EXPANDED_NODES = 200_000


# libyaml's parser when available (about 10x faster on large rule files); same node marks.
_Base = getattr(yaml, "CSafeLoader", None) if getattr(yaml, "__with_libyaml__", False) else None


class _Loader(_Base or yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader with YAML 1.2-like booleans and numbers."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver(
    _INT, re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+|0o[0-7_]+)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)?\.[0-9_]+(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?[0-9][0-9_]*\.?(?:[eE][-+]?[0-9]+)"
        r"|[-+]?[0-9][0-9_]*\."
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _construct_float(loader: yaml.SafeLoader, node: ScalarNode) -> float:
    # PyYAML's float constructor does not understand "1e9" without a dot; Python's float() does.
    text = str(loader.construct_scalar(node)).replace("_", "").lower()
    if text in (".inf", "+.inf"):
        return float("inf")
    if text == "-.inf":
        return float("-inf")
    if text == ".nan":
        return float("nan")
    return float(text)


_Loader.add_constructor(_FLOAT, _construct_float)


@dataclass(frozen=True)
class Position:
    """1-based line and column."""

    line: int
    col: int

    @classmethod
    def of(cls, node: Node | None) -> "Position":
        """Where a node starts (1:1 when unknown)."""
        if node is None or node.start_mark is None:
            return cls(1, 1)
        return cls(node.start_mark.line + 1, node.start_mark.column + 1)


class YamlSyntaxError(Exception):
    """The text is not valid YAML; `position` is where the parser gave up."""

    def __init__(self, message: str, position: Position) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass
class ParsedYaml:
    """A parsed document: the node tree (positions) and the plain data (validation)."""

    node: Node | None
    data: Any


def parse_yaml(text: str) -> ParsedYaml:
    """Parse one YAML document, raising `YamlSyntaxError` with the position of the problem."""
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is not None:
            _check_size(node)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem and exc.context not in problem:
            problem = f"{exc.context}: {problem}"
        raise YamlSyntaxError(f"YAML syntax error: {problem}", pos) from None
    except yaml.YAMLError as exc:  # reader errors (bad characters) and the like
        offset = getattr(exc, "position", None)
        pos = Position(1, 1)
        if isinstance(offset, int):
            pos = Position(text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1)
        message = " ".join(str(exc).split("\n")[0].split())
        raise YamlSyntaxError(f"YAML error: {message}", pos) from None
    except (ValueError, OverflowError) as exc:  # e.g. a number PyYAML matched but cannot convert
        raise YamlSyntaxError(f"YAML error: {exc}", Position(1, 1)) from None
    finally:
        if loader is not None:
            loader.dispose()
    return ParsedYaml(node, data)


def _check_size(root: Node) -> None:
    """Refuse recursive aliases and alias bombs before constructing Python data from them."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise yaml.MarkedYAMLError(problem="recursive alias", problem_mark=node.start_mark)
        active.add(key)
        total = 1
        if isinstance(node, SequenceNode):
            for child in node.value:
                total += size(child)
        elif isinstance(node, MappingNode):
            for k, v in node.value:
                total += size(k) + size(v)
        active.discard(key)
        if total > MAX_EXPANDED_NODES:
            raise yaml.MarkedYAMLError(problem="document too large (aliases expand too much)", problem_mark=node.start_mark)
        sizes[key] = total
        return total

    size(root)


def mapping_get(node: Node | None, key: str) -> Node | None:
    """The value node for `key` in a mapping node (the last one, as PyYAML keeps), else None."""
    if not isinstance(node, MappingNode):
        return None
    found = None
    for k, v in node.value:
        if isinstance(k, ScalarNode) and k.value == key:
            found = v
    return found


def mapping_key_node(node: Node | None, key: str) -> Node | None:
    """The key node for `key` in a mapping node, else None."""
    if not isinstance(node, MappingNode):
        return None
    for k, _ in node.value:
        if isinstance(k, ScalarNode) and k.value == key:
            return k
    return None


def node_at(root: Node | None, loc: tuple[Any, ...], *, key: bool = False) -> Node | None:
    """The deepest node reached by following a pydantic `loc` from `root`.

    Elements that name nothing in the tree (a union tag such as `change`, or pydantic's
    `[key]` markers) are skipped, so the answer is always the closest existing node. With
    `key=True` the last element is looked up as a mapping key (for unknown-key errors).
    """
    node = root
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, MappingNode):
            if last and key:
                return mapping_key_node(node, str(part)) or node
            child = mapping_get(node, str(part))
            if child is not None:
                node = child
        elif isinstance(node, SequenceNode):
            if isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
        else:
            break
    return node


def duplicate_keys(root: Node | None) -> Iterator[tuple[tuple[Any, ...], Node, Node]]:
    """Yield (path, first key node, repeated key node) for every duplicated mapping key.

    PyYAML silently keeps the last of duplicate keys, which would hide a user's mistake.
    """
    seen_nodes: set[int] = set()

    def walk(node: Node, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], Node, Node]]:
        if id(node) in seen_nodes:  # aliases: visit each node once
            return
        seen_nodes.add(id(node))
        if isinstance(node, MappingNode):
            firsts: dict[str, Node] = {}
            for k, v in node.value:
                if isinstance(k, ScalarNode):
                    if k.value in firsts and k.value != "<<":
                        yield path + (k.value,), firsts[k.value], k
                    firsts.setdefault(k.value, k)
                    yield from walk(v, path + (k.value,))
                else:
                    yield from walk(v, path)
        elif isinstance(node, SequenceNode):
            for i, child in enumerate(node.value):
                yield from walk(child, path + (i,))

    if root is not None:
        yield from walk(root, ())
