//! Where cluster objects come from. Today: manifests (`-f`).

pub mod files;
