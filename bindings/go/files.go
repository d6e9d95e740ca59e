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
	var listing Listing
	err := c.jsonCall(ctx, image, nil, &listing, func(cl *C.stevedore_client, i, o *C.char, out **C.char) C.stevedore_status {
		var p *C.char
		if path != "" {
			p = cString(path)
			defer free(p)
		}
		return C.stevedore_files(cl, i, p, o, out)
	})
	if err != nil {
		return nil, err
	}
	return &listing, nil
}

// ReadFile returns the bytes of one file of image, following symlinks inside the image only.
func (c *Client) ReadFile(ctx context.Context, image, path string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	img, p := cString(image), cString(path)
	defer free(img)
	defer free(p)
	var out *C.uint8_t
	var n C.size_t
	if err := call(func() C.stevedore_status { return C.stevedore_read_file(c.ptr, img, p, nil, &out, &n) }); err != nil {
		return nil, err
	}
	return takeBytes(out, n), nil
}

// Export writes the merged root of image as one uncompressed tar to path (whole or not at all).
func (c *Client) Export(ctx context.Context, image, path string) error {
	var report map[string]uint64
	return c.jsonCall(ctx, image, nil, &report, func(cl *C.stevedore_client, i, o *C.char, out **C.char) C.stevedore_status {
		p := cString(path)
		defer free(p)
		return C.stevedore_export(cl, i, p, o, out)
	})
}

// Diff compares the merged roots of images a and b.
func (c *Client) Diff(ctx context.Context, a, b string) (*DiffReport, error) {
	var report DiffReport
	err := c.jsonCall(ctx, a, nil, &report, func(cl *C.stevedore_client, i, o *C.char, out **C.char) C.stevedore_status {
		other := cString(b)
		defer free(other)
		return C.stevedore_diff(cl, i, other, o, out)
	})
	if err != nil {
		return nil, err
	}
	return &report, nil
}
