"""Resolve CloudFormation intrinsic functions to plain values.

A :class:`Resolver` knows the parameter values, pseudo parameters, Mappings,
Conditions and a table of resources (for ``Ref``/``Fn::GetAtt``), and rewrites a
value bottom-up until no intrinsic is left. ``AWS::NoValue`` removes the key or
list item it stands in, as CloudFormation does.

Reference: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
"""

from __future__ import annotations

import base64
import difflib
import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from overcast.template.conditions import ConditionEvaluator
from overcast.template.errors import IntrinsicFunctionError, UnresolvedReferenceError
from overcast.template.model import Location
from overcast.template.yaml_loader import LocatedDict, location_of

__all__ = ["NO_VALUE", "Resolver", "ResourceTable", "is_intrinsic", "scalar_text"]


class _NoValue:
    """The value of ``Ref: AWS::NoValue``: its key or list item disappears."""

    _instance: _NoValue | None = None

    def __new__(cls) -> _NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Final = _NoValue()


class ResourceTable(Protocol):
    """What ``Ref`` and ``Fn::GetAtt`` see of the template's resources."""

    def __contains__(self, logical_id: object) -> bool: ...

    def ref(self, logical_id: str, location: Location | None) -> Any:
        """The value of ``Ref: logical_id``."""
        ...

    def get_att(self, logical_id: str, attribute: str, location: Location | None) -> Any:
        """The value of ``Fn::GetAtt: [logical_id, attribute]``; raises if unknown."""
        ...

    def names(self) -> list[str]:
        """Every logical ID, for "did you mean" hints."""
        ...


def is_intrinsic(value: Any) -> bool:
    """True for ``{"Ref": ...}`` and ``{"Fn::X": ...}`` (one key, as CloudFormation requires)."""
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return isinstance(key, str) and (key == "Ref" or key.startswith("Fn::"))
    return False


def scalar_text(value: Any) -> str | None:
    """A scalar as CloudFormation turns it into a string; ``None`` if not a scalar."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _did_you_mean(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=3)
    return f"did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Resolver:
    """Rewrites template values until no intrinsic function is left."""

    def __init__(
        self,
        *,
        parameters: Mapping[str, str | list[str]],
        pseudo_parameters: Mapping[str, Any],
        mappings: Mapping[str, Any] | None = None,
        conditions: Mapping[str, Any] | None = None,
        resources: ResourceTable | None = None,
        region: str = "us-east-1",
    ) -> None:
        self._parameters = parameters
        self._pseudo = pseudo_parameters
        self._mappings: Mapping[str, Any] = mappings or {}
        self._resources = resources
        self._region = region
        self._conditions = ConditionEvaluator(conditions or {}, self._resolve_for_condition)
        self._in_condition = False

    # -- public -------------------------------------------------------------------

    def resolve(self, value: Any, location: Location | None = None) -> Any:
        """Resolve every intrinsic in ``value``; may return :data:`NO_VALUE`."""
        here = location_of(value) or location
        if isinstance(value, dict):
            if is_intrinsic(value):
                name, args = next(iter(value.items()))
                return self._call(name, args, here)
            out = LocatedDict(
                location=location_of(value),
                key_locations=getattr(value, "key_locations", None),
            )
            for key, item in value.items():
                resolved = self.resolve(item, _key_loc(value, key, here))
                if resolved is not NO_VALUE:
                    out[key] = resolved
            return out
        if isinstance(value, list):
            items = (self.resolve(item, here) for item in value)
            return [item for item in items if item is not NO_VALUE]
        return value

    def condition(self, name: str, location: Location | None = None) -> bool:
        """Whether the named condition holds."""
        return self._conditions.is_true(name, location)

    def has_condition(self, name: str) -> bool:
        """Whether ``name`` is defined in the Conditions section."""
        return name in self._conditions

    def resolve_text(self, value: Any, what: str, location: Location | None) -> str:
        """Resolve ``value`` and insist on a string (numbers and booleans are stringified)."""
        resolved = self.resolve(value, location)
        text = scalar_text(resolved)
        if text is None:
            raise IntrinsicFunctionError(
                f"{what} must be a string, got {_describe(resolved)}",
                location=location_of(value) or location,
            )
        return text

    # -- dispatch -----------------------------------------------------------------

    def _call(self, name: str, args: Any, loc: Location | None) -> Any:
        handler = self._FUNCTIONS.get(name)
        if handler is None:
            hint = "supported: " + ", ".join(sorted(self._FUNCTIONS))
            if name in ("Fn::Transform", "Fn::ImportValue"):
                hint = {
                    "Fn::Transform": "macros run only in CloudFormation; inline the result",
                    "Fn::ImportValue": (
                        "overcast runs one stack, so there are no exports to import; "
                        "pass the value as a Parameter instead"
                    ),
                }[name]
            raise IntrinsicFunctionError(
                f"intrinsic function '{name}' is not supported here", location=loc, hint=hint
            )
        return handler(self, args, loc)

    def _resolve_for_condition(self, value: Any, location: Location | None) -> Any:
        outer, self._in_condition = self._in_condition, True
        try:
            return self.resolve(value, location)
        finally:
            self._in_condition = outer

    # -- Ref / GetAtt ---------------------------------------------------------------

    def _ref(self, args: Any, loc: Location | None) -> Any:
        name = self.resolve(args, loc) if is_intrinsic(args) else args
        if not isinstance(name, str):
            raise IntrinsicFunctionError(
                f"Ref needs a name, got {_describe(name)}", location=loc, hint="write !Ref MyParam"
            )
        return self.lookup(name, loc, what="Ref")

    def lookup(self, name: str, loc: Location | None, *, what: str = "Ref") -> Any:
        """The value ``Ref: name`` would give."""
        if name in self._parameters:
            return self._parameters[name]
        if name in self._pseudo:
            return self._pseudo[name]
        if self._resources is not None and name in self._resources:
            if self._in_condition:
                raise IntrinsicFunctionError(
                    f"Conditions cannot refer to resource '{name}'",
                    location=loc,
                    hint="conditions may use only parameters, mappings and pseudo parameters",
                )
            return self._resources.ref(name, loc)
        if name.startswith("AWS::"):
            raise UnresolvedReferenceError(
                f"unknown pseudo parameter '{name}'",
                location=loc,
                hint="known: " + ", ".join(sorted(self._pseudo)),
            )
        candidates = [*self._parameters, *(self._resources.names() if self._resources else [])]
        raise UnresolvedReferenceError(
            f"{what} to '{name}', which is neither a parameter nor a resource",
            location=loc,
            hint=_did_you_mean(name, candidates) or "declare it under Parameters or Resources",
        )

    def _get_att(self, args: Any, loc: Location | None) -> Any:
        if isinstance(args, str):
            resource, _, attribute = args.partition(".")
        elif isinstance(args, list) and len(args) == 2 and isinstance(args[0], str):
            resource = args[0]
            attribute = self.resolve_text(args[1], "Fn::GetAtt attribute", loc)
        else:
            raise IntrinsicFunctionError(
                "Fn::GetAtt needs [Resource, Attribute]", location=loc, hint="write !GetAtt Fn.Arn"
            )
        return self.attribute(resource, attribute, loc)

    def attribute(self, resource: str, attribute: str, loc: Location | None) -> Any:
        """The value ``Fn::GetAtt: [resource, attribute]`` would give."""
        if self._in_condition:
            raise IntrinsicFunctionError(
                "Conditions cannot use Fn::GetAtt",
                location=loc,
                hint="conditions may use only parameters, mappings and pseudo parameters",
            )
        if self._resources is None or resource not in self._resources:
            known = self._resources.names() if self._resources else []
            raise UnresolvedReferenceError(
                f"Fn::GetAtt {resource}.{attribute}: there is no resource '{resource}'",
                location=loc,
                hint=_did_you_mean(resource, known) or "declare it under Resources",
            )
        return self._resources.get_att(resource, attribute, loc)

    # -- Fn::Sub ------------------------------------------------------------------

    def _sub(self, args: Any, loc: Location | None) -> str:
        variables: dict[str, Any] = {}
        if isinstance(args, str):
            template = args
        elif (
            isinstance(args, list)
            and len(args) == 2
            and isinstance(args[0], str)
            and isinstance(args[1], dict)
        ):
            template = args[0]
            variables = {key: self.resolve(value, loc) for key, value in args[1].items()}
        else:
            raise IntrinsicFunctionError(
                "Fn::Sub needs a string or [string, {Var: value}]",
                location=loc,
                hint="write !Sub 'arn:${AWS::Partition}:...' or !Sub ['${A}-x', {A: !Ref P}]",
            )

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                # ${!Literal} is how Sub writes a literal "${Literal}".
                return "${" + name[1:] + "}"
            if name in variables:
                value = variables[name]
            elif "." in name and name not in self._parameters:
                resource, _, attribute = name.partition(".")
                value = self.attribute(resource, attribute, loc)
            else:
                value = self.lookup(name, loc, what=f"Fn::Sub variable ${{{name}}} refers")
            text = scalar_text(value)
            if text is None:
                raise IntrinsicFunctionError(
                    f"Fn::Sub variable ${{{name}}} is {_describe(value)}, not a string",
                    location=loc,
                    hint="use !Join to combine a list into a string",
                )
            return text

        return _SUB_VARIABLE.sub(substitute, template)

    # -- list and string functions -----------------------------------------------------

    def _list_arg(self, value: Any, what: str, loc: Location | None) -> list[Any]:
        resolved = self.resolve(value, loc)
        if not isinstance(resolved, list):
            raise IntrinsicFunctionError(
                f"{what} needs a list, got {_describe(resolved)}", location=loc
            )
        return resolved

    def _args(
        self, args: Any, count: int, name: str, usage: str, loc: Location | None
    ) -> list[Any]:
        if not isinstance(args, list) or len(args) != count:
            raise IntrinsicFunctionError(
                f"{name} needs {count} arguments", location=loc, hint=f"write {usage}"
            )
        return args

    def _join(self, args: Any, loc: Location | None) -> str:
        delimiter, values = self._args(args, 2, "Fn::Join", "!Join [',', [a, b]]", loc)
        sep = self.resolve_text(delimiter, "Fn::Join delimiter", loc)
        parts = [
            self.resolve_text(item, "each item joined by Fn::Join", loc)
            for item in self._list_arg(values, "Fn::Join", loc)
        ]
        return sep.join(parts)

    def _select(self, args: Any, loc: Location | None) -> Any:
        index_arg, values = self._args(args, 2, "Fn::Select", "!Select [0, [a, b]]", loc)
        index_text = self.resolve_text(index_arg, "Fn::Select index", loc)
        items = self._list_arg(values, "Fn::Select", loc)
        if not index_text.isdigit() or int(index_text) >= len(items):
            raise IntrinsicFunctionError(
                f"Fn::Select index {index_text} is out of range for a list of {len(items)}",
                location=loc,
            )
        return items[int(index_text)]

    def _split(self, args: Any, loc: Location | None) -> list[str]:
        delimiter, source = self._args(args, 2, "Fn::Split", "!Split [',', 'a,b']", loc)
        sep = self.resolve_text(delimiter, "Fn::Split delimiter", loc)
        if not sep:
            raise IntrinsicFunctionError("Fn::Split delimiter cannot be empty", location=loc)
        return self.resolve_text(source, "Fn::Split source", loc).split(sep)

    def _find_in_map(self, args: Any, loc: Location | None) -> Any:
        default: Any = NO_VALUE
        if isinstance(args, list) and len(args) == 4 and isinstance(args[3], dict):
            # AWS::LanguageExtensions adds a fourth {DefaultValue: ...} argument.
            default = args[3].get("DefaultValue", NO_VALUE)
            args = args[:3]
        map_arg, top_arg, second_arg = self._args(
            args, 3, "Fn::FindInMap", "!FindInMap [MapName, TopKey, SecondKey]", loc
        )
        map_name = self.resolve_text(map_arg, "Fn::FindInMap map name", loc)
        top = self.resolve_text(top_arg, "Fn::FindInMap top-level key", loc)
        second = self.resolve_text(second_arg, "Fn::FindInMap second-level key", loc)
        mapping = self._mappings.get(map_name)
        if not isinstance(mapping, dict):
            raise UnresolvedReferenceError(
                f"Fn::FindInMap: there is no mapping '{map_name}'",
                location=loc,
                hint=_did_you_mean(map_name, list(self._mappings)) or "declare it under Mappings",
            )
        level = mapping.get(top)
        if not isinstance(level, dict) or second not in level:
            if default is not NO_VALUE:
                return self.resolve(default, loc)
            missing = f"'{top}'" if not isinstance(level, dict) else f"'{top}' → '{second}'"
            known = level if isinstance(level, dict) else mapping
            raise UnresolvedReferenceError(
                f"Fn::FindInMap: mapping '{map_name}' has no key {missing}",
                location=loc,
                hint="known keys: " + ", ".join(sorted(known)),
            )
        return self.resolve(level[second], loc)

    def _base64(self, args: Any, loc: Location | None) -> str:
        text = self.resolve_text(args, "Fn::Base64 argument", loc)
        return base64.b64encode(text.encode()).decode("ascii")

    def _get_azs(self, args: Any, loc: Location | None) -> list[str]:
        region = self.resolve_text(args, "Fn::GetAZs region", loc) or self._region
        # A local machine has no zones; three lettered ones is what most regions have.
        return [f"{region}{letter}" for letter in "abc"]

    def _cidr(self, args: Any, loc: Location | None) -> list[str]:
        block, count, bits = self._args(args, 3, "Fn::Cidr", "!Cidr [10.0.0.0/16, 4, 8]", loc)
        try:
            network = ipaddress.ip_network(self.resolve_text(block, "Fn::Cidr block", loc))
            how_many = int(self.resolve_text(count, "Fn::Cidr count", loc))
            host_bits = int(self.resolve_text(bits, "Fn::Cidr cidrBits", loc))
            subnets = network.subnets(new_prefix=network.max_prefixlen - host_bits)
            result = [str(net) for _, net in zip(range(how_many), subnets, strict=False)]
        except ValueError as exc:
            raise IntrinsicFunctionError(f"Fn::Cidr: {exc}", location=loc) from None
        if len(result) < how_many:
            raise IntrinsicFunctionError(
                f"Fn::Cidr: {network} holds only {len(result)} subnets of that size", location=loc
            )
        return result

    def _if(self, args: Any, loc: Location | None) -> Any:
        name, when_true, when_false = self._args(
            args, 3, "Fn::If", "!If [ConditionName, value_if_true, value_if_false]", loc
        )
        if not isinstance(name, str):
            raise IntrinsicFunctionError("Fn::If needs a condition name first", location=loc)
        return self.resolve(when_true if self.condition(name, loc) else when_false, loc)

    def _length(self, args: Any, loc: Location | None) -> int:
        return len(self._list_arg(args, "Fn::Length", loc))

    def _to_json_string(self, args: Any, loc: Location | None) -> str:
        return json.dumps(self.resolve(args, loc), separators=(",", ":"))

    _FUNCTIONS: Final[Mapping[str, Callable[[Resolver, Any, Location | None], Any]]] = {
        "Ref": _ref,
        "Fn::GetAtt": _get_att,
        "Fn::Sub": _sub,
        "Fn::Join": _join,
        "Fn::Select": _select,
        "Fn::Split": _split,
        "Fn::FindInMap": _find_in_map,
        "Fn::Base64": _base64,
        "Fn::GetAZs": _get_azs,
        "Fn::Cidr": _cidr,
        "Fn::If": _if,
        "Fn::Length": _length,
        "Fn::ToJsonString": _to_json_string,
    }


def _key_loc(mapping: Any, key: str, default: Location | None) -> Location | None:
    if isinstance(mapping, LocatedDict):
        return mapping.key_locations.get(key, default)
    return default


def _describe(value: Any) -> str:
    if value is NO_VALUE:
        return "AWS::NoValue"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "empty"
    return repr(value)
