import sys

import overcast.gateway as gateway


def test_every_exported_name_exists_and_is_listed_once() -> None:
    assert len(gateway.__all__) == len(set(gateway.__all__))
    for name in gateway.__all__:
        assert hasattr(gateway, name), name


def test_public_surface_is_exactly_the_documented_one() -> None:
    public = {name for name in vars(gateway) if not name.startswith("_")}
    modules = {
        "api_keys",
        "asgi",
        "client_limit",
        "auth_responses",
        "authorizers",
        "cors",
        "error_responses",
        "errors",
        "events",
        "jwks_cache",
        "jwt_authorizer",
        "lambda_authorizer",
        "messages",
        "quota",
        "recording",
        "responses",
        "route_limits",
        "route_table",
        "throttle",
    }
    assert public - modules == set(gateway.__all__)


def test_package_docstring_says_what_it_owns_and_may_import() -> None:
    doc = gateway.__doc__ or ""
    assert "Owns" in doc
    assert "May import" in doc


def test_gateway_imports_no_other_overcast_package() -> None:
    allowed = (
        "overcast.gateway",
        "overcast.errors",
        "overcast.asgi",
        "overcast.ids",
        "overcast.invoke",
        "overcast.template.model",
    )
    for name in list(sys.modules):
        module = sys.modules[name]
        if not name.startswith("overcast.gateway"):
            continue
        for value in vars(module).values():
            owner = getattr(value, "__module__", None)
            if isinstance(owner, str) and owner.startswith("overcast."):
                assert owner.startswith(allowed) or owner == "overcast.template", (name, owner)
