defmodule Stevedore.Native do
  @moduledoc false
  # The NIF: thin calls into libstevedore, each blocking one on a dirty IO scheduler.
  @on_load :load

  def load do
    path = :filename.join(:code.priv_dir(:stevedore), ~c"stevedore_nif")
    :erlang.load_nif(path, 0)
  end

  def version, do: :erlang.nif_error(:not_loaded)
  def abi_version, do: :erlang.nif_error(:not_loaded)
  def client_new(_options), do: :erlang.nif_error(:not_loaded)
  def generate_key_pair(_options), do: :erlang.nif_error(:not_loaded)
  def sign(_client, _image, _options), do: :erlang.nif_error(:not_loaded)
  def static(_client, _src, _dir, _options), do: :erlang.nif_error(:not_loaded)
  def attach(_client, _image, _artifact, _options), do: :erlang.nif_error(:not_loaded)
  def referrers(_client, _image, _options), do: :erlang.nif_error(:not_loaded)
  def verify(_client, _image, _policy), do: :erlang.nif_error(:not_loaded)
  def server_start(_options), do: :erlang.nif_error(:not_loaded)
  def server_address(_server), do: :erlang.nif_error(:not_loaded)
  def server_stop(_server), do: :erlang.nif_error(:not_loaded)
  def cancel_token_new, do: :erlang.nif_error(:not_loaded)
  def cancel(_token), do: :erlang.nif_error(:not_loaded)
  def copy(_client, _src, _dst, _options, _progress, _cancel), do: :erlang.nif_error(:not_loaded)
  def sync(_client, _jobs, _options, _progress, _cancel), do: :erlang.nif_error(:not_loaded)
  def inspect(_client, _image, _options), do: :erlang.nif_error(:not_loaded)
  def inspect_raw(_client, _image, _options), do: :erlang.nif_error(:not_loaded)
  def tags(_client, _image, _options), do: :erlang.nif_error(:not_loaded)
  def build(_client, _spec, _base_dir, _dst), do: :erlang.nif_error(:not_loaded)
  def mutate(_client, _image, _mutation, _dst), do: :erlang.nif_error(:not_loaded)
  def append(_client, _base, _dst, _options), do: :erlang.nif_error(:not_loaded)
  def rebase(_client, _image, _old, _new, _dst, _options), do: :erlang.nif_error(:not_loaded)
  def flatten(_client, _image, _dst, _options), do: :erlang.nif_error(:not_loaded)
  def index_create(_client, _images, _dst), do: :erlang.nif_error(:not_loaded)
  def index_add(_client, _index, _image, _dst), do: :erlang.nif_error(:not_loaded)
  def index_remove(_client, _index, _platform, _dst), do: :erlang.nif_error(:not_loaded)
  def layer_remove(_client, _image, _position, _dst, _options), do: :erlang.nif_error(:not_loaded)

  def layer_replace(_client, _image, _position, _layer, _dst, _options),
    do: :erlang.nif_error(:not_loaded)

  def delete(_client, _image, _options), do: :erlang.nif_error(:not_loaded)
  def manifest(_client, _image, _options), do: :erlang.nif_error(:not_loaded)
  def blob(_client, _image, _digest, _options), do: :erlang.nif_error(:not_loaded)
  def blob_to_file(_client, _image, _digest, _path, _options), do: :erlang.nif_error(:not_loaded)
  def files(_client, _image, _path, _options), do: :erlang.nif_error(:not_loaded)
  def read_file(_client, _image, _path, _options), do: :erlang.nif_error(:not_loaded)
  def export(_client, _image, _path, _options), do: :erlang.nif_error(:not_loaded)
  def diff(_client, _a, _b, _options), do: :erlang.nif_error(:not_loaded)
  def sbom(_client, _image, _options), do: :erlang.nif_error(:not_loaded)
end
