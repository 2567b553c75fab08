import ast
import pathlib

import overcast.runtime as runtime


def test_every_exported_name_exists_and_is_listed_once() -> None:
    assert len(runtime.__all__) == len(set(runtime.__all__))
    for name in runtime.__all__:
        assert hasattr(runtime, name), name


def test_runtime_does_not_import_template_or_http() -> None:
    for path in pathlib.Path(runtime.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("overcast.template"), path
                assert not node.module.startswith("overcast.gateway"), path
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] not in ("http", "httpx", "uvicorn"), path


def test_package_docstring_says_what_it_owns_and_may_import() -> None:
    doc = runtime.__doc__ or ""
    assert "Owns" in doc
    assert "may import" in doc
