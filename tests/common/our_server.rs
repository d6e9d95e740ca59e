//! Our registry server for the tests of `tests/server_*.rs`: started on
//! a directory or on a fresh bucket of an S3 service, the
//! [`on_every_store!`](crate::on_every_store) table of backends, and our
//! client pointed at it.

use std::path::Path;

use stevedore::registry::{Client, ClientOptions, Repository};
use stevedore::server::{Server, ServerOptions};

use super::s3;

/// A server keeping its store in the directory `root`.
pub fn serve(root: &Path) -> Server {
    Server::start(ServerOptions {
        root: Some(root.to_owned()),
        ..Default::default()
    })
    .unwrap()
}

/// Where the server of a test in the table keeps its store.
#[derive(Clone, Copy)]
pub enum Backend {
    Fs,
    S3(s3::Kind),
}

impl Backend {
    /// A server on this backend (a directory under `root`, or a fresh
    /// bucket in an S3 service started for the test, returned beside it).
    pub fn serve(self, root: &Path) -> (Option<s3::S3Service>, Server) {
        match self {
            Backend::Fs => (None, serve(root)),
            Backend::S3(kind) => {
                let service = s3::S3Service::start(kind);
                let server = Server::start(ServerOptions {
                    s3: Some(service.bucket()),
                    ..Default::default()
                })
                .unwrap();
                (Some(service), server)
            }
        }
    }
}

/// Runs the table test `$name(Backend)` on the file system and on both S3
/// services: `$name::fs`, `$name::moto`, `$name::s3s_fs`.
#[macro_export]
macro_rules! on_every_store {
    ($($name:ident),*) => {$(
        mod $name {
            use $crate::common::our_server::Backend;
            use $crate::common::s3;
            #[test]
            fn fs() {
                super::$name(Backend::Fs)
            }
            #[test]
            fn moto() {
                super::$name(Backend::S3(s3::Kind::Moto))
            }
            #[test]
            fn s3s_fs() {
                super::$name(Backend::S3(s3::Kind::S3sFs))
            }
        }
    )*};
}

/// Our client for `server` (plain HTTP), pushing blobs in chunks of
/// `chunk_size` bytes.
pub fn client_for(server: &Server, chunk_size: u64) -> Client {
    Client::new(ClientOptions {
        plain_http: vec![server.host()],
        chunk_size,
        ..Default::default()
    })
    .unwrap()
}

/// The repository `name` on `server`.
pub fn repo(server: &Server, name: &str) -> Repository {
    Repository {
        registry: server.host(),
        name: name.into(),
    }
}
