"""The package as installed: the bundled library is the one loaded (no
environment variable), the version, a precise `__all__`, type hints on the
public API, and the docstring examples run as doctests."""

import doctest
import importlib.metadata
import inspect
import os
from pathlib import Path

import stevedore_oci


def test_the_bundled_library_is_loaded_when_no_override_is_set():
    if "STEVEDORE_LIB" in os.environ:
        return
    loaded = Path(stevedore_oci._native.lib._name)
    assert loaded.parent == Path(stevedore_oci.__file__).parent
    assert loaded.name.startswith("libstevedore")


def test_version_is_the_distributions_and_the_librarys():
    assert stevedore_oci.__version__ == importlib.metadata.version("stevedore-oci")
    assert stevedore_oci.__version__ == stevedore_oci.version()


def test_all_names_every_public_name_and_only_those():
    public = {
        name
        for name, value in vars(stevedore_oci).items()
        if not name.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value))
        and value.__module__ in ("stevedore_oci", "stevedore_oci.errors")
    }
    assert set(stevedore_oci.__all__) == public
    assert len(stevedore_oci.__all__) == len(set(stevedore_oci.__all__))
    assert dir(stevedore_oci) == sorted(stevedore_oci.__all__), "helpers show in dir()"


def test_the_public_functions_are_typed():
    untyped = [
        name
        for name in stevedore_oci.__all__
        if inspect.isfunction(getattr(stevedore_oci, name))
        and inspect.signature(getattr(stevedore_oci, name)).return_annotation is inspect.Signature.empty
    ]
    assert untyped == []
    assert (Path(stevedore_oci.__file__).parent / "py.typed").exists()


def test_the_docstring_examples_run():
    result = doctest.testmod(stevedore_oci, raise_on_error=False)
    assert result.attempted > 0
    assert result.failed == 0
