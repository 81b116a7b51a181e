//! kubectl-netpol: see, check and write Kubernetes NetworkPolicies.
//!
//! Data flows one way: a source (manifests) builds a [`snapshot::Snapshot`];
//! the pure [`engine`] answers questions about it; [`render`] turns answers
//! into text or JSON; [`cmd`] wires one subcommand together.

/// `eprintln!` that never panics: a closed or full stderr (`2>&1 | head`,
/// `2>/dev/full`) loses the line instead of aborting the command (or a
/// controller between two writes).
#[macro_export]
macro_rules! say_err {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

/// `eprint!` that never panics (see [`say_err!`]).
#[macro_export]
macro_rules! say_err_part {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($t)*);
    }};
}

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
