"""Stevedore for Python: copy, inspect and fetch OCI container images without
a daemon, through libstevedore's C ABI. The distribution is `stevedore-oci`
and the import name `stevedore_oci`, so that OpenStack's `stevedore` can be
installed beside it; the wheel bundles libstevedore (`STEVEDORE_LIB`
overrides it with another build of the library).

    import stevedore_oci
    stevedore_oci.copy("docker://localhost:5000/app:1.0", "oci:/mirror/app:1.0")

A `Client` carries registry options (credentials, TLS, retries) and the token
cache; it is safe to share between threads. Every error kind has its
exception class:

>>> import stevedore_oci
>>> stevedore_oci.version() == stevedore_oci.__version__
True
>>> try:
...     stevedore_oci.inspect("oci:/nonexistent/layout:1.0")
... except stevedore_oci.NotFoundError as e:
...     print(e.kind)
not_found
"""

import ctypes
import json
from dataclasses import dataclass

from . import _native
from ._native import call, call_bytes, call_json, call_judged, call_string, encode, options, take_bytes, take_string
from .errors import (  # noqa: F401  (re-exported)
    CancelledError, DeniedError, DigestMismatchError, InvalidInputError, NetworkError,
    NotFoundError, PanicError, PolicyError, RateLimitedError, StevedoreError, StevedoreIOError,
    UnauthorizedError, UnsupportedError,
)

__version__ = "0.1.0"

__all__ = [
    "Client", "Manifest", "Server", "build", "mutate", "copy", "generate_key_pair", "gc", "sync", "inspect", "tags", "delete", "manifest", "blob",
    "blob_to_file", "manifest_digest", "raw_manifest", "raw_config", "files", "read_file", "export", "diff", "sbom", "version", "abi_version",
    "StevedoreError", "InvalidInputError", "NotFoundError", "UnauthorizedError", "DeniedError", "DigestMismatchError",
    "UnsupportedError", "NetworkError", "StevedoreIOError", "PolicyError", "RateLimitedError", "CancelledError", "PanicError",
]


def version() -> str:
    """The library's version."""
    return _native.lib.stevedore_version().decode()


def abi_version() -> int:
    """The library's ABI version."""
    return _native.lib.stevedore_abi_version()


@dataclass(frozen=True)
class Manifest:
    """A manifest as a runtime consumes it: media type, digest, size, the
    parsed JSON, and the exact bytes the digest is of."""

    media_type: str
    digest: str
    size: int
    json: dict
    raw: bytes


class _Handle:
    """Owns a library handle: made by the function `_new` from options,
    released once by `_free`; a context manager that releases it on exit."""

    _new = _free = ""

    def __init__(self, opts):
        self._handle = None
        handle = ctypes.c_void_p()
        call(self._new, opts, ctypes.byref(handle))
        self._handle = handle

    def _release(self):
        if self._handle:
            getattr(_native.lib, self._free)(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._release()

    def __del__(self):
        self._release()


class Client(_Handle):
    """A registry client: options and a token cache shared by every call and
    thread that uses it. Options are those of `stevedore_client_new`
    (`credentials={"host:port": {"username": …, "password": …}}` — bound
    to that registry, never sent to another — `auth_file`, `tls_verify`,
    `insecure`, `plain_http`, `cert_dir`, `connect_timeout_secs`,
    `read_timeout_secs`, `max_retries`, `chunk_size`, …)."""

    _new, _free = "stevedore_client_new", "stevedore_client_free"

    def __init__(self, **client_options):
        super().__init__(options(**client_options))

    def close(self):
        """Releases the client; later calls fail."""
        self._release()

    def _live(self):
        if not self._handle:
            raise InvalidInputError("the client is closed")
        return self._handle

    def _json(self, name, *args):
        return call_json(name, self._live(), *args)

    def _bytes(self, name, *args) -> bytes:
        return call_bytes(name, self._live(), *args)

    def copy(self, src: str, dst: str, all: bool = False, platform: str = None, platforms=None,
             jobs: int = None, progress=None, referrers: bool = False,
             preserve_digests: bool = False, compress_format: str = None,
             compress_level: int = None) -> dict:
        """Copies an image; returns what was done (digest, blobs copied, …).

        `platform` chooses one image from an index, `platforms` a subset
        written as a new index, `all` every image. `referrers` brings the
        image's signatures and attached artifacts along; `preserve_digests`
        fails rather than convert for a destination that cannot hold the
        image as it is. `compress_format` ("gzip" or "zstd") recompresses
        the layers, at `compress_level` (gzip 1-9, zstd 1-22) when given; the
        new layers are listed in the report's "recompressed". `progress`, a callable, receives each event as a dict
        (from worker threads); returning False (or raising) cancels the copy,
        which then raises CancelledError.
        """
        callback = _native.PROGRESS(_progress_trampoline(progress)) if progress else _native.PROGRESS()
        opts = options(all=all or None, platform=platform, platforms=platforms, jobs=jobs,
                       referrers=referrers or None, preserve_digests=preserve_digests or None,
                       compress_format=compress_format, compress_level=compress_level)
        return self._json("stevedore_copy", encode(src), encode(dst), opts, callback, None)

    def sync(self, pairs, all: bool = False, jobs: int = None, progress=None,
             referrers: bool = False) -> list:
        """Runs many copies: `pairs` is a list of (src, dst). Returns one result
        per pair, `{"src", "dst", "outcome": {"status": "copied" | "skipped" |
        "failed", …}}`; one failure does not stop the others. `referrers`
        brings each image's signatures and attached artifacts along."""
        callback = _native.PROGRESS(_progress_trampoline(progress)) if progress else _native.PROGRESS()
        job_list = json.dumps([{"src": src, "dst": dst} for src, dst in pairs]).encode()
        opts = options(all=all or None, jobs=jobs, referrers=referrers or None)
        return self._json("stevedore_sync", job_list, opts, callback, None)

    def build(self, spec: dict, dst: str, base_dir: str = None) -> dict:
        """Builds the image `spec` describes (the README's spec format, as a
        dict) and writes it to `dst`; relative paths are taken from
        `base_dir` (default: the current directory)."""
        return self._json("stevedore_build", json.dumps(spec).encode(), encode(base_dir), encode(dst))

    def append(self, base: str, layers, dst: str, compression: str = None,
               platform: str = None) -> dict:
        """Adds `layers` (tar files or directories) onto `base`, written to `dst`."""
        opts = options(layers=[str(p) for p in layers], compression=compression, platform=platform)
        return self._json("stevedore_append", encode(base), encode(dst), opts)

    def mutate(self, image: str, dst: str, config: dict = None, annotations: dict = None,
               platform: str = None) -> dict:
        """Changes `image`'s config (`{"env": [...], "cmd": [...], ...}`) and
        annotations, written to `dst`; for an index, `platform`'s image only."""
        mutation = options(config=config, annotations=annotations, platform=platform) or b"{}"
        return self._json("stevedore_mutate", encode(image), mutation, encode(dst))

    def rebase(self, image: str, old_base: str, new_base: str, dst: str,
               platform: str = None) -> dict:
        """Puts `new_base`'s layers where `old_base`'s are in `image`."""
        return self._json("stevedore_rebase", encode(image), encode(old_base), encode(new_base),
                          encode(dst), options(platform=platform))

    def index_create(self, images, dst: str) -> dict:
        """Writes an index of `images`, one per platform, to `dst`."""
        return self._json("stevedore_index_create", json.dumps(list(images)).encode(), encode(dst))

    def index_add(self, index: str, image: str, dst: str) -> dict:
        """Writes `index` with `image` added (replacing its platform's entry) to `dst`."""
        return self._json("stevedore_index_add", encode(index), encode(image), encode(dst))

    def index_remove(self, index: str, platform: str, dst: str) -> dict:
        """Writes `index` without `platform`'s image to `dst`."""
        return self._json("stevedore_index_remove", encode(index), encode(platform), encode(dst))

    def flatten(self, image: str, dst: str, platform: str = None) -> dict:
        """Squashes `image`'s layers into one (its merged root), written to
        `dst`; for an index every image, or `platform`'s only."""
        return self._json("stevedore_flatten", encode(image), encode(dst), options(platform=platform))

    def layer_remove(self, image: str, position: int, dst: str, platform: str = None) -> dict:
        """Writes `image` without its layer at `position` (0 is the bottom) to `dst`."""
        return self._json("stevedore_layer_remove", encode(image), position, encode(dst),
                          options(platform=platform))

    def layer_replace(self, image: str, position: int, layer: str, dst: str,
                      compression: str = None, platform: str = None) -> dict:
        """Writes `image` with its layer at `position` replaced by `layer` (a
        tar file or a directory) to `dst`."""
        return self._json("stevedore_layer_replace", encode(image), position, encode(str(layer)),
                          encode(dst), options(compression=compression, platform=platform))

    def inspect(self, image: str, platform: str = None) -> dict:
        """Describes an image (digest, platform, layers, config)."""
        return self._json("stevedore_inspect", encode(image), options(platform=platform))

    def tags(self, image: str) -> list:
        """The tags of a repository or layout."""
        return self._json("stevedore_tags", encode(image), None)

    def delete(self, image: str) -> None:
        """Deletes an image (a layout's tag, or a registry's manifest)."""
        call("stevedore_delete", self._live(), encode(image), None)

    def raw_manifest(self, image: str) -> bytes:
        """The manifest exactly as stored."""
        return self._bytes("stevedore_inspect_raw", encode(image), None)

    def raw_config(self, image: str, platform: str = None) -> bytes:
        """The config exactly as stored."""
        return self._bytes("stevedore_inspect_raw", encode(image), options(config=True, platform=platform))

    def manifest(self, image: str, platform: str = None) -> Manifest:
        """The manifest, parsed and raw; with `platform`, an index is followed
        to that platform's image."""
        out, raw, length = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_size_t()
        call(
            "stevedore_manifest", self._live(), encode(image), options(platform=platform),
            ctypes.byref(out), ctypes.byref(raw), ctypes.byref(length),
        )
        shape = json.loads(take_string(out))
        return Manifest(shape["media_type"], shape["digest"], shape["size"], shape["manifest"], take_bytes(raw, length))

    def blob(self, image: str, digest: str, max_size: int = None) -> bytes:
        """A blob, verified, in memory."""
        return self._bytes("stevedore_blob", encode(image), encode(digest), options(max_size=max_size))

    def export_static(self, src: str, dir: str, name: str = None, tag: str = None,
                      nginx_conf: str = None, caddyfile: str = None, base_url: str = None,
                      all: bool = False, platform: str = None, referrers: bool = False) -> dict:
        """Exports an image into the static registry tree `dir` (which nginx,
        Caddy or any static host serves as /v2) as `name:tag`, and writes the
        nginx snippet and/or Caddyfile for everything the tree serves.
        Returns the report (`copy`, `image`, `pull`, `manifests_served`, …)."""
        opts = options(name=name, tag=tag, nginx_conf=nginx_conf, caddyfile=caddyfile,
                       base_url=base_url, all=all or None, platform=platform,
                       referrers=referrers or None)
        return self._json("stevedore_static", encode(src), encode(dir), opts)

    def files(self, image: str, path: str = None, platform: str = None) -> dict:
        """The merged root filesystem without unpacking it: `{"name", "layers",
        "entries": [{"path", "type", "mode", "uid", "gid", "size", "mtime",
        "link_target"?, "layer"}]}`; with `path`, one directory's entries."""
        return self._json("stevedore_files", encode(image), encode(path) if path else None,
                          options(platform=platform))

    def read_file(self, image: str, path: str, platform: str = None, max_size: int = None) -> bytes:
        """One file's bytes, symlinks followed inside the image only."""
        return self._bytes("stevedore_read_file", encode(image), encode(path),
                           options(platform=platform, max_size=max_size))

    def export(self, image: str, path, platform: str = None) -> dict:
        """Writes the merged root as one uncompressed tar to `path` (whole or
        not at all); returns `{"entries", "content_bytes"}`."""
        return self._json("stevedore_export", encode(image), encode(str(path)), options(platform=platform))

    def diff(self, a: str, b: str, platform: str = None) -> dict:
        """`{"added", "removed", "changed": [{"path", "changes"}]}` from `a` to `b`."""
        return self._json("stevedore_diff", encode(a), encode(b), options(platform=platform))

    def sbom(self, image: str, format: str = None, platform: str = None,
             attach: bool = False) -> tuple:
        """The image's software bill of materials: `(document, report)`, the
        document as text (`format` "spdx-json", the default, or
        "cyclonedx-json") and the report `{"name", "format", "artifact_type",
        "os", "packages", "ecosystems", "warnings", "layers", "attached"?}`.
        With `attach`, the document is also pushed to the image as a referrer."""
        document, report = ctypes.c_void_p(), ctypes.c_void_p()
        call("stevedore_sbom", self._live(), encode(image),
             options(format=format, platform=platform, attach=attach or None),
             ctypes.byref(document), ctypes.byref(report))
        return take_string(document), json.loads(take_string(report))

    def sign(self, image: str, key_pem: str, password: str = None, identity: str = None,
             annotations: dict = None) -> dict:
        """Signs an image as cosign does (its `sha256-<hex>.sig` tag); `key_pem`
        is a PEM private key (PKCS#8, SEC1 or cosign's encrypted key)."""
        opts = options(key=key_pem, password=password, identity=identity, annotations=annotations)
        return self._json("stevedore_sign", encode(image), opts)

    def verify(self, image: str, keys, identity: str = None, annotations: dict = None) -> dict:
        """Verifies an image's signatures against PEM public `keys`, default
        deny: returns the report when a signature satisfies the policy, and
        raises `PolicyError` (its `report` attribute holds every verdict)
        when none does."""
        opts = options(keys=list(keys), identity=identity, annotations=annotations)
        return call_judged("stevedore_verify", self._live(), encode(image), opts)

    def attach(self, image: str, artifact: bytes, artifact_type: str, media_type: str = None,
               annotations: dict = None) -> dict:
        """Attaches `artifact` (an SBOM, a scan result) to an image as an OCI
        1.1 referrer; returns its manifest's digest and the subject's."""
        opts = options(artifact_type=artifact_type, media_type=media_type, annotations=annotations)
        return self._json("stevedore_attach", encode(image), bytes(artifact), len(artifact), opts)

    def referrers(self, image: str, artifact_type: str = None) -> list:
        """The artifacts attached to an image (descriptors), of one type if given."""
        return self._json("stevedore_referrers", encode(image), options(artifact_type=artifact_type))

    def blob_to_file(self, image: str, digest: str, path) -> None:
        """A blob, verified and streamed, written to `path` only when complete."""
        call("stevedore_blob_to_file", self._live(), encode(image), encode(digest), encode(str(path)), None)

    def verify_policy(self, image: str, policy) -> dict:
        """Judges an image by a containers-policy.json(5) file (`policy`, a
        path), as `stevedore verify --policy`: returns the decision `{image,
        policy, scope, accepted, reasons}` when accepted, and raises
        `PolicyError` (its `report` attribute holds the decision) when not."""
        return call_judged("stevedore_verify", self._live(), encode(image), options(policy=str(policy)))

    def tag(self, image: str, tag: str) -> str:
        """Gives the manifest `image` names the tag `tag` too, in the same
        repository or layout, without pulling it; returns its digest."""
        return self._json("stevedore_tag", encode(image), encode(tag), None)["digest"]

    def digest(self, image: str) -> str:
        """The digest of the manifest `image` names (an index's own)."""
        return self._json("stevedore_digest", encode(image), None)["digest"]

    def list_tags(self, image: str) -> dict:
        """The tags of a repository or layout as skopeo's `list-tags` prints
        them: `{"Repository": ..., "Tags": [...]}`."""
        return self._json("stevedore_list_tags", encode(image), None)

    def catalog(self, registry: str) -> list:
        """The repositories of the registry `registry` (`host[:port]`)."""
        return self._json("stevedore_catalog", encode(registry), None)

    def login(self, registry: str, username: str, password: str) -> str:
        """Checks the credentials with `registry` (`host[:port]`) and keeps
        them in the client's `auth_file` (or the primary auth file of
        containers-auth.json(5)); returns the file written. A refusal raises
        `UnauthorizedError` and writes nothing."""
        return call_string("stevedore_login", self._live(), encode(registry),
                           options(username=username, password=password))

    def logout(self, registry: str) -> str:
        """Removes the login for `registry` from the auth file; returns the
        file written. `NotFoundError` when it held none."""
        return call_string("stevedore_logout", self._live(), encode(registry), None)


class Server(_Handle):
    """A registry server (the OCI distribution API) running in this process.
    Options are those of `stevedore_server_start` (`addr`, default
    `127.0.0.1:0`; `root`, default in memory; `htpasswd`, `read_only`,
    `tls_cert`, `tls_key`, `upload_expiry_secs`, `max_uploads`,
    `max_connections`, `head_timeout_secs`, `idle_timeout_secs`,
    `max_head_bytes`, `max_blob_bytes`, `fsync`; `s3`, a dict with `url`
    `s3://BUCKET/PREFIX` and optionally `endpoint`, `region`, `path_style`,
    `access_key_id`, `secret_access_key`, `session_token`, `profile`, the
    rest from the AWS environment; `redirect`). Use it as a context
    manager, or call `stop()`."""

    _new, _free = "stevedore_server_start", "stevedore_server_stop"

    def __init__(self, **server_options):
        super().__init__(options(**server_options))

    @property
    def address(self) -> str:
        """`HOST:PORT`, the registry part of image references."""
        if not self._handle:
            raise InvalidInputError("the server is stopped")
        return _native.lib.stevedore_server_address(self._handle).decode()

    def stop(self):
        """Stops serving; waits for open connections to close."""
        self._release()


def gc(root=None, s3: dict = None, dry_run: bool = False, grace_secs: float = None) -> dict:
    """Removes the blobs of a registry's store (`root`, a directory, or `s3`,
    as `Server`'s) that no manifest reaches, written before the grace period
    (default 3600 s); safe while servers serve. Returns `{dry_run, marked,
    kept_recent, removed, removed_bytes, removed_uploads}`."""
    opts = options(root=None if root is None else str(root), s3=s3, dry_run=dry_run,
                   grace_secs=grace_secs)
    return call_json("stevedore_gc", opts)


def generate_key_pair(password: str = None) -> tuple:
    """A new key pair as cosign writes it: (private PEM, encrypted with
    `password` or $COSIGN_PASSWORD; public PEM)."""
    pair = call_json("stevedore_generate_key_pair", options(password=password))
    return pair["private_key"], pair["public_key"]


def manifest_digest(manifest: bytes) -> str:
    """The digest of a manifest's exact bytes (skopeo's `manifest-digest`)."""
    data = bytes(manifest)
    return call_json("stevedore_manifest_digest", data, len(data), None)["digest"]


def _progress_trampoline(progress):
    """A C progress callback calling `progress`; False or an exception cancels."""

    def trampoline(_userdata, event_json):
        try:
            return 1 if progress(json.loads(event_json.decode())) is False else 0
        except BaseException:  # noqa: BLE001 - any failure in the callback cancels the copy
            return 1

    return trampoline


_default = None


def _client() -> Client:
    global _default
    if _default is None:
        _default = Client()
    return _default


def copy(src: str, dst: str, all: bool = False, platform: str = None, platforms=None,
         jobs: int = None, progress=None) -> dict:
    """Copies an image with a client of default options (see Client.copy)."""
    return _client().copy(src, dst, all=all, platform=platform, platforms=platforms, jobs=jobs,
                          progress=progress)


def sync(pairs, all: bool = False, jobs: int = None, progress=None) -> list:
    """Runs many copies with a client of default options (see Client.sync)."""
    return _client().sync(pairs, all=all, jobs=jobs, progress=progress)


def build(spec: dict, dst: str, base_dir: str = None) -> dict:
    """Builds an image with a client of default options (see Client.build)."""
    return _client().build(spec, dst, base_dir=base_dir)


def mutate(image: str, dst: str, config: dict = None, annotations: dict = None,
           platform: str = None) -> dict:
    """Changes an image with a client of default options (see Client.mutate)."""
    return _client().mutate(image, dst, config=config, annotations=annotations, platform=platform)


def inspect(image: str, platform: str = None) -> dict:
    """Describes an image with a client of default options."""
    return _client().inspect(image, platform=platform)


def tags(image: str) -> list:
    """Lists tags with a client of default options."""
    return _client().tags(image)


def delete(image: str) -> None:
    """Deletes an image with a client of default options."""
    _client().delete(image)


def manifest(image: str, platform: str = None) -> Manifest:
    """Fetches a manifest with a client of default options."""
    return _client().manifest(image, platform=platform)


def blob(image: str, digest: str, max_size: int = None) -> bytes:
    """Fetches a blob with a client of default options."""
    return _client().blob(image, digest, max_size=max_size)


def blob_to_file(image: str, digest: str, path) -> None:
    """Fetches a blob to a file with a client of default options."""
    _client().blob_to_file(image, digest, path)


def files(image: str, path: str = None, platform: str = None) -> dict:
    """Lists an image's files with a client of default options (see Client.files)."""
    return _client().files(image, path=path, platform=platform)


def read_file(image: str, path: str, platform: str = None, max_size: int = None) -> bytes:
    """Reads one file of an image with a client of default options."""
    return _client().read_file(image, path, platform=platform, max_size=max_size)


def export(image: str, path, platform: str = None) -> dict:
    """Exports an image's merged root to a tar file with a client of default options."""
    return _client().export(image, path, platform=platform)


def diff(a: str, b: str, platform: str = None) -> dict:
    """Compares two images' files with a client of default options."""
    return _client().diff(a, b, platform=platform)


def sbom(image: str, format: str = None, platform: str = None, attach: bool = False) -> tuple:
    """An image's SBOM with a client of default options (see Client.sbom)."""
    return _client().sbom(image, format=format, platform=platform, attach=attach)


def raw_manifest(image: str) -> bytes:
    """The exact manifest bytes, with a client of default options."""
    return _client().raw_manifest(image)


def raw_config(image: str, platform: str = None) -> bytes:
    """The exact config bytes, with a client of default options."""
    return _client().raw_config(image, platform=platform)


def __dir__():
    """The public names only (PEP 562): the module's helpers stay out of `dir()`."""
    return sorted(__all__)
