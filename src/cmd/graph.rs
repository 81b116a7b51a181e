//! `graph`: the ServiceGraph today's policies imply (`engine::graph::
//! adopt`), from `-f` manifests or the cluster's scope (`-n`, `-A`), as
//! YAML (or JSON) on stdout; what the graph cannot say, one `warning:`
//! line each on stderr. The graph is checked as `generate` would read it
//! before it is printed.

use serde::Serialize;

use super::{Context, Need, Outcome, Plan};
use crate::cli::{GraphArgs, OutputFormat};
use crate::engine::graph::{self, adopt::adopt};
use crate::error::Error;
use crate::render::{to_json, to_yaml};

/// The graph with its kind, fields in the kind's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Object<'a> {
    api_version: &'static str,
    kind: &'static str,
    #[serde(flatten)]
    graph: &'a graph::ServiceGraph,
}

pub fn run(ctx: &Context, args: &GraphArgs) -> Result<Outcome, Error> {
    if let Some(e) = crate::engine::validate::dns1123_label(&args.name).first() {
        return Err(Error::Usage(format!("invalid --name {:?}: {e}", args.name)));
    }
    let snapshot = ctx.snapshot(Plan::Scope {
        namespaces: Need::IfReadable,
        services: false,
        workloads: false,
    })?;
    let (found, said) = adopt(&snapshot, &args.name);
    let Some(g) = found.filter(|g| !g.spec.services.is_empty()) else {
        return Err(Error::NotFound(
            "no NetworkPolicy in scope selects pods a service could be made of (only default denies, or none at all): a graph needs at least one service".into(),
        ));
    };
    let object = Object {
        api_version: graph::API_VERSION,
        kind: graph::KIND,
        graph: &g,
    };
    let value = serde_json::to_value(&object).unwrap_or_default();
    // What is printed must be a graph generate and sync take.
    if let Err(e) = graph::parse(&value) {
        return Err(Error::Invalid(format!(
            "the graph made from the policies is invalid (a bug: please report it): {e}"
        )));
    }
    let stdout = match ctx.format() {
        OutputFormat::Json => to_json(&object),
        _ => to_yaml(&object),
    };
    Ok(Outcome {
        stdout,
        warnings: said.into_iter().map(|w| format!("warning: {w}")).collect(),
        code: 0,
    })
}
