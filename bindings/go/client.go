package stevedore

/*
#include <stdint.h>
#include <stdlib.h>
#include "stevedore.h"
*/
import "C"

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
	ptr, err := newHandle(options, func(opts *C.char, out **C.stevedore_client) C.stevedore_status {
		return C.stevedore_client_new(opts, out)
	})
	if err != nil {
		return nil, err
	}
	return &Client{ptr: ptr}, nil
}

// Close releases the client. Calls must not be running on it.
func (c *Client) Close() {
	if c.ptr != nil {
		C.stevedore_client_free(c.ptr)
		c.ptr = nil
	}
}
