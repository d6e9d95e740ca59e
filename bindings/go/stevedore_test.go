package stevedore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// layout makes a one-layer image with umoci and returns "oci:PATH".
func layout(t *testing.T) string {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	run(t, "umoci", "init", "--layout", src)
	run(t, "umoci", "new", "--image", src+":1.0")
	file := filepath.Join(dir, "hello.txt")
	if err := os.WriteFile(file, []byte("hello from go\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "umoci", "insert", "--rootless", "--image", src+":1.0", file, "/hello.txt")
	return "oci:" + src
}

// registry starts docker-registry on a free loopback port and returns its
// address; where docker-registry is not installed, it starts this library's
// own server (StartServer) instead.
func registry(t *testing.T) string {
	if _, err := exec.LookPath("docker-registry"); err != nil {
		t.Log("docker-registry not installed: testing against our own server")
		s, err := StartServer(ServerOptions{Root: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Stop)
		return s.Address()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	config := filepath.Join(dir, "config.yml")
	yml := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	if err := os.WriteFile(config, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("docker-registry", "serve", config)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start docker-registry: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
	}
	t.Fatal("docker-registry did not start")
	return ""
}

func client(t *testing.T, options ClientOptions) *Client {
	c, err := NewClient(options)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestVersion(t *testing.T) {
	if Version() == "" {
		t.Fatal("no version")
	}
}

func TestCopyInspectTagsDelete(t *testing.T) {
	ctx := context.Background()
	src := layout(t)
	dst := "oci:" + filepath.Join(t.TempDir(), "dst")
	c := client(t, ClientOptions{})
	res, err := c.Copy(ctx, src+":1.0", dst+":copied", CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.BlobsCopied != 2 {
		t.Fatalf("copied %d blobs", res.BlobsCopied)
	}
	report, err := c.Inspect(ctx, dst+":copied", "")
	if err != nil || report.Digest != res.Digest || len(report.Layers) != 1 {
		t.Fatalf("inspect: %v %+v", err, report)
	}
	if _, err := c.Copy(ctx, src+":1.0", dst+":second", CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, dst+":second"); err != nil {
		t.Fatal(err)
	}
	tags, err := c.Tags(ctx, dst)
	if err != nil || len(tags) != 1 || tags[0] != "copied" {
		t.Fatalf("tags %v %v", tags, err)
	}
}

func TestCopyRecompressesLayers(t *testing.T) {
	ctx := context.Background()
	src := layout(t)
	dst := "oci:" + filepath.Join(t.TempDir(), "zst")
	c := client(t, ClientOptions{})
	res, err := c.Copy(ctx, src+":1.0", dst+":z", CopyOptions{CompressFormat: "zstd", CompressLevel: 19})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Recompressed) != 1 || res.Recompressed[0].MediaType != "application/vnd.oci.image.layer.v1.tar+zstd" {
		t.Fatalf("recompressed: %+v", res.Recompressed)
	}
	report, err := c.Inspect(ctx, dst+":z", "")
	if err != nil || report.Layers[0].Digest != res.Recompressed[0].Digest {
		t.Fatalf("inspect: %v %+v", err, report)
	}
	_, err = c.Copy(ctx, src+":1.0", dst+":bad", CopyOptions{CompressFormat: "gzip", CompressLevel: 99})
	var e *Error
	if !errors.As(err, &e) || e.Kind != "invalid_input" {
		t.Fatalf("level 99: %v", err)
	}
}

func TestManifestAndBlobs(t *testing.T) {
	ctx := context.Background()
	src := layout(t) + ":1.0"
	c := client(t, ClientOptions{})
	m, err := c.Manifest(ctx, src, "")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(m.Raw)
	if m.Digest != "sha256:"+hex.EncodeToString(sum[:]) || m.Size != len(m.Raw) {
		t.Fatalf("manifest digest %s does not match its bytes", m.Digest)
	}
	var parsed struct {
		Layers []struct{ Digest string } `json:"layers"`
	}
	if err := json.Unmarshal(m.JSON, &parsed); err != nil || len(parsed.Layers) != 1 {
		t.Fatalf("parsed %v %v", parsed, err)
	}
	data, err := c.Blob(ctx, src, parsed.Layers[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	bsum := sha256.Sum256(data)
	if "sha256:"+hex.EncodeToString(bsum[:]) != parsed.Layers[0].Digest {
		t.Fatal("blob does not match its digest")
	}
	path := filepath.Join(t.TempDir(), "layer")
	if err := c.BlobToFile(ctx, src, parsed.Layers[0].Digest, path); err != nil {
		t.Fatal(err)
	}
	if onDisk, _ := os.ReadFile(path); string(onDisk) != string(data) {
		t.Fatal("file and memory differ")
	}
	raw, err := c.RawManifest(ctx, src)
	if err != nil || string(raw) != string(m.Raw) {
		t.Fatalf("raw manifest %v", err)
	}
	if cfg, err := c.RawConfig(ctx, src); err != nil || len(cfg) == 0 {
		t.Fatalf("raw config %v", err)
	}
}

func TestTypedErrors(t *testing.T) {
	ctx := context.Background()
	src := layout(t)
	c := client(t, ClientOptions{})
	_, err := c.Inspect(ctx, src+":no-such-tag", "")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("want not found, got %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Status != 2 {
		t.Fatalf("want status 2, got %v", err)
	}
	if _, err := c.Inspect(ctx, "no-transport-here", ""); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("want invalid input, got %v", err)
	}
	if _, err := NewClient(ClientOptions{Insecure: []string{"x"}, Credentials: map[string]Credentials{"x": {Password: "only-a-password"}}}); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("want invalid input, got %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Copy(cancelled, src+":1.0", src+":x", CopyOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

func TestOneClientManyGoroutinesAgainstARegistry(t *testing.T) {
	ctx := context.Background()
	addr := registry(t)
	src := layout(t) + ":1.0"
	retries := 1
	c := client(t, ClientOptions{Insecure: []string{addr}, MaxRetries: &retries})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// One repository each: docker-registry 2.8 races when several
			// uploads of one blob into one repository commit at once.
			if _, err := c.Copy(ctx, src, fmt.Sprintf("docker://%s/go/app%d:t", addr, i), CopyOptions{}); err != nil {
				errs <- err
			}
			// Errors are read on the right thread, even with goroutines moving.
			if _, err := c.Inspect(ctx, fmt.Sprintf("docker://%s/go/app%d:missing", addr, i), ""); !errors.Is(err, ErrNotFound) {
				errs <- fmt.Errorf("goroutine %d: want not found, got %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := 0; i < 8; i++ {
		tags, err := c.Tags(ctx, fmt.Sprintf("docker://%s/go/app%d", addr, i))
		if err != nil || len(tags) != 1 || tags[0] != "t" {
			t.Fatalf("repository %d: tags %v %v", i, tags, err)
		}
	}
	_, err := c.Manifest(ctx, fmt.Sprintf("docker://%s/go/app0:absent", addr), "")
	var e *Error
	if !errors.As(err, &e) || e.HTTPStatus != 404 || len(e.RegistryErrors) == 0 || e.RegistryErrors[0].Code != "MANIFEST_UNKNOWN" {
		t.Fatalf("want a 404 with MANIFEST_UNKNOWN, got %v", err)
	}
}

func TestProgressAndCancellation(t *testing.T) {
	src := layout(t) + ":1.0"
	c := client(t, ClientOptions{})
	var events []Event
	res, err := c.Copy(context.Background(), src, "oci:"+filepath.Join(t.TempDir(), "a")+":x", CopyOptions{
		Jobs:     2,
		Progress: func(e Event) bool { events = append(events, e); return true },
	})
	if err != nil {
		t.Fatal(err)
	}
	done := 0
	for _, e := range events {
		if e.Event == "blob_done" {
			done++
		}
	}
	if events[0].Event != "image_start" || events[len(events)-1].Event != "image_done" || done != res.BlobsCopied {
		t.Fatalf("events %+v", events)
	}

	// Cancelling the context mid-copy cancels it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dst := filepath.Join(t.TempDir(), "b")
	_, err = c.Copy(ctx, src, "oci:"+dst+":x", CopyOptions{Progress: func(e Event) bool {
		if e.Event == "blob_start" {
			cancel()
		}
		return true
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if _, statErr := os.Stat(dst); !os.IsNotExist(statErr) {
		t.Fatalf("a cancelled copy left %s", dst)
	}

	// Returning false cancels too.
	_, err = c.Copy(context.Background(), src, "oci:"+filepath.Join(t.TempDir(), "c")+":x", CopyOptions{
		Progress: func(Event) bool { return false },
	})
	if !errors.Is(err, ErrCancelled) {
		t.Fatalf("want ErrCancelled, got %v", err)
	}
}

func TestSync(t *testing.T) {
	src := layout(t)
	dst := "oci:" + filepath.Join(t.TempDir(), "mirror")
	c := client(t, ClientOptions{})
	jobs := []SyncJob{{src + ":1.0", dst + ":a"}, {src + ":nope", dst + ":b"}}
	results, err := c.Sync(context.Background(), jobs, CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if results[0].Outcome.Status != "copied" || results[0].Outcome.Digest == "" ||
		results[1].Outcome.Status != "failed" || results[1].Outcome.Kind != KindNotFound {
		t.Fatalf("results %+v", results)
	}
	again, _ := c.Sync(context.Background(), jobs, CopyOptions{})
	if again[0].Outcome.Status != "skipped" {
		t.Fatalf("second sync %+v", again)
	}
}

func TestServerInProcess(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "store")
	server, err := StartServer(ServerOptions{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Stop()
	c := client(t, ClientOptions{PlainHTTP: []string{server.Address()}})
	image := "docker://" + server.Address() + "/go/served:1"
	pushed, err := c.Copy(ctx, layout(t)+":1.0", image, CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	report, err := c.Inspect(ctx, image, "")
	if err != nil || report.Digest != pushed.Digest {
		t.Fatalf("inspect: %v %+v", err, report)
	}
	back := "oci:" + filepath.Join(t.TempDir(), "back") + ":1"
	if res, err := c.Copy(ctx, image, back, CopyOptions{}); err != nil || res.Digest != pushed.Digest {
		t.Fatalf("copy back: %v %+v", err, res)
	}
	manifest, err := c.Manifest(ctx, image, "")
	if err != nil || manifest.Digest != pushed.Digest {
		t.Fatalf("manifest: %v %+v", err, manifest)
	}
	blob, err := c.Blob(ctx, image, report.Layers[0].Digest)
	if sum := sha256.Sum256(blob); err != nil || "sha256:"+hex.EncodeToString(sum[:]) != report.Layers[0].Digest {
		t.Fatalf("blob: %v", err)
	}
	if _, err := c.Inspect(ctx, "docker://"+server.Address()+"/go/served:missing", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing tag: %v", err)
	}
	if _, err := StartServer(ServerOptions{Addr: "not an address"}); err == nil {
		t.Fatal("a bad address starts a server")
	}
	zero := 0.0
	gc, err := Gc(GcOptions{Root: root, DryRun: true, GraceSecs: &zero})
	if err != nil || !gc.DryRun || gc.Marked < 3 || gc.Removed != 0 {
		t.Fatalf("gc: %+v, %v", gc, err)
	}
	if _, err := Gc(GcOptions{Root: t.TempDir(), GraceSecs: &zero}); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("gc of a directory that is not a store: %v", err)
	}
	if _, err := Gc(GcOptions{Root: filepath.Join(t.TempDir(), "missing")}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("gc of a missing directory: %v", err)
	}
	if _, err := Gc(GcOptions{S3: &S3Options{URL: "not s3"}}); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("gc of a bad S3 URL: %v", err)
	}
}

func TestSignAndVerify(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := filepath.Join(dir, "key.pem")
	run(t, "openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
	public, err := exec.Command("openssl", "pkey", "-in", key, "-pubout").Output()
	if err != nil {
		t.Fatal(err)
	}
	private, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	server, err := StartServer(ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Stop()
	c := client(t, ClientOptions{PlainHTTP: []string{server.Address()}})
	image := "docker://" + server.Address() + "/go/signed:1"
	if _, err := c.Copy(ctx, layout(t)+":1.0", image, CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sign(ctx, image, SignOptions{Key: string(private), Annotations: map[string]string{"by": "go"}}); err != nil {
		t.Fatal(err)
	}
	report, err := c.Verify(ctx, image, Policy{Keys: []string{string(public)}, Annotations: map[string]string{"by": "go"}})
	if err != nil || !report.Verified {
		t.Fatalf("verify: %v %+v", err, report)
	}
	refused, err := c.Verify(ctx, image, Policy{Keys: []string{string(public)}, Annotations: map[string]string{"by": "rust"}})
	if !errors.Is(err, ErrPolicy) || refused == nil || refused.Signatures[0].Verdict != "missing_annotation" {
		t.Fatalf("refused: %v %+v", err, refused)
	}
	attached, err := c.Attach(ctx, image, []byte(`{"spdxVersion": "SPDX-2.3"}`), AttachOptions{ArtifactType: "application/spdx+json"})
	if err != nil {
		t.Fatal(err)
	}
	found, err := c.Referrers(ctx, image, "application/spdx+json")
	if err != nil || len(found) != 1 || found[0].Digest != attached.Digest {
		t.Fatalf("referrers: %v %+v", err, found)
	}
}

func TestGenerateKeyPair(t *testing.T) {
	private, public, err := GenerateKeyPair("pw")
	if err != nil || !strings.Contains(private, "ENCRYPTED COSIGN PRIVATE KEY") || !strings.Contains(public, "PUBLIC KEY") {
		t.Fatalf("key pair: %v", err)
	}
	ctx := context.Background()
	server, err := StartServer(ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Stop()
	c := client(t, ClientOptions{PlainHTTP: []string{server.Address()}})
	image := "docker://" + server.Address() + "/go/keys:1"
	if _, err := c.Copy(ctx, layout(t)+":1.0", image, CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sign(ctx, image, SignOptions{Key: private, Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	if report, err := c.Verify(ctx, image, Policy{Keys: []string{public}}); err != nil || !report.Verified {
		t.Fatalf("verify: %v", err)
	}
}

func TestStaticExportReadsBack(t *testing.T) {
	ctx := context.Background()
	src := layout(t)
	work := t.TempDir()
	tree, conf := filepath.Join(work, "tree"), filepath.Join(work, "registry.conf")
	c := client(t, ClientOptions{})
	res, err := c.Static(ctx, src+":1.0", tree, StaticOptions{Name: "team/app", NginxConf: conf})
	if err != nil {
		t.Fatal(err)
	}
	if res.Image != "team/app:1.0" || res.Pull != "localhost:8080/team/app:1.0" {
		t.Fatalf("%+v", res)
	}
	text, err := os.ReadFile(conf)
	if err != nil || !strings.Contains(string(text), "location = /v2/team/app/manifests/"+res.Copy.Digest) {
		t.Fatalf("nginx snippet %v:\n%s", err, text)
	}
	back, err := c.Copy(ctx, "static:"+tree+"/team/app:1.0", "oci:"+filepath.Join(work, "back")+":1.0", CopyOptions{})
	if err != nil || back.Digest != res.Copy.Digest {
		t.Fatalf("read back: %v %+v", err, back)
	}
	if _, err := c.Static(ctx, src+":1.0", tree, StaticOptions{Name: "../escape"}); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("escaping name: %v", err)
	}
}

func TestBuildMutateAndABadRebase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/rootfs/etc", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/rootfs/etc/hello", []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	client, err := NewClient(ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	layout := "oci:" + dir + "/out"
	spec := map[string]any{"layers": []any{map[string]any{"dir": "rootfs"}}}
	one, err := client.Build(ctx, spec, dir, layout+":v1")
	if err != nil {
		t.Fatal(err)
	}
	two, err := client.Build(ctx, spec, dir, layout+":v2")
	if err != nil || two.Digest != one.Digest {
		t.Fatalf("builds differ: %v %v %v", one, two, err)
	}
	changed, err := client.Mutate(ctx, layout+":v1", map[string]any{"config": map[string]any{"cmd": []string{"sh"}}}, layout+":v3")
	if err != nil || changed.Digest == one.Digest {
		t.Fatalf("mutate: %v %v", changed, err)
	}
	other := map[string]any{"layers": []any{map[string]any{"files": []string{"rootfs/etc/hello:/other"}}}}
	if _, err := client.Build(ctx, other, dir, layout+":other"); err != nil {
		t.Fatal(err)
	}
	_, err = client.Rebase(ctx, layout+":v1", layout+":other", layout+":v2", layout+":v4")
	if !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("a rebase onto a base that is not the image's: %v", err)
	}
}
