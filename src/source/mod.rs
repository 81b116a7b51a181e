//! Where cluster objects come from: manifests (`-f`) or a live cluster.

pub mod files;
pub mod json;
pub mod live;
pub mod scan;
pub mod yaml;
