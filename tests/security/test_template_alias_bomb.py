"""A few hundred bytes of nested YAML aliases are refused at load, with file:line.

PyYAML keeps an alias as one shared node, but every stage after the load walks the
template as a tree, so anchors nested seven deep under a property overcast ignores
expanded to millions of nodes: ``overcast validate`` spun for seconds, and a deploy
cost the platform the same on every restart. cfn-lint refuses the same shape once its
expansion passes 250,000 nodes (aws-cloudformation/cfn-lint#4670); so does overcast.
"""

from __future__ import annotations

import itertools
import re
import subprocess
from pathlib import Path

import pytest

from fuzz.hang_guard import no_hang
from overcast.template import TemplateSyntaxError
from overcast.template.loader import load_template
from overcast.template.yaml_loader import parse_yaml
from process_helpers import overcast_argv

HEAD = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      CodeUri: src/
      Runtime: python3.11
      Unknown:
"""


def bomb(levels: int, fan_out: int = 9) -> str:
    """A template whose ``Unknown`` property holds ``fan_out ** levels`` scalars."""
    names = [chr(ord("a") + level) for level in range(levels)]
    lines = [f"        {names[0]}: &{names[0]} [{', '.join(['x'] * fan_out)}]"]
    for previous, name in itertools.pairwise(names):
        lines.append(f"        {name}: &{name} [{', '.join([f'*{previous}'] * fan_out)}]")
    return HEAD + "\n".join(lines) + "\n"


def app_with(tmp_path: Path, template: str) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (tmp_path / "template.yaml").write_text(template)
    return tmp_path


def test_the_reported_template_is_a_few_hundred_bytes() -> None:
    assert len(bomb(7).encode()) < 700


def test_overcast_validate_refuses_nested_aliases_with_file_and_line(tmp_path: Path) -> None:
    app = app_with(tmp_path, bomb(7))
    # The old code answered "is valid" after seconds of CPU; the timeout only stops a
    # hang from stalling the suite, the assertions below are what fail.
    done = subprocess.run(
        [*overcast_argv(), "validate", str(app)], capture_output=True, timeout=120, check=False
    )
    said = done.stderr.decode()
    assert done.returncode == 1, said
    template = re.escape(str(app / "template.yaml"))
    assert re.search(rf"{template}:\d+:\d+: YAML aliases expand to more than", said), said
    assert "is valid" not in said


def test_the_loader_refuses_nested_aliases_before_walking_them() -> None:
    with no_hang("loading an alias bomb"), pytest.raises(TemplateSyntaxError) as caught:
        load_template(bomb(8), filename="template.yaml", base_dir="/nonexistent")
    error = caught.value
    assert error.location is not None
    assert error.location.file == "template.yaml"
    # the alias that carries the expansion over the limit: inside the bomb, not line 1
    assert error.location.line > HEAD.count("\n")
    assert "\n" not in str(error)


def test_many_aliases_of_one_large_list_are_refused_too() -> None:
    # no nesting, only repetition: 1000 aliases of a 1000-item list
    text = "a: &a [" + ", ".join(["x"] * 1000) + "]\nb: [" + ", ".join(["*a"] * 1000) + "]\n"
    with no_hang("loading repeated aliases"), pytest.raises(TemplateSyntaxError):
        parse_yaml(text, "template.yaml")


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    # the walk of such a template never ends (it raised RecursionError)
    text = HEAD + "        loop: &loop {again: *loop}\n"
    with pytest.raises(TemplateSyntaxError, match="refers to the collection it is written in"):
        load_template(text, filename="template.yaml", base_dir="/nonexistent")


def test_ordinary_anchor_reuse_still_loads() -> None:
    # well below the limit: a shared environment reused by 50 functions
    shared = "&env {Vars: {" + ", ".join(f"K{i}: v{i}" for i in range(100)) + "}}"
    text = f"Shared: {shared}\n" + "".join(f"F{i}: *env\n" for i in range(50))
    doc = parse_yaml(text, "template.yaml")
    assert doc["F49"]["Vars"]["K99"] == "v99"
