defmodule Stevedore do
  @moduledoc """
  Stevedore for Elixir: copy, inspect and fetch OCI container images without
  a daemon, through libstevedore's C ABI. Every call returns `{:ok, value}` or
  `{:error, %Stevedore.Error{}}` and runs on a dirty IO scheduler.

  A client (from `client/1`) holds registry options and the token cache; pass
  it to every call of a pull so the bearer token is earned once. `nil` means a
  client of default options.
  """
  import Kernel, except: [inspect: 2]
  alias Stevedore.{Error, Native}

  defmodule Client do
    @moduledoc "A registry client handle, safe to share between processes."
    defstruct [:ref]
  end

  @doc "The library's version."
  def version, do: Native.version()

  @doc "The library's ABI version."
  def abi_version, do: Native.abi_version()

  @doc """
  A client: options such as `%{insecure: ["localhost:5000"], credentials:
  %{"localhost:5000" => %{username: ..., password: ...}}}`; credentials are
  bound to the registry they are listed under and never sent to another host.
  """
  def client(options \\ %{}) do
    with {:ok, ref} <- wrap(Native.client_new(encode(options))), do: {:ok, %Client{ref: ref}}
  end

  defmodule Server do
    @moduledoc "A registry server running in this VM's process; stopped by `Stevedore.server_stop/1` or when collected."
    defstruct [:ref]
  end

  @doc """
  Starts a registry server (the OCI distribution API). Options: `addr`
  (default `"127.0.0.1:0"`, a free port), `root` (a directory; default in
  memory), `htpasswd`, `read_only`, `tls_cert`, `tls_key`.
  """
  def server_start(options \\ %{}) do
    with {:ok, ref} <- wrap(Native.server_start(encode(options))), do: {:ok, %Server{ref: ref}}
  end

  @doc "The server's `HOST:PORT`, the registry part of image references."
  def server_address(%Server{ref: ref}), do: Native.server_address(ref)

  @doc "Stops the server, closing its connections."
  def server_stop(%Server{ref: ref}), do: Native.server_stop(ref)

  defmodule CancelToken do
    @moduledoc "Cancels a copy from any process: `Stevedore.cancel(token)`."
    defstruct [:ref]
  end

  @doc "A token that cancels the copies it is given to."
  def cancel_token, do: %CancelToken{ref: Native.cancel_token_new()}

  @doc "Cancels the copies watching `token`; they fail with kind `:cancelled`."
  def cancel(%CancelToken{ref: ref}), do: Native.cancel(ref)

  @doc """
  Copies an image. Options: `all: true`, `platform: "linux/arm64"`,
  `platforms: [...]` (a subset, written as a new index), `jobs: n`,
  `compress_format: "gzip" | "zstd"` and `compress_level: n` (recompress the
  layers; the report's `"recompressed"` lists them);
  `progress: pid` sends `{:stevedore_progress, event_json}` messages to `pid`,
  and `cancel: token` (from `cancel_token/0`) lets any process cancel.
  """
  def copy(client, src, dst, options \\ %{}) do
    {progress, options} = Map.pop(options, :progress)
    {cancel, options} = Map.pop(options, :cancel)
    token = if cancel, do: cancel.ref
    decoded(Native.copy(ref(client), src, dst, encode(options), progress, token))
  end

  @doc """
  Runs many copies: `jobs` is a list of `{src, dst}`. Returns one result per
  job, `%{"src", "dst", "outcome" => %{"status" => "copied" | "skipped" |
  "failed", ...}}`; one failure does not stop the others. Options as for `copy/4`.
  """
  def sync(client, jobs, options \\ %{}) do
    {progress, options} = Map.pop(options, :progress)
    {cancel, options} = Map.pop(options, :cancel)
    token = if cancel, do: cancel.ref
    list = Stevedore.JSON.encode(Enum.map(jobs, fn {src, dst} -> %{src: src, dst: dst} end))
    decoded(Native.sync(ref(client), list, encode(options), progress, token))
  end

  @doc "Describes an image."
  def inspect(client, image, options \\ %{}),
    do: decoded(Native.inspect(ref(client), image, encode(options)))

  @doc """
  A new key pair as cosign writes it: `{:ok, %{"private_key" => pem,
  "public_key" => pem}}`, the private key encrypted with `password`.
  """
  def generate_key_pair(password),
    do: decoded(Native.generate_key_pair(encode(%{password: password})))

  @doc """
  Exports an image into the static registry tree `dir` (which nginx, Caddy or
  any static host serves as /v2) and writes the web-server configuration for
  everything the tree serves. Options: `name`, `tag`, `nginx_conf`,
  `caddyfile`, `base_url`, `all`, `platform`, `referrers`. Returns `{:ok,
  %{"copy" => report, "image" => "NAME:TAG", "pull" => ..., ...}}`.
  """
  def export_static(client, src, dir, options \\ %{}),
    do: decoded(Native.static(ref(client), src, dir, encode(options)))

  @doc """
  Signs an image as cosign does (its `sha256-<hex>.sig` tag). Options: `key`
  (a PEM private key: PKCS#8, SEC1 or cosign's encrypted key), `password`,
  `identity`, `annotations`.
  """
  def sign(client, image, options), do: decoded(Native.sign(ref(client), image, encode(options)))

  @doc """
  Verifies an image's signatures, default deny. Policy: `keys` (PEM public
  keys), `identity`, `annotations`. `{:ok, report}` when a signature
  satisfies it; else `{:error, %Stevedore.Error{kind: :policy, report: report}}`
  with every signature's verdict.
  """
  def verify(client, image, policy) do
    case Native.verify(ref(client), image, encode(policy)) do
      {:error, detail, report} ->
        {:error, %{Error.from_json(detail) | report: Stevedore.JSON.decode(report)}}

      other ->
        decoded(other)
    end
  end

  @doc """
  Attaches `artifact` (a binary: an SBOM, a scan result) to an image as an
  OCI 1.1 referrer. Options: `artifact_type` (required), `media_type`,
  `annotations`.
  """
  def attach(client, image, artifact, options),
    do: decoded(Native.attach(ref(client), image, artifact, encode(options)))

  @doc "The artifacts attached to an image; options: `artifact_type`."
  def referrers(client, image, options \\ %{}),
    do: decoded(Native.referrers(ref(client), image, encode(options)))

  @doc "The tags of a repository or layout."
  def tags(client, image), do: decoded(Native.tags(ref(client), image, nil))

  @doc """
  Builds the image `spec` describes (a map in the README's spec format) and
  writes it to `dst`; relative paths are taken from `base_dir` (nil: the
  current directory). `{:ok, %{"digest" => …}}`.
  """
  def build(client, spec, base_dir, dst),
    do: decoded(Native.build(ref(client), Stevedore.JSON.encode(spec), base_dir, dst))

  @doc """
  Changes an image's config and annotations (`%{"config" => %{"env" =>
  […]}, "annotations" => …, "platform" => "os/arch"}`), written to `dst`.
  """
  def mutate(client, image, mutation, dst),
    do: decoded(Native.mutate(ref(client), image, Stevedore.JSON.encode(mutation), dst))

  @doc """
  Adds `layers` (tar files, kept as they are, or directories) onto `base`,
  written to `dst`; options: `compression`, `level`, `platform`.
  """
  def append(client, base, layers, dst, options \\ %{}),
    do:
      decoded(
        Native.append(
          ref(client),
          base,
          dst,
          Stevedore.JSON.encode(Map.put(options, "layers", layers))
        )
      )

  @doc """
  Puts `new_base`'s layers where `old_base`'s are at the bottom of `image`,
  written to `dst`; options: `platform`.
  """
  def rebase(client, image, old_base, new_base, dst, options \\ %{}),
    do: decoded(Native.rebase(ref(client), image, old_base, new_base, dst, encode(options)))

  @doc """
  Squashes `image`'s layers into one (its merged root), written to `dst`;
  for an index every image, or only `options["platform"]`'s.
  """
  def flatten(client, image, dst, options \\ %{}),
    do: decoded(Native.flatten(ref(client), image, dst, encode(options)))

  @doc "Writes an index of `images`, one per platform, to `dst`."
  def index_create(client, images, dst),
    do: decoded(Native.index_create(ref(client), Stevedore.JSON.encode(images), dst))

  @doc "Writes `index` with `image` added (replacing its platform's entry) to `dst`."
  def index_add(client, index, image, dst),
    do: decoded(Native.index_add(ref(client), index, image, dst))

  @doc "Writes `index` without `platform`'s image to `dst`."
  def index_remove(client, index, platform, dst),
    do: decoded(Native.index_remove(ref(client), index, platform, dst))

  @doc "Writes `image` without its layer at `position` (0 is the bottom) to `dst`."
  def layer_remove(client, image, position, dst, options \\ %{}),
    do: decoded(Native.layer_remove(ref(client), image, position, dst, encode(options)))

  @doc """
  Writes `image` with its layer at `position` replaced by `layer` (a tar
  file or a directory) to `dst`; options: `compression`, `level`, `platform`.
  """
  def layer_replace(client, image, position, layer, dst, options \\ %{}),
    do: decoded(Native.layer_replace(ref(client), image, position, layer, dst, encode(options)))

  @doc "Deletes an image (a layout's tag, or a registry's manifest)."
  def delete(client, image), do: wrap(Native.delete(ref(client), image, nil))

  @doc "The manifest exactly as stored."
  def raw_manifest(client, image), do: wrap(Native.inspect_raw(ref(client), image, nil))

  @doc "The config exactly as stored."
  def raw_config(client, image, options \\ %{}),
    do: wrap(Native.inspect_raw(ref(client), image, encode(Map.put(options, :config, true))))

  @doc """
  A manifest in the shape a runtime consumes: `%{media_type:, digest:, size:,
  json:, raw:}`, `raw` being the exact bytes the digest is of. With a
  `platform`, an index is followed to that platform's image.
  """
  def manifest(client, image, platform \\ nil, options \\ %{}) do
    options = if platform, do: Map.put(options, :platform, platform), else: options

    case Native.manifest(ref(client), image, encode(options)) do
      {:ok, json, raw} ->
        shape = Stevedore.JSON.decode(json)

        {:ok,
         %{
           media_type: shape["media_type"],
           digest: shape["digest"],
           size: shape["size"],
           json: shape["manifest"],
           raw: raw
         }}

      other ->
        wrap(other)
    end
  end

  @doc "A blob, verified, as a binary; options: `%{max_size: bytes}`."
  def blob(client, image, digest, options \\ %{}),
    do: wrap(Native.blob(ref(client), image, digest, encode(options)))

  @doc "A blob, verified and streamed, written to `path` only when complete."
  def blob_to_file(client, image, digest, path),
    do: wrap(Native.blob_to_file(ref(client), image, digest, path, nil))

  @doc """
  The merged root filesystem of `image` without unpacking it: `{:ok,
  %{"layers" => [...], "entries" => [%{"path", "type", "mode", "size", ...}]}}`;
  with `path`, one directory's entries.
  """
  def files(client, image, path \\ nil),
    do: decoded(Native.files(ref(client), image, path, nil))

  @doc "One file's bytes, symlinks followed inside the image only."
  def read_file(client, image, path),
    do: wrap(Native.read_file(ref(client), image, path, nil))

  @doc "The merged root as one uncompressed tar written to `path` (whole or not at all)."
  def export(client, image, path),
    do: decoded(Native.export(ref(client), image, path, nil))

  @doc ~s(What `b` adds, removes and changes from `a`: `%{"added", "removed", "changed"}`.)
  def diff(client, a, b), do: decoded(Native.diff(ref(client), a, b, nil))

  @doc """
  The software bill of materials of `image`: `{:ok, {document, report}}`, the
  document as JSON text and the report decoded (`"packages"`, `"ecosystems"`,
  `"warnings"`, `"attached"`, ...). Options: `format` (`"spdx-json"`, the
  default, or `"cyclonedx-json"`), `platform`, `attach` (push the document to
  the image as a referrer).
  """
  def sbom(client, image, options \\ %{}) do
    case Native.sbom(ref(client), image, encode(options)) do
      {:ok, {document, report}} -> {:ok, {document, Stevedore.JSON.decode(report)}}
      other -> wrap(other)
    end
  end

  @doc """
  Judges an image by the containers-policy.json(5) file at `policy_file`, as
  `stevedore verify --policy`: `{:ok, decision}` (`%{"image", "policy",
  "scope", "accepted", "reasons"}`) when it accepts the image, else
  `{:error, %Stevedore.Error{kind: :policy, report: decision}}`.
  """
  def verify_policy(client, image, policy_file), do: verify(client, image, %{policy: policy_file})

  @doc """
  Gives the manifest `image` names the tag `tag` too, in the same repository
  or layout, without pulling it: `{:ok, digest}`.
  """
  def tag(client, image, tag),
    do: digest_of(decoded(Native.tag(ref(client), image, tag, nil)))

  @doc "The digest of the manifest `image` names (an index's own): `{:ok, digest}`."
  def digest(client, image), do: digest_of(decoded(Native.digest(ref(client), image, nil)))

  @doc "The digest of a manifest's exact bytes (skopeo's `manifest-digest`): `{:ok, digest}`."
  def manifest_digest(manifest), do: digest_of(decoded(Native.manifest_digest(manifest, nil)))

  @doc """
  The tags of a repository or layout as skopeo's `list-tags` prints them:
  `{:ok, %{"Repository" => ..., "Tags" => [...]}}`.
  """
  def list_tags(client, image), do: decoded(Native.list_tags(ref(client), image, nil))

  @doc "The repositories of the registry `registry` (`host[:port]`)."
  def catalog(client, registry), do: decoded(Native.catalog(ref(client), registry, nil))

  @doc """
  Checks `username` and `password` with `registry` (`host[:port]`) and keeps
  them in the client's `auth_file` (or the primary auth file of
  containers-auth.json(5)): `{:ok, path}` of the file written. A refusal is
  kind `:unauthorized` and writes nothing.
  """
  def login(client, registry, username, password),
    do:
      wrap(Native.login(ref(client), registry, encode(%{username: username, password: password})))

  @doc "Removes the login for `registry` from the auth file: `{:ok, path}`; kind `:not_found` when it held none."
  def logout(client, registry), do: wrap(Native.logout(ref(client), registry, nil))

  @doc """
  Removes the blobs of a registry's store that no manifest reaches, written
  before the grace period; safe while servers serve. Options: `root` (a
  directory) or `s3` (as `server_start/1`'s), `dry_run`, `grace_secs`
  (default 3600). Returns `{:ok, %{"dry_run", "marked", "kept_recent",
  "removed", "removed_bytes", "removed_uploads"}}`.
  """
  def gc(options), do: decoded(Native.gc(encode(options)))

  defp digest_of({:ok, %{"digest" => digest}}), do: {:ok, digest}
  defp digest_of(other), do: other

  defp ref(nil), do: nil
  defp ref(%Client{ref: ref}), do: ref

  defp encode(options) when map_size(options) == 0, do: nil
  defp encode(options), do: Stevedore.JSON.encode(options)

  defp wrap({:error, detail}), do: {:error, Error.from_json(detail)}
  defp wrap(other), do: other

  defp decoded({:ok, json}), do: {:ok, Stevedore.JSON.decode(json)}
  defp decoded(other), do: wrap(other)
end
