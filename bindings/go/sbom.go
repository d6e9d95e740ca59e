package stevedore

/*
#include <stdlib.h>
#include "stevedore.h"
*/
import "C"

import (
	"context"
	"encoding/json"
)

// SbomOptions say how to make an image's SBOM; zero values mean the defaults.
type SbomOptions struct {
	// Format is "spdx-json" (SPDX 2.3, the default) or "cyclonedx-json" (CycloneDX 1.5).
	Format string `json:"format,omitempty"`
	// Platform chooses the image from an index ("os/arch[/variant]"); defaults to the host's.
	Platform string `json:"platform,omitempty"`
	// Attach also pushes the document to the image as an OCI 1.1 referrer.
	Attach bool `json:"attach,omitempty"`
}

// AttachReport is the referrer an SBOM was attached as.
type AttachReport struct {
	Digest       string `json:"digest"`
	Subject      string `json:"subject"`
	ArtifactType string `json:"artifact_type"`
	Blob         string `json:"blob"`
}

// SbomReport summarises an SBOM: its format, the operating system, how many
// packages of each ecosystem, what could not be read, and the referrer when
// attached.
type SbomReport struct {
	Name         string            `json:"name"`
	Format       string            `json:"format"`
	ArtifactType string            `json:"artifact_type"`
	OS           json.RawMessage   `json:"os"`
	Packages     int               `json:"packages"`
	Ecosystems   map[string]int    `json:"ecosystems"`
	Warnings     []string          `json:"warnings"`
	Layers       []json.RawMessage `json:"layers"`
	Attached     *AttachReport     `json:"attached"`
}

// Sbom makes the software bill of materials of image: the document (JSON
// text) and its report.
func (c *Client) Sbom(ctx context.Context, image string, options SbomOptions) (string, *SbomReport, error) {
	var document, result *C.char
	err := invoke(ctx, options, []any{image}, func(opts *C.char, a []*C.char) C.stevedore_status {
		return C.stevedore_sbom(c.ptr, a[0], opts, &document, &result)
	})
	if err != nil {
		return "", nil, err
	}
	doc := takeString(document)
	var report SbomReport
	if err := json.Unmarshal([]byte(takeString(result)), &report); err != nil {
		return "", nil, err
	}
	return doc, &report, nil
}
