"""YAML as funnelsim reads it: safe types only, no duplicate keys, bounded size and depth.

:func:`load_yaml` parses with PyYAML's safe loader (libyaml when available) and, before
building any Python object, measures the document's node graph with every alias
expanded. A document with more values than the ``yaml_nodes`` limit (an "alias bomb"
of a few hundred bytes expands to billions), nested deeper than ``yaml_depth``, or whose
aliases refer to themselves is refused at once, in time linear in the file's size. A key
that appears twice in one mapping is refused with both line numbers (YAML would keep the
last one silently).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, SequenceNode

from .limits import limit

__all__ = ["load_yaml", "YamlError"]

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE = "tag:yaml.org,2002:merge"


class YamlError(Exception):
    """The document is not acceptable YAML; ``line`` and ``column`` are 1-based when known."""

    def __init__(self, problem: str, line: int | None = None, column: int | None = None) -> None:
        self.problem = problem
        self.line = line
        self.column = column
        super().__init__(self.text())

    def text(self) -> str:
        where = f" at line {self.line}, column {self.column}" if self.line is not None else ""
        return f"YAML{where}: {self.problem}"


class _StrictLoader(_Base):  # type: ignore[misc, valid-type]
    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _value in node.value:
                if key_node.tag == _MERGE:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: SafeConstructor reports it
                    continue
                line = key_node.start_mark.line + 1
                if first is not None:
                    raise ConstructorError(None, None, f"duplicate key {key!r} (first at line {first})",
                                           key_node.start_mark)
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_constructor("tag:yaml.org,2002:map", _StrictLoader.construct_yaml_map)


def _measure(root: Node, max_nodes: int, max_depth: int) -> None:
    """Expanded size and depth of a node graph (aliases shared), iteratively, memoised per node."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            children = _children(node)
            total = 1 + sum(size[id(c)] for c in children)
            deepest = 1 + max((depth[id(c)] for c in children), default=0)
            active.discard(key)
            size[key], depth[key] = total, deepest
            if total > max_nodes:
                raise YamlError(f"the document has more than {max_nodes:,} values once its aliases are "
                                f"expanded (limit yaml_nodes; see docs/LIMITS.md)", node.start_mark.line + 1,
                                node.start_mark.column + 1)
            if deepest > max_depth:
                raise YamlError(f"nested more than {max_depth} levels deep (limit yaml_depth)",
                                node.start_mark.line + 1, node.start_mark.column + 1)
            continue
        if key in size:
            continue
        if key in active:
            raise YamlError("an alias refers to the collection that contains it (a recursive alias)",
                            node.start_mark.line + 1, node.start_mark.column + 1)
        active.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) not in size:
                stack.append((child, False))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load_yaml(text: str) -> Any:
    """Parse one YAML document safely; :class:`YamlError` (with line and column) on any problem."""
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise YamlError("a NUL byte is not allowed in YAML", line, None)
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _measure(node, int(limit("yaml_nodes")), int(limit("yaml_depth")))
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "not valid YAML"
        raise YamlError(problem, mark.line + 1 if mark else None, mark.column + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise YamlError(str(exc).splitlines()[0] if str(exc) else "not valid YAML") from None
    except RecursionError:
        raise YamlError(f"nested too deeply (limit yaml_depth)") from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a timestamp out of range
        raise YamlError(f"a value cannot be read: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") \
            from None
    finally:
        loader.dispose()
