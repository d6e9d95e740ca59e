package stevedore

/*
#include <stdint.h>
#include <stdlib.h>
#include "stevedore.h"

extern int goProgress(uintptr_t handle, char *event_json);

static int progress_trampoline(void *userdata, const char *event_json) {
	return goProgress((uintptr_t)userdata, (char *)event_json);
}

static stevedore_status sync_with_progress(const stevedore_client *client, const char *jobs,
		const char *options, uintptr_t handle, char **out) {
	return stevedore_sync(client, jobs, options, progress_trampoline, (void *)handle, out);
}

static stevedore_status copy_with_progress(const stevedore_client *client, const char *src,
		const char *dst, const char *options, uintptr_t handle, char **out) {
	return stevedore_copy(client, src, dst, options, progress_trampoline, (void *)handle, out);
}
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"runtime/cgo"
)

// CopyOptions chooses what to copy: every image of an index (All), one
// (Platform), or a subset written as a new index (Platforms).
type CopyOptions struct {
	All       bool     `json:"all,omitempty"`
	Platform  string   `json:"platform,omitempty"`
	Platforms []string `json:"platforms,omitempty"`
	Jobs      int      `json:"jobs,omitempty"`
	// PreserveDigests fails rather than convert for a destination that
	// cannot hold the image as it is.
	PreserveDigests bool `json:"preserve_digests,omitempty"`
	// Referrers brings along signatures and attached artifacts.
	Referrers bool `json:"referrers,omitempty"`
	// CompressFormat recompresses the layers: "gzip" or "zstd" (new layer
	// and manifest digests, listed in CopyResult.Recompressed); "" keeps them.
	CompressFormat string `json:"compress_format,omitempty"`
	// CompressLevel is the level for CompressFormat: gzip 1-9, zstd 1-22;
	// 0 means the format's default.
	CompressLevel int `json:"compress_level,omitempty"`
	// Progress receives each event, from other threads; returning false
	// cancels the copy.
	Progress func(Event) bool `json:"-"`
}

// Event is a progress event of a copy.
type Event struct {
	Event     string `json:"event"`
	Digest    string `json:"digest"`
	MediaType string `json:"media_type"`
	Size      uint64 `json:"size"`
	Bytes     uint64 `json:"bytes"`
	From      string `json:"from"`
}

// progressState is what goProgress reaches through the cgo.Handle.
type progressState struct {
	ctx      context.Context
	progress func(Event) bool
}

// copyCall runs a C call of copy's shape (copy, sync) with options and a
// progress handle watching ctx and options.Progress, and decodes its JSON
// result into result; a cancellation caused by ctx comes back as ctx.Err().
func copyCall(ctx context.Context, options CopyOptions, args []any, result any,
	f func(opts *C.char, args []*C.char, handle C.uintptr_t, out **C.char) C.stevedore_status) error {
	handle := cgo.NewHandle(&progressState{ctx: ctx, progress: options.Progress})
	defer handle.Delete()
	err := jsonInto(ctx, options, args, result, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return f(opts, a, C.uintptr_t(handle), out)
	})
	if errors.Is(err, ErrCancelled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

//export goProgress
func goProgress(handle C.uintptr_t, eventJSON *C.char) C.int {
	state := cgo.Handle(handle).Value().(*progressState)
	if state.ctx.Err() != nil {
		return 1
	}
	if state.progress != nil {
		var event Event
		if err := json.Unmarshal([]byte(C.GoString(eventJSON)), &event); err != nil || !state.progress(event) {
			return 1
		}
	}
	return 0
}

// CopyResult says what a copy did.
type CopyResult struct {
	Source       string `json:"source"`
	Destination  string `json:"destination"`
	Digest       string `json:"digest"`
	MediaType    string `json:"media_type"`
	SourceDigest string `json:"source_digest"`
	Manifests    int    `json:"manifests"`
	BlobsCopied  int    `json:"blobs_copied"`
	BlobsMounted int    `json:"blobs_mounted"`
	BlobsSkipped int    `json:"blobs_skipped"`
	BytesCopied  uint64 `json:"bytes_copied"`
	// ReferrersCopied counts the signatures and attached artifacts that
	// came along (CopyOptions.Referrers).
	ReferrersCopied int `json:"referrers_copied"`
	// Converted says how the destination's form differs from the source's,
	// when the destination cannot hold the image as it is (nil otherwise).
	Converted *string `json:"converted"`
	// ForeignLayersSkipped lists the foreign (non-distributable) layers the
	// source did not hold: left in the manifest, unchanged, not copied.
	ForeignLayersSkipped []Descriptor `json:"foreign_layers_skipped"`
	// Recompressed lists the layers CopyOptions.CompressFormat rewrote.
	Recompressed []Recompressed `json:"recompressed"`
	// Notes holds warnings about input read leniently.
	Notes []string `json:"notes"`
}

// Recompressed is one layer a copy recompressed: the source's digest and
// the layer as written.
type Recompressed struct {
	From      string `json:"from"`
	Digest    string `json:"digest"`
	Size      uint64 `json:"size"`
	MediaType string `json:"media_type"`
}

// Copy copies the image src names to dst (such as "oci:/mirror/app:1.0" or
// "docker://registry.example/app:1.0"). Cancelling ctx cancels the copy at its
// next progress event; the error is then ctx.Err().
func (c *Client) Copy(ctx context.Context, src, dst string, options CopyOptions) (*CopyResult, error) {
	var result CopyResult
	err := copyCall(ctx, options, []any{src, dst}, &result, func(opts *C.char, a []*C.char, handle C.uintptr_t, out **C.char) C.stevedore_status {
		return C.copy_with_progress(c.ptr, a[0], a[1], opts, handle, out)
	})
	if err != nil {
		return nil, err
	}
	return &result, nil
}

// SyncJob is one copy of a Sync.
type SyncJob struct {
	Src string `json:"src"`
	Dst string `json:"dst"`
}

// SyncOutcome says what happened to one job: Status is "copied", "skipped"
// or "failed"; a failure has Kind and Message, a copy the CopyResult fields,
// a skip Digest and ReferrersCopied (referrers the destination lacked).
type SyncOutcome struct {
	Status  string `json:"status"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
	CopyResult
}

// SyncResult is the result of one job.
type SyncResult struct {
	SyncJob
	Outcome SyncOutcome `json:"outcome"`
}

// Sync runs many copies with options; one failure does not stop the others,
// and images already identical at their destination are skipped.
func (c *Client) Sync(ctx context.Context, jobs []SyncJob, options CopyOptions) ([]SyncResult, error) {
	var results []SyncResult
	err := copyCall(ctx, options, []any{jsonArg{jobs}}, &results, func(opts *C.char, a []*C.char, handle C.uintptr_t, out **C.char) C.stevedore_status {
		return C.sync_with_progress(c.ptr, a[0], opts, handle, out)
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}
