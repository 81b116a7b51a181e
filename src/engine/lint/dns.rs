//! `egress-blocks-dns` and `dns-udp-only`: egress isolation that leaves the
//! pods unable to resolve names, reasoned on the DNS pods' real ports.
//!
//! NetworkPolicy sees a connection after a Service has been translated to
//! a pod: a query to the DNS Service on port 53 reaches a DNS pod on the
//! Service's targetPort (CoreDNS often listens on 8053 or 5353), and that is
//! the port an egress rule must admit. The DNS pods are kube-system's
//! `k8s-app=kube-dns` / `node-local-dns` pods and the pods the kube-system
//! DNS Services (a Service with port 53 and a selector) select; their port
//! is the DNS Service's targetPort for port 53 (a number, or a container
//! port name resolved on the pod), else container port 53 or the port
//! named `dns` / `dns-tcp`, else 53.

use std::collections::{BTreeMap, BTreeSet};

use super::Out;
use crate::engine::Model;
use crate::engine::policy::{Direction, Peer, Policy};
use crate::engine::ports::Protocol;
use crate::engine::verdict::{Endpoint, side};
use crate::snapshot::{ContainerPort, Labels, PodInfo, ServiceInfo, Snapshot};

/// The cluster's DNS pods and Services.
pub(super) struct DnsTargets {
    pods: Vec<PodInfo>,
    /// False: no DNS pod in the input, `pods` is a stand-in with the usual
    /// ports.
    real: bool,
    services: Vec<ServiceInfo>,
}

const DNS_APPS: [&str; 3] = ["kube-dns", "node-local-dns", "coredns"];

fn selects(svc: &ServiceInfo, pod: &PodInfo) -> bool {
    svc.namespace == pod.namespace
        && !svc.selector.is_empty()
        && svc
            .selector
            .iter()
            .all(|(k, v)| pod.labels.get(k) == Some(v))
}

/// The DNS pod assumed when none is found or readable: CoreDNS's usual
/// `k8s-app=kube-dns` in kube-system, serving UDP and TCP 53.
pub fn assumed_dns_pod() -> PodInfo {
    let mut labels = Labels::new();
    labels.insert("k8s-app".into(), "kube-dns".into());
    PodInfo {
        namespace: "kube-system".into(),
        name: "kube-dns".into(),
        labels,
        ips: Vec::new(),
        ports: vec![
            ContainerPort {
                name: Some("dns".into()),
                port: 53,
                protocol: Protocol::Udp,
            },
            ContainerPort {
                name: Some("dns-tcp".into()),
                port: 53,
                protocol: Protocol::Tcp,
            },
        ],
        init_ports: Vec::new(),
        workload: None,
        representative: true,
        host_network: false,
        node: None,
        host_ips: Vec::new(),
    }
}

fn targets(model: &Model<'_>) -> DnsTargets {
    find_targets(
        model.pods_in("kube-system").iter().copied(),
        &model.snapshot.services,
    )
}

/// The DNS pods among `kube_system` (the pods of kube-system) and the DNS
/// Services among `services`; the assumed pod when none is found.
fn find_targets<'p>(
    kube_system: impl Iterator<Item = &'p PodInfo>,
    services: &[ServiceInfo],
) -> DnsTargets {
    let services: Vec<ServiceInfo> = services
        .iter()
        .filter(|s| {
            s.namespace == "kube-system"
                && !s.selector.is_empty()
                && s.ports.iter().any(|p| p.port == 53)
        })
        .cloned()
        .collect();
    let found: Vec<PodInfo> = kube_system
        .filter(|p| {
            p.labels
                .get("k8s-app")
                .is_some_and(|v| DNS_APPS.contains(&v.as_str()))
                || services.iter().any(|s| selects(s, p))
        })
        .cloned()
        .collect();
    if !found.is_empty() {
        return DnsTargets {
            pods: found,
            real: true,
            services,
        };
    }
    DnsTargets {
        pods: vec![assumed_dns_pod()],
        real: false,
        services,
    }
}

/// The cluster's DNS pods as an egress rule should admit them, found as
/// `egress-blocks-dns` finds them (see the module's documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct DnsPods {
    /// Where they run: kube-system.
    pub namespace: String,
    /// Labels that select them: their `k8s-app` label (several values:
    /// `k8s-app In (...)`), else the selector of the DNS Service that
    /// selects them; `k8s-app=kube-dns` when none was found.
    pub selector: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    /// The ports they serve DNS on, per protocol, ascending (53 unless a
    /// DNS Service maps 53 to another target port, or their container
    /// ports say otherwise).
    pub udp: Vec<u16>,
    pub tcp: Vec<u16>,
    /// Whether they were found in the snapshot; false: the usual CoreDNS
    /// pods (`k8s-app=kube-dns`, UDP and TCP 53) are assumed.
    pub found: bool,
    /// Why a port is not 53 (`Service kube-system/kube-dns maps port 53 to
    /// UDP/5353`), sorted.
    pub notes: Vec<String>,
}

/// The DNS pods of `snapshot` (see [`DnsPods`]).
pub fn dns_pods(snapshot: &Snapshot) -> DnsPods {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
    let t = find_targets(
        snapshot
            .pods
            .iter()
            .filter(|p| p.namespace == "kube-system"),
        &snapshot.services,
    );
    let apps: BTreeSet<&String> = t
        .pods
        .iter()
        .filter_map(|p| p.labels.get("k8s-app"))
        .collect();
    let selector = if t.pods.iter().all(|p| p.labels.contains_key("k8s-app")) {
        let mut values: Vec<String> = apps.iter().map(|v| v.to_string()).collect();
        if values.len() == 1 {
            LabelSelector {
                match_labels: Some([("k8s-app".to_string(), values.remove(0))].into()),
                match_expressions: None,
            }
        } else {
            LabelSelector {
                match_labels: None,
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: "k8s-app".into(),
                    operator: "In".into(),
                    values: Some(values),
                }]),
            }
        }
    } else {
        let svc = t
            .services
            .iter()
            .filter(|svc| t.pods.iter().any(|pod| selects(svc, pod)))
            .min_by(|a, b| a.name.cmp(&b.name));
        LabelSelector {
            match_labels: svc.map(|s| s.selector.clone().into_iter().collect()),
            match_expressions: None,
        }
    };
    let mut notes = BTreeSet::new();
    let mut ports = |proto: Protocol| -> Vec<u16> {
        let mut out = BTreeSet::new();
        for pod in &t.pods {
            let (port, svc) = dns_port(&t, pod, proto);
            out.insert(port);
            if let Some(s) = svc.filter(|_| port != 53) {
                notes.insert(format!(
                    "Service {}/{} maps port 53 to {proto}/{port}",
                    s.namespace, s.name
                ));
            }
        }
        out.into_iter().collect()
    };
    let udp = ports(Protocol::Udp);
    let tcp = ports(Protocol::Tcp);
    DnsPods {
        namespace: "kube-system".into(),
        selector,
        udp,
        tcp,
        found: t.real,
        notes: notes.into_iter().collect(),
    }
}

/// The port a DNS pod serves DNS on for `proto`, and the Service that maps
/// 53 to it when that is how it was found.
fn dns_port<'t>(
    t: &'t DnsTargets,
    pod: &PodInfo,
    proto: Protocol,
) -> (u16, Option<&'t ServiceInfo>) {
    for svc in t.services.iter().filter(|s| selects(s, pod)) {
        for sp in svc
            .ports
            .iter()
            .filter(|p| p.port == 53 && p.protocol == proto)
        {
            let target = match &sp.target {
                Ok(n) => Some(*n),
                Err(name) => pod
                    .ports
                    .iter()
                    .find(|c| c.protocol == proto && c.name.as_deref() == Some(name.as_str()))
                    .map(|c| c.port),
            };
            if let Some(n) = target {
                return (n, Some(svc));
            }
        }
    }
    let port = pod
        .ports
        .iter()
        .filter(|c| c.protocol == proto)
        .find(|c| c.port == 53 || matches!(c.name.as_deref(), Some("dns" | "dns-tcp")))
        .map_or(53, |c| c.port);
    (port, None)
}

/// `3 of the 4 pods`, `the pod` (one of one), `the 2 pods` (all).
fn some_of(n: usize, total: usize) -> String {
    match (n, total) {
        (_, 1) => "the pod".to_string(),
        (n, t) if n == t => format!("all {t} pods"),
        (n, t) => format!("{n} of the {t} pods"),
    }
}

pub(super) fn dns(
    model: &Model<'_>,
    p: &Policy,
    selected: &[&PodInfo],
    dns_pods: &std::cell::OnceCell<DnsTargets>,
    out: &mut Out<'_>,
) {
    if p.egress.is_none() || selected.is_empty() {
        return;
    }
    let t = dns_pods.get_or_init(|| targets(model));
    let ips_unknown = t.pods.iter().any(|pod| pod.ips.is_empty());
    // What RBAC kept from being read: the DNS pods (kube-system's pods),
    // or the namespaces' labels a rule toward them may depend on.
    let gaps = &model.snapshot.gaps;
    let unreadable: Option<(String, &str)> = match gaps.pods_refused_in("kube-system") {
        Some(why) if !t.real => Some((
            "namespace \"kube-system\" (where the DNS pods run)".to_string(),
            why,
        )),
        _ => gaps
            .namespaces
            .as_deref()
            .map(|why| ("the namespace list (their labels)".to_string(), why)),
    };
    // Whether the pod might still reach DNS through what could not be
    // read: some egress rule admits UDP or TCP to a peer that is not
    // entirely within namespaces whose pods were read.
    let may_reach_unread = |pod: &PodInfo| {
        model
            .isolating(pod, Direction::Egress)
            .into_iter()
            .any(|i| {
                model.policies[i]
                    .rules(Direction::Egress)
                    .unwrap_or_default()
                    .iter()
                    .any(|rule| {
                        let dns_protocol = rule.ports.as_ref().is_none_or(|ports| {
                            ports
                                .iter()
                                .any(|s| matches!(s.protocol, Protocol::Udp | Protocol::Tcp))
                        });
                        let unread_peer = rule.peers.as_ref().is_none_or(|peers| {
                            peers.iter().any(|peer| match peer {
                                Peer::Pods {
                                    namespaces: crate::engine::policy::NamespaceScope::Own(ns),
                                    ..
                                } => gaps.pods_unknown_in(ns).is_some(),
                                _ => true,
                            })
                        });
                        dns_protocol && unread_peer
                    })
            })
    };
    let (mut no_udp, mut no_tcp) = (0usize, 0usize);
    // Pods with the same labels in one namespace get the same answer.
    let mut seen: BTreeMap<&Labels, (bool, bool, bool)> = BTreeMap::new();
    for pod in selected {
        let (udp, tcp, guessed) = *seen.entry(&pod.labels).or_insert_with(|| {
            let (mut udp, mut tcp, mut guessed) = (false, false, false);
            for dst in &t.pods {
                let v = side(
                    model,
                    Direction::Egress,
                    &Endpoint::Pod(pod),
                    &Endpoint::Pod(dst),
                    Some(&dst.ports),
                );
                let udp_port = dns_port(t, dst, Protocol::Udp).0;
                udp |= v.allowed.contains(Protocol::Udp, udp_port);
                tcp |= v
                    .allowed
                    .contains(Protocol::Tcp, dns_port(t, dst, Protocol::Tcp).0);
                // Without the DNS pods' IPs an ipBlock rule on the DNS port
                // may well reach them: that is not a finding.
                guessed |= ips_unknown
                    && v.rules.iter().any(|r| {
                        let rule = &model.policies[r.policy]
                            .rules(Direction::Egress)
                            .unwrap_or_default()[r.rule];
                        rule.peers
                            .iter()
                            .flatten()
                            .any(|peer| matches!(peer, Peer::IpBlock(_)))
                            && r.ports.contains(Protocol::Udp, udp_port)
                    });
            }
            (udp, tcp, guessed)
        });
        if guessed {
            continue;
        }
        // Unknown, not a finding: the DNS pods could not be read and the
        // usual ones (assumed) are admitted, so whether the real ones are
        // cannot be checked; or blocked as far as the readable objects
        // tell, but a rule toward what could not be read may reach DNS.
        let reached = udp && tcp;
        if let Some((what, why)) = &unreadable
            && ((reached && !t.real) || (!reached && may_reach_unread(pod)))
        {
            out.not_checked(
                "egress-blocks-dns",
                p,
                Some("spec.egress".into()),
                what,
                why,
            );
            return;
        }
        if !udp {
            no_udp += 1;
        } else if !tcp {
            no_tcp += 1;
        }
    }
    if no_udp == 0 && no_tcp == 0 {
        return;
    }
    let target = if t.real {
        let names: Vec<String> = t.pods.iter().take(2).map(|t| t.key()).collect();
        names.join(", ")
    } else if let Some((what, _)) = &unreadable {
        format!(
            "kube-system pods k8s-app=kube-dns (assumed: {what} is not readable, and no egress rule admits UDP or TCP to anything outside the namespaces read)"
        )
    } else {
        "kube-system pods k8s-app=kube-dns (assumed: no DNS pods were found)".to_string()
    };
    // The ports the DNS pods serve, per protocol, and why (a Service's
    // targetPort).
    let ports_of = |proto: Protocol| -> (Vec<u16>, Vec<String>) {
        let mut ports = BTreeSet::new();
        let mut mapped = BTreeSet::new();
        for dst in &t.pods {
            let (port, svc) = dns_port(t, dst, proto);
            ports.insert(port);
            if let Some(s) = svc.filter(|_| port != 53) {
                mapped.insert(format!(
                    "Service {}/{} maps port 53 to {proto}/{port}",
                    s.namespace, s.name
                ));
            }
        }
        (ports.into_iter().collect(), mapped.into_iter().collect())
    };
    let (udp_ports, udp_why) = ports_of(Protocol::Udp);
    let (tcp_ports, tcp_why) = ports_of(Protocol::Tcp);
    let list = |proto: Protocol, ports: &[u16]| {
        ports
            .iter()
            .map(|n| format!("{proto}/{n}"))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let why = |mapped: &[String]| {
        if mapped.is_empty() {
            String::new()
        } else {
            format!(
                " ({}; NetworkPolicy sees the connection after the Service is translated to a pod, so the rule must admit the pods' port, not 53)",
                mapped.join(", ")
            )
        }
    };
    // Labels that select the DNS pods on this cluster: their `k8s-app`
    // label, else the selector of the DNS Service that selects them.
    let labels: Vec<(String, String)> =
        match t.pods.iter().find_map(|pod| pod.labels.get("k8s-app")) {
            Some(v) => vec![("k8s-app".to_string(), v.clone())],
            None => t
                .services
                .iter()
                .find(|svc| t.pods.iter().any(|pod| selects(svc, pod)))
                .map(|svc| {
                    svc.selector
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default(),
        };
    let mut hint = "egress:\n- to:\n  - namespaceSelector:\n      matchLabels:\n        kubernetes.io/metadata.name: kube-system".to_string();
    if !labels.is_empty() {
        hint.push_str("\n    podSelector:\n      matchLabels:");
        for (k, v) in &labels {
            hint.push_str(&format!("\n        {k}: {v}"));
        }
    }
    hint.push_str("\n  ports:");
    for (proto, ports) in [(Protocol::Udp, &udp_ports), (Protocol::Tcp, &tcp_ports)] {
        for n in ports {
            hint.push_str(&format!("\n  - port: {n}\n    protocol: {proto}"));
        }
    }
    if no_udp > 0 {
        out.push(
            "egress-blocks-dns",
            p,
            Some("spec.egress".into()),
            format!(
                "{} this policy isolates for egress cannot resolve names: no egress rule of the policies selecting {} admits {} to {target}{}",
                some_of(no_udp, selected.len()),
                if selected.len() == 1 { "it" } else { "them" },
                list(Protocol::Udp, &udp_ports),
                why(&udp_why)
            ),
            Some(hint.clone()),
        );
    }
    if no_tcp > 0 {
        out.push(
            "dns-udp-only",
            p,
            Some("spec.egress".into()),
            format!(
                "{} this policy isolates {} DNS on {} but not {}: answers too large for UDP (and DNSSEC) fail{}",
                some_of(no_tcp, selected.len()),
                if no_tcp == 1 && selected.len() == 1 { "reaches" } else { "reach" },
                list(Protocol::Udp, &udp_ports),
                list(Protocol::Tcp, &tcp_ports),
                why(&tcp_why)
            ),
            Some(hint),
        );
    }
}
