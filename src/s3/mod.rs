//! S3-compatible object storage: where a bucket is and how to reach it
//! ([`S3Config`], from the standard AWS settings), a blocking client of the
//! few S3 calls Stevedore needs ([`Bucket`], requests signed with SigV4 by
//! `rusty-s3`, sent with `ureq`, retried with backoff when the service asks),
//! and a content-addressed [`Store`](crate::store::Store) of blobs in it
//! ([`S3Store`]).

mod bucket;
mod config;
mod store;

pub use bucket::{Bucket, ObjectInfo};
pub use config::S3Config;
pub use store::S3Store;
