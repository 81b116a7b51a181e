//! `kubectl netpol version`: version, git commit and build target.

use serde::Serialize;

use crate::cli::OutputFormat;
use crate::cmd::{Context, Outcome};
use crate::error::Error;
use crate::render::{to_json, to_yaml};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    pub version: String,
    pub git_commit: &'static str,
    pub target: &'static str,
}

pub fn current() -> Version {
    Version {
        version: format!("v{}", env!("CARGO_PKG_VERSION")),
        git_commit: env!("NETPOL_GIT_COMMIT"),
        target: env!("NETPOL_TARGET"),
    }
}

pub fn run(ctx: &Context) -> Result<Outcome, Error> {
    let v = current();
    Ok(Outcome::ok(match ctx.format() {
        OutputFormat::Json => to_json(&v),
        OutputFormat::Yaml => to_yaml(&v),
        _ => format!(
            "kubectl-netpol {}\ngit commit: {}\ntarget:     {}\n",
            v.version, v.git_commit, v.target
        ),
    }))
}
