//! `generate`: the NetworkPolicies the service graphs of `-f` imply
//! (`engine::graph`), as one `kind: List` on stdout (YAML, or JSON with
//! `-o json`) and one sentence per policy on stderr.
//!
//! The graphs' workload references, named ports and DNS pods are looked
//! up in the other `-f` manifests, or with `--against-cluster` in the
//! cluster (the pods of the services' namespaces and of kube-system,
//! kube-system's Services, and each workload named).

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde::Serialize;

use super::{Context, Outcome};
use crate::cli::{GenerateArgs, OutputFormat};
use crate::engine::graph::resolve::{Environment, Workloads};
use crate::engine::graph::validate::workload_ref;
use crate::engine::graph::{self, ServiceGraph};
use crate::error::Error;
use crate::render::{to_json, to_yaml};
use crate::snapshot::Snapshot;
use crate::source::files::GraphDocument;
use crate::source::live::Live;

/// `kind: List` of the policies, in the order kubectl writes a list's
/// fields it prints (apiVersion, kind, then the items).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PolicyList<'a> {
    api_version: &'static str,
    kind: &'static str,
    items: Vec<&'a NetworkPolicy>,
}

/// The graphs of `docs`, decoded and validated; the first that is not is
/// the error (its file, document and the API server's words).
pub fn graphs(docs: &[GraphDocument]) -> Result<Vec<ServiceGraph>, Error> {
    if docs.is_empty() {
        return Err(Error::Usage(format!(
            "no {} in the input: give the graph with -f (apiVersion: {}, kind: {})",
            graph::KIND,
            graph::API_VERSION,
            graph::KIND
        )));
    }
    let mut out: Vec<ServiceGraph> = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for d in docs {
        let g = graph::parse(&d.value)
            .map_err(|e| Error::Invalid(format!("{}: {}: {e}", d.file, d.doc)))?;
        let at = format!("{}: {}", d.file, d.doc);
        if let Some(first) = seen.insert(g.name().to_string(), at.clone()) {
            return Err(Error::Invalid(format!(
                "{at}: {} {:?} is given twice (first in {first}): one graph per name",
                graph::KIND,
                g.name()
            )));
        }
        out.push(g);
    }
    Ok(out)
}

/// What `--against-cluster` reads: the pods of every namespace a graph's
/// services are in and of kube-system, kube-system's Services (the DNS
/// pods and ports), and each workload a service names.
async fn read_cluster(
    live: &Live,
    graphs: &[ServiceGraph],
) -> Result<(Snapshot, Workloads), Error> {
    let mut namespaces: BTreeSet<&str> = BTreeSet::new();
    let mut refs: BTreeSet<(&'static str, &str, &str)> = BTreeSet::new();
    for g in graphs {
        for s in &g.spec.services {
            namespaces.insert(&s.namespace);
            if let Some((kind, name)) = s.workload.as_deref().and_then(workload_ref) {
                refs.insert((kind, &s.namespace, name));
            }
        }
    }
    let mut pods = Vec::new();
    let mut gaps = crate::snapshot::Gaps {
        live: true,
        ..Default::default()
    };
    for ns in &namespaces {
        pods.extend(live.pods(Some(ns), None, None).await?);
    }
    // The DNS pods: a refusal leaves the usual ones assumed, and says so.
    let mut services = Vec::new();
    if !namespaces.contains("kube-system") {
        match live.pods(Some("kube-system"), None, None).await {
            Ok(p) => pods.extend(p),
            Err(Error::Forbidden(why)) => {
                gaps.pods.insert("kube-system".into(), why);
            }
            Err(e) => return Err(e),
        }
    }
    match live.services(Some("kube-system")).await {
        Ok(s) => services = s,
        Err(Error::Forbidden(why)) => {
            gaps.services_in.insert("kube-system".into(), why);
        }
        Err(e) => return Err(e),
    }
    let mut workloads = Workloads::new();
    for (kind, ns, name) in refs {
        if let Some(obj) = live.workload_object(ns, kind, name).await? {
            workloads.insert((kind.to_string(), ns.to_string(), name.to_string()), obj);
        }
    }
    let mut snapshot = Snapshot::new(Vec::new(), pods, Vec::new());
    snapshot.services = services;
    snapshot.gaps = gaps;
    Ok((snapshot, workloads))
}

pub use crate::sync::desired_policies as generate;

pub fn run(ctx: &Context, args: &GenerateArgs) -> Result<Outcome, Error> {
    let manifests = ctx.manifests()?;
    let mut graphs = graphs(manifests.graphs())?;
    let cluster;
    let mut owner_notes = Vec::new();
    let (snapshot, workloads, source): (Rc<Snapshot>, &Workloads, &str) = if args.against_cluster {
        // The owner is the stored graph of that name, never a file's uid
        // that may name a deleted one (the collector would delete every
        // policy applied with it).
        // One connection: what the graphs resolve against, and each stored
        // graph of the same name.
        let (read, stored) = ctx.with_cluster(async |live| {
            let read = read_cluster(live, &graphs).await?;
            let mut stored = Vec::new();
            for g in &graphs {
                stored.push(crate::sync::observe::stored_graph(live, g.name()).await?);
            }
            Ok((read, stored))
        })?;
        for (g, st) in graphs.iter_mut().zip(&stored) {
            let (uid, notes) =
                crate::sync::observe::owner_uid(st, g.metadata.uid.as_deref(), g.name(), &[]);
            g.metadata.uid = uid;
            owner_notes.extend(notes.into_iter().map(|n| format!("note: {n}")));
        }
        cluster = read;
        (Rc::new(cluster.0), &cluster.1, "the cluster")
    } else {
        for g in &graphs {
            if let Some(uid) = &g.metadata.uid {
                owner_notes.push(format!(
                    "warning: ServiceGraph {:?}: the policies name uid {uid} as their owner, as the file says; if no stored graph has it (a saved copy of one since deleted), the garbage collector deletes them once applied (--against-cluster checks it)",
                    g.name()
                ));
            }
        }
        (
            manifests.snapshot(),
            &manifests.apply_input().objects,
            "the input",
        )
    };
    let env = Environment {
        snapshot: &snapshot,
        workloads,
        source,
    };
    let (policies, said) = generate(&graphs, &env)?;
    let list = PolicyList {
        api_version: "v1",
        kind: "List",
        items: policies.iter().map(|p| &p.policy).collect(),
    };
    let stdout = match ctx.format() {
        OutputFormat::Json => to_json(&list),
        _ => to_yaml(&list),
    };
    let mut warnings: Vec<String> = policies
        .iter()
        .map(|p| format!("{}: {}", p.name(), p.summary()))
        .collect();
    warnings.extend(said);
    warnings.extend(owner_notes);
    Ok(Outcome {
        stdout,
        warnings,
        code: 0,
    })
}
