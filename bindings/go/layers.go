package stevedore

/*
#include <stdint.h>
#include <stdlib.h>
#include "stevedore.h"
*/
import "C"

import "context"

// Append adds layers (tar files, kept as they are, or directories) onto
// base and writes the result to dst; base's layers are mounted or skipped,
// never downloaded. compression ("gzip", "zstd", "none") and platform (to
// choose from an index) may be "".
func (c *Client) Append(ctx context.Context, base string, layers []string, dst, compression, platform string) (*BuildReport, error) {
	options := setOptions(map[string]any{"layers": layers, "compression": compression, "platform": platform})
	return jsonResult[BuildReport](ctx, options, []any{base, dst}, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_append(c.ptr, a[0], a[1], opts, out)
	})
}

// IndexCreate writes an OCI index of images, one entry per platform, to dst.
func (c *Client) IndexCreate(ctx context.Context, images []string, dst string) (*BuildReport, error) {
	return jsonResult[BuildReport](ctx, nil, []any{jsonArg{images}, dst}, func(_ *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_index_create(c.ptr, a[0], a[1], out)
	})
}

// IndexAdd writes index with image added (replacing its platform's entry)
// to dst; the other entries and the index's annotations stay.
func (c *Client) IndexAdd(ctx context.Context, index, image, dst string) (*BuildReport, error) {
	return jsonResult[BuildReport](ctx, nil, []any{index, image, dst}, func(_ *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_index_add(c.ptr, a[0], a[1], a[2], out)
	})
}

// IndexRemove writes index without platform's image ("os/arch[/variant]")
// to dst; ErrNotFound when it has none.
func (c *Client) IndexRemove(ctx context.Context, index, platform, dst string) (*BuildReport, error) {
	return jsonResult[BuildReport](ctx, nil, []any{index, platform, dst}, func(_ *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_index_remove(c.ptr, a[0], a[1], a[2], out)
	})
}

// Flatten squashes image's layers into one (its merged root, reproducibly)
// and writes it to dst; for an index every image, or only platform's when
// platform is not "".
func (c *Client) Flatten(ctx context.Context, image, dst, platform string) (*BuildReport, error) {
	options := setOptions(map[string]any{"platform": platform})
	return jsonResult[BuildReport](ctx, options, []any{image, dst}, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_flatten(c.ptr, a[0], a[1], opts, out)
	})
}

// LayerRemove writes image without its layer at position (0 is the
// bottom) to dst; ErrInvalidInput when there is no such layer.
func (c *Client) LayerRemove(ctx context.Context, image string, position int, dst, platform string) (*BuildReport, error) {
	options := setOptions(map[string]any{"platform": platform})
	return jsonResult[BuildReport](ctx, options, []any{image, dst}, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_layer_remove(c.ptr, a[0], C.size_t(position), a[1], opts, out)
	})
}

// LayerReplace writes image with its layer at position replaced by layer
// (a tar file, kept as it is, or a directory) to dst.
func (c *Client) LayerReplace(ctx context.Context, image string, position int, layer, dst, platform string) (*BuildReport, error) {
	options := setOptions(map[string]any{"platform": platform})
	return jsonResult[BuildReport](ctx, options, []any{image, layer, dst}, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_layer_replace(c.ptr, a[0], C.size_t(position), a[1], a[2], opts, out)
	})
}
