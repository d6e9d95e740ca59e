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

// FileEntry is one path of an image's merged root filesystem.
type FileEntry struct {
	Path       string `json:"path"`
	Type       string `json:"type"` // file, dir, symlink, hardlink, char_device, block_device, fifo
	Mode       uint32 `json:"mode"`
	UID        uint64 `json:"uid"`
	GID        uint64 `json:"gid"`
	Size       uint64 `json:"size"`
	Mtime      uint64 `json:"mtime"`
	LinkTarget string `json:"link_target,omitempty"`
	Layer      int    `json:"layer"`
}

// Listing is what Files returns: the layers as read and the entries in path order.
type Listing struct {
	Name    string            `json:"name"`
	Layers  []json.RawMessage `json:"layers"`
	Entries []FileEntry       `json:"entries"`
}

// DiffReport is what Diff returns.
type DiffReport struct {
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	Changed []struct {
		Path    string   `json:"path"`
		Changes []string `json:"changes"`
	} `json:"changed"`
}

// Files lists the merged root filesystem of image without unpacking it;
// with path non-empty, only that directory's entries.
func (c *Client) Files(ctx context.Context, image, path string) (*Listing, error) {
	return jsonResult[Listing](ctx, nil, []any{image, optional(path)}, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_files(c.ptr, a[0], a[1], opts, out)
	})
}

// ReadFile returns the bytes of one file of image, following symlinks inside the image only.
func (c *Client) ReadFile(ctx context.Context, image, path string) ([]byte, error) {
	return bytesResult(ctx, nil, []any{image, path}, func(opts *C.char, a []*C.char, out **C.uint8_t, n *C.size_t) C.stevedore_status {
		return C.stevedore_read_file(c.ptr, a[0], a[1], opts, out, n)
	})
}

// Export writes the merged root of image as one uncompressed tar to path (whole or not at all).
func (c *Client) Export(ctx context.Context, image, path string) error {
	var report map[string]uint64
	return jsonInto(ctx, nil, []any{image, path}, &report, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_export(c.ptr, a[0], a[1], opts, out)
	})
}

// Diff compares the merged roots of images a and b.
func (c *Client) Diff(ctx context.Context, a, b string) (*DiffReport, error) {
	return jsonResult[DiffReport](ctx, nil, []any{a, b}, func(opts *C.char, args []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_diff(c.ptr, args[0], args[1], opts, out)
	})
}
