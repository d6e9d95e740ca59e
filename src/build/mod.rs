//! Build and mutate: assemble images from a base, layers and a config
//! ([`build`], [`append`]), change them ([`mutate`], [`rebase`],
//! [`remove_layer`], [`replace_layer`]) and group them ([`index`]), then
//! write them to any transport ([`write`]) through the copy engine, so a
//! base's layers are skipped or mounted, never downloaded. Every verb makes
//! its whole result before writing: a failure writes nothing.

mod index;
mod spec;
mod verbs;

pub use index::{index_add, index_create, index_remove, IndexReport};
pub use spec::{rfc3339, BuildSpec, ConfigChanges, LayerSpec};
pub use verbs::{
    append, build, layer_of, mutate, rebase, remove_layer, replace_layer, write, BuildReport,
    Mutation,
};
