//! The wizard's answers, and the pure translation of answers into a
//! minimal, idiomatic NetworkPolicy (no `status`, no empty fields, explicit
//! `policyTypes`). Also the `--allow-from`/`--allow-to` peer syntax and the
//! `--port` syntax, shared by flags and prompts.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::engine::ports::Protocol;
use crate::engine::selector::{Op, Selector};
use crate::engine::validate;
use crate::snapshot::NAMESPACE_NAME_LABEL;

/// Who may talk to (or be talked to by) the selected pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerSpec {
    /// Pods of the policy's own namespace.
    Pods(Selector),
    /// Pods (all when `pods` is `None`) of namespaces given by name.
    InNamespaces {
        names: Vec<String>,
        pods: Option<Selector>,
    },
    /// Pods (all when `pods` is `None`) of namespaces picked by labels
    /// (`{}`: every namespace).
    InLabelledNamespaces {
        namespaces: Selector,
        pods: Option<Selector>,
    },
    IpBlock {
        cidr: String,
        except: Vec<String>,
    },
    /// No `from`/`to` at all.
    Anywhere,
}

/// A port as typed: `8080`, `8000-8100`, `http`, `53/UDP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInput {
    pub protocol: Protocol,
    pub port: PortKind,
}

/// One port value of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortKind {
    Number(u16),
    Range(u16, u16),
    Named(String),
    /// Every port of the protocol (a port entry with only `protocol`).
    All,
}

impl PortInput {
    /// As the outputs write a port, which [`parse_port`] reads back:
    /// `TCP/8080`, `TCP/8000-8100`, `TCP/http`, `UDP/all`.
    pub fn render(&self) -> String {
        match &self.port {
            PortKind::Number(n) => format!("{}/{n}", self.protocol),
            PortKind::Range(a, b) => format!("{}/{a}-{b}", self.protocol),
            PortKind::Named(n) => format!("{}/{n}", self.protocol),
            PortKind::All => format!("{}/all", self.protocol),
        }
    }
}

/// One rule: a peer and its ports (none: every port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftRule {
    pub peer: PeerSpec,
    pub ports: Vec<PortInput>,
}

/// Everything the wizard asks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    pub namespace: String,
    pub name: String,
    /// The pods to protect (`{}`: all pods of the namespace).
    pub pods: Selector,
    /// `Some` to isolate ingress; its rules (empty: deny all ingress).
    pub ingress: Option<Vec<DraftRule>>,
    /// `Some` to isolate egress; its rules (empty: deny all egress).
    pub egress: Option<Vec<DraftRule>>,
    /// Add an egress rule for DNS to these pods (namespace, pod labels,
    /// ports) — usually kube-system `k8s-app=kube-dns` on UDP and TCP 53.
    pub dns: Option<DnsTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsTarget {
    pub namespace: String,
    pub pods: Selector,
    pub ports: Vec<u16>,
}

impl Default for DnsTarget {
    fn default() -> Self {
        let mut pods = Selector::default();
        pods.requirements
            .push(crate::engine::selector::Requirement {
                key: "k8s-app".into(),
                op: Op::In(vec!["kube-dns".into()]),
            });
        DnsTarget {
            namespace: "kube-system".into(),
            pods,
            ports: vec![53],
        }
    }
}

/// Parses `--port` syntax: `8080`, `8000-8100`, `http`, `53/UDP`,
/// `http/TCP`, and the outputs' order too: `TCP/8080`, `UDP/53`, `UDP/all`
/// (every UDP port).
pub fn parse_port(text: &str) -> Result<PortInput, String> {
    let text = text.trim();
    let (port, protocol) = match text.split_once('/') {
        Some((p, proto)) if Protocol::parse(proto).is_none() && Protocol::parse(p).is_some() => {
            // PROTO/PORT, as list, explain and matrix write it.
            let protocol = Protocol::parse(p).unwrap_or(Protocol::Tcp);
            if proto == "all" {
                return Ok(PortInput {
                    protocol,
                    port: PortKind::All,
                });
            }
            (proto, protocol)
        }
        Some((p, proto)) => (
            p,
            Protocol::parse(proto)
                .ok_or_else(|| format!("{text:?}: protocol must be TCP, UDP or SCTP"))?,
        ),
        None => (text, Protocol::Tcp),
    };
    let number = |s: &str| -> Result<u16, String> {
        match s.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
            _ => Err(format!(
                "{text:?}: a port is a number from 1 to 65535 or a port name"
            )),
        }
    };
    if let Some((lo, hi)) = port.split_once('-')
        && lo.bytes().all(|b| b.is_ascii_digit())
        && !lo.is_empty()
    {
        let (lo, hi) = (number(lo)?, number(hi)?);
        if hi < lo {
            return Err(format!("{text:?}: the range must not end before it starts"));
        }
        return Ok(PortInput {
            protocol,
            port: if lo == hi {
                PortKind::Number(lo)
            } else {
                PortKind::Range(lo, hi)
            },
        });
    }
    if port.bytes().all(|b| b.is_ascii_digit()) && !port.is_empty() {
        return Ok(PortInput {
            protocol,
            port: PortKind::Number(number(port)?),
        });
    }
    let problems = validate::port_name(port);
    if !problems.is_empty() || port.is_empty() {
        return Err(format!(
            "{text:?}: not a port number, range or valid port name ({})",
            problems.join("; ")
        ));
    }
    Ok(PortInput {
        protocol,
        port: PortKind::Named(port.to_string()),
    })
}

const PEER_KEYS: [&str; 6] = [
    "namespace",
    "namespaces",
    "namespace-labels",
    "pods",
    "cidr",
    "except",
];

/// Where a peer is read: the policy's namespace (a peer written
/// `NAMESPACE/...` in that namespace becomes a plain podSelector) and the
/// pods known (`frontend/web` names pods by the first key of
/// [`crate::engine::summary::NAME_KEYS`] that some pod of frontend has
/// with value `web`; `app` when none does).
#[derive(Debug, Clone, Copy, Default)]
pub struct PeerContext<'a> {
    pub namespace: &'a str,
    pub snapshot: Option<&'a crate::snapshot::Snapshot>,
}

impl PeerContext<'_> {
    /// The label key whose value `value` names pods (in `namespace`, or
    /// anywhere): the first of [`crate::engine::summary::NAME_KEYS`] some
    /// known pod has with that value, else `app`. When no readable pod
    /// names it and the pods where it would be could not be read (RBAC),
    /// the key cannot be known: an error that shows the explicit forms
    /// (`explicit` makes one from `KEY=VALUE`), never a guess.
    fn name_key(
        &self,
        namespace: Option<&str>,
        value: &str,
        explicit: impl Fn(&str) -> String,
    ) -> Result<&'static str, String> {
        let pods = self.snapshot.map(|s| s.pods.as_slice()).unwrap_or_default();
        if let Some(k) = crate::engine::summary::NAME_KEYS.iter().find(|k| {
            pods.iter().any(|p| {
                namespace.is_none_or(|n| p.namespace == n)
                    && p.labels.get(**k).map(String::as_str) == Some(value)
            })
        }) {
            return Ok(k);
        }
        let gaps = self.snapshot.map(|s| &s.gaps);
        let unread = match namespace {
            Some(ns) => gaps
                .and_then(|g| g.pods_unknown_in(ns))
                .map(|_| format!("the pods of namespace {ns} are not readable")),
            None => gaps
                .filter(|g| !g.pods.is_empty())
                .map(|_| "the pods of other namespaces are not readable".to_string()),
        };
        match unread {
            Some(why) => Err(format!(
                "{why}, so which label names {value:?} cannot be looked up: write the label, as {} or {}",
                explicit(&format!("app.kubernetes.io/name={value}")),
                explicit(&format!("app={value}"))
            )),
            None => Ok("app"),
        }
    }
}

/// What a peer may be, said when it is none of them.
pub const PEER_FORMS: &str = "expected NAMESPACE/NAME (frontend/web), NAMESPACE/LABELS (frontend/app=web), NAMESPACE/* (every pod of it), a CIDR (10.0.0.0/8), anywhere, or pods=, namespace=, namespace-labels=, cidr= parts (see kubectl netpol wizard --help)";

/// Parses a peer as [`parse_peer_in`] does, outside any namespace.
pub fn parse_peer(text: &str) -> Result<PeerSpec, String> {
    parse_peer_in(text, &PeerContext::default())
}

/// Parses a rule as typed after `--allow-from`/`--allow-to`: `PEER` or
/// `PEER:PORTS` (ports comma-separated, as `--port` takes them:
/// `backend/app=postgres:5432/TCP`). Label keys, label values and
/// namespace names cannot hold `:`, so the last `:` starts the ports; an
/// IPv6 CIDR ends with `/PREFIX`, which is no port, so it keeps its
/// colons (`2001:db8::/32:443` is that CIDR on port 443).
pub fn parse_rule_in(text: &str, cx: &PeerContext) -> Result<DraftRule, String> {
    let text = text.trim();
    if let Some((head, tail)) = text.rsplit_once(':') {
        let ports = if tail.trim().is_empty() {
            Err(format!(
                "{text:?}: no ports after ':' (as frontend/web:8080)"
            ))
        } else {
            tail.split(',')
                .map(|p| parse_port(p).map_err(|e| format!("port {e}")))
                .collect::<Result<Vec<_>, _>>()
        };
        return match (ports, parse_peer_in(head, cx)) {
            (Ok(ports), Ok(peer)) => Ok(DraftRule { peer, ports }),
            (Ok(_), Err(head_error)) => match parse_peer_in(text, cx) {
                Ok(peer) => Ok(DraftRule {
                    peer,
                    ports: Vec::new(),
                }),
                Err(_) => Err(head_error),
            },
            // No peer but an IPv6 CIDR holds a ':'.
            (Err(port_error), Ok(_)) => Err(port_error),
            (Err(_), Err(_)) => parse_peer_in(text, cx).map(|peer| DraftRule {
                peer,
                ports: Vec::new(),
            }),
        };
    }
    parse_peer_in(text, cx).map(|peer| DraftRule {
        peer,
        ports: Vec::new(),
    })
}

/// Parses the peer syntax of `--allow-from`/`--allow-to`, in the notation
/// the outputs (list, explain, matrix) write peers in:
/// `frontend/web` (pods named web: see [`PeerContext`]),
/// `frontend/app=web,tier=x` (a label selector), `frontend/*` and
/// `all pods in frontend`, `frontend pods [track]`,
/// `web in namespaces [team=x]`, `pods [a=b] in any namespace`,
/// `any namespace`, `10.0.0.0/8 except 10.1.0.0/16`, `anywhere`;
/// and in `key=value` parts:
/// `pods=app=web`, `namespace=frontend`, `namespace=frontend,pods=app=web`,
/// `namespaces=a,b`... (`namespace=a|b` too), `namespace-labels=team=x`
/// (`namespace-labels=` alone: every namespace), `cidr=10.0.0.0/8,except=10.1.0.0/16`.
pub fn parse_peer_in(text: &str, cx: &PeerContext) -> Result<PeerSpec, String> {
    let text = text.trim();
    if text == "anywhere" {
        return Ok(PeerSpec::Anywhere);
    }
    let keyed = text
        .split_once('=')
        .is_some_and(|(k, _)| PEER_KEYS.contains(&k.trim()));
    if !keyed && let Some(peer) = notation(text, cx) {
        return peer;
    }
    parse_keyed(text, cx)
}

/// A peer in the outputs' notation; `None` when `text` is not written so.
fn notation(text: &str, cx: &PeerContext) -> Option<Result<PeerSpec, String>> {
    let selector = |s: &str| -> Result<Selector, String> {
        let sel = crate::wizard::hint::parse_selector(s).map_err(|e| format!("{text:?}: {e}"))?;
        for r in &sel.requirements {
            if let Some(e) = validate::label_key(&r.key).first() {
                return Err(format!("{text:?}: label key {:?}: {e}", r.key));
            }
        }
        Ok(sel)
    };
    let ns_name = |n: &str| -> Result<String, String> {
        match validate::dns1123_label(n).first() {
            Some(e) => Err(format!("namespace {n:?}: {e}")),
            None => Ok(n.to_string()),
        }
    };
    // The policy's own namespace is a plain podSelector, as the outputs
    // write `backend/api` for it.
    let in_namespace = |ns: String, pods: Option<Selector>| {
        if ns == cx.namespace {
            PeerSpec::Pods(pods.unwrap_or_default())
        } else {
            PeerSpec::InNamespaces {
                names: vec![ns],
                pods,
            }
        }
    };
    // Addresses: `CIDR`, `CIDR except C1`, `CIDR except [C1, C2]`.
    let first = text.split_whitespace().next().unwrap_or_default();
    let looks_ip = first
        .split_once('/')
        .is_some_and(|(ip, _)| ip.parse::<std::net::IpAddr>().is_ok());
    if looks_ip {
        let (cidr, except) = match text.split_once(" except ") {
            Some((c, e)) => (c.trim(), e.trim()),
            None => (text, ""),
        };
        let except = except
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect::<Vec<_>>()
            .join("|");
        let keyed = if except.is_empty() {
            format!("cidr={cidr}")
        } else {
            format!("cidr={cidr},except={except}")
        };
        return Some(parse_keyed(&keyed, cx));
    }
    if text == "any namespace" {
        return Some(Ok(PeerSpec::InLabelledNamespaces {
            namespaces: Selector::default(),
            pods: None,
        }));
    }
    // WHERE after ` in `: `any namespace`, `namespaces [SEL]`, or a name.
    let place = |w: &str, pods: Option<Selector>| -> Result<PeerSpec, String> {
        let w = w.trim();
        if w == "any namespace" {
            return Ok(PeerSpec::InLabelledNamespaces {
                namespaces: Selector::default(),
                pods,
            });
        }
        if let Some(sel) = w
            .strip_prefix("namespaces [")
            .and_then(|r| r.strip_suffix(']'))
        {
            return Ok(PeerSpec::InLabelledNamespaces {
                namespaces: selector(sel)?,
                pods,
            });
        }
        Ok(in_namespace(ns_name(w)?, pods))
    };
    if let Some(rest) = text.strip_prefix("all pods in ") {
        return Some(place(rest, None));
    }
    if let Some(rest) = text.strip_prefix("pods [") {
        let close = rest.find("] in ")?;
        let pods = match selector(&rest[..close]) {
            Ok(s) => s,
            Err(e) => return Some(Err(e)),
        };
        return Some(place(&rest[close + 5..], Some(pods)));
    }
    // `NS pods [SEL]`
    if let Some((ns, rest)) = text.split_once(" pods [")
        && let Some(sel) = rest.strip_suffix(']')
        && !ns.contains(' ')
    {
        return Some(ns_name(ns).and_then(|ns| Ok(in_namespace(ns, Some(selector(sel)?)))));
    }
    // `NAME in WHERE`
    if let Some((name, w)) = text.split_once(" in ")
        && !name.contains([' ', '=', '!', '(', ',', '/'])
        && (w.starts_with("namespaces [") || w == "any namespace" || !w.contains(' '))
    {
        // A plain namespace name: the key is looked up among its pods.
        let scope = (!w.contains(' ')).then_some(w.trim());
        let explicit = |sel: &str| match scope {
            Some(ns) => format!("{ns}/{sel}"),
            None => format!("pods [{sel}] in {w}"),
        };
        let key = match cx.name_key(scope, name, explicit) {
            Ok(k) => k,
            Err(e) => return Some(Err(format!("{text:?}: {e}"))),
        };
        return Some(selector(&format!("{key}={name}")).and_then(|pods| place(w, Some(pods))));
    }
    // `NS/*`, `NS/NAME`, `NS/SELECTOR`.
    let (ns, rest) = text.split_once('/')?;
    if ns.is_empty() || ns.contains(['=', ',', ' ', '!', '(']) {
        return None;
    }
    let ns = match ns_name(ns) {
        Ok(n) => n,
        Err(e) => return Some(Err(e)),
    };
    let rest = rest.trim();
    if rest == "*" {
        return Some(Ok(in_namespace(ns, None)));
    }
    let plain = !rest.is_empty()
        && !rest.contains(['=', '!', '(', ',', ' '])
        && validate::label_value(rest).is_empty();
    let pods = if plain {
        cx.name_key(Some(&ns), rest, |sel| format!("{ns}/{sel}"))
            .map_err(|e| format!("{text:?}: {e}"))
            .and_then(|key| selector(&format!("{key}={rest}")))
    } else if rest.is_empty() {
        Err(format!(
            "{text:?}: say which pods after the /: a name (frontend/web), labels (frontend/app=web) or * for all"
        ))
    } else {
        selector(rest)
    };
    Some(pods.map(|p| in_namespace(ns, Some(p))))
}

/// The `key=value` parts form of a peer.
fn parse_keyed(text: &str, _cx: &PeerContext) -> Result<PeerSpec, String> {
    // Split on commas, but a piece that does not start with a key belongs
    // to the value before it (`pods=app=web,tier=api`).
    let mut parts: Vec<(String, String)> = Vec::new();
    for piece in text.split(',') {
        let key = piece.split_once('=').map(|(k, _)| k.trim());
        match key {
            Some(k) if PEER_KEYS.contains(&k) => {
                let value = piece.split_once('=').map(|(_, v)| v).unwrap_or_default();
                parts.push((k.to_string(), value.to_string()));
            }
            _ => match parts.last_mut() {
                Some((_, v)) => {
                    v.push(',');
                    v.push_str(piece);
                }
                None if Selector::parse(text).is_ok() && text.contains('=') => {
                    return Err(format!(
                        "{text:?}: labels alone do not say where: did you mean pods={text} (this namespace) or NAMESPACE/{text}?"
                    ));
                }
                None => {
                    return Err(format!("{text:?}: {PEER_FORMS}"));
                }
            },
        }
    }
    for (i, (k, _)) in parts.iter().enumerate() {
        if k != "except" && parts[..i].iter().any(|(other, _)| other == k) {
            return Err(format!(
                "{text:?}: {k}= is given twice (one peer has one of each)"
            ));
        }
    }
    if parts.iter().any(|(k, _)| k == "except") && !parts.iter().any(|(k, _)| k == "cidr") {
        return Err(format!("{text:?}: except= goes with cidr="));
    }
    let get = |k: &str| {
        parts
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let selector = |s: &str| -> Result<Selector, String> {
        if s.trim().is_empty() {
            return Ok(Selector::default());
        }
        let sel = crate::wizard::hint::parse_selector(s).map_err(|e| format!("{text:?}: {e}"))?;
        for r in &sel.requirements {
            if let Some(e) = validate::label_key(&r.key).first() {
                return Err(format!("label key {:?}: {e}", r.key));
            }
        }
        Ok(sel)
    };
    if let Some(cidr) = get("cidr") {
        if parts.iter().any(|(k, _)| k != "cidr" && k != "except") {
            return Err(format!(
                "{text:?}: cidr= cannot be combined with pods= or namespace= (an ipBlock stands alone)"
            ));
        }
        let except: Vec<String> = parts
            .iter()
            .filter(|(k, _)| k == "except")
            .flat_map(|(_, v)| v.split([',', '|']))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let net = validate::parse_cidr(cidr)
            .ok_or_else(|| format!("{cidr:?} is not a CIDR such as 10.0.0.0/8"))?;
        for e in &except {
            let ex =
                validate::parse_cidr(e).ok_or_else(|| format!("except {e:?} is not a CIDR"))?;
            if !net.contains(&ex.network()) || net.prefix_len() >= ex.prefix_len() {
                return Err(format!(
                    "except {e:?} must be inside {cidr} and smaller than it"
                ));
            }
        }
        // Written as the network it means: 10.1.2.3/8 is 10.0.0.0/8.
        let except = except
            .iter()
            .filter_map(|e| validate::parse_cidr(e).map(|n| n.trunc().to_string()))
            .collect();
        return Ok(PeerSpec::IpBlock {
            cidr: net.trunc().to_string(),
            except,
        });
    }
    let pods = get("pods").map(selector).transpose()?;
    let names: Vec<String> = ["namespace", "namespaces"]
        .iter()
        .filter_map(|k| get(k))
        .flat_map(|v| v.split([',', '|']))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    for n in &names {
        if let Some(e) = validate::dns1123_label(n).first() {
            return Err(format!("namespace {n:?}: {e}"));
        }
    }
    if let Some(labels) = get("namespace-labels") {
        if !names.is_empty() {
            return Err(format!(
                "{text:?}: use namespace= or namespace-labels=, not both"
            ));
        }
        return Ok(PeerSpec::InLabelledNamespaces {
            namespaces: selector(labels)?,
            pods,
        });
    }
    if !names.is_empty() {
        return Ok(PeerSpec::InNamespaces { names, pods });
    }
    match pods {
        Some(p) => Ok(PeerSpec::Pods(p)),
        None => Err(format!(
            "{text:?}: say which pods (pods=), namespaces (namespace=) or addresses (cidr=)"
        )),
    }
}

/// An API LabelSelector for a compiled selector: equalities as
/// matchLabels, the rest as matchExpressions; `None` fields left out.
pub fn label_selector(sel: &Selector) -> LabelSelector {
    let mut labels = BTreeMap::new();
    let mut exprs = Vec::new();
    // matchLabels holds one value per key: a key required twice (app=a,app=b)
    // goes to matchExpressions, where both requirements keep their meaning.
    let once = |key: &str| sel.requirements.iter().filter(|r| r.key == key).count() == 1;
    for r in &sel.requirements {
        match &r.op {
            Op::In(v) if v.len() == 1 && once(&r.key) => {
                labels.insert(r.key.clone(), v[0].clone());
            }
            op => {
                let (operator, values) = match op {
                    Op::In(v) => ("In", Some(v.clone())),
                    Op::NotIn(v) => ("NotIn", Some(v.clone())),
                    Op::Exists => ("Exists", None),
                    Op::DoesNotExist => ("DoesNotExist", None),
                };
                exprs.push(LabelSelectorRequirement {
                    key: r.key.clone(),
                    operator: operator.into(),
                    values,
                });
            }
        }
    }
    LabelSelector {
        match_labels: (!labels.is_empty()).then_some(labels),
        match_expressions: (!exprs.is_empty()).then_some(exprs),
    }
}

fn namespace_selector(names: &[String]) -> LabelSelector {
    if let [one] = names {
        let mut labels = BTreeMap::new();
        labels.insert(NAMESPACE_NAME_LABEL.to_string(), one.clone());
        LabelSelector {
            match_labels: Some(labels),
            match_expressions: None,
        }
    } else {
        let mut values = names.to_vec();
        values.sort();
        values.dedup();
        LabelSelector {
            match_labels: None,
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: NAMESPACE_NAME_LABEL.into(),
                operator: "In".into(),
                values: Some(values),
            }]),
        }
    }
}

fn api_peer(p: &PeerSpec) -> Option<NetworkPolicyPeer> {
    Some(match p {
        PeerSpec::Anywhere => return None,
        PeerSpec::Pods(sel) => NetworkPolicyPeer {
            pod_selector: Some(label_selector(sel)),
            ..Default::default()
        },
        PeerSpec::InNamespaces { names, pods } => NetworkPolicyPeer {
            namespace_selector: Some(namespace_selector(names)),
            pod_selector: pods.as_ref().map(label_selector),
            ..Default::default()
        },
        PeerSpec::InLabelledNamespaces { namespaces, pods } => NetworkPolicyPeer {
            namespace_selector: Some(label_selector(namespaces)),
            pod_selector: pods.as_ref().map(label_selector),
            ..Default::default()
        },
        PeerSpec::IpBlock { cidr, except } => NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: cidr.clone(),
                except: (!except.is_empty()).then(|| except.clone()),
            }),
            ..Default::default()
        },
    })
}

fn api_ports(ports: &[PortInput]) -> Option<Vec<NetworkPolicyPort>> {
    (!ports.is_empty()).then(|| {
        ports
            .iter()
            .map(|p| {
                let (port, end_port) = match &p.port {
                    PortKind::Number(n) => (IntOrString::Int(i32::from(*n)), None),
                    PortKind::Range(lo, hi) => {
                        (IntOrString::Int(i32::from(*lo)), Some(i32::from(*hi)))
                    }
                    PortKind::Named(n) => (IntOrString::String(n.clone()), None),
                    PortKind::All => {
                        return NetworkPolicyPort {
                            port: None,
                            end_port: None,
                            protocol: Some(p.protocol.to_string()),
                        };
                    }
                };
                NetworkPolicyPort {
                    port: Some(port),
                    end_port,
                    protocol: Some(p.protocol.to_string()),
                }
            })
            .collect()
    })
}

impl Draft {
    /// The NetworkPolicy these answers describe.
    pub fn to_policy(&self) -> NetworkPolicy {
        let mut types = Vec::new();
        let ingress = self.ingress.as_ref().map(|rules| {
            types.push("Ingress".to_string());
            rules
                .iter()
                .map(|r| NetworkPolicyIngressRule {
                    from: api_peer(&r.peer).map(|p| vec![p]),
                    ports: api_ports(&r.ports),
                })
                .collect::<Vec<_>>()
        });
        let mut egress = self.egress.as_ref().map(|rules| {
            types.push("Egress".to_string());
            rules
                .iter()
                .map(|r| NetworkPolicyEgressRule {
                    to: api_peer(&r.peer).map(|p| vec![p]),
                    ports: api_ports(&r.ports),
                })
                .collect::<Vec<_>>()
        });
        if let (Some(rules), Some(dns)) = (egress.as_mut(), &self.dns) {
            let mut ports = Vec::new();
            for &port in &dns.ports {
                for proto in [Protocol::Udp, Protocol::Tcp] {
                    ports.push(PortInput {
                        protocol: proto,
                        port: PortKind::Number(port),
                    });
                }
            }
            rules.push(NetworkPolicyEgressRule {
                to: api_peer(&PeerSpec::InNamespaces {
                    names: vec![dns.namespace.clone()],
                    pods: Some(dns.pods.clone()),
                })
                .map(|p| vec![p]),
                ports: api_ports(&ports),
            });
        }
        NetworkPolicy {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                namespace: Some(self.namespace.clone()),
                ..Default::default()
            },
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(label_selector(&self.pods)),
                // Empty lists are left out: no rules is spelled by omission.
                ingress: ingress.filter(|r| !r.is_empty()),
                egress: egress.filter(|r| !r.is_empty()),
                policy_types: Some(types),
            }),
        }
    }

    /// A name from the answers: `allow-web-to-api`, `deny-all-ingress`...
    pub fn suggested_name(&self) -> String {
        // Only a name-like label's value names pods (`app=web`, not `enabled=true`).
        let target = crate::engine::summary::selector_name(&self.pods)
            .map(str::to_string)
            .unwrap_or_else(|| {
                if self.pods.is_everything() {
                    "all".into()
                } else {
                    "pods".into()
                }
            });
        let peer_word = |p: &PeerSpec| -> String {
            match p {
                PeerSpec::Anywhere => "anywhere".into(),
                PeerSpec::Pods(s) => crate::engine::summary::selector_name(s)
                    .map(str::to_string)
                    .unwrap_or_else(|| "pods".into()),
                PeerSpec::InNamespaces { names, pods } => {
                    match pods
                        .as_ref()
                        .and_then(crate::engine::summary::selector_name)
                    {
                        Some(v) => v.to_string(),
                        None => names
                            .first()
                            .cloned()
                            .unwrap_or_else(|| "namespaces".into()),
                    }
                }
                PeerSpec::InLabelledNamespaces { .. } => "namespaces".into(),
                PeerSpec::IpBlock { .. } => "cidr".into(),
            }
        };
        let name = match (&self.ingress, &self.egress) {
            (Some(i), _) if !i.is_empty() => format!("allow-{}-to-{target}", peer_word(&i[0].peer)),
            (_, Some(e)) if !e.is_empty() => format!("allow-{target}-to-{}", peer_word(&e[0].peer)),
            (Some(_), Some(_)) => format!("deny-all-{target}"),
            (Some(_), None) => format!("deny-ingress-{target}"),
            (None, Some(_)) if self.dns.is_some() => format!("allow-dns-only-{target}"),
            (None, Some(_)) => format!("deny-egress-{target}"),
            (None, None) => format!("policy-{target}"),
        };
        sanitize_name(&name)
    }
}

impl DnsTarget {
    /// The egress rule [`Draft::to_policy`] writes for it: UDP and TCP on
    /// each port, to its pods.
    pub fn rule(&self) -> DraftRule {
        let mut ports = Vec::new();
        for &port in &self.ports {
            for protocol in [Protocol::Udp, Protocol::Tcp] {
                ports.push(PortInput {
                    protocol,
                    port: PortKind::Number(port),
                });
            }
        }
        DraftRule {
            peer: PeerSpec::InNamespaces {
                names: vec![self.namespace.clone()],
                pods: Some(self.pods.clone()),
            },
            ports,
        }
    }
}

/// A peer's pods as (namespaces, pods): namespaces by name or by labels
/// (`{}`: any namespace), pods `None` for all; `None` for addresses.
enum PodPeer<'a> {
    Named(&'a [String], Option<&'a Selector>),
    Labelled(&'a Selector, Option<&'a Selector>),
}

fn pod_peer<'a>(peer: &'a PeerSpec, own: &'a [String]) -> Option<PodPeer<'a>> {
    match peer {
        PeerSpec::Pods(s) => Some(PodPeer::Named(own, Some(s))),
        PeerSpec::InNamespaces { names, pods } => Some(PodPeer::Named(names, pods.as_ref())),
        PeerSpec::InLabelledNamespaces { namespaces, pods } => {
            Some(PodPeer::Labelled(namespaces, pods.as_ref()))
        }
        PeerSpec::IpBlock { .. } | PeerSpec::Anywhere => None,
    }
}

/// Whether selector `a` matches every pod `b` matches, as written: each
/// requirement of `a` follows from one of `b`'s (`app in (a,b)` from
/// `app=a`, `app` from `app=a`, `app notin (x)` from `app=a`...).
fn selector_covers(a: Option<&Selector>, b: Option<&Selector>) -> bool {
    let implies = |have: &crate::engine::selector::Requirement,
                   want: &crate::engine::selector::Requirement| {
        if have.key != want.key {
            return false;
        }
        match (&have.op, &want.op) {
            (Op::In(h), Op::In(w)) => !h.is_empty() && h.iter().all(|v| w.contains(v)),
            (Op::In(h), Op::NotIn(w)) => h.iter().all(|v| !w.contains(v)),
            (Op::In(h), Op::Exists) => !h.is_empty(),
            (Op::NotIn(h), Op::NotIn(w)) => w.iter().all(|v| h.contains(v)),
            (Op::Exists, Op::Exists) | (Op::DoesNotExist, Op::DoesNotExist) => true,
            (Op::DoesNotExist, Op::NotIn(_)) => true,
            _ => false,
        }
    };
    match (a, b) {
        (None, _) => true,
        (Some(a), _) if a.is_everything() => true,
        (Some(_), None) => false,
        (Some(a), Some(b)) => a
            .requirements
            .iter()
            .all(|w| b.requirements.iter().any(|h| implies(h, w))),
    }
}

/// Whether peer `a` holds every pod and address peer `b` does, read from
/// the rules alone (not from the pods that exist now).
fn peer_covers(a: &PeerSpec, b: &PeerSpec, namespace: &str) -> bool {
    let own = [namespace.to_string()];
    if matches!(a, PeerSpec::Anywhere) {
        return true;
    }
    match (a, b) {
        (
            PeerSpec::IpBlock { cidr, except },
            PeerSpec::IpBlock {
                cidr: c2,
                except: e2,
            },
        ) => {
            let (Some(net), Some(inner)) = (validate::parse_cidr(cidr), validate::parse_cidr(c2))
            else {
                return false;
            };
            let nets = |l: &[String]| -> Vec<ipnet::IpNet> {
                l.iter().filter_map(|e| validate::parse_cidr(e)).collect()
            };
            let (holes, inner_holes) = (nets(except), nets(e2));
            net.contains(&inner)
                && holes.iter().all(|h| {
                    // A hole of `a` inside `b`'s range must be one of `b`'s.
                    !(inner.contains(h) || h.contains(&inner))
                        || inner_holes.iter().any(|ih| ih.contains(h))
                })
        }
        _ => match (pod_peer(a, &own), pod_peer(b, &own)) {
            (Some(PodPeer::Labelled(ns_a, pods_a)), Some(b_pods)) => {
                let (ns_ok, pods_b) = match b_pods {
                    PodPeer::Labelled(ns_b, pods_b) => {
                        (selector_covers(Some(ns_a), Some(ns_b)), pods_b)
                    }
                    PodPeer::Named(_, pods_b) => (ns_a.is_everything(), pods_b),
                };
                ns_ok && selector_covers(pods_a, pods_b)
            }
            (Some(PodPeer::Named(names_a, pods_a)), Some(PodPeer::Named(names_b, pods_b))) => {
                names_b.iter().all(|n| names_a.contains(n)) && selector_covers(pods_a, pods_b)
            }
            _ => false,
        },
    }
}

/// Whether port `a` admits all of port `b`.
fn port_covers(a: &PortInput, b: &PortInput) -> bool {
    if a.protocol != b.protocol {
        return false;
    }
    match (&a.port, &b.port) {
        (PortKind::All, _) => true,
        (PortKind::Number(x), PortKind::Number(y)) => x == y,
        (PortKind::Range(lo, hi), PortKind::Number(y)) => lo <= y && y <= hi,
        (PortKind::Range(lo, hi), PortKind::Range(l2, h2)) => lo <= l2 && h2 <= hi,
        (PortKind::Named(x), PortKind::Named(y)) => x == y,
        _ => false,
    }
}

/// The rules of `rules` that together admit everything `rule` admits
/// (their indices; one rule, or one per port of `rule`), if they do.
/// Read from the rules as written, seen from a policy in `namespace`.
pub fn covered_by(rules: &[DraftRule], rule: &DraftRule, namespace: &str) -> Option<Vec<usize>> {
    let admits = |a: &DraftRule, port: Option<&PortInput>| {
        peer_covers(&a.peer, &rule.peer, namespace)
            && (a.ports.is_empty()
                || port.is_some_and(|p| a.ports.iter().any(|q| port_covers(q, p))))
    };
    if rule.ports.is_empty() {
        return rules.iter().position(|a| admits(a, None)).map(|i| vec![i]);
    }
    if let Some(i) = rules
        .iter()
        .position(|a| rule.ports.iter().all(|p| admits(a, Some(p))))
    {
        return Some(vec![i]);
    }
    let mut by: Vec<usize> = rule
        .ports
        .iter()
        .map(|p| rules.iter().position(|a| admits(a, Some(p))))
        .collect::<Option<_>>()?;
    by.sort();
    by.dedup();
    Some(by)
}

/// `rule #2 (frontend/app=web on TCP/8080)`, `rules #1 and #3 (...; ...)`.
pub fn rules_named(rules: &[DraftRule], which: &[usize], namespace: &str) -> String {
    let numbers: Vec<String> = which.iter().map(|i| format!("#{}", i + 1)).collect();
    let texts: Vec<String> = which
        .iter()
        .filter_map(|i| rules.get(*i))
        .map(|r| rule_text(r, namespace))
        .collect();
    format!(
        "rule{} {} ({})",
        if which.len() == 1 { "" } else { "s" },
        numbers.join(" and "),
        texts.join("; ")
    )
}

/// Adds `rule` to `rules` unless they admit everything it does already
/// (the same peer and ports, or wider ones): then it is not added again,
/// and a note says which rule admits it.
pub fn add_rule(
    rules: &mut Vec<DraftRule>,
    rule: DraftRule,
    what: &str,
    ingress: bool,
    namespace: &str,
    notes: &mut Vec<String>,
) {
    match covered_by(rules, &rule, namespace) {
        Some(by) => notes.push(format!(
            "{what}: already admitted by {} {}: not added again",
            if ingress { "ingress" } else { "egress" },
            rules_named(rules, &by, namespace)
        )),
        None => rules.push(rule),
    }
}

/// Sets the DNS rule of `draft` (isolating egress), unless its egress
/// rules admit DNS to `target` already: then a note says so.
pub fn add_dns(draft: &mut Draft, target: DnsTarget, what: &str, notes: &mut Vec<String>) {
    let rules = draft.egress.get_or_insert_with(Vec::new);
    match covered_by(rules, &target.rule(), &draft.namespace) {
        Some(by) => {
            notes.push(format!(
                "{what}: DNS is already admitted by egress {}: no second DNS rule",
                rules_named(rules, &by, &draft.namespace)
            ));
            draft.dns = None;
        }
        None => draft.dns = Some(target),
    }
}

/// A rule's `from`/`to` and `ports`, either direction.
type PeersAndPorts = (
    Option<Vec<NetworkPolicyPeer>>,
    Option<Vec<NetworkPolicyPort>>,
);

/// The answers an existing policy gives, for `wizard --from`: its
/// namespace, name, pods, rules and ports. A rule with several peers
/// becomes one rule per peer with the same ports (the same traffic: rules
/// and peers are both a union); the returned notes say so. `Err` for a
/// policy the wizard cannot hold (an unknown selector operator, a peer
/// with neither selector nor ipBlock: the API server refuses both).
pub fn from_policy(np: &NetworkPolicy) -> Result<(Draft, Vec<String>), String> {
    let mut notes = Vec::new();
    let spec = np.spec.clone().unwrap_or_default();
    let pods = Selector::compile(&spec.pod_selector.clone().unwrap_or_default())?;
    let has_egress = spec.egress.as_ref().is_some_and(|e| !e.is_empty());
    let types: Vec<String> = spec.policy_types.clone().unwrap_or_else(|| {
        let mut t = vec!["Ingress".to_string()];
        if has_egress {
            t.push("Egress".into());
        }
        t
    });
    let peer = |p: &NetworkPolicyPeer| -> Result<PeerSpec, String> {
        if let Some(b) = &p.ip_block {
            return Ok(PeerSpec::IpBlock {
                cidr: b.cidr.clone(),
                except: b.except.clone().unwrap_or_default(),
            });
        }
        let pods = p.pod_selector.as_ref().map(Selector::compile).transpose()?;
        match &p.namespace_selector {
            None => pods
                .map(PeerSpec::Pods)
                .ok_or_else(|| "a peer with no selector and no ipBlock".to_string()),
            Some(ns) => {
                let ns = Selector::compile(ns)?;
                match ns.requirements.as_slice() {
                    [r] if r.key == NAMESPACE_NAME_LABEL => match &r.op {
                        Op::In(names) => Ok(PeerSpec::InNamespaces {
                            names: names.clone(),
                            pods,
                        }),
                        _ => Ok(PeerSpec::InLabelledNamespaces {
                            namespaces: ns,
                            pods,
                        }),
                    },
                    _ => Ok(PeerSpec::InLabelledNamespaces {
                        namespaces: ns,
                        pods,
                    }),
                }
            }
        }
    };
    let ports = |list: &Option<Vec<NetworkPolicyPort>>| -> Vec<PortInput> {
        list.iter()
            .flatten()
            .map(|p| {
                let protocol = p
                    .protocol
                    .as_deref()
                    .and_then(Protocol::parse)
                    .unwrap_or(Protocol::Tcp);
                let port = match (&p.port, p.end_port) {
                    (None, _) => PortKind::All,
                    (Some(IntOrString::Int(lo)), Some(hi)) if hi > *lo => {
                        PortKind::Range(*lo as u16, hi as u16)
                    }
                    (Some(IntOrString::Int(n)), _) => PortKind::Number(*n as u16),
                    (Some(IntOrString::String(n)), _) => PortKind::Named(n.clone()),
                };
                PortInput { protocol, port }
            })
            .collect()
    };
    let mut rules = |dir: &str, list: Vec<PeersAndPorts>| -> Result<Vec<DraftRule>, String> {
        let mut out = Vec::new();
        for (i, (peers, p)) in list.iter().enumerate() {
            let ports = ports(p);
            match peers.as_deref() {
                None | Some([]) => out.push(DraftRule {
                    peer: PeerSpec::Anywhere,
                    ports,
                }),
                Some(peers) => {
                    if peers.len() > 1 {
                        notes.push(format!(
                            "{dir} rule #{} has {} peers: the wizard writes one rule per peer, with the same ports (the same traffic)",
                            i + 1,
                            peers.len()
                        ));
                    }
                    for pr in peers {
                        out.push(DraftRule {
                            peer: peer(pr)?,
                            ports: ports.clone(),
                        });
                    }
                }
            }
        }
        Ok(out)
    };
    let ingress = if types.iter().any(|t| t == "Ingress") {
        let list = spec
            .ingress
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.from, r.ports))
            .collect();
        Some(rules("ingress", list)?)
    } else {
        None
    };
    let egress = if types.iter().any(|t| t == "Egress") {
        let list = spec
            .egress
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.to, r.ports))
            .collect();
        Some(rules("egress", list)?)
    } else {
        None
    };
    Ok((
        Draft {
            namespace: np.metadata.namespace.clone().unwrap_or_default(),
            name: np.metadata.name.clone().unwrap_or_default(),
            pods,
            ingress,
            egress,
            dns: None,
        },
        notes,
    ))
}

/// How a peer reads in the wizard's own notation (which [`parse_peer_in`]
/// reads back in `namespace`): `frontend/app=web`, `backend/*`,
/// `namespace-labels=team=x,pods=app=web`, `10.0.0.0/8 except ...`.
pub fn peer_text(peer: &PeerSpec, namespace: &str) -> String {
    let pods_of = |ns: &str, pods: &Option<Selector>| match pods {
        None => format!("{ns}/*"),
        Some(s) if s.is_everything() => format!("{ns}/*"),
        Some(s) => format!("{ns}/{}", s.render()),
    };
    match peer {
        PeerSpec::Anywhere => "anywhere".into(),
        PeerSpec::Pods(s) => pods_of(namespace, &Some(s.clone())),
        PeerSpec::InNamespaces { names, pods } if names.len() == 1 => pods_of(&names[0], pods),
        PeerSpec::InNamespaces { names, pods } => match pods {
            None => format!("namespaces={}", names.join("|")),
            Some(p) => format!("namespaces={},pods={}", names.join("|"), p.render()),
        },
        PeerSpec::InLabelledNamespaces { namespaces, pods } => match pods {
            None => format!("namespace-labels={}", namespaces.render()),
            Some(p) => format!(
                "namespace-labels={},pods={}",
                namespaces.render(),
                p.render()
            ),
        },
        PeerSpec::IpBlock { cidr, except } if except.is_empty() => cidr.clone(),
        PeerSpec::IpBlock { cidr, except } => format!("{cidr} except [{}]", except.join(", ")),
    }
}

/// A rule in one line: `frontend/app=web on TCP/8080, TCP/http` (or `on
/// every port`).
pub fn rule_text(rule: &DraftRule, namespace: &str) -> String {
    format!(
        "{} on {}",
        peer_text(&rule.peer, namespace),
        if rule.ports.is_empty() {
            "every port".to_string()
        } else {
            rule.ports
                .iter()
                .map(PortInput::render)
                .collect::<Vec<_>>()
                .join(", ")
        }
    )
}

/// Lower-cases and replaces what a DNS-1123 name cannot hold.
fn sanitize_name(s: &str) -> String {
    let mut out: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    let out = out.trim_matches(|c| c == '-' || c == '.').to_string();
    out.chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

/// YAML for people: `apiVersion` and `kind` first, nothing empty.
pub fn to_yaml(np: &NetworkPolicy) -> String {
    let mut value = serde_json::to_value(np).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.remove("status");
    }
    serde_yaml_ng::to_string(&value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(s: &str) -> Selector {
        Selector::parse(s).unwrap()
    }

    fn rule(text: &str) -> DraftRule {
        parse_rule_in(
            text,
            &PeerContext {
                namespace: "backend",
                snapshot: None,
            },
        )
        .unwrap()
    }

    /// A rule already admitted (the same, or by wider rules) is found;
    /// one that admits more is not.
    #[test]
    fn covered_rules_are_found_as_written() {
        let rules = vec![
            rule("backend/app in (cache,postgres):5432,6379"),
            rule("kube-system/k8s-app=kube-dns:53/UDP"),
            rule("kube-system/k8s-app=kube-dns:53/TCP"),
            rule("10.0.0.0/8 except 10.1.0.0/16:443"),
            rule("monitoring/*:9000-9100"),
        ];
        let by = |text: &str| covered_by(&rules, &rule(text), "backend");
        assert_eq!(by("backend/app=postgres:5432"), Some(vec![0]));
        assert_eq!(by("pods=app=postgres:6379/TCP"), Some(vec![0]));
        assert_eq!(by("backend/app=postgres:5433"), None);
        assert_eq!(by("backend/app=postgres"), None, "every port is more");
        assert_eq!(by("backend/app=web:5432"), None);
        // The DNS rule, split over two rules (one per protocol).
        assert_eq!(
            covered_by(&rules, &DnsTarget::default().rule(), "backend"),
            Some(vec![1, 2])
        );
        assert_eq!(by("10.2.0.0/16:443"), Some(vec![3]));
        assert_eq!(by("10.1.2.0/24:443"), None, "inside the hole");
        assert_eq!(by("10.0.0.0/8:443"), None, "the hole is not in it");
        assert_eq!(by("10.0.0.0/8 except 10.1.0.0/16:443"), Some(vec![3]));
        assert_eq!(by("monitoring/app=prometheus:9090"), Some(vec![4]));
        assert_eq!(by("monitoring/app=prometheus:8080"), None);
        assert_eq!(by("anywhere:443"), None);
        let anywhere = vec![rule("anywhere")];
        assert_eq!(
            covered_by(&anywhere, &rule("10.0.0.0/8:443"), "backend"),
            Some(vec![0])
        );
        assert_eq!(
            covered_by(&anywhere, &rule("any namespace"), "backend"),
            Some(vec![0])
        );
        let any_ns = vec![rule("any namespace")];
        assert_eq!(
            covered_by(&any_ns, &rule("frontend/app=web:80"), "backend"),
            Some(vec![0])
        );
        assert_eq!(covered_by(&any_ns, &rule("10.0.0.0/8"), "backend"), None);
    }

    /// `NS/NAME` takes the label key from the pods of NS; when those could
    /// not be read, there is no key to take: an error with both explicit
    /// forms, never `app` by default.
    #[test]
    fn a_name_in_an_unreadable_namespace_is_refused_not_guessed() {
        let pod = |ns: &str, k: &str, v: &str| crate::snapshot::PodInfo {
            namespace: ns.into(),
            name: format!("{v}-0"),
            labels: [(k.to_string(), v.to_string())].into(),
            ips: Vec::new(),
            ports: Vec::new(),
            init_ports: Vec::new(),
            workload: None,
            representative: false,
            host_network: false,
            node: None,
            host_ips: Vec::new(),
        };
        let mut snap = crate::snapshot::Snapshot::new(
            Vec::new(),
            vec![
                pod("shop-search", "app.kubernetes.io/name", "search"),
                pod("shop-backend", "app", "api"),
            ],
            Vec::new(),
        );
        fn cx(s: &crate::snapshot::Snapshot) -> PeerContext<'_> {
            PeerContext {
                namespace: "shop-backend",
                snapshot: Some(s),
            }
        }
        let want = |key: &str| PeerSpec::InNamespaces {
            names: vec!["shop-search".into()],
            pods: Some(sel(&format!("{key}=search"))),
        };
        // Readable: the key its pods carry.
        assert_eq!(
            parse_peer_in("shop-search/search", &cx(&snap)).unwrap(),
            want("app.kubernetes.io/name")
        );
        assert_eq!(
            parse_peer_in("search in shop-search", &cx(&snap)).unwrap(),
            want("app.kubernetes.io/name")
        );
        // Read, but no pod by that name: `app`, as documented.
        assert_eq!(
            parse_peer_in("shop-search/other", &cx(&snap)).unwrap(),
            PeerSpec::InNamespaces {
                names: vec!["shop-search".into()],
                pods: Some(sel("app=other")),
            }
        );
        // Not readable (RBAC): refused, with the explicit forms.
        snap.pods.retain(|p| p.namespace == "shop-backend");
        snap.gaps.pods.insert("*".into(), "forbidden".into());
        snap.gaps.pods_read.insert("shop-backend".into());
        let e = parse_peer_in("shop-search/search", &cx(&snap)).unwrap_err();
        assert_eq!(
            e,
            "\"shop-search/search\": the pods of namespace shop-search are not readable, so which label names \"search\" cannot be looked up: write the label, as shop-search/app.kubernetes.io/name=search or shop-search/app=search"
        );
        let e = parse_peer_in("search in shop-search", &cx(&snap)).unwrap_err();
        assert!(
            e.ends_with("as shop-search/app.kubernetes.io/name=search or shop-search/app=search"),
            "{e}"
        );
        let e = parse_peer_in("search in namespaces [team=x]", &cx(&snap)).unwrap_err();
        assert!(
            e.ends_with("as pods [app.kubernetes.io/name=search] in namespaces [team=x] or pods [app=search] in namespaces [team=x]"),
            "{e}"
        );
        // The explicit forms are taken as written.
        assert_eq!(
            parse_peer_in("shop-search/app.kubernetes.io/name=search", &cx(&snap)).unwrap(),
            want("app.kubernetes.io/name")
        );
        // The own namespace is readable: its names resolve.
        assert_eq!(
            parse_peer_in("shop-backend/api", &cx(&snap)).unwrap(),
            PeerSpec::Pods(sel("app=api"))
        );
    }

    #[test]
    fn ports_parse_as_typed() {
        assert_eq!(
            parse_port("8080").unwrap(),
            PortInput {
                protocol: Protocol::Tcp,
                port: PortKind::Number(8080)
            }
        );
        assert_eq!(
            parse_port("53/udp").unwrap(),
            PortInput {
                protocol: Protocol::Udp,
                port: PortKind::Number(53)
            }
        );
        assert_eq!(
            parse_port("8000-8100").unwrap().port,
            PortKind::Range(8000, 8100)
        );
        assert_eq!(
            parse_port("http").unwrap().port,
            PortKind::Named("http".into())
        );
        for bad in ["0", "70000", "8100-8000", "Http_", "53/ICMP", "", "a-"] {
            assert!(parse_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn peers_parse_as_documented() {
        assert_eq!(parse_peer("anywhere").unwrap(), PeerSpec::Anywhere);
        assert_eq!(
            parse_peer("pods=app=web,tier=front").unwrap(),
            PeerSpec::Pods(sel("app=web,tier=front"))
        );
        assert_eq!(
            parse_peer("namespace=frontend,pods=app=web").unwrap(),
            PeerSpec::InNamespaces {
                names: vec!["frontend".into()],
                pods: Some(sel("app=web"))
            }
        );
        assert_eq!(
            parse_peer("namespaces=a|b").unwrap(),
            PeerSpec::InNamespaces {
                names: vec!["a".into(), "b".into()],
                pods: None
            }
        );
        assert_eq!(
            parse_peer("namespace-labels=team=x").unwrap(),
            PeerSpec::InLabelledNamespaces {
                namespaces: sel("team=x"),
                pods: None
            }
        );
        assert_eq!(
            parse_peer("cidr=10.0.0.0/8,except=10.1.0.0/16").unwrap(),
            PeerSpec::IpBlock {
                cidr: "10.0.0.0/8".into(),
                except: vec!["10.1.0.0/16".into()]
            }
        );
        for bad in [
            "",
            "app=web",
            "cidr=10.0.0.0/33",
            "cidr=10.0.0.0/8,except=11.0.0.0/16",
            "cidr=10.0.0.0/8,pods=a=b",
            "namespace=Bad_NS",
            "pods=app in web",
        ] {
            assert!(parse_peer(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers_become_a_minimal_valid_policy() {
        let draft = Draft {
            namespace: "backend".into(),
            name: String::new(),
            pods: sel("app=api"),
            ingress: Some(vec![DraftRule {
                peer: parse_peer("namespace=frontend,pods=app=web").unwrap(),
                ports: vec![parse_port("8080").unwrap()],
            }]),
            egress: Some(vec![]),
            dns: Some(DnsTarget::default()),
        };
        let mut d = draft.clone();
        d.name = d.suggested_name();
        assert_eq!(d.name, "allow-web-to-api");
        let np = d.to_policy();
        assert!(validate::network_policy(&np).is_empty());
        let yaml = to_yaml(&np);
        let want = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-web-to-api
  namespace: backend
spec:
  egress:
  - ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
    to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
      podSelector:
        matchLabels:
          k8s-app: kube-dns
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: frontend
      podSelector:
        matchLabels:
          app: web
    ports:
    - port: 8080
      protocol: TCP
  podSelector:
    matchLabels:
      app: api
  policyTypes:
  - Ingress
  - Egress
";
        assert_eq!(yaml, want);
        assert!(!yaml.contains("status"));
    }

    #[test]
    fn deny_all_has_no_rules_and_an_empty_selector() {
        let d = Draft {
            namespace: "shop".into(),
            name: "deny-all".into(),
            pods: Selector::default(),
            ingress: Some(vec![]),
            egress: None,
            dns: None,
        };
        let yaml = to_yaml(&d.to_policy());
        assert!(yaml.contains("podSelector: {}"), "{yaml}");
        assert!(!yaml.contains("ingress:"), "{yaml}");
        assert!(
            yaml.contains("policyTypes:\n  - Ingress\n")
                || yaml.contains("policyTypes:\n  - Ingress"),
            "{yaml}"
        );
        assert_eq!(d.suggested_name(), "deny-ingress-all");
    }

    #[test]
    fn suggested_names_take_only_name_like_label_values() {
        let rule = |peer: PeerSpec| DraftRule {
            peer,
            ports: vec![],
        };
        let d = Draft {
            namespace: "shop".into(),
            name: String::new(),
            pods: sel("enabled=true"),
            ingress: Some(vec![rule(PeerSpec::Pods(sel("role=1")))]),
            egress: None,
            dns: None,
        };
        assert_eq!(d.suggested_name(), "allow-pods-to-pods");
        let d = Draft {
            pods: sel("app=api"),
            ingress: Some(vec![rule(PeerSpec::Pods(sel("k8s-app=web")))]),
            ..d
        };
        assert_eq!(d.suggested_name(), "allow-web-to-api");
    }
}
