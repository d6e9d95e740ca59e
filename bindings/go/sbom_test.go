package stevedore

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSbomListsADistributionAndAttaches(t *testing.T) {
	ctx := context.Background()
	img := layout(t) + ":1.0"
	meta := filepath.Join(t.TempDir(), "METADATA")
	if err := os.WriteFile(meta, []byte("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "umoci", "insert", "--rootless", "--image", img[len("oci:"):], meta,
		"/usr/lib/python3/site-packages/demo-1.0.dist-info/METADATA")
	c, err := NewClient(ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	doc, report, err := c.Sbom(ctx, img, SbomOptions{Format: "cyclonedx-json", Attach: true})
	if err != nil {
		t.Fatal(err)
	}
	var cdx struct {
		Components []struct {
			Purl string `json:"purl"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(doc), &cdx); err != nil || len(cdx.Components) != 1 || cdx.Components[0].Purl != "pkg:pypi/demo@1.0" {
		t.Fatalf("document: %s %v", doc, err)
	}
	if report.Packages != 1 || report.Ecosystems["python"] != 1 || report.Attached == nil {
		t.Fatalf("report: %+v", report)
	}
	listed, err := c.Referrers(ctx, img, "application/vnd.cyclonedx+json")
	if err != nil || len(listed) != 1 || listed[0].Digest != report.Attached.Digest {
		t.Fatalf("referrers: %+v %v", listed, err)
	}
	if _, _, err := c.Sbom(ctx, img, SbomOptions{Format: "yaml"}); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("bad format: %v", err)
	}
}
