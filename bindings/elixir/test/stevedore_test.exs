defmodule StevedoreTest do
  use ExUnit.Case, async: true

  @moduletag :tmp_dir

  defp run!(cmd, args) do
    {out, status} = System.cmd(cmd, args, stderr_to_stdout: true)
    if status != 0, do: flunk("#{cmd} #{Enum.join(args, " ")} failed:\n#{out}")
    out
  end

  # "oci:PATH" of a layout holding 1.0, a one-layer image made by umoci.
  defp layout(dir) do
    src = Path.join(dir, "src")
    run!("umoci", ["init", "--layout", src])
    run!("umoci", ["new", "--image", src <> ":1.0"])
    file = Path.join(dir, "hello.txt")
    File.write!(file, "hello from elixir\n")
    run!("umoci", ["insert", "--rootless", "--image", src <> ":1.0", file, "/hello.txt"])
    "oci:" <> src
  end

  # docker-registry on a free loopback port, stopped when the test ends.
  defp registry(dir) do
    {:ok, socket} = :gen_tcp.listen(0, ip: {127, 0, 0, 1})
    {:ok, port} = :inet.port(socket)
    :gen_tcp.close(socket)
    config = Path.join(dir, "registry.yml")

    File.write!(config, """
    version: 0.1
    log:
      level: error
    storage:
      filesystem:
        rootdirectory: #{Path.join(dir, "registry-data")}
      delete:
        enabled: true
    http:
      addr: 127.0.0.1:#{port}
    """)

    exe = System.find_executable("docker-registry")

    server =
      Port.open({:spawn_executable, exe}, [
        :binary,
        :exit_status,
        :stderr_to_stdout,
        args: ["serve", config]
      ])

    {:os_pid, os_pid} = Port.info(server, :os_pid)
    on_exit(fn -> System.cmd("kill", [to_string(os_pid)]) end)
    wait_listening(port, 200)
    "127.0.0.1:#{port}"
  end

  defp wait_listening(port, 0), do: flunk("docker-registry did not listen on #{port}")

  defp wait_listening(port, tries) do
    case :gen_tcp.connect({127, 0, 0, 1}, port, [], 100) do
      {:ok, s} -> :gen_tcp.close(s)
      _ -> Process.sleep(50) && wait_listening(port, tries - 1)
    end
  end

  test "versions" do
    assert Stevedore.abi_version() == 6
    assert Stevedore.version() =~ ~r/^\d+\.\d+\.\d+$/
  end

  test "copy, inspect, tags and delete between layouts", %{tmp_dir: dir} do
    src = layout(dir)
    dst = "oci:" <> Path.join(dir, "dst")

    assert {:ok, %{"digest" => digest, "blobs_copied" => 2}} =
             Stevedore.copy(nil, src <> ":1.0", dst <> ":copied")

    assert {:ok, %{"digest" => ^digest, "layers" => [_layer]}} =
             Stevedore.inspect(nil, dst <> ":copied")

    assert {:ok, _} = Stevedore.copy(nil, src <> ":1.0", dst <> ":second")
    assert :ok = Stevedore.delete(nil, dst <> ":second")
    assert {:ok, ["copied"]} = Stevedore.tags(nil, dst)
  end

  test "copy recompresses layers", %{tmp_dir: dir} do
    src = layout(dir) <> ":1.0"
    dst = "oci:" <> Path.join(dir, "zst")

    assert {:ok, %{"recompressed" => [%{"digest" => digest, "media_type" => media_type}]}} =
             Stevedore.copy(nil, src, dst <> ":z", %{compress_format: "zstd", compress_level: 19})

    assert media_type == "application/vnd.oci.image.layer.v1.tar+zstd"
    assert {:ok, %{"layers" => [%{"digest" => ^digest}]}} = Stevedore.inspect(nil, dst <> ":z")

    assert {:error, %Stevedore.Error{kind: :invalid_input}} =
             Stevedore.copy(nil, src, dst <> ":bad", %{
               compress_format: "gzip",
               compress_level: 99
             })
  end

  test "export_static writes a tree that reads back", %{tmp_dir: dir} do
    src = layout(dir) <> ":1.0"
    tree = Path.join(dir, "tree")
    conf = Path.join(dir, "registry.conf")

    assert {:ok, %{"image" => "team/app:1.0", "copy" => %{"digest" => digest}}} =
             Stevedore.export_static(nil, src, tree, %{name: "team/app", nginx_conf: conf})

    assert File.read!(conf) =~ "location = /v2/team/app/manifests/" <> digest

    assert {:ok, %{"digest" => ^digest}} =
             Stevedore.copy(
               nil,
               "static:" <> tree <> "/team/app:1.0",
               "oci:" <> Path.join(dir, "back") <> ":1.0"
             )

    assert {:error, %Stevedore.Error{kind: :invalid_input}} =
             Stevedore.export_static(nil, src, tree, %{name: "../escape"})
  end

  test "manifests and blobs in the runtime's shape", %{tmp_dir: dir} do
    image = layout(dir) <> ":1.0"
    assert {:ok, m} = Stevedore.manifest(nil, image)
    assert m.media_type == "application/vnd.oci.image.manifest.v1+json"
    assert m.digest == "sha256:" <> Base.encode16(:crypto.hash(:sha256, m.raw), case: :lower)
    assert m.size == byte_size(m.raw)
    assert {:ok, m.raw} == Stevedore.raw_manifest(nil, image)
    [%{"digest" => layer}] = m.json["layers"]
    assert {:ok, data} = Stevedore.blob(nil, image, layer)
    assert "sha256:" <> Base.encode16(:crypto.hash(:sha256, data), case: :lower) == layer
    path = Path.join(dir, "layer.tar.gz")
    assert :ok = Stevedore.blob_to_file(nil, image, layer, path)
    assert File.read!(path) == data
    assert {:ok, config} = Stevedore.raw_config(nil, image)
    assert %{"rootfs" => %{"type" => "layers"}} = Stevedore.JSON.decode(config)
  end

  test "errors are typed", %{tmp_dir: dir} do
    src = layout(dir)

    assert {:error, %Stevedore.Error{kind: :not_found, message: message, http_status: nil}} =
             Stevedore.inspect(nil, src <> ":nope")

    assert message =~ "nope"

    assert {:error, %Stevedore.Error{kind: :invalid_input}} =
             Stevedore.inspect(nil, "no-transport-here")

    assert {:error, %Stevedore.Error{kind: :invalid_input, message: m}} =
             Stevedore.client(%{retries: 1})

    assert m =~ "retries"

    assert {:error, %Stevedore.Error{kind: :invalid_input}} =
             Stevedore.blob(nil, src <> ":1.0", "sha256:../../etc/passwd")
  end

  test "one client threaded across a pull, from many processes", %{tmp_dir: dir} do
    addr = registry(dir)
    src = layout(dir) <> ":1.0"
    assert {:ok, client} = Stevedore.client(%{insecure: [addr], max_retries: 1})

    results =
      0..3
      |> Enum.map(fn i ->
        Task.async(fn -> Stevedore.copy(client, src, "docker://#{addr}/ex/app#{i}:t") end)
      end)
      |> Enum.map(&Task.await(&1, 30_000))

    assert Enum.all?(results, &match?({:ok, _}, &1))
    image = "docker://#{addr}/ex/app2:t"
    assert {:ok, m} = Stevedore.manifest(client, image)
    [%{"digest" => layer}] = m.json["layers"]
    assert {:ok, _} = Stevedore.blob(client, image, layer)

    assert {:error,
            %Stevedore.Error{
              kind: :not_found,
              http_status: 404,
              registry_errors: [%{"code" => "MANIFEST_UNKNOWN"} | _]
            }} = Stevedore.manifest(client, "docker://#{addr}/ex/app2:missing")
  end

  test "progress messages, and cancelling through a token", %{tmp_dir: dir} do
    src = layout(dir) <> ":1.0"
    dst = "oci:" <> Path.join(dir, "a") <> ":x"

    assert {:ok, %{"blobs_copied" => 2}} =
             Stevedore.copy(nil, src, dst, %{progress: self(), jobs: 2})

    assert_received {:stevedore_progress, first}
    assert %{"event" => "image_start"} = Stevedore.JSON.decode(first)

    token = Stevedore.cancel_token()
    :ok = Stevedore.cancel(token)
    cancelled = Path.join(dir, "b")

    assert {:error, %Stevedore.Error{kind: :cancelled}} =
             Stevedore.copy(nil, src, "oci:" <> cancelled <> ":x", %{cancel: token})

    refute File.exists?(cancelled)
  end

  test "sync reports each job", %{tmp_dir: dir} do
    src = layout(dir)
    dst = "oci:" <> Path.join(dir, "mirror")
    jobs = [{src <> ":1.0", dst <> ":a"}, {src <> ":nope", dst <> ":b"}]
    assert {:ok, [first, second]} = Stevedore.sync(nil, jobs)
    assert %{"outcome" => %{"status" => "copied"}} = first
    assert %{"outcome" => %{"status" => "failed", "kind" => "not_found"}} = second
    assert {:ok, [%{"outcome" => %{"status" => "skipped"}}, _]} = Stevedore.sync(nil, jobs)
  end

  test "a server in this process takes a push and serves it back", %{tmp_dir: dir} do
    src = layout(dir)
    {:ok, server} = Stevedore.server_start(%{root: Path.join(dir, "store")})
    address = Stevedore.server_address(server)
    assert String.starts_with?(address, "127.0.0.1:")
    {:ok, client} = Stevedore.client(%{plain_http: [address]})
    image = "docker://#{address}/ex/served:1"
    {:ok, pushed} = Stevedore.copy(client, src <> ":1.0", image)
    {:ok, report} = Stevedore.inspect(client, image)
    assert report["digest"] == pushed["digest"]
    {:ok, back} = Stevedore.copy(client, image, "oci:" <> Path.join(dir, "back") <> ":1")
    assert back["digest"] == pushed["digest"]
    {:ok, manifest} = Stevedore.manifest(client, image)
    assert manifest.digest == pushed["digest"]
    layer = hd(report["layers"])["digest"]
    {:ok, blob} = Stevedore.blob(client, image, layer)
    assert "sha256:" <> Base.encode16(:crypto.hash(:sha256, blob), case: :lower) == layer
    {:error, missing} = Stevedore.inspect(client, image <> "-missing")
    assert missing.kind == :not_found
    assert :ok == Stevedore.server_stop(server)
    assert :ok == Stevedore.server_stop(server)
    {:error, error} = Stevedore.server_start(%{addr: "127.0.0.1:0", threads: 2})
    assert error.kind == :invalid_input
  end

  test "sign and verify on a server in this process", %{tmp_dir: dir} do
    key = Path.join(dir, "key.pem")

    run!("openssl", [
      "genpkey",
      "-algorithm",
      "EC",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-out",
      key
    ])

    {public, 0} = System.cmd("openssl", ["pkey", "-in", key, "-pubout"])
    {:ok, server} = Stevedore.server_start()
    {:ok, client} = Stevedore.client(%{plain_http: [Stevedore.server_address(server)]})
    image = "docker://#{Stevedore.server_address(server)}/ex/signed:1"
    {:ok, _} = Stevedore.copy(client, layout(dir) <> ":1.0", image)

    {:ok, signed} =
      Stevedore.sign(client, image, %{key: File.read!(key), annotations: %{by: "elixir"}})

    assert String.starts_with?(signed["signature_tag"], "sha256-")

    {:ok, report} =
      Stevedore.verify(client, image, %{keys: [public], annotations: %{by: "elixir"}})

    assert report["verified"]

    {:error, refused} =
      Stevedore.verify(client, image, %{keys: [public], annotations: %{by: "go"}})

    assert refused.kind == :policy
    assert hd(refused.report["signatures"])["verdict"] == "missing_annotation"

    {:ok, attached} =
      Stevedore.attach(client, image, ~s({"spdxVersion": "SPDX-2.3"}), %{
        artifact_type: "application/spdx+json"
      })

    {:ok, [found]} = Stevedore.referrers(client, image, %{artifact_type: "application/spdx+json"})
    assert found["digest"] == attached["digest"]
    Stevedore.server_stop(server)
  end

  test "a generated key pair signs and verifies", %{tmp_dir: dir} do
    {:ok, %{"private_key" => private, "public_key" => public}} = Stevedore.generate_key_pair("pw")
    assert private =~ "ENCRYPTED COSIGN PRIVATE KEY"
    {:ok, server} = Stevedore.server_start()
    {:ok, client} = Stevedore.client(%{plain_http: [Stevedore.server_address(server)]})
    image = "docker://#{Stevedore.server_address(server)}/ex/keys:1"
    {:ok, _} = Stevedore.copy(client, layout(dir) <> ":1.0", image)
    {:ok, _} = Stevedore.sign(client, image, %{key: private, password: "pw"})
    {:ok, report} = Stevedore.verify(client, image, %{keys: [public]})
    assert report["verified"]
    Stevedore.server_stop(server)
  end

  test "files, read_file, export and diff", %{tmp_dir: dir} do
    image = layout(dir) <> ":1.0"
    {:ok, %{"entries" => entries}} = Stevedore.files(nil, image)
    assert Enum.any?(entries, &(&1["path"] == "hello.txt" and &1["type"] == "file"))
    assert {:ok, "hello from elixir\n"} = Stevedore.read_file(nil, image, "/hello.txt")
    assert {:error, %Stevedore.Error{kind: :not_found}} = Stevedore.read_file(nil, image, "/nope")
    tarball = Path.join(dir, "root.tar")
    {:ok, %{"entries" => n}} = Stevedore.export(nil, image, tarball)
    assert n >= 1
    assert run!("tar", ["-tf", tarball]) =~ "hello.txt"

    assert {:ok, %{"added" => [], "removed" => [], "changed" => []}} =
             Stevedore.diff(nil, image, image)
  end

  test "sbom lists a distribution and attaches itself", %{tmp_dir: dir} do
    image = layout(dir) <> ":1.0"
    meta = Path.join(dir, "METADATA")
    File.write!(meta, "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")

    run!("umoci", [
      "insert",
      "--rootless",
      "--image",
      String.replace_prefix(image, "oci:", ""),
      meta,
      "/usr/lib/python3/site-packages/demo-1.0.dist-info/METADATA"
    ])

    {:ok, {document, report}} =
      Stevedore.sbom(nil, image, %{format: "cyclonedx-json", attach: true})

    assert %{"components" => [%{"purl" => "pkg:pypi/demo@1.0"}]} = Stevedore.JSON.decode(document)

    assert %{"packages" => 1, "attached" => %{"digest" => digest}} = report

    assert {:ok, [%{"digest" => ^digest}]} =
             Stevedore.referrers(nil, image, %{artifact_type: "application/vnd.cyclonedx+json"})

    assert {:error, %Stevedore.Error{kind: :invalid_input}} =
             Stevedore.sbom(nil, image, %{format: "yaml"})
  end

  test "build twice gives one digest; mutate changes it; a bad spec is typed", %{tmp_dir: dir} do
    File.mkdir_p!(Path.join(dir, "rootfs/etc"))
    File.write!(Path.join(dir, "rootfs/etc/hello"), "hi\n")
    {:ok, client} = Stevedore.client()
    out = "oci:" <> Path.join(dir, "out")
    spec = %{"layers" => [%{"dir" => "rootfs"}]}
    {:ok, %{"digest" => one}} = Stevedore.build(client, spec, dir, out <> ":v1")
    {:ok, %{"digest" => ^one}} = Stevedore.build(client, spec, dir, out <> ":v2")
    mutation = %{"config" => %{"cmd" => ["sh"]}}
    {:ok, %{"digest" => changed}} = Stevedore.mutate(client, out <> ":v1", mutation, out <> ":v3")
    assert changed != one
    bad = %{"layers" => [%{"dri" => "rootfs"}]}

    assert {:error, %Stevedore.Error{kind: :invalid_input}} =
             Stevedore.build(client, bad, dir, out <> ":bad")
  end

  test "append, rebase, flatten, layer remove/replace and index verbs", %{tmp_dir: dir} do
    for name <- ["a", "b", "c"] do
      File.mkdir_p!(Path.join(dir, name <> "/etc"))
      File.write!(Path.join(dir, name <> "/etc/" <> name), name <> "\n")
    end

    {:ok, client} = Stevedore.client()
    out = "oci:" <> Path.join(dir, "out")
    spec = %{"platform" => "linux/amd64", "layers" => [%{"dir" => "a"}]}
    {:ok, _} = Stevedore.build(client, spec, dir, out <> ":v1")

    {:ok, %{"digest" => appended}} =
      Stevedore.append(client, out <> ":v1", [Path.join(dir, "b")], out <> ":v2")

    {:ok, %{"digest" => flat}} = Stevedore.flatten(client, out <> ":v2", out <> ":flat")
    assert flat != appended
    {:ok, %{"layers" => [_]}} = Stevedore.files(client, out <> ":flat")
    {:ok, _} = Stevedore.layer_remove(client, out <> ":v2", 0, out <> ":removed")

    assert {:error, %Stevedore.Error{kind: :invalid_input}} =
             Stevedore.layer_remove(client, out <> ":v2", 9, out <> ":bad")

    {:ok, _} =
      Stevedore.layer_replace(client, out <> ":v2", 1, Path.join(dir, "c"), out <> ":replaced")

    {:ok, "c\n"} = Stevedore.read_file(client, out <> ":replaced", "/etc/c")
    other = %{"platform" => "linux/amd64", "layers" => [%{"dir" => "c"}]}
    {:ok, _} = Stevedore.build(client, other, dir, out <> ":other")

    assert {:error, %Stevedore.Error{kind: :invalid_input}} =
             Stevedore.rebase(client, out <> ":v2", out <> ":other", out <> ":v1", out <> ":bad")

    {:ok, %{"digest" => rebased}} =
      Stevedore.rebase(client, out <> ":v2", out <> ":v1", out <> ":other", out <> ":rebased")

    assert rebased != appended
    arm = %{"platform" => "linux/arm64", "layers" => [%{"dir" => "c"}]}
    {:ok, _} = Stevedore.build(client, arm, dir, out <> ":arm")
    {:ok, _} = Stevedore.index_create(client, [out <> ":v1"], out <> ":multi")

    {:ok, %{"digest" => added}} =
      Stevedore.index_add(client, out <> ":multi", out <> ":arm", out <> ":multi2")

    {:ok, %{"digest" => removed}} =
      Stevedore.index_remove(client, out <> ":multi2", "linux/arm64", out <> ":multi3")

    assert added != removed

    assert {:error, %Stevedore.Error{kind: :not_found}} =
             Stevedore.flatten(client, out <> ":multi2", out <> ":bad", %{
               "platform" => "linux/s390x"
             })
  end

  test "login, logout, tag, digest, list_tags and catalog on a server with htpasswd", %{
    tmp_dir: dir
  } do
    src = layout(dir)
    htpasswd = Path.join(dir, "htpasswd")
    File.write!(htpasswd, run!("htpasswd", ["-Bbn", "ex", "s3cret"]))
    auth_file = Path.join(dir, "auth.json")
    {:ok, server} = Stevedore.server_start(%{htpasswd: htpasswd})
    addr = Stevedore.server_address(server)
    options = %{plain_http: [addr], auth_file: auth_file}
    {:ok, client} = Stevedore.client(options)
    {:error, refused} = Stevedore.login(client, addr, "ex", "wrong")
    assert refused.kind == :unauthorized and not String.contains?(refused.message, "wrong")
    refute File.exists?(auth_file)
    assert {:ok, ^auth_file} = Stevedore.login(client, addr, "ex", "s3cret")
    {:ok, client} = Stevedore.client(options)
    image = "docker://#{addr}/ex/app:1.0"
    {:ok, %{"digest" => pushed}} = Stevedore.copy(client, src <> ":1.0", image)
    assert {:ok, ^pushed} = Stevedore.tag(client, image, "stable")
    {:error, bad} = Stevedore.tag(client, image, "-bad")
    assert bad.kind == :invalid_input
    assert {:ok, ^pushed} = Stevedore.digest(client, "docker://#{addr}/ex/app:stable")

    assert {:ok, %{"Repository" => "#{addr}/ex/app", "Tags" => ["1.0", "stable"]}} ==
             Stevedore.list_tags(client, "docker://#{addr}/ex/app")

    assert {:ok, ["ex/app"]} == Stevedore.catalog(client, addr)
    {:ok, raw} = Stevedore.raw_manifest(client, image)
    assert {:ok, ^pushed} = Stevedore.manifest_digest(raw)
    assert {:ok, ^auth_file} = Stevedore.logout(client, addr)
    {:error, none} = Stevedore.logout(client, addr)
    assert none.kind == :not_found
    {:ok, anonymous} = Stevedore.client(options)
    {:error, denied} = Stevedore.catalog(anonymous, addr)
    assert denied.kind == :unauthorized
    Stevedore.server_stop(server)
  end

  test "manifest_digest is the sha256 of the bytes" do
    raw = ~s({"schemaVersion": 2})
    digest = "sha256:" <> Base.encode16(:crypto.hash(:sha256, raw), case: :lower)
    assert {:ok, digest} == Stevedore.manifest_digest(raw)
    {:error, empty} = Stevedore.manifest_digest("")
    assert empty.kind == :invalid_input
  end

  test "verify_policy accepts and refuses as the policy file says", %{tmp_dir: dir} do
    src = layout(dir)
    {:ok, server} = Stevedore.server_start()
    addr = Stevedore.server_address(server)
    {:ok, client} = Stevedore.client(%{plain_http: [addr]})
    accepted = "docker://#{addr}/ex/ok:1"
    refused = "docker://#{addr}/ex/no:1"
    {:ok, _} = Stevedore.copy(client, src <> ":1.0", accepted)
    {:ok, _} = Stevedore.copy(client, src <> ":1.0", refused)
    policy = Path.join(dir, "policy.json")

    File.write!(
      policy,
      :jiffy.encode(%{
        default: [%{type: "reject"}],
        transports: %{docker: %{"#{addr}/ex/ok" => [%{type: "insecureAcceptAnything"}]}}
      })
    )

    {:ok, decision} = Stevedore.verify_policy(client, accepted, policy)
    assert decision["accepted"] == true
    {:error, no} = Stevedore.verify_policy(client, refused, policy)

    assert no.kind == :policy and no.report["accepted"] == false and
             no.report["scope"] == "default"

    {:error, missing} = Stevedore.verify_policy(client, accepted, policy <> ".missing")
    assert missing.kind == :not_found
    Stevedore.server_stop(server)
  end

  test "gc removes what no manifest reaches", %{tmp_dir: dir} do
    src = layout(dir)
    store = Path.join(dir, "store")
    {:ok, server} = Stevedore.server_start(%{root: store})
    addr = Stevedore.server_address(server)
    {:ok, client} = Stevedore.client(%{plain_http: [addr]})

    {:ok, %{"digest" => pushed}} =
      Stevedore.copy(client, src <> ":1.0", "docker://#{addr}/ex/gc:1")

    assert {:ok, %{"removed" => 0}} = Stevedore.gc(%{root: store, dry_run: true, grace_secs: 0})
    :ok = Stevedore.delete(client, "docker://#{addr}/ex/gc@#{pushed}")
    {:ok, dry} = Stevedore.gc(%{root: store, dry_run: true, grace_secs: 0})
    assert dry["removed"] > 0 and dry["dry_run"] == true
    {:ok, done} = Stevedore.gc(%{root: store, grace_secs: 0})
    assert done["removed"] == dry["removed"]
    assert {:ok, %{"removed" => 0}} = Stevedore.gc(%{root: store, grace_secs: 0})
    {:error, bad} = Stevedore.gc(%{root: store, colour: "blue"})
    assert bad.kind == :invalid_input
    {:error, layout} = Stevedore.gc(%{root: Path.join(dir, "src"), grace_secs: 0})
    assert layout.kind == :invalid_input
    assert File.ls!(Path.join(dir, "src/blobs/sha256")) != []
    {:error, missing} = Stevedore.gc(%{root: Path.join(dir, "missing")})
    assert missing.kind == :not_found
    Stevedore.server_stop(server)
  end
end
