//! `flatten`: an image's layers squashed into one, made from the merged
//! view of its root filesystem.

use serde_json::{Map, Value};

use super::read::read;
use super::spec::rfc3339;
use super::verbs::{fit, write, BuildReport};
use crate::error::Result;
use crate::files::{write_tar, FilesOptions, ImageFs};
use crate::image::layer::{self, source_date_epoch, source_date_epoch_if_set, Compression};
use crate::image::Image;
use crate::manifest::ManifestContent;
use crate::platform::Platform;
use crate::transport::{ImageRef, Selector};

/// Writes to `dst` the image `src` names with all its layers replaced by
/// one: the merged view of its root filesystem (whiteouts applied, entries
/// in path order, owners, modes and mtimes kept — mtimes clamped to
/// `SOURCE_DATE_EPOCH` when it is set — as [`export`](crate::export())
/// writes it), gzip-compressed with a fixed header, so the same image
/// flattens to the same digest anywhere. The config's `rootfs.diff_ids`
/// then lists that one layer and `history` holds one entry; the rest of
/// the config and the manifest's annotations stay.
///
/// For an index, every image is flattened, or only `platform`'s when
/// given (the other entries keep their digests); the index keeps its
/// annotations. For an image, `platform` is not used.
///
/// Errors: [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a
/// platform the index lacks; the errors of reading the layers (see
/// [`files`](crate::files())); nothing is written at `dst` on failure.
pub fn flatten(src: &ImageRef, platform: Option<&Platform>, dst: &ImageRef) -> Result<BuildReport> {
    let top = src.transport().get_manifest(&src.resolve()?)?;
    match top.content() {
        ManifestContent::Index(index) => {
            super::index::rewrite_index(src, &top, index, platform, dst, flatten_image)
        }
        ManifestContent::Image(_) => {
            let own = src.with_selector(Some(Selector::Digest(top.digest().clone())));
            let mut image = read(&own, None)?;
            flatten_image(&own, &mut image)?;
            write(&image, dst)
        }
    }
}

/// Replaces the layers of `image` (the one `own` names exactly) by one
/// layer of its merged view.
fn flatten_image(own: &ImageRef, image: &mut Image) -> Result<()> {
    let fs = ImageFs::open_spooled(own, &FilesOptions::default())?;
    let clamp = source_date_epoch_if_set()?;
    let flat = layer::from_tar_writer(Compression::default(), |out| {
        write_tar(&fs, out, clamp).map(|_| ())
    })?;
    let flat = fit(image, flat)?;
    let created = match &image.config().created {
        Some(c) => c.clone(),
        None => rfc3339(source_date_epoch()?),
    };
    let mut history = Map::new();
    history.insert("created".to_owned(), Value::String(created));
    history.insert(
        "created_by".to_owned(),
        Value::String("stevedore flatten".to_owned()),
    );
    history.insert(
        "comment".to_owned(),
        Value::String(format!(
            "{} layers flattened into one",
            image.layers().len()
        )),
    );
    image.set_single_layer(flat, Value::Object(history));
    Ok(())
}
