/*
 * The C ABI from C: a client handle shared by four threads, copy, inspect,
 * tags, manifest and blob fetches, delete, versions, and the error paths
 * (status codes, the per-thread last error, NULL arguments, outputs left
 * untouched on failure).
 *
 * usage: abi_test SRC DST_LAYOUT EXPECTED_DIGEST LAYER_DIGEST EXPECTED_VERSION
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stevedore.h"

static int failures = 0;
static int checks = 0;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    pthread_mutex_lock(&lock);                                                 \
    checks++;                                                                  \
    if (!(cond)) {                                                             \
      failures++;                                                              \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);          \
      fprintf(stderr, __VA_ARGS__);                                            \
      fprintf(stderr, "\n");                                                   \
    }                                                                          \
    pthread_mutex_unlock(&lock);                                               \
  } while (0)

static const char *last_message(void) {
  const char *m = stevedore_last_error_message();
  return m ? m : "(none)";
}

struct counter {
  int events;
  int blobs_done;
  int cancel_at_blob_start;
};

/* Counts events; cancels at the first blob_start when asked to. */
static int count_events(void *userdata, const char *event_json) {
  struct counter *c = userdata;
  c->events++;
  if (strstr(event_json, "\"event\":\"blob_done\"")) c->blobs_done++;
  return c->cancel_at_blob_start && strstr(event_json, "\"event\":\"blob_start\"") ? 1 : 0;
}

struct job {
  const stevedore_client *client;
  const char *src;
  char dst[4200];
  const char *digest;
};

/* One of four threads copying with the same client handle. */
static void *copy_job(void *arg) {
  struct job *job = arg;
  char *out = NULL;
  stevedore_status st = stevedore_copy(job->client, job->src, job->dst, NULL, NULL, NULL, &out);
  CHECK(st == STEVEDORE_OK, "thread copy to %s: %d %s", job->dst, st, last_message());
  CHECK(out && strstr(out, job->digest), "thread result %s", out ? out : "(null)");
  stevedore_string_free(out);
  /* The last error is per thread: a failure here is not seen elsewhere. */
  st = stevedore_inspect(job->client, "oci:/nonexistent/layout:x", NULL, &out);
  CHECK(st == STEVEDORE_ERROR_NOT_FOUND, "thread error: %d", st);
  return NULL;
}

/* Copies `src` to four destinations (`dst_format` with the thread number)
 * from four threads at once, all with `client`. */
static void copy_from_four_threads(const stevedore_client *client, const char *src, const char *digest,
                                   const char *dst_format, const char *dst_base) {
  pthread_t threads[4];
  struct job jobs[4];
  for (int i = 0; i < 4; i++) {
    jobs[i].client = client;
    jobs[i].src = src;
    jobs[i].digest = digest;
    snprintf(jobs[i].dst, sizeof jobs[i].dst, dst_format, dst_base, i);
    pthread_create(&threads[i], NULL, copy_job, &jobs[i]);
  }
  for (int i = 0; i < 4; i++) pthread_join(threads[i], NULL);
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s SRC DST_LAYOUT EXPECTED_DIGEST LAYER_DIGEST EXPECTED_VERSION\n", argv[0]);
    return 2;
  }
  const char *src = argv[1], *layout = argv[2], *digest = argv[3], *layer = argv[4];
  const char *version = argv[5];
  char dst[4200];
  snprintf(dst, sizeof dst, "%s:copied", layout);

  CHECK(strcmp(stevedore_version(), version) == 0, "version %s", stevedore_version());
  CHECK(stevedore_abi_version() == 6, "abi %u", stevedore_abi_version());

  /* A client handle; bad options are refused. */
  stevedore_client *client = NULL;
  stevedore_status st = stevedore_client_new("{\"max_retries\": 1, \"tls_verify\": true}", &client);
  CHECK(st == STEVEDORE_OK && client != NULL, "client: %d %s", st, last_message());
  stevedore_client *bad = NULL;
  st = stevedore_client_new("{\"retries\": 1}", &bad);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT && bad == NULL, "bad client options: %d", st);
  CHECK(strstr(last_message(), "retries") != NULL, "message %s", last_message());

  /* Copy with a progress callback, and the result JSON. */
  struct counter counter = {0, 0, 0};
  char *out = NULL;
  st = stevedore_copy(client, src, dst, NULL, count_events, &counter, &out);
  CHECK(st == STEVEDORE_OK, "copy: %d %s", st, last_message());
  CHECK(out && strstr(out, digest), "copy result %s", out ? out : "(null)");
  CHECK(stevedore_last_error_message() == NULL, "no error after success");
  CHECK(counter.blobs_done == 3 && counter.events >= 8, "events %d, blobs done %d", counter.events, counter.blobs_done);
  stevedore_string_free(out);

  /* A callback's non-zero return cancels the copy. */
  struct counter cancelling = {0, 0, 1};
  char cancelled_dst[4300];
  snprintf(cancelled_dst, sizeof cancelled_dst, "%s-cancelled:x", layout);
  out = NULL;
  st = stevedore_copy(client, src, cancelled_dst, NULL, count_events, &cancelling, &out);
  CHECK(st == STEVEDORE_ERROR_CANCELLED && out == NULL, "cancel: %d", st);
  CHECK(strstr(last_message(), "cancelled") != NULL, "message %s", last_message());

  /* A sync of two jobs, one of them bad: the call succeeds, the results say which failed. */
  char sync_jobs[9000];
  snprintf(sync_jobs, sizeof sync_jobs, "[{\"src\": \"%s\", \"dst\": \"%s:synced\"}, {\"src\": \"%s:nope\", \"dst\": \"%s:x\"}]",
           src, layout, layout, layout);
  out = NULL;
  st = stevedore_sync(client, sync_jobs, "{\"jobs\": 2}", NULL, NULL, &out);
  CHECK(st == STEVEDORE_OK, "sync: %d %s", st, last_message());
  CHECK(out && strstr(out, "\"status\":\"copied\"") && strstr(out, "\"status\":\"failed\"") &&
            strstr(out, "\"kind\":\"not_found\""),
        "sync results %s", out ? out : "(null)");
  stevedore_string_free(out);
  st = stevedore_sync(client, "not json", NULL, NULL, NULL, &out);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT, "bad jobs: %d", st);

  /* Four threads, one client. */
  copy_from_four_threads(client, src, digest, "%s:thread%d", layout);

  /* Inspect the copy, with the client and without one. */
  out = NULL;
  st = stevedore_inspect(client, dst, "{\"platform\": null}", &out);
  CHECK(st == STEVEDORE_OK, "inspect: %d %s", st, last_message());
  CHECK(out && strstr(out, "\"layers\"") && strstr(out, digest), "inspect %s", out ? out : "(null)");
  stevedore_string_free(out);
  out = NULL;
  st = stevedore_inspect(NULL, dst, NULL, &out);
  CHECK(st == STEVEDORE_OK, "inspect without a client: %d %s", st, last_message());
  stevedore_string_free(out);

  /* The raw manifest and config, as exact bytes. */
  uint8_t *bytes = NULL;
  size_t len = 0;
  st = stevedore_inspect_raw(client, dst, NULL, &bytes, &len);
  CHECK(st == STEVEDORE_OK && len > 0 && bytes[0] == '{', "raw manifest: %d %s", st, last_message());
  stevedore_bytes_free(bytes, len);
  bytes = NULL;
  st = stevedore_inspect_raw(client, dst, "{\"config\": true}", &bytes, &len);
  CHECK(st == STEVEDORE_OK && len > 0, "raw config: %d %s", st, last_message());
  CHECK(bytes && memmem(bytes, len, "rootfs", 6) != NULL, "config has rootfs");
  stevedore_bytes_free(bytes, len);

  /* The manifest in the runtime's shape, beside its exact bytes. */
  char *json = NULL;
  uint8_t *raw = NULL;
  size_t raw_len = 0;
  st = stevedore_manifest(client, dst, NULL, &json, &raw, &raw_len);
  CHECK(st == STEVEDORE_OK, "manifest: %d %s", st, last_message());
  CHECK(json && strstr(json, "\"media_type\":\"application/vnd.oci.image.manifest.v1+json\"") &&
            strstr(json, digest) && strstr(json, "\"manifest\":{"),
        "manifest json %s", json ? json : "(null)");
  CHECK(raw && raw_len > 0 && memmem(raw, raw_len, layer, strlen(layer)) != NULL, "raw manifest lists the layer");
  stevedore_string_free(json);
  stevedore_bytes_free(raw, raw_len);

  /* A blob into memory, and the same blob into a file. */
  bytes = NULL;
  st = stevedore_blob(client, dst, layer, NULL, &bytes, &len);
  CHECK(st == STEVEDORE_OK && len > 0, "blob: %d %s", st, last_message());
  char path[4300];
  const char *dir = strncmp(layout, "oci:", 4) == 0 ? layout + 4 : layout;
  snprintf(path, sizeof path, "%s-layer.tar.gz", dir);
  st = stevedore_blob_to_file(client, dst, layer, path, NULL);
  CHECK(st == STEVEDORE_OK, "blob to file: %d %s", st, last_message());
  FILE *f = fopen(path, "rb");
  CHECK(f != NULL, "blob file %s", path);
  if (f) {
    uint8_t *from_file = malloc(len + 1);
    size_t n = fread(from_file, 1, len + 1, f);
    CHECK(n == len && memcmp(from_file, bytes, len) == 0, "file and memory agree (%zu of %zu)", n, len);
    free(from_file);
    fclose(f);
  }
  stevedore_bytes_free(bytes, len);
  st = stevedore_blob(client, dst, layer, "{\"max_size\": 10}", &bytes, &len);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT, "max_size: %d", st);
  st = stevedore_blob(client, dst, "sha256:../../etc/passwd", NULL, &bytes, &len);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT, "traversal digest: %d", st);

  /* Tags of the destination layout. */
  out = NULL;
  char layout_ref[4200];
  snprintf(layout_ref, sizeof layout_ref, "%s", layout);
  st = stevedore_tags(client, layout_ref, NULL, &out);
  CHECK(st == STEVEDORE_OK, "tags: %d %s", st, last_message());
  CHECK(out && strstr(out, "\"copied\"") && strstr(out, "\"thread3\"") && strstr(out, "\"synced\""),
        "tags %s", out ? out : "(null)");
  stevedore_string_free(out);

  /* A registry server in this process: push to it, read back, stop it. */
  stevedore_server *server = NULL;
  st = stevedore_server_start("{\"addr\": \"127.0.0.1:0\"}", &server);
  CHECK(st == STEVEDORE_OK && server != NULL, "server: %d %s", st, last_message());
  const char *addr = stevedore_server_address(server);
  CHECK(addr && strncmp(addr, "127.0.0.1:", 10) == 0, "server address %s", addr ? addr : "(null)");
  char server_client_options[200], pushed[300];
  snprintf(server_client_options, sizeof server_client_options, "{\"plain_http\": [\"%s\"]}", addr);
  snprintf(pushed, sizeof pushed, "docker://%s/c/app:1", addr);
  stevedore_client *to_server = NULL;
  st = stevedore_client_new(server_client_options, &to_server);
  CHECK(st == STEVEDORE_OK, "server client: %d %s", st, last_message());
  out = NULL;
  st = stevedore_copy(to_server, src, pushed, NULL, NULL, NULL, &out);
  CHECK(st == STEVEDORE_OK && out && strstr(out, digest), "push to server: %d %s", st, last_message());
  stevedore_string_free(out);
  /* Four threads push to the server at once with one client handle. */
  copy_from_four_threads(to_server, src, digest, "docker://%s/c/threads:t%d", addr);
  out = NULL;
  st = stevedore_inspect(to_server, pushed, NULL, &out);
  CHECK(st == STEVEDORE_OK && out && strstr(out, digest), "inspect on server: %d %s", st, last_message());
  stevedore_string_free(out);
  /* Sign it there, verify it, and see a wrong key refused with a report.
   * (A throwaway test key, made with openssl for this test only.) */
  const char *sign_options =
      "{\"key\": \"-----BEGIN PRIVATE KEY-----\\n"
      "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgAu2j5dI1KUQfa/jF\\n"
      "ll2k2VMHzr0okUO4gZRVOzJsf+GhRANCAAS7DdMcfPdn5DfBrHRSA2aVvKICMLkc\\n"
      "1oQQ163Eu27LJwVhT5h1i1iwriM52pJsvInzL/H1js7zPWpWLbT4vPUY\\n"
      "-----END PRIVATE KEY-----\\n\", \"annotations\": {\"from\": \"c\"}}";
  const char *good_policy =
      "{\"keys\": [\"-----BEGIN PUBLIC KEY-----\\n"
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEuw3THHz3Z+Q3wax0UgNmlbyiAjC5\\n"
      "HNaEENetxLtuyycFYU+YdYtYsK4jOdqSbLyJ8y/x9Y7O8z1qVi20+Lz1GA==\\n"
      "-----END PUBLIC KEY-----\\n\"], \"annotations\": {\"from\": \"c\"}}";
  out = NULL;
  st = stevedore_sign(to_server, pushed, sign_options, &out);
  CHECK(st == STEVEDORE_OK && out && strstr(out, "\"signature_tag\":\"sha256-"), "sign: %d %s", st, last_message());
  stevedore_string_free(out);
  out = NULL;
  st = stevedore_verify(to_server, pushed, good_policy, &out);
  CHECK(st == STEVEDORE_OK && out && strstr(out, "\"verified\":true"), "verify: %d %s", st, last_message());
  stevedore_string_free(out);
  out = NULL;
  st = stevedore_verify(to_server, pushed, "{\"keys\": [\"not a key\"]}", &out);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT && out == NULL, "bad key: %d", st);
  const char *other_policy =
      "{\"keys\": [\"-----BEGIN PUBLIC KEY-----\\n"
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEuw3THHz3Z+Q3wax0UgNmlbyiAjC5\\n"
      "HNaEENetxLtuyycFYU+YdYtYsK4jOdqSbLyJ8y/x9Y7O8z1qVi20+Lz1GA==\\n"
      "-----END PUBLIC KEY-----\\n\"], \"annotations\": {\"from\": \"elsewhere\"}}";
  st = stevedore_verify(to_server, pushed, other_policy, &out);
  CHECK(st == STEVEDORE_ERROR_POLICY && out && strstr(out, "\"missing_annotation\""), "refused: %d %s", st,
        out ? out : "(null)");
  CHECK(strstr(last_message(), "satisfies the policy") != NULL, "message %s", last_message());
  stevedore_string_free(out);

  /* A new key pair, as cosign writes it. */
  out = NULL;
  st = stevedore_generate_key_pair("{\"password\": \"c\"}", &out);
  CHECK(st == STEVEDORE_OK && out && strstr(out, "ENCRYPTED COSIGN PRIVATE KEY") && strstr(out, "BEGIN PUBLIC KEY"),
        "key pair: %d %s", st, last_message());
  stevedore_string_free(out);

  /* Attach an SBOM to it and find it among its referrers. */
  const char sbom[] = "{\"spdxVersion\": \"SPDX-2.3\"}";
  out = NULL;
  st = stevedore_attach(to_server, pushed, (const uint8_t *)sbom, strlen(sbom),
                        "{\"artifact_type\": \"application/spdx+json\"}", &out);
  CHECK(st == STEVEDORE_OK && out && strstr(out, "\"artifact_type\":\"application/spdx+json\""), "attach: %d %s",
        st, last_message());
  stevedore_string_free(out);
  out = NULL;
  st = stevedore_referrers(to_server, pushed, "{\"artifact_type\": \"application/spdx+json\"}", &out);
  CHECK(st == STEVEDORE_OK && out && strstr(out, "\"artifactType\":\"application/spdx+json\""), "referrers: %d %s",
        st, out ? out : last_message());
  stevedore_string_free(out);
  st = stevedore_attach(to_server, pushed, NULL, 5, "{\"artifact_type\": \"x/y\"}", &out);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT, "NULL artifact: %d", st);

  stevedore_server *bad_server = NULL;
  st = stevedore_server_start("{\"addr\": \"127.0.0.1:0\", \"threads\": 2}", &bad_server);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT && bad_server == NULL, "bad server options: %d", st);
  stevedore_server_stop(server);
  stevedore_server_stop(NULL);
  CHECK(stevedore_server_address(NULL) == NULL, "NULL server has no address");
  stevedore_client_free(to_server);

  /* Error paths: status, last error message and JSON, output untouched. */
  char *untouched = (char *)"sentinel";
  out = untouched;
  char missing[4300];
  snprintf(missing, sizeof missing, "%s:no-such-tag", layout);
  st = stevedore_inspect(client, missing, NULL, &out);
  CHECK(st == STEVEDORE_ERROR_NOT_FOUND, "unknown tag: %d", st);
  CHECK(out == untouched, "output written on failure");
  CHECK(strstr(last_message(), "no-such-tag") != NULL, "message %s", last_message());
  const char *err_json = stevedore_last_error_json();
  CHECK(err_json && strstr(err_json, "\"kind\":\"not_found\""), "json %s", err_json ? err_json : "(null)");

  st = stevedore_copy(client, src, dst, "{\"bogus\": 1}", NULL, NULL, &out);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT, "unknown option: %d", st);
  CHECK(strstr(last_message(), "bogus") != NULL, "message %s", last_message());
  st = stevedore_copy(client, src, dst, "{not json", NULL, NULL, &out);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT, "bad json: %d", st);
  st = stevedore_inspect(client, "no-transport-here", NULL, &out);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT, "bad reference: %d", st);
  CHECK(strstr(last_message(), "transport") != NULL, "message %s", last_message());
  st = stevedore_inspect(client, "docker://127.0.0.1:1/Upper/case", NULL, &out);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT, "bad docker reference: %d", st);
  st = stevedore_copy(client, NULL, dst, NULL, NULL, NULL, &out);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT, "NULL src: %d", st);
  CHECK(strstr(last_message(), "src must not be NULL") != NULL, "message %s", last_message());
  st = stevedore_inspect(client, dst, NULL, NULL);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT, "NULL out: %d", st);
  st = stevedore_inspect_raw(client, dst, NULL, &bytes, NULL);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT, "NULL out_len: %d", st);
  st = stevedore_client_new(NULL, NULL);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT, "NULL client_out: %d", st);
  CHECK(out == untouched, "output written on failure");

  /* Build from the layout's own oci-layout file, mutate, flatten; bad input is typed. */
  char built[4300], mutated[4300], flat[4300], nowhere[4300];
  snprintf(built, sizeof built, "%s:built", layout);
  snprintf(mutated, sizeof mutated, "%s:mutated", layout);
  snprintf(flat, sizeof flat, "%s:flat", layout);
  snprintf(nowhere, sizeof nowhere, "%s:nowhere", layout);
  const char *spec = "{\"platform\": \"linux/amd64\", \"layers\": [{\"files\": [\"oci-layout:/etc/oci-layout:0644\"]}]}";
  char *built_json = NULL, *mutated_json = NULL;
  st = stevedore_build(client, spec, layout + strlen("oci:"), built, &built_json);
  CHECK(st == STEVEDORE_OK && built_json && strstr(built_json, "\"digest\":\"sha256:"), "build: %d %s", st,
        last_message());
  st = stevedore_mutate(client, built, "{\"config\": {\"env\": [\"A=1\"]}}", mutated, &mutated_json);
  CHECK(st == STEVEDORE_OK && mutated_json, "mutate: %d %s", st, last_message());
  CHECK(built_json && mutated_json && strcmp(built_json, mutated_json) != 0, "mutate changed the digest");
  stevedore_string_free(built_json);
  stevedore_string_free(mutated_json);
  out = untouched;
  st = stevedore_mutate(client, built, "{\"config\": {\"nope\": 1}}", nowhere, &out);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT && out == untouched, "bad mutation: %d", st);
  CHECK(strstr(last_message(), "nope") != NULL, "message %s", last_message());
  st = stevedore_build(client, "{\"layers\": [{\"tar\": \"missing.tar\"}]}", NULL, nowhere, &out);
  CHECK(st == STEVEDORE_ERROR_NOT_FOUND && out == untouched, "missing tar: %d %s", st, last_message());
  out = NULL;
  st = stevedore_flatten(client, mutated, flat, NULL, &out);
  CHECK(st == STEVEDORE_OK && out, "flatten: %d %s", st, last_message());
  stevedore_string_free(out);
  out = untouched;
  st = stevedore_layer_remove(client, built, 5, nowhere, NULL, &out);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT && out == untouched, "no layer 5: %d", st);
  CHECK(strstr(last_message(), "layer 5 does not exist") != NULL, "message %s", last_message());

  /* Delete a tag; it is gone, the others stay. */
  char thread0[4300];
  snprintf(thread0, sizeof thread0, "%s:thread0", layout);
  st = stevedore_delete(client, thread0, NULL);
  CHECK(st == STEVEDORE_OK, "delete: %d %s", st, last_message());
  out = NULL;
  st = stevedore_inspect(client, thread0, NULL, &out);
  CHECK(st == STEVEDORE_ERROR_NOT_FOUND, "deleted: %d", st);
  st = stevedore_inspect(client, dst, NULL, &out);
  CHECK(st == STEVEDORE_OK, "the other tags stay: %d %s", st, last_message());
  stevedore_string_free(out);

  /* A success clears the last error; freeing NULL is a no-op. */
  CHECK(stevedore_last_error_message() == NULL && stevedore_last_error_json() == NULL, "cleared");
  stevedore_string_free(NULL);
  stevedore_bytes_free(NULL, 0);
  stevedore_client_free(NULL);
  stevedore_client_free(client);

  printf("%d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? 0 : 1;
}
