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

/* Reads argv[first..first+n) as C strings; frees them all on failure. */
static int strings(ErlNifEnv *env, const ERL_NIF_TERM argv[], int first, int n, char *out[MAX_STRINGS]) {
  for (int i = 0; i < n; i++) {
    if (!c_string(env, argv[first + i], &out[i])) {
      for (int j = 0; j < i; j++) free(out[j]);
      return 0;
    }
  }
  return 1;
}

static void free_strings(char *s[MAX_STRINGS], int n) {
  for (int i = 0; i < n; i++) free(s[i]);
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
  char *s[MAX_STRINGS];
  if (!strings(env, argv, 0, 1, s)) return enif_make_badarg(env);
  stevedore_client *client = NULL;
  stevedore_status st = stevedore_client_new(s[0], &client);
  free_strings(s, 1);
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
  char *s[MAX_STRINGS];
  if (!strings(env, argv, 0, 1, s)) return enif_make_badarg(env);
  stevedore_server *server = NULL;
  stevedore_status st = stevedore_server_start(s[0], &server);
  free_strings(s, 1);
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
static ERL_NIF_TERM nif_copy(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const stevedore_client *client;
  progress_target target = {0, {0}, NULL};
  if (!enif_is_atom(env, argv[4])) {
    if (!enif_get_local_pid(env, argv[4], &target.pid)) return enif_make_badarg(env);
    target.has_pid = 1;
  }
  if (!enif_is_atom(env, argv[5]) && !enif_get_resource(env, argv[5], cancel_type, (void **)&target.cancel))
    return enif_make_badarg(env);
  char *s[MAX_STRINGS];
  if (!client_arg(env, argv[0], &client) || !strings(env, argv, 1, 3, s)) return enif_make_badarg(env);
  int watched = target.has_pid || target.cancel != NULL;
  char *out = NULL;
  stevedore_status st =
      stevedore_copy(client, s[0], s[1], s[2], watched ? progress_callback : NULL, &target, &out);
  free_strings(s, 3);
  return st == STEVEDORE_OK ? ok_string(env, out) : error_term(env, st);
}

/* sync(Client, JobsJson, OptionsJson, ProgressPid | nil, CancelToken | nil) */
static ERL_NIF_TERM nif_sync(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const stevedore_client *client;
  progress_target target = {0, {0}, NULL};
  if (!enif_is_atom(env, argv[3])) {
    if (!enif_get_local_pid(env, argv[3], &target.pid)) return enif_make_badarg(env);
    target.has_pid = 1;
  }
  if (!enif_is_atom(env, argv[4]) && !enif_get_resource(env, argv[4], cancel_type, (void **)&target.cancel))
    return enif_make_badarg(env);
  char *s[MAX_STRINGS];
  if (!client_arg(env, argv[0], &client) || !strings(env, argv, 1, 2, s)) return enif_make_badarg(env);
  int watched = target.has_pid || target.cancel != NULL;
  char *out = NULL;
  stevedore_status st = stevedore_sync(client, s[0], s[1], watched ? progress_callback : NULL, &target, &out);
  free_strings(s, 2);
  return st == STEVEDORE_OK ? ok_string(env, out) : error_term(env, st);
}

typedef stevedore_status (*json_verb)(const stevedore_client *, const char *, const char *, char **);

static ERL_NIF_TERM json_call(ErlNifEnv *env, const ERL_NIF_TERM argv[], json_verb verb) {
  const stevedore_client *client;
  char *s[MAX_STRINGS];
  if (!client_arg(env, argv[0], &client) || !strings(env, argv, 1, 2, s)) return enif_make_badarg(env);
  char *out = NULL;
  stevedore_status st = verb(client, s[0], s[1], &out);
  free_strings(s, 2);
  return st == STEVEDORE_OK ? ok_string(env, out) : error_term(env, st);
}

typedef stevedore_status (*json_verb3)(const stevedore_client *, const char *, const char *,
                                       const char *, char **);

/* A verb of three strings and a JSON result (build, mutate). */
static ERL_NIF_TERM json_call3(ErlNifEnv *env, const ERL_NIF_TERM argv[], json_verb3 verb) {
  const stevedore_client *client;
  char *s[MAX_STRINGS];
  if (!client_arg(env, argv[0], &client) || !strings(env, argv, 1, 3, s)) return enif_make_badarg(env);
  char *out = NULL;
  stevedore_status st = verb(client, s[0], s[1], s[2], &out);
  free_strings(s, 3);
  return st == STEVEDORE_OK ? ok_string(env, out) : error_term(env, st);
}

/* build(Client, SpecJson, BaseDir | nil, Dst) */
static ERL_NIF_TERM nif_build(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  return json_call3(env, argv, stevedore_build);
}

/* mutate(Client, Image, MutationJson, Dst) */
static ERL_NIF_TERM nif_mutate(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  return json_call3(env, argv, stevedore_mutate);
}

/* append(Client, Base, Dst, OptionsJson) */
static ERL_NIF_TERM nif_append(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  return json_call3(env, argv, stevedore_append);
}

/* flatten(Client, Image, Dst, OptionsJson | nil) */
static ERL_NIF_TERM nif_flatten(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  return json_call3(env, argv, stevedore_flatten);
}

/* index_create(Client, ImagesJson, Dst) */
static ERL_NIF_TERM nif_index_create(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  return json_call(env, argv, stevedore_index_create);
}

/* index_add(Client, Index, Image, Dst) */
static ERL_NIF_TERM nif_index_add(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  return json_call3(env, argv, stevedore_index_add);
}

/* index_remove(Client, Index, Platform, Dst) */
static ERL_NIF_TERM nif_index_remove(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  return json_call3(env, argv, stevedore_index_remove);
}

/* rebase(Client, Image, OldBase, NewBase, Dst, OptionsJson | nil) */
static ERL_NIF_TERM nif_rebase(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const stevedore_client *client;
  char *s[MAX_STRINGS];
  if (!client_arg(env, argv[0], &client) || !strings(env, argv, 1, 5, s)) return enif_make_badarg(env);
  char *out = NULL;
  stevedore_status st = stevedore_rebase(client, s[0], s[1], s[2], s[3], s[4], &out);
  free_strings(s, 5);
  return st == STEVEDORE_OK ? ok_string(env, out) : error_term(env, st);
}

/* layer_remove(Client, Image, Position, Dst, OptionsJson | nil) */
static ERL_NIF_TERM nif_layer_remove(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const stevedore_client *client;
  ErlNifUInt64 position;
  char *img[MAX_STRINGS], *s[MAX_STRINGS];
  if (!client_arg(env, argv[0], &client) || !enif_get_uint64(env, argv[2], &position) ||
      !strings(env, argv, 1, 1, img))
    return enif_make_badarg(env);
  if (!strings(env, argv, 3, 2, s)) {
    free_strings(img, 1);
    return enif_make_badarg(env);
  }
  char *out = NULL;
  stevedore_status st = stevedore_layer_remove(client, img[0], (size_t)position, s[0], s[1], &out);
  free_strings(img, 1);
  free_strings(s, 2);
  return st == STEVEDORE_OK ? ok_string(env, out) : error_term(env, st);
}

/* layer_replace(Client, Image, Position, Layer, Dst, OptionsJson | nil) */
static ERL_NIF_TERM nif_layer_replace(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const stevedore_client *client;
  ErlNifUInt64 position;
  char *img[MAX_STRINGS], *s[MAX_STRINGS];
  if (!client_arg(env, argv[0], &client) || !enif_get_uint64(env, argv[2], &position) ||
      !strings(env, argv, 1, 1, img))
    return enif_make_badarg(env);
  if (!strings(env, argv, 3, 3, s)) {
    free_strings(img, 1);
    return enif_make_badarg(env);
  }
  char *out = NULL;
  stevedore_status st = stevedore_layer_replace(client, img[0], (size_t)position, s[0], s[1], s[2], &out);
  free_strings(img, 1);
  free_strings(s, 3);
  return st == STEVEDORE_OK ? ok_string(env, out) : error_term(env, st);
}

/* generate_key_pair(OptionsJson | nil) */
static ERL_NIF_TERM nif_generate_key_pair(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  char *s[MAX_STRINGS];
  if (!strings(env, argv, 0, 1, s)) return enif_make_badarg(env);
  char *out = NULL;
  stevedore_status st = stevedore_generate_key_pair(s[0], &out);
  free_strings(s, 1);
  return st == STEVEDORE_OK ? ok_string(env, out) : error_term(env, st);
}

/* static(Client, Src, Dir, OptionsJson) */
static ERL_NIF_TERM nif_static(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const stevedore_client *client;
  char *s[MAX_STRINGS];
  if (!client_arg(env, argv[0], &client) || !strings(env, argv, 1, 3, s)) return enif_make_badarg(env);
  char *out = NULL;
  stevedore_status st = stevedore_static(client, s[0], s[1], s[2], &out);
  free_strings(s, 3);
  return st == STEVEDORE_OK ? ok_string(env, out) : error_term(env, st);
}

/* sign(Client, Image, OptionsJson) */
static ERL_NIF_TERM nif_sign(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  return json_call(env, argv, stevedore_sign);
}

/* verify(Client, Image, PolicyJson) -> {ok, Report} | {error, Detail} |
 * {error, Detail, Report} when no signature satisfies the policy. */
static ERL_NIF_TERM nif_verify(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const stevedore_client *client;
  char *s[MAX_STRINGS];
  if (!client_arg(env, argv[0], &client) || !strings(env, argv, 1, 2, s)) return enif_make_badarg(env);
  char *out = NULL;
  stevedore_status st = stevedore_verify(client, s[0], s[1], &out);
  free_strings(s, 2);
  if (st == STEVEDORE_OK) return ok_string(env, out);
  ERL_NIF_TERM error = error_term(env, st);
  if (out == NULL) return error;
  const ERL_NIF_TERM *parts;
  int arity;
  enif_get_tuple(env, error, &arity, &parts);
  ERL_NIF_TERM report = string_term(env, out);
  stevedore_string_free(out);
  return enif_make_tuple3(env, parts[0], parts[1], report);
}

/* attach(Client, Image, Artifact :: binary, OptionsJson) */
static ERL_NIF_TERM nif_attach(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const stevedore_client *client;
  ErlNifBinary artifact;
  char *image[MAX_STRINGS], *opts[MAX_STRINGS];
  if (!client_arg(env, argv[0], &client) || !enif_inspect_binary(env, argv[2], &artifact))
    return enif_make_badarg(env);
  if (!strings(env, argv, 1, 1, image)) return enif_make_badarg(env);
  if (!strings(env, argv, 3, 1, opts)) {
    free_strings(image, 1);
    return enif_make_badarg(env);
  }
  char *out = NULL;
  stevedore_status st = stevedore_attach(client, image[0], artifact.data, artifact.size, opts[0], &out);
  free_strings(image, 1);
  free_strings(opts, 1);
  return st == STEVEDORE_OK ? ok_string(env, out) : error_term(env, st);
}

/* referrers(Client, Image, OptionsJson) */
static ERL_NIF_TERM nif_referrers(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  return json_call(env, argv, stevedore_referrers);
}

/* inspect(Client, Image, OptionsJson) */
static ERL_NIF_TERM nif_inspect(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  return json_call(env, argv, stevedore_inspect);
}

/* tags(Client, Image, OptionsJson) */
static ERL_NIF_TERM nif_tags(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  return json_call(env, argv, stevedore_tags);
}

/* delete(Client, Image, OptionsJson) */
static ERL_NIF_TERM nif_delete(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const stevedore_client *client;
  char *s[MAX_STRINGS];
  if (!client_arg(env, argv[0], &client) || !strings(env, argv, 1, 2, s)) return enif_make_badarg(env);
  stevedore_status st = stevedore_delete(client, s[0], s[1]);
  free_strings(s, 2);
  return st == STEVEDORE_OK ? atom(env, "ok") : error_term(env, st);
}

/* inspect_raw(Client, Image, OptionsJson) */
static ERL_NIF_TERM nif_inspect_raw(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const stevedore_client *client;
  char *s[MAX_STRINGS];
  if (!client_arg(env, argv[0], &client) || !strings(env, argv, 1, 2, s)) return enif_make_badarg(env);
  uint8_t *out = NULL;
  size_t len = 0;
  stevedore_status st = stevedore_inspect_raw(client, s[0], s[1], &out, &len);
  free_strings(s, 2);
  return st == STEVEDORE_OK ? ok_bytes(env, out, len) : error_term(env, st);
}

/* manifest(Client, Image, OptionsJson) -> {ok, Json, Raw} */
static ERL_NIF_TERM nif_manifest(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const stevedore_client *client;
  char *s[MAX_STRINGS];
  if (!client_arg(env, argv[0], &client) || !strings(env, argv, 1, 2, s)) return enif_make_badarg(env);
  char *json = NULL;
  uint8_t *raw = NULL;
  size_t len = 0;
  stevedore_status st = stevedore_manifest(client, s[0], s[1], &json, &raw, &len);
  free_strings(s, 2);
  if (st != STEVEDORE_OK) return error_term(env, st);
  ERL_NIF_TERM json_term = string_term(env, json);
  ERL_NIF_TERM raw_term = binary_of(env, raw, len);
  stevedore_string_free(json);
  stevedore_bytes_free(raw, len);
  return enif_make_tuple3(env, atom(env, "ok"), json_term, raw_term);
}

/* blob(Client, Image, Digest, OptionsJson) */
static ERL_NIF_TERM nif_blob(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const stevedore_client *client;
  char *s[MAX_STRINGS];
  if (!client_arg(env, argv[0], &client) || !strings(env, argv, 1, 3, s)) return enif_make_badarg(env);
  uint8_t *out = NULL;
  size_t len = 0;
  stevedore_status st = stevedore_blob(client, s[0], s[1], s[2], &out, &len);
  free_strings(s, 3);
  return st == STEVEDORE_OK ? ok_bytes(env, out, len) : error_term(env, st);
}

/* blob_to_file(Client, Image, Digest, Path, OptionsJson) */
static ERL_NIF_TERM nif_blob_to_file(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const stevedore_client *client;
  char *s[MAX_STRINGS];
  if (!client_arg(env, argv[0], &client) || !strings(env, argv, 1, 4, s)) return enif_make_badarg(env);
  stevedore_status st = stevedore_blob_to_file(client, s[0], s[1], s[2], s[3]);
  free_strings(s, 4);
  return st == STEVEDORE_OK ? atom(env, "ok") : error_term(env, st);
}

/* files(Client, Image, Path | nil, OptionsJson) */
static ERL_NIF_TERM nif_files(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const stevedore_client *client;
  char *s[MAX_STRINGS];
  if (!client_arg(env, argv[0], &client) || !strings(env, argv, 1, 3, s)) return enif_make_badarg(env);
  char *out = NULL;
  stevedore_status st = stevedore_files(client, s[0], s[1], s[2], &out);
  free_strings(s, 3);
  return st == STEVEDORE_OK ? ok_string(env, out) : error_term(env, st);
}

/* read_file(Client, Image, Path, OptionsJson) */
static ERL_NIF_TERM nif_read_file(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const stevedore_client *client;
  char *s[MAX_STRINGS];
  if (!client_arg(env, argv[0], &client) || !strings(env, argv, 1, 3, s)) return enif_make_badarg(env);
  uint8_t *out = NULL;
  size_t len = 0;
  stevedore_status st = stevedore_read_file(client, s[0], s[1], s[2], &out, &len);
  free_strings(s, 3);
  return st == STEVEDORE_OK ? ok_bytes(env, out, len) : error_term(env, st);
}

/* export(Client, Image, Path, OptionsJson) */
static ERL_NIF_TERM nif_export(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const stevedore_client *client;
  char *s[MAX_STRINGS];
  if (!client_arg(env, argv[0], &client) || !strings(env, argv, 1, 3, s)) return enif_make_badarg(env);
  char *out = NULL;
  stevedore_status st = stevedore_export(client, s[0], s[1], s[2], &out);
  free_strings(s, 3);
  return st == STEVEDORE_OK ? ok_string(env, out) : error_term(env, st);
}

/* diff(Client, ImageA, ImageB, OptionsJson) */
static ERL_NIF_TERM nif_diff(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const stevedore_client *client;
  char *s[MAX_STRINGS];
  if (!client_arg(env, argv[0], &client) || !strings(env, argv, 1, 3, s)) return enif_make_badarg(env);
  char *out = NULL;
  stevedore_status st = stevedore_diff(client, s[0], s[1], s[2], &out);
  free_strings(s, 3);
  return st == STEVEDORE_OK ? ok_string(env, out) : error_term(env, st);
}

/* sbom(Client, Image, OptionsJson) -> {:ok, {Document, ReportJson}} */
static ERL_NIF_TERM nif_sbom(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const stevedore_client *client;
  char *s[MAX_STRINGS];
  if (!client_arg(env, argv[0], &client) || !strings(env, argv, 1, 2, s)) return enif_make_badarg(env);
  char *document = NULL, *report = NULL;
  stevedore_status st = stevedore_sbom(client, s[0], s[1], &document, &report);
  free_strings(s, 2);
  if (st != STEVEDORE_OK) return error_term(env, st);
  ERL_NIF_TERM pair = enif_make_tuple2(env, string_term(env, document), string_term(env, report));
  stevedore_string_free(document);
  stevedore_string_free(report);
  return enif_make_tuple2(env, atom(env, "ok"), pair);
}

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
};

ERL_NIF_INIT(Elixir.Stevedore.Native, functions, load, NULL, NULL, NULL)
