//! The errors a command can end in, worded like kubectl's.
//!
//! `main` prints them as `error: <message>` and exits with
//! [`Error::exit_code`]'s answer.

use crate::engine::InvalidPolicy;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Wrong arguments or flags the parser could not catch.
    #[error("{0}")]
    Usage(String),
    /// A path that cannot be read.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A manifest that cannot be understood.
    #[error("{file}: {message}")]
    Manifest { file: String, message: String },
    /// An object the user named does not exist in the input.
    #[error("{0}")]
    NotFound(String),
    /// An input object the API server would refuse (a ServiceGraph that
    /// does not decode or validate): exit 2, as a usage error, since
    /// nothing was looked at.
    #[error("{0}")]
    Invalid(String),
    /// Policies the API server would reject; they are never evaluated.
    #[error("{}", invalid_message(.0))]
    InvalidPolicies(Vec<InvalidPolicy>),
    /// The kubeconfig or connection flags do not lead to a cluster.
    #[error("{0}")]
    Config(String),
    /// The API server refused a call for lack of rights.
    #[error("{0}")]
    Forbidden(String),
    /// The API server answered with another error.
    #[error("{0}")]
    Api(String),
    /// The API server rejects a change (a dry run's 422 and the like):
    /// its message.
    #[error("{0}")]
    Rejected(String),
    /// The API server could not be reached.
    #[error("{0}")]
    Unreachable(String),
    /// `--request-timeout` ran out.
    #[error("the request timed out after {0:?} (--request-timeout)")]
    Timeout(std::time::Duration),
    /// A question this version cannot answer without risking a wrong
    /// answer (`diff` with cluster-scoped policy tiers).
    #[error("{0}")]
    Unsupported(String),
    /// Standard output could not be written (a closed pipe is not an
    /// error: `main` exits 0 quietly).
    #[error("writing output: {0}")]
    Output(std::io::Error),
}

impl Error {
    /// The exit code this error ends a command with: [`exit::USAGE`] for
    /// usage errors found after parsing (as clap's own), otherwise the
    /// command's error code (`command_error`: [`exit::ERROR`], or
    /// [`exit::CAN_ERROR`] for `can`).
    pub fn exit_code(&self, command_error: i32) -> i32 {
        match self {
            Error::Usage(_) | Error::Invalid(_) => exit::USAGE,
            _ => command_error,
        }
    }

    /// The same error once more, for a failure kept to be reported later
    /// (errors with an I/O source are not cloneable).
    pub fn again(&self) -> Error {
        match self {
            Error::Io { path, source } => Error::Io {
                path: path.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            Error::Usage(m) => Error::Usage(m.clone()),
            Error::Manifest { file, message } => Error::Manifest {
                file: file.clone(),
                message: message.clone(),
            },
            Error::NotFound(m) => Error::NotFound(m.clone()),
            Error::Invalid(m) => Error::Invalid(m.clone()),
            Error::InvalidPolicies(v) => Error::InvalidPolicies(v.clone()),
            Error::Config(m) => Error::Config(m.clone()),
            Error::Forbidden(m) => Error::Forbidden(m.clone()),
            Error::Api(m) => Error::Api(m.clone()),
            Error::Rejected(m) => Error::Rejected(m.clone()),
            Error::Unreachable(m) => Error::Unreachable(m.clone()),
            Error::Timeout(d) => Error::Timeout(*d),
            Error::Unsupported(m) => Error::Unsupported(m.clone()),
            Error::Output(e) => Error::Output(std::io::Error::new(e.kind(), e.to_string())),
        }
    }
}

fn invalid_message(list: &[InvalidPolicy]) -> String {
    let mut out = String::new();
    for (i, p) in list.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "NetworkPolicy {:?} is invalid ({} error{}); the API server would reject it:",
            p.key,
            p.errors.len(),
            if p.errors.len() == 1 { "" } else { "s" }
        ));
        for e in &p.errors {
            out.push_str(&format!("\n  * {e}"));
        }
    }
    out
}

/// Exit codes shared by all commands (see the README).
pub mod exit {
    pub const OK: i32 = 0;
    /// Any error, as kubectl.
    pub const ERROR: i32 = 1;
    /// `can`: the connection is denied.
    pub const DENIED: i32 = 1;
    /// `can`: an error (kubectl auth can-i style, 1 being "no").
    pub const CAN_ERROR: i32 = 2;
    /// Command-line usage errors, as clap reports them.
    pub const USAGE: i32 = 2;
    /// `check`: NetworkPolicy is not enforced.
    pub const NOT_ENFORCED: i32 = 3;
    /// `check`: whether it is enforced cannot be told.
    pub const UNKNOWN: i32 = 4;
    /// `lint`: findings at or above `--fail-on`.
    pub const FINDINGS: i32 = 5;
    /// `sync --dry-run`: changes are pending (the cluster does not match
    /// the graph; a run without --dry-run would make them).
    pub const PENDING: i32 = 3;
    /// `wizard` and `sync`: stopped by a No, Esc or Ctrl-C (as for SIGINT).
    pub const CANCELLED: i32 = 130;
    /// `diff`: connectivity changes (as kubectl diff).
    pub const CHANGES: i32 = 1;
    /// `diff`: an error, or pairs that could not be compared (as kubectl
    /// diff, whose errors are above 1).
    pub const DIFF_ERROR: i32 = 2;
}
