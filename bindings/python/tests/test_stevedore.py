"""The Python binding over libstevedore: every verb, typed errors, a client
shared by threads, and a registry round trip against docker-registry."""

import hashlib
import json
import subprocess
import threading

import pytest

import stevedore_oci as stevedore


def test_versions_match_the_library():
    assert stevedore.abi_version() == 6
    assert stevedore.version().count(".") == 2


def test_copy_inspect_tags_and_delete_between_layouts(layout, tmp_path):
    dst = f"oci:{tmp_path / 'dst'}"
    report = stevedore.copy(f"{layout}:1.0", f"{dst}:copied")
    assert report["digest"].startswith("sha256:")
    assert report["blobs_copied"] == 2
    info = stevedore.inspect(f"{dst}:copied")
    assert info["digest"] == report["digest"]
    assert len(info["layers"]) == 1
    stevedore.copy(f"{layout}:1.0", f"{dst}:second")
    assert stevedore.tags(dst) == ["copied", "second"]
    stevedore.delete(f"{dst}:second")
    assert stevedore.tags(dst) == ["copied"]


def test_copy_recompresses_layers(layout, tmp_path):
    dst = f"oci:{tmp_path / 'zst'}"
    report = stevedore.Client().copy(f"{layout}:1.0", f"{dst}:z", compress_format="zstd",
                                     compress_level=19)
    [layer] = report["recompressed"]
    assert layer["media_type"] == "application/vnd.oci.image.layer.v1.tar+zstd"
    assert stevedore.inspect(f"{dst}:z")["layers"][0]["digest"] == layer["digest"]
    with pytest.raises(stevedore.InvalidInputError, match="out of range"):
        stevedore.Client().copy(f"{layout}:1.0", f"{dst}:bad", compress_format="gzip",
                                compress_level=99)


def test_manifests_and_blobs_come_back_exact(layout, tmp_path):
    m = stevedore.manifest(f"{layout}:1.0")
    assert m.media_type == "application/vnd.oci.image.manifest.v1+json"
    assert m.digest == "sha256:" + hashlib.sha256(m.raw).hexdigest()
    assert m.size == len(m.raw)
    assert m.raw == stevedore.raw_manifest(f"{layout}:1.0")
    skopeo = subprocess.run(["skopeo", "inspect", "--raw", f"{layout}:1.0"], check=True, capture_output=True)
    assert m.raw == skopeo.stdout
    layer = m.json["layers"][0]["digest"]
    data = stevedore.blob(f"{layout}:1.0", layer)
    assert "sha256:" + hashlib.sha256(data).hexdigest() == layer
    target = tmp_path / "layer.tar.gz"
    stevedore.blob_to_file(f"{layout}:1.0", layer, target)
    assert target.read_bytes() == data
    config = json.loads(stevedore.raw_config(f"{layout}:1.0"))
    assert config["rootfs"]["type"] == "layers"


def test_errors_are_typed_and_carry_their_kind(layout):
    with pytest.raises(stevedore.NotFoundError) as info:
        stevedore.inspect(f"{layout}:no-such-tag")
    assert info.value.kind == "not_found"
    assert "no-such-tag" in info.value.message
    with pytest.raises(stevedore.InvalidInputError):
        stevedore.inspect("no-transport-here")
    with pytest.raises(stevedore.InvalidInputError):
        stevedore.blob(f"{layout}:1.0", "sha256:../../etc/passwd")
    with pytest.raises(stevedore.InvalidInputError) as info:
        stevedore.Client(retries=3)
    assert "retries" in str(info.value)
    layer = stevedore.manifest(f"{layout}:1.0").json["layers"][0]["digest"]
    with pytest.raises(stevedore.InvalidInputError):
        stevedore.blob(f"{layout}:1.0", layer, max_size=1)
    client = stevedore.Client()
    client.close()
    with pytest.raises(stevedore.InvalidInputError):
        client.tags(layout)


def test_a_client_shared_by_threads_pushes_and_pulls_a_registry(layout, registry, tmp_path):
    with stevedore.Client(insecure=[registry], max_retries=1) as client:
        errors = []

        def push(i):
            try:
                client.copy(f"{layout}:1.0", f"docker://{registry}/py/app:t{i}")
            except Exception as e:  # noqa: BLE001 - collected for the assertion below
                errors.append(e)

        threads = [threading.Thread(target=push, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert sorted(client.tags(f"docker://{registry}/py/app")) == ["t0", "t1", "t2", "t3"]
        back = client.copy(f"docker://{registry}/py/app:t2", f"oci:{tmp_path / 'back'}:t2")
        assert back["digest"] == stevedore.manifest(f"{layout}:1.0").digest
        with pytest.raises(stevedore.NotFoundError) as info:
            client.manifest(f"docker://{registry}/py/app:missing")
        assert info.value.http_status == 404
        assert info.value.registry_errors[0]["code"] == "MANIFEST_UNKNOWN"


def test_progress_reaches_a_callable_and_false_cancels(layout, tmp_path):
    events = []
    report = stevedore.copy(f"{layout}:1.0", f"oci:{tmp_path / 'a'}:x", progress=events.append, jobs=2)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "image_start" and kinds[-1] == "image_done"
    assert kinds.count("blob_done") == report["blobs_copied"] == 2

    seen = []

    def stop_at_first_blob(event):
        seen.append(event["event"])
        return event["event"] != "blob_start"

    with pytest.raises(stevedore.CancelledError):
        stevedore.copy(f"{layout}:1.0", f"oci:{tmp_path / 'b'}:x", progress=stop_at_first_blob)
    assert "blob_start" in seen
    assert not (tmp_path / "b").exists(), "a cancelled copy leaves no new layout"


def test_sync_reports_each_pair(layout, tmp_path):
    dst = f"oci:{tmp_path / 'mirror'}"
    pairs = [(f"{layout}:1.0", f"{dst}:a"), (f"{layout}:nope", f"{dst}:b"), (f"{layout}:1.0", f"{dst}:c")]
    results = stevedore.sync(pairs)
    assert [r["outcome"]["status"] for r in results] == ["copied", "failed", "copied"]
    assert results[1]["outcome"]["kind"] == "not_found"
    assert [r["outcome"]["status"] for r in stevedore.sync(pairs)] == ["skipped", "failed", "skipped"]


def test_a_server_in_process_takes_a_push_and_serves_it_back(layout, tmp_path):
    with stevedore.Server(root=str(tmp_path / "store")) as server:
        assert server.address.startswith("127.0.0.1:")
        with stevedore.Client(plain_http=[server.address]) as client:
            pushed = client.copy(f"{layout}:1.0", f"docker://{server.address}/py/served:1")
            assert client.tags(f"docker://{server.address}/py/served") == ["1"]
            back = client.copy(f"docker://{server.address}/py/served:1", f"oci:{tmp_path / 'back'}:1")
            assert back["digest"] == pushed["digest"]
            assert client.inspect(f"oci:{tmp_path / 'back'}:1")["digest"] == pushed["digest"]
            served = client.manifest(f"docker://{server.address}/py/served:1")
            assert served.digest == pushed["digest"]
            assert hashlib.sha256(served.raw).hexdigest() == served.digest.split(":")[1]
            layer = served.json["layers"][0]["digest"]
            blob = client.blob(f"docker://{server.address}/py/served:1", layer)
            assert "sha256:" + hashlib.sha256(blob).hexdigest() == layer
            with pytest.raises(stevedore.NotFoundError):
                client.manifest(f"docker://{server.address}/py/served:missing")
    with pytest.raises(stevedore.InvalidInputError):
        stevedore.Server(addr="127.0.0.1:0", threads=3)


def test_gc_removes_what_no_manifest_reaches_and_s3_options_pass_through(layout, tmp_path):
    store = tmp_path / "store"
    with stevedore.Server(root=str(store)) as server:
        with stevedore.Client(plain_http=[server.address]) as client:
            pushed = client.copy(f"{layout}:1.0", f"docker://{server.address}/py/gc:1")
            assert stevedore.gc(root=store, dry_run=True, grace_secs=0)["removed"] == 0
            client.delete(f"docker://{server.address}/py/gc@{pushed['digest']}")
            dry = stevedore.gc(root=store, dry_run=True, grace_secs=0)
            assert dry["removed"] >= 3 and dry["dry_run"]
            done = stevedore.gc(root=store, grace_secs=0)
            assert (done["removed"], done["removed_bytes"]) == (dry["removed"], dry["removed_bytes"])
            assert stevedore.gc(root=store, grace_secs=0)["removed"] == 0
    # Not a registry store: refused, the layout's blobs all kept.
    src = layout.removeprefix("oci:")
    blobs = sorted(p for p in (tmp_path / "src" / "blobs").rglob("*") if p.is_file())
    with pytest.raises(stevedore.InvalidInputError, match="not a stevedore registry store"):
        stevedore.gc(root=src, grace_secs=0)
    assert sorted(p for p in (tmp_path / "src" / "blobs").rglob("*") if p.is_file()) == blobs
    with pytest.raises(stevedore.NotFoundError):
        stevedore.gc(root=tmp_path / "missing", grace_secs=0)
    # The "s3" options reach the library: nothing listens on port 1 of loopback.
    with pytest.raises(stevedore.NetworkError):
        stevedore.Server(s3={"url": "s3://bucket/p", "endpoint": "http://127.0.0.1:1",
                             "access_key_id": "k", "secret_access_key": "s"})
    with pytest.raises(stevedore.InvalidInputError):
        stevedore.gc(s3={"url": "s3://bucket", "colour": "blue"})


def test_sign_and_verify_on_a_server_in_process(layout, tmp_path):
    key = tmp_path / "key.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", str(key)], check=True, capture_output=True)
    public = subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout"], check=True,
                            capture_output=True).stdout.decode()
    with stevedore.Server() as server, stevedore.Client(plain_http=[server.address]) as client:
        image = f"docker://{server.address}/py/signed:1"
        client.copy(f"{layout}:1.0", image)
        signed = client.sign(image, key.read_text(), annotations={"by": "python"})
        assert signed["signature_tag"].startswith("sha256-")
        report = client.verify(image, [public], annotations={"by": "python"})
        assert report["verified"] and report["signatures"][0]["verdict"] == "valid"
        with pytest.raises(stevedore.PolicyError) as refused:
            client.verify(image, [public], annotations={"by": "someone else"})
        assert refused.value.report["signatures"][0]["verdict"] == "missing_annotation"
        attached = client.attach(image, b'{"spdxVersion": "SPDX-2.3"}', "application/spdx+json")
        found = client.referrers(image, artifact_type="application/spdx+json")
        assert [d["digest"] for d in found] == [attached["digest"]]
        mirror = f"docker://{server.address}/py/mirror:1"
        moved = client.copy(image, mirror, referrers=True)
        assert moved["referrers_copied"] == 2
        assert client.verify(mirror, [public], identity=signed["identity"],
                             annotations={"by": "python"})["verified"]


def test_a_generated_key_pair_signs_and_verifies(layout):
    private, public = stevedore.generate_key_pair("pw")
    assert "ENCRYPTED COSIGN PRIVATE KEY" in private
    with stevedore.Server() as server, stevedore.Client(plain_http=[server.address]) as client:
        image = f"docker://{server.address}/py/keys:1"
        client.copy(f"{layout}:1.0", image)
        client.sign(image, private, password="pw")
        assert client.verify(image, [public])["verified"]
        with pytest.raises(stevedore.UnauthorizedError):
            client.sign(image, private, password="wrong")


def test_export_static_writes_a_tree_that_reads_back(layout, tmp_path):
    client = stevedore.Client()
    tree, conf = tmp_path / "tree", tmp_path / "registry.conf"
    report = client.export_static(f"{layout}:1.0", str(tree), name="team/app", nginx_conf=str(conf))
    assert report["image"] == "team/app:1.0"
    assert report["pull"] == "localhost:8080/team/app:1.0"
    digest = report["copy"]["digest"]
    assert f"location = /v2/team/app/manifests/{digest}" in conf.read_text()
    back = client.copy(f"static:{tree}/team/app:1.0", f"oci:{tmp_path / 'back'}:1.0")
    assert back["digest"] == digest
    assert client.tags(f"static:{tree}/team/app") == ["1.0"]
    with pytest.raises(stevedore.InvalidInputError):
        client.export_static(f"{layout}:1.0", str(tree), name="../escape")


def test_files_read_file_export_and_diff(layout, tmp_path):
    listing = stevedore.files(f"{layout}:1.0")
    hello = [e for e in listing["entries"] if e["path"] == "hello.txt"]
    assert hello and hello[0]["type"] == "file" and hello[0]["size"] == len("hello from python\n")
    assert stevedore.read_file(f"{layout}:1.0", "/hello.txt") == b"hello from python\n"
    with pytest.raises(stevedore.NotFoundError):
        stevedore.read_file(f"{layout}:1.0", "/missing")
    tarball = tmp_path / "root.tar"
    assert stevedore.export(f"{layout}:1.0", tarball)["entries"] >= 1
    listed = subprocess.run(["tar", "-tf", str(tarball)], check=True, capture_output=True, text=True).stdout
    assert "hello.txt" in listed.split()
    src = layout.removeprefix("oci:")
    subprocess.run(["umoci", "config", "--image", f"{src}:1.0", "--tag", "2.0", "--config.user", "1"], check=True)
    (tmp_path / "more.txt").write_text("more\n")
    subprocess.run(["umoci", "insert", "--rootless", "--image", f"{src}:2.0", str(tmp_path / "more.txt"), "/more.txt"],
                   check=True, capture_output=True)
    d = stevedore.diff(f"{layout}:1.0", f"{layout}:2.0")
    assert d == {"added": ["more.txt"], "removed": [], "changed": []}


def test_sbom_lists_a_distribution_and_attaches(tmp_path):
    root = tmp_path / "rootfs"
    info = root / "usr" / "lib" / "python3" / "site-packages" / "demo-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nLicense: MIT\n")
    layout = f"oci:{tmp_path / 'out'}:v1"
    stevedore.build({"layers": [{"dir": "rootfs"}]}, layout, base_dir=str(tmp_path))
    document, report = stevedore.sbom(layout, format="cyclonedx-json", attach=True)
    assert json.loads(document)["components"][0]["purl"] == "pkg:pypi/demo@1.0"
    assert report["packages"] == 1 and report["ecosystems"] == {"python": 1}
    assert report["attached"]["artifact_type"] == "application/vnd.cyclonedx+json"
    listed = stevedore.Client().referrers(layout, artifact_type="application/vnd.cyclonedx+json")
    assert [d["digest"] for d in listed] == [report["attached"]["digest"]]
    spdx, _ = stevedore.sbom(layout)
    assert json.loads(spdx)["spdxVersion"] == "SPDX-2.3"
    with pytest.raises(stevedore.InvalidInputError):
        stevedore.sbom(layout, format="yaml")


def test_build_mutate_and_a_bad_rebase(tmp_path):
    client = stevedore.Client()
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hello").write_text("hi\n")
    layout = f"oci:{tmp_path / 'out'}"
    client = stevedore.Client()
    spec = {"platform": "linux/amd64", "layers": [{"dir": "rootfs"}], "config": {"cmd": ["sh"]}}
    built = stevedore.build(spec, f"{layout}:v1", base_dir=str(tmp_path))
    again = stevedore.build(spec, f"{layout}:v1b", base_dir=str(tmp_path))
    assert built["digest"] == again["digest"]
    mutated = stevedore.mutate(f"{layout}:v1", f"{layout}:v2", config={"env": ["A=1"]})
    assert mutated["digest"] != built["digest"]
    appended = client.append(f"{layout}:v1", [root], f"{layout}:v3")
    with pytest.raises(stevedore.InvalidInputError, match="not the image's base"):
        client.rebase(f"{layout}:v1", f"{layout}:v3", f"{layout}:v2", f"{layout}:v4")
    assert appended["digest"].startswith("sha256:")
    with pytest.raises(stevedore.InvalidInputError, match="line 1"):
        stevedore.build({"layers": [{"dri": "x"}]}, f"{layout}:bad")


def test_flatten_layer_remove_replace_and_index(tmp_path):
    client = stevedore.Client()
    for name, path, text in [("a", "etc/a", "a\n"), ("b", "etc/b", "b\n"), ("c", "etc/c", "c\n")]:
        (tmp_path / name / "etc").mkdir(parents=True)
        (tmp_path / name / path).write_text(text)
    layout = f"oci:{tmp_path / 'out'}"
    spec = {"platform": "linux/amd64", "layers": [{"dir": "a"}, {"dir": "b"}]}
    built = stevedore.build(spec, f"{layout}:v1", base_dir=str(tmp_path))
    flat = client.flatten(f"{layout}:v1", f"{layout}:flat")
    assert flat["digest"] != built["digest"]
    assert len(client.inspect(f"{layout}:flat")["layers"]) == 1
    assert sorted(e["path"] for e in stevedore.files(f"{layout}:flat")["entries"]) == \
        sorted(e["path"] for e in stevedore.files(f"{layout}:v1")["entries"])
    client.layer_remove(f"{layout}:v1", 0, f"{layout}:removed")
    assert [e["path"] for e in stevedore.files(f"{layout}:removed")["entries"]] == ["etc", "etc/b"]
    client.layer_replace(f"{layout}:v1", 1, tmp_path / "c", f"{layout}:replaced")
    assert stevedore.read_file(f"{layout}:replaced", "/etc/c") == b"c\n"
    with pytest.raises(stevedore.InvalidInputError, match="layer 5 does not exist"):
        client.layer_remove(f"{layout}:v1", 5, f"{layout}:bad")
    arm = dict(spec, platform="linux/arm64")
    stevedore.build(arm, f"{layout}:arm", base_dir=str(tmp_path))
    client.index_create([f"{layout}:v1"], f"{layout}:multi")
    added = client.index_add(f"{layout}:multi", f"{layout}:arm", f"{layout}:multi2")
    removed = client.index_remove(f"{layout}:multi2", "linux/arm64", f"{layout}:multi3")
    assert added["digest"] != removed["digest"]
    flat_index = client.flatten(f"{layout}:multi2", f"{layout}:multi-flat", platform="linux/arm64")
    assert flat_index["media_type"] == "application/vnd.oci.image.index.v1+json"


def test_login_logout_tag_digest_list_tags_and_catalog_on_a_server_with_htpasswd(layout, tmp_path):
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_bytes(subprocess.run(["htpasswd", "-Bbn", "py", "s3cret"], check=True,
                                        capture_output=True).stdout)
    auth_file = tmp_path / "auth.json"
    with stevedore.Server(htpasswd=str(htpasswd)) as server:
        addr = server.address
        with stevedore.Client(plain_http=[addr], auth_file=str(auth_file)) as client:
            with pytest.raises(stevedore.UnauthorizedError) as refused:
                client.login(addr, "py", "wrong")
            assert "wrong" not in str(refused.value) and not auth_file.exists()
            assert client.login(addr, "py", "s3cret") == str(auth_file)
            assert addr in json.loads(auth_file.read_text())["auths"]
        with stevedore.Client(plain_http=[addr], auth_file=str(auth_file)) as client:
            image = f"docker://{addr}/py/app:1.0"
            pushed = client.copy(f"{layout}:1.0", image)["digest"]
            assert client.tag(image, "stable") == pushed
            with pytest.raises(stevedore.InvalidInputError):
                client.tag(image, "-bad")
            assert client.digest(f"docker://{addr}/py/app:stable") == pushed
            assert client.list_tags(f"docker://{addr}/py/app") == {
                "Repository": f"{addr}/py/app", "Tags": ["1.0", "stable"]}
            assert client.catalog(addr) == ["py/app"]
            assert stevedore.manifest_digest(client.raw_manifest(image)) == pushed
            assert client.logout(addr) == str(auth_file)
            assert addr not in json.loads(auth_file.read_text()).get("auths", {})
            with pytest.raises(stevedore.NotFoundError):
                client.logout(addr)
        with stevedore.Client(plain_http=[addr], auth_file=str(auth_file)) as client:
            with pytest.raises(stevedore.UnauthorizedError):
                client.catalog(addr)


def test_manifest_digest_is_the_sha256_of_the_bytes():
    raw = b'{"schemaVersion": 2}'
    assert stevedore.manifest_digest(raw) == "sha256:" + hashlib.sha256(raw).hexdigest()
    with pytest.raises(stevedore.InvalidInputError):
        stevedore.manifest_digest(b"")


def test_verify_policy_accepts_and_refuses_as_the_policy_file_says(layout, tmp_path):
    with stevedore.Server() as server, stevedore.Client(plain_http=[server.address]) as client:
        accepted, refused = (f"docker://{server.address}/py/{name}:1" for name in ("ok", "no"))
        client.copy(f"{layout}:1.0", accepted)
        client.copy(f"{layout}:1.0", refused)
        policy = tmp_path / "policy.json"
        policy.write_text(json.dumps({
            "default": [{"type": "reject"}],
            "transports": {"docker": {f"{server.address}/py/ok": [{"type": "insecureAcceptAnything"}]}},
        }))
        assert client.verify_policy(accepted, policy)["accepted"]
        with pytest.raises(stevedore.PolicyError) as no:
            client.verify_policy(refused, policy)
        assert no.value.report["accepted"] is False and no.value.report["scope"] == "default"
        with pytest.raises(stevedore.NotFoundError):
            client.verify_policy(accepted, tmp_path / "missing.json")
        policy.write_text('{"default": []}')
        with pytest.raises(stevedore.InvalidInputError):
            client.verify_policy(accepted, policy)
