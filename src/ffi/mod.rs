//! The C ABI: every verb as an `extern "C"` function over C strings, options
//! and results as JSON, a status code per error kind, and the last error of
//! each thread. The header `include/stevedore.h` is generated from this module.
#![allow(unsafe_code)]

mod boundary;
mod build;
mod client;
mod fetch;
mod files;
mod image;
mod login;
mod memory;
mod progress;
mod refs;
mod sbom;
mod server;
mod sign;
mod static_registry;
mod verb;
mod version;

pub use boundary::{stevedore_last_error_json, stevedore_last_error_message, stevedore_status};
pub use build::{
    stevedore_append, stevedore_build, stevedore_index_add, stevedore_index_create,
    stevedore_index_remove, stevedore_mutate, stevedore_rebase,
};
pub use client::{stevedore_client, stevedore_client_free, stevedore_client_new};
pub use fetch::{stevedore_blob, stevedore_blob_to_file, stevedore_manifest};
pub use files::{stevedore_diff, stevedore_export, stevedore_files, stevedore_read_file};
pub use image::{
    stevedore_copy, stevedore_delete, stevedore_inspect, stevedore_inspect_raw, stevedore_sync,
    stevedore_tags,
};
pub use login::{stevedore_login, stevedore_logout};
pub use memory::{stevedore_bytes_free, stevedore_string_free};
pub use progress::stevedore_progress_fn;
pub use refs::{
    stevedore_catalog, stevedore_digest, stevedore_list_tags, stevedore_manifest_digest,
    stevedore_tag,
};
pub use sbom::stevedore_sbom;
pub use server::{
    stevedore_gc, stevedore_server, stevedore_server_address, stevedore_server_start,
    stevedore_server_stop,
};
pub use sign::{
    stevedore_attach, stevedore_generate_key_pair, stevedore_referrers, stevedore_sign,
    stevedore_verify,
};
pub use static_registry::stevedore_static;
pub use version::{stevedore_abi_version, stevedore_version, ABI_VERSION};
