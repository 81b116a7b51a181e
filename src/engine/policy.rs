//! NetworkPolicies compiled for evaluation: selectors pre-compiled, CIDRs
//! parsed, policyTypes made effective, ports typed.
//!
//! The three meanings of "nothing" are kept apart here: `ingress` absent or
//! `[]` means no rule (allows nothing once isolated); a rule with no `from`
//! (absent or empty) matches every peer; a rule with no `ports` matches every
//! port.

use std::net::IpAddr;

use ipnet::IpNet;
use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::engine::ports::{PortSet, Protocol};
use crate::engine::selector::Selector;
use crate::engine::validate::parse_cidr;
use crate::snapshot::{ContainerPort, NAMESPACE_NAME_LABEL};

/// Ingress or egress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    pub const BOTH: [Direction; 2] = [Direction::Ingress, Direction::Egress];

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }

    /// The spec field holding this direction's rules.
    pub fn field(self) -> &'static str {
        self.as_str()
    }

    /// The peer list field of a rule of this direction.
    pub fn peer_field(self) -> &'static str {
        match self {
            Direction::Ingress => "from",
            Direction::Egress => "to",
        }
    }
}

/// One `ports` entry of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortSpec {
    pub protocol: Protocol,
    pub port: PortValue,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PortValue {
    /// No `port`: every port of the protocol.
    Any,
    /// `port`, or `port`..=`endPort`.
    Range(u16, u16),
    /// A named port, resolved on the destination pod.
    Named(String),
}

impl PortSpec {
    /// The ports this entry admits when the destination declares
    /// `dest_ports` (`None` for a destination outside the cluster, where a
    /// named port cannot resolve).
    pub fn resolve(&self, dest_ports: Option<&[ContainerPort]>) -> PortSet {
        let mut set = PortSet::empty();
        match &self.port {
            PortValue::Any => set.insert(self.protocol, 1, 65535),
            PortValue::Range(lo, hi) => set.insert(self.protocol, *lo, *hi),
            PortValue::Named(name) => {
                for cp in dest_ports.unwrap_or_default() {
                    if cp.protocol == self.protocol && cp.name.as_deref() == Some(name.as_str()) {
                        set.insert(cp.protocol, cp.port, cp.port);
                    }
                }
            }
        }
        set
    }

    /// `TCP/8080`, `TCP/8000-8100`, `TCP/http`, `UDP/all`.
    pub fn render(&self) -> String {
        match &self.port {
            PortValue::Any => format!("{}/all", self.protocol),
            PortValue::Range(lo, hi) if lo == hi => format!("{}/{lo}", self.protocol),
            PortValue::Range(lo, hi) => format!("{}/{lo}-{hi}", self.protocol),
            PortValue::Named(n) => format!("{}/{n}", self.protocol),
        }
    }
}

/// The namespaces a selector peer looks in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NamespaceScope {
    /// No namespaceSelector: the policy's own namespace.
    Own(String),
    /// A namespaceSelector.
    Selected(Selector),
}

impl NamespaceScope {
    /// The namespace this scope names exactly, if it does.
    pub fn single_name(&self) -> Option<&str> {
        match self {
            NamespaceScope::Own(n) => Some(n),
            NamespaceScope::Selected(s) => s.only_equals(NAMESPACE_NAME_LABEL),
        }
    }
}

/// An ipBlock: `cidr` minus `except`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IpBlock {
    pub cidr: IpNet,
    pub except: Vec<IpNet>,
}

impl IpBlock {
    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.cidr.contains(ip) && !self.except.iter().any(|e| e.contains(ip))
    }

    pub fn render(&self) -> String {
        if self.except.is_empty() {
            self.cidr.to_string()
        } else {
            let ex: Vec<String> = self.except.iter().map(ToString::to_string).collect();
            if ex.len() == 1 {
                format!("{} except {}", self.cidr, ex[0])
            } else {
                format!("{} except [{}]", self.cidr, ex.join(", "))
            }
        }
    }
}

/// One entry of `from` / `to`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Peer {
    /// Pods picked by selectors. `pods: None` means every pod of the
    /// namespaces in scope.
    Pods {
        namespaces: NamespaceScope,
        pods: Option<Selector>,
    },
    IpBlock(IpBlock),
}

/// One ingress or egress rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    /// `None`: `from`/`to` absent or empty, every peer.
    pub peers: Option<Vec<Peer>>,
    /// `None`: `ports` absent or empty, every port.
    pub ports: Option<Vec<PortSpec>>,
}

impl Rule {
    /// The ports this rule admits towards a destination with `dest_ports`.
    pub fn resolve_ports(&self, dest_ports: Option<&[ContainerPort]>) -> PortSet {
        match &self.ports {
            None => PortSet::all(),
            Some(specs) => {
                let mut set = PortSet::empty();
                for s in specs {
                    set.union_with(&s.resolve(dest_ports));
                }
                set
            }
        }
    }
}

/// A compiled NetworkPolicy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub namespace: String,
    pub name: String,
    pub pod_selector: Selector,
    /// `Some` iff Ingress is in the effective policyTypes.
    pub ingress: Option<Vec<Rule>>,
    /// `Some` iff Egress is in the effective policyTypes.
    pub egress: Option<Vec<Rule>>,
    /// Whether policyTypes was written out (false: defaulted).
    pub explicit_types: bool,
}

impl Policy {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Every peer of every rule, both directions.
    pub fn peers(&self) -> impl Iterator<Item = &Peer> {
        Direction::BOTH
            .into_iter()
            .flat_map(move |d| self.rules(d).unwrap_or_default().iter())
            .flat_map(|r| r.peers.iter().flatten())
    }

    /// Whether some peer picks namespaces by labels other than their name.
    pub fn uses_namespace_labels(&self) -> bool {
        self.peers().any(|peer| {
            matches!(peer, Peer::Pods { namespaces: NamespaceScope::Selected(sel), .. }
                if sel.only_equals(NAMESPACE_NAME_LABEL).is_none())
        })
    }

    pub fn rules(&self, d: Direction) -> Option<&[Rule]> {
        match d {
            Direction::Ingress => self.ingress.as_deref(),
            Direction::Egress => self.egress.as_deref(),
        }
    }

    /// Compiles a policy that passed validation. `default_namespace` is
    /// where a policy without `metadata.namespace` lands.
    pub fn compile(np: &NetworkPolicy, default_namespace: &str) -> Result<Policy, String> {
        let namespace = np
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| default_namespace.to_string());
        let name = np.metadata.name.clone().unwrap_or_default();
        let spec = np.spec.clone().unwrap_or_default();
        let pod_selector = match &spec.pod_selector {
            Some(s) => Selector::compile(s)?,
            None => Selector::everything(),
        };
        let explicit_types = spec.policy_types.as_ref().is_some_and(|t| !t.is_empty());
        // Defaulting as the API server does it: Ingress always, Egress when
        // there is at least one egress rule.
        let (has_ingress, has_egress) = if explicit_types {
            let t = spec.policy_types.as_deref().unwrap_or_default();
            (
                t.iter().any(|t| t == "Ingress"),
                t.iter().any(|t| t == "Egress"),
            )
        } else {
            (true, spec.egress.as_ref().is_some_and(|e| !e.is_empty()))
        };
        let ingress = has_ingress
            .then(|| {
                spec.ingress
                    .iter()
                    .flatten()
                    .map(|r| compile_rule(r.from.as_deref(), r.ports.as_deref(), &namespace))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let egress = has_egress
            .then(|| {
                spec.egress
                    .iter()
                    .flatten()
                    .map(|r| compile_rule(r.to.as_deref(), r.ports.as_deref(), &namespace))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(Policy {
            namespace,
            name,
            pod_selector,
            ingress,
            egress,
            explicit_types,
        })
    }
}

fn compile_rule(
    peers: Option<&[NetworkPolicyPeer]>,
    ports: Option<&[NetworkPolicyPort]>,
    namespace: &str,
) -> Result<Rule, String> {
    let peers = match peers {
        None | Some([]) => None,
        Some(list) => Some(
            list.iter()
                .map(|p| compile_peer(p, namespace))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let ports = match ports {
        None | Some([]) => None,
        Some(list) => Some(
            list.iter()
                .map(compile_port)
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(Rule { peers, ports })
}

fn compile_peer(p: &NetworkPolicyPeer, namespace: &str) -> Result<Peer, String> {
    if let Some(block) = &p.ip_block {
        let cidr =
            parse_cidr(&block.cidr).ok_or_else(|| format!("invalid CIDR {:?}", block.cidr))?;
        let except = block
            .except
            .iter()
            .flatten()
            .map(|e| parse_cidr(e).ok_or_else(|| format!("invalid CIDR {e:?}")))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Peer::IpBlock(IpBlock {
            cidr: cidr.trunc(),
            except: except.into_iter().map(|e| e.trunc()).collect(),
        }));
    }
    let namespaces = match &p.namespace_selector {
        Some(s) => NamespaceScope::Selected(Selector::compile(s)?),
        None => NamespaceScope::Own(namespace.to_string()),
    };
    let pods = p.pod_selector.as_ref().map(Selector::compile).transpose()?;
    Ok(Peer::Pods { namespaces, pods })
}

fn compile_port(p: &NetworkPolicyPort) -> Result<PortSpec, String> {
    let protocol = match p.protocol.as_deref() {
        None => Protocol::Tcp,
        Some(s) => Protocol::parse(s).ok_or_else(|| format!("unsupported protocol {s:?}"))?,
    };
    let port = match &p.port {
        None => PortValue::Any,
        Some(IntOrString::Int(n)) => {
            let lo = u16::try_from(*n).map_err(|_| format!("invalid port {n}"))?;
            let hi = match p.end_port {
                Some(e) => u16::try_from(e).map_err(|_| format!("invalid endPort {e}"))?,
                None => lo,
            };
            PortValue::Range(lo, hi)
        }
        Some(IntOrString::String(name)) => PortValue::Named(name.clone()),
    };
    Ok(PortSpec { protocol, port })
}
