package stevedore

import (
	"context"
	"errors"
	"os"
	"testing"
)

func TestAppendIndexFlattenAndLayers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, name := range []string{"a", "b", "c"} {
		if err := os.MkdirAll(dir+"/"+name+"/etc", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dir+"/"+name+"/etc/"+name, []byte(name+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	client, err := NewClient(ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	layout := "oci:" + dir + "/out"
	spec := map[string]any{"platform": "linux/amd64", "layers": []any{map[string]any{"dir": "a"}}}
	if _, err := client.Build(ctx, spec, dir, layout+":v1"); err != nil {
		t.Fatal(err)
	}
	appended, err := client.Append(ctx, layout+":v1", []string{dir + "/b"}, layout+":v2", "", "")
	if err != nil {
		t.Fatal(err)
	}
	flat, err := client.Flatten(ctx, layout+":v2", layout+":flat", "")
	if err != nil || flat.Digest == appended.Digest {
		t.Fatalf("flatten: %v %v", flat, err)
	}
	listing, err := client.Files(ctx, layout+":flat", "")
	if err != nil || len(listing.Layers) != 1 || len(listing.Entries) != 3 {
		t.Fatalf("the flattened image: %+v %v", listing, err)
	}
	if _, err := client.LayerRemove(ctx, layout+":v2", 0, layout+":removed", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := client.LayerRemove(ctx, layout+":v2", 7, layout+":bad", ""); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("removing a layer that does not exist: %v", err)
	}
	if _, err := client.LayerReplace(ctx, layout+":v2", 1, dir+"/c", layout+":replaced", ""); err != nil {
		t.Fatal(err)
	}
	got, err := client.ReadFile(ctx, layout+":replaced", "/etc/c")
	if err != nil || string(got) != "c\n" {
		t.Fatalf("the replaced layer: %q %v", got, err)
	}
	arm := map[string]any{"platform": "linux/arm64", "layers": []any{map[string]any{"dir": "c"}}}
	if _, err := client.Build(ctx, arm, dir, layout+":arm"); err != nil {
		t.Fatal(err)
	}
	if _, err := client.IndexCreate(ctx, []string{layout + ":v1"}, layout+":multi"); err != nil {
		t.Fatal(err)
	}
	added, err := client.IndexAdd(ctx, layout+":multi", layout+":arm", layout+":multi2")
	if err != nil {
		t.Fatal(err)
	}
	removed, err := client.IndexRemove(ctx, layout+":multi2", "linux/arm64", layout+":multi3")
	if err != nil || removed.Digest == added.Digest {
		t.Fatalf("index remove: %v %v", removed, err)
	}
	if _, err := client.IndexRemove(ctx, layout+":multi2", "linux/s390x", layout+":bad"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removing a platform the index lacks: %v", err)
	}
}
