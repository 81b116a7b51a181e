//! `kubectl netpol explain POD`: the policies that select a pod, whether it
//! is isolated per direction, and what each rule admits, resolved to the
//! namespaces and pods it matches now.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cli::{ExplainArgs, OutputFormat};
use crate::cmd::lint::render_finding;
use crate::cmd::{Context, Narrowed, Outcome, Plan, Target, find_endpoint, require_valid};
use crate::engine::Model;
use crate::engine::lint::cni::CniFacts;
use crate::engine::lint::{ClusterScope, Finding, LintOptions, lint};
use crate::engine::policy::{Direction, Peer, PortValue, Rule};
use crate::engine::ports::{PortSet, Protocol};
use crate::engine::summary::{peer_text, summary};
use crate::error::Error;
use crate::render::{Palette, clean, json_items, labels_text, to_json, to_yaml, yaml_items};
use crate::snapshot::PodInfo;

/// How many names text output shows before "and N more" (`-o wide`: all).
const FEW: usize = 3;

#[derive(Debug, Serialize)]
pub struct ExplainReport {
    pub pod: PodView,
    pub ingress: DirectionView,
    pub egress: DirectionView,
    /// Lint findings about the policies that select the pod.
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
    /// Whether the cluster policies could be read: when not, the tiers
    /// the pod may be under are not shown.
    #[serde(flatten)]
    pub cluster_policies_read: crate::snapshot::ClusterPoliciesRead,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodView {
    pub namespace: String,
    pub name: String,
    pub workload: Option<WorkloadView>,
    pub labels: BTreeMap<String, String>,
    pub ips: Vec<String>,
    pub ports: Vec<PortView>,
    pub host_network: bool,
    /// The node the pod runs on, which may always reach it (and it the
    /// node); null when unknown (workload manifests, unscheduled pods).
    pub node: Option<NodeView>,
}

#[derive(Debug, Serialize)]
pub struct NodeView {
    /// `spec.nodeName`, or null when only the address is known.
    pub name: Option<String>,
    /// The node's addresses (`status.hostIPs`, and the Node's InternalIP /
    /// ExternalIP when it was read).
    pub addresses: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct WorkloadView {
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct PortView {
    pub name: Option<String>,
    pub port: u16,
    pub protocol: String,
}

#[derive(Debug, Serialize)]
pub struct DirectionView {
    pub isolated: bool,
    /// Admin-tier cluster policies applying to the pod in this direction,
    /// in evaluation order (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub admin: Vec<crate::cmd::tiers::ClusterPolicyView>,
    pub policies: Vec<PolicyView>,
    /// Baseline-tier cluster policies applying to the pod in this
    /// direction (absent when none); they decide only when no
    /// NetworkPolicy isolates the pod in this direction.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub baseline: Vec<crate::cmd::tiers::ClusterPolicyView>,
    /// Invalid cluster policies (`kind/name`) that may apply: what they
    /// would decide is unknown (absent when none).
    #[serde(
        rename = "invalidClusterPolicies",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub invalid_cluster_policies: Vec<String>,
    /// One sentence: what is allowed, and that the rest is denied.
    pub conclusion: String,
}

#[derive(Debug, Serialize)]
pub struct PolicyView {
    pub namespace: String,
    pub name: String,
    pub summary: String,
    pub rules: Vec<RuleView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleView {
    /// 1-based index into spec.ingress / spec.egress.
    pub rule: usize,
    /// "all", or the peers.
    pub peers: AllOr<Vec<PeerView>>,
    /// "all", or the ports as written (`TCP/http`, `TCP/8000-8100`).
    pub ports: AllOr<Vec<String>>,
    /// Ports as numbers: for ingress on this pod; for egress, null when a
    /// named port must be resolved on each destination.
    pub resolved_ports: Option<AllOr<Vec<String>>>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum AllOr<T> {
    #[serde(serialize_with = "ser_all")]
    All,
    Some(T),
}

fn ser_all<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("all")
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerView {
    /// `pods` (selectors) or `ipBlock`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub description: String,
    /// Namespaces in scope now (selector peers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    /// Pods matched now, `namespace/name`.
    pub pods: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub except: Option<Vec<String>>,
    /// Namespaces are picked by labels (not one name): text shows them.
    #[serde(skip)]
    pub namespaces_by_label: bool,
    /// The pods of `pods` that use the host network (an ipBlock matches
    /// them by their node's address; selectors never match them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub host_network: Vec<String>,
    /// Why the pods (or namespaces) this peer matches are not known, when
    /// RBAC kept them from being read; `pods` is then incomplete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
}

pub fn run(ctx: &Context, args: &ExplainArgs) -> Result<Outcome, Error> {
    let Some(target) = args.target.as_deref() else {
        return by_selector(ctx);
    };
    if let Some(node) = crate::cmd::fetch::node_ref(target) {
        return Err(Error::Usage(format!(
            "explain takes a pod or a Service, not a node: NetworkPolicy does not apply to node {node:?} (traffic between it and its pods is always allowed); to see what it may reach, ask `kubectl netpol can node/{node} POD`"
        )));
    }
    ctx.narrow_first(|| answer(ctx, args, target))
}

/// `run`'s answer for one pod or Service from the snapshot read so far;
/// from manifests read narrowly, [`Narrowed::NeedsAll`] when it may
/// depend on pods of namespaces not read (a Service's backends, an
/// address, the host network).
fn answer(ctx: &Context, args: &ExplainArgs, target: &str) -> Result<Narrowed<Outcome>, Error> {
    let (snapshot, enforcement) = ctx.snapshot_with_warning(Plan::Endpoints {
        refs: &[target],
        peers: true,
    })?;
    let model = Model::new(&snapshot, &ctx.default_namespace());
    // A Service (by name or ClusterIP): its backing pods' ingress, grouped.
    if let Some(answer) =
        crate::cmd::services::explain(ctx, &snapshot, &model, args, enforcement.clone())?
    {
        if !ctx.is_whole() {
            return Ok(Narrowed::NeedsAll);
        }
        return Ok(Narrowed::Answer(answer));
    }
    let endpoint = find_endpoint(
        &snapshot,
        target,
        &ctx.default_namespace(),
        ctx.global.namespace.is_some(),
    )?;
    if !ctx.is_whole() && !endpoint.on_pod_network() {
        return Ok(Narrowed::NeedsAll);
    }
    let found = match endpoint {
        Target::Pod(found) => *found,
        Target::Ip(ip) => {
            let hosts: Vec<String> = snapshot
                .pods
                .iter()
                .filter(|p| p.on_host_network() && p.ips.contains(&ip))
                .map(|p| p.ref_key())
                .collect();
            let node = snapshot
                .node_of(&ip)
                .map(|n| format!(" of node {n}"))
                .unwrap_or_default();
            return Err(Error::NotFound(if hosts.is_empty() {
                format!("no pod has the IP {ip}")
            } else {
                format!(
                    "{ip} is the address{node}, shared by its host-network pods: name one to explain it ({})",
                    hosts.join(", ")
                )
            }));
        }
    };
    let mut warnings = require_valid(&model, &[found.pod.namespace.as_str()])?;
    warnings.extend(enforcement);
    warnings.extend(snapshot.gaps.cluster_policy_warning());
    let facts = std::cell::OnceCell::new();
    let cni_once = || {
        facts
            .get_or_init(|| crate::cmd::lint::cni_facts(ctx))
            .clone()
    };
    let mut report = explain(&model, &found.pod, found.note, &cni_once);
    // Whether its ipBlock rules admit pods is the CNI's choice: say which
    // applies, in the notes and in the findings (linted again knowing it).
    let by_ipblock = if found.pod.on_host_network() {
        Vec::new()
    } else {
        crate::engine::lint::cni::ipblock_rules_of(&model, &found.pod)
    };
    if !by_ipblock.is_empty() || crate::engine::lint::depends_on_cni(&report.findings) {
        let cni = cni_once();
        report.notes.extend(by_ipblock.iter().map(|r| r.note(&cni)));
        let selecting = model.selecting(&found.pod);
        let opts = LintOptions {
            cni,
            ..LintOptions::default()
        };
        report.findings = lint(
            &model,
            &opts,
            &|p| {
                selecting
                    .iter()
                    .any(|&i| std::ptr::eq(&model.policies[i], p))
            },
            &|_, _| false,
            ClusterScope::Nothing,
        );
    }
    let stdout = match ctx.format() {
        OutputFormat::Json => to_json(&report),
        OutputFormat::Yaml => to_yaml(&report),
        OutputFormat::Text | OutputFormat::Name => render_text(&report, ctx.palette, false),
        OutputFormat::Wide => render_text(&report, ctx.palette, true),
    };
    Ok(Narrowed::Answer(Outcome {
        stdout,
        warnings,
        code: 0,
    }))
}

/// `explain -l SELECTOR`: every pod of the namespace that the selector
/// picks, explained one after the other as `explain POD` would (like
/// `kubectl describe pods -l`): text separated by a blank line, JSON and
/// YAML as `{"items": [...]}`. Live, the pods are listed with the selector,
/// then each is read as `explain POD` reads it.
fn by_selector(ctx: &Context) -> Result<Outcome, Error> {
    let selector = ctx.selector()?.unwrap_or_default();
    let ns = ctx.default_namespace();
    let mut names: Vec<String> = if ctx.offline() {
        let snapshot = ctx.snapshot(Plan::Scope {
            workloads: false,
            namespaces: crate::cmd::Need::No,
            services: false,
        })?;
        snapshot
            .pods
            .iter()
            .filter(|p| p.namespace == ns && selector.matches(&p.labels))
            .map(|p| p.name.clone())
            .collect()
    } else {
        let live = ctx.live()?;
        let text = selector.render();
        let pods = ctx.block_on(live.pods(
            Some(&ns),
            Some(text.as_str()).filter(|t| !t.is_empty()),
            None,
        ))?;
        pods.into_iter()
            .filter(|p| selector.matches(&p.labels))
            .map(|p| p.name)
            .collect()
    };
    names.sort();
    names.dedup();
    let mut warnings: Vec<String> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let mut code = 0;
    for name in &names {
        let one = ExplainArgs {
            target: Some(format!("{ns}/pod/{name}")),
        };
        let o = run(ctx, &one)?;
        for w in o.warnings {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
        texts.push(o.stdout);
        code = code.max(o.code);
    }
    if names.is_empty() {
        warnings.push(format!("No resources found in {ns} namespace."));
    }
    let stdout = match ctx.format() {
        OutputFormat::Json => json_items(&texts),
        OutputFormat::Yaml => yaml_items(&texts),
        _ => texts.join("\n"),
    };
    Ok(Outcome {
        stdout,
        warnings,
        code,
    })
}

/// Builds the report for one pod. `cni` gives what `check` finds about the
/// CNI; it is called only when an answer depends on it.
pub fn explain(
    model: &Model<'_>,
    pod: &PodInfo,
    note: Option<String>,
    cni: &dyn Fn() -> CniFacts,
) -> ExplainReport {
    let mut notes: Vec<String> = note.into_iter().collect();
    let node_addresses = model.node_addresses(pod);
    let node_name = pod.node.clone().or_else(|| {
        node_addresses
            .iter()
            .find_map(|ip| model.snapshot.node_of(ip))
            .map(str::to_string)
    });
    if pod.on_host_network() {
        let selecting: Vec<String> = model
            .selecting(pod)
            .iter()
            .map(|&i| model.policies[i].key())
            .collect();
        let ignored = if selecting.is_empty() {
            String::new()
        } else {
            format!(
                " (the labels of {} select it, to no effect)",
                selecting.join(", ")
            )
        };
        notes.push(format!(
            "this pod uses the host network: it is treated as its node's address, so no NetworkPolicy isolates it{ignored} and pod or namespace selectors elsewhere do not match it; only {} that match the node's addresses do (the API leaves host-network pods undefined; most CNIs behave this way)",
            crate::cmd::tiers::address_peers(model.snapshot)
        ));
    }
    if pod.representative && model.snapshot.gaps.live {
        notes.push(format!(
            "no pod of {} runs in the cluster now: this explains its pod template (labels and ports); a pod it starts gets these answers",
            pod.display_ref()
        ));
    } else if pod.representative {
        notes.push(format!(
            "{} stands for the pods of {}: their labels and ports come from its template; their IPs are unknown",
            pod.ref_key(),
            pod.display_ref()
        ));
    }
    notes.extend(model.guessed_namespaces_note());
    if !model.snapshot.gaps.is_empty() {
        notes.push(
            "RBAC kept some objects from being read: peers marked unknown may match more pods than shown"
                .into(),
        );
    }
    notes.push(if pod.on_host_network() {
        "traffic between this pod and pods on the same node is the node's own traffic: always allowed".into()
    } else if node_addresses.is_empty() && node_name.is_none() {
        "traffic between a pod and the node it runs on (unknown here: no status.hostIP), and from a pod to itself, is always allowed whatever the policies say".into()
    } else {
        format!(
            "traffic between the pod and its node {} is always allowed whatever the policies say (kubelet probes rely on it); so is traffic from a pod to itself",
            node_text(node_name.as_deref(), &node_addresses)
        )
    });
    ExplainReport {
        pod: PodView {
            namespace: pod.namespace.clone(),
            // A representative pod is known as its workload
            // (`deployment/pay`, as can, diff and matrix name it), so a
            // Pod of the same name stays apart.
            name: if pod.representative {
                pod.display_ref()
            } else {
                pod.name.clone()
            },
            workload: pod.workload.as_ref().map(|w| WorkloadView {
                kind: w.kind.clone(),
                name: w.name.clone(),
            }),
            labels: pod.labels.clone(),
            ips: pod.ips.iter().map(ToString::to_string).collect(),
            ports: pod
                .ports
                .iter()
                .map(|p| PortView {
                    name: p.name.clone(),
                    port: p.port,
                    protocol: p.protocol.to_string(),
                })
                .collect(),
            host_network: pod.host_network,
            node: (node_name.is_some() || !node_addresses.is_empty()).then(|| NodeView {
                name: node_name.clone(),
                addresses: node_addresses.iter().map(ToString::to_string).collect(),
            }),
        },
        ingress: direction(model, pod, Direction::Ingress, cni),
        egress: direction(model, pod, Direction::Egress, cni),
        findings: {
            // A host-network pod is its node's address: the policies its
            // labels match do nothing to it, so their findings are not its.
            let selecting = if pod.on_host_network() {
                Vec::new()
            } else {
                model.selecting(pod)
            };
            lint(
                model,
                &LintOptions::default(),
                &|p| {
                    selecting
                        .iter()
                        .any(|&i| std::ptr::eq(&model.policies[i], p))
                },
                &|_, _| false,
                ClusterScope::Nothing,
            )
        },
        notes,
        cluster_policies_read: model.snapshot.gaps.cluster_policies_read(),
    }
}

/// One direction of `pod`: the policies isolating it, their rules, and the
/// conclusion in one sentence (with a note for named ports declared only
/// by plain init containers, worded for the CNI `cni` gives).
pub fn direction(
    model: &Model<'_>,
    pod: &PodInfo,
    d: Direction,
    cni: &dyn Fn() -> CniFacts,
) -> DirectionView {
    let isolating = model.isolating(pod, d);
    let mut policies = Vec::new();
    let mut allowed_parts: Vec<String> = Vec::new();
    let mut dead_named = false;
    for &pi in &isolating {
        let policy = &model.policies[pi];
        let mut rules = Vec::new();
        for (ri, rule) in policy.rules(d).unwrap_or_default().iter().enumerate() {
            let view = rule_view(model, rule, ri, pod, d);
            // A rule whose named ports do not exist on this pod admits
            // nothing here.
            if matches!(&view.resolved_ports, Some(AllOr::Some(p)) if p.is_empty()) {
                dead_named = true;
            } else {
                allowed_parts.push(allowed_phrase(&view, rule, d));
            }
            rules.push(view);
        }
        policies.push(PolicyView {
            namespace: policy.namespace.clone(),
            name: policy.name.clone(),
            summary: summary(policy),
            rules,
        });
    }
    let who = pod.ref_key();
    let conclusion = match (isolating.is_empty(), allowed_parts.is_empty(), d) {
        (true, _, Direction::Ingress) => format!(
            "No policy isolates {who} for ingress: it accepts connections from everywhere on every port."
        ),
        (true, _, Direction::Egress) => {
            format!("No policy isolates {who} for egress: it may connect anywhere on every port.")
        }
        (false, true, Direction::Ingress) if dead_named => format!(
            "{who} is isolated for ingress and no rule admits anything (the named ports its rules use do not exist on this pod): every incoming connection is denied."
        ),
        (false, true, Direction::Ingress) => format!(
            "{who} is isolated for ingress and no rule admits anything: every incoming connection is denied."
        ),
        (false, true, Direction::Egress) => format!(
            "{who} is isolated for egress and no rule admits anything: every outgoing connection is denied, DNS included."
        ),
        (false, false, Direction::Ingress) => format!(
            "{who} accepts connections only {}; everything else is denied.",
            allowed_parts.join("; ")
        ),
        (false, false, Direction::Egress) => format!(
            "{who} may connect only {}; everything else is denied.",
            allowed_parts.join("; ")
        ),
    };
    // Named ports this pod does not resolve because only a plain init
    // container declares them (Calico resolves them there): say so, as it
    // applies to this cluster's CNI.
    let mut conclusion = conclusion;
    if d == Direction::Ingress {
        let mut names: Vec<(&str, Protocol)> = Vec::new();
        for &pi in &isolating {
            for rule in model.policies[pi].rules(d).unwrap_or_default() {
                for spec in rule.ports.iter().flatten() {
                    if let PortValue::Named(name) = &spec.port
                        && crate::snapshot::init_only_named_port(pod, name, Some(spec.protocol))
                            .is_some()
                        && !names.contains(&(name.as_str(), spec.protocol))
                    {
                        names.push((name.as_str(), spec.protocol));
                    }
                }
            }
        }
        let facts = if names.is_empty() {
            CniFacts::default()
        } else {
            cni()
        };
        let notes = names.iter().filter_map(|(name, proto)| {
            crate::engine::lint::cni::init_port_note(&facts, pod, name, Some(*proto))
        });
        for note in notes {
            conclusion.push_str(&format!(" Note: {note}."));
        }
    }
    // The cluster policy tiers around NetworkPolicy.
    let (admin, baseline, invalid) = crate::cmd::tiers::applying(model, pod, d);
    if !admin.is_empty() || !baseline.is_empty() || !invalid.is_empty() {
        conclusion = tiers_conclusion(
            &who,
            d,
            !isolating.is_empty(),
            &conclusion,
            &admin,
            &baseline,
            &invalid,
        );
    }
    DirectionView {
        isolated: !isolating.is_empty(),
        admin,
        policies,
        baseline,
        invalid_cluster_policies: invalid,
        conclusion,
    }
}

/// The closing sentence when cluster policy tiers apply: the Admin tier
/// first, then NetworkPolicy's answer (`np`) for what it leaves, or the
/// Baseline tier and the default when no NetworkPolicy isolates the pod.
fn tiers_conclusion(
    who: &str,
    d: Direction,
    isolated: bool,
    np: &str,
    admin: &[crate::cmd::tiers::ClusterPolicyView],
    baseline: &[crate::cmd::tiers::ClusterPolicyView],
    invalid: &[String],
) -> String {
    use crate::cmd::tiers::view_names;
    let mut parts = Vec::new();
    if !admin.is_empty() {
        parts.push(format!(
            "First the admin tier ({}) accepts or denies what its {} rules match, for good, and passes on what they pass.",
            view_names(admin),
            d.as_str()
        ));
    }
    let rest = if admin.is_empty() {
        ""
    } else {
        "For the rest, "
    };
    if isolated {
        parts.push(format!("{rest}NetworkPolicy decides: {np}"));
        if !baseline.is_empty() {
            parts.push(format!(
                "The baseline tier ({}) is not reached: a NetworkPolicy isolates {who} for {}.",
                view_names(baseline),
                d.as_str()
            ));
        }
    } else if !baseline.is_empty() {
        parts.push(format!(
            "{rest}{} NetworkPolicy isolates {who} for {}, so the baseline tier ({}) decides what its rules match, and anything else is allowed.",
            if admin.is_empty() { "No" } else { "no" },
            d.as_str(),
            view_names(baseline)
        ));
    } else {
        parts.push(format!(
            "{rest}{} NetworkPolicy isolates {who} for {} and no baseline policy applies: allowed.",
            if admin.is_empty() { "No" } else { "no" },
            d.as_str()
        ));
    }
    // Orders the API leaves undefined: equal priorities within a tier, and
    // the BaselineAdminNetworkPolicy against the Baseline
    // ClusterNetworkPolicies.
    let mut ties: Vec<String> = Vec::new();
    for (tier, views) in [("admin", admin), ("baseline", baseline)] {
        let mut seen: Vec<u32> = Vec::new();
        for v in views {
            let Some(p) = v.priority else { continue };
            let same: Vec<&str> = views
                .iter()
                .filter(|w| w.priority == Some(p))
                .map(|w| w.name.as_str())
                .collect();
            if same.len() > 1 && !seen.contains(&p) {
                seen.push(p);
                ties.push(format!(
                    "{} ({tier} tier, all at priority {p})",
                    same.join(", ")
                ));
            }
        }
    }
    let banp = baseline.iter().any(|v| v.priority.is_none());
    let cnps: Vec<&str> = baseline
        .iter()
        .filter(|v| v.priority.is_some())
        .map(|v| v.name.as_str())
        .collect();
    if banp && !cnps.is_empty() {
        ties.push(format!(
            "the BaselineAdminNetworkPolicy and {} (no order between them)",
            cnps.join(", ")
        ));
    }
    if !ties.is_empty() {
        parts.push(format!(
            "Undefined where they disagree: {}; where their rules match the same traffic with different actions the API leaves the outcome to the implementation (`kubectl netpol can` names those ports).",
            ties.join("; ")
        ));
    }
    if !invalid.is_empty() {
        parts.push(format!(
            "Unknown: {} {} invalid (the API server would reject {}) and may apply here.",
            invalid.join(", "),
            if invalid.len() == 1 { "is" } else { "are" },
            if invalid.len() == 1 { "it" } else { "them" }
        ));
    }
    parts.join(" ")
}

fn rule_view(
    model: &Model<'_>,
    rule: &Rule,
    index: usize,
    pod: &PodInfo,
    d: Direction,
) -> RuleView {
    let peers = match &rule.peers {
        None => AllOr::All,
        Some(list) => AllOr::Some(list.iter().map(|p| peer_view(model, p)).collect()),
    };
    let ports = match &rule.ports {
        None => AllOr::All,
        Some(specs) => AllOr::Some(specs.iter().map(|s| s.render()).collect()),
    };
    let named = rule
        .ports
        .iter()
        .flatten()
        .any(|s| matches!(s.port, PortValue::Named(_)));
    let resolved_ports = if d == Direction::Egress && named {
        None
    } else {
        let set = rule.resolve_ports(Some(&pod.ports));
        Some(set_view(&set))
    };
    RuleView {
        rule: index + 1,
        peers,
        ports,
        resolved_ports,
    }
}

fn set_view(set: &PortSet) -> AllOr<Vec<String>> {
    if set.is_all() {
        AllOr::All
    } else {
        AllOr::Some(set.to_strings())
    }
}

fn peer_view(model: &Model<'_>, peer: &Peer) -> PeerView {
    let gaps = &model.snapshot.gaps;
    let matched = model.peer_pods(peer);
    let pods: Vec<String> = matched.iter().map(|p| p.ref_key()).collect();
    let host_network: Vec<String> = matched
        .iter()
        .filter(|p| p.on_host_network())
        .map(|p| p.ref_key())
        .collect();
    match peer {
        Peer::IpBlock(b) => PeerView {
            kind: "ipBlock",
            description: peer_text(peer),
            namespaces: None,
            pods,
            cidr: Some(b.cidr.to_string()),
            except: Some(b.except.iter().map(ToString::to_string).collect()),
            namespaces_by_label: false,
            host_network,
            unknown: gaps
                .pods
                .values()
                .next()
                .map(|why| format!("pod IPs could not all be read: {why}")),
        },
        Peer::Pods { namespaces, .. } => {
            let ns: Vec<String> = model
                .namespaces_in(namespaces)
                .map(|n| n.name.clone())
                .collect();
            let by_label = namespaces.single_name().is_none();
            let unknown = match (&gaps.namespaces, by_label) {
                (Some(why), true) => Some(format!("namespace labels could not be read: {why}")),
                _ => {
                    let named: Vec<&str> = match namespaces.single_name() {
                        Some(n) => vec![n],
                        None => ns.iter().map(String::as_str).collect(),
                    };
                    named
                        .iter()
                        .find_map(|n| gaps.pods_unknown_in(n))
                        .map(|why| format!("pods could not be read: {why}"))
                }
            };
            PeerView {
                kind: "pods",
                description: peer_text(peer),
                namespaces: Some(ns),
                pods,
                cidr: None,
                except: None,
                namespaces_by_label: by_label,
                host_network,
                unknown,
            }
        }
    }
}

/// `from frontend/web (2 pods) on TCP/8080`.
fn allowed_phrase(view: &RuleView, rule: &Rule, d: Direction) -> String {
    let word = if d == Direction::Ingress {
        "from"
    } else {
        "to"
    };
    let peers = match &view.peers {
        AllOr::All => "anywhere".to_string(),
        AllOr::Some(list) => list
            .iter()
            .map(|p| match p.kind {
                _ if p.unknown.is_some() => format!("{} (pods unknown)", p.description),
                "ipBlock" if p.pods.is_empty() => p.description.clone(),
                "ipBlock" => format!(
                    "{} (which includes {})",
                    p.description,
                    count(p.pods.len(), "pod")
                ),
                _ => format!("{} ({})", p.description, count(p.pods.len(), "pod")),
            })
            .collect::<Vec<_>>()
            .join(" or "),
    };
    let ports = match (&view.resolved_ports, &rule.ports) {
        (_, None) => "on any port".to_string(),
        (Some(AllOr::All), _) => "on any port".to_string(),
        (Some(AllOr::Some(list)), _) if list.is_empty() => {
            "on no port (its named ports do not exist on this pod)".to_string()
        }
        (Some(AllOr::Some(list)), _) => format!("on {}", list.join(", ")),
        (None, Some(specs)) => format!(
            "on {} (named ports resolved on each destination)",
            specs
                .iter()
                .map(|s| s.render())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!("{word} {peers} {ports}")
}

/// Whether ports as written and as resolved say the same thing.
fn same_ports(written: &[String], resolved: &[String]) -> bool {
    let mut w = written.to_vec();
    w.sort();
    let mut r = resolved.to_vec();
    r.sort();
    w == r
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Pods with ` (host network)` after those that use it.
fn marked(pods: &[String], host_network: &[String]) -> Vec<String> {
    pods.iter()
        .map(|p| {
            if host_network.contains(p) {
                format!("{p} (host network)")
            } else {
                p.clone()
            }
        })
        .collect()
}

fn names(list: &[String], wide: bool) -> String {
    if list.is_empty() {
        return "<none>".to_string();
    }
    let shown: Vec<String> = list
        .iter()
        .take(if wide { usize::MAX } else { FEW })
        .map(|s| clean(s))
        .collect();
    let more = list.len() - shown.len();
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// `node-a (172.18.0.3)`, or the addresses alone.
fn node_text(name: Option<&str>, addresses: &[std::net::IpAddr]) -> String {
    let list: Vec<String> = addresses.iter().map(ToString::to_string).collect();
    match (name, list.is_empty()) {
        (Some(n), true) => n.to_string(),
        (Some(n), false) => format!("{n} ({})", list.join(", ")),
        (None, _) => list.join(", "),
    }
}

/// kubectl-describe-like text.
pub fn render_text(r: &ExplainReport, p: Palette, wide: bool) -> String {
    let mut out = String::new();
    let pod = &r.pod;
    let workload = pod
        .workload
        .as_ref()
        .map(|w| format!("{}/{}", w.kind.to_lowercase(), w.name))
        .filter(|w| *w != pod.name)
        .map(|w| format!(" ({})", clean(&w)))
        .unwrap_or_default();
    out.push_str(&format!(
        "{}         {}/{}{}\n",
        p.head("Pod:"),
        clean(&pod.namespace),
        clean(&pod.name),
        workload
    ));
    out.push_str(&format!("Labels:      {}\n", labels_text(&pod.labels)));
    out.push_str(&format!(
        "IP:          {}\n",
        if pod.ips.is_empty() {
            "<none>".to_string()
        } else {
            pod.ips.join(", ")
        }
    ));
    let ports: Vec<String> = pod
        .ports
        .iter()
        .map(|c| match &c.name {
            Some(n) => format!("{} {}/{}", clean(n), c.port, c.protocol),
            None => format!("{}/{}", c.port, c.protocol),
        })
        .collect();
    out.push_str(&format!(
        "Ports:       {}\n",
        if ports.is_empty() {
            "<none>".to_string()
        } else {
            ports.join(", ")
        }
    ));
    if let Some(node) = &r.pod.node {
        let name = node.name.as_deref().map(clean);
        let addresses: Vec<String> = node.addresses.iter().map(|a| clean(a)).collect();
        let text = match (name, addresses.is_empty()) {
            (Some(n), true) => n,
            (Some(n), false) => format!("{n} ({})", addresses.join(", ")),
            (None, _) => addresses.join(", "),
        };
        out.push_str(&format!(
            "Node:        {text}{}\n",
            if pod.host_network {
                ", whose network this pod uses"
            } else {
                ": may always reach the pod, and be reached by it"
            }
        ));
    }
    for (title, d, view) in [
        ("Ingress:", Direction::Ingress, &r.ingress),
        ("Egress:", Direction::Egress, &r.egress),
    ] {
        out.push('\n');
        let state = if view.isolated {
            p.warn(&format!(
                "isolated by {}",
                count(view.policies.len(), "policy").replace("policys", "policies")
            ))
        } else {
            p.good("not isolated")
        };
        out.push_str(&format!(
            "{}{}{}\n",
            p.head(title),
            " ".repeat(13 - title.len()),
            state
        ));
        let tier_lines =
            |out: &mut String, title: &str, views: &[crate::cmd::tiers::ClusterPolicyView]| {
                for v in views {
                    let prio = v
                        .priority
                        .map(|n| format!(", priority {n}"))
                        .unwrap_or_default();
                    let maybe = if v.maybe {
                        " (may apply: the labels of the pod's namespace were not read)"
                    } else {
                        ""
                    };
                    out.push_str(&format!(
                        "  {}\n    {}\n",
                        p.head(&format!(
                            "{title} {} {}{prio}{maybe}",
                            v.kind,
                            clean(&v.name)
                        )),
                        p.dim(&clean(&v.summary))
                    ));
                }
            };
        tier_lines(&mut out, "Admin tier:", &view.admin);
        for pol in &view.policies {
            out.push_str(&format!(
                "  {}\n",
                p.head(&format!("{}/{}", clean(&pol.namespace), clean(&pol.name)))
            ));
            out.push_str(&format!("    {}\n", p.dim(&clean(&pol.summary))));
            if pol.rules.is_empty() {
                out.push_str(&format!("    No {} rules: allows nothing.\n", d.as_str()));
            }
            for rule in &pol.rules {
                out.push_str(&format!("    Rule #{}\n", rule.rule));
                let label = if d == Direction::Ingress {
                    "From:"
                } else {
                    "To:  "
                };
                match &rule.peers {
                    AllOr::All => out.push_str(&format!(
                        "      {label}   anywhere (every pod and address)\n"
                    )),
                    AllOr::Some(peers) => {
                        for (i, peer) in peers.iter().enumerate() {
                            let lead = if i == 0 { label } else { "or   " };
                            let matched = match (peer.kind, peer.pods.len()) {
                                ("ipBlock", 0) => "no pod IPs inside".to_string(),
                                ("ipBlock", n) => format!(
                                    "includes the IPs of {}: {}",
                                    count(n, "pod"),
                                    names(&marked(&peer.pods, &peer.host_network), wide)
                                ),
                                (_, 0) => p.warn("no pods match now"),
                                (_, n) => {
                                    format!("{}: {}", count(n, "pod"), names(&peer.pods, wide))
                                }
                            };
                            let matched = match &peer.namespaces {
                                _ if peer.unknown.is_some() => p.warn(&format!(
                                    "unknown: {}",
                                    peer.unknown.as_deref().unwrap_or_default()
                                )),
                                Some(ns) if peer.namespaces_by_label && ns.is_empty() => {
                                    p.warn("no namespace has these labels")
                                }
                                Some(ns) if peer.namespaces_by_label => format!(
                                    "{}: {}; {matched}",
                                    count(ns.len(), "namespace"),
                                    names(ns, wide)
                                ),
                                _ => matched,
                            };
                            out.push_str(&format!(
                                "      {lead}   {} -> {matched}\n",
                                clean(&peer.description)
                            ));
                        }
                    }
                }
                let ports = match (&rule.ports, &rule.resolved_ports) {
                    (AllOr::All, _) => "all ports".to_string(),
                    (AllOr::Some(written), Some(AllOr::Some(resolved)))
                        if d == Direction::Ingress && !same_ports(written, resolved) =>
                    {
                        format!(
                            "{} (on this pod: {})",
                            written.join(", "),
                            if resolved.is_empty() {
                                p.warn("none, the named port does not exist here")
                            } else {
                                resolved.join(", ")
                            }
                        )
                    }
                    (AllOr::Some(written), None) => {
                        format!(
                            "{} (named ports resolve on each destination pod)",
                            written.join(", ")
                        )
                    }
                    (AllOr::Some(written), _) => written.join(", "),
                };
                out.push_str(&format!("      Ports:  {ports}\n"));
            }
        }
        tier_lines(&mut out, "Baseline tier:", &view.baseline);
        out.push_str(&format!("  => {}\n", clean(&view.conclusion)));
    }
    if !r.findings.is_empty() {
        out.push_str("\nFindings (`kubectl netpol lint` shows the fixes):\n");
        for f in &r.findings {
            let line = render_finding(f, p);
            out.push_str(&format!("  {}\n", line.lines().next().unwrap_or_default()));
        }
    }
    if !r.notes.is_empty() {
        out.push_str("\nNotes:\n");
        for n in &r.notes {
            out.push_str(&format!("  - {}\n", clean(n)));
        }
    }
    out
}
