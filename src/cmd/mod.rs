//! One module per subcommand: gather a snapshot, ask the engine, render.
//! Shared here: loading the input, the namespace scope, and finding the
//! pod a user named.

pub mod can;
pub mod check;
pub mod complete;
pub mod explain;
mod fetch;
pub mod version;
pub use fetch::{Need, namespace_labels_matter};
pub mod coverage;
pub mod lint;
pub mod list;
pub mod matrix;
pub mod wizard;

use std::borrow::Cow;
use std::net::IpAddr;

use crate::cli::{GlobalArgs, OutputFormat};
use crate::cni::{self, Evidence, Verdict};
use crate::engine::Model;
use crate::error::Error;
use crate::render::Palette;
use crate::snapshot::{PodInfo, Snapshot};
use crate::source::files::{LoadOptions, Manifests};
use crate::source::live::Live;
use std::rc::Rc;

/// What a command produced: the text to print and the exit code.
#[derive(Debug)]
pub struct Outcome {
    pub stdout: String,
    /// Warnings for stderr, printed before stdout.
    pub warnings: Vec<String>,
    pub code: i32,
}

impl Outcome {
    pub fn ok(stdout: String) -> Outcome {
        Outcome {
            stdout,
            warnings: Vec::new(),
            code: 0,
        }
    }
}

/// Where cluster objects come from for this run.
enum Source {
    Files,
    Live(Live),
    /// No cluster could be configured; the error is reported when a
    /// command first needs the cluster (`lint --list-checks` does not).
    NoCluster(Error),
}

/// What a command needs from a live cluster; manifests are always read in
/// full (once, streamed document by document).
pub enum Plan<'a> {
    /// Pods and policies of the scope (`-n`, or everything), plus (with
    /// `namespaces`) the namespaces and (with `services`) the Services: for
    /// `list`, `matrix`, `lint` and `coverage`.
    Scope { namespaces: Need, services: bool },
    /// The pods the user named (as typed), their namespaces' policies, and
    /// with `peers` also the pods those policies' peers can match.
    Endpoints { refs: &'a [&'a str], peers: bool },
}

/// Settings decided once from the global flags, and the connection.
pub struct Context {
    pub global: GlobalArgs,
    pub palette: Palette,
    source: Source,
    runtime: tokio::runtime::Runtime,
    /// The manifests, read once (stdin cannot be read twice).
    manifests: std::cell::OnceCell<Manifests>,
}

impl Context {
    /// Reads manifests when `-f` is given, or else connects to the cluster
    /// kubectl's flags name (no request is sent yet).
    pub fn new(global: GlobalArgs, palette: Palette) -> Result<Context, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("cannot start the async runtime: {e}")))?;
        let source = if global.filenames.is_empty() {
            match runtime.block_on(Live::connect(&global.connection)) {
                Ok(live) => Source::Live(live),
                // Flag syntax errors are reported at once, as clap would.
                Err(e @ Error::Usage(_)) => return Err(e),
                Err(e) => Source::NoCluster(e),
            }
        } else {
            Source::Files
        };
        Ok(Context {
            global,
            palette,
            source,
            runtime,
            manifests: std::cell::OnceCell::new(),
        })
    }

    pub fn format(&self) -> OutputFormat {
        self.global.output.unwrap_or(OutputFormat::Text)
    }

    /// The namespace for objects and names without one: `-n`, else the
    /// kubeconfig context's namespace, else `default`.
    pub fn default_namespace(&self) -> String {
        match (&self.global.namespace, &self.source) {
            (Some(ns), _) => ns.clone(),
            (None, Source::Live(live)) => live.namespace.clone(),
            (None, Source::Files | Source::NoCluster(_)) => "default".to_string(),
        }
    }

    /// Namespaces a listing covers: `None` for all. `-A` wins over `-n`.
    /// With manifests and no `-n`, that is everything in them, as
    /// `kubectl get -f` shows; on a cluster, the context's namespace.
    pub fn scope(&self) -> Option<String> {
        if self.global.all_namespaces {
            None
        } else if let Some(ns) = &self.global.namespace {
            Some(ns.clone())
        } else {
            match &self.source {
                Source::Files => None,
                Source::Live(live) => Some(live.namespace.clone()),
                Source::NoCluster(_) => Some("default".to_string()),
            }
        }
    }

    pub fn in_scope(&self, namespace: &str) -> bool {
        self.scope().is_none_or(|s| s == namespace)
    }

    /// Reads the input into a snapshot: the manifests, or from the cluster
    /// what `plan` needs.
    pub fn snapshot(&self, plan: Plan<'_>) -> Result<Rc<Snapshot>, Error> {
        match &self.source {
            Source::Files => Ok(self.manifests()?.snapshot()),
            Source::NoCluster(e) => Err(e.again()),
            Source::Live(live) => self
                .runtime
                .block_on(live.bounded(self.fetch(live, plan)))
                .map(Rc::new),
        }
    }

    async fn fetch(&self, live: &Live, plan: Plan<'_>) -> Result<Snapshot, Error> {
        match plan {
            Plan::Scope {
                namespaces,
                services,
            } => fetch::scope(live, self.scope().as_deref(), namespaces, services).await,
            Plan::Endpoints { refs, peers } => {
                fetch::endpoints(live, refs, &self.default_namespace(), peers).await
            }
        }
    }

    /// The snapshot and, read at the same time, the enforcement warning
    /// that `explain` and `list` print (see [`Context::enforcement_warning`]).
    pub fn snapshot_with_warning(
        &self,
        plan: Plan<'_>,
    ) -> Result<(Rc<Snapshot>, Option<String>), Error> {
        match &self.source {
            Source::Live(live) => {
                let both = async {
                    let (snapshot, evidence) =
                        tokio::join!(self.fetch(live, plan), live.evidence(false));
                    Ok((snapshot?, evidence))
                };
                let (snapshot, evidence) = self.runtime.block_on(live.bounded(both))?;
                Ok((Rc::new(snapshot), warning_from(evidence)))
            }
            _ => {
                let snapshot = self.snapshot(plan)?;
                Ok((snapshot, self.enforcement_warning()))
            }
        }
    }
}

impl Context {
    /// Whether the input is manifests (`-f`).
    pub fn offline(&self) -> bool {
        matches!(self.source, Source::Files)
    }

    /// The live cluster, when there is one.
    pub fn live(&self) -> Result<&Live, Error> {
        match &self.source {
            Source::Live(live) => Ok(live),
            Source::NoCluster(e) => Err(e.again()),
            Source::Files => Err(Error::Usage(
                "this needs a cluster, and -f was given".into(),
            )),
        }
    }

    /// Runs a cluster call within `--request-timeout`.
    pub fn block_on<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        match &self.source {
            Source::Live(live) => self.runtime.block_on(live.bounded(fut)),
            _ => self.runtime.block_on(fut),
        }
    }

    /// Everything: every namespace, pod and policy (the wizard's view).
    pub fn everything(&self) -> Result<Rc<Snapshot>, Error> {
        match &self.source {
            Source::Live(live) => self
                .runtime
                .block_on(live.bounded(fetch::scope(live, None, Need::IfReadable, false)))
                .map(Rc::new),
            _ => self.snapshot(Plan::Scope {
                namespaces: Need::IfReadable,
                services: false,
            }),
        }
    }

    /// The cluster's objects in scope (namespaces, pods, policies,
    /// Services), even when `-f` is given: for `lint --against-cluster`.
    pub fn cluster_snapshot(&self) -> Result<Snapshot, Error> {
        let connected;
        let live = match &self.source {
            Source::Live(live) => live,
            Source::NoCluster(e) => return Err(e.again()),
            Source::Files => {
                connected = self
                    .runtime
                    .block_on(Live::connect(&self.global.connection))?;
                &connected
            }
        };
        let scope = if self.global.all_namespaces {
            None
        } else {
            Some(
                self.global
                    .namespace
                    .clone()
                    .unwrap_or_else(|| live.namespace.clone()),
            )
        };
        self.runtime.block_on(live.bounded(fetch::scope(
            live,
            scope.as_deref(),
            Need::IfReadable,
            true,
        )))
    }

    fn manifests(&self) -> Result<&Manifests, Error> {
        if let Some(m) = self.manifests.get() {
            return Ok(m);
        }
        let m = Manifests::read(&LoadOptions {
            paths: self.global.filenames.clone(),
            recursive: self.global.recursive,
            default_namespace: self.default_namespace(),
        })?;
        Ok(self.manifests.get_or_init(|| m))
    }

    /// What tells whether the CNI enforces NetworkPolicy: from the
    /// manifests, or read from the cluster (`full` also reads the pods of
    /// well-known CNI namespaces).
    pub fn evidence(&self, full: bool) -> Result<Evidence, Error> {
        match &self.source {
            Source::Files => self
                .manifests()?
                .evidence()
                .map_err(|message| Error::Manifest {
                    file: self.global.filenames.join(", "),
                    message,
                }),
            Source::Live(live) => self.runtime.block_on(live.bounded(live.evidence(full))),
            Source::NoCluster(e) => Err(e.again()),
        }
    }

    /// The one-line warning `explain` and `list` print when the evidence
    /// says policies are not (or may not be) enforced. Quiet when the
    /// evidence cannot be read or holds nothing about the CNI.
    pub fn enforcement_warning(&self) -> Option<String> {
        warning_from(self.evidence(false))
    }
}

/// The enforcement warning for what the evidence says, if any.
fn warning_from(evidence: Result<Evidence, Error>) -> Option<String> {
    {
        let evidence = evidence.ok()?;
        // "Cannot tell" is worth saying only when the kube-system pods were
        // there to look at; application manifests are not evidence.
        let saw_kube_system = evidence
            .pods
            .iter()
            .any(|p| p.metadata.namespace.as_deref() == Some("kube-system"));
        let a = cni::assess(&evidence);
        let reason = a.reason.trim_end_matches('.');
        match a.verdict {
            Verdict::Enforced => None,
            Verdict::NotEnforced => Some(format!(
                "warning: NetworkPolicy is not enforced in this cluster: {reason} (see kubectl netpol check)"
            )),
            Verdict::Unknown if !saw_kube_system => None,
            Verdict::Unknown => Some(format!(
                "warning: cannot tell whether NetworkPolicy is enforced in this cluster: {reason} (see kubectl netpol check)"
            )),
        }
    }
}

/// The namespace a `[NAMESPACE/][KIND/]NAME` reference points into, or
/// `None` for an IP address.
pub fn ref_namespace(text: &str, default_ns: &str) -> Option<String> {
    if text.parse::<IpAddr>().is_ok() {
        return None;
    }
    let parts: Vec<&str> = text.split('/').collect();
    Some(match parts.as_slice() {
        [ns, _, _] => ns.to_string(),
        [a, _] if kind_alias(a).is_none() => a.to_string(),
        _ => default_ns.to_string(),
    })
}

/// Refuses to evaluate when a policy the API server would reject lives in
/// one of `namespaces` (the answer depends on it and its effect cannot be
/// known). Invalid policies elsewhere cannot change the answer: they come
/// back as warnings.
pub fn require_valid(model: &Model<'_>, namespaces: &[&str]) -> Result<Vec<String>, Error> {
    let (relevant, other): (Vec<_>, Vec<_>) = model
        .invalid
        .iter()
        .cloned()
        .partition(|p| namespaces.contains(&p.namespace.as_str()));
    if !relevant.is_empty() {
        return Err(Error::InvalidPolicies(relevant));
    }
    Ok(other
        .iter()
        .map(|p| {
            format!(
                "warning: NetworkPolicy {:?} is invalid (the API server would reject it) and is left out",
                p.key
            )
        })
        .collect())
}

/// Kubernetes kinds a user may name, with kubectl's short names.
fn kind_alias(word: &str) -> Option<&'static str> {
    // `deployment.apps/web` (what `kubectl get -o name` prints) too.
    let word = word.split_once('.').map_or(word, |(k, _)| k);
    Some(match word.to_ascii_lowercase().as_str() {
        "pod" | "pods" | "po" => "Pod",
        "deployment" | "deployments" | "deploy" => "Deployment",
        "statefulset" | "statefulsets" | "sts" => "StatefulSet",
        "daemonset" | "daemonsets" | "ds" => "DaemonSet",
        "replicaset" | "replicasets" | "rs" => "ReplicaSet",
        "replicationcontroller" | "replicationcontrollers" | "rc" => "ReplicationController",
        "job" | "jobs" => "Job",
        "cronjob" | "cronjobs" | "cj" => "CronJob",
        _ => return None,
    })
}

/// kubectl's resource name in messages (`deployments.apps`).
fn resource_name(kind: &str) -> &'static str {
    match kind {
        "Deployment" => "deployments.apps",
        "StatefulSet" => "statefulsets.apps",
        "DaemonSet" => "daemonsets.apps",
        "ReplicaSet" => "replicasets.apps",
        "ReplicationController" => "replicationcontrollers",
        "Job" => "jobs.batch",
        "CronJob" => "cronjobs.batch",
        _ => "pods",
    }
}

/// A pod the user named, plus a note when it stands for several.
pub struct Found<'s> {
    /// Borrowed from the snapshot, or a copy narrowed to the one IP the
    /// user gave.
    pub pod: Cow<'s, PodInfo>,
    /// Every pod the reference matched (several for a workload).
    pub all: Vec<&'s PodInfo>,
    pub note: Option<String>,
}

/// Finds `[NAMESPACE/][KIND/]NAME`. A bare NAME is a pod, or else the
/// workload of that name. `namespace_given` says whether `-n` was passed:
/// without it, a miss in `default` names the namespaces that do have it.
pub fn find_pod<'s>(
    snapshot: &'s Snapshot,
    text: &str,
    default_ns: &str,
    namespace_given: bool,
) -> Result<Found<'s>, Error> {
    let parts: Vec<&str> = text.split('/').collect();
    let (ns, kind, name) = match parts.as_slice() {
        [name] => (default_ns, None, *name),
        [a, name] => match kind_alias(a) {
            Some(k) => (default_ns, Some(k), *name),
            None => (*a, None, *name),
        },
        [ns, k, name] => match kind_alias(k) {
            Some(k) => (*ns, Some(k), *name),
            None => {
                return Err(Error::Usage(format!(
                    "unknown resource type {k:?} in {text:?}"
                )));
            }
        },
        _ => {
            return Err(Error::Usage(format!(
                "cannot read {text:?}: expected [NAMESPACE/][KIND/]NAME"
            )));
        }
    };
    if name.is_empty() || ns.is_empty() {
        return Err(Error::Usage(format!(
            "cannot read {text:?}: expected [NAMESPACE/][KIND/]NAME"
        )));
    }
    let lookup = |ns: &str| -> Vec<&'s PodInfo> {
        let in_ns = snapshot.pods.iter().filter(|p| p.namespace == ns);
        match kind {
            Some("Pod") => {
                let mut pods: Vec<&PodInfo> = in_ns.filter(|p| p.name == name).collect();
                pods.sort_by_key(|p| p.representative);
                pods
            }
            Some(k) => in_ns
                .filter(|p| {
                    p.workload
                        .as_ref()
                        .is_some_and(|w| w.kind == k && w.name == name)
                })
                .collect(),
            None => {
                let mut pods: Vec<&PodInfo> = in_ns.clone().filter(|p| p.name == name).collect();
                // A real pod before a workload's stand-in of the same name.
                pods.sort_by_key(|p| p.representative);
                if pods.is_empty() {
                    in_ns
                        .filter(|p| p.workload.as_ref().is_some_and(|w| w.name == name))
                        .collect()
                } else {
                    pods
                }
            }
        }
    };
    let found = lookup(ns);
    if let Some(first) = found.first() {
        let note = (found.len() > 1).then(|| {
            format!(
                "{} pods match {text:?}; showing {} (pods of one workload share labels and ports, but not IPs)",
                found.len(),
                first.key()
            )
        });
        return Ok(Found {
            pod: Cow::Borrowed(*first),
            note,
            all: found,
        });
    }
    let resource = resource_name(kind.unwrap_or("Pod"));
    let mut msg = format!("{resource} {name:?} not found in namespace {ns:?}");
    let explicit_ns = parts.len() == 3 || (parts.len() == 2 && kind.is_none());
    if !namespace_given && !explicit_ns {
        let mut elsewhere: Vec<&str> = snapshot
            .namespaces
            .iter()
            .map(|n| n.name.as_str())
            .filter(|n| *n != ns && !lookup(n).is_empty())
            .collect();
        elsewhere.dedup();
        if let Some(first) = elsewhere.first() {
            msg.push_str(&format!(
                " (found in namespace {}: use -n {first})",
                elsewhere
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    Err(Error::NotFound(msg))
}

/// The address that stands for node `name` (`node/NAME`): its first
/// InternalIP/ExternalIP, or else the host IP of a pod scheduled on it.
fn node_address(snapshot: &Snapshot, name: &str) -> Result<IpAddr, Error> {
    if let Some(ip) = snapshot.node(name).and_then(|n| n.addresses.first()) {
        return Ok(*ip);
    }
    snapshot
        .pods
        .iter()
        .filter(|p| p.node.as_deref() == Some(name))
        .find_map(|p| p.host_ips.first().copied())
        .ok_or_else(|| {
            let known: Vec<&str> = snapshot
                .nodes
                .iter()
                .map(|n| n.name.as_str())
                .chain(snapshot.pods.iter().filter_map(|p| p.node.as_deref()))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let hint = if known.is_empty() {
                " (no Node objects and no pod's status.hostIP were read: give the node's address instead)".to_string()
            } else {
                format!(" (known nodes: {})", known.join(", "))
            };
            Error::NotFound(format!("nodes {name:?} not found{hint}"))
        })
}

/// An endpoint given on the command line: a pod, or an address.
pub enum Target<'s> {
    Pod(Box<Found<'s>>),
    Ip(IpAddr),
}

/// Reads SRC/DST: an IP address (resolved to a pod when one has it) or a
/// pod reference.
pub fn find_endpoint<'s>(
    snapshot: &'s Snapshot,
    text: &str,
    default_ns: &str,
    namespace_given: bool,
) -> Result<Target<'s>, Error> {
    if let Some(name) = fetch::node_ref(text) {
        return node_address(snapshot, name).map(Target::Ip);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        let owners: Vec<&PodInfo> = snapshot
            .pods
            .iter()
            .filter(|p| p.ips.contains(&ip))
            .collect();
        return match owners.as_slice() {
            [] => Ok(Target::Ip(ip)),
            [pod] if !pod.host_network => {
                // Traffic from this address uses this address only: a
                // dual-stack pod's other IP must not match an ipBlock.
                let mut narrowed = (*pod).clone();
                narrowed.ips = vec![ip];
                Ok(Target::Pod(Box::new(Found {
                    pod: Cow::Owned(narrowed),
                    all: vec![*pod],
                    note: Some(format!("{ip} is the IP of pod {}", pod.key())),
                })))
            }
            pods if pods.iter().all(|p| p.host_network) => Ok(Target::Ip(ip)),
            pods => Err(Error::Usage(format!(
                "{ip} is the IP of several pods ({}): name the pod instead",
                pods.iter().map(|p| p.key()).collect::<Vec<_>>().join(", ")
            ))),
        };
    }
    find_pod(snapshot, text, default_ns, namespace_given).map(|f| Target::Pod(Box::new(f)))
}
