//! What each command reads from a live cluster: as few requests as the
//! answer allows, independent ones in parallel.

use std::collections::{BTreeSet, HashSet};

use futures::future::{join_all, try_join_all};

use std::net::IpAddr;

use crate::cmd::readings;
use crate::engine::Model;
use crate::engine::policy::{Direction, NamespaceScope, Peer};
use crate::error::Error;
use crate::snapshot::{Gaps, NAMESPACE_NAME_LABEL, PodInfo, ServiceInfo, Slices, Snapshot};
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

/// The gap `scope` records when the namespaces were not asked for.
pub(super) const NAMESPACES_NOT_READ: &str = "namespaces were not read";

/// The pods and policies of one namespace or all, the namespaces as
/// `with_namespaces` says, and (for `lint` and `list`) the Services. With
/// the Services and one namespace, what `lint` reads (see [`lint`]).
pub async fn scope(
    live: &Live,
    namespace: Option<&str>,
    with_namespaces: Need,
    with_services: bool,
) -> Result<Snapshot, Error> {
    if let Some(ns) = namespace
        && with_services
    {
        return lint(live, &BTreeSet::from([ns.to_string()]), &[]).await;
    }
    let namespaces = read_namespaces(live, with_namespaces);
    // Services only serve lint checks: a refusal is a gap, and the
    // checks that need them say they were not made.
    let services = async {
        if with_services {
            match live.services(namespace).await {
                Ok(list) => Ok(Ok(list)),
                Err(Error::Forbidden(why)) => Ok(Err(why)),
                Err(e) => Err(e),
            }
        } else {
            Ok(Ok(Vec::new()))
        }
    };
    let (namespaces, pods, policies, services) = tokio::try_join!(
        namespaces,
        live.pods(namespace, None, None),
        live.policies(namespace),
        services
    )?;
    let mut gaps = Gaps {
        live: true,
        ..Gaps::default()
    };
    let namespaces = namespaces.unwrap_or_else(|why| {
        gaps.namespaces = Some(why);
        Vec::new()
    });
    if with_namespaces == Need::No {
        gaps.namespaces = Some(NAMESPACES_NOT_READ.into());
    }
    let services = services.unwrap_or_else(|why| {
        gaps.services_in
            .insert(namespace.unwrap_or("*").to_string(), why);
        Vec::new()
    });
    // Only the scope's pods were read: peers elsewhere are unknown.
    if let Some(ns) = namespace {
        gaps.pods.insert(
            "*".into(),
            format!("only the pods of namespace {ns:?} were read"),
        );
        gaps.scoped = true;
        gaps.pods_read.insert(ns.to_string());
    }
    let mut snapshot = Snapshot::new(namespaces, pods, policies);
    snapshot.services = services;
    snapshot.gaps = gaps;
    Ok(snapshot)
}

/// The namespaces as `need` says: `Ok(Err(why))` when a refusal is a gap.
pub(super) async fn read_namespaces(
    live: &Live,
    need: Need,
) -> Result<Result<Vec<crate::snapshot::NamespaceInfo>, String>, Error> {
    match need {
        Need::No => Ok(Ok(Vec::new())),
        Need::Yes => live.namespaces().await.map(Ok),
        Need::IfReadable => match live.namespaces().await {
            Ok(list) => Ok(Ok(list)),
            Err(Error::Forbidden(why)) => Ok(Err(why)),
            Err(e) => Err(e),
        },
    }
}

/// What `lint` reads for the policies of the namespaces `home` (and, for
/// `lint --against-cluster`, the manifests' policies `extra`, which will
/// live there): the pods, policies and Services of `home` (a refusal of
/// their pods or policies is an error); the namespaces (a refusal is a
/// gap); and, as far as RBAC allows, the DNS pods and Services of
/// kube-system and the pods the peers can match: those of the namespaces
/// the peers select, or every pod when a peer (an ipBlock, an open
/// namespaceSelector) can match pods anywhere. Each refusal is a gap, so
/// the checks that needed it say `not checked`.
pub async fn lint(
    live: &Live,
    home: &BTreeSet<String>,
    extra: &[k8s_openapi::api::networking::v1::NetworkPolicy],
) -> Result<Snapshot, Error> {
    let home_list: Vec<&str> = home.iter().map(String::as_str).collect();
    let services = join_all(home_list.iter().map(|ns| live.services(Some(ns))));
    let (namespaces, pods, policies, services) = tokio::join!(
        read_namespaces(live, Need::IfReadable),
        try_join_all(home_list.iter().map(|ns| live.pods(Some(ns), None, None))),
        try_join_all(home_list.iter().map(|ns| live.policies(Some(ns)))),
        services
    );
    let mut gaps = Gaps {
        live: true,
        scoped: true,
        ..Gaps::default()
    };
    let namespaces = namespaces?.unwrap_or_else(|why| {
        gaps.namespaces = Some(why);
        Vec::new()
    });
    let mut pods: Vec<PodInfo> = pods?.into_iter().flatten().collect();
    let policies: Vec<_> = policies?.into_iter().flatten().collect();
    let mut all_services: Vec<ServiceInfo> = Vec::new();
    for (ns, found) in home_list.iter().zip(services) {
        match found {
            Ok(list) => all_services.extend(list),
            Err(Error::Forbidden(why)) => {
                gaps.services_in.insert(ns.to_string(), why);
            }
            Err(e) => return Err(e),
        }
    }
    gaps.pods_read.extend(home.iter().cloned());
    gaps.pods.insert(
        "*".into(),
        format!(
            "only the pods of namespace{} {} were read",
            if home.len() == 1 { "" } else { "s" },
            home_list
                .iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    // The peers of the cluster's policies there and of the manifests'.
    let mut all_policies = policies.clone();
    all_policies.extend(extra.iter().cloned());
    let mut partial = Snapshot::new(namespaces.clone(), Vec::new(), all_policies);
    partial.gaps.namespaces = gaps.namespaces.clone();
    let model = Model::new(&partial, home_list.first().copied().unwrap_or("default"));
    let (named, anywhere) = peer_namespaces(&model);
    // Every pod when a peer may match pods anywhere (or too many
    // namespaces to list one by one); refused, the pods beyond the
    // namespaces read one by one are a refusal, not out of scope.
    let everywhere = anywhere || named.len() > PER_NAMESPACE_LISTS;
    let (all_pods, dns_services) = tokio::join!(
        async {
            if everywhere {
                Some(live.pods(None, None, None).await)
            } else {
                None
            }
        },
        async {
            if home.contains("kube-system") {
                Ok(Vec::new())
            } else {
                live.services(Some("kube-system")).await
            }
        }
    );
    let mut all_read = false;
    match all_pods {
        None => {}
        Some(Ok(list)) => {
            // Every pod was read: nothing is unknown.
            pods.extend(list);
            gaps.pods.clear();
            gaps.scoped = false;
            all_read = true;
        }
        Some(Err(Error::Forbidden(why))) => {
            gaps.pods.insert("*".into(), why);
            gaps.scoped = false;
        }
        Some(Err(e)) => return Err(e),
    }
    // Then, one by one: kube-system (the DNS pods) and the namespaces the
    // peers name or select.
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    if !all_read {
        wanted.insert("kube-system".to_string());
        if named.len() <= PER_NAMESPACE_LISTS {
            wanted.extend(named);
        }
    }
    let wanted: Vec<String> = wanted.into_iter().filter(|n| !home.contains(n)).collect();
    let lists = join_all(wanted.iter().map(|n| live.pods(Some(n), None, None))).await;
    for (n, list) in wanted.iter().zip(lists) {
        match list {
            Ok(list) => {
                pods.extend(list);
                gaps.pods_read.insert(n.clone());
            }
            Err(Error::Forbidden(why)) => {
                gaps.pods.insert(n.clone(), why);
            }
            Err(e) => return Err(e),
        }
    }
    match dns_services {
        Ok(list) => all_services.extend(list),
        Err(Error::Forbidden(why)) => {
            gaps.services_in.insert("kube-system".into(), why);
        }
        Err(e) => return Err(e),
    }
    let mut seen = HashSet::new();
    pods.retain(|p| seen.insert(p.key()));
    let mut seen_services = HashSet::new();
    all_services.retain(|s| seen_services.insert(s.key()));
    let mut snapshot = Snapshot::new(namespaces, pods, policies);
    snapshot.services = all_services;
    snapshot.gaps = gaps;
    Ok(snapshot)
}

/// `snapshot` read together with the cluster's cluster-scoped policies
/// ([`Live::cluster_policies`]): the objects go into the snapshot, a
/// refused list into `gaps.cluster_policies`.
pub async fn with_cluster_policies(
    live: &Live,
    snapshot: impl std::future::Future<Output = Result<Snapshot, Error>>,
) -> Result<Snapshot, Error> {
    let (snapshot, cluster) = tokio::join!(snapshot, live.cluster_policies());
    let (mut snapshot, cluster) = (snapshot?, cluster?);
    snapshot.cluster_policies = cluster.objects;
    snapshot.gaps.cluster_policies_unknown = cluster.unknown;
    // The first refusal says why; the others are the same for other kinds.
    if let Some(first) = cluster.refused.first() {
        snapshot.gaps.cluster_policies = Some(match cluster.refused.len() {
            1 => first.clone(),
            n => format!(
                "{first}; and {} more kind{}",
                n - 1,
                if n == 2 { "" } else { "s" }
            ),
        });
    }
    Ok(snapshot)
}

/// What `diff -f` reads: the namespaces (a refusal is a gap), and the pods
/// and policies of every namespace; when RBAC refuses the cluster-wide
/// lists, those of `wanted` (the namespaces the manifests touch) one by
/// one, each refusal a gap. Nothing readable at all is an error.
pub async fn diff(live: &Live, wanted: &BTreeSet<String>) -> Result<Snapshot, Error> {
    let namespaces = async {
        match live.namespaces().await {
            Ok(list) => Ok(Ok(list)),
            Err(Error::Forbidden(why)) if !why.contains("cannot impersonate") => Ok(Err(why)),
            Err(e) => Err(e),
        }
    };
    // Nodes: their addresses (a pod and its own node), their pod CIDRs
    // (where a pod without IP yet gets one). Unreadable: unknown.
    let nodes = async {
        match live.nodes().await {
            Ok(list) => Ok(Ok(list)),
            Err(Error::Forbidden(why)) if !why.contains("cannot impersonate") => Ok(Err(why)),
            Err(e) => Err(e),
        }
    };
    let (namespaces, pods, policies, nodes) = tokio::join!(
        namespaces,
        live.pods(None, None, None),
        live.policies(None),
        nodes
    );
    let mut gaps = Gaps::default();
    // The namespaces' failure first: an unreachable server is said as
    // the other commands say it (`cannot list namespaces: ...`).
    let namespaces = namespaces?.unwrap_or_else(|why| {
        gaps.namespaces = Some(why);
        Vec::new()
    });
    let nodes = nodes?.unwrap_or_else(|why| {
        gaps.nodes = Some(why);
        Vec::new()
    });
    let (pods, policies) = match (pods, policies) {
        (Ok(pods), Ok(policies)) => (pods, policies),
        (Err(Error::Forbidden(why)), _) | (_, Err(Error::Forbidden(why)))
            if !why.contains("cannot impersonate") =>
        {
            gaps.pods.insert("*".into(), why.clone());
            let each = join_all(wanted.iter().map(|ns| async move {
                let (pods, policies) =
                    tokio::join!(live.pods(Some(ns), None, None), live.policies(Some(ns)));
                (ns, pods, policies)
            }))
            .await;
            let (mut pods, mut policies) = (Vec::new(), Vec::new());
            for (ns, p, q) in each {
                match (p, q) {
                    (Ok(p), Ok(q)) => {
                        pods.extend(p);
                        policies.extend(q);
                        gaps.pods_read.insert(ns.clone());
                    }
                    (Err(Error::Forbidden(w)), _) | (_, Err(Error::Forbidden(w))) => {
                        gaps.pods.insert(ns.clone(), w);
                    }
                    (Err(e), _) | (_, Err(e)) => return Err(e),
                }
            }
            // Nothing readable at all: every namespace is a gap, said as
            // when some are (diff's notes), not an error of its own.
            (pods, policies)
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let mut pods = pods;
    podless_workloads(live, &mut pods, &mut gaps).await?;
    let mut snapshot = Snapshot::new(namespaces, pods, policies);
    snapshot.gaps = gaps;
    snapshot.set_nodes(nodes);
    Ok(snapshot)
}

/// Adds the stand-in pod of each live workload without pods (see
/// [`Live::podless_workloads`]) in the namespaces whose pods were read
/// (all, unless `gaps.pods` says otherwise), as `-f` does for a workload
/// without pods; a refused list is recorded in `gaps.workload_lists`, for
/// its kind only (the other kinds' workloads are still read).
pub async fn podless_workloads(
    live: &Live,
    pods: &mut Vec<PodInfo>,
    gaps: &mut Gaps,
) -> Result<(), Error> {
    let scopes: Vec<Option<String>> = if gaps.pods.contains_key("*") {
        gaps.pods_read.iter().cloned().map(Some).collect()
    } else {
        vec![None]
    };
    let found = join_all(
        scopes
            .iter()
            .map(|ns| live.podless_workloads(ns.as_deref(), pods)),
    )
    .await;
    for (ns, r) in scopes.iter().zip(found) {
        let (list, refused) = r?;
        pods.extend(list);
        for (kind, why) in refused {
            gaps.workload_lists.insert(
                (ns.clone().unwrap_or_else(|| "*".into()), kind.to_string()),
                why,
            );
        }
    }
    Ok(())
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
    // Namespaces of a reference's second reading (`jobs/worker`: namespace
    // `jobs`): read when they exist and may be read.
    let mut maybe: BTreeSet<String> = BTreeSet::new();
    let mut ips = Vec::new();
    let mut addrs: Vec<IpAddr> = Vec::new();
    // Services named on the command line: (namespace, name, the only reading).
    let mut named: Vec<(String, String, bool)> = Vec::new();
    // Bare names (`NAME`, `NS/NAME`): a pod or workload, or else the error
    // points at the Service of that name (as from manifests).
    let mut bare: Vec<(String, String)> = Vec::new();
    // Workloads named by kind (`deployment/web`): when no pod of theirs
    // runs, their pod template stands for them (as from manifests).
    let mut workloads: Vec<(String, &'static str, String)> = Vec::new();
    for r in refs {
        if node_ref(r).is_some() {
            // Also pod NAME in a namespace called `node`, if there is one
            // (the reference is then ambiguous).
            if let Some((word, _)) = r.split_once('/') {
                maybe.insert(word.to_string());
            }
            continue;
        }
        if let Ok(ip) = r.parse::<IpAddr>() {
            // `::ffff:10.0.0.1` is the IPv4 address 10.0.0.1.
            let ip = ip.to_canonical();
            ips.push(format!("status.podIP={ip}"));
            addrs.push(ip);
            continue;
        }
        // An unreadable reference is reported by the command itself.
        let readings = readings(r, default_ns).unwrap_or_default();
        for (i, reading) in readings.iter().enumerate() {
            if reading.kind.is_none() {
                bare.push((reading.namespace.clone(), reading.name.clone()));
            }
            if let Some(kind) = reading.kind
                && WORKLOAD_KINDS.contains(&kind)
            {
                workloads.push((reading.namespace.clone(), kind, reading.name.clone()));
            }
            if reading.kind == Some("Service") {
                named.push((
                    reading.namespace.clone(),
                    reading.name.clone(),
                    readings.len() == 1,
                ));
            }
            if i == 0 {
                namespaces.insert(reading.namespace.clone());
            } else {
                maybe.insert(reading.namespace.clone());
            }
        }
    }
    let mut gaps = Gaps {
        live: true,
        ..Gaps::default()
    };
    // A user who may not list pods everywhere is answered from the pods of
    // the default namespace, and the rest is a gap.
    let by_ip = try_join_all(ips.iter().map(|f| async move {
        match live.pods(None, None, Some(f)).await {
            Err(Error::Forbidden(why)) => live
                .pods(Some(default_ns), None, Some(f))
                .await
                .map(|found| (found, Some(why))),
            other => other.map(|found| (found, None)),
        }
    }));
    let by_cluster_ip = join_all(
        addrs
            .iter()
            .map(|ip| cluster_ip_service(live, ip, default_ns)),
    );
    let by_name = join_all(named.iter().map(|(ns, name, _)| live.service(ns, name)));
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
    let (all_ns, by_ip, by_cluster_ip, by_name, nodes) =
        tokio::join!(live.namespaces(), by_ip, by_cluster_ip, by_name, nodes);
    let nodes = match nodes {
        Ok(nodes) => nodes,
        Err(Error::Forbidden(m)) if m.contains("cannot impersonate") => {
            return Err(Error::Forbidden(m));
        }
        Err(Error::Forbidden(why)) => {
            gaps.nodes = Some(why);
            Vec::new()
        }
        Err(e) => return Err(e),
    };
    let mut by_ip: Vec<Vec<PodInfo>> = by_ip?
        .into_iter()
        .map(|(found, refused)| {
            if let Some(why) = refused {
                gaps.pods.insert("*".into(), why);
            }
            found
        })
        .collect();
    // The field selector matches a pod's first IP only: a dual-stack pod's
    // other address needs a look at every pod (those the user may list).
    if by_ip.iter().any(Vec::is_empty) {
        let all = match live.pods(None, None, None).await {
            Err(Error::Forbidden(why)) => {
                gaps.pods.insert("*".into(), why);
                live.pods(Some(default_ns), None, None).await?
            }
            other => other?,
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
    // answer depends on their other labels say so (see `Model::guessed_namespaces_note`).
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
    let mut services: Vec<ServiceInfo> = Vec::new();
    for found in by_cluster_ip {
        match found? {
            Ok(list) => services.extend(list),
            Err(why) => gaps.services = Some(why),
        }
    }
    // Services listed only to suggest the nearest name when one is missing.
    let mut others: Vec<ServiceInfo> = Vec::new();
    for ((ns, _, only), found) in named.iter().zip(by_name) {
        match found {
            Ok(Some(svc)) => services.push(svc),
            // For the nearest name: the Services of that namespace, and of
            // every namespace when it was not written (the same name may be
            // elsewhere), as far as RBAC allows.
            Ok(None) => {
                let everywhere = match live.services(None).await {
                    Ok(list) => Some(list),
                    Err(Error::Forbidden(_)) => None,
                    Err(e) => return Err(e),
                };
                match everywhere {
                    Some(list) => others.extend(list),
                    None => match live.services(Some(ns)).await {
                        Ok(list) => others.extend(list),
                        Err(Error::Forbidden(_)) => {}
                        Err(e) => return Err(e),
                    },
                }
            }
            // One of two readings: the other may be what was meant, and
            // this one is unknown (said if it matters).
            Err(Error::Forbidden(why)) if !only => {
                gaps.services_in.insert(ns.clone(), why);
            }
            Err(e) => return Err(e),
        }
    }
    for svc in &services {
        namespaces.insert(svc.namespace.clone());
    }
    let ns_list: Vec<&str> = namespaces.iter().map(String::as_str).collect();
    gaps.pods_read.extend(namespaces.iter().cloned());
    let (pods, policies) = tokio::try_join!(
        try_join_all(ns_list.iter().map(|ns| live.pods(Some(ns), None, None))),
        try_join_all(ns_list.iter().map(|ns| live.policies(Some(ns))))
    )?;
    let mut pods: Vec<PodInfo> = pods.into_iter().flatten().collect();
    let mut policies: Vec<_> = policies.into_iter().flatten().collect();
    // A second reading's namespace, when it exists (or namespaces cannot be
    // listed) and may be read; a refusal leaves that reading unfound.
    let maybe: Vec<&str> = maybe
        .iter()
        .map(String::as_str)
        .filter(|ns| !namespaces.contains(*ns))
        .filter(|ns| gaps.namespaces.is_some() || all_ns.iter().any(|n| n.name == *ns))
        .collect();
    let (maybe_pods, maybe_policies, slices) = tokio::join!(
        join_all(maybe.iter().map(|ns| live.pods(Some(ns), None, None))),
        join_all(maybe.iter().map(|ns| live.policies(Some(ns)))),
        join_all(
            services
                .iter()
                .map(|s| live.endpoint_slices(&s.namespace, &s.name))
        )
    );
    for ((ns, found), policy_list) in maybe.iter().zip(maybe_pods).zip(maybe_policies) {
        match (found, policy_list) {
            (Ok(found), Ok(list)) => {
                pods.extend(found);
                policies.extend(list);
                gaps.pods_read.insert(ns.to_string());
            }
            (Err(e @ (Error::Forbidden(_) | Error::Api(_))), _)
            | (_, Err(e @ (Error::Forbidden(_) | Error::Api(_)))) => {
                gaps.pods.insert(ns.to_string(), e.to_string());
            }
            (Err(e), _) | (_, Err(e)) => return Err(e),
        }
    }
    // EndpointSlices name a Service's backends; when RBAC refuses them,
    // the selector does (and the answer says so).
    for (svc, found) in services.iter_mut().zip(slices) {
        match found {
            Ok(endpoints) => svc.attach(endpoints),
            Err(Error::Forbidden(why)) => svc.slices = Slices::Unreadable(why),
            Err(e) => return Err(e),
        }
    }
    if peers {
        let partial = Snapshot::new(all_ns.clone(), Vec::new(), policies.clone());
        let model = Model::new(&partial, default_ns);
        // kube-system too: lint's DNS checks look for the DNS pods there,
        // also for policies whose peers never name it (egress that
        // blocks DNS altogether).
        let (mut set, anywhere) = peer_namespaces(&model);
        set.insert("kube-system".to_string());
        let extra = (!anywhere).then(|| {
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
    // A workload no pod runs for: its template, when it may be read.
    for (ns, kind, name) in &workloads {
        let runs = pods.iter().any(|p| {
            &p.namespace == ns
                && p.workload
                    .as_ref()
                    .is_some_and(|w| w.kind == *kind && &w.name == name)
        });
        if runs || !gaps.pods_read.contains(ns) {
            continue;
        }
        match live.workload_template(ns, kind, name).await {
            Ok(Some(pod)) => {
                if seen.insert(pod.key()) {
                    pods.push(pod);
                }
            }
            Ok(None) => {
                gaps.workloads_absent.insert(format!("{ns}/{kind}/{name}"));
            }
            // Whether it exists is unknown: this refusal, not another
            // reading's, is what a "not found" would hide.
            Err(Error::Forbidden(why)) => {
                gaps.workloads.insert(format!("{ns}/{kind}/{name}"), why);
            }
            Err(e) => return Err(e),
        }
    }
    // A bare name no pod or workload of a namespace read has: the Service
    // of that name, if any, for the "write svc/NAME" hint.
    for (ns, name) in &bare {
        let read = gaps.pods_read.contains(ns);
        let known = pods.iter().any(|p| {
            &p.namespace == ns
                && (&p.name == name || p.workload.as_ref().is_some_and(|w| &w.name == name))
        });
        if read
            && !known
            && !services
                .iter()
                .any(|s| &s.namespace == ns && &s.name == name)
        {
            match live.service(ns, name).await {
                Ok(Some(svc)) => others.push(svc),
                Ok(None) | Err(Error::Forbidden(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    let mut snapshot = Snapshot::new(all_ns, pods, policies);
    let mut seen_services = HashSet::new();
    services.extend(others);
    services.retain(|s| seen_services.insert(s.key()));
    snapshot.services = services;
    snapshot.gaps = gaps;
    snapshot.set_nodes(nodes);
    Ok(snapshot)
}

/// Kinds whose pod template can stand for their pods.
const WORKLOAD_KINDS: [&str; 6] = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
];

/// The node name of a `node/NAME` (`nodes/`, `no/`) reference.
pub fn node_ref(text: &str) -> Option<&str> {
    let (kind, name) = text.split_once('/')?;
    matches!(kind.to_ascii_lowercase().as_str(), "node" | "nodes" | "no")
        .then_some(name)
        .filter(|n| !n.is_empty() && !n.contains('/'))
}

/// The Services whose ClusterIP is `ip`: searched in every namespace, or
/// when that is refused in `default_ns` only. `Err(why)` when neither could
/// be searched (or the address is not found and not every namespace could
/// be): whether `ip` is a ClusterIP is then unknown.
async fn cluster_ip_service(
    live: &Live,
    ip: &IpAddr,
    default_ns: &str,
) -> Result<Result<Vec<ServiceInfo>, String>, Error> {
    match live.services_with_cluster_ip(None, ip).await {
        Ok(found) => Ok(Ok(found)),
        Err(Error::Forbidden(why)) => {
            match live.services_with_cluster_ip(Some(default_ns), ip).await {
                Ok(found) if !found.is_empty() => Ok(Ok(found)),
                Ok(_) | Err(Error::Forbidden(_)) => Ok(Err(why)),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// The namespaces whose pods the peers of `model`'s policies can match,
/// and whether a peer (an ipBlock, a rule without peers) can match pods
/// anywhere.
pub(crate) fn peer_namespaces(model: &Model<'_>) -> (BTreeSet<String>, bool) {
    let mut out = BTreeSet::new();
    let mut anywhere = false;
    for policy in &model.policies {
        for d in Direction::BOTH {
            for rule in policy.rules(d).unwrap_or_default() {
                let Some(peers) = &rule.peers else {
                    anywhere = true;
                    continue;
                };
                for peer in peers {
                    match peer {
                        Peer::IpBlock(_) => anywhere = true,
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
                            } else if model.snapshot.gaps.namespaces.is_some() {
                                // Which namespaces it selects is unknown.
                                anywhere = true;
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
    (out, anywhere)
}
