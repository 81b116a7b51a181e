//! `kubectl netpol can SRC DST [--port PORT[/PROTO]]`: one connection,
//! ALLOWED or DENIED, and what decides it on each side.
//!
//! Exit status as `kubectl auth can-i`: 0 allowed, 1 denied, 2 error; and
//! 4 when the answer depends on what could not be known (UNKNOWN).

use serde::Serialize;

use crate::cli::{CanArgs, OutputFormat};
use crate::cmd::{Context, Narrowed, Outcome, Plan, Target, find_endpoint, require_valid};
use crate::engine::Model;
use crate::engine::policy::{Direction, PortValue};
use crate::engine::ports::{PortSet, Protocol};
use crate::engine::summary::{peer_text, port_text};
use crate::engine::verdict::{Endpoint, SideVerdict, connection};
use crate::error::{Error, exit};
use crate::render::{Palette, clean, to_json, to_yaml};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CanReport {
    /// True when the connection is allowed for certain.
    #[serde(skip)]
    pub allowed: bool,
    /// True when whether it is allowed depends on what could not be known
    /// (a namespace's labels that were not read, a pod without known IP
    /// facing an ipBlock): neither ALLOWED nor DENIED can be said.
    #[serde(skip)]
    pub undecided: bool,
    /// JSON `allowed`: true, false, or null when undecided.
    #[serde(rename = "allowed")]
    pub answer: Option<bool>,
    pub from: String,
    pub to: String,
    /// The port asked about (`TCP/8080`), or null.
    pub port: Option<String>,
    /// The ports allowed between the two: "all" or a list.
    pub ports: PortsJson,
    pub egress: SideJson,
    pub ingress: SideJson,
    /// Set when the connection is between a pod and the node it runs on:
    /// allowed whatever the policies say; `egress` and `ingress` then show
    /// what the policies alone would decide.
    pub node: Option<NodeJson>,
    pub notes: Vec<String>,
    /// For a connection through a Service: `via Service NS/NAME (port 80 ->
    /// TCP/8080)`; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// For a connection through a Service: the Service port it answers
    /// for (`80/TCP`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_port: Option<String>,
    /// True when cluster policies of equal priority decide the ports
    /// asked about in conflict (the API leaves the outcome to the
    /// implementation): the answer is then undecided (`allowed: null`).
    /// Absent when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub undefined: bool,
    /// Whether the cluster policies could be read: when not, the answer
    /// is NetworkPolicy's alone.
    #[serde(flatten)]
    pub cluster_policies_read: crate::snapshot::ClusterPoliciesRead,
}

/// Node traffic: which node, by which address, and the pod on it.
#[derive(Debug, Serialize)]
pub struct NodeJson {
    /// The node's name, or its address when no name is known.
    pub name: String,
    pub address: String,
    /// `namespace/name` of the pod running on that node.
    pub pod: String,
    pub reason: String,
}

/// What makes an answer undefined: cluster policies the API puts in no
/// order deciding a port differently.
pub const UNDEFINED_CAUSE: &str = "cluster policies in no defined order (two of one tier at equal priority, or the BaselineAdminNetworkPolicy against Baseline ClusterNetworkPolicies)";

/// Why node traffic is allowed (the NetworkPolicy API's own rule).
pub const NODE_REASON: &str = "traffic between a pod and the node it runs on is always allowed, whatever the policies say (kubelet probes rely on it)";

/// What an address given as SRC or DST is, when it belongs to a node.
fn node_address_note(
    snapshot: &crate::snapshot::Snapshot,
    ip: &std::net::IpAddr,
) -> Option<String> {
    let hosts: Vec<String> = snapshot
        .pods
        .iter()
        .filter(|p| p.on_host_network() && p.ips.contains(ip))
        .map(|p| p.ref_key())
        .collect();
    let node = snapshot.node_of(ip);
    if node.is_none() && hosts.is_empty() && !snapshot.is_node_address(ip) {
        return None;
    }
    let what = match node {
        Some(n) => format!("{ip} is an address of node {n}"),
        None => format!("{ip} is a node's address"),
    };
    let hosts = if hosts.is_empty() {
        String::new()
    } else {
        format!(" (host-network pods on it: {})", hosts.join(", "))
    };
    Some(format!(
        "{what}{hosts}: to pods on other nodes it is an address outside the pod network, which only {} match",
        crate::cmd::tiers::address_peers(snapshot)
    ))
}

/// What a per-family decision (dual-stack ends) adds to the answer.
fn family_note(families: Option<&[(crate::engine::verdict::Family, PortSet)]>) -> Option<String> {
    let families = families?;
    if families.is_empty() {
        return Some(
            "the two ends have no address family in common (IPv4 and IPv6): no connection is possible between them"
                .into(),
        );
    }
    if families.len() < 2 {
        return None;
    }
    let shown = families
        .iter()
        .find(|(_, set)| !set.is_empty())
        .unwrap_or(&families[0])
        .0;
    let parts: Vec<String> = families
        .iter()
        .map(|(f, set)| {
            let ports = if set.is_empty() {
                "nothing".to_string()
            } else if set.is_all() {
                "every port".to_string()
            } else {
                set.to_strings().join(", ")
            };
            format!("over {} {ports}", f.as_str())
        })
        .collect();
    Some(format!(
        "decided per address family (a connection uses one; each side's ipBlocks see the other end's address of that family): {}; the rules shown above are those of {}",
        parts.join(", "),
        shown.as_str()
    ))
}

/// How a host-network pod is treated.
fn host_network_note(
    snapshot: &crate::snapshot::Snapshot,
    pod: &crate::snapshot::PodInfo,
) -> String {
    let node = pod.node.clone().or_else(|| {
        pod.ips
            .first()
            .and_then(|ip| snapshot.node_of(ip))
            .map(str::to_string)
    });
    let node = match node {
        Some(n) => format!("node {n}"),
        None => "its node".to_string(),
    };
    format!(
        "{} uses the host network: it is treated as {node}'s address, so no NetworkPolicy isolates it and pod or namespace selectors do not match it ({} do; the API leaves host-network pods undefined and most CNIs behave this way)",
        pod.ref_key(),
        crate::cmd::tiers::address_peers(snapshot)
    )
}

/// When one end is a node's address and the pod's node is unknown, the
/// answer holds only if the pod runs elsewhere.
fn unknown_node_note(model: &Model<'_>, from: &Endpoint<'_>, to: &Endpoint<'_>) -> Option<String> {
    let (node_ip, pod) = match (from, to) {
        (Endpoint::External(ip), other) | (other, Endpoint::External(ip)) => {
            (*ip, other.pod_network()?)
        }
        (Endpoint::Pod(h), other) | (other, Endpoint::Pod(h)) if h.on_host_network() => {
            (*h.ips.first()?, other.pod_network()?)
        }
        _ => return None,
    };
    let snapshot = model.snapshot;
    let known = model.node_addresses(pod);
    let unreadable = snapshot.gaps.nodes.as_deref();
    let where_ = match &pod.node {
        Some(n) => format!("node {n}, where {} runs", pod.ref_key()),
        None => format!("the node {} runs on", pod.ref_key()),
    };
    if snapshot.is_node_address(&node_ip) && known.is_empty() {
        let why = match &pod.node {
            Some(_) => "no Node object or host IP gives its addresses",
            None => "no spec.nodeName or status.hostIP",
        };
        return Some(format!(
            "the addresses of {where_} are unknown ({why}): if {node_ip} is one of them, this connection is always allowed; the answer above holds only otherwise"
        ));
    }
    if let Some(why) = unreadable
        && !known.contains(&node_ip)
        && !snapshot.is_node_address(&node_ip)
    {
        return Some(format!(
            "Node objects could not be read ({why}): if {node_ip} is an address of {where_} (an ExternalIP, say), this connection is always allowed; the answer above holds only otherwise"
        ));
    }
    None
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum PortsJson {
    All(&'static str),
    List(Vec<String>),
}

impl PortsJson {
    pub fn of(set: &PortSet) -> PortsJson {
        if set.is_all() {
            PortsJson::All("all")
        } else {
            PortsJson::List(set.to_strings())
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SideJson {
    /// `namespace/name` of the pod whose policies decide this side, or the
    /// address when it is outside the cluster.
    pub subject: String,
    /// What the subject is: `pod`, `hostNetworkPod` (treated as its
    /// node's address), `node` (a node's address) or `address`.
    pub endpoint: &'static str,
    /// False for an address, a node or a host-network pod: no
    /// NetworkPolicy applies there.
    pub applies: bool,
    pub isolated: bool,
    pub policies: Vec<String>,
    /// True when this side lets the connection through for certain.
    #[serde(skip)]
    pub allowed: bool,
    /// True when this side may let it through, depending on a peer match
    /// that could not be decided.
    #[serde(skip)]
    pub undecided: bool,
    /// JSON `allowed`: true, false, or null when undecided.
    #[serde(rename = "allowed")]
    pub answer: Option<bool>,
    pub ports: PortsJson,
    pub allowed_by: Vec<RuleRef>,
    pub not_matched: Vec<RuleMiss>,
    /// The cluster policy tiers (ClusterNetworkPolicy, AdminNetworkPolicy,
    /// BaselineAdminNetworkPolicy) on this side; absent when the input has
    /// none, or this side is not a pod on the pod network (no tier
    /// selects it). `allowed` and `ports` are then the tiers' answer;
    /// `isolated`, `policies`, `allowedBy` and `notMatched` stay
    /// NetworkPolicy's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiers: Option<crate::cmd::tiers::TiersJson>,
}

#[derive(Debug, Serialize)]
pub struct RuleRef {
    pub policy: String,
    /// 1-based index into spec.ingress / spec.egress.
    pub rule: usize,
    pub ports: PortsJson,
}

#[derive(Debug, Serialize)]
pub struct RuleMiss {
    pub policy: String,
    /// 1-based; null when the policy has no rules for this direction.
    pub rule: Option<usize>,
    pub reason: String,
}

/// A `--port` value: a number or a name, with an optional protocol.
fn parse_port(text: &str) -> Result<(Option<Protocol>, Result<u16, String>), Error> {
    let (port, proto) = match text.split_once('/') {
        Some((p, proto)) => (
            p,
            Some(Protocol::parse(proto).ok_or_else(|| {
                Error::Usage(format!(
                    "invalid --port {text:?}: protocol must be TCP, UDP or SCTP"
                ))
            })?),
        ),
        None => (text, None),
    };
    if let Ok(n) = port.parse::<u32>() {
        if !(1..=65535).contains(&n) {
            return Err(Error::Usage(format!(
                "invalid --port {text:?}: must be between 1 and 65535"
            )));
        }
        return Ok((proto, Ok(n as u16)));
    }
    if crate::engine::validate::port_name(port).is_empty() {
        Ok((proto, Err(port.to_string())))
    } else {
        Err(Error::Usage(format!(
            "invalid --port {text:?}: expected PORT[/PROTOCOL] (8080, 53/UDP) or a port name"
        )))
    }
}

fn endpoint<'a>(t: &'a Target<'_>) -> Endpoint<'a> {
    match t {
        Target::Pod(f) => Endpoint::Pod(&f.pod),
        Target::Ip(ip) => Endpoint::External(*ip),
    }
}

pub fn run(ctx: &Context, args: &CanArgs) -> Result<Outcome, Error> {
    ctx.narrow_first(|| answer(ctx, args))
}

/// `run`'s answer from the snapshot read so far; from manifests read
/// narrowly, [`Narrowed::NeedsAll`] when it may depend on pods of other
/// namespaces: a Service's backends, an address, the host network (whose
/// node addresses come from every pod).
fn answer(ctx: &Context, args: &CanArgs) -> Result<Narrowed<Outcome>, Error> {
    // The enforcement caveat `list` and `explain` print, read alongside.
    let (snapshot, enforcement) = ctx.snapshot_with_warning(Plan::Endpoints {
        refs: &[args.from.as_str(), args.to.as_str()],
        peers: false,
    })?;
    let model = Model::new(&snapshot, &ctx.default_namespace());
    let ns = ctx.default_namespace();
    let given = ctx.global.namespace.is_some();
    // A Service (by name or ClusterIP) on either side: answered per backend.
    match crate::cmd::services::can(ctx, &snapshot, &model, args)? {
        crate::cmd::services::CanAnswer::Answered(_) if !ctx.is_whole() => {
            return Ok(Narrowed::NeedsAll);
        }
        crate::cmd::services::CanAnswer::Answered(mut answer) => {
            answer.warnings.extend(enforcement);
            answer
                .warnings
                .extend(snapshot.gaps.cluster_policy_warning());
            return Ok(Narrowed::Answer(answer));
        }
        crate::cmd::services::CanAnswer::NotAService => {}
    }
    let from_t = find_endpoint(&snapshot, &args.from, &ns, given)?;
    let mut to_t = find_endpoint(&snapshot, &args.to, &ns, given)?;
    let both_on_pod_network = from_t.on_pod_network() && to_t.on_pod_network();
    if !ctx.is_whole() && !both_on_pod_network {
        return Ok(Narrowed::NeedsAll);
    }
    let mut notes = Vec::new();
    for t in [&from_t, &to_t] {
        if let Target::Pod(f) = t
            && let Some(n) = &f.note
            && !notes.contains(n)
        {
            notes.push(n.clone());
        }
    }
    // One workload on both sides: the question is about two of its pods.
    if let (Target::Pod(a), Target::Pod(b)) = (&from_t, &mut to_t)
        && a.pod.ref_key() == b.pod.ref_key()
        && let Some(other) = b.all.iter().find(|p| p.ref_key() != a.pod.ref_key())
    {
        notes.push(format!(
            "both ends name the same workload: this is the connection between two of its pods, {} and {}",
            a.pod.ref_key(),
            other.ref_key()
        ));
        b.pod = std::borrow::Cow::Borrowed(*other);
    }
    for t in [&from_t, &to_t] {
        // (An address looked up only among the pods that could be read is
        // warned about by cmd::services, which resolves it first.)
        if let Target::Ip(ip) = t {
            notes.extend(node_address_note(&snapshot, ip));
        }
    }
    let from = endpoint(&from_t);
    let to = endpoint(&to_t);
    // Neither end on the pod network: no NetworkPolicy applies to either
    // (a host-network pod is its node's address, asked by name or not).
    if from.pod_network().is_none() && to.pod_network().is_none() {
        let what = |e: &Endpoint<'_>| match e {
            Endpoint::Pod(p) => format!("{} uses the host network", p.ref_key()),
            Endpoint::External(ip) if snapshot.is_node_address(ip) => {
                format!("{ip} is a node's address")
            }
            Endpoint::External(ip) => format!("{ip} is outside the pod network"),
        };
        return Err(Error::Usage(format!(
            "{} and {}: neither end is a pod on the pod network, so NetworkPolicy has nothing to say about this connection",
            what(&from),
            what(&to)
        )));
    }
    let involved: Vec<&str> = [&from, &to]
        .iter()
        .filter_map(|e| match e {
            Endpoint::Pod(p) => Some(p.namespace.as_str()),
            Endpoint::External(_) => None,
        })
        .collect();
    let mut warnings = require_valid(&model, &involved)?;
    warnings.extend(enforcement);
    warnings.extend(snapshot.gaps.cluster_policy_warning());
    // Namespace labels RBAC kept from being read: the answer is what the
    // readable objects decide, with the note below (as from manifests).
    let wanted = match &args.port {
        None => None,
        Some(text) => {
            let (proto, port) = parse_port(text)?;
            Some(match port {
                Ok(n) => PortSet::single(proto.unwrap_or(Protocol::Tcp), n),
                Err(name) => resolve_named(&snapshot, &to, &name, proto, &|| {
                    crate::cmd::lint::cni_facts(ctx)
                })?,
            })
        }
    };
    let ends: Vec<&str> = [&from, &to]
        .iter()
        .filter_map(|e| match e {
            Endpoint::Pod(p) => Some(p.namespace.as_str()),
            Endpoint::External(_) => None,
        })
        .collect();
    if model.guessed_namespaces().iter().any(|n| ends.contains(n)) {
        notes.extend(model.guessed_namespaces_note());
    }
    // Cluster policies the cluster serves but RBAC hides: said in the
    // answer itself too (JSON `notes`), not only on stderr.
    let tiers_unread = snapshot.gaps.cluster_policies.is_some();
    if tiers_unread {
        notes.push(
            if snapshot.cluster_policies.is_empty() {
                "the cluster's Admin and Baseline tier policies could not be read: an Admin policy may accept or deny this connection before NetworkPolicy decides, and a Baseline policy may deny what no NetworkPolicy isolates; this answer is NetworkPolicy's alone, not the cluster's for certain".into()
            } else {
                "some of the cluster's Admin and Baseline tier policies could not be read (the kinds named in the warning): those may accept or deny this connection too; this answer uses only the cluster policies that were read, not the cluster's for certain".into()
            },
        );
    }
    let mut report = pair_report(&model, &from, &to, wanted.as_ref(), notes, &|| {
        crate::cmd::lint::cni_facts(ctx)
    });
    for (ip, pod, direction) in [
        (&to, &from, Direction::Egress),
        (&from, &to, Direction::Ingress),
    ]
    .into_iter()
    .filter_map(|(a, b, d)| match (a, b) {
        (Endpoint::External(ip), Endpoint::Pod(p)) => Some((*ip, *p, d)),
        _ => None,
    }) {
        let Some(why) = unknown_owner(&snapshot, &ip) else {
            continue;
        };
        let as_external = if report.allowed { "ALLOWED" } else { "DENIED" };
        // Certain either way only when the pod's own side admits no port
        // asked about to any pod at all.
        // A Service's ClusterIP is translated to a target port NetworkPolicy
        // then sees, which may be any: the port asked about says nothing.
        let port = if snapshot.gaps.services.is_some() {
            None
        } else {
            wanted.as_ref()
        };
        if report.allowed || could_admit_a_pod(&model, pod, direction, port) {
            report.allowed = false;
            report.undecided = true;
            report.answer = None;
            report.notes.push(format!(
                "{ip} may be the address of a pod or Service that could not be read ({why}): if it is outside the cluster, the answer is {as_external}; otherwise ask about the pod or svc/NAME"
            ));
        } else {
            report.notes.push(format!(
                "{ip} may be the address of a pod or Service that could not be read ({why}); the answer holds either way{}: no {} rule of {} admits {} to any pod",
                if tiers_unread { " as far as NetworkPolicy decides" } else { "" },
                direction.as_str(),
                pod.ref_key(),
                port.map(|w| w.to_strings().join(", ")).unwrap_or_else(|| "any port".into())
            ));
        }
    }
    let allowed = report.allowed;
    let stdout = match ctx.format() {
        OutputFormat::Json => to_json(&report),
        OutputFormat::Yaml => to_yaml(&report),
        OutputFormat::Text | OutputFormat::Wide | OutputFormat::Name => {
            render_text(&report, ctx.palette)
        }
    };
    Ok(Narrowed::Answer(Outcome {
        stdout,
        warnings,
        code: if allowed {
            exit::OK
        } else if report.undecided {
            exit::UNKNOWN
        } else {
            exit::DENIED
        },
    }))
}

/// Why `ip` may belong to a pod or a Service the user could not read: the
/// cluster-wide pod lookup by IP or the ClusterIP lookup was refused.
/// `None` when both were read (the address is then none of theirs).
fn unknown_owner(snapshot: &crate::snapshot::Snapshot, ip: &std::net::IpAddr) -> Option<String> {
    if snapshot.is_node_address(ip) {
        return None;
    }
    let gaps = &snapshot.gaps;
    let mut why = Vec::new();
    if let Some(w) = gaps.pods.get("*") {
        why.push(format!("pods outside the namespace: {w}"));
    }
    if let Some(w) = &gaps.services {
        why.push(format!("Services' ClusterIPs: {w}"));
    }
    (!why.is_empty()).then(|| why.join("; "))
}

/// Whether `pod`'s policies for `direction` could admit `wanted` (any port
/// when `None`) toward or from some pod: the pod is not isolated, or one of
/// its rules has a pod-selector peer, or no peers, and ports that cover it
/// (a named port may resolve to it).
fn could_admit_a_pod(
    model: &Model<'_>,
    pod: &crate::snapshot::PodInfo,
    direction: Direction,
    wanted: Option<&PortSet>,
) -> bool {
    if pod.on_host_network() {
        return true;
    }
    let isolating = model.isolating(pod, direction);
    if isolating.is_empty() {
        return true;
    }
    let dest = if direction == Direction::Ingress {
        crate::engine::verdict::destination_ports(pod)
    } else {
        None
    };
    isolating.iter().any(|&pi| {
        model.policies[pi]
            .rules(direction)
            .unwrap_or_default()
            .iter()
            .any(|rule| {
                let selects_pods = rule.peers.as_ref().is_none_or(|peers| {
                    peers
                        .iter()
                        .any(|p| matches!(p, crate::engine::policy::Peer::Pods { .. }))
                });
                let named = rule
                    .ports
                    .iter()
                    .flatten()
                    .any(|p| matches!(p.port, crate::engine::policy::PortValue::Named(_)));
                let ports = rule.resolve_ports(dest);
                selects_pods
                    && (named && direction == Direction::Egress
                        || match wanted {
                            Some(w) => !ports.intersect(w).is_empty(),
                            None => !ports.is_empty(),
                        })
            })
    })
}

/// One connection between two endpoints already found, for the answers
/// that fan out over a Service's pods (`cmd::services`): the verdict, the
/// rules on both sides, and the notes `run` gives for the same pair.
/// `wanted` is the port set asked about on the destination (already
/// translated to the target port), `None` for "which ports".
pub fn pair_report(
    model: &Model<'_>,
    from: &Endpoint<'_>,
    to: &Endpoint<'_>,
    wanted: Option<&PortSet>,
    mut notes: Vec<String>,
    cni: &dyn Fn() -> crate::engine::lint::cni::CniFacts,
) -> CanReport {
    let snapshot = model.snapshot;
    let verdict = connection(model, from, to);
    let same =
        matches!((from, to), (Endpoint::Pod(a), Endpoint::Pod(b)) if a.ref_key() == b.ref_key());
    // A representative pod stands for all replicas of a workload: "itself"
    // then means another replica, which policies do govern.
    let same_pod = same && matches!(from, Endpoint::Pod(p) if !p.representative);
    if same && !same_pod {
        notes.push(format!(
            "{} stands for several pods: this is the connection between two of them",
            from.display()
        ));
    }
    for ep in [from, to] {
        if let Endpoint::Pod(p) = ep
            && p.on_host_network()
        {
            notes.push(if p.is_node() {
                format!(
                    "{} is the node's network, with its addresses {}: no NetworkPolicy isolates it, and only {} match it",
                    p.ref_key(),
                    p.ips
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    crate::cmd::tiers::address_peers(snapshot)
                )
            } else {
                host_network_note(snapshot, p)
            });
        }
    }
    if verdict.node.is_none() {
        notes.extend(unknown_node_note(model, from, to));
    }
    notes.extend(family_note(verdict.families.as_deref()));
    if verdict
        .egress
        .rules
        .iter()
        .chain(verdict.ingress.rules.iter())
        .any(|r| r.ip_unknown)
    {
        notes.push(
            "an ipBlock rule could not be checked because a pod has no known IP (workload manifests have none): whether it matches is unknown"
                .into(),
        );
    }
    let (allowed_set, allowed, undecided) = if same_pod {
        notes.push(
            "a pod connecting to itself is not subject to NetworkPolicy: always allowed".into(),
        );
        (PortSet::all(), true, false)
    } else if verdict.node.is_some() {
        (PortSet::all(), true, false)
    } else {
        let covers = |set: &PortSet| match wanted {
            Some(w) => !w.is_empty() && set.contains_all(w),
            None => !set.is_empty(),
        };
        let ok = covers(&verdict.allowed);
        (
            verdict.allowed.clone(),
            ok,
            !ok && covers(&verdict.possible),
        )
    };
    let asked = wanted
        .cloned()
        .unwrap_or_else(|| verdict.possible.subtract(&verdict.allowed));
    let undefined =
        undecided && (verdict.egress.undefined_on(&asked) || verdict.ingress.undefined_on(&asked));
    // Without --port, some ports may be undefined while others are
    // allowed (or denied) for certain: said with those ports.
    let undefined_ports = if wanted.is_none() && !same_pod && verdict.node.is_none() {
        verdict.undefined()
    } else {
        PortSet::empty()
    };
    if undefined {
        notes.push(format!(
            "{UNDEFINED_CAUSE} decide this connection differently{}: the API leaves the outcome to the implementation, so it is undefined",
            if undefined_ports.is_empty() {
                String::new()
            } else {
                format!(" on {}", undefined_ports.describe())
            }
        ));
    } else if !undefined_ports.is_empty() {
        notes.push(format!(
            "on {} the answer is undefined: {UNDEFINED_CAUSE} decide it differently, and the API leaves the outcome to the implementation (those ports are not counted as allowed)",
            undefined_ports.describe()
        ));
    }
    // Ports unknown for another reason than an undefined order.
    let unknown_too = wanted.is_none() && !asked.subtract(&undefined_ports).is_empty();
    if undecided && (!undefined || unknown_too) {
        // NetworkPolicy rules only allow; cluster policy rules may deny.
        notes.push(if crate::engine::tier::eval::any(model) {
            "the answer depends on what could not be known (the rules marked unknown above): an allowing or accepting rule that matches opens the connection, a denying one closes it"
        } else {
            "the answer depends on what could not be known (the rules marked unknown above): the connection is allowed only if they match"
        }
        .into());
    }
    // Whether an ipBlock admits pods is the CNI's choice: say which applies.
    let by_ipblock = crate::engine::lint::cni::ipblock_decisions(model, &verdict, from, to, wanted);
    if !by_ipblock.is_empty() && !same_pod && verdict.node.is_none() {
        let cni = cni();
        notes.extend(by_ipblock.iter().map(|r| r.note(&cni)));
    }
    CanReport {
        allowed,
        undecided,
        answer: (!undecided).then_some(allowed),
        from: from.display(),
        to: to.display(),
        port: wanted.map(|w| w.to_strings().join(", ")),
        ports: PortsJson::of(&allowed_set),
        egress: side_json(model, &verdict.egress, from, to, wanted, cni),
        ingress: side_json(model, &verdict.ingress, to, from, wanted, cni),
        node: verdict.node.as_ref().map(|n| NodeJson {
            name: n.node.clone(),
            address: n.address.to_string(),
            pod: n.pod.clone(),
            reason: NODE_REASON.to_string(),
        }),
        notes,
        via: None,
        service_port: None,
        undefined,
        cluster_policies_read: snapshot.gaps.cluster_policies_read(),
    }
}

/// A `--port` value as written: the protocol (if given) and the number or
/// name. Errors as `run` reports them.
pub fn parse_port_arg(text: &str) -> Result<(Option<Protocol>, Result<u16, String>), Error> {
    parse_port(text)
}

/// A named `--port` resolved on the destination pod; when it does not
/// resolve, the error says why (a name declared only by a plain init
/// container, worded for the CNI `cni` gives).
pub(crate) fn resolve_named(
    snapshot: &crate::snapshot::Snapshot,
    to: &Endpoint<'_>,
    name: &str,
    proto: Option<Protocol>,
    cni: &dyn Fn() -> crate::engine::lint::cni::CniFacts,
) -> Result<PortSet, Error> {
    // A node's address (or node/NAME): the named ports of the host-network
    // pods that listen on it, so that an address and its pod agree.
    let hosts: Vec<&crate::snapshot::PodInfo> = match to {
        Endpoint::External(ip) => snapshot
            .pods
            .iter()
            .filter(|p| p.on_host_network() && p.ips.contains(ip))
            .collect(),
        Endpoint::Pod(p) if p.is_node() => snapshot
            .pods
            .iter()
            .filter(|h| h.on_host_network() && h.node == p.node)
            .collect(),
        Endpoint::Pod(_) => Vec::new(),
    };
    let pod = match to {
        Endpoint::Pod(pod) if !pod.is_node() => *pod,
        _ => {
            let mut set = PortSet::empty();
            for cp in hosts.iter().flat_map(|h| &h.ports) {
                if cp.name.as_deref() == Some(name) && proto.is_none_or(|p| p == cp.protocol) {
                    set.insert(cp.protocol, cp.port, cp.port);
                }
            }
            if set.is_empty() {
                return Err(Error::Usage(format!(
                    "--port {name:?} is a named port, and no host-network pod on {} declares it: give a number",
                    to.display()
                )));
            }
            return Ok(set);
        }
    };
    let mut set = PortSet::empty();
    for cp in &pod.ports {
        if cp.name.as_deref() == Some(name) && proto.is_none_or(|p| p == cp.protocol) {
            set.insert(cp.protocol, cp.port, cp.port);
        }
    }
    if set.is_empty() {
        let why = crate::snapshot::init_only_named_port(pod, name, proto)
            .and_then(|_| crate::engine::lint::cni::init_port_note(&cni(), pod, name, proto))
            .map(|note| format!(" ({note})"))
            .unwrap_or_default();
        return Err(Error::NotFound(format!(
            "pod {:?} has no container port named {name:?}{why}",
            pod.ref_key()
        )));
    }
    Ok(set)
}

fn side_json(
    model: &Model<'_>,
    side: &SideVerdict,
    subject: &Endpoint<'_>,
    other: &Endpoint<'_>,
    wanted: Option<&PortSet>,
    cni: &dyn Fn() -> crate::engine::lint::cni::CniFacts,
) -> SideJson {
    let mut allowed_by = Vec::new();
    let mut not_matched = Vec::new();
    let peer_word = if side.direction == Direction::Ingress {
        "from"
    } else {
        "to"
    };
    for &pi in &side.policies {
        let policy = &model.policies[pi];
        if policy.rules(side.direction).unwrap_or_default().is_empty() {
            not_matched.push(RuleMiss {
                policy: policy.key(),
                rule: None,
                reason: format!("has no {} rules: allows nothing", side.direction.as_str()),
            });
        }
    }
    for r in &side.rules {
        let policy = &model.policies[r.policy];
        let rule = &policy.rules(side.direction).unwrap_or_default()[r.rule];
        let admitted = r.admitted();
        let useful = match wanted {
            Some(w) => !admitted.intersect(w).is_empty(),
            None => !admitted.is_empty(),
        };
        if useful {
            allowed_by.push(RuleRef {
                policy: policy.key(),
                rule: r.rule + 1,
                ports: PortsJson::of(&admitted),
            });
            continue;
        }
        let reason = if !r.peer_matched {
            let peers = match &rule.peers {
                None => "anywhere".to_string(),
                Some(list) => list.iter().map(peer_text).collect::<Vec<_>>().join(" or "),
            };
            let unknown = if r.ip_unknown || r.labels_unknown {
                ""
            } else if matches!(other, Endpoint::Pod(p) if p.is_node())
                && rule
                    .peers
                    .iter()
                    .flatten()
                    .any(|p| matches!(p, crate::engine::policy::Peer::Pods { .. }))
            {
                " (selectors do not match nodes: only an ipBlock of the node's address does)"
            } else if matches!(other, Endpoint::Pod(p) if p.on_host_network())
                && rule
                    .peers
                    .iter()
                    .flatten()
                    .any(|p| matches!(p, crate::engine::policy::Peer::Pods { .. }))
            {
                " (selectors do not match host-network pods: only an ipBlock of the node's address does)"
            } else {
                ""
            };
            if r.ip_unknown {
                format!(
                    "unknown: whether {} matches {peer_word} {peers} (its IP is not known)",
                    other.display()
                )
            } else if r.labels_unknown {
                let ns = match other {
                    Endpoint::Pod(p) => p.namespace.as_str(),
                    Endpoint::External(_) => "",
                };
                format!(
                    "unknown: whether {} matches {peer_word} {peers} (the labels of namespace {ns} were not read; only its name is known)",
                    other.display()
                )
            } else {
                format!(
                    "{} does not match {peer_word} {peers}{unknown}",
                    other.display()
                )
            }
        } else if r.ports.is_empty() {
            let written: Vec<String> = rule.ports.iter().flatten().map(port_text).collect();
            let dest = if side.direction == Direction::Ingress {
                subject
            } else {
                other
            };
            // A name declared only by a plain init container: say so, and
            // whether this cluster's CNI resolves it there (Calico does).
            let init_only: Vec<String> = match dest {
                Endpoint::Pod(pod) => {
                    let names: Vec<(&str, Protocol)> = rule
                        .ports
                        .iter()
                        .flatten()
                        .filter_map(|spec| match &spec.port {
                            PortValue::Named(name)
                                if crate::snapshot::init_only_named_port(
                                    pod,
                                    name,
                                    Some(spec.protocol),
                                )
                                .is_some() =>
                            {
                                Some((name.as_str(), spec.protocol))
                            }
                            _ => None,
                        })
                        .collect();
                    let facts = if names.is_empty() {
                        Default::default()
                    } else {
                        cni()
                    };
                    names
                        .iter()
                        .filter_map(|(name, proto)| {
                            crate::engine::lint::cni::init_port_note(
                                &facts,
                                pod,
                                name,
                                Some(*proto),
                            )
                        })
                        .collect()
                }
                Endpoint::External(_) => Vec::new(),
            };
            let mut reason = format!(
                "peer matches, but its ports {} do not exist on {}",
                written.join(", "),
                dest.display()
            );
            for note in init_only {
                reason.push_str(&format!("; {note}"));
            }
            reason
        } else {
            format!("peer matches, but it allows only {}", r.ports.describe())
        };
        not_matched.push(RuleMiss {
            policy: policy.key(),
            rule: Some(r.rule + 1),
            reason,
        });
    }
    let covers = |set: &PortSet| match wanted {
        Some(w) => set.contains_all(w),
        None => !set.is_empty(),
    };
    let allowed = covers(&side.allowed);
    let undecided = !allowed && {
        let mut possible = side.allowed.clone();
        possible.union_with(&side.maybe);
        covers(&possible)
    };
    SideJson {
        subject: subject.display(),
        endpoint: match subject {
            Endpoint::Pod(p) if p.is_node() => "node",
            Endpoint::Pod(p) if p.on_host_network() => "hostNetworkPod",
            Endpoint::Pod(_) => "pod",
            Endpoint::External(ip) if model.snapshot.is_node_address(ip) => "node",
            Endpoint::External(_) => "address",
        },
        applies: side.applies,
        isolated: side.isolated,
        policies: side
            .policies
            .iter()
            .map(|&i| model.policies[i].key())
            .collect(),
        allowed,
        undecided,
        answer: (!undecided).then_some(allowed),
        ports: PortsJson::of(&side.allowed),
        allowed_by,
        not_matched,
        tiers: crate::cmd::tiers::side_tiers(model, side, wanted),
    }
}

fn ports_text(p: &PortsJson) -> String {
    match p {
        PortsJson::All(_) => "any port".to_string(),
        PortsJson::List(l) if l.is_empty() => "no port".to_string(),
        PortsJson::List(l) => l.join(", "),
    }
}

pub fn render_text(r: &CanReport, p: Palette) -> String {
    let mut out = String::new();
    let head = if r.allowed {
        p.good("ALLOWED")
    } else if r.undecided {
        p.warn("UNKNOWN")
    } else {
        p.bad("DENIED")
    };
    let mut what = match &r.port {
        Some(port) => format!("on {port}"),
        None if r.allowed => format!("on {}", ports_text(&r.ports)),
        None if r.undecided => "(no port is allowed for certain)".to_string(),
        None => "(no port is allowed)".to_string(),
    };
    if let Some(via) = &r.via {
        what.push(' ');
        what.push_str(&clean(via));
    }
    out.push_str(&format!(
        "{head}: {} -> {} {what}\n",
        clean(&r.from),
        clean(&r.to)
    ));
    if let Some(n) = &r.node {
        let node = if n.name == n.address {
            format!("node address {}", n.address)
        } else {
            format!("node {} ({})", clean(&n.name), n.address)
        };
        out.push_str(&format!(
            "  Node traffic: {} runs on {node}: {}\n  What the policies alone would decide:\n",
            clean(&n.pod),
            n.reason
        ));
    }
    for (title, side) in [("Egress of", &r.egress), ("Ingress of", &r.ingress)] {
        let who = format!("{title} {}", clean(&side.subject));
        let state = if side.tiers.is_some() {
            let verdict = if side.allowed {
                "allowed".to_string()
            } else if side.undecided {
                p.warn("unknown")
            } else {
                p.bad("denied")
            };
            let isolation = if side.isolated {
                format!("isolated by {}", side.policies.join(", "))
            } else {
                "no NetworkPolicy isolates it".to_string()
            };
            format!("{isolation}; with the cluster policy tiers: {verdict}")
        } else if !side.applies {
            match side.endpoint {
                "hostNetworkPod" => "on the host network (its node's address): no policy applies",
                "node" => "a node's address: no policy applies",
                _ => "outside the cluster: no policy applies",
            }
            .to_string()
        } else if !side.isolated {
            "not isolated: allowed".to_string()
        } else if side.allowed {
            format!("isolated by {}; allowed", side.policies.join(", "))
        } else if side.undecided {
            format!(
                "isolated by {}; {}",
                side.policies.join(", "),
                p.warn("unknown: allowed only if a rule marked unknown matches")
            )
        } else {
            format!(
                "isolated by {}; {}",
                side.policies.join(", "),
                p.bad("nothing admits it")
            )
        };
        out.push_str(&format!("  {who}: {state}\n"));
        if let Some(t) = &side.tiers {
            for line in &t.chain {
                out.push_str(&format!("    {}\n", clean(line)));
            }
            continue;
        }
        for a in &side.allowed_by {
            out.push_str(&format!(
                "    {} rule #{}: allows {}\n",
                clean(&a.policy),
                a.rule,
                ports_text(&a.ports)
            ));
        }
        if !side.allowed {
            for m in &side.not_matched {
                let rule = m.rule.map(|n| format!(" rule #{n}")).unwrap_or_default();
                out.push_str(&format!(
                    "    {}{rule}: {}\n",
                    clean(&m.policy),
                    clean(&m.reason)
                ));
            }
        }
    }
    for n in &r.notes {
        out.push_str(&format!("  Note: {}\n", clean(n)));
    }
    out
}
