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

// Layer is one layer of an inspected image.
type Layer struct {
	Digest      string            `json:"digest"`
	MediaType   string            `json:"media_type"`
	Size        uint64            `json:"size"`
	Annotations map[string]string `json:"annotations"`
}

// Report describes an image.
type Report struct {
	Name         string            `json:"name"`
	Digest       string            `json:"digest"`
	MediaType    string            `json:"media_type"`
	ImageDigest  string            `json:"image_digest"`
	Platform     string            `json:"platform"`
	Created      string            `json:"created"`
	ConfigDigest string            `json:"config_digest"`
	Layers       []Layer           `json:"layers"`
	LayersSize   uint64            `json:"layers_size"`
	Env          []string          `json:"env"`
	Cmd          []string          `json:"cmd"`
	Labels       map[string]string `json:"labels"`
	// The keys skopeo's inspect prints sit beside ours in the report; they
	// are named here exactly, so that encoding/json's case-insensitive
	// matching never pours skopeo's Layers (digests) into layers.
	SkopeoFields
}

// SkopeoFields are the keys skopeo's inspect prints, with its names.
type SkopeoFields struct {
	SkopeoName    string            `json:"Name"`
	SkopeoDigest  string            `json:"Digest"`
	RepoTags      []string          `json:"RepoTags"`
	SkopeoCreated *string           `json:"Created"`
	DockerVersion string            `json:"DockerVersion"`
	SkopeoLabels  map[string]string `json:"Labels"`
	Architecture  string            `json:"Architecture"`
	Variant       string            `json:"Variant,omitempty"`
	Os            string            `json:"Os"`
	SkopeoLayers  []string          `json:"Layers"`
	LayersData    []SkopeoLayer     `json:"LayersData"`
	SkopeoEnv     []string          `json:"Env"`
}

// SkopeoLayer is one layer of skopeo's LayersData.
type SkopeoLayer struct {
	MIMEType    string            `json:"MIMEType"`
	Digest      string            `json:"Digest"`
	Size        uint64            `json:"Size"`
	Annotations map[string]string `json:"Annotations"`
}

// Manifest is a manifest as a runtime consumes it, with its exact bytes.
type Manifest struct {
	MediaType string          `json:"media_type"`
	Digest    string          `json:"digest"`
	Size      int             `json:"size"`
	JSON      json.RawMessage `json:"manifest"`
	Raw       []byte          `json:"-"`
}

// Inspect describes an image; platform ("os/arch[/variant]", or "") chooses from an index.
func (c *Client) Inspect(ctx context.Context, image, platform string) (*Report, error) {
	options := setOptions(map[string]any{"platform": platform})
	return jsonResult[Report](ctx, options, []any{image}, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_inspect(c.ptr, a[0], opts, out)
	})
}

// Tags lists the tags of a repository or layout.
func (c *Client) Tags(ctx context.Context, image string) ([]string, error) {
	var tags []string
	err := jsonInto(ctx, nil, []any{image}, &tags, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_tags(c.ptr, a[0], opts, out)
	})
	return tags, err
}

// Delete deletes an image: a layout's tag, or a registry's manifest.
func (c *Client) Delete(ctx context.Context, image string) error {
	return invoke(ctx, nil, []any{image}, func(opts *C.char, a []*C.char) C.stevedore_status {
		return C.stevedore_delete(c.ptr, a[0], opts)
	})
}

// Manifest fetches a manifest, parsed and exact; platform ("" for none)
// follows an index to that platform's image.
func (c *Client) Manifest(ctx context.Context, image, platform string) (*Manifest, error) {
	var out *C.char
	var raw *C.uint8_t
	var n C.size_t
	options := setOptions(map[string]any{"platform": platform})
	err := invoke(ctx, options, []any{image}, func(opts *C.char, a []*C.char) C.stevedore_status {
		return C.stevedore_manifest(c.ptr, a[0], opts, &out, &raw, &n)
	})
	if err != nil {
		return nil, err
	}
	var m Manifest
	m.Raw = takeBytes(raw, n)
	return &m, json.Unmarshal([]byte(takeString(out)), &m)
}

// Blob fetches a blob, verified, into memory.
func (c *Client) Blob(ctx context.Context, image, digest string) ([]byte, error) {
	return bytesResult(ctx, nil, []any{image, digest}, func(opts *C.char, a []*C.char, out **C.uint8_t, n *C.size_t) C.stevedore_status {
		return C.stevedore_blob(c.ptr, a[0], a[1], opts, out, n)
	})
}

// BlobToFile fetches a blob, verified and streamed, to path (written only when complete).
func (c *Client) BlobToFile(ctx context.Context, image, digest, path string) error {
	return invoke(ctx, nil, []any{image, digest, path}, func(opts *C.char, a []*C.char) C.stevedore_status {
		return C.stevedore_blob_to_file(c.ptr, a[0], a[1], a[2], opts)
	})
}

// RawManifest returns the manifest exactly as stored.
func (c *Client) RawManifest(ctx context.Context, image string) ([]byte, error) {
	return c.raw(ctx, image, nil)
}

// RawConfig returns the config exactly as stored.
func (c *Client) RawConfig(ctx context.Context, image string) ([]byte, error) {
	return c.raw(ctx, image, map[string]bool{"config": true})
}

func (c *Client) raw(ctx context.Context, image string, options any) ([]byte, error) {
	return bytesResult(ctx, options, []any{image}, func(opts *C.char, a []*C.char, out **C.uint8_t, n *C.size_t) C.stevedore_status {
		return C.stevedore_inspect_raw(c.ptr, a[0], opts, out, n)
	})
}
