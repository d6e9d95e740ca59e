package stevedore

/*
#include <stdint.h>
#include <stdlib.h>
#include "stevedore.h"
*/
import "C"

import "context"

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
	err := jsonInto(ctx, nil, []any{image, tag}, &result, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_tag(c.ptr, a[0], a[1], opts, out)
	})
	return result.Digest, err
}

// Digest returns the digest of the manifest image names (an index's own).
func (c *Client) Digest(ctx context.Context, image string) (string, error) {
	var result digestResult
	err := jsonInto(ctx, nil, []any{image}, &result, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_digest(c.ptr, a[0], opts, out)
	})
	return result.Digest, err
}

// ListTags lists a repository's or layout's tags with its name, as skopeo's list-tags.
func (c *Client) ListTags(ctx context.Context, image string) (*TagList, error) {
	return jsonResult[TagList](ctx, nil, []any{image}, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_list_tags(c.ptr, a[0], opts, out)
	})
}

// Catalog lists the repositories of the registry at registry ("host[:port]").
func (c *Client) Catalog(ctx context.Context, registry string) ([]string, error) {
	var repositories []string
	err := jsonInto(ctx, nil, []any{registry}, &repositories, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_catalog(c.ptr, a[0], opts, out)
	})
	return repositories, err
}

// VerifyPolicy judges an image by the containers-policy.json(5) file at
// policyFile, as `stevedore verify --policy`: when the file refuses the
// image it returns the decision and an error matching ErrPolicy.
func (c *Client) VerifyPolicy(ctx context.Context, image, policyFile string) (*PolicyDecision, error) {
	var decision PolicyDecision
	options := map[string]string{"policy": policyFile}
	err := jsonInto(ctx, options, []any{image}, &decision, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_verify(c.ptr, a[0], opts, out)
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
	return authFileCall(ctx, registry, credentials, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_login(c.ptr, a[0], opts, out)
	})
}

// Logout removes the login for registry from the auth file and returns the
// file written; ErrNotFound when it held none.
func (c *Client) Logout(ctx context.Context, registry string) (string, error) {
	return authFileCall(ctx, registry, nil, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_logout(c.ptr, a[0], opts, out)
	})
}

// authFileCall runs login or logout, whose result is the auth file's path.
func authFileCall(ctx context.Context, registry string, options any, f jsonFunc) (string, error) {
	var path *C.char
	err := invoke(ctx, options, []any{registry}, func(opts *C.char, a []*C.char) C.stevedore_status {
		return f(opts, a, &path)
	})
	if err != nil {
		return "", err
	}
	return takeString(path), nil
}

// ManifestDigest returns the digest of a manifest's exact bytes, as
// skopeo's manifest-digest.
func ManifestDigest(manifest []byte) (string, error) {
	data := cBytes(manifest)
	defer freeBytes(data)
	result, err := jsonResult[digestResult](context.Background(), nil, nil, func(opts *C.char, _ []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_manifest_digest(data, C.size_t(len(manifest)), opts, out)
	})
	if err != nil {
		return "", err
	}
	return result.Digest, nil
}
