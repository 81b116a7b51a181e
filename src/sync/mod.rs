//! `sync`: make a cluster's NetworkPolicies those a ServiceGraph implies,
//! as a library the `sync` command (and a controller's reconciler) calls.
//! No terminal I/O here: results are values the caller renders.
//!
//! Four steps:
//! 1. [`observe`] (async): read what the graph needs and no more
//!    ([`Observed`]): the policies and pods of the namespaces it touches,
//!    its own policies wherever they are, what resolution needs.
//! 2. [`plan()`] (pure): resolve the graph, generate its policies
//!    ([`desired_policies`], shared with `generate`), and compare them with
//!    the cluster's ([`plan::plan`]): creates, updates, deletes (prune:
//!    only policies labelled as this graph's), unchanged, collisions, and
//!    drift (hand edits, told from `managedFields` and the digest sync
//!    records in [`APPLIED_ANNOTATION`]).
//! 3. [`applied`] (pure): the snapshot with the plan carried out, for the
//!    connectivity the plan changes (`engine::diff` of the two).
//! 4. [`apply()`] (async): server-side apply (field manager
//!    `kubectl-netpol`) and deletes, every request dry-run first, and a
//!    [`Report`] of what was written.
//!
//! [`watch`] runs the same steps as a controller (`sync --watch`).

pub mod apply;
pub mod health;
pub mod observe;
pub mod plan;
pub mod watch;

use crate::engine::graph::resolve::{Environment, resolve};
use crate::engine::graph::{self, DesiredPolicy, ServiceGraph};
use crate::error::Error;
use crate::snapshot::Snapshot;

pub use apply::{ApplyOptions, Outcome, Report, apply, apply_with_progress, dry_run, write};
pub use observe::{Observed, observe};
pub use plan::{APPLIED_ANNOTATION, Action, Change, Collision, Drift, FieldOwner, Plan};

/// The policies of every graph, each with its graph's name, sorted by
/// namespace and name; and what to say on stderr besides them (`note:` and
/// `warning:` lines). A workload reference that cannot be resolved is an
/// error naming each; a generated policy the API server would reject, an
/// error too (a bug).
pub fn desired_policies(
    graphs: &[ServiceGraph],
    env: &Environment<'_>,
) -> Result<(Vec<DesiredPolicy>, Vec<String>), Error> {
    let mut policies = Vec::new();
    let mut said = Vec::new();
    let mut unresolved = Vec::new();
    for g in graphs {
        match resolve(g, env) {
            Ok(r) => {
                said.extend(r.notes.iter().map(|n| format!("note: {n}")));
                said.extend(r.warnings.iter().map(|w| format!("warning: {w}")));
                policies.extend(graph::desired(g, &r.resolved));
            }
            Err(list) => {
                let each: Vec<String> = list
                    .iter()
                    .map(|u| {
                        format!(
                            "{}: {} in namespace {:?} ({})",
                            u.path, u.workload, u.namespace, u.why
                        )
                    })
                    .collect();
                unresolved.push(format!(
                    "{} {:?}: {}",
                    graph::KIND,
                    g.name(),
                    each.join(", ")
                ));
            }
        }
    }
    if !unresolved.is_empty() {
        let hint = if env.source == "the cluster" {
            "check their kinds, names and namespaces"
        } else {
            "give the manifests they are in with -f too, or look them up in the cluster with --against-cluster"
        };
        return Err(Error::NotFound(format!(
            "cannot resolve workload references: {}; {hint}",
            unresolved.join("; ")
        )));
    }
    policies.sort_by_key(DesiredPolicy::key);
    // Never print or apply a policy the API server would reject (a bug if so).
    for p in &policies {
        let errors = crate::engine::validate::network_policy(&p.policy);
        if let Some(e) = errors.first() {
            return Err(Error::Invalid(format!(
                "generated NetworkPolicy {}/{} is invalid (a bug: please report it): {e}",
                p.namespace(),
                p.name()
            )));
        }
    }
    Ok((policies, said))
}

/// The plan for `graph` against what was observed, resolved in `env`
/// (usually [`Observed::environment`]), with the resolution's `note:` and
/// `warning:` lines.
pub fn plan(
    live: &Observed,
    graph: &ServiceGraph,
    env: &Environment<'_>,
) -> Result<(Plan, Vec<String>), Error> {
    let (desired, said) = desired_policies(std::slice::from_ref(graph), env)?;
    Ok((plan::plan(graph.name(), &desired, &live.policies), said))
}

/// `snapshot` with `plan` carried out: the policies it creates or updates
/// as applied, those it deletes gone; pods, namespaces and what could not
/// be read as they were.
pub fn applied(snapshot: &Snapshot, plan: &Plan) -> Snapshot {
    let key = |np: &k8s_openapi::api::networking::v1::NetworkPolicy| {
        (
            np.metadata.namespace.clone().unwrap_or_default(),
            np.metadata.name.clone().unwrap_or_default(),
        )
    };
    let gone: std::collections::BTreeSet<(String, String)> = plan
        .changes
        .iter()
        .map(|c| (c.namespace.clone(), c.name.clone()))
        .collect();
    let mut policies: Vec<_> = snapshot
        .policies
        .iter()
        .filter(|p| !gone.contains(&key(p)))
        .cloned()
        .collect();
    policies.extend(plan.changes.iter().filter_map(|c| c.apply.clone()));
    let mut out = Snapshot::new(snapshot.namespaces.clone(), snapshot.pods.clone(), policies);
    out.services = snapshot.services.clone();
    out.nodes = snapshot.nodes.clone();
    out.cluster_policies = snapshot.cluster_policies.clone();
    out.gaps = snapshot.gaps.clone();
    out
}
