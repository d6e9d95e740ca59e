package stevedore

/*
#include <stdint.h>
#include <stdlib.h>
#include "stevedore.h"
*/
import "C"

import "context"

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
	return jsonResult[GcReport](context.Background(), options, nil, func(opts *C.char, _ []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_gc(opts, out)
	})
}

// Server is a registry (the OCI distribution API) running in this process.
// Stop it when done.
type Server struct {
	ptr *C.stevedore_server
}

// StartServer binds and starts a registry server.
func StartServer(options ServerOptions) (*Server, error) {
	ptr, err := newHandle(options, func(opts *C.char, out **C.stevedore_server) C.stevedore_status {
		return C.stevedore_server_start(opts, out)
	})
	if err != nil {
		return nil, err
	}
	return &Server{ptr: ptr}, nil
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
