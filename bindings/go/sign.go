package stevedore

/*
#include <stdint.h>
#include <stdlib.h>
#include "stevedore.h"
*/
import "C"

import "context"

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
	return jsonResult[SignResult](ctx, options, []any{image}, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_sign(c.ptr, a[0], opts, out)
	})
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
	data := cBytes(artifact)
	defer freeBytes(data)
	return jsonResult[AttachResult](ctx, options, []any{image}, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_attach(c.ptr, a[0], data, C.size_t(len(artifact)), opts, out)
	})
}

// Referrers lists the artifacts attached to an image, of artifactType when
// it is not empty.
func (c *Client) Referrers(ctx context.Context, image, artifactType string) ([]Descriptor, error) {
	var list []Descriptor
	options := setOptions(map[string]any{"artifact_type": artifactType})
	err := jsonInto(ctx, options, []any{image}, &list, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_referrers(c.ptr, a[0], opts, out)
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// GenerateKeyPair makes a key pair as cosign writes it: the private key PEM
// (encrypted with password) and the public key PEM.
func GenerateKeyPair(password string) (privateKey, publicKey string, err error) {
	type keyPair struct {
		Private string `json:"private_key"`
		Public  string `json:"public_key"`
	}
	options := map[string]string{"password": password}
	pair, err := jsonResult[keyPair](context.Background(), options, nil, func(opts *C.char, _ []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_generate_key_pair(opts, out)
	})
	if err != nil {
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
	err := jsonInto(ctx, policy, []any{image}, &report, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_verify(c.ptr, a[0], opts, out)
	})
	if report.Image == "" {
		return nil, err
	}
	return &report, err
}
