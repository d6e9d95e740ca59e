package stevedore

/*
#include <stdint.h>
#include <stdlib.h>
#include "stevedore.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"unsafe"
)

// call runs one C call and, on failure, reads the error on the same OS
// thread: the goroutine is pinned to its thread for the pair.
func call(f func() C.stevedore_status) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	status := f()
	if status == C.STEVEDORE_OK {
		return nil
	}
	e := &Error{Status: int(status), Kind: "unknown", Message: fmt.Sprintf("status %d", int(status))}
	if raw := C.stevedore_last_error_json(); raw != nil {
		_ = json.Unmarshal([]byte(C.GoString(raw)), e)
	}
	return e
}

func cString(s string) *C.char { return C.CString(s) }

// cOptions renders options as JSON, or NULL for nil.
func cOptions(options any) (*C.char, error) {
	if options == nil {
		return nil, nil
	}
	b, err := json.Marshal(options)
	if err != nil {
		return nil, err
	}
	return C.CString(string(b)), nil
}

// setOptions keeps the fields of opts that are set (not nil, not ""), or
// is nil (options NULL) when none is.
func setOptions(opts map[string]any) any {
	set := map[string]any{}
	for k, v := range opts {
		if s, ok := v.(string); ok && s == "" {
			continue
		}
		if v != nil {
			set[k] = v
		}
	}
	if len(set) == 0 {
		return nil
	}
	return set
}

func free(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

func takeString(p *C.char) string {
	defer C.stevedore_string_free(p)
	return C.GoString(p)
}

func takeBytes(p *C.uint8_t, n C.size_t) []byte {
	defer C.stevedore_bytes_free(p, n)
	return C.GoBytes(unsafe.Pointer(p), C.int(n))
}

// cBytes copies b into C memory for the call (NULL when empty); free it
// with freeBytes.
func cBytes(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(C.CBytes(b))
}

func freeBytes(p *C.uint8_t) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

// jsonArg is a string argument of a C call sent as the JSON of value.
type jsonArg struct{ value any }

// cArgs renders the string arguments of a C call: a string as itself, a
// jsonArg as its JSON, nil as NULL. Free them with freeAll, also on error.
func cArgs(args []any) ([]*C.char, error) {
	out := make([]*C.char, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case nil:
		case string:
			out[i] = cString(v)
		case jsonArg:
			b, err := json.Marshal(v.value)
			if err != nil {
				return out, err
			}
			out[i] = cString(string(b))
		default:
			return out, fmt.Errorf("stevedore: an argument of type %T", a)
		}
	}
	return out, nil
}

func freeAll(ps []*C.char) {
	for _, p := range ps {
		free(p)
	}
}

// cFunc is one C call, given the options JSON (NULL for none) and the
// rendered string arguments, in order.
type cFunc func(opts *C.char, args []*C.char) C.stevedore_status

// invoke runs the C call f: returns ctx's error when it is already done,
// renders args (see cArgs) and options (JSON, NULL for nil), runs f through
// call, and frees what it rendered.
func invoke(ctx context.Context, options any, args []any, f cFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a, err := cArgs(args)
	defer freeAll(a)
	if err != nil {
		return err
	}
	opts, err := cOptions(options)
	if err != nil {
		return err
	}
	defer free(opts)
	return call(func() C.stevedore_status { return f(opts, a) })
}

// jsonFunc is a C call that writes a JSON string to out.
type jsonFunc func(opts *C.char, args []*C.char, out **C.char) C.stevedore_status

// jsonInto runs f as invoke does and decodes its JSON result into result,
// also when the call failed but wrote one (verify does, with the report of
// a refusal); the call's error comes first.
func jsonInto(ctx context.Context, options any, args []any, result any, f jsonFunc) error {
	var out *C.char
	callErr := invoke(ctx, options, args, func(opts *C.char, a []*C.char) C.stevedore_status {
		return f(opts, a, &out)
	})
	if out != nil {
		if err := json.Unmarshal([]byte(takeString(out)), result); err != nil && callErr == nil {
			return err
		}
	}
	return callErr
}

// jsonResult runs f as invoke does and returns its JSON result decoded as
// a T, or nil and the error.
func jsonResult[T any](ctx context.Context, options any, args []any, f jsonFunc) (*T, error) {
	var result T
	if err := jsonInto(ctx, options, args, &result, f); err != nil {
		return nil, err
	}
	return &result, nil
}

// bytesResult runs f, a C call that writes a byte buffer to out and
// out_len, as invoke does and returns the bytes.
func bytesResult(ctx context.Context, options any, args []any,
	f func(opts *C.char, args []*C.char, out **C.uint8_t, n *C.size_t) C.stevedore_status) ([]byte, error) {
	var out *C.uint8_t
	var n C.size_t
	err := invoke(ctx, options, args, func(opts *C.char, a []*C.char) C.stevedore_status {
		return f(opts, a, &out, &n)
	})
	if err != nil {
		return nil, err
	}
	return takeBytes(out, n), nil
}

// optional is s as an argument, or nil (NULL) when s is "".
func optional(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// newHandle makes a library handle (a client, a server) with f, a C call
// that takes options JSON and writes the handle to out.
func newHandle[T any](options any, f func(opts *C.char, out **T) C.stevedore_status) (*T, error) {
	var ptr *T
	err := invoke(context.Background(), options, nil, func(opts *C.char, _ []*C.char) C.stevedore_status {
		return f(opts, &ptr)
	})
	return ptr, err
}
