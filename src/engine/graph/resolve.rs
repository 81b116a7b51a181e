//! What a graph names but does not say, looked up in what is known of the
//! cluster: the pods behind each workload reference, the DNS pods and
//! their ports, and what deserves a warning before policies are made
//! from it. Pure: the caller reads the manifests or the cluster into an
//! [`Environment`] first.
//!
//! A workload reference becomes the workload's own pod selector
//! (`spec.selector`: Deployment, StatefulSet, DaemonSet, ReplicaSet,
//! ReplicationController), which the API server keeps immutable for the
//! apps kinds, so a policy made from it keeps selecting the pods across
//! rollouts (pod template labels may change with every rollout, and
//! during one both old and new pods run). Jobs (unless `manualSelector`)
//! and CronJobs have no selector of their own: their pod template's labels
//! are used, less those the Job controller adds (`controller-uid`,
//! `job-name`, and their `batch.kubernetes.io/` forms), which differ per
//! run.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::NetworkPolicyPort;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::ServiceGraph;
use super::validate::workload_ref;
use crate::engine::lint::dns::dns_pods;
use crate::engine::ports::Protocol;
use crate::engine::selector::Selector;
use crate::snapshot::{PodInfo, Snapshot};

/// Workload objects (as written in manifests, or as the API server
/// stores them) by (kind as Kubernetes spells it, namespace, name).
pub type Workloads = BTreeMap<(String, String, String), Value>;

/// What is known of the cluster a graph is resolved against.
pub struct Environment<'a> {
    /// Pods (labels and container ports: named ports, DNS), kube-system's
    /// Services (DNS), and what could not be read.
    pub snapshot: &'a Snapshot,
    pub workloads: &'a Workloads,
    /// How to name where they come from in messages: `the input`, `the
    /// cluster`.
    pub source: &'a str,
}

/// Where the graph's DNS rules point: the DNS pods and the ports they
/// serve on (what NetworkPolicy sees, after a Service's translation).
#[derive(Debug, Clone, PartialEq)]
pub struct DnsPeer {
    pub namespace: String,
    pub pod_selector: LabelSelector,
    /// UDP ports first, then TCP, each ascending (as detected), or
    /// `spec.dns.ports` as written.
    pub ports: Vec<NetworkPolicyPort>,
}

impl Default for DnsPeer {
    /// The usual CoreDNS: kube-system `k8s-app=kube-dns`, UDP and TCP 53.
    fn default() -> Self {
        DnsPeer {
            namespace: "kube-system".into(),
            pod_selector: LabelSelector {
                match_labels: Some([("k8s-app".to_string(), "kube-dns".to_string())].into()),
                match_expressions: None,
            },
            ports: dns_ports(&[53], &[53]),
        }
    }
}

fn dns_ports(udp: &[u16], tcp: &[u16]) -> Vec<NetworkPolicyPort> {
    let mut out = Vec::new();
    for (proto, ports) in [("UDP", udp), ("TCP", tcp)] {
        for &p in ports {
            out.push(NetworkPolicyPort {
                protocol: Some(proto.into()),
                port: Some(IntOrString::Int(i32::from(p))),
                end_port: None,
            });
        }
    }
    out
}

/// Everything [`super::generate::desired`] needs besides the graph.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resolved {
    /// Each service's pods, by service name.
    pub selectors: BTreeMap<String, LabelSelector>,
    pub dns: DnsPeer,
}

/// A resolved graph, with what the caller should say about it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resolution {
    pub resolved: Resolved,
    /// Likely mistakes: a service selecting no pod, a named port no
    /// destination pod declares, a pod of two services (`warning: ...`
    /// lines without the prefix).
    pub warnings: Vec<String>,
    /// Assumptions made (the DNS pods assumed, a Service mapping port 53).
    pub notes: Vec<String>,
}

/// A workload reference that could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// `spec.services[2].workload`.
    pub path: String,
    /// As written: `deployment/api`.
    pub workload: String,
    pub namespace: String,
    /// `not in the input`, `has no pod labels`...
    pub why: String,
}

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} in namespace {:?}: {}",
            self.path, self.workload, self.namespace, self.why
        )
    }
}

/// Labels the Job controller adds to a Job's pod template: per run.
const JOB_LABELS: [&str; 4] = [
    "controller-uid",
    "batch.kubernetes.io/controller-uid",
    "job-name",
    "batch.kubernetes.io/job-name",
];

fn template_labels(obj: &Value, pointer: &str) -> BTreeMap<String, String> {
    obj.pointer(pointer)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The pod selector of a workload object of `kind` (see the module's
/// documentation); `Err` says why there is none.
pub fn workload_selector(kind: &str, obj: &Value) -> Result<LabelSelector, String> {
    let labels_selector = |labels: BTreeMap<String, String>, what: &str| {
        if labels.is_empty() {
            Err(format!(
                "{what} has no labels: nothing selects its pods (give the service a podSelector)"
            ))
        } else {
            Ok(LabelSelector {
                match_labels: Some(labels),
                match_expressions: None,
            })
        }
    };
    let template = "/spec/template/metadata/labels";
    let own = obj.pointer("/spec/selector").filter(|s| !s.is_null());
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => match own {
            Some(s) => serde_json::from_value::<LabelSelector>(s.clone())
                .map_err(|e| format!("its spec.selector does not decode: {e}"))
                .and_then(|sel| {
                    let empty = sel.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
                        && sel.match_expressions.as_ref().is_none_or(Vec::is_empty);
                    if empty {
                        labels_selector(template_labels(obj, template), "its pod template")
                    } else {
                        Ok(sel)
                    }
                }),
            None => labels_selector(template_labels(obj, template), "its pod template"),
        },
        "ReplicationController" => {
            let own: BTreeMap<String, String> = template_labels(obj, "/spec/selector");
            if own.is_empty() {
                labels_selector(template_labels(obj, template), "its pod template")
            } else {
                labels_selector(own, "its spec.selector")
            }
        }
        "Job" => {
            let manual = obj
                .pointer("/spec/manualSelector")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            match own {
                Some(s) if manual => serde_json::from_value::<LabelSelector>(s.clone())
                    .map_err(|e| format!("its spec.selector does not decode: {e}")),
                _ => {
                    let mut labels = template_labels(obj, template);
                    labels.retain(|k, _| !JOB_LABELS.contains(&k.as_str()));
                    labels_selector(labels, "its pod template")
                }
            }
        }
        "CronJob" => labels_selector(
            template_labels(obj, "/spec/jobTemplate/spec/template/metadata/labels"),
            "its job template's pod template",
        ),
        other => Err(format!("{other} is not a workload kind")),
    }
}

/// A stand-in pod for workload `kind`/`name` from its pod template
/// (labels, container ports), as `-f` makes one for a workload manifest.
fn template_pod(namespace: &str, kind: &str, name: &str, obj: &Value) -> Option<PodInfo> {
    use k8s_openapi::api::core::v1::PodTemplateSpec;
    let pointer = if kind == "CronJob" {
        "/spec/jobTemplate/spec/template"
    } else {
        "/spec/template"
    };
    let template: PodTemplateSpec = serde_json::from_value(obj.pointer(pointer)?.clone()).ok()?;
    let spec = template.spec.as_ref();
    Some(PodInfo {
        namespace: namespace.to_string(),
        name: name.to_string(),
        labels: template.metadata.and_then(|m| m.labels).unwrap_or_default(),
        ips: Vec::new(),
        ports: spec
            .map(crate::snapshot::container_ports)
            .unwrap_or_default(),
        init_ports: Vec::new(),
        workload: Some(crate::snapshot::WorkloadRef {
            kind: kind.to_string(),
            name: name.to_string(),
        }),
        representative: true,
        host_network: false,
        node: None,
        host_ips: Vec::new(),
    })
}

/// `app=api` for a selector, as kubectl writes it.
fn shown(sel: &LabelSelector) -> String {
    match Selector::compile(sel) {
        Ok(s) if s.is_everything() => "every pod".into(),
        Ok(s) => s.render(),
        Err(e) => e,
    }
}

/// The pods of `snapshot` in `namespace` that `sel` selects.
fn selected<'s>(snapshot: &'s Snapshot, namespace: &str, sel: &LabelSelector) -> Vec<&'s PodInfo> {
    let Ok(sel) = Selector::compile(sel) else {
        return Vec::new();
    };
    snapshot
        .pods
        .iter()
        .filter(|p| p.namespace == namespace && sel.matches(&p.labels))
        .collect()
}

/// Resolves `graph` (valid: see [`super::parse`]) against `env`: every
/// workload reference, or the list of those that cannot be.
pub fn resolve(graph: &ServiceGraph, env: &Environment<'_>) -> Result<Resolution, Vec<Unresolved>> {
    let mut out = Resolution::default();
    let mut unresolved = Vec::new();
    for (i, s) in graph.spec.services.iter().enumerate() {
        let sel = match (&s.pod_selector, &s.workload) {
            (Some(sel), _) => sel.clone(),
            (None, Some(w)) => {
                let path = format!("spec.services[{i}].workload");
                let fail = |why: String| Unresolved {
                    path: path.clone(),
                    workload: w.clone(),
                    namespace: s.namespace.clone(),
                    why,
                };
                let Some((kind, name)) = workload_ref(w) else {
                    unresolved.push(fail("not a workload reference".into()));
                    continue;
                };
                let key = (kind.to_string(), s.namespace.clone(), name.to_string());
                match env.workloads.get(&key) {
                    None => {
                        unresolved.push(fail(format!("no {kind} {name:?} in {}", env.source)));
                        continue;
                    }
                    Some(obj) => match workload_selector(kind, obj) {
                        Ok(sel) => sel,
                        Err(why) => {
                            unresolved.push(fail(why));
                            continue;
                        }
                    },
                }
            }
            (None, None) => continue,
        };
        out.resolved.selectors.insert(s.name.clone(), sel);
    }
    if !unresolved.is_empty() {
        return Err(unresolved);
    }
    check_pods(graph, env, &mut out);
    resolve_dns(graph, env, &mut out);
    check_dns_service(graph, env, &mut out);
    Ok(out)
}

/// Warnings from the pods known: services that select none, pods of two
/// services, named ports no destination pod declares.
fn check_pods(graph: &ServiceGraph, env: &Environment<'_>, out: &mut Resolution) {
    let snapshot = env.snapshot;
    let mut members: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut pods_of: BTreeMap<&str, Vec<&PodInfo>> = BTreeMap::new();
    // Stand-ins for workloads without pods (scaled to zero, or not
    // created yet): their pod template, for the named-port check.
    let mut stand_ins: BTreeMap<&str, PodInfo> = BTreeMap::new();
    for s in &graph.spec.services {
        if let Some(sel) = out.resolved.selectors.get(&s.name)
            && selected(snapshot, &s.namespace, sel).is_empty()
            && let Some((kind, name)) = s.workload.as_deref().and_then(workload_ref)
            && let Some(obj) =
                env.workloads
                    .get(&(kind.to_string(), s.namespace.clone(), name.to_string()))
            && let Some(pod) = template_pod(&s.namespace, kind, name, obj)
        {
            stand_ins.insert(&s.name, pod);
        }
    }
    for s in &graph.spec.services {
        let Some(sel) = out.resolved.selectors.get(&s.name) else {
            continue;
        };
        let pods = selected(snapshot, &s.namespace, sel);
        let known = snapshot.pods.iter().any(|p| p.namespace == s.namespace);
        // A workload's own selector is no typo: a workload without pods
        // is not a mistake of the graph's.
        if pods.is_empty() && known && s.workload.is_none() {
            out.warnings.push(format!(
                "service {:?} selects no pod of namespace {:?} in {} ({})",
                s.name,
                s.namespace,
                env.source,
                shown(sel)
            ));
        }
        for p in &pods {
            members.entry(p.ref_key()).or_default().push(&s.name);
        }
        let pods = match stand_ins.get(s.name.as_str()) {
            Some(stand_in) if pods.is_empty() => vec![stand_in],
            _ => pods,
        };
        pods_of.insert(&s.name, pods);
    }
    for (pod, services) in &members {
        if services.len() > 1 {
            out.warnings.push(format!(
                "pod {pod} is in services {}: the policies of each apply to it, so it gets the traffic of all of them",
                services.join(" and ")
            ));
        }
    }
    let mut check = |path: String, service: &str, ports: &[NetworkPolicyPort]| {
        let Some(pods) = pods_of.get(service).filter(|p| !p.is_empty()) else {
            return;
        };
        for (j, p) in ports.iter().enumerate() {
            let Some(IntOrString::String(name)) = &p.port else {
                continue;
            };
            let proto = p
                .protocol
                .as_deref()
                .and_then(Protocol::parse)
                .unwrap_or(Protocol::Tcp);
            let declared = pods.iter().any(|pod| {
                pod.ports
                    .iter()
                    .any(|c| c.protocol == proto && c.name.as_deref() == Some(name.as_str()))
            });
            if !declared {
                let names: BTreeSet<String> = pods
                    .iter()
                    .flat_map(|pod| pod.ports.iter())
                    .filter(|c| c.protocol == proto)
                    .filter_map(|c| c.name.clone())
                    .collect();
                let have = if names.is_empty() {
                    format!("they declare no named {proto} port")
                } else {
                    format!(
                        "they declare {}",
                        names.into_iter().collect::<Vec<_>>().join(", ")
                    )
                };
                out.warnings.push(format!(
                    "{path}[{j}].port: no pod of service {service:?} declares a {proto} container port named {name:?} ({have}): this port allows nothing"
                ));
            }
        }
    };
    for (i, e) in graph.spec.edges.iter().enumerate() {
        check(format!("spec.edges[{i}].ports"), &e.to, &e.ports);
    }
    for (i, x) in graph.spec.ingress.iter().enumerate() {
        check(format!("spec.ingress[{i}].ports"), &x.to, &x.ports);
    }
}

/// A service whose pods are DNS pods gets an ingress policy that admits
/// its edges only: the other services' DNS rules would then reach nothing.
fn check_dns_service(graph: &ServiceGraph, env: &Environment<'_>, out: &mut Resolution) {
    if !graph.isolates_ingress() {
        return;
    }
    let dns = &out.resolved.dns;
    let dns_pods: BTreeSet<String> = selected(env.snapshot, &dns.namespace, &dns.pod_selector)
        .iter()
        .map(|p| p.ref_key())
        .collect();
    for s in &graph.spec.services {
        let Some(sel) = out.resolved.selectors.get(&s.name) else {
            continue;
        };
        if selected(env.snapshot, &s.namespace, sel)
            .iter()
            .any(|p| dns_pods.contains(&p.ref_key()))
        {
            out.warnings.push(format!(
                "service {:?} selects the DNS pods: its ingress policy admits only its edges, so DNS from everything else is denied (leave the DNS pods out of the graph, or give every service an edge to it on the DNS ports)",
                s.name
            ));
        }
    }
}

/// Where DNS is: `spec.dns`'s overrides, else the DNS pods as `lint`
/// finds them in the snapshot, else the usual CoreDNS (said in a note
/// when some policy has a DNS rule).
fn resolve_dns(graph: &ServiceGraph, env: &Environment<'_>, out: &mut Resolution) {
    let found = dns_pods(env.snapshot);
    let spec = graph.spec.dns.clone().unwrap_or_default();
    let namespace = spec
        .namespace
        .clone()
        .unwrap_or_else(|| found.namespace.clone());
    let pod_selector = match &spec.pod_selector {
        Some(sel) => sel.clone(),
        None if namespace == found.namespace => found.selector.clone(),
        // Another namespace than the one looked in: its every pod.
        None => LabelSelector::default(),
    };
    let ports = spec
        .ports
        .clone()
        .unwrap_or_else(|| dns_ports(&found.udp, &found.tcp));
    let used = graph.isolates_egress()
        && (graph.spec.services.iter().any(|s| graph.service_dns(s))
            || (graph.dns_enabled()
                && graph
                    .spec
                    .namespaces
                    .iter()
                    .any(|n| n.default_deny == Some(true))));
    let overridden = spec.pod_selector.is_some() && spec.ports.is_some();
    if used && !overridden {
        if !found.found {
            let why = match env.snapshot.gaps.pods_unknown_in("kube-system") {
                Some(why) => {
                    format!("the pods of namespace \"kube-system\" were not read ({why})")
                }
                None => format!("no DNS pods in {}", env.source),
            };
            out.notes.push(format!(
                "{why}: the DNS rules assume kube-system pods k8s-app=kube-dns on UDP and TCP 53 (spec.dns can say otherwise)"
            ));
        }
        for n in &found.notes {
            out.notes.push(format!(
                "{n}: the DNS rules admit that port (NetworkPolicy sees the connection after the Service is translated to a pod)"
            ));
        }
    }
    out.resolved.dns = DnsPeer {
        namespace,
        pod_selector,
        ports,
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn workload_selectors() {
        let deploy = json!({"spec": {"selector": {"matchLabels": {"app": "web", "track": "stable"}},
            "template": {"metadata": {"labels": {"app": "web", "track": "stable", "version": "2"}}}}});
        let sel = workload_selector("Deployment", &deploy).unwrap();
        assert_eq!(shown(&sel), "app=web,track=stable");
        let job = json!({"spec": {"template": {"metadata": {"labels": {"app": "migrate", "controller-uid": "x", "batch.kubernetes.io/job-name": "m"}}}}});
        assert_eq!(
            shown(&workload_selector("Job", &job).unwrap()),
            "app=migrate"
        );
        let cron = json!({"spec": {"jobTemplate": {"spec": {"template": {"metadata": {"labels": {"app": "report"}}}}}}});
        assert_eq!(
            shown(&workload_selector("CronJob", &cron).unwrap()),
            "app=report"
        );
        let rc = json!({"spec": {"selector": {"app": "old"}, "template": {"metadata": {"labels": {"app": "old", "x": "y"}}}}});
        assert_eq!(
            shown(&workload_selector("ReplicationController", &rc).unwrap()),
            "app=old"
        );
        let bare = json!({"spec": {"template": {"metadata": {}}}});
        assert!(
            workload_selector("Deployment", &bare)
                .unwrap_err()
                .contains("no labels")
        );
    }
}
