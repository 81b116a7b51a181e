//! What each command reads from a live cluster: as few requests as the
//! answer allows, independent ones in parallel.

use std::collections::{BTreeSet, HashSet};

use futures::future::{join_all, try_join_all};

use crate::cmd::ref_namespace;
use crate::engine::Model;
use crate::engine::policy::{Direction, NamespaceScope, Peer};
use crate::error::Error;
use crate::snapshot::{Gaps, NAMESPACE_NAME_LABEL, PodInfo, Snapshot};
use crate::source::live::Live;

/// Above this many namespaces to read pods from, one cluster-wide list is
/// cheaper than one list per namespace.
const PER_NAMESPACE_LISTS: usize = 8;

/// Whether a command needs the namespaces (their labels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    No,
    /// The answer depends on them: a refusal is an error.
    Yes,
    /// Useful but not essential: a refusal becomes a gap.
    IfReadable,
}

/// The pods and policies of one namespace or all, the namespaces as
/// `with_namespaces` says, and (for `lint`) the Services.
pub async fn scope(
    live: &Live,
    namespace: Option<&str>,
    with_namespaces: Need,
    with_services: bool,
) -> Result<Snapshot, Error> {
    let namespaces = async {
        match with_namespaces {
            Need::No => Ok(Ok(Vec::new())),
            Need::Yes => live.namespaces().await.map(Ok),
            Need::IfReadable => match live.namespaces().await {
                Ok(list) => Ok(Ok(list)),
                Err(Error::Forbidden(why)) => Ok(Err(why)),
                Err(e) => Err(e),
            },
        }
    };
    // Services only serve one lint check: a refusal skips it.
    let services = async {
        if with_services {
            live.services(namespace).await.or_else(|e| match e {
                Error::Forbidden(_) => Ok(Vec::new()),
                e => Err(e),
            })
        } else {
            Ok(Vec::new())
        }
    };
    let (namespaces, pods, policies, services) = tokio::try_join!(
        namespaces,
        live.pods(namespace, None, None),
        live.policies(namespace),
        services
    )?;
    let mut gaps = Gaps::default();
    let namespaces = namespaces.unwrap_or_else(|why| {
        gaps.namespaces = Some(why);
        Vec::new()
    });
    if with_namespaces == Need::No {
        gaps.namespaces = Some("namespaces were not read".into());
    }
    // Only the scope's pods were read: peers elsewhere are unknown.
    if let Some(ns) = namespace {
        gaps.pods.insert(
            "*".into(),
            format!("only the pods of namespace {ns:?} were read"),
        );
        gaps.pods_read.insert(ns.to_string());
    }
    let mut snapshot = Snapshot::new(namespaces, pods, policies);
    snapshot.services = services;
    snapshot.gaps = gaps;
    Ok(snapshot)
}

/// The pods named on the command line and what deciding about them needs.
/// With `peers` (explain), reads that RBAC refuses beyond the pod's own
/// namespace become gaps in the answer instead of errors.
pub async fn endpoints(
    live: &Live,
    refs: &[&str],
    default_ns: &str,
    peers: bool,
) -> Result<Snapshot, Error> {
    let mut namespaces: BTreeSet<String> = BTreeSet::new();
    let mut ips = Vec::new();
    for r in refs {
        if node_ref(r).is_some() {
            continue;
        }
        match ref_namespace(r, default_ns) {
            Some(ns) => {
                namespaces.insert(ns);
            }
            None => ips.push(format!("status.podIP={r}")),
        }
    }
    let mut gaps = Gaps::default();
    let by_ip = try_join_all(ips.iter().map(|f| live.pods(None, None, Some(f))));
    // An address may be a node's: its traffic to pods on that node is
    // always allowed. Nodes are cluster-scoped; when they cannot be read,
    // pods' status.hostIPs still tell their own node's addresses.
    let wants_nodes = !ips.is_empty() || refs.iter().any(|r| node_ref(r).is_some());
    let nodes = async {
        if wants_nodes {
            live.nodes().await
        } else {
            Ok(Vec::new())
        }
    };
    let (all_ns, by_ip, nodes) = tokio::join!(live.namespaces(), by_ip, nodes);
    let nodes = match nodes {
        Ok(nodes) => nodes,
        Err(Error::Forbidden(m)) if m.contains("cannot impersonate") => {
            return Err(Error::Forbidden(m));
        }
        Err(Error::Forbidden(_)) => Vec::new(),
        Err(e) => return Err(e),
    };
    // A user who cannot list pods in every namespace: the address is
    // looked up among the pods of the namespaces read below, and the
    // answer says that a pod elsewhere may own it.
    let mut by_ip = match by_ip {
        Ok(found) => found,
        Err(Error::Forbidden(m)) if !m.contains("cannot impersonate") => {
            gaps.pods.insert("*".into(), m);
            vec![Vec::new(); ips.len()]
        }
        Err(e) => return Err(e),
    };
    // The field selector matches a pod's first IP only: a dual-stack pod's
    // other address needs a look at every pod (when pods of every namespace
    // can be read; otherwise the address stays an address).
    if by_ip.iter().any(Vec::is_empty) && !gaps.pods.contains_key("*") {
        let all = match live.pods(None, None, None).await {
            Ok(all) => all,
            Err(Error::Forbidden(m)) if !m.contains("cannot impersonate") => Vec::new(),
            Err(e) => return Err(e),
        };
        for (list, filter) in by_ip.iter_mut().zip(&ips) {
            if list.is_empty() {
                let ip = filter.trim_start_matches("status.podIP=");
                list.extend(
                    all.iter()
                        .filter(|p| p.ips.iter().any(|a| a.to_string() == ip))
                        .cloned(),
                );
            }
        }
    }
    // Namespaces a user may not list are known by name only; commands whose
    // answer depends on their other labels say so (see `namespace_labels_matter`).
    let all_ns = match all_ns {
        Ok(list) => list,
        Err(Error::Forbidden(why)) => {
            gaps.namespaces = Some(why);
            Vec::new()
        }
        Err(e) => return Err(e),
    };
    // An address that is a pod's brings that pod's namespace in.
    for p in by_ip.iter().flatten() {
        namespaces.insert(p.namespace.clone());
    }
    let ns_list: Vec<&str> = namespaces.iter().map(String::as_str).collect();
    gaps.pods_read.extend(namespaces.iter().cloned());
    let (pods, policies) = tokio::try_join!(
        try_join_all(ns_list.iter().map(|ns| live.pods(Some(ns), None, None))),
        try_join_all(ns_list.iter().map(|ns| live.policies(Some(ns))))
    )?;
    let mut pods: Vec<PodInfo> = pods.into_iter().flatten().collect();
    let policies: Vec<_> = policies.into_iter().flatten().collect();
    if peers {
        let partial = Snapshot::new(all_ns.clone(), Vec::new(), policies.clone());
        let model = Model::new(&partial, default_ns);
        let extra = peer_namespaces(&model).map(|set| {
            set.into_iter()
                .filter(|n| !namespaces.contains(n))
                .collect::<Vec<_>>()
        });
        match extra {
            Some(extra) if extra.len() <= PER_NAMESPACE_LISTS => {
                let lists = join_all(extra.iter().map(|ns| live.pods(Some(ns), None, None))).await;
                for (ns, list) in extra.iter().zip(lists) {
                    match list {
                        Ok(list) => pods.extend(list),
                        Err(Error::Forbidden(why)) => {
                            gaps.pods.insert(ns.clone(), why);
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            _ => match live.pods(None, None, None).await {
                Ok(list) => pods.extend(list),
                Err(Error::Forbidden(why)) => {
                    gaps.pods.insert("*".into(), why);
                }
                Err(e) => return Err(e),
            },
        }
    }
    let mut seen = HashSet::new();
    pods.retain(|p| seen.insert(p.key()));
    let mut snapshot = Snapshot::new(all_ns, pods, policies);
    snapshot.gaps = gaps;
    snapshot.set_nodes(nodes);
    Ok(snapshot)
}

/// The node name of a `node/NAME` (`nodes/`, `no/`) reference.
pub fn node_ref(text: &str) -> Option<&str> {
    let (kind, name) = text.split_once('/')?;
    matches!(kind.to_ascii_lowercase().as_str(), "node" | "nodes" | "no")
        .then_some(name)
        .filter(|n| !n.is_empty() && !n.contains('/'))
}

/// The namespaces whose pods the peers of `model`'s policies can match, or
/// `None` when an ipBlock or an open peer can match pods anywhere.
fn peer_namespaces(model: &Model<'_>) -> Option<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for policy in &model.policies {
        for d in Direction::BOTH {
            for rule in policy.rules(d).unwrap_or_default() {
                let Some(peers) = &rule.peers else {
                    return None;
                };
                for peer in peers {
                    match peer {
                        Peer::IpBlock(_) => return None,
                        Peer::Pods {
                            namespaces: NamespaceScope::Own(ns),
                            ..
                        } => {
                            out.insert(ns.clone());
                        }
                        Peer::Pods {
                            namespaces: NamespaceScope::Selected(sel),
                            ..
                        } => {
                            // A namespace named outright is known even when
                            // the namespaces cannot be listed.
                            if let Some(name) = sel.only_equals(NAMESPACE_NAME_LABEL) {
                                out.insert(name.to_string());
                            }
                            for n in &model.snapshot.namespaces {
                                if sel.matches(&n.labels) {
                                    out.insert(n.name.clone());
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    Some(out)
}

/// Whether an answer about pods of `namespaces` depends on namespace labels
/// beyond their names: some policy there has a namespaceSelector on other
/// labels. When namespaces could not be read, such an answer is a guess.
pub fn namespace_labels_matter(model: &Model<'_>, namespaces: &[&str]) -> bool {
    model
        .policies
        .iter()
        .filter(|p| namespaces.contains(&p.namespace.as_str()))
        .any(crate::engine::policy::Policy::uses_namespace_labels)
}
