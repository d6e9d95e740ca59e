"""Loading libstevedore and calling it: one place that turns a status into the
right exception, reading the error in the same thread right after the call."""

import ctypes
import ctypes.util
import json
import os
from pathlib import Path

from . import errors

ABI_VERSION = 6


def _find_library() -> str:
    """The library to load: `STEVEDORE_LIB` when set (an override, for a
    library built elsewhere), else the one the wheel bundles beside this file
    (`libstevedore.abi3.so`), else one the system linker finds."""
    explicit = os.environ.get("STEVEDORE_LIB")
    if explicit:
        return explicit
    bundled = sorted(Path(__file__).parent.glob("libstevedore*.so"))
    if bundled:
        return str(bundled[0])
    found = ctypes.util.find_library("stevedore")
    if found:
        return found
    raise ImportError(
        "libstevedore not found: reinstall with `pip install ./bindings/python` (it builds and bundles "
        "the library), or set STEVEDORE_LIB to the path of a libstevedore.so"
    )


lib = ctypes.CDLL(_find_library())

_status = ctypes.c_int
_str = ctypes.c_char_p
_out_str = ctypes.POINTER(ctypes.c_void_p)
_out_len = ctypes.POINTER(ctypes.c_size_t)

#: int (*)(void *userdata, const char *event_json); non-zero cancels.
PROGRESS = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p)

_SIGNATURES = {
    "stevedore_version": ([], ctypes.c_char_p),
    "stevedore_abi_version": ([], ctypes.c_uint32),
    "stevedore_last_error_message": ([], ctypes.c_char_p),
    "stevedore_last_error_json": ([], ctypes.c_char_p),
    "stevedore_string_free": ([ctypes.c_void_p], None),
    "stevedore_bytes_free": ([ctypes.c_void_p, ctypes.c_size_t], None),
    "stevedore_client_new": ([_str, _out_str], _status),
    "stevedore_client_free": ([ctypes.c_void_p], None),
    "stevedore_copy": ([ctypes.c_void_p, _str, _str, _str, PROGRESS, ctypes.c_void_p, _out_str], _status),
    "stevedore_sync": ([ctypes.c_void_p, _str, _str, PROGRESS, ctypes.c_void_p, _out_str], _status),
    "stevedore_inspect": ([ctypes.c_void_p, _str, _str, _out_str], _status),
    "stevedore_inspect_raw": ([ctypes.c_void_p, _str, _str, _out_str, _out_len], _status),
    "stevedore_tags": ([ctypes.c_void_p, _str, _str, _out_str], _status),
    "stevedore_delete": ([ctypes.c_void_p, _str, _str], _status),
    "stevedore_manifest": ([ctypes.c_void_p, _str, _str, _out_str, _out_str, _out_len], _status),
    "stevedore_blob": ([ctypes.c_void_p, _str, _str, _str, _out_str, _out_len], _status),
    "stevedore_blob_to_file": ([ctypes.c_void_p, _str, _str, _str, _str], _status),
    "stevedore_files": ([ctypes.c_void_p, _str, _str, _str, _out_str], _status),
    "stevedore_read_file": ([ctypes.c_void_p, _str, _str, _str, _out_str, _out_len], _status),
    "stevedore_export": ([ctypes.c_void_p, _str, _str, _str, _out_str], _status),
    "stevedore_diff": ([ctypes.c_void_p, _str, _str, _str, _out_str], _status),
    "stevedore_sbom": ([ctypes.c_void_p, _str, _str, _out_str, _out_str], _status),
    "stevedore_sign": ([ctypes.c_void_p, _str, _str, _out_str], _status),
    "stevedore_verify": ([ctypes.c_void_p, _str, _str, _out_str], _status),
    "stevedore_generate_key_pair": ([_str, _out_str], _status),
    "stevedore_attach": ([ctypes.c_void_p, _str, ctypes.c_char_p, ctypes.c_size_t, _str, _out_str], _status),
    "stevedore_referrers": ([ctypes.c_void_p, _str, _str, _out_str], _status),
    "stevedore_static": ([ctypes.c_void_p, _str, _str, _str, _out_str], _status),
    "stevedore_build": ([ctypes.c_void_p, _str, _str, _str, _out_str], _status),
    "stevedore_append": ([ctypes.c_void_p, _str, _str, _str, _out_str], _status),
    "stevedore_mutate": ([ctypes.c_void_p, _str, _str, _str, _out_str], _status),
    "stevedore_rebase": ([ctypes.c_void_p, _str, _str, _str, _str, _str, _out_str], _status),
    "stevedore_index_create": ([ctypes.c_void_p, _str, _str, _out_str], _status),
    "stevedore_index_add": ([ctypes.c_void_p, _str, _str, _str, _out_str], _status),
    "stevedore_index_remove": ([ctypes.c_void_p, _str, _str, _str, _out_str], _status),
    "stevedore_flatten": ([ctypes.c_void_p, _str, _str, _str, _out_str], _status),
    "stevedore_layer_remove": ([ctypes.c_void_p, _str, ctypes.c_size_t, _str, _str, _out_str], _status),
    "stevedore_layer_replace": ([ctypes.c_void_p, _str, ctypes.c_size_t, _str, _str, _str, _out_str], _status),
    "stevedore_server_start": ([_str, _out_str], _status),
    "stevedore_gc": ([_str, _out_str], _status),
    "stevedore_login": ([ctypes.c_void_p, _str, _str, _out_str], _status),
    "stevedore_logout": ([ctypes.c_void_p, _str, _str, _out_str], _status),
    "stevedore_tag": ([ctypes.c_void_p, _str, _str, _str, _out_str], _status),
    "stevedore_digest": ([ctypes.c_void_p, _str, _str, _out_str], _status),
    "stevedore_manifest_digest": ([ctypes.c_char_p, ctypes.c_size_t, _str, _out_str], _status),
    "stevedore_list_tags": ([ctypes.c_void_p, _str, _str, _out_str], _status),
    "stevedore_catalog": ([ctypes.c_void_p, _str, _str, _out_str], _status),
    "stevedore_server_address": ([ctypes.c_void_p], ctypes.c_char_p),
    "stevedore_server_stop": ([ctypes.c_void_p], None),
}

for _name, (_args, _ret) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.argtypes = _args
    _fn.restype = _ret

if lib.stevedore_abi_version() != ABI_VERSION:
    raise ImportError(
        f"libstevedore has ABI version {lib.stevedore_abi_version()}, this binding needs {ABI_VERSION}"
    )


def encode(value):
    """A Python string (or None) as a C string argument."""
    return None if value is None else str(value).encode()


def options(**values):
    """Options as the JSON the ABI takes, leaving out unset values."""
    present = {k: v for k, v in values.items() if v is not None}
    return json.dumps(present).encode() if present else None


def call(name, *args):
    """Calls `name`; on a non-zero status raises the error of this call."""
    status = getattr(lib, name)(*args)
    if status != 0:
        raw = lib.stevedore_last_error_json()
        detail = json.loads(raw.decode()) if raw else {"kind": "unknown", "message": f"status {status}"}
        raise errors.from_detail(status, detail)


def take_string(pointer: ctypes.c_void_p) -> str:
    """The string Stevedore returned, freed."""
    try:
        return ctypes.string_at(pointer.value).decode()
    finally:
        lib.stevedore_string_free(pointer)


def take_bytes(pointer: ctypes.c_void_p, length: ctypes.c_size_t) -> bytes:
    """The buffer Stevedore returned, freed."""
    try:
        return ctypes.string_at(pointer.value, length.value) if length.value else b""
    finally:
        lib.stevedore_bytes_free(pointer, length)


def call_string(name, *args) -> str:
    """Calls `name` with a string out-parameter after `args`; returns the string."""
    out = ctypes.c_void_p()
    call(name, *args, ctypes.byref(out))
    return take_string(out)


def call_json(name, *args):
    """Calls `name` with a JSON out-parameter after `args`; returns it parsed."""
    return json.loads(call_string(name, *args))


def call_bytes(name, *args) -> bytes:
    """Calls `name` with a buffer and length out-parameter after `args`; returns the bytes."""
    out, length = ctypes.c_void_p(), ctypes.c_size_t()
    call(name, *args, ctypes.byref(out), ctypes.byref(length))
    return take_bytes(out, length)


def call_judged(name, *args):
    """As `call_json`, for a verb that writes its JSON also when it refuses
    (verify): a `PolicyError` raised carries it parsed as `report`."""
    out = ctypes.c_void_p()
    try:
        call(name, *args, ctypes.byref(out))
    except errors.PolicyError as e:
        e.report = json.loads(take_string(out)) if out.value else None
        raise
    return json.loads(take_string(out))
