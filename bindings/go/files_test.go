package stevedore

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestFilesReadFileExportDiff(t *testing.T) {
	ctx := context.Background()
	img := layout(t)
	c, err := NewClient(ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	listing, err := c.Files(ctx, img+":1.0", "/")
	if err != nil {
		t.Fatal(err)
	}
	if len(listing.Entries) != 1 || listing.Entries[0].Path != "hello.txt" || listing.Entries[0].Type != "file" {
		t.Fatalf("listing: %+v", listing.Entries)
	}
	data, err := c.ReadFile(ctx, img+":1.0", "/hello.txt")
	if err != nil || string(data) != "hello from go\n" {
		t.Fatalf("read: %q %v", data, err)
	}
	if _, err := c.ReadFile(ctx, img+":1.0", "/missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing file: %v", err)
	}
	tarball := filepath.Join(t.TempDir(), "root.tar")
	if err := c.Export(ctx, img+":1.0", tarball); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tar", "-tf", tarball).Output()
	if err != nil || !strings.Contains(string(out), "hello.txt") {
		t.Fatalf("tar -tf: %q %v", out, err)
	}
	d, err := c.Diff(ctx, img+":1.0", img+":1.0")
	if err != nil || len(d.Added)+len(d.Removed)+len(d.Changed) != 0 {
		t.Fatalf("diff of an image with itself: %+v %v", d, err)
	}
}
