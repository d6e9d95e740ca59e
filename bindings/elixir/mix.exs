defmodule Mix.Tasks.Compile.StevedoreNif do
  @moduledoc "Builds the NIF, stevedore_nif.so, against libstevedore (no Hex needed)."
  use Mix.Task.Compiler

  @impl true
  def run(_args) do
    lib_dir = System.get_env("STEVEDORE_LIB_DIR") || Path.expand("../../target/debug", __DIR__)
    erts_include = Path.join([to_string(:code.root_dir()), "usr", "include"])
    # Straight into the build's priv: Mix links a project priv/ into _build
    # only if it existed before compilation began.
    priv = Path.join(Mix.Project.app_path(), "priv")
    File.mkdir_p!(priv)

    args =
      ~w(-std=c11 -O2 -Wall -Wextra -Werror -fPIC -shared) ++
        ["-I", erts_include, "-I", Path.expand("../../include", __DIR__), "c_src/stevedore_nif.c"] ++
        [
          "-L",
          lib_dir,
          "-lstevedore",
          "-Wl,-rpath," <> lib_dir,
          "-o",
          Path.join(priv, "stevedore_nif.so")
        ]

    case System.cmd("cc", args, stderr_to_stdout: true) do
      {_, 0} -> {:ok, []}
      {out, _} -> Mix.raise("building the Stevedore NIF failed:\n" <> out)
    end
  end
end

defmodule Stevedore.MixProject do
  use Mix.Project

  def project do
    [
      app: :stevedore,
      version: "0.1.0",
      elixir: "~> 1.14",
      compilers: [:stevedore_nif] ++ Mix.compilers(),
      deps: []
    ]
  end

  # jiffy (JSON) comes from Debian's erlang-jiffy, on the Erlang code path.
  def application, do: [extra_applications: [:jiffy]]
end
