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
)

// optionsString marshals the non-empty fields of opts as an options JSON
// C string (NULL when none is set), for the caller to free.
func optionsString(opts map[string]any) (*C.char, error) {
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
		return nil, nil
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	return cString(string(b)), nil
}

// Append adds layers (tar files, kept as they are, or directories) onto
// base and writes the result to dst; base's layers are mounted or skipped,
// never downloaded. compression ("gzip", "zstd", "none") and platform (to
// choose from an index) may be "".
func (c *Client) Append(ctx context.Context, base string, layers []string, dst, compression, platform string) (*BuildReport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts, err := optionsString(map[string]any{"layers": layers, "compression": compression, "platform": platform})
	if err != nil {
		return nil, err
	}
	defer free(opts)
	b, d := cString(base), cString(dst)
	defer free(b)
	defer free(d)
	var result *C.char
	callErr := call(func() C.stevedore_status { return C.stevedore_append(c.ptr, b, d, opts, &result) })
	return buildReport(result, callErr)
}

// IndexCreate writes an OCI index of images, one entry per platform, to dst.
func (c *Client) IndexCreate(ctx context.Context, images []string, dst string) (*BuildReport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	list, err := json.Marshal(images)
	if err != nil {
		return nil, err
	}
	l, d := cString(string(list)), cString(dst)
	defer free(l)
	defer free(d)
	var result *C.char
	callErr := call(func() C.stevedore_status { return C.stevedore_index_create(c.ptr, l, d, &result) })
	return buildReport(result, callErr)
}

// IndexAdd writes index with image added (replacing its platform's entry)
// to dst; the other entries and the index's annotations stay.
func (c *Client) IndexAdd(ctx context.Context, index, image, dst string) (*BuildReport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	x, i, d := cString(index), cString(image), cString(dst)
	defer free(x)
	defer free(i)
	defer free(d)
	var result *C.char
	callErr := call(func() C.stevedore_status { return C.stevedore_index_add(c.ptr, x, i, d, &result) })
	return buildReport(result, callErr)
}

// IndexRemove writes index without platform's image ("os/arch[/variant]")
// to dst; ErrNotFound when it has none.
func (c *Client) IndexRemove(ctx context.Context, index, platform, dst string) (*BuildReport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	x, p, d := cString(index), cString(platform), cString(dst)
	defer free(x)
	defer free(p)
	defer free(d)
	var result *C.char
	callErr := call(func() C.stevedore_status { return C.stevedore_index_remove(c.ptr, x, p, d, &result) })
	return buildReport(result, callErr)
}

// Flatten squashes image's layers into one (its merged root, reproducibly)
// and writes it to dst; for an index every image, or only platform's when
// platform is not "".
func (c *Client) Flatten(ctx context.Context, image, dst, platform string) (*BuildReport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts, err := optionsString(map[string]any{"platform": platform})
	if err != nil {
		return nil, err
	}
	defer free(opts)
	i, d := cString(image), cString(dst)
	defer free(i)
	defer free(d)
	var result *C.char
	callErr := call(func() C.stevedore_status { return C.stevedore_flatten(c.ptr, i, d, opts, &result) })
	return buildReport(result, callErr)
}

// LayerRemove writes image without its layer at position (0 is the
// bottom) to dst; ErrInvalidInput when there is no such layer.
func (c *Client) LayerRemove(ctx context.Context, image string, position int, dst, platform string) (*BuildReport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts, err := optionsString(map[string]any{"platform": platform})
	if err != nil {
		return nil, err
	}
	defer free(opts)
	i, d := cString(image), cString(dst)
	defer free(i)
	defer free(d)
	var result *C.char
	callErr := call(func() C.stevedore_status {
		return C.stevedore_layer_remove(c.ptr, i, C.size_t(position), d, opts, &result)
	})
	return buildReport(result, callErr)
}

// LayerReplace writes image with its layer at position replaced by layer
// (a tar file, kept as it is, or a directory) to dst.
func (c *Client) LayerReplace(ctx context.Context, image string, position int, layer, dst, platform string) (*BuildReport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts, err := optionsString(map[string]any{"platform": platform})
	if err != nil {
		return nil, err
	}
	defer free(opts)
	i, l, d := cString(image), cString(layer), cString(dst)
	defer free(i)
	defer free(l)
	defer free(d)
	var result *C.char
	callErr := call(func() C.stevedore_status {
		return C.stevedore_layer_replace(c.ptr, i, C.size_t(position), l, d, opts, &result)
	})
	return buildReport(result, callErr)
}
