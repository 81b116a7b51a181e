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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortKind {
    Number(u16),
    Range(u16, u16),
    Named(String),
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

/// Parses `--port` syntax: `8080`, `8000-8100`, `http`, `53/UDP`, `http/TCP`.
pub fn parse_port(text: &str) -> Result<PortInput, String> {
    let text = text.trim();
    let (port, protocol) = match text.split_once('/') {
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

/// Parses the peer syntax of `--allow-from`/`--allow-to`:
/// `pods=app=web`, `namespace=frontend`, `namespace=frontend,pods=app=web`,
/// `namespaces=a,b`... (`namespace=a|b` too), `namespace-labels=team=x`
/// (`namespace-labels=` alone: every namespace), `cidr=10.0.0.0/8,except=10.1.0.0/16`,
/// `anywhere`.
pub fn parse_peer(text: &str) -> Result<PeerSpec, String> {
    let text = text.trim();
    if text == "anywhere" {
        return Ok(PeerSpec::Anywhere);
    }
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
                None => {
                    return Err(format!(
                        "{text:?}: expected anywhere, pods=LABELS, namespace=NAME, namespace-labels=LABELS or cidr=CIDR (with optional ,pods= / ,except=)"
                    ));
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
        let sel = Selector::parse(s).map_err(|e| format!("{text:?}: {e}"))?;
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
