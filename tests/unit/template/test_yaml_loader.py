"""YAML/JSON parsing: short-form tags, locations, and syntax errors with file:line:col."""

from __future__ import annotations

import pytest

from overcast.template import Location, TemplateSyntaxError
from overcast.template.yaml_loader import LocatedDict, parse_yaml


def parse(text: str) -> object:
    return parse_yaml(text, "template.yaml")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("!Ref Stage", {"Ref": "Stage"}),
        ("!Sub 'x-${AWS::Region}'", {"Fn::Sub": "x-${AWS::Region}"}),
        ("!Sub ['${A}', {A: b}]", {"Fn::Sub": ["${A}", {"A": "b"}]}),
        ("!GetAtt Fn.Arn", {"Fn::GetAtt": ["Fn", "Arn"]}),
        ("!GetAtt Db.Endpoint.Address", {"Fn::GetAtt": ["Db", "Endpoint.Address"]}),
        ("!GetAtt [Fn, Arn]", {"Fn::GetAtt": ["Fn", "Arn"]}),
        ("!If [C, a, b]", {"Fn::If": ["C", "a", "b"]}),
        ("!Join [',', [a, !Ref B]]", {"Fn::Join": [",", ["a", {"Ref": "B"}]]}),
        ("!Select [0, !Split [',', 'a,b']]", {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]}),
        ("!FindInMap [M, a, b]", {"Fn::FindInMap": ["M", "a", "b"]}),
        ("!Equals [!Ref A, b]", {"Fn::Equals": [{"Ref": "A"}, "b"]}),
        (
            "!And [!Condition A, !Condition B]",
            {"Fn::And": [{"Condition": "A"}, {"Condition": "B"}]},
        ),
        ("!Or [!Condition A, !Condition B]", {"Fn::Or": [{"Condition": "A"}, {"Condition": "B"}]}),
        ("!Not [!Condition A]", {"Fn::Not": [{"Condition": "A"}]}),
        ("!Base64 hi", {"Fn::Base64": "hi"}),
        ("!GetAZs ''", {"Fn::GetAZs": ""}),
        ("!ImportValue Shared", {"Fn::ImportValue": "Shared"}),
        ("!Cidr [10.0.0.0/16, 2, 8]", {"Fn::Cidr": ["10.0.0.0/16", 2, 8]}),
    ],
)
def test_short_form_tag_becomes_its_long_form(source: str, expected: object) -> None:
    assert parse(f"value: {source}") == {"value": expected}


def test_nested_tags_inside_mappings_are_long_form() -> None:
    doc = parse("a: !Sub\n  - '${X}-y'\n  - X: !Ref P\n")
    assert doc == {"a": {"Fn::Sub": ["${X}-y", {"X": {"Ref": "P"}}]}}


def test_mappings_and_keys_know_their_location() -> None:
    doc = parse("Resources:\n  Hello:\n    Type: X\n")
    assert isinstance(doc, LocatedDict)
    assert doc.key_location("Resources") == Location("template.yaml", 1, 1)
    hello = doc["Resources"]["Hello"]
    assert isinstance(hello, LocatedDict)
    assert doc["Resources"].key_location("Hello") == Location("template.yaml", 2, 3)
    assert hello.key_location("Type") == Location("template.yaml", 3, 5)


def test_a_tag_knows_where_it_is_written() -> None:
    doc = parse("a: 1\nb: !Ref X\n")
    assert isinstance(doc, LocatedDict)
    assert doc["b"].location == Location("template.yaml", 2, 4)


def test_dates_stay_strings_as_in_cloudformation() -> None:
    assert parse("Version: 2012-10-17") == {"Version": "2012-10-17"}


def test_keys_are_kept_as_written() -> None:
    assert parse("On: 1\n0200: x\n") == {"On": 1, "0200": "x"}


def test_json_with_tab_indentation_parses_with_locations() -> None:
    doc = parse('{\n\t"Resources": {\n\t\t"A": {"Type": "X"}\n\t}\n}')
    assert doc == {"Resources": {"A": {"Type": "X"}}}
    assert isinstance(doc, LocatedDict)
    assert doc["Resources"].key_location("A") == Location("template.yaml", 3, 3)


def test_bad_indentation_points_at_the_line() -> None:
    text = "Resources:\n  Hello:\n    Type: X\n   Properties: {}\n"
    with pytest.raises(TemplateSyntaxError) as info:
        parse(text)
    assert info.value.location is not None
    assert info.value.location.line == 4
    assert str(info.value).startswith("template.yaml:4:")
    assert "indent" in str(info.value)


def test_tab_indentation_is_explained() -> None:
    with pytest.raises(TemplateSyntaxError, match="tabs"):
        parse("a:\n\tb: 1\n")


def test_unknown_tag_is_named() -> None:
    with pytest.raises(TemplateSyntaxError, match="unknown tag '!Reff'") as info:
        parse("a: !Reff X\n")
    assert str(info.value.location) == "template.yaml:1:4"


def test_duplicate_key_points_at_the_second_and_names_the_first() -> None:
    with pytest.raises(TemplateSyntaxError, match="duplicate key 'a'") as info:
        parse("a: 1\nb: 2\na: 3\n")
    assert info.value.location == Location("template.yaml", 3, 1)
    assert "line 1" in info.value.hint


def test_getatt_without_a_dot_is_a_syntax_error() -> None:
    with pytest.raises(TemplateSyntaxError, match=r"Resource\.Attribute"):
        parse("a: !GetAtt Hello\n")


def test_unclosed_flow_sequence_reports_position() -> None:
    with pytest.raises(TemplateSyntaxError) as info:
        parse("a: [1, 2\n")
    assert info.value.location is not None
    assert info.value.location.file == "template.yaml"


@pytest.mark.parametrize(
    ("data", "location"),
    [
        (b"\x05", Location("template.yaml", 1, 1)),  # found by atheris
        (b"Resources:\n  A: x\x00y\n", Location("template.yaml", 2, 7)),
        (b'{"a":\n\t"\x1b"}', Location("template.yaml", 2, 3)),
    ],
)
def test_a_control_character_is_a_syntax_error_at_its_position(
    data: bytes, location: Location
) -> None:
    with pytest.raises(TemplateSyntaxError, match="control character U\\+00") as info:
        parse(data.decode())
    assert info.value.location == location
    assert "printable" in info.value.hint


def test_a_json_surrogate_pair_is_the_character_it_spells() -> None:
    # json.dumps writes 😀 as "\ud83d\ude00"; PyYAML reads each escape on its own
    assert parse('{"a\\ud83d\\ude00": "\\ud83d\\ude00"}') == {"a😀": "😀"}


@pytest.mark.parametrize("text", ['a: "\\ud83d"', '"\\udc00": 1', 'a: !Sub "x\\ud800"'])
def test_half_a_surrogate_pair_is_a_syntax_error(text: str) -> None:
    with pytest.raises(TemplateSyntaxError, match="half of a UTF-16 surrogate pair") as info:
        parse(text)
    assert info.value.location is not None
    assert info.value.location.line == 1
