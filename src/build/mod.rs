//! Build and mutate: assemble images from a base, layers and a config
//! ([`build`], [`append`]), read them from any transport ([`read`]),
//! change them ([`mutate`], [`rebase`], [`flatten`], [`remove_layer`],
//! [`replace_layer`]) and group them ([`index_create`], [`index_add`],
//! [`index_remove`]), then write them to any transport ([`write`]) through
//! the copy engine ([`Staged`] serves them as a transport), so a base's
//! layers are skipped or mounted, never downloaded. Every verb makes its
//! whole result before writing: a failure writes nothing.

mod flatten;
mod index;
mod read;
mod spec;
mod staged;
mod verbs;

pub use flatten::flatten;
pub use index::{index_add, index_create, index_remove, IndexReport};
pub use read::read;
pub use spec::{rfc3339, BuildSpec, ConfigChanges, LayerSpec};
pub use staged::Staged;
pub use verbs::{
    append, build, layer_of, mutate, rebase, remove_layer, replace_layer, write, BuildReport,
    Mutation,
};
