package stevedore

/*
#include <stdint.h>
#include <stdlib.h>
#include "stevedore.h"
*/
import "C"

import "context"

// BuildReport is what a build, append, mutate, rebase or index call wrote.
type BuildReport struct {
	Destination  string `json:"destination"`
	Digest       string `json:"digest"`
	MediaType    string `json:"media_type"`
	BlobsCopied  int    `json:"blobs_copied"`
	BlobsMounted int    `json:"blobs_mounted"`
	BlobsSkipped int    `json:"blobs_skipped"`
}

// Build builds the image spec describes (the README's spec format: any
// value that marshals to it) and writes it to dst; relative paths in the
// spec are taken from baseDir ("" for the current directory).
func (c *Client) Build(ctx context.Context, spec any, baseDir, dst string) (*BuildReport, error) {
	return jsonResult[BuildReport](ctx, nil, []any{jsonArg{spec}, optional(baseDir), dst}, func(_ *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_build(c.ptr, a[0], a[1], a[2], out)
	})
}

// Mutate changes image's config and annotations as mutation says
// ({"config": {"env": [...]}, "annotations": {...}, "platform": "os/arch"})
// and writes the result to dst; for an index only platform's image changes.
func (c *Client) Mutate(ctx context.Context, image string, mutation any, dst string) (*BuildReport, error) {
	return jsonResult[BuildReport](ctx, nil, []any{image, jsonArg{mutation}, dst}, func(_ *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_mutate(c.ptr, a[0], a[1], a[2], out)
	})
}

// Rebase puts newBase's layers where oldBase's are at the bottom of image
// and writes the result to dst; ErrInvalidInput when oldBase is not its base.
func (c *Client) Rebase(ctx context.Context, image, oldBase, newBase, dst string) (*BuildReport, error) {
	return jsonResult[BuildReport](ctx, nil, []any{image, oldBase, newBase, dst}, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_rebase(c.ptr, a[0], a[1], a[2], a[3], opts, out)
	})
}
