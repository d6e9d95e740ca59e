defmodule Stevedore.JSON do
  @moduledoc false
  # JSON for the options the NIF takes and the results it returns. OTP's own
  # `:json` (OTP 27 and later) when the VM has it; on older OTP, jiffy
  # (Debian's erlang-jiffy), since Hex packages cannot be assumed reachable.
  # `null` decodes to `:null` either way.

  if Code.ensure_loaded?(:json) do
    @doc "Encodes a term (maps, lists, strings, numbers, booleans) as a JSON binary."
    def encode(term), do: term |> :json.encode() |> IO.iodata_to_binary()

    @doc "Decodes a JSON binary; objects become maps with string keys."
    def decode(json), do: :json.decode(json)
  else
    @doc "Encodes a term (maps, lists, strings, numbers, booleans) as a JSON binary."
    def encode(term), do: :jiffy.encode(term)

    @doc "Decodes a JSON binary; objects become maps with string keys."
    def decode(json), do: :jiffy.decode(json, [:return_maps])
  end
end
