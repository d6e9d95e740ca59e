//! An image's software bill of materials.

use std::ffi::c_char;

use super::boundary::{boundary, stevedore_status};
use super::client::stevedore_client;
use super::memory::{options, OutString};
use super::verb::{image, to_json};
use crate::sbom::SbomOptions;

/// Makes the SBOM of the image `image_ref` names (the host's platform from an
/// index unless `"platform"` says otherwise): its layers merged without
/// unpacking them, cataloged, rendered and, with `"attach": true`, pushed to the
/// image as an OCI 1.1 referrer (artifact type `application/spdx+json` or
/// `application/vnd.cyclonedx+json`). `options_json`: `{"format": "spdx-json" |
/// "cyclonedx-json" (default spdx-json), "platform": "os/arch[/variant]",
/// "attach": false, "limits": {"max_layer_bytes", "max_entries",
/// "max_link_depth"}}`, NULL for defaults. On success `*out_document` receives
/// the document (JSON text) and `*out_json` the report `{"name", "format",
/// "artifact_type", "os": {"id", "version_id", "name", "pretty_name",
/// "id_like", "evidence"} | null, "packages": N, "ecosystems": {"deb": N, …},
/// "warnings": [sentence…], "layers": […as stevedore_files…], "attached"?:
/// {"digest", "subject", "artifact_type", "blob"}}`; free each with
/// `stevedore_string_free`. Neither is written on failure.
///
/// # Safety
/// `client` is NULL or a live handle; `image_ref` and `options_json` are NULL
/// (`options_json` only) or NUL-terminated; `out_document` and `out_json` are
/// valid for a write.
#[no_mangle]
pub unsafe extern "C" fn stevedore_sbom(
    client: *const stevedore_client,
    image_ref: *const c_char,
    options_json: *const c_char,
    out_document: *mut *mut c_char,
    out_json: *mut *mut c_char,
) -> stevedore_status {
    boundary(|| {
        let document_out = OutString::new(out_document, "out_document")?;
        let report_out = OutString::new(out_json, "out_json")?;
        let image = image(client, image_ref, "image_ref")?;
        let opts: SbomOptions = options(options_json)?;
        let report = crate::sbom::sbom(&image, &opts)?;
        let json = to_json(&report)?;
        let document = String::from_utf8(report.document).map_err(|_| {
            crate::Error::invalid("the SBOM document is not UTF-8 and cannot be a C string")
        })?;
        document_out.set(document)?;
        report_out.set(json)
    })
}
