/*
 * The Elixir NIF over libstevedore's C ABI. Every call that can block runs on
 * a dirty IO scheduler; a failure returns {error, ErrorJson} with the error
 * read in the same NIF call, on the same thread.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <erl_nif.h>

#include "stevedore.h"

static ErlNifResourceType *client_type;
static ErlNifResourceType *cancel_type;
static ErlNifResourceType *server_type;

/* A cancel token: any process sets it; the copy's callback reads it. */
typedef struct {
  atomic_int cancelled;
} cancel_resource;

/* What the progress callback needs: where to send events, what to watch. */
typedef struct {
  int has_pid;
  ErlNifPid pid;
  cancel_resource *cancel;
} progress_target;

/* Called from Stevedore's worker threads (never two at once). */
static int progress_callback(void *userdata, const char *event_json) {
  progress_target *target = userdata;
  if (target->has_pid) {
    ErlNifEnv *msg_env = enif_alloc_env();
    ERL_NIF_TERM json;
    size_t len = strlen(event_json);
    unsigned char *buf = enif_make_new_binary(msg_env, len, &json);
    memcpy(buf, event_json, len);
    enif_send(NULL, &target->pid, msg_env,
              enif_make_tuple2(msg_env, enif_make_atom(msg_env, "stevedore_progress"), json));
    enif_free_env(msg_env);
  }
  return target->cancel != NULL && atomic_load(&target->cancel->cancelled) ? 1 : 0;
}

typedef struct {
  stevedore_client *client;
} client_resource;

static void client_dtor(ErlNifEnv *env, void *obj) {
  (void)env;
  client_resource *res = obj;
  stevedore_client_free(res->client);
}

/* A running server; `server` becomes NULL once stopped. The address is
 * copied at start so reading it never touches a server being stopped. */
typedef struct {
  stevedore_server *server;
  char address[128];
} server_resource;

static void server_dtor(ErlNifEnv *env, void *obj) {
  (void)env;
  server_resource *res = obj;
  stevedore_server_stop(__atomic_exchange_n(&res->server, NULL, __ATOMIC_SEQ_CST));
}

static int load(ErlNifEnv *env, void **priv, ERL_NIF_TERM info) {
  (void)priv;
  (void)info;
  client_type = enif_open_resource_type(env, NULL, "stevedore_client", client_dtor, ERL_NIF_RT_CREATE, NULL);
  cancel_type = enif_open_resource_type(env, NULL, "stevedore_cancel", NULL, ERL_NIF_RT_CREATE, NULL);
  server_type = enif_open_resource_type(env, NULL, "stevedore_server", server_dtor, ERL_NIF_RT_CREATE, NULL);
  return client_type == NULL || cancel_type == NULL || server_type == NULL ? 1 : 0;
}

static ERL_NIF_TERM atom(ErlNifEnv *env, const char *name) { return enif_make_atom(env, name); }

static ERL_NIF_TERM binary_of(ErlNifEnv *env, const void *data, size_t len) {
  ERL_NIF_TERM term;
  unsigned char *buf = enif_make_new_binary(env, len, &term);
  if (len) memcpy(buf, data, len);
  return term;
}

static ERL_NIF_TERM string_term(ErlNifEnv *env, const char *s) { return binary_of(env, s, strlen(s)); }

/* {error, Json} for the last error of this thread. */
static ERL_NIF_TERM error_term(ErlNifEnv *env, stevedore_status status) {
  const char *json = stevedore_last_error_json();
  ERL_NIF_TERM detail = json ? string_term(env, json) : enif_make_int(env, (int)status);
  return enif_make_tuple2(env, atom(env, "error"), detail);
}

/* A binary or nil argument as a freshly allocated C string (NULL for nil). */
static int c_string(ErlNifEnv *env, ERL_NIF_TERM term, char **out) {
  ErlNifBinary bin;
  if (enif_is_atom(env, term)) {
    *out = NULL;
    return 1;
  }
  if (!enif_inspect_binary(env, term, &bin)) return 0;
  *out = malloc(bin.size + 1);
  if (*out == NULL) return 0;
  memcpy(*out, bin.data, bin.size);
  (*out)[bin.size] = '\0';
  return 1;
}

/* The client argument: a resource, or nil for a client of default options. */
static int client_arg(ErlNifEnv *env, ERL_NIF_TERM term, const stevedore_client **out) {
  client_resource *res;
  if (enif_is_atom(env, term)) {
    *out = NULL;
    return 1;
  }
  if (!enif_get_resource(env, term, client_type, (void **)&res)) return 0;
  *out = res->client;
  return 1;
}

#define MAX_STRINGS 5

/* The decoded arguments of one NIF call: the client, the strings (C copies,
 * NULL for nil), and a position, a binary or a progress target for the calls
 * that take one. */
typedef struct {
  const stevedore_client *client;
  char *s[MAX_STRINGS];
  int n;
  ErlNifUInt64 position;
  ErlNifBinary binary;
  progress_target progress;
} nif_args;

static void free_args(nif_args *a) {
  for (int i = 0; i < a->n; i++) free(a->s[i]);
  a->n = 0;
}

/* Appends argv[first..first+n) to a's strings; frees them all on failure. */
static int strings(ErlNifEnv *env, const ERL_NIF_TERM argv[], int first, int n, nif_args *a) {
  for (int i = 0; i < n; i++) {
    if (a->n == MAX_STRINGS || !c_string(env, argv[first + i], &a->s[a->n])) {
      free_args(a);
      return 0;
    }
    a->n++;
  }
  return 1;
}

/* The client (argv[0]) and n strings after it. */
static int client_strings(ErlNifEnv *env, const ERL_NIF_TERM argv[], int n, nif_args *a) {
  return client_arg(env, argv[0], &a->client) && strings(env, argv, 1, n, a);
}

/* The progress pid (argv[first], or nil) and cancel token (argv[first + 1],
 * or nil) of a copy. */
static int progress_args(ErlNifEnv *env, const ERL_NIF_TERM argv[], int first, nif_args *a) {
  if (!enif_is_atom(env, argv[first])) {
    if (!enif_get_local_pid(env, argv[first], &a->progress.pid)) return 0;
    a->progress.has_pid = 1;
  }
  return enif_is_atom(env, argv[first + 1]) ||
         enif_get_resource(env, argv[first + 1], cancel_type, (void **)&a->progress.cancel);
}

/* The callback to give a copy: none when nothing watches it. */
static stevedore_progress_fn progress_fn(const nif_args *a) {
  return a->progress.has_pid || a->progress.cancel != NULL ? progress_callback : NULL;
}

static ERL_NIF_TERM ok_string(ErlNifEnv *env, char *out) {
  ERL_NIF_TERM term = string_term(env, out);
  stevedore_string_free(out);
  return enif_make_tuple2(env, atom(env, "ok"), term);
}

static ERL_NIF_TERM ok_bytes(ErlNifEnv *env, uint8_t *out, size_t len) {
  ERL_NIF_TERM term = binary_of(env, out, len);
  stevedore_bytes_free(out, len);
  return enif_make_tuple2(env, atom(env, "ok"), term);
}

/* Frees the arguments and answers {ok, Json} or {error, Detail}. */
static ERL_NIF_TERM json_reply(ErlNifEnv *env, nif_args *a, stevedore_status st, char *out) {
  free_args(a);
  return st == STEVEDORE_OK ? ok_string(env, out) : error_term(env, st);
}

/* Frees the arguments and answers {ok, Bytes} or {error, Detail}. */
static ERL_NIF_TERM bytes_reply(ErlNifEnv *env, nif_args *a, stevedore_status st, uint8_t *out, size_t len) {
  free_args(a);
  return st == STEVEDORE_OK ? ok_bytes(env, out, len) : error_term(env, st);
}

/* Frees the arguments and answers ok or {error, Detail}. */
static ERL_NIF_TERM ok_reply(ErlNifEnv *env, nif_args *a, stevedore_status st) {
  free_args(a);
  return st == STEVEDORE_OK ? atom(env, "ok") : error_term(env, st);
}

/* Defines the NIF `name`: READ decodes argv into `a` (badarg when it fails),
 * then CALL, the C call, writes a JSON string to `out`. */
#define JSON_NIF(name, READ, CALL)                                                  \
  static ERL_NIF_TERM name(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) { \
    (void)argc;                                                                     \
    nif_args a = {0};                                                               \
    if (!(READ)) return enif_make_badarg(env);                                      \
    char *out = NULL;                                                               \
    stevedore_status st = CALL;                                                     \
    return json_reply(env, &a, st, out);                                            \
  }

/* As JSON_NIF, for a C call that writes a byte buffer to `out` and `len`. */
#define BYTES_NIF(name, READ, CALL)                                                 \
  static ERL_NIF_TERM name(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) { \
    (void)argc;                                                                     \
    nif_args a = {0};                                                               \
    if (!(READ)) return enif_make_badarg(env);                                      \
    uint8_t *out = NULL;                                                            \
    size_t len = 0;                                                                 \
    stevedore_status st = CALL;                                                     \
    return bytes_reply(env, &a, st, out, len);                                      \
  }

/* As JSON_NIF, for a C call with no result but its status. */
#define OK_NIF(name, READ, CALL)                                                    \
  static ERL_NIF_TERM name(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) { \
    (void)argc;                                                                     \
    nif_args a = {0};                                                               \
    if (!(READ)) return enif_make_badarg(env);                                      \
    stevedore_status st = CALL;                                                     \
    return ok_reply(env, &a, st);                                                   \
  }

static ERL_NIF_TERM nif_version(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  (void)argv;
  return string_term(env, stevedore_version());
}

static ERL_NIF_TERM nif_abi_version(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  (void)argv;
  return enif_make_uint(env, stevedore_abi_version());
}

/* client_new(OptionsJson | nil) */
static ERL_NIF_TERM nif_client_new(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  nif_args a = {0};
  if (!strings(env, argv, 0, 1, &a)) return enif_make_badarg(env);
  stevedore_client *client = NULL;
  stevedore_status st = stevedore_client_new(a.s[0], &client);
  free_args(&a);
  if (st != STEVEDORE_OK) return error_term(env, st);
  client_resource *res = enif_alloc_resource(client_type, sizeof(client_resource));
  res->client = client;
  ERL_NIF_TERM term = enif_make_resource(env, res);
  enif_release_resource(res);
  return enif_make_tuple2(env, atom(env, "ok"), term);
}

/* server_start(OptionsJson | nil) -> {ok, Server} */
static ERL_NIF_TERM nif_server_start(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  nif_args a = {0};
  if (!strings(env, argv, 0, 1, &a)) return enif_make_badarg(env);
  stevedore_server *server = NULL;
  stevedore_status st = stevedore_server_start(a.s[0], &server);
  free_args(&a);
  if (st != STEVEDORE_OK) return error_term(env, st);
  server_resource *res = enif_alloc_resource(server_type, sizeof(server_resource));
  res->server = server;
  snprintf(res->address, sizeof res->address, "%s", stevedore_server_address(server));
  ERL_NIF_TERM term = enif_make_resource(env, res);
  enif_release_resource(res);
  return enif_make_tuple2(env, atom(env, "ok"), term);
}

/* server_address(Server) -> "HOST:PORT" */
static ERL_NIF_TERM nif_server_address(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  server_resource *res;
  if (!enif_get_resource(env, argv[0], server_type, (void **)&res)) return enif_make_badarg(env);
  return string_term(env, res->address);
}

/* server_stop(Server) -> ok; stopping twice is harmless. */
static ERL_NIF_TERM nif_server_stop(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  server_resource *res;
  if (!enif_get_resource(env, argv[0], server_type, (void **)&res)) return enif_make_badarg(env);
  stevedore_server_stop(__atomic_exchange_n(&res->server, NULL, __ATOMIC_SEQ_CST));
  return atom(env, "ok");
}

/* cancel_token_new() */
static ERL_NIF_TERM nif_cancel_token_new(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  (void)argv;
  cancel_resource *res = enif_alloc_resource(cancel_type, sizeof(cancel_resource));
  atomic_init(&res->cancelled, 0);
  ERL_NIF_TERM term = enif_make_resource(env, res);
  enif_release_resource(res);
  return term;
}

/* cancel(Token) */
static ERL_NIF_TERM nif_cancel(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  cancel_resource *res;
  if (!enif_get_resource(env, argv[0], cancel_type, (void **)&res)) return enif_make_badarg(env);
  atomic_store(&res->cancelled, 1);
  return atom(env, "ok");
}

/* copy(Client, Src, Dst, OptionsJson, ProgressPid | nil, CancelToken | nil) */
JSON_NIF(nif_copy, progress_args(env, argv, 4, &a) && client_strings(env, argv, 3, &a),
         stevedore_copy(a.client, a.s[0], a.s[1], a.s[2], progress_fn(&a), &a.progress, &out))

/* sync(Client, JobsJson, OptionsJson, ProgressPid | nil, CancelToken | nil) */
JSON_NIF(nif_sync, progress_args(env, argv, 3, &a) && client_strings(env, argv, 2, &a),
         stevedore_sync(a.client, a.s[0], a.s[1], progress_fn(&a), &a.progress, &out))

/* build(Client, SpecJson, BaseDir | nil, Dst) */
JSON_NIF(nif_build, client_strings(env, argv, 3, &a), stevedore_build(a.client, a.s[0], a.s[1], a.s[2], &out))

/* mutate(Client, Image, MutationJson, Dst) */
JSON_NIF(nif_mutate, client_strings(env, argv, 3, &a), stevedore_mutate(a.client, a.s[0], a.s[1], a.s[2], &out))

/* append(Client, Base, Dst, OptionsJson) */
JSON_NIF(nif_append, client_strings(env, argv, 3, &a), stevedore_append(a.client, a.s[0], a.s[1], a.s[2], &out))

/* flatten(Client, Image, Dst, OptionsJson | nil) */
JSON_NIF(nif_flatten, client_strings(env, argv, 3, &a), stevedore_flatten(a.client, a.s[0], a.s[1], a.s[2], &out))

/* index_create(Client, ImagesJson, Dst) */
JSON_NIF(nif_index_create, client_strings(env, argv, 2, &a), stevedore_index_create(a.client, a.s[0], a.s[1], &out))

/* index_add(Client, Index, Image, Dst) */
JSON_NIF(nif_index_add, client_strings(env, argv, 3, &a),
         stevedore_index_add(a.client, a.s[0], a.s[1], a.s[2], &out))

/* index_remove(Client, Index, Platform, Dst) */
JSON_NIF(nif_index_remove, client_strings(env, argv, 3, &a),
         stevedore_index_remove(a.client, a.s[0], a.s[1], a.s[2], &out))

/* rebase(Client, Image, OldBase, NewBase, Dst, OptionsJson | nil) */
JSON_NIF(nif_rebase, client_strings(env, argv, 5, &a),
         stevedore_rebase(a.client, a.s[0], a.s[1], a.s[2], a.s[3], a.s[4], &out))

/* layer_remove(Client, Image, Position, Dst, OptionsJson | nil) */
JSON_NIF(nif_layer_remove,
         enif_get_uint64(env, argv[2], &a.position) && client_strings(env, argv, 1, &a) &&
             strings(env, argv, 3, 2, &a),
         stevedore_layer_remove(a.client, a.s[0], (size_t)a.position, a.s[1], a.s[2], &out))

/* layer_replace(Client, Image, Position, Layer, Dst, OptionsJson | nil) */
JSON_NIF(nif_layer_replace,
         enif_get_uint64(env, argv[2], &a.position) && client_strings(env, argv, 1, &a) &&
             strings(env, argv, 3, 3, &a),
         stevedore_layer_replace(a.client, a.s[0], (size_t)a.position, a.s[1], a.s[2], a.s[3], &out))

/* generate_key_pair(OptionsJson | nil) */
JSON_NIF(nif_generate_key_pair, strings(env, argv, 0, 1, &a), stevedore_generate_key_pair(a.s[0], &out))

/* static(Client, Src, Dir, OptionsJson) */
JSON_NIF(nif_static, client_strings(env, argv, 3, &a), stevedore_static(a.client, a.s[0], a.s[1], a.s[2], &out))

/* sign(Client, Image, OptionsJson) */
JSON_NIF(nif_sign, client_strings(env, argv, 2, &a), stevedore_sign(a.client, a.s[0], a.s[1], &out))

/* verify(Client, Image, PolicyJson) -> {ok, Report} | {error, Detail} |
 * {error, Detail, Report} when no signature satisfies the policy. */
static ERL_NIF_TERM nif_verify(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  nif_args a = {0};
  if (!client_strings(env, argv, 2, &a)) return enif_make_badarg(env);
  char *out = NULL;
  stevedore_status st = stevedore_verify(a.client, a.s[0], a.s[1], &out);
  ERL_NIF_TERM reply = json_reply(env, &a, st, out);
  if (st == STEVEDORE_OK || out == NULL) return reply;
  const ERL_NIF_TERM *parts;
  int arity;
  enif_get_tuple(env, reply, &arity, &parts);
  ERL_NIF_TERM report = string_term(env, out);
  stevedore_string_free(out);
  return enif_make_tuple3(env, parts[0], parts[1], report);
}

/* attach(Client, Image, Artifact :: binary, OptionsJson) */
JSON_NIF(nif_attach,
         enif_inspect_binary(env, argv[2], &a.binary) && client_strings(env, argv, 1, &a) &&
             strings(env, argv, 3, 1, &a),
         stevedore_attach(a.client, a.s[0], a.binary.data, a.binary.size, a.s[1], &out))

/* referrers(Client, Image, OptionsJson) */
JSON_NIF(nif_referrers, client_strings(env, argv, 2, &a), stevedore_referrers(a.client, a.s[0], a.s[1], &out))

/* inspect(Client, Image, OptionsJson) */
JSON_NIF(nif_inspect, client_strings(env, argv, 2, &a), stevedore_inspect(a.client, a.s[0], a.s[1], &out))

/* tags(Client, Image, OptionsJson) */
JSON_NIF(nif_tags, client_strings(env, argv, 2, &a), stevedore_tags(a.client, a.s[0], a.s[1], &out))

/* delete(Client, Image, OptionsJson) */
OK_NIF(nif_delete, client_strings(env, argv, 2, &a), stevedore_delete(a.client, a.s[0], a.s[1]))

/* inspect_raw(Client, Image, OptionsJson) */
BYTES_NIF(nif_inspect_raw, client_strings(env, argv, 2, &a),
          stevedore_inspect_raw(a.client, a.s[0], a.s[1], &out, &len))

/* manifest(Client, Image, OptionsJson) -> {ok, Json, Raw} */
static ERL_NIF_TERM nif_manifest(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  nif_args a = {0};
  if (!client_strings(env, argv, 2, &a)) return enif_make_badarg(env);
  char *json = NULL;
  uint8_t *raw = NULL;
  size_t len = 0;
  stevedore_status st = stevedore_manifest(a.client, a.s[0], a.s[1], &json, &raw, &len);
  free_args(&a);
  if (st != STEVEDORE_OK) return error_term(env, st);
  ERL_NIF_TERM json_term = string_term(env, json);
  ERL_NIF_TERM raw_term = binary_of(env, raw, len);
  stevedore_string_free(json);
  stevedore_bytes_free(raw, len);
  return enif_make_tuple3(env, atom(env, "ok"), json_term, raw_term);
}

/* blob(Client, Image, Digest, OptionsJson) */
BYTES_NIF(nif_blob, client_strings(env, argv, 3, &a), stevedore_blob(a.client, a.s[0], a.s[1], a.s[2], &out, &len))

/* blob_to_file(Client, Image, Digest, Path, OptionsJson) */
OK_NIF(nif_blob_to_file, client_strings(env, argv, 4, &a),
       stevedore_blob_to_file(a.client, a.s[0], a.s[1], a.s[2], a.s[3]))

/* files(Client, Image, Path | nil, OptionsJson) */
JSON_NIF(nif_files, client_strings(env, argv, 3, &a), stevedore_files(a.client, a.s[0], a.s[1], a.s[2], &out))

/* read_file(Client, Image, Path, OptionsJson) */
BYTES_NIF(nif_read_file, client_strings(env, argv, 3, &a),
          stevedore_read_file(a.client, a.s[0], a.s[1], a.s[2], &out, &len))

/* export(Client, Image, Path, OptionsJson) */
JSON_NIF(nif_export, client_strings(env, argv, 3, &a), stevedore_export(a.client, a.s[0], a.s[1], a.s[2], &out))

/* diff(Client, ImageA, ImageB, OptionsJson) */
JSON_NIF(nif_diff, client_strings(env, argv, 3, &a), stevedore_diff(a.client, a.s[0], a.s[1], a.s[2], &out))

/* sbom(Client, Image, OptionsJson) -> {:ok, {Document, ReportJson}} */
static ERL_NIF_TERM nif_sbom(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  nif_args a = {0};
  if (!client_strings(env, argv, 2, &a)) return enif_make_badarg(env);
  char *document = NULL, *report = NULL;
  stevedore_status st = stevedore_sbom(a.client, a.s[0], a.s[1], &document, &report);
  free_args(&a);
  if (st != STEVEDORE_OK) return error_term(env, st);
  ERL_NIF_TERM pair = enif_make_tuple2(env, string_term(env, document), string_term(env, report));
  stevedore_string_free(document);
  stevedore_string_free(report);
  return enif_make_tuple2(env, atom(env, "ok"), pair);
}

/* tag(Client, Image, Tag, OptionsJson) */
JSON_NIF(nif_tag, client_strings(env, argv, 3, &a), stevedore_tag(a.client, a.s[0], a.s[1], a.s[2], &out))

/* digest(Client, Image, OptionsJson) */
JSON_NIF(nif_digest, client_strings(env, argv, 2, &a), stevedore_digest(a.client, a.s[0], a.s[1], &out))

/* list_tags(Client, Image, OptionsJson) */
JSON_NIF(nif_list_tags, client_strings(env, argv, 2, &a), stevedore_list_tags(a.client, a.s[0], a.s[1], &out))

/* catalog(Client, Registry, OptionsJson) */
JSON_NIF(nif_catalog, client_strings(env, argv, 2, &a), stevedore_catalog(a.client, a.s[0], a.s[1], &out))

/* login(Client, Registry, OptionsJson) -> {ok, AuthFilePath} */
JSON_NIF(nif_login, client_strings(env, argv, 2, &a), stevedore_login(a.client, a.s[0], a.s[1], &out))

/* logout(Client, Registry, OptionsJson) -> {ok, AuthFilePath} */
JSON_NIF(nif_logout, client_strings(env, argv, 2, &a), stevedore_logout(a.client, a.s[0], a.s[1], &out))

/* manifest_digest(Manifest :: binary, OptionsJson) */
JSON_NIF(nif_manifest_digest, enif_inspect_binary(env, argv[0], &a.binary) && strings(env, argv, 1, 1, &a),
         stevedore_manifest_digest(a.binary.data, a.binary.size, a.s[0], &out))

/* gc(OptionsJson) */
JSON_NIF(nif_gc, strings(env, argv, 0, 1, &a), stevedore_gc(a.s[0], &out))

#define IO ERL_NIF_DIRTY_JOB_IO_BOUND

static ErlNifFunc functions[] = {
    {"version", 0, nif_version, 0},
    {"abi_version", 0, nif_abi_version, 0},
    {"client_new", 1, nif_client_new, IO},
    {"generate_key_pair", 1, nif_generate_key_pair, IO},
    {"sign", 3, nif_sign, IO},
    {"static", 4, nif_static, IO},
    {"attach", 4, nif_attach, IO},
    {"referrers", 3, nif_referrers, IO},
    {"verify", 3, nif_verify, IO},
    {"server_start", 1, nif_server_start, IO},
    {"server_address", 1, nif_server_address, 0},
    {"server_stop", 1, nif_server_stop, IO},
    {"cancel_token_new", 0, nif_cancel_token_new, 0},
    {"cancel", 1, nif_cancel, 0},
    {"copy", 6, nif_copy, IO},
    {"sync", 5, nif_sync, IO},
    {"inspect", 3, nif_inspect, IO},
    {"inspect_raw", 3, nif_inspect_raw, IO},
    {"tags", 3, nif_tags, IO},
    {"build", 4, nif_build, IO},
    {"mutate", 4, nif_mutate, IO},
    {"append", 4, nif_append, IO},
    {"rebase", 6, nif_rebase, IO},
    {"flatten", 4, nif_flatten, IO},
    {"index_create", 3, nif_index_create, IO},
    {"index_add", 4, nif_index_add, IO},
    {"index_remove", 4, nif_index_remove, IO},
    {"layer_remove", 5, nif_layer_remove, IO},
    {"layer_replace", 6, nif_layer_replace, IO},
    {"delete", 3, nif_delete, IO},
    {"manifest", 3, nif_manifest, IO},
    {"blob", 4, nif_blob, IO},
    {"blob_to_file", 5, nif_blob_to_file, IO},
    {"files", 4, nif_files, IO},
    {"read_file", 4, nif_read_file, IO},
    {"export", 4, nif_export, IO},
    {"diff", 4, nif_diff, IO},
    {"sbom", 3, nif_sbom, IO},
    {"tag", 4, nif_tag, IO},
    {"digest", 3, nif_digest, IO},
    {"list_tags", 3, nif_list_tags, IO},
    {"catalog", 3, nif_catalog, IO},
    {"login", 3, nif_login, IO},
    {"logout", 3, nif_logout, IO},
    {"manifest_digest", 2, nif_manifest_digest, IO},
    {"gc", 1, nif_gc, IO},
};

ERL_NIF_INIT(Elixir.Stevedore.Native, functions, load, NULL, NULL, NULL)
