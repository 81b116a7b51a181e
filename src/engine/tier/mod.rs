//! Cluster-scoped policy tiers: `ClusterNetworkPolicy`
//! (`policy.networking.k8s.io/v1alpha2` and `v1beta1`) and its
//! predecessors `AdminNetworkPolicy` / `BaselineAdminNetworkPolicy`
//! (`v1alpha1`), read into one model ([`ClusterPolicy`]) and evaluated
//! around NetworkPolicy ([`eval`]).
//!
//! The v1alpha1 kinds map onto v1alpha2's: an AdminNetworkPolicy is an
//! Admin-tier policy (`Allow` is `Accept`), the BaselineAdminNetworkPolicy
//! a Baseline-tier policy without priority; `portNumber` / `portRange` /
//! `namedPort` are v1alpha2's numbers, ranges and named ports.
//!
//! Objects the API server would reject ([`validate`]) are kept aside as
//! [`InvalidClusterPolicy`], with what could still be read of them (tier,
//! subject, directions), so that the answers they could change are
//! undecided rather than silently wrong.

pub mod api;
pub mod cover;
pub mod eval;
pub mod validate;

use ipnet::IpNet;
use serde_json::Value;

use crate::engine::policy::Direction;
use crate::engine::ports::{PortSet, Protocol};
use crate::engine::selector::Selector;
use crate::engine::validate::{FieldError, parse_cidr};
use crate::snapshot::{ClusterPolicyObject, ContainerPort};
pub use validate::Api;

/// The tier a cluster policy belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    Admin,
    Baseline,
}

impl Tier {
    /// `Admin` / `Baseline`, as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Admin => "Admin",
            Tier::Baseline => "Baseline",
        }
    }
}

/// What a rule does to the connections it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// v1alpha1's `Allow`: final, allowed.
    Accept,
    /// Final, denied.
    Deny,
    /// Skips the rest of the tier: NetworkPolicy (from Admin) or the
    /// default (from Baseline) decides.
    Pass,
}

impl Action {
    pub const ALL: [Action; 3] = [Action::Accept, Action::Deny, Action::Pass];

    /// `Accept` / `Deny` / `Pass` (v1alpha2's words, also for v1alpha1).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "Accept",
            Action::Deny => "Deny",
            Action::Pass => "Pass",
        }
    }

    fn parse(s: &str) -> Option<Action> {
        match s {
            "Accept" | "Allow" => Some(Action::Accept),
            "Deny" => Some(Action::Deny),
            "Pass" => Some(Action::Pass),
            _ => None,
        }
    }

    fn index(self) -> usize {
        match self {
            Action::Accept => 0,
            Action::Deny => 1,
            Action::Pass => 2,
        }
    }
}

/// The pods a cluster policy applies to (never host-network pods).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Every pod of the namespaces selected.
    Namespaces(Selector),
    /// Pods by labels, in the namespaces selected (`None`: every
    /// namespace, unlike NetworkPolicy's own namespace).
    Pods {
        namespaces: Option<Selector>,
        pods: Selector,
    },
    /// A subject with a selector the API server accepts but an
    /// implementation cannot convert (a bad key, value or operator): which
    /// pods it selects is unknown (never a guess), with why.
    Unusable(String),
}

/// One peer of a cluster policy rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TierPeer {
    /// Every pod-network pod of the namespaces selected.
    Namespaces(Selector),
    /// Pod-network pods by labels (`namespaces: None`: in every namespace).
    Pods {
        namespaces: Option<Selector>,
        pods: Selector,
    },
    /// Addresses in these CIDRs: pod IPs included (egress only).
    Networks(Vec<IpNet>),
    /// The addresses of the nodes selected, hence host-network pods on
    /// them (egress only).
    Nodes(Selector),
    /// Addresses the names resolve to: not decidable offline (egress only).
    DomainNames(Vec<String>),
    /// A `namespaces`, `pods` (`nodes: false`) or `nodes` peer with a
    /// selector the API server accepts but an implementation cannot
    /// convert: what it matches among the pods (or node addresses) is
    /// unknown, with why.
    Unusable { nodes: bool, why: String },
}

/// One port entry of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TierPort {
    /// A port or an inclusive range of one protocol, first <= last (a
    /// reversed v1alpha1 range is [`TierPort::Reversed`]).
    Range(Protocol, u16, u16),
    /// A container port name, resolved on the destination pod with the
    /// protocol that port declares.
    Named(String),
    /// A v1alpha1 `portNumber`/`portRange` of a protocol outside TCP, UDP
    /// and SCTP (the schema takes any string): matches none of those.
    Other(String),
    /// A v1alpha1 `portRange` whose start is above its end (the CRD
    /// accepts it): which of the ports between the two an implementation
    /// matches is unknown, so they are undecided.
    Reversed(Protocol, u16, u16),
}

impl TierPort {
    /// `TCP/80`, `TCP/8000-9000`, `named port http`, `ICMP/1`.
    pub fn render(&self) -> String {
        match self {
            TierPort::Range(p, lo, hi) if lo == hi => format!("{p}/{lo}"),
            TierPort::Range(p, lo, hi) => format!("{p}/{lo}-{hi}"),
            TierPort::Named(n) => format!("named port {n}"),
            TierPort::Other(p) => format!("{p} (not TCP, UDP or SCTP)"),
            TierPort::Reversed(p, start, end) => format!("{p}/{start}-{end} (reversed)"),
        }
    }
}

/// One rule: its action, peers and ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierRule {
    pub name: Option<String>,
    pub action: Action,
    /// At least one (validated).
    pub peers: Vec<TierPeer>,
    /// `None`: every port of every protocol.
    pub ports: Option<Vec<TierPort>>,
}

impl TierRule {
    /// The ports of the rule toward a destination declaring `dest_ports`
    /// (`None`: not a pod on the pod network, where names resolve to
    /// nothing).
    pub fn resolve_ports(&self, dest_ports: Option<&[ContainerPort]>) -> PortSet {
        let Some(ports) = &self.ports else {
            return PortSet::all();
        };
        let mut set = PortSet::empty();
        for p in ports {
            match p {
                TierPort::Range(proto, lo, hi) => set.insert(*proto, *lo, *hi),
                TierPort::Named(name) => {
                    for cp in dest_ports.unwrap_or_default() {
                        if cp.name.as_deref() == Some(name.as_str()) {
                            set.insert(cp.protocol, cp.port, cp.port);
                        }
                    }
                }
                TierPort::Other(_) | TierPort::Reversed(..) => {}
            }
        }
        set
    }

    /// The ports whose match by this rule is unknown (a reversed v1alpha1
    /// range: the ports between its ends); empty for most rules.
    pub fn undecided_ports(&self) -> PortSet {
        let mut set = PortSet::empty();
        for p in self.ports.iter().flatten() {
            if let TierPort::Reversed(proto, start, end) = p {
                set.insert(*proto, *end.min(start), *start.max(end));
            }
        }
        set
    }
}

/// A valid cluster-scoped policy, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterPolicy {
    pub api: Api,
    /// `ClusterNetworkPolicy`, `AdminNetworkPolicy` or
    /// `BaselineAdminNetworkPolicy`.
    pub kind: String,
    pub api_version: String,
    pub name: String,
    pub tier: Tier,
    /// 0-1000, lower first; `None` for the BaselineAdminNetworkPolicy.
    pub priority: Option<u32>,
    pub subject: Subject,
    pub ingress: Vec<TierRule>,
    pub egress: Vec<TierRule>,
}

impl ClusterPolicy {
    pub fn rules(&self, d: Direction) -> &[TierRule] {
        match d {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }

    /// Whether some selector picks namespaces by labels other than their
    /// name (what a namespace not read cannot be matched against).
    pub fn uses_namespace_labels(&self) -> bool {
        let by_labels = |s: &Selector| {
            s.only_equals(crate::snapshot::NAMESPACE_NAME_LABEL)
                .is_none()
                && !s.is_everything()
        };
        let subject = match &self.subject {
            Subject::Namespaces(s) => by_labels(s),
            Subject::Pods { namespaces, .. } => namespaces.as_ref().is_some_and(by_labels),
            // Unknown whatever the namespaces' labels (see Subject::Unusable).
            Subject::Unusable(_) => false,
        };
        subject
            || self
                .ingress
                .iter()
                .chain(&self.egress)
                .flat_map(|r| &r.peers)
                .any(|p| match p {
                    TierPeer::Namespaces(s) => by_labels(s),
                    TierPeer::Pods { namespaces, .. } => namespaces.as_ref().is_some_and(by_labels),
                    _ => false,
                })
    }

    /// `clusternetworkpolicy/NAME` (`adminnetworkpolicy/...`,
    /// `baselineadminnetworkpolicy/...`), as kubectl names objects.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.kind.to_lowercase(), self.name)
    }

    /// `Admin NAME (priority 10)`, `Baseline default`: how a chain of
    /// decisions names the policy.
    pub fn label(&self) -> String {
        match self.priority {
            Some(p) => format!("{} {} (priority {p})", self.tier.as_str(), self.name),
            None => format!("{} {}", self.tier.as_str(), self.name),
        }
    }

    /// Compiles a policy that passed [`validate::validate`].
    pub fn compile(api: Api, object: &ClusterPolicyObject) -> Result<ClusterPolicy, String> {
        let spec: api::Spec = match object.value.get("spec") {
            Some(spec) => serde_json::from_value(spec.clone()).map_err(|e| e.to_string())?,
            None => api::Spec::default(),
        };
        let tier = match api {
            Api::Cluster => match spec.tier.as_deref() {
                Some("Admin") => Tier::Admin,
                Some("Baseline") => Tier::Baseline,
                other => return Err(format!("unsupported tier {other:?}")),
            },
            Api::Admin => Tier::Admin,
            Api::Baseline => Tier::Baseline,
        };
        let priority = match (api, spec.priority) {
            (Api::Baseline, _) => None,
            (_, Some(p)) => Some(u32::try_from(p).map_err(|_| format!("invalid priority {p}"))?),
            (_, None) => return Err("priority is required".into()),
        };
        let subject = compile_subject(&spec.subject)?;
        let rules = |list: &Option<Vec<api::Rule>>, egress: bool| {
            list.iter()
                .flatten()
                .map(|r| compile_rule(r, egress))
                .collect::<Result<Vec<_>, String>>()
        };
        Ok(ClusterPolicy {
            api,
            kind: object.kind.clone(),
            api_version: object.api_version.clone(),
            name: object.name.clone(),
            tier,
            priority,
            subject,
            ingress: rules(&spec.ingress, false)?,
            egress: rules(&spec.egress, true)?,
        })
    }
}

/// A selector as an implementation converts it: `Err(why)` when it
/// cannot (a bad key, value or operator, which the CRDs accept).
fn compile_selector(
    sel: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
) -> Result<Selector, String> {
    let problems = crate::engine::validate::label_selector(sel, "selector");
    if let Some(first) = problems.first() {
        let detail = first.to_string();
        let detail = detail.strip_prefix("selector").unwrap_or(&detail);
        let detail = detail.trim_start_matches('.').trim_start_matches(": ");
        return Err(format!("its selector cannot be converted ({detail})"));
    }
    Selector::compile(sel).map_err(|e| format!("its selector cannot be converted ({e})"))
}

fn compile_subject(s: &api::Subject) -> Result<Subject, String> {
    match compile_subject_selectors(s) {
        Err(why) if why.starts_with("its selector") => Ok(Subject::Unusable(why)),
        other => other,
    }
}

fn compile_subject_selectors(s: &api::Subject) -> Result<Subject, String> {
    match (&s.namespaces, &s.pods) {
        (Some(ns), None) => Ok(Subject::Namespaces(compile_selector(ns)?)),
        (None, Some(p)) => Ok(Subject::Pods {
            namespaces: p
                .namespace_selector
                .as_ref()
                .map(compile_selector)
                .transpose()?,
            pods: p
                .pod_selector
                .as_ref()
                .map(compile_selector)
                .transpose()?
                .unwrap_or_default(),
        }),
        _ => Err("the subject must have exactly one of namespaces and pods".into()),
    }
}

fn compile_rule(r: &api::Rule, egress: bool) -> Result<TierRule, String> {
    let action =
        Action::parse(&r.action).ok_or_else(|| format!("unsupported action {:?}", r.action))?;
    let peers = if egress { &r.to } else { &r.from };
    let peers = peers
        .iter()
        .flatten()
        .map(|p| match compile_peer(p) {
            Err(why) if why.starts_with("its selector") => Ok(TierPeer::Unusable {
                nodes: p.nodes.is_some(),
                why,
            }),
            other => other,
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ports = match (&r.protocols, &r.ports) {
        (Some(list), _) => Some(
            list.iter()
                .map(compile_protocol)
                .collect::<Result<_, _>>()?,
        ),
        (None, Some(list)) => Some(
            list.iter()
                .map(compile_anp_port)
                .collect::<Result<_, _>>()?,
        ),
        (None, None) => None,
    };
    Ok(TierRule {
        name: r.name.clone().filter(|n| !n.is_empty()),
        action,
        peers,
        ports,
    })
}

fn compile_peer(p: &api::Peer) -> Result<TierPeer, String> {
    if let Some(ns) = &p.namespaces {
        return Ok(TierPeer::Namespaces(compile_selector(ns)?));
    }
    if let Some(pods) = &p.pods {
        return Ok(TierPeer::Pods {
            namespaces: pods
                .namespace_selector
                .as_ref()
                .map(compile_selector)
                .transpose()?,
            pods: pods
                .pod_selector
                .as_ref()
                .map(compile_selector)
                .transpose()?
                .unwrap_or_default(),
        });
    }
    if let Some(nets) = &p.networks {
        // Go's CIDR parsing keeps the network address: v1alpha1's host
        // bits are cleared.
        let nets = nets
            .iter()
            .map(|n| {
                parse_cidr(n)
                    .map(|n| n.trunc())
                    .ok_or_else(|| format!("invalid CIDR {n:?}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(TierPeer::Networks(nets));
    }
    if let Some(nodes) = &p.nodes {
        return Ok(TierPeer::Nodes(compile_selector(nodes)?));
    }
    if let Some(names) = &p.domain_names {
        return Ok(TierPeer::DomainNames(names.clone()));
    }
    Err("a peer must have exactly one field".into())
}

fn port_u16(n: i64) -> Result<u16, String> {
    u16::try_from(n).map_err(|_| format!("invalid port {n}"))
}

fn compile_protocol(p: &api::ProtocolPort) -> Result<TierPort, String> {
    if let Some(name) = &p.destination_named_port {
        return Ok(TierPort::Named(name.clone()));
    }
    for (proto, dest) in [
        (Protocol::Tcp, &p.tcp),
        (Protocol::Udp, &p.udp),
        (Protocol::Sctp, &p.sctp),
    ] {
        let Some(port) = dest.as_ref().and_then(|d| d.destination_port.as_ref()) else {
            continue;
        };
        return match (port.number, &port.range) {
            (Some(n), _) => Ok(TierPort::Range(proto, port_u16(n)?, port_u16(n)?)),
            (None, Some(r)) => Ok(TierPort::Range(proto, port_u16(r.start)?, port_u16(r.end)?)),
            (None, None) => Err("a destinationPort must have a number or a range".into()),
        };
    }
    Err("a protocol entry must have exactly one field".into())
}

fn compile_anp_port(p: &api::AnpPort) -> Result<TierPort, String> {
    let typed = |protocol: &Option<String>, lo: i64, hi: i64| -> Result<TierPort, String> {
        let name = protocol.as_deref().unwrap_or("TCP");
        // The schema has no enum: the API's own spelling only.
        match Protocol::parse(name).filter(|p| p.as_str() == name) {
            Some(proto) if lo > hi => Ok(TierPort::Reversed(proto, port_u16(lo)?, port_u16(hi)?)),
            Some(proto) => Ok(TierPort::Range(proto, port_u16(lo)?, port_u16(hi)?)),
            None => Ok(TierPort::Other(name.to_string())),
        }
    };
    if let Some(n) = &p.port_number {
        return typed(&n.protocol, n.port, n.port);
    }
    if let Some(r) = &p.port_range {
        return typed(&r.protocol, r.start, r.end);
    }
    if let Some(name) = &p.named_port {
        return Ok(TierPort::Named(name.clone()));
    }
    Err("a port entry must have exactly one field".into())
}

/// A cluster policy the API server would reject, with its errors and what
/// could still be read of it: the answers it could change are undecided.
#[derive(Debug, Clone)]
pub struct InvalidClusterPolicy {
    pub kind: String,
    pub api_version: String,
    pub name: String,
    pub errors: Vec<FieldError>,
    /// `None` when the tier could not be read.
    pub tier: Option<Tier>,
    /// `None` when the subject could not be read: every pod.
    pub subject: Option<Subject>,
    /// Whether the object may have rules in each direction (in
    /// [`Direction::BOTH`]'s order).
    pub directions: [bool; 2],
}

impl InvalidClusterPolicy {
    /// `clusternetworkpolicy/NAME`.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.kind.to_lowercase(), self.name)
    }

    fn read(api: Api, object: &ClusterPolicyObject, errors: Vec<FieldError>) -> Self {
        let spec = object.value.get("spec");
        let tier = match api {
            Api::Admin => Some(Tier::Admin),
            Api::Baseline => Some(Tier::Baseline),
            Api::Cluster => match spec.and_then(|s| s.get("tier")).and_then(Value::as_str) {
                Some("Admin") => Some(Tier::Admin),
                Some("Baseline") => Some(Tier::Baseline),
                _ => None,
            },
        };
        // The subject counts only when it is fully readable and its own
        // part of the object has no error.
        let subject_errors = errors.iter().any(|e| e.path.starts_with("spec.subject"));
        let subject = spec
            .and_then(|s| s.get("subject"))
            .filter(|_| !subject_errors)
            .and_then(|s| serde_json::from_value::<api::Subject>(s.clone()).ok())
            .and_then(|s| compile_subject(&s).ok());
        // A field under spec the API does not have (`ingres`) or one of
        // the wrong type may be rules meant for either direction: the
        // known fields alone cannot tell which directions it was for.
        let shapeless = errors
            .iter()
            .any(|e| e.path.starts_with("spec") && validate::is_shape_error(e));
        let directions = Direction::BOTH.map(|d| match spec {
            Some(Value::Object(m)) if !shapeless => {
                !matches!(m.get(d.field()), None | Some(Value::Null))
            }
            _ => true,
        });
        InvalidClusterPolicy {
            kind: object.kind.clone(),
            api_version: object.api_version.clone(),
            name: object.name.clone(),
            errors,
            tier,
            subject,
            directions,
        }
    }
}

/// Validates and compiles every cluster policy of a snapshot: the valid
/// ones, and the invalid ones with their errors. Objects of unknown
/// kinds or versions are not expected here (sources keep only the three
/// kinds at their versions) and are left out.
pub fn compile_all(
    objects: &[ClusterPolicyObject],
) -> (Vec<ClusterPolicy>, Vec<InvalidClusterPolicy>) {
    let mut valid = Vec::new();
    let mut invalid = Vec::new();
    for object in objects {
        let Some(api) = Api::of(&object.kind, &object.api_version) else {
            continue;
        };
        let errors = validate::validate(api, &object.value);
        if !errors.is_empty() {
            invalid.push(InvalidClusterPolicy::read(api, object, errors));
            continue;
        }
        match ClusterPolicy::compile(api, object) {
            Ok(p) => valid.push(p),
            Err(e) => invalid.push(InvalidClusterPolicy::read(
                api,
                object,
                vec![FieldError {
                    path: "spec".into(),
                    kind: crate::engine::validate::ErrorKind::Invalid("...".into()),
                    detail: e,
                }],
            )),
        }
    }
    (valid, invalid)
}
