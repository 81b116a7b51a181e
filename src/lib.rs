//! kubectl-netpol: see, check and write Kubernetes NetworkPolicies.
//!
//! Data flows one way: a source (manifests) builds a [`snapshot::Snapshot`];
//! the pure [`engine`] answers questions about it; [`render`] turns answers
//! into text or JSON; [`cmd`] wires one subcommand together.

pub mod cli;
pub mod cmd;
pub mod cni;
pub mod engine;
pub mod error;
pub mod render;
pub mod snapshot;
pub mod source;
pub mod sync;
pub mod wizard;
