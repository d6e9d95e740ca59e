//! The media types of OCI and Docker manifests, configs and layers.

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI layer, uncompressed tar.
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
/// OCI layer, gzip-compressed tar.
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// OCI layer, zstd-compressed tar.
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// OCI non-distributable layer, uncompressed tar (deprecated by OCI 1.1,
/// still shipped): its blob may live only at the descriptor's `urls`.
pub const OCI_LAYER_NONDISTRIBUTABLE: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
/// OCI non-distributable layer, gzip-compressed tar.
pub const OCI_LAYER_NONDISTRIBUTABLE_GZIP: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
/// OCI non-distributable layer, zstd-compressed tar.
pub const OCI_LAYER_NONDISTRIBUTABLE_ZSTD: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
/// The OCI empty descriptor's media type (`{}`), used by artifacts.
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list (multi-platform), schema 2.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker layer, uncompressed tar.
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
/// Docker layer, gzip-compressed tar.
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Docker foreign (non-distributable) layer.
pub const DOCKER_FOREIGN_LAYER: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/// Docker schema 1 manifest (deprecated; recognised only to be refused).
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
/// Docker schema 1 signed manifest (deprecated; recognised only to be refused).
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// Every manifest and index type Stevedore reads, in order of preference; the
/// `Accept` list of a manifest request.
pub const MANIFEST_TYPES: [&str; 4] = [
    OCI_INDEX,
    OCI_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST,
];

/// Whether `media_type` is an index (OCI index or Docker manifest list).
pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

/// Whether `media_type` is a single-image manifest (OCI or Docker schema 2).
pub fn is_image_manifest(media_type: &str) -> bool {
    media_type == OCI_MANIFEST || media_type == DOCKER_MANIFEST
}

/// Whether `media_type` is a Docker schema 1 manifest.
pub fn is_schema1(media_type: &str) -> bool {
    media_type == DOCKER_SCHEMA1 || media_type == DOCKER_SCHEMA1_SIGNED
}

/// Whether `media_type` is a foreign (non-distributable) layer: Docker's
/// `foreign.diff.tar.gzip` or OCI's `nondistributable` layers, whose blob
/// registries and archives need not hold (it may live only at `urls`).
pub fn is_foreign_layer(media_type: &str) -> bool {
    matches!(
        media_type,
        DOCKER_FOREIGN_LAYER
            | OCI_LAYER_NONDISTRIBUTABLE
            | OCI_LAYER_NONDISTRIBUTABLE_GZIP
            | OCI_LAYER_NONDISTRIBUTABLE_ZSTD
    )
}

/// How a layer's bytes are compressed, as their first bytes tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// No compression: a plain tar.
    None,
    /// gzip (RFC 1952), magic `1f 8b`.
    Gzip,
    /// zstd (RFC 8878), magic `28 b5 2f fd`.
    Zstd,
    /// bzip2, magic `BZh`: no image media type names it.
    Bzip2,
    /// xz, magic `fd 37 7a 58 5a 00`: no image media type names it.
    Xz,
}

impl Compression {
    /// How many leading bytes [`Compression::sniff`] needs to tell.
    pub const MAGIC_LEN: usize = 6;

    /// The compression of bytes starting with `start` (at least
    /// [`MAGIC_LEN`](Compression::MAGIC_LEN) of them, or all there are).
    pub fn sniff(start: &[u8]) -> Compression {
        const MAGIC: [(&[u8], Compression); 4] = [
            (&[0x1f, 0x8b], Compression::Gzip),
            (&[0x28, 0xb5, 0x2f, 0xfd], Compression::Zstd),
            (b"BZh", Compression::Bzip2),
            (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], Compression::Xz),
        ];
        MAGIC
            .iter()
            .find(|(magic, _)| start.starts_with(magic))
            .map_or(Compression::None, |(_, c)| *c)
    }
}

/// The layer media type that describes a tar compressed with `compression`,
/// in Docker's vocabulary (`docker`) or OCI's: the one place a manifest we
/// build for content that came without one names its layers.
///
/// # Errors
/// [`ErrorKind::Unsupported`](crate::error::ErrorKind) for bzip2 and xz (no
/// media type names them) and for zstd in Docker's vocabulary.
pub fn layer_type(compression: Compression, docker: bool) -> crate::error::Result<&'static str> {
    match (compression, docker) {
        (Compression::None, true) => Ok(DOCKER_LAYER),
        (Compression::Gzip, true) => Ok(DOCKER_LAYER_GZIP),
        (Compression::None, false) => Ok(OCI_LAYER),
        (Compression::Gzip, false) => Ok(OCI_LAYER_GZIP),
        (Compression::Zstd, false) => Ok(OCI_LAYER_ZSTD),
        (other, _) => Err(crate::error::Error::unsupported(format!(
            "a {other:?}-compressed layer has no {} media type",
            if docker { "Docker" } else { "OCI" }
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_types_describe_the_bytes() {
        for (start, docker, oci) in [
            (&b"etc/\0\0\0"[..], Some(DOCKER_LAYER), Some(OCI_LAYER)),
            (
                &[0x1f, 0x8b, 8, 0, 0, 0][..],
                Some(DOCKER_LAYER_GZIP),
                Some(OCI_LAYER_GZIP),
            ),
            (
                &[0x28, 0xb5, 0x2f, 0xfd, 0, 0][..],
                None,
                Some(OCI_LAYER_ZSTD),
            ),
            (&b"BZh91AY"[..], None, None),
            (&[0xfd, b'7', b'z', b'X', b'Z', 0][..], None, None),
            (&[][..], Some(DOCKER_LAYER), Some(OCI_LAYER)),
        ] {
            let c = Compression::sniff(start);
            assert_eq!(layer_type(c, true).ok(), docker, "{c:?}");
            assert_eq!(layer_type(c, false).ok(), oci, "{c:?}");
        }
    }

    #[test]
    fn foreign_layers_are_told_apart() {
        assert!(is_foreign_layer(DOCKER_FOREIGN_LAYER));
        assert!(is_foreign_layer(OCI_LAYER_NONDISTRIBUTABLE_GZIP));
        assert!(!is_foreign_layer(OCI_LAYER_GZIP));
    }
}
