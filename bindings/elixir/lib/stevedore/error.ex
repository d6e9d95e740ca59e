defmodule Stevedore.Error do
  @moduledoc "A failed Stevedore call: its kind, message, HTTP status and registry errors."
  defexception [:kind, :message, :http_status, :report, registry_errors: []]

  @kinds ~w(invalid_input not_found unauthorized denied digest_mismatch unsupported network io
            policy rate_limited cancelled panic)

  @doc false
  def from_json(json) when is_binary(json) do
    detail = Stevedore.JSON.decode(json)
    kind = detail["kind"]

    %__MODULE__{
      kind: if(kind in @kinds, do: String.to_atom(kind), else: :unknown),
      message: field(detail, "message"),
      http_status: field(detail, "http_status"),
      registry_errors: field(detail, "registry_errors") || []
    }
  end

  # A field of the error JSON, `nil` when absent or `null` (which the JSON
  # decoder gives as `:null`).
  defp field(detail, key) do
    case detail[key] do
      :null -> nil
      value -> value
    end
  end

  def from_json(status) when is_integer(status),
    do: %__MODULE__{kind: :unknown, message: "status #{status}"}
end
