//! Where images live: one [`Transport`] trait, streaming both ways, and
//! [`parse`] for skopeo-style strings (`oci:PATH:TAG`; containers-transports(5)).

mod dir;
mod docker;
mod docker_archive;
mod layout_files;
mod memory;
mod oci_archive;
mod oci_layout;
pub mod static_tree;
mod tar_index;

use std::fmt;
use std::io::Read;
use std::sync::Arc;

pub use dir::Dir;
pub use docker::DockerRegistry;
pub use docker_archive::DockerArchive;
pub use memory::Memory;
pub use oci_archive::OciArchive;
pub use oci_layout::OciLayout;
pub use static_tree::StaticTree;

use crate::descriptor::Descriptor;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::registry::{Client, ClientOptions};

/// Which manifest of a transport an operation is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Selector {
    /// The manifest a tag points to.
    Tag(String),
    /// The manifest with this digest.
    Digest(Digest),
    /// The manifest at this position of an archive or layout (`@N` in
    /// containers-transports(5)), counting from 0.
    Index(usize),
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Tag(t) => write!(f, "tag {t:?}"),
            Selector::Digest(d) => write!(f, "digest {d}"),
            Selector::Index(n) => write!(f, "image @{n}"),
        }
    }
}

/// A place that holds images: a registry repository, a layout directory, an
/// archive. Blobs stream in and out through readers, never whole in memory;
/// blobs read are verified against their descriptor as they stream.
///
/// Writes become visible as they are made; [`finalize`](Transport::finalize)
/// completes a destination after a successful copy and
/// [`abort`](Transport::abort) cleans up after a failed one.
pub trait Transport: Send + Sync {
    /// The transport string without a tag or digest, such as `oci:/images/app`.
    fn name(&self) -> String;

    /// The manifest to use when the user named none (for a layout holding one
    /// image, that image).
    fn default_selector(&self) -> Result<Selector>;

    /// The tag an image written without one is stored under, where the
    /// transport assumes one as skopeo does: `latest` for `docker://`
    /// (containers-transports(5)); `None` (the default) where an image
    /// may be stored untagged (`oci:`, `oci-archive:`, `dir:`).
    fn assumed_tag(&self) -> Option<String> {
        None
    }

    /// The manifest named by `selector`, raw bytes and all, verified against
    /// its digest.
    fn get_manifest(&self, selector: &Selector) -> Result<Manifest>;

    /// Stores a manifest that an index refers to (no tag).
    fn put_child_manifest(&self, manifest: &Manifest) -> Result<()>;

    /// Stores a top-level manifest, under `tag` when given; a tag that pointed
    /// elsewhere is moved.
    fn put_manifest(&self, manifest: &Manifest, tag: Option<&str>) -> Result<()>;

    /// The size of the blob `digest` if the transport has it (`has_blob`).
    fn blob_size(&self, digest: &Digest) -> Result<Option<u64>>;

    /// A reader of the blob `descriptor`, which fails instead of ending when the
    /// content does not match the descriptor's digest or size.
    fn get_blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>>;

    /// Stores the blob `descriptor` read from `content`, verifying it as it
    /// streams; nothing is stored when it does not verify.
    fn put_blob(&self, descriptor: &Descriptor, content: &mut dyn Read) -> Result<()>;

    /// Stores the blob like [`put_blob`](Transport::put_blob), from content
    /// that verifies itself — it fails, before ending, when it does not match
    /// the descriptor, as every [`get_blob`](Transport::get_blob) reader does —
    /// so that it is not hashed a second time.
    fn put_verified_blob(&self, descriptor: &Descriptor, content: &mut dyn Read) -> Result<()> {
        self.put_blob(descriptor, content)
    }

    /// Links the blob `descriptor` from `source` without sending its bytes,
    /// where both are repositories of one registry (a cross-repository
    /// mount). Returns whether it did; by default it cannot.
    fn mount_blob(&self, descriptor: &Descriptor, source: &dyn Transport) -> Result<bool> {
        let _ = (descriptor, source);
        Ok(false)
    }

    /// The registry host and repository name, for a registry (keys of the
    /// blob-location cache); `None`, the default, for anything else.
    fn registry_repository(&self) -> Option<(String, String)> {
        None
    }

    /// Links the blob `descriptor` from repository `from` of this
    /// transport's own registry; whether it did. By default it cannot.
    fn mount_from(&self, descriptor: &Descriptor, from: &str) -> Result<bool> {
        let _ = (descriptor, from);
        Ok(false)
    }

    /// What names the store this transport's blobs land in (a registry's
    /// host, a layout's directory): one blob is never sent twice at once
    /// into one store. Defaults to [`name`](Self::name).
    fn blob_store_key(&self) -> String {
        self.name()
    }

    /// The transport a blob of this one really lives in, when it is another
    /// (an image assembled in memory over a registry's layers), so that a
    /// destination can mount the blob from there. Defaults to none.
    fn blob_origin(&self, digest: &Digest) -> Option<&dyn Transport> {
        let _ = digest;
        None
    }

    /// The transport as `Any`, so that one transport can recognise another of
    /// its kind.
    fn as_any(&self) -> &dyn std::any::Any;

    /// The tags, in the transport's order.
    fn list_tags(&self) -> Result<Vec<String>>;

    /// Removes the manifest `selector` names (for a tag: the tag).
    fn delete(&self, selector: &Selector) -> Result<()>;

    /// Completes a destination after everything was written.
    fn finalize(&self) -> Result<()>;

    /// Cleans up after a failed write: whatever this handle created and nothing
    /// else references is removed.
    fn abort(&self);

    /// The manifests whose subject is `subject` (OCI 1.1 referrers), with
    /// their artifact types and annotations, of `artifact_type` only when
    /// given.
    fn referrers(&self, subject: &Digest, artifact_type: Option<&str>) -> Result<Vec<Descriptor>> {
        let _ = (subject, artifact_type);
        Err(Error::unsupported(format!(
            "{} does not keep referrers",
            self.name()
        )))
    }

    /// Stores `manifest`, which has a subject, so that
    /// [`referrers`](Transport::referrers) of the subject lists it.
    fn put_referrer(&self, manifest: &Manifest) -> Result<()> {
        let _ = manifest;
        Err(Error::unsupported(format!(
            "{} does not keep referrers",
            self.name()
        )))
    }

    /// The largest config (or other small blob read whole) this transport
    /// reads, in bytes. Defaults to [`crate::config::CONFIG_SIZE_MAX`]; a
    /// registry's comes from its client's `max_config_bytes`.
    fn max_config_bytes(&self) -> u64 {
        crate::config::CONFIG_SIZE_MAX
    }

    /// Whether the transport holds only OCI manifests, so that Docker ones
    /// are converted on the way in.
    fn oci_only(&self) -> bool {
        false
    }

    /// How the destination's copy of `root` will differ from it, when the
    /// transport cannot hold it as it is; `None` when it keeps it exactly.
    fn conversion(&self, root: &Manifest) -> Option<String> {
        let _ = root;
        None
    }
}

/// A transport plus, optionally, which of its manifests: what a string such as
/// `oci:/images/app:1.0` names.
#[derive(Clone)]
pub struct ImageRef {
    transport: Arc<dyn Transport>,
    selector: Option<Selector>,
}

impl ImageRef {
    /// An image reference from its parts.
    pub fn new(transport: Arc<dyn Transport>, selector: Option<Selector>) -> ImageRef {
        ImageRef {
            transport,
            selector,
        }
    }

    /// The transport.
    pub fn transport(&self) -> &dyn Transport {
        self.transport.as_ref()
    }

    /// The transport, shared.
    pub fn shared_transport(&self) -> Arc<dyn Transport> {
        Arc::clone(&self.transport)
    }

    /// The selector the string named, if any.
    pub fn selector(&self) -> Option<&Selector> {
        self.selector.as_ref()
    }

    /// The same transport with another selector.
    pub fn with_selector(&self, selector: Option<Selector>) -> ImageRef {
        ImageRef::new(Arc::clone(&self.transport), selector)
    }

    /// The selector to read: the one named, or the transport's default.
    pub fn resolve(&self) -> Result<Selector> {
        match &self.selector {
            Some(s) => Ok(s.clone()),
            None => self.transport.default_selector(),
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.transport.name())?;
        match &self.selector {
            Some(Selector::Tag(t)) => write!(f, ":{t}"),
            Some(Selector::Digest(d)) => write!(f, "@{d}"),
            Some(Selector::Index(n)) => write!(f, ":@{n}"),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ImageRef({self})")
    }
}

/// Splits the part of a transport string after its prefix into the path and
/// what follows the path's first `:`; an empty path is refused with `usage`
/// (such as "oci: needs a directory, as in …").
fn split_location<'a>(rest: &'a str, usage: &str) -> Result<(&'a str, Option<&'a str>)> {
    let (path, spec) = match rest.split_once(':') {
        Some((path, spec)) => (path, Some(spec)),
        None => (rest, None),
    };
    if path.is_empty() {
        return Err(Error::invalid(usage));
    }
    Ok((path, spec))
}

/// The transports `parse` knows, as their prefixes.
const KNOWN: &str = "docker://, oci:, oci-archive:, dir:, docker-archive:, static:";

/// Parses a transport string in the syntax of containers-transports(5), such
/// as `oci:/images/app:1.0` or `docker://registry.example/app:1.0`, with a
/// registry client of default options.
pub fn parse(s: &str) -> Result<ImageRef> {
    parse_with(s, &Client::new(ClientOptions::default())?)
}

/// Parses like [`parse`]; registry transports use `client` (its credentials,
/// TLS settings and token cache).
pub fn parse_with(s: &str, client: &Client) -> Result<ImageRef> {
    let (prefix, rest) = s.split_once(':').ok_or_else(|| {
        Error::invalid(format!(
            "{:?} names no transport: write it as TRANSPORT:LOCATION, such as oci:/images/app:1.0 \
             (transports: {KNOWN})",
            crate::reference::redacted(s)
        ))
    })?;
    match prefix {
        "oci" => oci_layout::parse(rest),
        "oci-archive" => oci_archive::parse(rest),
        "dir" => dir::parse(rest),
        "docker-archive" => docker_archive::parse(rest),
        "docker" => docker::parse(rest, client),
        "static" => static_tree::parse(rest),
        "docker-daemon" | "containers-storage" | "sif" | "ostree" => {
            Err(Error::unsupported(format!(
                "the {prefix}: transport needs a container engine's storage or daemon, which                  stevedore does not use (transports: {KNOWN})"
            )))
        }
        _ => Err(Error::invalid(format!(
            "unknown transport {prefix:?} in {:?} (transports: {KNOWN})",
            crate::reference::redacted(s)
        ))),
    }
}
