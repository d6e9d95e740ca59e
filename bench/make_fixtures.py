#!/usr/bin/env python3
"""Writes the benchmark's images as OCI layouts under DIR: `big` (4 layers of
256 MiB of incompressible data), `many` (200 layers of ~50 KiB) and `multi`
(an index of 3 platforms). Usage: make_fixtures.py DIR [BIG_MIB]"""

import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


class Layout:
    def __init__(self, root):
        self.root = root
        os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
        with open(os.path.join(root, "oci-layout"), "w") as f:
            f.write('{"imageLayoutVersion":"1.0.0"}')
        self.entries = []

    def blob(self, data, media_type):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.root, "blobs", "sha256", digest), "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}

    def layer(self, name, payload):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tar:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        tar_bytes = raw.getvalue()
        diff_id = "sha256:" + hashlib.sha256(tar_bytes).hexdigest()
        compressed = gzip.compress(tar_bytes, compresslevel=1, mtime=0)
        return self.blob(compressed, "application/vnd.oci.image.layer.v1.tar+gzip"), diff_id

    def image(self, layers, arch="amd64"):
        descriptors, diff_ids = zip(*layers)
        config = {"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
                  "config": {"Cmd": ["/bin/sh"]}}
        config_desc = self.blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config_desc, "layers": list(descriptors)}
        return self.blob(json.dumps(manifest).encode(), OCI_MANIFEST)

    def tag(self, descriptor, tag):
        entry = dict(descriptor, annotations={"org.opencontainers.image.ref.name": tag})
        self.entries.append(entry)
        with open(os.path.join(self.root, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.entries}, f)


def main():
    out = sys.argv[1]
    big_mib = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    big = Layout(os.path.join(out, "big"))
    big.tag(big.image([big.layer(f"data{i}.bin", os.urandom(big_mib << 20)) for i in range(4)]), "1")
    many = Layout(os.path.join(out, "many"))
    many.tag(many.image([many.layer(f"file{i}.bin", os.urandom(50 << 10)) for i in range(200)]), "1")
    multi = Layout(os.path.join(out, "multi"))
    entries = []
    for arch in ("amd64", "arm64", "s390x"):
        descriptor = multi.image([multi.layer(f"{arch}{i}.bin", os.urandom(4 << 20)) for i in range(3)], arch)
        entries.append(dict(descriptor, platform={"os": "linux", "architecture": arch}))
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    multi.tag(multi.blob(json.dumps(index).encode(), OCI_INDEX), "1")


if __name__ == "__main__":
    main()
