#!/usr/bin/env python3
"""Writes the small seed corpus of every fuzz target under seeds/TARGET/.
Cosign key seeds are made with openssl and `stevedore generate-key-pair`
(give its path as the first argument); the rest from literals here."""
import hashlib, io, json, os, struct, subprocess, sys, tarfile, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "seeds", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


HEX = "a" * 64
put("reference", "hub", "alpine")
put("reference", "full", f"localhost:5000/team/app:1.0@sha256:{HEX}")
put("reference", "upper", "docker.io/Library/Alpine:latest")
put("digest", "sha256", f"sha256:{HEX}")
put("digest", "sha512", "sha512:" + "b" * 128)
put("digest", "bad", "sha256:XYZ")
for i, t in enumerate(["oci:/images/app:1.0", "docker://registry.example/app:1",
                       "docker-archive:/tmp/a.tar:app:1", "dir:/tmp/x", "oci-archive:/x.tar:@0",
                       "static:/srv/static", "oci:/x:@3"]):
    put("transport", str(i), t)

layer = b"layer bytes\n"
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": [sha(layer)]},
                     "config": {"Env": ["PATH=/bin"]}}).encode()
manifest = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config), "size": len(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(layer), "size": len(layer)}],
    "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": f"sha256:{HEX}", "size": 1},
}).encode()
index = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(manifest),
                   "size": len(manifest), "platform": {"architecture": "amd64", "os": "linux"},
                   "annotations": {"org.opencontainers.image.ref.name": "1"}}],
}).encode()
docker = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": sha(config), "size": len(config)},
    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": sha(layer), "size": len(layer)}],
}).encode()
put("manifest", "oci", b"\x00" + manifest)
put("manifest", "index", b"\x04" + index)
put("manifest", "docker", b"\x02" + docker)
put("manifest", "config", b"\x04" + config)

put("www_authenticate", "bearer", 'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:team/app:pull,push"')
put("www_authenticate", "two", 'Basic realm="x", Bearer realm="https://a/t",error="insufficient_scope"')
put("ranges", "range", struct.pack("<Q", 1000) + b"bytes=0-99")
put("ranges", "open", struct.pack("<Q", 10) + b"bytes=5-")
put("ranges", "chunk", struct.pack("<Q", 0) + b"0-4095")

put("auth_file", "auths", json.dumps({"auths": {"registry.example": {"auth": "dXNlcjpwYXNz"},
                                                 "https://index.docker.io/v1/": {"identitytoken": "t"}}}))
put("auth_file", "helpers", json.dumps({"credHelpers": {"registry.example": "none"}, "credsStore": "none"}))

put("signing_payload", "cosign", json.dumps({
    "critical": {"identity": {"docker-reference": "registry.example/app"},
                 "image": {"docker-manifest-digest": f"sha256:{HEX}"},
                 "type": "cosign container image signature"},
    "optional": {"creator": "stevedore"}}))


def tar_of(files):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            t.addfile(info, io.BytesIO(data))
    return out.getvalue()


layer_tar = tar_of([("hello.txt", b"hi\n")])
dconfig = json.dumps({"architecture": "amd64", "os": "linux",
                      "rootfs": {"type": "layers", "diff_ids": [sha(layer_tar)]}}).encode()
chex = hashlib.sha256(dconfig).hexdigest()
lhex = hashlib.sha256(layer_tar).hexdigest()
put("docker_archive", "save", tar_of([
    ("manifest.json", json.dumps([{"Config": f"{chex}.json", "RepoTags": ["app:1"],
                                   "Layers": [f"{lhex}/layer.tar"]}]).encode()),
    (f"{chex}.json", dconfig), (f"{lhex}/layer.tar", layer_tar)]))

omanifest = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(dconfig), "size": len(dconfig)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(layer_tar), "size": len(layer_tar)}],
}).encode()
oindex = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                     "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                    "digest": sha(omanifest), "size": len(omanifest),
                                    "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}).encode()
put("oci_layout", "layout", tar_of([
    ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", oindex),
    (f"blobs/sha256/{hashlib.sha256(omanifest).hexdigest()}", omanifest),
    (f"blobs/sha256/{chex}", dconfig), (f"blobs/sha256/{lhex}", layer_tar)]))


def req(method, path, headers=(), body=b""):
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers)
    return head.encode() + b"\r\n" + body


put("server_request", "base", req("GET", "/v2/"))
put("server_request", "push-pull",
    req("POST", f"/v2/a/b/blobs/uploads/?digest={sha(layer)}", body=layer)
    + req("POST", f"/v2/a/b/blobs/uploads/?digest={sha(config)}", body=config)
    + req("PUT", "/v2/a/b/manifests/1", [("Content-Type", "application/vnd.oci.image.manifest.v1+json")], manifest.replace(b',"subject"', b',"x"'))
    + req("GET", "/v2/a/b/manifests/1") + req("GET", "/v2/a/b/tags/list?n=1")
    + req("GET", f"/v2/a/b/blobs/{sha(layer)}", [("Range", "bytes=2-5")]))
put("server_request", "chunked",
    req("POST", "/v2/a/blobs/uploads/")
    + b"PATCH /v2/a/blobs/uploads/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Range: 0-3\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"
    + req("GET", "/v2/_catalog?n=2&last=a") + req("DELETE", "/v2/a/manifests/1"))

if len(sys.argv) > 1:
    with tempfile.TemporaryDirectory() as d:
        key = os.path.join(d, "ec.pem")
        subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key + ".sec1"], check=True)
        subprocess.run(["openssl", "pkcs8", "-topk8", "-nocrypt", "-in", key + ".sec1", "-out", key], check=True)
        subprocess.run(["openssl", "ec", "-in", key, "-pubout", "-out", key + ".pub"], check=True, capture_output=True)
        put("cosign_key", "pkcs8", open(key, "rb").read())
        put("cosign_key", "public", open(key + ".pub", "rb").read())
        env = dict(os.environ, COSIGN_PASSWORD="fuzz")
        subprocess.run([sys.argv[1], "generate-key-pair", "--output-key-prefix", os.path.join(d, "cosign")],
                       check=True, env=env, cwd=d, capture_output=True)
        put("cosign_key", "encrypted", open(os.path.join(d, "cosign.key"), "rb").read())
