//! One module per subcommand: gather a snapshot, ask the engine, render.
//! Shared here: loading the input, the namespace scope, and finding the
//! pod a user named.

pub mod can;
pub mod explain;
pub mod list;
pub mod matrix;

use std::net::IpAddr;

use crate::cli::{GlobalArgs, OutputFormat};
use crate::engine::Model;
use crate::error::Error;
use crate::render::Palette;
use crate::snapshot::{PodInfo, Snapshot};
use crate::source::files::{self, LoadOptions};

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

/// Settings decided once from the global flags.
#[derive(Debug, Clone)]
pub struct Context {
    pub global: GlobalArgs,
    pub palette: Palette,
}

impl Context {
    pub fn format(&self) -> OutputFormat {
        self.global.output.unwrap_or(OutputFormat::Text)
    }

    /// The namespace for objects without one and for names without one.
    pub fn default_namespace(&self) -> String {
        self.global
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string())
    }

    /// Namespaces a listing covers: `None` for all. With manifests and no
    /// `-n`, that is everything in them, as `kubectl get -f` shows.
    pub fn scope(&self) -> Option<String> {
        if self.global.all_namespaces {
            None
        } else if let Some(ns) = &self.global.namespace {
            Some(ns.clone())
        } else if !self.global.filenames.is_empty() {
            None
        } else {
            Some("default".to_string())
        }
    }

    pub fn in_scope(&self, namespace: &str) -> bool {
        self.scope().is_none_or(|s| s == namespace)
    }

    /// Reads the input into a snapshot.
    pub fn snapshot(&self) -> Result<Snapshot, Error> {
        if self.global.filenames.is_empty() {
            return Err(Error::NoInput);
        }
        files::load(&LoadOptions {
            paths: self.global.filenames.clone(),
            recursive: self.global.recursive,
            default_namespace: self.default_namespace(),
        })
    }
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
    pub pod: &'s PodInfo,
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
            Some("Pod") => in_ns.filter(|p| p.name == name).collect(),
            Some(k) => in_ns
                .filter(|p| {
                    p.workload
                        .as_ref()
                        .is_some_and(|w| w.kind == k && w.name == name)
                })
                .collect(),
            None => {
                let pods: Vec<&PodInfo> = in_ns.clone().filter(|p| p.name == name).collect();
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
        return Ok(Found { pod: first, note });
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

/// An endpoint given on the command line: a pod, or an address.
pub enum Target<'s> {
    Pod(Found<'s>),
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
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(match snapshot.pods.iter().find(|p| p.ips.contains(&ip)) {
            Some(pod) => Target::Pod(Found {
                pod,
                note: Some(format!("{ip} is the IP of pod {}", pod.key())),
            }),
            None => Target::Ip(ip),
        });
    }
    find_pod(snapshot, text, default_ns, namespace_given).map(Target::Pod)
}
