package stevedore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoginLogoutTagDigestListTagsCatalog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	htpasswd, err := exec.Command("htpasswd", "-Bbn", "go", "s3cret").Output()
	if err != nil {
		t.Fatal(err)
	}
	htpasswdFile, authFile := filepath.Join(dir, "htpasswd"), filepath.Join(dir, "auth.json")
	if err := os.WriteFile(htpasswdFile, htpasswd, 0o600); err != nil {
		t.Fatal(err)
	}
	server, err := StartServer(ServerOptions{Htpasswd: htpasswdFile})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Stop()
	addr := server.Address()
	options := ClientOptions{PlainHTTP: []string{addr}, AuthFile: authFile}
	c := client(t, options)
	if _, err := c.Login(ctx, addr, "go", "wrong"); !errors.Is(err, ErrUnauthorized) || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := os.Stat(authFile); !os.IsNotExist(err) {
		t.Fatalf("a refused login wrote %s", authFile)
	}
	if path, err := c.Login(ctx, addr, "go", "s3cret"); err != nil || path != authFile {
		t.Fatalf("login: %q %v", path, err)
	}
	c = client(t, options)
	image := "docker://" + addr + "/go/app:1.0"
	pushed, err := c.Copy(ctx, layout(t)+":1.0", image, CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if digest, err := c.Tag(ctx, image, "stable"); err != nil || digest != pushed.Digest {
		t.Fatalf("tag: %q %v", digest, err)
	}
	if _, err := c.Tag(ctx, image, "-bad"); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("bad tag: %v", err)
	}
	if digest, err := c.Digest(ctx, "docker://"+addr+"/go/app:stable"); err != nil || digest != pushed.Digest {
		t.Fatalf("digest: %q %v", digest, err)
	}
	want := &TagList{Repository: addr + "/go/app", Tags: []string{"1.0", "stable"}}
	if list, err := c.ListTags(ctx, "docker://"+addr+"/go/app"); err != nil || !reflect.DeepEqual(list, want) {
		t.Fatalf("list tags: %+v %v", list, err)
	}
	if repositories, err := c.Catalog(ctx, addr); err != nil || !reflect.DeepEqual(repositories, []string{"go/app"}) {
		t.Fatalf("catalog: %v %v", repositories, err)
	}
	raw, err := c.RawManifest(ctx, image)
	if err != nil {
		t.Fatal(err)
	}
	if digest, err := ManifestDigest(raw); err != nil || digest != pushed.Digest {
		t.Fatalf("manifest digest: %q %v", digest, err)
	}
	if path, err := c.Logout(ctx, addr); err != nil || path != authFile {
		t.Fatalf("logout: %q %v", path, err)
	}
	if _, err := c.Logout(ctx, addr); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second logout: %v", err)
	}
	if _, err := client(t, options).Catalog(ctx, addr); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("catalog after logout: %v", err)
	}
}

func TestManifestDigest(t *testing.T) {
	raw := []byte(`{"schemaVersion": 2}`)
	sum := sha256.Sum256(raw)
	if digest, err := ManifestDigest(raw); err != nil || digest != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Fatalf("%q %v", digest, err)
	}
	if _, err := ManifestDigest(nil); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("empty: %v", err)
	}
}

func TestVerifyPolicy(t *testing.T) {
	ctx := context.Background()
	server, err := StartServer(ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Stop()
	addr := server.Address()
	c := client(t, ClientOptions{PlainHTTP: []string{addr}})
	src := layout(t) + ":1.0"
	accepted, refused := "docker://"+addr+"/go/ok:1", "docker://"+addr+"/go/no:1"
	for _, dst := range []string{accepted, refused} {
		if _, err := c.Copy(ctx, src, dst, CopyOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	policy, err := json.Marshal(map[string]any{
		"default":    []any{map[string]string{"type": "reject"}},
		"transports": map[string]any{"docker": map[string]any{addr + "/go/ok": []any{map[string]string{"type": "insecureAcceptAnything"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	policyFile := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(policyFile, policy, 0o644); err != nil {
		t.Fatal(err)
	}
	if decision, err := c.VerifyPolicy(ctx, accepted, policyFile); err != nil || !decision.Accepted {
		t.Fatalf("accepted: %+v %v", decision, err)
	}
	decision, err := c.VerifyPolicy(ctx, refused, policyFile)
	if !errors.Is(err, ErrPolicy) || decision == nil || decision.Accepted || decision.Scope != "default" {
		t.Fatalf("refused: %+v %v", decision, err)
	}
	if _, err := c.VerifyPolicy(ctx, accepted, policyFile+".missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing policy: %v", err)
	}
}
