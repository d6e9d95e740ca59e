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
	"unsafe"
)

// TagList is a repository's tags as skopeo's list-tags prints them.
type TagList struct {
	Repository string   `json:"Repository"`
	Tags       []string `json:"Tags"`
}

// PolicyDecision is what a containers-policy.json(5) file decided for an image.
type PolicyDecision struct {
	Image    string   `json:"image"`
	Policy   string   `json:"policy"`
	Scope    string   `json:"scope"`
	Accepted bool     `json:"accepted"`
	Reasons  []string `json:"reasons"`
}

type digestResult struct {
	Digest string `json:"digest"`
}

// Tag gives the manifest image names the tag tag too, in the same
// repository or layout, without pulling it, and returns its digest.
func (c *Client) Tag(ctx context.Context, image, tag string) (string, error) {
	var result digestResult
	err := c.jsonCall(ctx, image, nil, &result, func(cl *C.stevedore_client, i, o *C.char, out **C.char) C.stevedore_status {
		t := cString(tag)
		defer free(t)
		return C.stevedore_tag(cl, i, t, o, out)
	})
	return result.Digest, err
}

// Digest returns the digest of the manifest image names (an index's own).
func (c *Client) Digest(ctx context.Context, image string) (string, error) {
	var result digestResult
	err := c.jsonCall(ctx, image, nil, &result, func(cl *C.stevedore_client, i, o *C.char, out **C.char) C.stevedore_status {
		return C.stevedore_digest(cl, i, o, out)
	})
	return result.Digest, err
}

// ListTags lists a repository's or layout's tags with its name, as skopeo's list-tags.
func (c *Client) ListTags(ctx context.Context, image string) (*TagList, error) {
	var list TagList
	err := c.jsonCall(ctx, image, nil, &list, func(cl *C.stevedore_client, i, o *C.char, out **C.char) C.stevedore_status {
		return C.stevedore_list_tags(cl, i, o, out)
	})
	if err != nil {
		return nil, err
	}
	return &list, nil
}

// Catalog lists the repositories of the registry at registry ("host[:port]").
func (c *Client) Catalog(ctx context.Context, registry string) ([]string, error) {
	var repositories []string
	err := c.jsonCall(ctx, registry, nil, &repositories, func(cl *C.stevedore_client, r, o *C.char, out **C.char) C.stevedore_status {
		return C.stevedore_catalog(cl, r, o, out)
	})
	return repositories, err
}

// VerifyPolicy judges an image by the containers-policy.json(5) file at
// policyFile, as `stevedore verify --policy`: when the file refuses the
// image it returns the decision and an error matching ErrPolicy.
func (c *Client) VerifyPolicy(ctx context.Context, image, policyFile string) (*PolicyDecision, error) {
	var decision PolicyDecision
	options := map[string]string{"policy": policyFile}
	err := c.jsonCall(ctx, image, options, &decision, func(cl *C.stevedore_client, i, o *C.char, out **C.char) C.stevedore_status {
		return C.stevedore_verify(cl, i, o, out)
	})
	if decision.Image == "" {
		return nil, err
	}
	return &decision, err
}

// Login checks username and password with registry ("host[:port]") and
// keeps them in the client's AuthFile (or the primary auth file of
// containers-auth.json(5)); it returns the file written. A refusal matches
// ErrUnauthorized and writes nothing.
func (c *Client) Login(ctx context.Context, registry, username, password string) (string, error) {
	credentials := map[string]string{"username": username, "password": password}
	return c.authFileCall(ctx, registry, credentials, func(cl *C.stevedore_client, r, o *C.char, out **C.char) C.stevedore_status {
		return C.stevedore_login(cl, r, o, out)
	})
}

// Logout removes the login for registry from the auth file and returns the
// file written; ErrNotFound when it held none.
func (c *Client) Logout(ctx context.Context, registry string) (string, error) {
	return c.authFileCall(ctx, registry, nil, func(cl *C.stevedore_client, r, o *C.char, out **C.char) C.stevedore_status {
		return C.stevedore_logout(cl, r, o, out)
	})
}

// authFileCall runs login or logout, whose result is the auth file's path.
func (c *Client) authFileCall(ctx context.Context, registry string, options any,
	f func(*C.stevedore_client, *C.char, *C.char, **C.char) C.stevedore_status) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	r := cString(registry)
	defer free(r)
	opts, err := cOptions(options)
	if err != nil {
		return "", err
	}
	defer free(opts)
	var path *C.char
	if err := call(func() C.stevedore_status { return f(c.ptr, r, opts, &path) }); err != nil {
		return "", err
	}
	return takeString(path), nil
}

// ManifestDigest returns the digest of a manifest's exact bytes, as
// skopeo's manifest-digest.
func ManifestDigest(manifest []byte) (string, error) {
	var data *C.uint8_t
	if len(manifest) > 0 {
		data = (*C.uint8_t)(C.CBytes(manifest))
		defer C.free(unsafe.Pointer(data))
	}
	var out *C.char
	if err := call(func() C.stevedore_status {
		return C.stevedore_manifest_digest(data, C.size_t(len(manifest)), nil, &out)
	}); err != nil {
		return "", err
	}
	var result digestResult
	if err := json.Unmarshal([]byte(takeString(out)), &result); err != nil {
		return "", err
	}
	return result.Digest, nil
}
