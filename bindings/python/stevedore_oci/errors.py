"""One exception class per Stevedore error kind, each carrying the kind, the
message, the HTTP status and the registry's error list."""


class StevedoreError(Exception):
    """A Stevedore call failed."""

    kind = "unknown"

    def __init__(self, message, status=None, http_status=None, registry_errors=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.http_status = http_status
        self.registry_errors = registry_errors or []


class InvalidInputError(StevedoreError, ValueError):
    kind = "invalid_input"


class NotFoundError(StevedoreError, LookupError):
    kind = "not_found"


class UnauthorizedError(StevedoreError, PermissionError):
    kind = "unauthorized"


class DeniedError(StevedoreError, PermissionError):
    kind = "denied"


class DigestMismatchError(StevedoreError):
    kind = "digest_mismatch"


class UnsupportedError(StevedoreError):
    kind = "unsupported"


class NetworkError(StevedoreError, ConnectionError):
    kind = "network"


class StevedoreIOError(StevedoreError, OSError):
    kind = "io"


class PolicyError(StevedoreError):
    kind = "policy"


class RateLimitedError(StevedoreError):
    kind = "rate_limited"


class CancelledError(StevedoreError):
    kind = "cancelled"


class PanicError(StevedoreError):
    kind = "panic"


_BY_KIND = {
    cls.kind: cls
    for cls in (
        InvalidInputError, NotFoundError, UnauthorizedError, DeniedError, DigestMismatchError,
        UnsupportedError, NetworkError, StevedoreIOError, PolicyError, RateLimitedError,
        CancelledError, PanicError,
    )
}


def from_detail(status, detail):
    """The exception for a status and the ABI's error JSON."""
    cls = _BY_KIND.get(detail.get("kind"), StevedoreError)
    return cls(
        detail.get("message", ""),
        status=status,
        http_status=detail.get("http_status"),
        registry_errors=detail.get("registry_errors"),
    )
