defmodule Mix.Tasks.Compile.StevedoreNif do
  @moduledoc """
  Builds the NIF, stevedore_nif.so, against libstevedore found through
  pkg-config (`stevedore.pc`, as `scripts/install.sh PREFIX` installs it).

  In a clone of the repository it first builds and installs the library of
  that same checkout (release profile, with `scripts/install.sh`) under the
  Mix build directory, so `mix compile` needs nothing else. Outside one (the
  Hex package), the library must be installed: pkg-config finds it in a
  standard prefix, or where `PKG_CONFIG_PATH` points.

  A compiler task of the project itself, not elixir_make: Hex (where
  elixir_make lives) cannot be assumed reachable, and a Mix compiler needs no
  dependency.
  """
  use Mix.Task.Compiler

  @impl true
  def run(_args) do
    erts_include = Path.join([to_string(:code.root_dir()), "usr", "include"])
    # Straight into the build's priv: Mix links a project priv/ into _build
    # only if it existed before compilation began.
    priv = Path.join(Mix.Project.app_path(), "priv")
    File.mkdir_p!(priv)

    args =
      ~w(-std=c11 -O2 -Wall -Wextra -Werror -fPIC -shared) ++
        ["-I", erts_include, "-I", "c_src", "c_src/stevedore_nif.c"] ++
        pkg_config(library_pkg_config_path()) ++ ["-o", Path.join(priv, "stevedore_nif.so")]

    case System.cmd("cc", args, stderr_to_stdout: true) do
      {_, 0} -> {:ok, []}
      {out, _} -> Mix.raise("building the Stevedore NIF failed:\n" <> out)
    end
  end

  # The pkg-config directory of the library this checkout builds, or nil
  # outside a checkout.
  defp library_pkg_config_path do
    install = Path.expand("../../scripts/install.sh", __DIR__)

    if File.exists?(install) do
      prefix = Path.join(Mix.Project.build_path(), "libstevedore")

      case System.cmd(install, [prefix], env: [{"NO_CLI", "1"}], stderr_to_stdout: true) do
        {_, 0} -> Path.join(prefix, "lib/pkgconfig")
        {out, _} -> Mix.raise("building libstevedore failed:\n" <> out)
      end
    end
  end

  defp pkg_config(nil), do: pkg_config([])
  defp pkg_config(dir) when is_binary(dir), do: pkg_config([{"PKG_CONFIG_PATH", dir}])

  defp pkg_config(env) do
    case System.cmd("pkg-config", ~w(--cflags --libs stevedore), env: env, stderr_to_stdout: true) do
      {flags, 0} ->
        String.split(flags)

      {out, _} ->
        Mix.raise(
          "libstevedore not found by pkg-config: install it with scripts/install.sh PREFIX " <>
            "(and set PKG_CONFIG_PATH=PREFIX/lib/pkgconfig unless PREFIX is standard)\n" <> out
        )
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
      description: "Stevedore, a daemonless OCI container image toolkit: a NIF over libstevedore",
      compilers: [:stevedore_nif] ++ Mix.compilers(),
      deps: [],
      package: package()
    ]
  end

  # JSON: OTP's own :json from OTP 27; before it, jiffy (see Stevedore.JSON).
  def application do
    [extra_applications: if(Code.ensure_loaded?(:json), do: [], else: [:jiffy])]
  end

  # What `mix hex.build` packs: nothing outside this directory. The header is
  # the package's own copy (c_src/stevedore.h); the library comes from
  # pkg-config.
  defp package do
    [
      licenses: ["Apache-2.0"],
      links: %{},
      files: ~w(lib c_src/stevedore_nif.c c_src/stevedore.h mix.exs README.md)
    ]
  end
end
