//! What `sync` reads of the cluster, and no more: the policies and pods of
//! the namespaces a graph touches, this graph's policies wherever they
//! are, and what resolving the graph needs (the workloads it names, the
//! DNS pods and Services).

use std::collections::BTreeSet;

use k8s_openapi::api::networking::v1::NetworkPolicy;

use crate::engine::graph::ServiceGraph;
use crate::engine::graph::resolve::{Environment, Workloads};
use crate::engine::graph::validate::workload_ref;
use crate::error::Error;
use crate::snapshot::{Gaps, NamespaceInfo, Snapshot};
use crate::source::live::Live;

use super::plan::selector;

/// What was read for one graph.
#[derive(Debug, Clone)]
pub struct Observed {
    /// Every NetworkPolicy of [`Observed::write_namespaces`], and this
    /// graph's policies found elsewhere: what the plan compares with.
    pub policies: Vec<NetworkPolicy>,
    /// The namespaces the graph's policies are (or were) in: those of its
    /// services and managed default denies, and those where policies
    /// labelled as this graph's were found. Their policies were listed
    /// in full.
    pub write_namespaces: BTreeSet<String>,
    /// Pods, policies, namespaces and kube-system's Services as read:
    /// for resolving the graph and comparing connectivity.
    pub snapshot: Snapshot,
    /// The workloads the graph's services name, as stored.
    pub workloads: Workloads,
    /// Whether this graph's policies were looked for in every namespace
    /// (`None`), or only in [`Observed::write_namespaces`] because the
    /// cluster-wide list was refused (why).
    pub prune_limited: Option<String>,
    /// What could not be read and what follows, one line each (for
    /// stderr, without `note: `).
    pub notes: Vec<String>,
}

impl Observed {
    /// The environment the graph resolves in.
    pub fn environment(&self) -> Environment<'_> {
        Environment {
            snapshot: &self.snapshot,
            workloads: &self.workloads,
            source: "the cluster",
        }
    }
}

/// The namespaces a graph's policies live in (services, default denies)
/// and those its peers are in (external namespaces, the DNS pods').
pub fn namespaces(graph: &ServiceGraph) -> (BTreeSet<String>, BTreeSet<String>) {
    let spec = &graph.spec;
    let mut homes: BTreeSet<String> = spec.services.iter().map(|s| s.namespace.clone()).collect();
    homes.extend(
        spec.namespaces
            .iter()
            .filter(|n| n.default_deny == Some(true))
            .map(|n| n.name.clone()),
    );
    let mut peers: BTreeSet<String> = spec
        .ingress
        .iter()
        .flat_map(|i| &i.from)
        .chain(spec.egress.iter().flat_map(|e| &e.to))
        .filter_map(|p| p.namespace.clone())
        .collect();
    peers.insert(
        spec.dns
            .as_ref()
            .and_then(|d| d.namespace.clone())
            .unwrap_or_else(|| "kube-system".to_string()),
    );
    (homes, peers)
}

fn refused(e: &Error) -> Option<&str> {
    match e {
        Error::Forbidden(why) if !why.contains("cannot impersonate") => Some(why),
        _ => None,
    }
}

/// Reads what [`super::plan`] needs for `graph` (see the module doc).
/// A refused read of a namespace the graph writes to is an error that
/// names it (nothing is written); other refusals are gaps, said in
/// [`Observed::notes`].
pub async fn observe(live: &Live, graph: &ServiceGraph) -> Result<Observed, Error> {
    let (homes, peers) = namespaces(graph);
    let mut notes = Vec::new();
    // This graph's policies anywhere (prune), when the user may list them.
    let mut policies: Vec<NetworkPolicy> = Vec::new();
    let mut write: BTreeSet<String> = homes.clone();
    let prune_limited = match live.policies_labelled(None, &selector(graph.name())).await {
        Ok(found) => {
            write.extend(found.iter().filter_map(|p| p.metadata.namespace.clone()));
            None
        }
        Err(e) => match refused(&e) {
            Some(why) => {
                notes.push(format!(
                    "this graph's policies were looked for only in namespaces {} ({why}): one left in another namespace by an earlier version of the graph is not pruned",
                    homes.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
                Some(why.to_string())
            }
            None => return Err(e),
        },
    };
    // Every policy of the namespaces written to: a refusal is an error
    // naming each namespace, before anything is written.
    let mut denied = Vec::new();
    for ns in &write {
        match live.policies(Some(ns)).await {
            Ok(list) => policies.extend(list),
            Err(e) => match refused(&e) {
                Some(why) => denied.push(why.to_string()),
                None => return Err(e),
            },
        }
    }
    if !denied.is_empty() {
        return Err(Error::Forbidden(format!(
            "{}; sync needs to read the NetworkPolicies of every namespace the graph writes to (nothing was changed)",
            denied.join("; ")
        )));
    }
    let mut gaps = Gaps {
        live: true,
        scoped: true,
        ..Default::default()
    };
    gaps.pods.insert(
        "*".into(),
        "not read: sync reads only the namespaces the graph touches".into(),
    );
    // Pods of every namespace touched; the policies of peer namespaces
    // too (their pods' own isolation), or their pods are left out.
    let mut pods = Vec::new();
    let mut all_policies = policies.clone();
    for ns in write.iter().chain(peers.difference(&write)) {
        if !write.contains(ns) {
            match live.policies(Some(ns)).await {
                Ok(list) => all_policies.extend(list),
                Err(e) => match refused(&e) {
                    Some(why) => {
                        notes.push(format!(
                            "connectivity with the pods of namespace {ns:?} is not shown: its NetworkPolicies are not readable ({why})"
                        ));
                        gaps.pods.insert(
                            ns.clone(),
                            format!("left out: its NetworkPolicies are not readable: {why}"),
                        );
                        continue;
                    }
                    None => return Err(e),
                },
            }
        }
        match live.pods(Some(ns), None, None).await {
            Ok(list) => {
                gaps.pods_read.insert(ns.clone());
                pods.extend(list);
            }
            Err(e) => match refused(&e) {
                Some(why) => {
                    notes.push(format!(
                        "the pods of namespace {ns:?} are not readable ({why}): named ports and connectivity there are not checked"
                    ));
                    gaps.pods.insert(ns.clone(), why.to_string());
                }
                None => return Err(e),
            },
        }
    }
    // DNS: kube-system's Services (a Service on port 53 and its targetPort).
    let mut services = Vec::new();
    match live.services(Some("kube-system")).await {
        Ok(s) => services = s,
        Err(e) => match refused(&e) {
            Some(why) => {
                gaps.services_in
                    .insert("kube-system".into(), why.to_string());
            }
            None => return Err(e),
        },
    }
    let namespaces = match live.namespaces().await {
        Ok(list) => list,
        Err(e) => match refused(&e) {
            Some(why) => {
                gaps.namespaces = Some(why.to_string());
                Vec::<NamespaceInfo>::new()
            }
            None => return Err(e),
        },
    };
    let mut workloads = Workloads::new();
    let mut refs: BTreeSet<(&'static str, &str, &str)> = BTreeSet::new();
    for s in &graph.spec.services {
        if let Some((kind, name)) = s.workload.as_deref().and_then(workload_ref) {
            refs.insert((kind, &s.namespace, name));
        }
    }
    for (kind, ns, name) in refs {
        if let Some(obj) = live.workload_object(ns, kind, name).await? {
            workloads.insert((kind.to_string(), ns.to_string(), name.to_string()), obj);
        }
    }
    let cluster = live.cluster_policies().await?;
    let mut snapshot = Snapshot::new(namespaces, pods, all_policies);
    snapshot.services = services;
    snapshot.cluster_policies = cluster.objects;
    gaps.cluster_policies_unknown = cluster.unknown;
    if let Some(first) = cluster.refused.first() {
        gaps.cluster_policies = Some(first.clone());
        notes.push(format!(
            "cluster-scoped policies are not readable ({first}): the connectivity shown leaves them out"
        ));
    }
    snapshot.gaps = gaps;
    Ok(Observed {
        policies,
        write_namespaces: write,
        snapshot,
        workloads,
        prune_limited,
        notes,
    })
}

/// Whether the cluster stores a ServiceGraph of this name, as far as the
/// user may tell.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    /// Stored: its uid and spec (as the API server keeps it).
    Found {
        uid: String,
        spec: serde_json::Value,
    },
    /// No such graph (or the CRD is not installed).
    Absent,
    /// It could not be read (why).
    Unreadable(String),
}

/// Reads the stored ServiceGraph `name` (one GET).
pub async fn stored_graph(live: &Live, name: &str) -> Result<Stored, Error> {
    use kube::api::{Api, DynamicObject};
    let api: Api<DynamicObject> = Api::all_with(live.client(), &super::watch::api_resource());
    match api.get_opt(name).await {
        Ok(Some(o)) => Ok(Stored::Found {
            uid: o.metadata.uid.clone().unwrap_or_default(),
            spec: o.data.get("spec").cloned().unwrap_or_default(),
        }),
        Ok(None) => Ok(Stored::Absent),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(Stored::Absent),
        Err(kube::Error::Api(s)) if s.code == 403 => Ok(Stored::Unreadable(format!(
            "servicegraphs is forbidden: {}",
            s.message
        ))),
        Err(e) => Err(crate::source::live::request_error(
            e,
            &format!("cannot get servicegraph {name:?}"),
            live.user.as_deref(),
        )),
    }
}

/// The uid the graph's policies should name as their owner, and what to
/// say about it: the stored graph's (an ownerReference to an object that
/// does not exist would have the garbage collector delete them); when the
/// graph is not stored, none; when it cannot be read, the one its
/// policies already name (nothing changes), else none.
pub fn owner_uid(
    stored: &Stored,
    file_uid: Option<&str>,
    name: &str,
    policies: &[NetworkPolicy],
) -> (Option<String>, Vec<String>) {
    let mut notes = Vec::new();
    let uid = match stored {
        Stored::Found { uid, .. } => {
            if file_uid.is_some_and(|f| f != uid) {
                notes.push(format!(
                    "the file's metadata.uid is not the stored ServiceGraph {name:?}'s ({uid}): its policies name the stored one as their owner"
                ));
            }
            Some(uid.clone())
        }
        Stored::Absent => {
            if file_uid.is_some() {
                notes.push(format!(
                    "no ServiceGraph {name:?} is stored in the cluster: the file's metadata.uid is ignored and its policies get no ownerReference (an owner that does not exist would have the garbage collector delete them)"
                ));
            }
            None
        }
        Stored::Unreadable(why) => {
            let seen = policies
                .iter()
                .filter(|p| super::plan::managed_by(p, name))
                .flat_map(|p| p.metadata.owner_references.iter().flatten())
                .find(|o| o.kind == crate::engine::graph::KIND && o.name == name)
                .map(|o| o.uid.clone());
            // Said only when an owner is at stake.
            if let Some(u) = &seen {
                notes.push(format!(
                    "whether ServiceGraph {name:?} is stored could not be read ({why}): its policies keep the owner they name (uid {u})"
                ));
            }
            seen
        }
    };
    (uid, notes)
}
