from pathlib import Path

import pytest

from overcast.runtime.config import FunctionConfig
from overcast.runtime.deps import deps_dir_for, prepare_dependencies, requirements_hash
from overcast.runtime.errors import DependencyInstallError


def _fn(name: str, code: Path, requirements: str | None) -> FunctionConfig:
    code.mkdir(parents=True, exist_ok=True)
    if requirements is not None:
        (code / "requirements.txt").write_text(requirements)
    return FunctionConfig(name=name, handler="app.handler", code_dir=str(code))


def test_hash_depends_on_text_and_python_version() -> None:
    assert requirements_hash("a==1", "3.11") != requirements_hash("a==2", "3.11")
    assert requirements_hash("a==1", "3.11") != requirements_hash("a==1", "3.12")
    assert requirements_hash("a==1", "3.11") == requirements_hash("a==1", "3.11")


def test_functions_with_the_same_requirements_share_a_directory(tmp_path: Path) -> None:
    one = _fn("one", tmp_path / "one", "requests==2.0\n")
    two = _fn("two", tmp_path / "two", "requests==2.0\n")
    three = _fn("three", tmp_path / "three", "requests==3.0\n")
    state = str(tmp_path / "state")
    assert deps_dir_for(one, state) == deps_dir_for(two, state) != deps_dir_for(three, state)


def test_no_or_empty_requirements_means_no_dependency_set(tmp_path: Path) -> None:
    assert deps_dir_for(_fn("a", tmp_path / "a", None), str(tmp_path)) is None
    assert deps_dir_for(_fn("b", tmp_path / "b", "# nothing\n\n"), str(tmp_path)) is None


def test_local_package_installs_once_and_is_cached(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "tinypkg").mkdir(parents=True)
    (package / "tinypkg" / "__init__.py").write_text("VALUE = 42\n")
    (package / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "tinypkg"\nversion = "1.0"\n'
    )
    fn = _fn("f", tmp_path / "code", f"{package}\n")
    messages: list[str] = []
    state = str(tmp_path / "state")
    result = prepare_dependencies([fn], state, messages.append)
    assert (Path(result["f"]) / "tinypkg" / "__init__.py").exists()
    again: list[str] = []
    prepare_dependencies([fn], state, again.append)
    assert any("cached" in message for message in again)
    assert any("installed" in message for message in messages)


def test_failing_install_names_the_package_and_pip_output(tmp_path: Path) -> None:
    fn = _fn("f", tmp_path / "code", "not a valid requirement !!!\n")
    with pytest.raises(DependencyInstallError) as caught:
        prepare_dependencies([fn], str(tmp_path / "state"), None)
    assert "f" in str(caught.value)
    assert caught.value.output_tail
