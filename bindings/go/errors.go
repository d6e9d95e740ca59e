package stevedore

import (
	"encoding/json"
	"errors"
)

// Error kinds, as in Error.Kind.
const (
	KindInvalidInput   = "invalid_input"
	KindNotFound       = "not_found"
	KindUnauthorized   = "unauthorized"
	KindDenied         = "denied"
	KindDigestMismatch = "digest_mismatch"
	KindUnsupported    = "unsupported"
	KindNetwork        = "network"
	KindIO             = "io"
	KindPolicy         = "policy"
	KindRateLimited    = "rate_limited"
	KindCancelled      = "cancelled"
	KindPanic          = "panic"
)

// Sentinels for errors.Is: errors.Is(err, stevedore.ErrNotFound).
var (
	ErrInvalidInput   = &Error{Kind: KindInvalidInput}
	ErrNotFound       = &Error{Kind: KindNotFound}
	ErrUnauthorized   = &Error{Kind: KindUnauthorized}
	ErrDenied         = &Error{Kind: KindDenied}
	ErrDigestMismatch = &Error{Kind: KindDigestMismatch}
	ErrUnsupported    = &Error{Kind: KindUnsupported}
	ErrNetwork        = &Error{Kind: KindNetwork}
	ErrIO             = &Error{Kind: KindIO}
	ErrPolicy         = &Error{Kind: KindPolicy}
	ErrRateLimited    = &Error{Kind: KindRateLimited}
	ErrCancelled      = &Error{Kind: KindCancelled}
)

// RegistryError is one entry of a registry's error list.
type RegistryError struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Detail  json.RawMessage `json:"detail,omitempty"`
}

// Error is a failed Stevedore call.
type Error struct {
	Status         int             `json:"-"`
	Kind           string          `json:"kind"`
	Message        string          `json:"message"`
	HTTPStatus     int             `json:"http_status"`
	RegistryErrors []RegistryError `json:"registry_errors"`
}

func (e *Error) Error() string { return e.Kind + ": " + e.Message }

// Is matches errors of the same kind, so that errors.Is works with the sentinels.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Kind == e.Kind
}
