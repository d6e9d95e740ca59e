package stevedore

/*
#include <stdint.h>
#include <stdlib.h>
#include "stevedore.h"
*/
import "C"

import "context"

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

func (c *Client) Static(ctx context.Context, src, dir string, options StaticOptions) (*StaticResult, error) {
	return jsonResult[StaticResult](ctx, options, []any{src, dir}, func(opts *C.char, a []*C.char, out **C.char) C.stevedore_status {
		return C.stevedore_static(c.ptr, a[0], a[1], opts, out)
	})
}
