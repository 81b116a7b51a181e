//! Whether one part of a cluster policy matches everything another part
//! matches: a subject another subject, a rule's peers and ports another
//! rule's. Decided from the objects alone, for every cluster they could
//! be applied to, whatever pods, namespaces, nodes and names it holds:
//!
//! - [`Cover::Yes`]: certain (a selector whose requirements the other's
//!   imply, `{}`, CIDRs inside the other's, ports inside the other's);
//! - [`Cover::No`]: some cluster has a connection the inner part matches
//!   and the outer does not (one example end is built and the outer
//!   tested against it);
//! - [`Cover::Unknown`]: it depends on what the cluster holds (a named
//!   port against numbers, a domain name, a pod IP inside a CIDR) or on
//!   selectors no requirement-by-requirement reading can compare.
//!
//! `tier-shadowed-rule` reports on [`Cover::Yes`] only.

use std::collections::BTreeMap;

use ipnet::IpNet;

use crate::engine::ports::PortSet;
use crate::engine::selector::{Op, Requirement, Selector};
use crate::engine::tier::{Subject, TierPeer, TierPort, TierRule};
use crate::snapshot::{Labels, NAMESPACE_NAME_LABEL};

/// Whether an outer part matches everything an inner part matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cover {
    /// Certainly: everything the inner part matches, the outer does.
    Yes,
    /// Certainly not: some connection matches the inner part only.
    No,
    /// It depends on the cluster, or cannot be told from the objects.
    Unknown,
}

impl Cover {
    /// Both hold: `No` if either is, `Yes` if both are.
    pub fn and(self, other: Cover) -> Cover {
        match (self, other) {
            (Cover::No, _) | (_, Cover::No) => Cover::No,
            (Cover::Yes, Cover::Yes) => Cover::Yes,
            _ => Cover::Unknown,
        }
    }

    fn all(items: impl IntoIterator<Item = Cover>) -> Cover {
        items.into_iter().fold(Cover::Yes, Cover::and)
    }
}

/// Whether requirement `r` holding implies that `q` holds.
fn implies(r: &Requirement, q: &Requirement) -> bool {
    if r == q {
        return true;
    }
    if r.key != q.key {
        return false;
    }
    match (&r.op, &q.op) {
        (Op::In(vr), Op::In(vq)) => vr.iter().all(|v| vq.contains(v)),
        (Op::In(vr), Op::NotIn(vq)) => vr.iter().all(|v| !vq.contains(v)),
        (Op::In(_), Op::Exists) => true,
        (Op::NotIn(vr), Op::NotIn(vq)) => vq.iter().all(|v| vr.contains(v)),
        (Op::Exists, Op::Exists) => true,
        (Op::DoesNotExist, Op::NotIn(_) | Op::DoesNotExist) => true,
        _ => false,
    }
}

/// A value not in `taken`.
fn fresh(taken: &[&String]) -> String {
    (0..)
        .map(|i| format!("w{i}"))
        .find(|v| !taken.contains(&v))
        .unwrap_or_default()
}

/// A label set `sel` matches (built from its requirements, key by key);
/// `None` when no label set matches it. `namespace`: the labels of a
/// namespace, which always carry `kubernetes.io/metadata.name`.
fn example(sel: &Selector, namespace: bool) -> Option<Labels> {
    let mut by_key: BTreeMap<&str, Vec<&Op>> = BTreeMap::new();
    for r in &sel.requirements {
        by_key.entry(r.key.as_str()).or_default().push(&r.op);
    }
    let exists = Op::Exists;
    if namespace {
        by_key
            .entry(NAMESPACE_NAME_LABEL)
            .or_default()
            .push(&exists);
    }
    let mut labels = Labels::new();
    for (key, ops) in by_key {
        let mut allowed: Option<Vec<&String>> = None;
        let mut refused: Vec<&String> = Vec::new();
        let (mut present, mut absent) = (false, false);
        for op in ops {
            match op {
                Op::In(values) => {
                    present = true;
                    allowed = Some(match allowed {
                        None => values.iter().collect(),
                        Some(a) => a.into_iter().filter(|v| values.contains(*v)).collect(),
                    });
                }
                Op::NotIn(values) => refused.extend(values),
                Op::Exists => present = true,
                Op::DoesNotExist => absent = true,
            }
        }
        if present && absent {
            return None;
        }
        if !present {
            continue;
        }
        let value = match allowed {
            Some(a) => a.into_iter().find(|v| !refused.contains(v))?.clone(),
            None => fresh(&refused),
        };
        labels.insert(key.to_string(), value);
    }
    Some(labels)
}

fn selector_cover(outer: &Selector, inner: &Selector, namespace: bool) -> Cover {
    let named = Requirement {
        key: NAMESPACE_NAME_LABEL.to_string(),
        op: Op::Exists,
    };
    let implied = outer.requirements.iter().all(|q| {
        inner.requirements.iter().any(|r| implies(r, q)) || (namespace && implies(&named, q))
    });
    if implied {
        return Cover::Yes;
    }
    match example(inner, namespace) {
        Some(labels) if !outer.matches(&labels) => Cover::No,
        _ => Cover::Unknown,
    }
}

/// Whether label selector `outer` matches every label set `inner` does
/// (pods, nodes).
pub fn selector(outer: &Selector, inner: &Selector) -> Cover {
    selector_cover(outer, inner, false)
}

/// [`selector`] for namespace selectors: namespaces always carry their
/// name label.
pub fn namespaces(outer: &Selector, inner: &Selector) -> Cover {
    selector_cover(outer, inner, true)
}

/// Pods as a namespace selector and a pod selector (`{}`: every one).
struct Pods {
    namespaces: Selector,
    pods: Selector,
}

impl Pods {
    /// `None` for a subject whose selector cannot be converted.
    fn of_subject(s: &Subject) -> Option<Pods> {
        match s {
            Subject::Namespaces(ns) => Some(Pods {
                namespaces: ns.clone(),
                pods: Selector::everything(),
            }),
            Subject::Pods { namespaces, pods } => Some(Pods {
                namespaces: namespaces.clone().unwrap_or_default(),
                pods: pods.clone(),
            }),
            Subject::Unusable(_) => None,
        }
    }

    fn of_peer(p: &TierPeer) -> Option<Pods> {
        match p {
            TierPeer::Namespaces(ns) => Some(Pods {
                namespaces: ns.clone(),
                pods: Selector::everything(),
            }),
            TierPeer::Pods { namespaces, pods } => Some(Pods {
                namespaces: namespaces.clone().unwrap_or_default(),
                pods: pods.clone(),
            }),
            _ => None,
        }
    }

    fn cover(&self, inner: &Pods) -> Cover {
        namespaces(&self.namespaces, &inner.namespaces).and(selector(&self.pods, &inner.pods))
    }

    /// A pod (its namespace's labels, its own) these select.
    fn example(&self) -> Option<(Labels, Labels)> {
        Some((
            example(&self.namespaces, true)?,
            example(&self.pods, false)?,
        ))
    }

    fn matches(&self, (ns, pod): &(Labels, Labels)) -> bool {
        self.namespaces.matches(ns) && self.pods.matches(pod)
    }
}

/// Whether subject `outer` selects every pod `inner` selects.
pub fn subject(outer: &Subject, inner: &Subject) -> Cover {
    match (Pods::of_subject(outer), Pods::of_subject(inner)) {
        (Some(o), Some(i)) => o.cover(&i),
        // A selector no implementation can convert selects what is not
        // known.
        _ => Cover::Unknown,
    }
}

/// Whether `net` lies inside the union of `nets`.
fn inside(net: &IpNet, nets: &[&IpNet]) -> bool {
    if nets.iter().any(|n| n.contains(net)) {
        return true;
    }
    let overlapping = nets
        .iter()
        .any(|n| n.contains(&net.network()) || net.contains(&n.network()));
    if !overlapping || net.prefix_len() == net.max_prefix_len() {
        return false;
    }
    net.subnets(net.prefix_len() + 1)
        .is_ok_and(|mut halves| halves.all(|h| inside(&h, nets)))
}

/// Whether the peers `outer` match every end one of `inner` matches.
pub fn peers(outer: &[TierPeer], inner: &[TierPeer]) -> Cover {
    let networks: Vec<&IpNet> = outer
        .iter()
        .filter_map(|p| match p {
            TierPeer::Networks(n) => Some(n),
            _ => None,
        })
        .flatten()
        .collect();
    let names: Vec<&String> = outer
        .iter()
        .filter_map(|p| match p {
            TierPeer::DomainNames(n) => Some(n),
            _ => None,
        })
        .flatten()
        .collect();
    Cover::all(inner.iter().map(|x| peer(outer, &networks, &names, x)))
}

/// One inner peer against the outer peers (their `networks` and
/// `domainNames` pooled).
fn peer(outer: &[TierPeer], networks: &[&IpNet], names: &[&String], x: &TierPeer) -> Cover {
    match x {
        TierPeer::Namespaces(_) | TierPeer::Pods { .. } => {
            let Some(inner) = Pods::of_peer(x) else {
                return Cover::Unknown;
            };
            let outer_pods: Vec<Pods> = outer.iter().filter_map(Pods::of_peer).collect();
            if outer_pods.iter().any(|o| o.cover(&inner) == Cover::Yes) {
                return Cover::Yes;
            }
            // A pod's IP may lie in a CIDR, a name may resolve to it, a
            // selector that cannot be converted may match it.
            if !networks.is_empty() || !names.is_empty() || unusable(outer, false) {
                return Cover::Unknown;
            }
            match inner.example() {
                Some(pod) if !outer_pods.iter().any(|o| o.matches(&pod)) => Cover::No,
                _ => Cover::Unknown,
            }
        }
        TierPeer::Networks(nets) => {
            if nets.iter().all(|n| inside(n, networks)) {
                Cover::Yes
            } else if outer.iter().all(|p| matches!(p, TierPeer::Networks(_))) {
                // An address of the inner CIDRs outside the outer ones.
                Cover::No
            } else {
                // That address may be a pod's, a node's, a name's.
                Cover::Unknown
            }
        }
        TierPeer::Nodes(sel) => {
            let outer_nodes: Vec<&Selector> = outer
                .iter()
                .filter_map(|p| match p {
                    TierPeer::Nodes(s) => Some(s),
                    _ => None,
                })
                .collect();
            if outer_nodes.iter().any(|o| selector(o, sel) == Cover::Yes) {
                return Cover::Yes;
            }
            // A node's address may lie in a CIDR or be a name's, or match
            // a selector that cannot be converted.
            if !networks.is_empty() || !names.is_empty() || unusable(outer, true) {
                return Cover::Unknown;
            }
            // Pod peers never match nodes or host-network pods.
            match example(sel, false) {
                Some(node) if !outer_nodes.iter().any(|o| o.matches(&node)) => Cover::No,
                _ => Cover::Unknown,
            }
        }
        TierPeer::DomainNames(list) => {
            if list.iter().all(|n| names.contains(&n)) {
                Cover::Yes
            } else {
                // Another name, a CIDR, a pod may be the same address.
                Cover::Unknown
            }
        }
        // What it matches is not known.
        TierPeer::Unusable { .. } => Cover::Unknown,
    }
}

/// Whether `peers` hold a pod peer (`nodes` false) or a nodes peer whose
/// selector cannot be converted.
fn unusable(peers: &[TierPeer], nodes: bool) -> bool {
    peers
        .iter()
        .any(|p| matches!(p, TierPeer::Unusable { nodes: n, .. } if *n == nodes))
}

/// The numbered ports of a list (a reversed range holds none for certain).
fn numbers(ports: &[TierPort]) -> PortSet {
    let mut set = PortSet::empty();
    for p in ports {
        if let TierPort::Range(proto, lo, hi) = p {
            set.insert(*proto, *lo, *hi);
        }
    }
    set
}

/// Whether the ports `outer` hold every port `inner` does (`None`: every
/// port). A named port resolves on the destination: against numbers its
/// answer depends on the pods ([`Cover::Unknown`]), unless the numbers
/// are every port.
pub fn ports(outer: Option<&[TierPort]>, inner: Option<&[TierPort]>) -> Cover {
    let Some(outer) = outer else {
        return Cover::Yes;
    };
    let numbered = numbers(outer);
    let Some(inner) = inner else {
        return if numbered.is_all() {
            Cover::Yes
        } else {
            Cover::No
        };
    };
    Cover::all(inner.iter().map(|x| match x {
        TierPort::Range(proto, lo, hi) if lo <= hi => {
            let mut set = PortSet::empty();
            set.insert(*proto, *lo, *hi);
            if numbered.contains_all(&set) {
                Cover::Yes
            } else if outer.iter().any(|p| matches!(p, TierPort::Reversed(..))) {
                // A reversed range may mean some of them.
                Cover::Unknown
            } else {
                // A destination with no named port: only numbers count.
                Cover::No
            }
        }
        // Matches nothing, or what is not known: not a question of order.
        TierPort::Range(..) | TierPort::Reversed(..) => Cover::Unknown,
        _ if numbered.is_all() => Cover::Yes,
        TierPort::Named(_) | TierPort::Other(_) if outer.contains(x) => Cover::Yes,
        TierPort::Named(_) | TierPort::Other(_) => Cover::Unknown,
    }))
}

/// Whether rule `outer` matches every connection (peer and port) rule
/// `inner` matches, whatever their actions.
pub fn rule(outer: &TierRule, inner: &TierRule) -> Cover {
    peers(&outer.peers, &inner.peers).and(ports(outer.ports.as_deref(), inner.ports.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ports::Protocol;
    use crate::engine::tier::Action;

    use Cover::{No, Unknown, Yes};

    fn sel(s: &str) -> Selector {
        Selector::parse(s).unwrap()
    }

    fn ns(s: &str) -> TierPeer {
        TierPeer::Namespaces(sel(s))
    }

    fn pods(namespaces: Option<&str>, p: &str) -> TierPeer {
        TierPeer::Pods {
            namespaces: namespaces.map(sel),
            pods: sel(p),
        }
    }

    fn nets(list: &[&str]) -> TierPeer {
        TierPeer::Networks(list.iter().map(|n| n.parse().unwrap()).collect())
    }

    fn nodes(s: &str) -> TierPeer {
        TierPeer::Nodes(sel(s))
    }

    fn names(list: &[&str]) -> TierPeer {
        TierPeer::DomainNames(list.iter().map(|n| n.to_string()).collect())
    }

    fn tcp(lo: u16, hi: u16) -> TierPort {
        TierPort::Range(Protocol::Tcp, lo, hi)
    }

    fn udp(lo: u16, hi: u16) -> TierPort {
        TierPort::Range(Protocol::Udp, lo, hi)
    }

    fn named(n: &str) -> TierPort {
        TierPort::Named(n.into())
    }

    #[test]
    fn selectors() {
        for (outer, inner, want) in [
            ("", "", Yes),
            ("", "app=web", Yes),
            ("app=web", "app=web", Yes),
            ("app=web", "app=web,tier=front", Yes),
            ("app in (web,api)", "app=web", Yes),
            ("app", "app in (web,api)", Yes),
            ("app!=db", "app=web", Yes),
            ("app notin (db)", "app notin (db,cache)", Yes),
            ("!app", "!app", Yes),
            ("app!=db", "!app", Yes),
            // An example label set the inner selector matches and the
            // outer does not.
            ("app=web", "", No),
            ("app=web", "app=api", No),
            ("app=web", "tier=front", No),
            ("app in (web)", "app in (web,api)", No),
            ("app", "!app", No),
            ("app=web,tier=front", "app=web", No),
            // Not comparable requirement by requirement, and the example
            // built for the inner one proves nothing.
            ("app!=db", "tier=front", Unknown),
            ("!tier", "app=web", Unknown),
            // (The example leaves out the keys it need not set.)
            ("!app", "app!=db", Unknown),
            // The inner one matches nothing: no example, no claim.
            ("app=web", "app=api,!app", Unknown),
        ] {
            assert_eq!(
                selector(&sel(outer), &sel(inner)),
                want,
                "{outer:?} over {inner:?}"
            );
        }
        // A namespace always carries its name label.
        assert_eq!(
            namespaces(&sel("kubernetes.io/metadata.name"), &sel("env=dev")),
            Yes
        );
        assert_eq!(
            namespaces(&sel("kubernetes.io/metadata.name=prod"), &sel("env=dev")),
            No
        );
        assert_eq!(
            selector(&sel("kubernetes.io/metadata.name"), &sel("env=dev")),
            No
        );
    }

    #[test]
    fn subjects() {
        let every_ns = Subject::Namespaces(sel(""));
        let dev = Subject::Namespaces(sel("env=dev"));
        let dev_web = Subject::Pods {
            namespaces: Some(sel("env=dev")),
            pods: sel("app=web"),
        };
        let any_web = Subject::Pods {
            namespaces: None,
            pods: sel("app=web"),
        };
        let every_pod = Subject::Pods {
            namespaces: None,
            pods: sel(""),
        };
        for (outer, inner, want) in [
            (&every_ns, &dev_web, Yes),
            (&every_ns, &any_web, Yes),
            (&every_pod, &dev, Yes),
            (&dev, &dev, Yes),
            (&dev, &dev_web, Yes),
            (&any_web, &dev_web, Yes),
            (&dev_web, &dev_web, Yes),
            (&dev, &every_ns, No),
            (&dev_web, &dev, No),
            (&dev_web, &any_web, No),
            (&any_web, &dev, No),
        ] {
            assert_eq!(subject(outer, inner), want, "{outer:?} over {inner:?}");
        }
        let not_prod = Subject::Namespaces(sel("env!=prod"));
        assert_eq!(subject(&not_prod, &dev), Yes);
        let team = Subject::Namespaces(sel("team=a"));
        assert_eq!(subject(&not_prod, &team), Unknown);
    }

    #[test]
    fn peer_lists() {
        for (outer, inner, want) in [
            // `namespaces: {}` covers any namespaces or pods peer.
            (vec![ns("")], vec![ns("env=dev")], Yes),
            (vec![ns("")], vec![pods(None, "app=web")], Yes),
            (vec![ns("")], vec![pods(Some("env=dev"), "")], Yes),
            (vec![pods(None, "")], vec![ns("env=dev")], Yes),
            (
                vec![ns("env=dev")],
                vec![pods(Some("env=dev"), "app=x")],
                Yes,
            ),
            (
                vec![ns("env=dev"), ns("env=prod")],
                vec![ns("env=prod"), ns("env=dev")],
                Yes,
            ),
            // CIDRs inside the union of the outer ones.
            (
                vec![nets(&["10.0.0.0/8"])],
                vec![nets(&["10.1.0.0/16"])],
                Yes,
            ),
            (
                vec![nets(&["10.0.0.0/9", "10.128.0.0/9"])],
                vec![nets(&["10.0.0.0/8"])],
                Yes,
            ),
            (vec![nets(&["::/0"])], vec![nets(&["2001:db8::/32"])], Yes),
            (vec![nodes("")], vec![nodes("role=worker")], Yes),
            (
                vec![names(&["a.example.com", "b.example.com"])],
                vec![names(&["b.example.com"])],
                Yes,
            ),
            // Some end the inner peers match and the outer do not.
            (vec![ns("env=dev")], vec![ns("")], No),
            (vec![ns("env=dev")], vec![ns("env=prod")], No),
            (vec![pods(None, "app=web")], vec![ns("env=dev")], No),
            (vec![nets(&["10.0.0.0/8"])], vec![nets(&["10.0.0.0/7"])], No),
            (
                vec![nets(&["10.0.0.0/9", "10.192.0.0/10"])],
                vec![nets(&["10.0.0.0/8"])],
                No,
            ),
            (
                vec![nets(&["0.0.0.0/0"])],
                vec![nets(&["2001:db8::/32"])],
                No,
            ),
            (vec![nodes("role=worker")], vec![nodes("")], No),
            (vec![ns("")], vec![nodes("role=worker")], No),
            (vec![nodes("")], vec![ns("")], No),
            (vec![ns("")], vec![ns(""), nodes("")], No),
            // Depends on the cluster: a pod's IP in a CIDR, what a name
            // resolves to, a node's address.
            (vec![nets(&["0.0.0.0/0", "::/0"])], vec![ns("")], Unknown),
            (vec![ns("")], vec![nets(&["10.0.0.0/8"])], Unknown),
            (vec![nets(&["10.0.0.0/8"])], vec![nodes("")], Unknown),
            (
                vec![names(&["a.example.com"])],
                vec![names(&["b.example.com"])],
                Unknown,
            ),
            (vec![ns("env!=prod")], vec![ns("team=a")], Unknown),
        ] {
            assert_eq!(peers(&outer, &inner), want, "{outer:?} over {inner:?}");
        }
    }

    #[test]
    fn port_lists() {
        let every = || -> Vec<TierPort> {
            vec![
                tcp(1, 65535),
                udp(1, 65535),
                TierPort::Range(Protocol::Sctp, 1, 65535),
            ]
        };
        let some = |v: Vec<TierPort>| Some(v);
        for (outer, inner, want) in [
            // Absent: every port.
            (None, None, Yes),
            (None, some(vec![tcp(80, 80)]), Yes),
            (None, some(vec![named("http")]), Yes),
            (some(every()), None, Yes),
            (some(every()), some(vec![named("http")]), Yes),
            (some(vec![tcp(80, 80)]), some(vec![tcp(80, 80)]), Yes),
            (
                some(vec![tcp(1, 1024)]),
                some(vec![tcp(80, 80), tcp(443, 443)]),
                Yes,
            ),
            (
                some(vec![tcp(80, 89), tcp(90, 99)]),
                some(vec![tcp(85, 95)]),
                Yes,
            ),
            (some(vec![named("http")]), some(vec![named("http")]), Yes),
            (some(vec![tcp(80, 80)]), None, No),
            (some(vec![tcp(80, 80)]), some(vec![tcp(80, 81)]), No),
            (some(vec![tcp(53, 53)]), some(vec![udp(53, 53)]), No),
            (some(vec![named("http")]), some(vec![tcp(80, 80)]), No),
            // A named port against numbers or another name: the pods
            // decide.
            (some(vec![tcp(80, 80)]), some(vec![named("http")]), Unknown),
            (some(vec![named("web")]), some(vec![named("http")]), Unknown),
            (
                some(vec![tcp(1, 65535)]),
                some(vec![named("http")]),
                Unknown,
            ),
            // A reversed v1alpha1 range: what it matches is unknown.
            (some(vec![tcp(1, 65535)]), some(vec![tcp(9, 1)]), Unknown),
            (
                some(vec![tcp(1, 65535)]),
                some(vec![TierPort::Reversed(Protocol::Tcp, 9, 1)]),
                Unknown,
            ),
            (
                some(vec![TierPort::Reversed(Protocol::Tcp, 9000, 8000)]),
                some(vec![tcp(8080, 8080)]),
                Unknown,
            ),
        ] {
            assert_eq!(
                ports(outer.as_deref(), inner.as_deref()),
                want,
                "{outer:?} over {inner:?}"
            );
        }
    }

    #[test]
    fn rules_need_peers_and_ports_covered() {
        let rule = |peers: Vec<TierPeer>, ports: Option<Vec<TierPort>>| TierRule {
            name: None,
            action: Action::Deny,
            peers,
            ports,
        };
        let all_dev = rule(vec![ns("env=dev")], None);
        let dev_web = rule(
            vec![pods(Some("env=dev"), "app=web")],
            Some(vec![tcp(80, 80)]),
        );
        let every = rule(vec![ns("")], None);
        let http = rule(vec![ns("")], Some(vec![named("http")]));
        assert_eq!(rule_cover(&all_dev, &dev_web), Yes);
        assert_eq!(rule_cover(&every, &all_dev), Yes);
        assert_eq!(rule_cover(&dev_web, &all_dev), No);
        assert_eq!(rule_cover(&all_dev, &every), No);
        assert_eq!(rule_cover(&dev_web, &http), No);
        let web80 = rule(vec![ns("")], Some(vec![tcp(80, 80)]));
        assert_eq!(rule_cover(&web80, &http), Unknown);
    }

    fn rule_cover(outer: &TierRule, inner: &TierRule) -> Cover {
        rule(outer, inner)
    }
}
