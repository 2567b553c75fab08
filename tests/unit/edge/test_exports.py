import overcast.edge as edge


def test_every_exported_name_exists_and_is_listed_once() -> None:
    assert len(edge.__all__) == len(set(edge.__all__))
    for name in edge.__all__:
        assert hasattr(edge, name), name


def test_public_surface_is_exactly_the_documented_one() -> None:
    public = {name for name in vars(edge) if not name.startswith("_")}
    modules = {
        "asgi",
        "behaviors",
        "cache",
        "cache_policy",
        "compression",
        "conditional",
        "config",
        "credentials",
        "errors",
        "forwarding",
        "hosts",
        "origins",
        "policies",
        "recording",
    }
    assert public - modules == set(edge.__all__)
