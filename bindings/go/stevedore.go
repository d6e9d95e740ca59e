// Package stevedore is the Go binding of Stevedore, a daemonless OCI image
// toolkit: copy, inspect and fetch container images through libstevedore's
// C ABI.
//
// The package compiles against its own copy of the header (stevedore.h, kept
// equal to include/stevedore.h by the Rust tests) and links libstevedore
// found through pkg-config, as scripts/install.sh installs it:
//
//	scripts/install.sh /opt/stevedore
//	PKG_CONFIG_PATH=/opt/stevedore/lib/pkgconfig go build   # not needed for /usr/local
//
// Linked statically (no libstevedore.so needed at run time), with the
// stevedore_static build tag, which uses stevedore-static.pc:
//
//	PKG_CONFIG_PATH=/opt/stevedore/lib/pkgconfig go build -tags stevedore_static
package stevedore

/*
#cgo CFLAGS: -I${SRCDIR}
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
	"fmt"
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// ABIVersion is the ABI this binding is written for.
const ABIVersion = 6

func init() {
	if v := uint32(C.stevedore_abi_version()); v != ABIVersion {
		panic(fmt.Sprintf("libstevedore has ABI version %d, this binding needs %d", v, ABIVersion))
	}
}

// Version is the library's version.
func Version() string { return C.GoString(C.stevedore_version()) }

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

// Credentials for one registry: Username and Password, or IdentityToken.
type Credentials struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	IdentityToken string `json:"identity_token,omitempty"`
}

// ClientOptions configures a Client; zero values mean the library defaults.
// Credentials are keyed by the registry they are bound to ("host[:port]",
// "docker.io") and never sent to another host.
type ClientOptions struct {
	Credentials map[string]Credentials `json:"credentials,omitempty"`
	AuthFile    string                 `json:"auth_file,omitempty"`
	TLSVerify   *bool                  `json:"tls_verify,omitempty"`
	Insecure    []string               `json:"insecure,omitempty"`
	PlainHTTP   []string               `json:"plain_http,omitempty"`
	CertDir     string                 `json:"cert_dir,omitempty"`
	UserAgent   string                 `json:"user_agent,omitempty"`
	MaxRetries  *int                   `json:"max_retries,omitempty"`
	// ConnectTimeoutSecs and ReadTimeoutSecs default to 30 and 60.
	ConnectTimeoutSecs *int   `json:"connect_timeout_secs,omitempty"`
	ReadTimeoutSecs    *int   `json:"read_timeout_secs,omitempty"`
	ChunkSize          uint64 `json:"chunk_size,omitempty"`
}

// Client holds registry options and the token cache. Safe for concurrent
// use by many goroutines; Close it when done.
type Client struct {
	ptr *C.stevedore_client
}

// NewClient creates a client.
func NewClient(options ClientOptions) (*Client, error) {
	opts, err := cOptions(options)
	if err != nil {
		return nil, err
	}
	defer free(opts)
	c := &Client{}
	if err := call(func() C.stevedore_status { return C.stevedore_client_new(opts, &c.ptr) }); err != nil {
		return nil, err
	}
	return c, nil
}

// Close releases the client. Calls must not be running on it.
func (c *Client) Close() {
	if c.ptr != nil {
		C.stevedore_client_free(c.ptr)
		c.ptr = nil
	}
}

// ServerOptions configures a Server; zero values mean the library defaults
// (127.0.0.1 on a free port, the store in memory, anonymous access).
type ServerOptions struct {
	Addr             string  `json:"addr,omitempty"`
	Root             string  `json:"root,omitempty"`
	Htpasswd         string  `json:"htpasswd,omitempty"`
	ReadOnly         bool    `json:"read_only,omitempty"`
	TLSCert          string  `json:"tls_cert,omitempty"`
	TLSKey           string  `json:"tls_key,omitempty"`
	UploadExpirySecs float64 `json:"upload_expiry_secs,omitempty"`
	MaxUploads       int     `json:"max_uploads,omitempty"`
	MaxConnections   int     `json:"max_connections,omitempty"`
	HeadTimeoutSecs  float64 `json:"head_timeout_secs,omitempty"`
	IdleTimeoutSecs  float64 `json:"idle_timeout_secs,omitempty"`
	MaxHeadBytes     int     `json:"max_head_bytes,omitempty"`
	MaxBlobBytes     uint64  `json:"max_blob_bytes,omitempty"`
	// Fsync nil keeps the default (true: manifest PUTs are flushed to disk
	// before they are answered).
	Fsync *bool `json:"fsync,omitempty"`
	// S3 stores in a bucket instead of Root.
	S3 *S3Options `json:"s3,omitempty"`
	// Redirect answers blob GETs on S3 with a presigned URL.
	Redirect bool `json:"redirect,omitempty"`
}

// S3Options name a bucket (URL s3://BUCKET/PREFIX); unset fields come from
// the standard AWS environment and ~/.aws files.
type S3Options struct {
	URL             string `json:"url"`
	Endpoint        string `json:"endpoint,omitempty"`
	Region          string `json:"region,omitempty"`
	PathStyle       *bool  `json:"path_style,omitempty"`
	AccessKeyID     string `json:"access_key_id,omitempty"`
	SecretAccessKey string `json:"secret_access_key,omitempty"`
	SessionToken    string `json:"session_token,omitempty"`
	Profile         string `json:"profile,omitempty"`
}

// GcOptions name a registry's store (Root or S3) and how to collect it.
type GcOptions struct {
	Root   string     `json:"root,omitempty"`
	S3     *S3Options `json:"s3,omitempty"`
	DryRun bool       `json:"dry_run,omitempty"`
	// GraceSecs nil keeps the default (3600).
	GraceSecs *float64 `json:"grace_secs,omitempty"`
}

// GcReport is what a collection found and removed.
type GcReport struct {
	DryRun         bool   `json:"dry_run"`
	Marked         uint64 `json:"marked"`
	KeptRecent     uint64 `json:"kept_recent"`
	Removed        uint64 `json:"removed"`
	RemovedBytes   uint64 `json:"removed_bytes"`
	RemovedUploads uint64 `json:"removed_uploads"`
}

// Gc removes the blobs of a registry's store that no manifest reaches,
// written before the grace period; safe while servers serve.
func Gc(options GcOptions) (*GcReport, error) {
	opts, err := cOptions(options)
	if err != nil {
		return nil, err
	}
	defer free(opts)
	var out *C.char
	if err := call(func() C.stevedore_status { return C.stevedore_gc(opts, &out) }); err != nil {
		return nil, err
	}
	var report GcReport
	if err := json.Unmarshal([]byte(takeString(out)), &report); err != nil {
		return nil, err
	}
	return &report, nil
}

// Server is a registry (the OCI distribution API) running in this process.
// Stop it when done.
type Server struct {
	ptr *C.stevedore_server
}

// StartServer binds and starts a registry server.
func StartServer(options ServerOptions) (*Server, error) {
	opts, err := cOptions(options)
	if err != nil {
		return nil, err
	}
	defer free(opts)
	s := &Server{}
	if err := call(func() C.stevedore_status { return C.stevedore_server_start(opts, &s.ptr) }); err != nil {
		return nil, err
	}
	return s, nil
}

// Address is the server's HOST:PORT, the registry part of image references.
func (s *Server) Address() string {
	if s.ptr == nil {
		return ""
	}
	return C.GoString(C.stevedore_server_address(s.ptr))
}

// Stop stops serving, closing open connections.
func (s *Server) Stop() {
	if s.ptr != nil {
		C.stevedore_server_stop(s.ptr)
		s.ptr = nil
	}
}

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

// withProgress renders options, pins a progress handle watching ctx and
// options.Progress for the call, and runs it; a cancellation caused by ctx
// comes back as ctx.Err().
func withProgress(ctx context.Context, options CopyOptions, f func(opts *C.char, handle C.uintptr_t) C.stevedore_status) error {
	opts, err := cOptions(options)
	if err != nil {
		return err
	}
	defer free(opts)
	handle := cgo.NewHandle(&progressState{ctx: ctx, progress: options.Progress})
	defer handle.Delete()
	err = call(func() C.stevedore_status { return f(opts, C.uintptr_t(handle)) })
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

// jsonCall runs a verb of shape (client, image, options, &out_json) and
// decodes out_json, which a verb may write even when it fails (verify does,
// with the report of a refusal).
func (c *Client) jsonCall(ctx context.Context, image string, options any, out any,
	f func(*C.stevedore_client, *C.char, *C.char, **C.char) C.stevedore_status) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	img := cString(image)
	defer free(img)
	opts, err := cOptions(options)
	if err != nil {
		return err
	}
	defer free(opts)
	var result *C.char
	callErr := call(func() C.stevedore_status { return f(c.ptr, img, opts, &result) })
	if result != nil {
		if err := json.Unmarshal([]byte(takeString(result)), out); err != nil && callErr == nil {
			return err
		}
	}
	return callErr
}

// SignOptions say how to sign: the PEM private key (PKCS#8, SEC1 or
// cosign's encrypted key with its Password), the Identity to sign under
// (default: the image's repository) and payload Annotations.
type SignOptions struct {
	Key         string            `json:"key"`
	Password    string            `json:"password,omitempty"`
	Identity    string            `json:"identity,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// SignResult says what signing did.
type SignResult struct {
	Digest        string `json:"digest"`
	Identity      string `json:"identity"`
	SignatureTag  string `json:"signature_tag"`
	PayloadDigest string `json:"payload_digest"`
	Signatures    int    `json:"signatures"`
}

// Sign signs an image as cosign does (its sha256-<hex>.sig tag).
func (c *Client) Sign(ctx context.Context, image string, options SignOptions) (*SignResult, error) {
	var result SignResult
	err := c.jsonCall(ctx, image, options, &result, func(cl *C.stevedore_client, i, o *C.char, out **C.char) C.stevedore_status {
		return C.stevedore_sign(cl, i, o, out)
	})
	if err != nil {
		return nil, err
	}
	return &result, nil
}

// AttachOptions describe an attached artifact: its ArtifactType (required),
// the MediaType of its blob and Annotations.
type AttachOptions struct {
	ArtifactType string            `json:"artifact_type"`
	MediaType    string            `json:"media_type,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// AttachResult says what attaching did.
type AttachResult struct {
	Digest       string `json:"digest"`
	Subject      string `json:"subject"`
	ArtifactType string `json:"artifact_type"`
	Blob         string `json:"blob"`
}

// Descriptor is a referrer as a referrers list shows it, or a layer as a
// copy report names it.
type Descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         uint64            `json:"size"`
	URLs         []string          `json:"urls"`
	ArtifactType string            `json:"artifactType"`
	Annotations  map[string]string `json:"annotations"`
}

// Attach attaches artifact to an image as an OCI 1.1 referrer.
func (c *Client) Attach(ctx context.Context, image string, artifact []byte, options AttachOptions) (*AttachResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	img := cString(image)
	defer free(img)
	opts, err := cOptions(options)
	if err != nil {
		return nil, err
	}
	defer free(opts)
	var data *C.uint8_t
	if len(artifact) > 0 {
		data = (*C.uint8_t)(C.CBytes(artifact))
		defer C.free(unsafe.Pointer(data))
	}
	var out *C.char
	if err := call(func() C.stevedore_status {
		return C.stevedore_attach(c.ptr, img, data, C.size_t(len(artifact)), opts, &out)
	}); err != nil {
		return nil, err
	}
	var result AttachResult
	if err := json.Unmarshal([]byte(takeString(out)), &result); err != nil {
		return nil, err
	}
	return &result, nil
}

// Referrers lists the artifacts attached to an image, of artifactType when
// it is not empty.
func (c *Client) Referrers(ctx context.Context, image, artifactType string) ([]Descriptor, error) {
	var list []Descriptor
	var options any
	if artifactType != "" {
		options = map[string]string{"artifact_type": artifactType}
	}
	err := c.jsonCall(ctx, image, options, &list, func(cl *C.stevedore_client, i, o *C.char, out **C.char) C.stevedore_status {
		return C.stevedore_referrers(cl, i, o, out)
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// GenerateKeyPair makes a key pair as cosign writes it: the private key PEM
// (encrypted with password) and the public key PEM.
func GenerateKeyPair(password string) (privateKey, publicKey string, err error) {
	opts, err := cOptions(map[string]string{"password": password})
	if err != nil {
		return "", "", err
	}
	defer free(opts)
	var out *C.char
	if err := call(func() C.stevedore_status { return C.stevedore_generate_key_pair(opts, &out) }); err != nil {
		return "", "", err
	}
	var pair struct {
		Private string `json:"private_key"`
		Public  string `json:"public_key"`
	}
	if err := json.Unmarshal([]byte(takeString(out)), &pair); err != nil {
		return "", "", err
	}
	return pair.Private, pair.Public, nil
}

// Policy is what a signature must satisfy: made by one of Keys (PEM public
// keys), under Identity (a trailing * matches a prefix; default: the
// image's repository), with Annotations.
type Policy struct {
	Keys        []string          `json:"keys"`
	Identity    string            `json:"identity,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// SignatureCheck is the verdict on one signature.
type SignatureCheck struct {
	PayloadDigest string `json:"payload_digest"`
	Identity      string `json:"identity"`
	Key           *int   `json:"key"`
	Verdict       string `json:"verdict"`
	Reason        string `json:"reason"`
}

// VerifyReport lists every signature examined.
type VerifyReport struct {
	Image      string           `json:"image"`
	Digest     string           `json:"digest"`
	Verified   bool             `json:"verified"`
	Signatures []SignatureCheck `json:"signatures"`
}

// Verify checks an image's signatures, default deny: when none satisfies
// the policy it returns the report and an error matching ErrPolicy.
func (c *Client) Verify(ctx context.Context, image string, policy Policy) (*VerifyReport, error) {
	var report VerifyReport
	err := c.jsonCall(ctx, image, policy, &report, func(cl *C.stevedore_client, i, o *C.char, out **C.char) C.stevedore_status {
		return C.stevedore_verify(cl, i, o, out)
	})
	if report.Image == "" {
		return nil, err
	}
	return &report, err
}

// Copy copies the image src names to dst (such as "oci:/mirror/app:1.0" or
// "docker://registry.example/app:1.0"). Cancelling ctx cancels the copy at its
// next progress event; the error is then ctx.Err().
func (c *Client) Copy(ctx context.Context, src, dst string, options CopyOptions) (*CopyResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, d := cString(src), cString(dst)
	defer free(s)
	defer free(d)
	var out *C.char
	err := withProgress(ctx, options, func(opts *C.char, handle C.uintptr_t) C.stevedore_status {
		return C.copy_with_progress(c.ptr, s, d, opts, handle, &out)
	})
	if err != nil {
		return nil, err
	}
	var result CopyResult
	return &result, json.Unmarshal([]byte(takeString(out)), &result)
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
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	list, err := cOptions(jobs)
	if err != nil {
		return nil, err
	}
	defer free(list)
	var out *C.char
	err = withProgress(ctx, options, func(opts *C.char, handle C.uintptr_t) C.stevedore_status {
		return C.sync_with_progress(c.ptr, list, opts, handle, &out)
	})
	if err != nil {
		return nil, err
	}
	var results []SyncResult
	return results, json.Unmarshal([]byte(takeString(out)), &results)
}

// Inspect describes an image; platform ("os/arch[/variant]", or "") chooses from an index.
func (c *Client) Inspect(ctx context.Context, image, platform string) (*Report, error) {
	var report Report
	var options any
	if platform != "" {
		options = map[string]string{"platform": platform}
	}
	err := c.jsonCall(ctx, image, options, &report, func(cl *C.stevedore_client, i, o *C.char, out **C.char) C.stevedore_status {
		return C.stevedore_inspect(cl, i, o, out)
	})
	if err != nil {
		return nil, err
	}
	return &report, nil
}

// Tags lists the tags of a repository or layout.
func (c *Client) Tags(ctx context.Context, image string) ([]string, error) {
	var tags []string
	err := c.jsonCall(ctx, image, nil, &tags, func(cl *C.stevedore_client, i, o *C.char, out **C.char) C.stevedore_status {
		return C.stevedore_tags(cl, i, o, out)
	})
	return tags, err
}

// Delete deletes an image: a layout's tag, or a registry's manifest.
func (c *Client) Delete(ctx context.Context, image string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	img := cString(image)
	defer free(img)
	return call(func() C.stevedore_status { return C.stevedore_delete(c.ptr, img, nil) })
}

// Manifest fetches a manifest, parsed and exact; platform ("" for none)
// follows an index to that platform's image.
func (c *Client) Manifest(ctx context.Context, image, platform string) (*Manifest, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	img := cString(image)
	defer free(img)
	var options any
	if platform != "" {
		options = map[string]string{"platform": platform}
	}
	opts, err := cOptions(options)
	if err != nil {
		return nil, err
	}
	defer free(opts)
	var out *C.char
	var raw *C.uint8_t
	var n C.size_t
	if err := call(func() C.stevedore_status { return C.stevedore_manifest(c.ptr, img, opts, &out, &raw, &n) }); err != nil {
		return nil, err
	}
	var m Manifest
	m.Raw = takeBytes(raw, n)
	return &m, json.Unmarshal([]byte(takeString(out)), &m)
}

// Blob fetches a blob, verified, into memory.
func (c *Client) Blob(ctx context.Context, image, digest string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	img, dig := cString(image), cString(digest)
	defer free(img)
	defer free(dig)
	var out *C.uint8_t
	var n C.size_t
	if err := call(func() C.stevedore_status { return C.stevedore_blob(c.ptr, img, dig, nil, &out, &n) }); err != nil {
		return nil, err
	}
	return takeBytes(out, n), nil
}

// BlobToFile fetches a blob, verified and streamed, to path (written only when complete).
func (c *Client) BlobToFile(ctx context.Context, image, digest, path string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	img, dig, p := cString(image), cString(digest), cString(path)
	defer free(img)
	defer free(dig)
	defer free(p)
	return call(func() C.stevedore_status { return C.stevedore_blob_to_file(c.ptr, img, dig, p, nil) })
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
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	img := cString(image)
	defer free(img)
	opts, err := cOptions(options)
	if err != nil {
		return nil, err
	}
	defer free(opts)
	var out *C.uint8_t
	var n C.size_t
	if err := call(func() C.stevedore_status { return C.stevedore_inspect_raw(c.ptr, img, opts, &out, &n) }); err != nil {
		return nil, err
	}
	return takeBytes(out, n), nil
}

// StaticOptions say how to export into a static registry tree: the
// repository Name and Tag in the tree (Name defaults to a docker:// source's
// repository, Tag to the source's tag, else latest), where to write an
// nginx snippet (NginxConf) and a Caddyfile site block (Caddyfile), the
// BaseURL clients reach the tree at (http(s)://HOST[:PORT]), and, as for
// Copy, All, Platform and Referrers.
type StaticOptions struct {
	Name      string `json:"name,omitempty"`
	Tag       string `json:"tag,omitempty"`
	NginxConf string `json:"nginx_conf,omitempty"`
	Caddyfile string `json:"caddyfile,omitempty"`
	BaseURL   string `json:"base_url,omitempty"`
	All       bool   `json:"all,omitempty"`
	Platform  string `json:"platform,omitempty"`
	Referrers bool   `json:"referrers,omitempty"`
}

// StaticResult says what an export did: the Copy into the tree, the Image
// written (NAME:TAG), the Pull reference (HOST[:PORT]/NAME:TAG), how many
// manifest URLs the tree serves, and the configurations written.
type StaticResult struct {
	Copy            CopyResult `json:"copy"`
	Dir             string     `json:"dir"`
	Image           string     `json:"image"`
	Pull            string     `json:"pull"`
	ManifestsServed int        `json:"manifests_served"`
	NginxConf       *string    `json:"nginx_conf"`
	Caddyfile       *string    `json:"caddyfile"`
}

// Static exports the image src names into the static registry tree at dir
// (which nginx, Caddy or any static host serves as /v2) and writes the
// web-server configuration for everything the tree serves.
func (c *Client) Static(ctx context.Context, src, dir string, options StaticOptions) (*StaticResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, d := cString(src), cString(dir)
	defer free(s)
	defer free(d)
	opts, err := cOptions(options)
	if err != nil {
		return nil, err
	}
	defer free(opts)
	var out *C.char
	if err := call(func() C.stevedore_status { return C.stevedore_static(c.ptr, s, d, opts, &out) }); err != nil {
		return nil, err
	}
	var result StaticResult
	return &result, json.Unmarshal([]byte(takeString(out)), &result)
}

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
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	s, d := cString(string(specJSON)), cString(dst)
	defer free(s)
	defer free(d)
	var dir *C.char
	if baseDir != "" {
		dir = cString(baseDir)
		defer free(dir)
	}
	var result *C.char
	callErr := call(func() C.stevedore_status { return C.stevedore_build(c.ptr, s, dir, d, &result) })
	return buildReport(result, callErr)
}

// Mutate changes image's config and annotations as mutation says
// ({"config": {"env": [...]}, "annotations": {...}, "platform": "os/arch"})
// and writes the result to dst; for an index only platform's image changes.
func (c *Client) Mutate(ctx context.Context, image string, mutation any, dst string) (*BuildReport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, err := json.Marshal(mutation)
	if err != nil {
		return nil, err
	}
	i, mu, d := cString(image), cString(string(m)), cString(dst)
	defer free(i)
	defer free(mu)
	defer free(d)
	var result *C.char
	callErr := call(func() C.stevedore_status { return C.stevedore_mutate(c.ptr, i, mu, d, &result) })
	return buildReport(result, callErr)
}

// Rebase puts newBase's layers where oldBase's are at the bottom of image
// and writes the result to dst; ErrInvalidInput when oldBase is not its base.
func (c *Client) Rebase(ctx context.Context, image, oldBase, newBase, dst string) (*BuildReport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	i, o, n, d := cString(image), cString(oldBase), cString(newBase), cString(dst)
	defer free(i)
	defer free(o)
	defer free(n)
	defer free(d)
	var result *C.char
	callErr := call(func() C.stevedore_status { return C.stevedore_rebase(c.ptr, i, o, n, d, nil, &result) })
	return buildReport(result, callErr)
}

func buildReport(result *C.char, callErr error) (*BuildReport, error) {
	if callErr != nil {
		return nil, callErr
	}
	var report BuildReport
	if err := json.Unmarshal([]byte(takeString(result)), &report); err != nil {
		return nil, err
	}
	return &report, nil
}
