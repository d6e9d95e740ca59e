/*
 * The C ABI from C: copy, inspect, tags, raw bytes, versions, and the error
 * paths (status codes, the per-thread last error, NULL arguments, outputs left
 * untouched on failure).
 *
 * usage: abi_test SRC DST EXPECTED_DIGEST EXPECTED_VERSION
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stevedore.h"

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    checks++;                                                                  \
    if (!(cond)) {                                                             \
      failures++;                                                              \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);          \
      fprintf(stderr, __VA_ARGS__);                                            \
      fprintf(stderr, "\n");                                                   \
    }                                                                          \
  } while (0)

static const char *last_message(void) {
  const char *m = stevedore_last_error_message();
  return m ? m : "(none)";
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s SRC DST EXPECTED_DIGEST EXPECTED_VERSION\n", argv[0]);
    return 2;
  }
  const char *src = argv[1], *dst = argv[2], *digest = argv[3], *version = argv[4];

  CHECK(strcmp(stevedore_version(), version) == 0, "version %s", stevedore_version());
  CHECK(stevedore_abi_version() == 1, "abi %u", stevedore_abi_version());

  /* Copy, and the result JSON. */
  char *out = NULL;
  stevedore_status st = stevedore_copy(src, dst, NULL, &out);
  CHECK(st == STEVEDORE_OK, "copy: %d %s", st, last_message());
  CHECK(out && strstr(out, digest), "copy result %s", out ? out : "(null)");
  CHECK(stevedore_last_error_message() == NULL, "no error after success");
  stevedore_string_free(out);

  /* Inspect the copy. */
  out = NULL;
  st = stevedore_inspect(dst, "{\"platform\": null}", &out);
  CHECK(st == STEVEDORE_OK, "inspect: %d %s", st, last_message());
  CHECK(out && strstr(out, "\"layers\"") && strstr(out, digest), "inspect %s", out ? out : "(null)");
  stevedore_string_free(out);

  /* The raw manifest and config, as exact bytes. */
  uint8_t *bytes = NULL;
  size_t len = 0;
  st = stevedore_inspect_raw(dst, NULL, &bytes, &len);
  CHECK(st == STEVEDORE_OK && len > 0 && bytes[0] == '{', "raw manifest: %d %s", st, last_message());
  stevedore_bytes_free(bytes, len);
  bytes = NULL;
  st = stevedore_inspect_raw(dst, "{\"config\": true}", &bytes, &len);
  CHECK(st == STEVEDORE_OK && len > 0, "raw config: %d %s", st, last_message());
  CHECK(bytes && memmem(bytes, len, "rootfs", 6) != NULL, "config has rootfs");
  stevedore_bytes_free(bytes, len);

  /* Tags of the destination layout. */
  char layout[4096];
  snprintf(layout, sizeof layout, "%s", dst);
  char *colon = strrchr(layout, ':');
  if (colon && colon != strchr(layout, ':')) *colon = '\0';
  out = NULL;
  st = stevedore_tags(layout, NULL, &out);
  CHECK(st == STEVEDORE_OK, "tags: %d %s", st, last_message());
  CHECK(out && strcmp(out, "[\"copied\"]") == 0, "tags %s", out ? out : "(null)");
  stevedore_string_free(out);

  /* Error paths: status, last error message and JSON, output untouched. */
  char *untouched = (char *)"sentinel";
  out = untouched;
  char missing[4200];
  snprintf(missing, sizeof missing, "%s:no-such-tag", layout);
  st = stevedore_inspect(missing, NULL, &out);
  CHECK(st == STEVEDORE_ERROR_NOT_FOUND, "unknown tag: %d", st);
  CHECK(out == untouched, "output written on failure");
  CHECK(strstr(last_message(), "no-such-tag") != NULL, "message %s", last_message());
  const char *json = stevedore_last_error_json();
  CHECK(json && strstr(json, "\"kind\":\"not_found\""), "json %s", json ? json : "(null)");

  st = stevedore_copy(src, dst, "{\"bogus\": 1}", &out);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT, "unknown option: %d", st);
  CHECK(strstr(last_message(), "bogus") != NULL, "message %s", last_message());

  st = stevedore_copy(src, dst, "{not json", &out);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT, "bad json: %d", st);

  st = stevedore_inspect("no-transport-here", NULL, &out);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT, "bad reference: %d", st);
  CHECK(strstr(last_message(), "transport") != NULL, "message %s", last_message());

  st = stevedore_copy(NULL, dst, NULL, &out);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT, "NULL src: %d", st);
  CHECK(strstr(last_message(), "src must not be NULL") != NULL, "message %s", last_message());
  st = stevedore_inspect(dst, NULL, NULL);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT, "NULL out: %d", st);
  st = stevedore_inspect_raw(dst, NULL, &bytes, NULL);
  CHECK(st == STEVEDORE_ERROR_INVALID_INPUT, "NULL out_len: %d", st);
  CHECK(out == untouched, "output written on failure");

  /* A success clears the last error; freeing NULL is a no-op. */
  out = NULL;
  st = stevedore_tags(layout, NULL, &out);
  CHECK(st == STEVEDORE_OK && stevedore_last_error_message() == NULL, "cleared");
  CHECK(stevedore_last_error_json() == NULL, "json cleared");
  stevedore_string_free(out);
  stevedore_string_free(NULL);
  stevedore_bytes_free(NULL, 0);

  printf("%d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? 0 : 1;
}
