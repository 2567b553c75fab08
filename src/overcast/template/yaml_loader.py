"""CloudFormation YAML/JSON → plain Python data that remembers where it came from.

PyYAML's SafeLoader plus the CloudFormation short-form tags (``!Ref``, ``!Sub``…),
each turned into its long form (``{"Ref": ...}``, ``{"Fn::Sub": ...}``) so later
stages see one shape. Mappings become :class:`LocatedDict`, which knows its own
:class:`Location` and that of each key, so errors can point at ``file:line:col``.

Short forms: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from overcast.template.errors import TemplateSyntaxError
from overcast.template.model import Location

__all__ = ["MAX_ALIAS_NODES", "LocatedDict", "key_location", "location_of", "parse_yaml"]

#: How many nodes YAML aliases may add to a template once expanded. An alias is one
#: shared node to PyYAML, but every later stage walks the template as a tree, so aliases
#: nested inside aliases ("billion laughs") turn a few hundred bytes into millions of
#: nodes to walk. cfn-lint refuses more than 250,000 expanded nodes for the same reason
#: (aws-cloudformation/cfn-lint#4670); real templates reuse a few hundred at most.
MAX_ALIAS_NODES = 250_000


class LocatedDict(dict[str, Any]):
    """A mapping from the template, with the location of itself and of each key."""

    __slots__ = ("key_locations", "location")

    def __init__(
        self,
        *args: Any,
        location: Location | None = None,
        key_locations: dict[str, Location] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.location = location
        self.key_locations: dict[str, Location] = dict(key_locations or {})

    def key_location(self, key: str) -> Location | None:
        """Where ``key`` is written, else where this mapping starts."""
        return self.key_locations.get(key, self.location)


def location_of(value: Any) -> Location | None:
    """The location of a mapping from the template, ``None`` for anything else."""
    return value.location if isinstance(value, LocatedDict) else None


def key_location(mapping: Any, key: str, default: Location | None = None) -> Location | None:
    """Where ``key`` is written in ``mapping`` (falls back to the mapping, then ``default``)."""
    if isinstance(mapping, LocatedDict):
        return mapping.key_location(key) or default
    return default


# Intrinsic short forms and the long-form key each becomes.
_SHORT_FORMS: dict[str, str] = {
    "!Ref": "Ref",
    "!Condition": "Condition",
    "!Sub": "Fn::Sub",
    "!GetAtt": "Fn::GetAtt",
    "!If": "Fn::If",
    "!Join": "Fn::Join",
    "!Select": "Fn::Select",
    "!Split": "Fn::Split",
    "!FindInMap": "Fn::FindInMap",
    "!Equals": "Fn::Equals",
    "!And": "Fn::And",
    "!Or": "Fn::Or",
    "!Not": "Fn::Not",
    "!Base64": "Fn::Base64",
    "!GetAZs": "Fn::GetAZs",
    "!ImportValue": "Fn::ImportValue",
    "!Cidr": "Fn::Cidr",
    "!Transform": "Fn::Transform",
    "!Length": "Fn::Length",
    "!ToJsonString": "Fn::ToJsonString",
}

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_SURROGATE = re.compile("[\ud800-\udfff]")


def _children(node: Node) -> Iterator[Node]:
    if isinstance(node, SequenceNode):
        yield from node.value
    elif isinstance(node, MappingNode):
        for key, value in node.value:
            yield key
            yield value


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader with CloudFormation tags, located mappings and no duplicate keys."""

    def __init__(self, stream: str, filename: str = "template.yaml") -> None:
        super().__init__(stream)
        self.filename = filename
        # The size of each composed node as a tree (aliases expanded), by node identity:
        # computed bottom-up as nodes are composed, so an alias costs one lookup.
        self._tree_sizes: dict[int, int] = {}
        self._alias_nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        alias_mark = None
        if self.check_event(AliasEvent):
            alias_mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]  # untyped in stubs
        node = super().compose_node(parent, index)
        if node is None:
            return None
        if alias_mark is None:
            if isinstance(node, ScalarNode) and _SURROGATE.search(node.value):
                node.value = self._paired(node)
            self._tree_sizes[id(node)] = 1 + sum(
                self._tree_sizes[id(child)] for child in _children(node)
            )
            return node
        size = self._tree_sizes.get(id(node))
        location = Location(self.filename, alias_mark.line + 1, alias_mark.column + 1)
        if size is None:
            # Its anchor's node is still being composed: the alias is inside it.
            raise TemplateSyntaxError(
                "a YAML alias refers to the collection it is written in",
                location=location,
                hint="a template cannot contain itself; write the value out",
            )
        self._alias_nodes += size
        if self._alias_nodes > MAX_ALIAS_NODES:
            raise TemplateSyntaxError(
                f"YAML aliases expand to more than {MAX_ALIAS_NODES:,} nodes",
                location=location,
                hint="aliases nested inside aliases multiply; write the repeated part out, "
                "or reuse it fewer times",
            )
        return node

    def _paired(self, node: ScalarNode) -> str:
        # PyYAML turns each \u escape into one code point, so JSON's (and json.dumps')
        # spelling of a character beyond U+FFFF, "\ud83d\ude00", arrives as two
        # surrogates: join each pair; a lone half is no character at all.
        try:
            return str(node.value.encode("utf-16", "surrogatepass").decode("utf-16"))
        except UnicodeDecodeError:
            raise TemplateSyntaxError(
                "a \\u escape is half of a UTF-16 surrogate pair",
                location=self._location(node),
                hint="write the character itself, or both halves of the pair (e.g. \\ud83d\\ude00)",
            ) from None

    def _location(self, node: Node) -> Location:
        mark = node.start_mark
        return Location(self.filename, mark.line + 1, mark.column + 1)

    def construct_located_mapping(self, node: MappingNode) -> Iterator[LocatedDict]:
        # A generator, like PyYAML's own map constructor, so anchors and aliases
        # that refer back to a mapping under construction still work.
        data = LocatedDict(location=self._location(node))
        yield data
        self._fill_mapping(data, node, deep=False)

    def _fill_mapping(self, data: LocatedDict, node: MappingNode, *, deep: bool) -> None:
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag.startswith("!"):
                raise TemplateSyntaxError(
                    "a mapping key must be a plain name",
                    location=self._location(key_node),
                    hint="write keys as simple strings, e.g. Handler:",
                )
            # The text as written: CloudFormation keys are strings, so "On" stays
            # "On" rather than YAML 1.1's True, and "0200" keeps its zero.
            key = key_node.value
            if key in data:
                first = data.key_locations.get(key)
                raise TemplateSyntaxError(
                    f"duplicate key '{key}'",
                    location=self._location(key_node),
                    hint=f"it is already defined at line {first.line}; keep only one"
                    if first
                    else "keep only one",
                )
            data.key_locations[key] = self._location(key_node)
            data[key] = self.construct_object(value_node, deep=deep)

    def construct_any(self, node: Node) -> Any:
        """Build a tag's argument fully (tags wrap it in a dict right away)."""
        if isinstance(node, ScalarNode):
            return self.construct_scalar(node)
        if isinstance(node, SequenceNode):
            return self.construct_sequence(node, deep=True)
        if isinstance(node, MappingNode):
            data = LocatedDict(location=self._location(node))
            self._fill_mapping(data, node, deep=True)
            return data
        raise TemplateSyntaxError("unexpected YAML node", location=self._location(node))


def _short_form(long_name: str) -> Callable[[_CfnLoader, Node], LocatedDict]:
    def construct(loader: _CfnLoader, node: Node) -> LocatedDict:
        location = loader._location(node)
        value = loader.construct_any(node)
        if long_name == "Fn::GetAtt" and isinstance(value, str):
            # "Resource.Attr.Sub" → ["Resource", "Attr.Sub"]: attributes may hold dots.
            resource, dot, attribute = value.partition(".")
            if not dot or not resource or not attribute:
                raise TemplateSyntaxError(
                    f"!GetAtt '{value}' is not of the form Resource.Attribute",
                    location=location,
                    hint="write !GetAtt MyFunction.Arn",
                )
            value = [resource, attribute]
        return LocatedDict(
            {long_name: value}, location=location, key_locations={long_name: location}
        )

    return construct


def _unknown_tag(loader: _CfnLoader, tag_suffix: str, node: Node) -> Any:
    raise TemplateSyntaxError(
        f"unknown tag '!{tag_suffix}'",
        location=loader._location(node),
        hint="CloudFormation short forms are " + ", ".join(sorted(_SHORT_FORMS)),
    )


_CfnLoader.add_constructor(
    "tag:yaml.org,2002:map",
    _CfnLoader.construct_located_mapping,
)
for _tag, _long in _SHORT_FORMS.items():
    _CfnLoader.add_constructor(_tag, _short_form(_long))
_CfnLoader.add_multi_constructor("!", _unknown_tag)

# CloudFormation reads dates such as "Version: 2012-10-17" as strings, not datetimes.
_CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _syntax_hint(problem: str) -> str:
    if "\\t" in problem or "\t" in problem:
        return "YAML does not allow tabs for indentation; indent with spaces"
    if "mapping values are not allowed" in problem:
        return "check the indentation of this line, or quote a value that contains ': '"
    if "expected <block end>" in problem or "block mapping" in problem:
        return "check that this line is indented like its siblings"
    if "could not find expected ':'" in problem:
        return "a key needs a colon after it, e.g. Handler: app.handler"
    if "found undefined alias" in problem:
        return "define the &anchor before using the *alias"
    return "fix the YAML syntax at this position"


def _codepoint(character: object) -> str:
    return f"U+{character:04X}" if isinstance(character, int) else repr(character)


def _offset_location(text: str, filename: str, offset: int) -> Location:
    before = text[:offset]
    line = before.count("\n") + 1
    return Location(filename, line, offset - (before.rfind("\n") + 1) + 1)


def parse_yaml(text: str, filename: str) -> Any:
    """Parse CloudFormation YAML (or JSON) text into plain data with located mappings.

    Raises :class:`TemplateSyntaxError` with ``file:line:col`` on malformed text.
    """
    if text.lstrip().startswith("{"):
        # JSON may indent with tabs, which YAML forbids; JSON strings cannot hold a
        # raw tab, so swapping each for one space keeps every column where it was.
        text = text.replace("\t", " ")
    try:
        loader = _CfnLoader(text, filename)
    except yaml.reader.ReaderError as exc:
        # Raised while the reader checks the whole text, before any parsing starts.
        raise TemplateSyntaxError(
            f"control character {_codepoint(exc.character)} is not allowed in a template",
            location=_offset_location(text, filename, exc.position),
            hint="templates are printable text; remove the control character or write it "
            "as an escape (\\x..) inside a double-quoted string",
        ) from None
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = Location(filename, mark.line + 1, mark.column + 1) if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        hint = _syntax_hint(problem)
        if "expected <block end>" in problem:
            problem = "bad indentation: this line is not aligned with the lines above it"
        elif exc.context and exc.problem:
            problem = f"{problem} ({exc.context})"
        raise TemplateSyntaxError(problem, location=location, hint=hint) from None
    except yaml.YAMLError as exc:
        raise TemplateSyntaxError(
            f"invalid YAML: {exc}", location=Location(filename, 1), hint=_syntax_hint(str(exc))
        ) from None
    finally:
        loader.dispose()
