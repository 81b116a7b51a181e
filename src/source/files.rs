//! Manifests as input: `-f FILE|DIR|-`, YAML (multi-document) or JSON,
//! `kind: List`, and workloads turned into one representative pod each.
//!
//! Kinds that matter are Namespace, Pod and NetworkPolicy; workloads
//! (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController,
//! Job, CronJob) become a pod with their template's labels and ports unless
//! their real pods are in the input too. Other Kubernetes kinds are ignored;
//! a document that is not a Kubernetes object is an error.
//!
//! Typed lists (`PodList`, `NetworkPolicyList`, `NodeList`, ...) as the API
//! returns them, whose items carry no `apiVersion`/`kind`, give their items
//! the list's (`kind: List` items must say what they are).
//!
//! Wrongly typed fields follow what the API server does with them (it cannot
//! decode the object, so the object never exists in a cluster): a
//! NetworkPolicy is kept as an invalid policy, with each field's path and
//! the server's wording ([`crate::engine::validate::take_wrong_types`]);
//! any other object we read is left out with a `warning:` line
//! ([`Manifests::warnings`]). Either way the other documents are read on;
//! only text that is not YAML at all stops the reading, naming file,
//! document and line.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde::Deserialize;
use serde_json::Value;

use crate::cni::Evidence;
use crate::error::Error;
use crate::snapshot::{
    Labels, NamespaceInfo, NodeInfo, PodInfo, ServiceInfo, SliceEndpoint, Snapshot, WorkloadRef,
    container_ports, init_container_ports,
};

const WORKLOAD_KINDS: [&str; 7] = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
];

/// What `-f` and friends asked for.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub paths: Vec<String>,
    pub recursive: bool,
    /// Where objects without `metadata.namespace` land (`-n` or `default`).
    pub default_namespace: String,
}

/// One input and how to name it in messages; read while it is parsed.
struct Input {
    name: String,
    source: InputSource,
    reading: Reading,
    parallel: Parallel,
    /// Set for the narrow reading of a file ([`Manifests::read_narrow`]).
    narrow: Option<std::sync::Arc<Narrow>>,
}

/// How the documents of `-f` are read: the commands use [`Reading::Fast`];
/// [`Reading::Reference`] is every document through the YAML reading, as
/// before the fast paths, for the tests that compare the two
/// ([`read_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// JSON documents through serde_json (see [`super::json`]).
    Fast,
    /// Every document through the YAML parser.
    Reference,
}

/// How many threads parse the documents of `-f`, and how much text is
/// cut before it is handed to them.
///
/// With more than one thread, documents are cut as they are read and
/// gathered into batches of about `batch_bytes` of text; each batch is
/// parsed on a pool of `threads` threads (one document a task, while the
/// next batch is read) and merged in input order, so that the snapshot,
/// the warnings and the first error are the one-thread reading's (see
/// [`Batches`]). The pool starts only once the input fills a batch: small
/// inputs are read on one thread. Documents larger than
/// [`STREAM_LIST_BYTES`] (a whole cluster as one `kind: List`) are read in
/// order on the reading thread, streamed item by item as before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parallel {
    /// 1: every document is read on the calling thread, as it is cut.
    pub threads: usize,
    /// The text gathered before a batch is handed to the pool.
    pub batch_bytes: usize,
}

impl Parallel {
    /// One thread: documents are parsed as they are cut.
    pub const SERIAL: Parallel = Parallel {
        threads: 1,
        batch_bytes: BATCH_BYTES,
    };

    /// `NETPOL_THREADS` (a whole number from 1), else the cores this
    /// process may use.
    pub fn from_env() -> Result<Parallel, Error> {
        let threads = match std::env::var_os("NETPOL_THREADS") {
            Some(v) if !v.is_empty() => v
                .to_str()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|&n| (1..=MAX_THREADS).contains(&n))
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "NETPOL_THREADS={v:?}: not a number of threads (a whole number from 1 to {MAX_THREADS})"
                    ))
                })?,
            _ => std::thread::available_parallelism().map_or(1, usize::from),
        };
        Ok(Parallel {
            threads,
            batch_bytes: BATCH_BYTES,
        })
    }

    /// The pool of `threads` threads the documents are parsed on, for
    /// work after the reading (`matrix`'s rows); `None` for one thread,
    /// and when the pool cannot be started (see [`pool`]).
    pub fn pool(&self) -> Option<&'static rayon::ThreadPool> {
        if self.threads > 1 {
            pool(self.threads)
        } else {
            None
        }
    }
}

/// The text gathered into one batch of documents (see [`Parallel`]):
/// small enough that the values parsed from it are still in the caches
/// when the reading thread merges them (256 KiB batches gained nothing on
/// two cores, 32 KiB about 10 % on the large inputs; BENCHMARKS.md).
const BATCH_BYTES: usize = 32 << 10;

/// The most threads `NETPOL_THREADS` may ask for.
const MAX_THREADS: usize = 256;

enum InputSource {
    File(PathBuf),
    Stdin,
    Text(String),
}

/// The manifests, read once: the snapshot and the CNI evidence are both
/// made in the same pass, one document at a time (no document is kept after
/// it is read, so memory stays close to the snapshot's own size).
pub struct Manifests {
    snapshot: std::cell::RefCell<Rc<Snapshot>>,
    evidence: Result<Evidence, String>,
    warnings: std::cell::RefCell<Vec<String>>,
    apply: ApplyInput,
    graphs: Vec<GraphDocument>,
    /// What the narrow reading left unread, while it left something.
    unread: std::cell::RefCell<Option<Unread>>,
}

/// The narrow reading's state ([`Manifests::read_narrow`]): everything
/// taken in so far, with the Pods skipped (`builder.deferred`), and where
/// to read them.
struct Unread {
    builder: Builder,
    /// The files read, by the index `Builder::deferred` gives: their names
    /// in messages and their paths.
    files: Files,
    /// The namespaces whose Pods the snapshot holds.
    narrow: Narrow,
}

/// An object of this tool's own API group (a ServiceGraph, or what
/// claims to be one), as written, with where it was read: `generate`
/// decodes it (see [`crate::engine::graph`]); other commands do not look
/// at it.
#[derive(Debug, Clone)]
pub struct GraphDocument {
    pub value: Value,
    /// The file, or `<stdin>`.
    pub file: String,
    /// `document 2` or `document 2, item 5`.
    pub doc: String,
}

/// What modelling `kubectl apply -f` of the manifests needs beyond the
/// snapshot (`diff -f`).
#[derive(Debug, Clone, Default)]
pub struct ApplyInput {
    /// Namespaces written in namespaced objects' `metadata.namespace`,
    /// each with the first object that names it (`Deployment web`).
    pub namespaces: BTreeMap<String, String>,
    /// Objects of a kind this tool reads in a version or spelling no API
    /// server serves (NetworkPolicy in `extensions/v1beta1` or
    /// `networking.k8s.io/v1beta1`, `kind: NetworkPolicies`): left out of
    /// the snapshot with a warning; `kubectl apply` refuses them.
    pub unserved: Vec<Unserved>,
    /// Every (apiVersion, kind) of the input, with its first object: what
    /// `diff -f` asks the API server's discovery about (kubectl apply
    /// refuses an object of a kind the server does not serve).
    pub kinds: BTreeMap<(String, String), Unserved>,
    /// Namespaces, Pods and workloads as written, by (kind, namespace,
    /// name) (the namespace of a Namespace is empty): what `kubectl apply`
    /// sends.
    pub objects: BTreeMap<(String, String, String), Value>,
}

/// An object whose API version no server serves any more.
#[derive(Debug, Clone)]
pub struct Unserved {
    pub file: String,
    pub namespace: String,
    pub name: String,
    pub api_version: String,
    pub kind: String,
}

impl Unserved {
    /// What kubectl says of it (`kubectl apply` and `kubectl diff`), on
    /// one line.
    pub fn kubectl_error(&self) -> String {
        format!(
            "resource mapping not found for name: {:?} namespace: {:?} from {:?}: no matches for kind {:?} in version {:?}",
            self.name, self.namespace, self.file, self.kind, self.api_version
        )
    }
}

/// Kinds without a namespace: their `metadata.namespace`, if any, is not
/// checked against `-n` (kubectl ignores it).
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "RuntimeClass",
    "CSIDriver",
    "CSINode",
    "APIService",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ClusterNetworkPolicy",
    "AdminNetworkPolicy",
    "BaselineAdminNetworkPolicy",
    // This tool's own (kubectl-netpol.github.io).
    "ServiceGraph",
    "List",
];

impl Manifests {
    /// Reads every path (`-` is stdin, read once).
    pub fn read(opts: &LoadOptions) -> Result<Manifests, Error> {
        Self::read_with(opts, false)
    }

    /// Reads every path as [`Manifests::read`], also keeping each Pod as
    /// written in [`ApplyInput::objects`] (what `diff -f` sends to the
    /// server's dry runs; other commands do without that copy).
    pub fn read_for_apply(opts: &LoadOptions) -> Result<Manifests, Error> {
        Self::read_with(opts, true)
    }

    fn read_with(opts: &LoadOptions, keep_pods: bool) -> Result<Manifests, Error> {
        let (snapshot, evidence, warnings, apply, graphs) = read(opts, keep_pods)?;
        Ok(Manifests {
            snapshot: std::cell::RefCell::new(Rc::new(snapshot)),
            evidence,
            warnings: std::cell::RefCell::new(warnings),
            apply,
            graphs,
            unread: std::cell::RefCell::new(None),
        })
    }

    /// Reads every path as [`Manifests::read`] does, except the Pods of
    /// namespaces `narrow` does not name, which are only checked as YAML
    /// and skipped when that is safe ([`super::scan::pod_head`]): the
    /// snapshot then holds the Pods of `narrow`'s namespaces only (and of
    /// the CNI's, for the evidence), every other object as the full
    /// reading has it, and the warnings of what was read. Stdin is read in
    /// full (it cannot be read again). [`Manifests::widen`] reads the rest.
    ///
    /// Errors: those of [`Manifests::read`], for the documents read.
    pub fn read_narrow(opts: &LoadOptions, narrow: Narrow) -> Result<Manifests, Error> {
        let narrow = std::sync::Arc::new(narrow);
        let (mut builder, evidence, files) = read_into(opts, false, Some(&narrow))?;
        let narrow = std::sync::Arc::unwrap_or_clone(narrow);
        let warnings = builder.warnings_in_order();
        let apply = std::mem::take(&mut builder.apply);
        let graphs = std::mem::take(&mut builder.graphs);
        let (snapshot, unread) = if builder.deferred.is_empty() {
            (builder.finish(None), None)
        } else {
            let snapshot = builder.clone().finish(Some(&narrow));
            let unread = Unread {
                builder,
                files,
                narrow,
            };
            (snapshot, Some(unread))
        };
        Ok(Manifests {
            snapshot: std::cell::RefCell::new(Rc::new(snapshot)),
            evidence: Ok(evidence),
            warnings: std::cell::RefCell::new(warnings),
            apply,
            graphs,
            unread: std::cell::RefCell::new(unread),
        })
    }

    /// Whether the snapshot holds every object of the input (no Pod left
    /// unread by [`Manifests::read_narrow`]).
    pub fn is_whole(&self) -> bool {
        self.unread.borrow().is_none()
    }

    /// The namespaces the narrow reading was asked for (and those read
    /// since, see [`Manifests::widen`]), `None` when the whole input is.
    pub fn narrowed_to(&self) -> Option<std::collections::BTreeSet<String>> {
        self.unread
            .borrow()
            .as_ref()
            .map(|u| u.narrow.namespaces.clone())
    }

    /// Reads the Pods [`Manifests::read_narrow`] skipped that `wanted`
    /// names, exactly as the full reading reads them (on the reading pool,
    /// each where it was in the input); the snapshot and the warnings then
    /// are those of the full reading for the namespaces read, and hold the
    /// Pods of the nodes read too.
    ///
    /// Errors: a file that changed since it was read (its skipped
    /// document's text differs), or cannot be read again.
    pub fn widen(&self, wanted: Wanted<'_>) -> Result<(), Error> {
        let mut slot = self.unread.borrow_mut();
        let Some(unread) = slot.as_mut() else {
            return Ok(());
        };
        let now: Vec<(usize, Deferred)> = match wanted {
            Wanted::Everything => std::mem::take(&mut unread.builder.deferred),
            Wanted::Only { namespaces, nodes } => {
                let (now, later) = std::mem::take(&mut unread.builder.deferred)
                    .into_iter()
                    .partition(|(_, d)| {
                        namespaces.contains(&d.namespace)
                            || d.node.as_ref().is_some_and(|n| nodes.contains(n))
                    });
                unread.builder.deferred = later;
                unread.narrow.namespaces.extend(namespaces.iter().cloned());
                unread.narrow.nodes.extend(nodes.iter().cloned());
                now
            }
        };
        read_deferred(&mut unread.builder, &unread.files, &now)?;
        *self.warnings.borrow_mut() = unread.builder.warnings_in_order();
        let snapshot = if unread.builder.deferred.is_empty() {
            let Some(unread) = slot.take() else {
                return Ok(());
            };
            unread.builder.finish(None)
        } else {
            unread.builder.clone().finish(Some(&unread.narrow))
        };
        *self.snapshot.borrow_mut() = Rc::new(snapshot);
        Ok(())
    }

    /// The objects of this tool's API group, in input order.
    pub fn graphs(&self) -> &[GraphDocument] {
        &self.graphs
    }

    /// What modelling `kubectl apply -f` of these manifests needs.
    pub fn apply_input(&self) -> &ApplyInput {
        &self.apply
    }

    /// The engine's snapshot of these objects.
    pub fn snapshot(&self) -> Rc<Snapshot> {
        Rc::clone(&self.snapshot.borrow())
    }

    /// What the manifests say about the CNI (see [`crate::cni`]).
    pub fn evidence(&self) -> Result<Evidence, String> {
        self.evidence.clone()
    }

    /// One `warning: FILE: document N: ...` line per object left out
    /// because the API server would reject it (a wrongly typed field in a
    /// Pod, Namespace, workload, Service or CNI evidence object), in input
    /// order. Wrongly typed NetworkPolicies are not left out: they are
    /// invalid policies.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.borrow().clone()
    }
}

/// Reads every path and builds a snapshot.
pub fn load(opts: &LoadOptions) -> Result<Snapshot, Error> {
    read(opts, false).map(|(snapshot, ..)| snapshot)
}

/// Reads every path and builds a snapshot, with the warnings
/// [`Manifests::warnings`] would give and the objects of a kind or version
/// no API server serves ([`ApplyInput::unserved`]). Unlike [`Manifests`] the result can
/// be sent to another thread (`diff` reads its two sides at once).
pub fn load_with_warnings(
    opts: &LoadOptions,
) -> Result<(Snapshot, Vec<String>, Vec<Unserved>), Error> {
    read(opts, false).map(|(snapshot, _, warnings, apply, _)| (snapshot, warnings, apply.unserved))
}

/// What [`read`] gives: the snapshot, the CNI evidence, the warnings,
/// what modelling an apply needs and the objects of this tool's group.
type Read = (
    Snapshot,
    Result<Evidence, String>,
    Vec<String>,
    ApplyInput,
    Vec<GraphDocument>,
);

/// The snapshot, the CNI evidence and the warnings of every path, in one
/// pass.
fn read(opts: &LoadOptions, keep_pods: bool) -> Result<Read, Error> {
    let (mut builder, evidence, _) = read_into(opts, keep_pods, None)?;
    let warnings = builder.warnings_in_order();
    let apply = std::mem::take(&mut builder.apply);
    let graphs = std::mem::take(&mut builder.graphs);
    Ok((builder.finish(None), Ok(evidence), warnings, apply, graphs))
}

/// The files read, by index: their names in messages and their paths
/// (empty for stdin).
type Files = Vec<(String, PathBuf)>;

/// Every path taken into a builder (with `narrow`, files are read
/// narrowly: see [`Manifests::read_narrow`]), with the evidence and the
/// files read (name, path).
fn read_into(
    opts: &LoadOptions,
    keep_pods: bool,
    narrow: Option<&std::sync::Arc<Narrow>>,
) -> Result<(Builder, Evidence, Files), Error> {
    let mut inputs = Vec::new();
    let mut stdin_used = false;
    for p in &opts.paths {
        if p == "-" {
            if stdin_used {
                continue;
            }
            stdin_used = true;
            inputs.push(Input {
                name: "<stdin>".into(),
                source: InputSource::Stdin,
                reading: Reading::Fast,
                parallel: Parallel::SERIAL,
                narrow: None,
            });
        } else {
            collect(Path::new(p), opts.recursive, &mut inputs)?;
        }
    }
    let parallel = Parallel::from_env()?;
    for input in &mut inputs {
        input.parallel = parallel;
        // Only a regular file can be read again (not a pipe such as
        // `-f <(...)`, nor a device).
        if let InputSource::File(path) = &input.source
            && std::fs::metadata(path).is_ok_and(|m| m.is_file())
        {
            input.narrow = narrow.cloned();
        }
    }
    let mut builder = Builder::new(&opts.default_namespace);
    builder.keep_pods = keep_pods;
    let mut evidence = Evidence::default();
    let mut objects = 0usize;
    let mut names = Vec::new();
    let mut files = Vec::new();
    for (i, input) in inputs.into_iter().enumerate() {
        builder.input = i;
        parse_documents(&input, &mut |obj| {
            objects += 1;
            take_object(&mut builder, &mut evidence, obj)
        })?;
        files.push((
            input.name.clone(),
            match input.source {
                InputSource::File(path) => path,
                _ => PathBuf::new(),
            },
        ));
        names.push(input.name);
    }
    // Empty input is a mistake (a wrong path, a pipe that failed), not an
    // empty cluster: kubectl says "no objects passed" too.
    if objects == 0 {
        return Err(nothing_read(&opts.paths, &names));
    }
    Ok((builder, evidence, files))
}

/// Reads the skipped Pods `deferred` (input index, where) from their files
/// into `builder`, each where it was in the input, as the full reading
/// reads them; a batch at a time on the reading pool.
fn read_deferred(
    builder: &mut Builder,
    files: &[(String, PathBuf)],
    deferred: &[(usize, Deferred)],
) -> Result<(), Error> {
    use rayon::prelude::*;
    if deferred.is_empty() {
        return Ok(());
    }
    let parse_one = |(i, d): &(usize, Deferred), bytes: Vec<u8>| -> Result<Vec<Object>, Error> {
        let (name, _) = &files[*i];
        let changed = || d.changed(name);
        let text = String::from_utf8(bytes).map_err(|_| changed())?;
        if text_hash(&text) != d.hash {
            return Err(changed());
        }
        let mut objects = Vec::new();
        if let Some(j) = d.item {
            // As `parse_split_list` reads it: it had its own kind.
            let text = item_text(&text);
            let value = match serde_yaml_ng::Deserializer::from_str(&text).next() {
                None => Value::Null,
                Some(doc) => super::yaml::document_value(doc, &text).map_err(|_| changed())?,
            };
            let label = format!("document {}", d.number);
            push_item(value, None, name, &label, j, &mut objects).map_err(|_| changed())?;
            return Ok(objects);
        }
        let input = Input {
            name: name.clone(),
            source: InputSource::Text(String::new()),
            reading: Reading::Fast,
            parallel: Parallel::SERIAL,
            narrow: None,
        };
        let mut docs = d.number - 1;
        parse_chunk(
            &input,
            &text,
            d.first_line,
            d.offset,
            &mut docs,
            &mut |obj| {
                objects.push(obj);
                Ok(())
            },
        )?;
        Ok(objects)
    };
    // Each file opened once, its documents read in order (a seek and a
    // read each), then parsed on the pool.
    let mut opened: Vec<Option<std::fs::File>> = files.iter().map(|_| None).collect();
    let mut read_text = |(i, d): &(usize, Deferred)| -> Result<Vec<u8>, Error> {
        use std::io::{Read, Seek};
        let (name, path) = &files[*i];
        let io = |source| Error::Io {
            path: name.clone(),
            source,
        };
        let file = match &mut opened[*i] {
            Some(file) => file,
            slot => slot.insert(std::fs::File::open(path).map_err(io)?),
        };
        let mut bytes = vec![0; d.len];
        file.seek(std::io::SeekFrom::Start(d.offset)).map_err(io)?;
        match file.read_exact(&mut bytes) {
            // Shorter than when it was read: it changed.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(d.changed(name)),
            other => other.map(|()| bytes).map_err(io),
        }
    };
    let threads = Parallel::from_env()?.threads;
    let pool = (threads > 1 && deferred.len() > 1)
        .then(|| pool(threads))
        .flatten();
    let mut evidence = Evidence::default();
    for batch in deferred.chunks(DEFERRED_BATCH) {
        let texts = batch
            .iter()
            .map(&mut read_text)
            .collect::<Result<Vec<_>, _>>()?;
        let parsed: Vec<Result<Vec<Object>, Error>> = match pool {
            Some(pool) => pool.install(|| {
                batch
                    .par_iter()
                    .zip(texts)
                    .map(|(d, text)| parse_one(d, text))
                    .collect()
            }),
            None => batch
                .iter()
                .zip(texts)
                .map(|(d, text)| parse_one(d, text))
                .collect(),
        };
        for ((_, d), objects) in batch.iter().zip(parsed) {
            for obj in objects? {
                builder.seq = d.seq - 1;
                take_object(builder, &mut evidence, obj)?;
            }
        }
    }
    Ok(())
}

/// How many skipped Pods [`read_deferred`] parses at once: their values
/// are held until they are taken in.
const DEFERRED_BATCH: usize = 256;

/// The error for input that held no object at all, naming what was read.
fn nothing_read(paths: &[String], files: &[String]) -> Error {
    let asked: Vec<&str> = paths
        .iter()
        .map(|p| if p == "-" { "<stdin>" } else { p.as_str() })
        .collect();
    let what = if files.is_empty() {
        "no .yaml, .yml or .json file".to_string()
    } else if files.len() == 1 {
        "no Kubernetes object in it".to_string()
    } else {
        format!("no Kubernetes object in its {} files", files.len())
    };
    Error::Manifest {
        file: asked.join(", "),
        message: format!("nothing was read: {what}"),
    }
}

/// One object of the input into the snapshot being built and the CNI
/// evidence. Objects the API server would reject are left out with a
/// warning (see [`Builder::add`]).
fn take_object(
    builder: &mut Builder,
    evidence: &mut Evidence,
    mut obj: Object,
) -> Result<(), Error> {
    builder.seq += 1;
    if let Some(mut deferred) = obj.deferred.take() {
        deferred.seq = builder.seq;
        builder.deferred.push((builder.input, *deferred));
        return Ok(());
    }
    let kind = kind_of(&obj.value);
    let api = obj
        .value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !builder
        .apply
        .kinds
        .contains_key(&(api.to_string(), kind.to_string()))
    {
        let field = |k: &str| {
            obj.value
                .pointer(&format!("/metadata/{k}"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let namespace = match field("namespace") {
            ns if ns.is_empty() && !CLUSTER_SCOPED.contains(&kind) => {
                builder.default_namespace.to_string()
            }
            ns => ns,
        };
        let first = Unserved {
            file: obj.file.clone(),
            namespace,
            name: field("name"),
            api_version: api.to_string(),
            kind: kind.to_string(),
        };
        builder
            .apply
            .kinds
            .insert((api.to_string(), kind.to_string()), first);
    }
    if !CLUSTER_SCOPED.contains(&kind)
        && let Some(ns) = obj
            .value
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
        && !ns.is_empty()
        && !builder.apply.namespaces.contains_key(ns)
    {
        let name = obj
            .value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        builder
            .apply
            .namespaces
            .insert(ns.to_string(), format!("{kind} {name}"));
    }
    // Ours: decoded by the command that reads them, with its errors.
    if crate::engine::graph::is_graph_group(&obj.value) {
        builder.graphs.push(GraphDocument {
            value: obj.value,
            file: obj.file,
            doc: obj.doc,
        });
        return Ok(());
    }
    // Metadata that does not decode: kubectl does not send the
    // object. A NetworkPolicy's are errors of that policy instead.
    // A cluster policy's are validated with the rest of it
    // (`engine::tier::validate`).
    if kind_of(&obj.value) != "NetworkPolicy" && !is_cluster_policy(&obj.value) {
        let wrong = crate::engine::validate::take_wrong_metadata_types(&mut obj.value);
        if let Some(first) = wrong.first() {
            if is_read(&obj.value) {
                builder.skip(&obj, &format!("invalid {}: {first}", describe(&obj.value)));
            }
            return Ok(());
        }
    }
    // An object the evidence cannot decode (a wrongly typed Node,
    // say) is one the API server rejects: left out of both.
    if let Err(message) = crate::cni::push_value(evidence, &obj.value) {
        builder.skip(&obj, &message);
        return Ok(());
    }
    builder.add(obj)
}

/// Whether `v` is a cluster-scoped policy of a kind and version the engine
/// reads (ClusterNetworkPolicy v1alpha2/v1beta1, AdminNetworkPolicy and
/// BaselineAdminNetworkPolicy v1alpha1).
fn is_cluster_policy(v: &Value) -> bool {
    let api = v.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    crate::engine::tier::Api::of(kind_of(v), api).is_some()
}

/// A policy of another engine than Kubernetes NetworkPolicy, which no
/// command evaluates: `Some(is it cluster-scoped)`. The rule: a kind whose
/// name ends in `Policy` or `Firewall`, of any API group but Kubernetes'
/// own (core, `apps`, `*.k8s.io`: ValidatingAdmissionPolicy is no network
/// policy): Cilium's, Calico's, Antrea's, OVN-Kubernetes' EgressFirewall,
/// OpenShift's EgressNetworkPolicy, Istio's AuthorizationPolicy, ...; and
/// the cluster policy tiers of policy.networking.k8s.io when not read (a
/// version the engine does not know). Cluster-scoped when the name says so
/// (`Cluster...`, `Global...`, `...Clusterwide...`, `...Admin...`).
fn policy_like(kind: &str, api: &str) -> Option<bool> {
    let group = api.split_once('/').map_or("", |(g, _)| g);
    let kubernetes = !group.contains('.') || group.ends_with(".k8s.io");
    if kubernetes && group != "policy.networking.k8s.io" {
        return None;
    }
    // Admission-control policies (Kyverno's ClusterPolicy/Policy,
    // Gatekeeper's) govern objects, not traffic.
    if group == "kyverno.io" || group.ends_with(".kyverno.io") || group.ends_with("gatekeeper.sh") {
        return None;
    }
    if !(kind.ends_with("Policy") || kind.ends_with("Firewall")) {
        return None;
    }
    let plain = kind.strip_prefix("Staged").unwrap_or(kind);
    Some(
        plain.starts_with("Cluster")
            || plain.starts_with("Global")
            || plain.contains("Clusterwide")
            || plain.contains("Admin"),
    )
}

/// The kinds this tool reads, with the one apiVersion API servers serve
/// them in today (older versions were removed by Kubernetes 1.16-1.25).
const SERVED: [(&str, &str); 14] = [
    ("Namespace", "v1"),
    ("Pod", "v1"),
    ("ReplicationController", "v1"),
    ("Service", "v1"),
    ("Node", "v1"),
    ("ConfigMap", "v1"),
    ("NetworkPolicy", "networking.k8s.io/v1"),
    ("EndpointSlice", "discovery.k8s.io/v1"),
    ("Job", "batch/v1"),
    ("CronJob", "batch/v1"),
    ("Deployment", "apps/v1"),
    ("StatefulSet", "apps/v1"),
    ("DaemonSet", "apps/v1"),
    ("ReplicaSet", "apps/v1"),
];

/// A kind this tool reads, written in a built-in API group (core, apps,
/// batch, extensions, networking.k8s.io, discovery.k8s.io, policy) with a
/// version or a spelling no API server serves (`networking.k8s.io/v1beta1`,
/// `v1` for a NetworkPolicy, `kind: NetworkPolicies`): `kubectl apply`
/// refuses it (`no matches for kind ... in version ...`). Gives the kind
/// and apiVersion that are served. Same-named kinds of other groups
/// (Calico's NetworkPolicy) are other kinds, not this.
fn unserved(kind: &str, api: &str) -> Option<(&'static str, &'static str)> {
    let group = api.split_once('/').map_or("", |(g, _)| g);
    if group == TIER_GROUP {
        return unserved_tier(kind, api);
    }
    const BUILT_IN: [&str; 7] = [
        "",
        "apps",
        "batch",
        "extensions",
        "networking.k8s.io",
        "discovery.k8s.io",
        "policy",
    ];
    if !BUILT_IN.contains(&group) {
        return None;
    }
    let lower = kind.to_ascii_lowercase();
    let named = |k: &str| {
        let k = k.to_ascii_lowercase();
        let plural = match k.strip_suffix('y') {
            Some(stem) => format!("{stem}ies"),
            None => format!("{k}s"),
        };
        lower == k || lower == plural
    };
    let (served_kind, served_api) = SERVED.iter().find(|(k, _)| named(k))?;
    (kind != *served_kind || api != *served_api).then_some((*served_kind, *served_api))
}

/// The API group of the cluster policy kinds.
const TIER_GROUP: &str = "policy.networking.k8s.io";

/// The cluster policy kinds, with the versions their CRDs serve (the
/// experimental channel's, network-policy-api v0.3.0 and v0.1.7), as
/// [`unserved`]'s hint words them.
const TIER_SERVED: [(&str, &[&str], &str); 3] = [
    (
        "ClusterNetworkPolicy",
        &["v1alpha2", "v1beta1"],
        "policy.networking.k8s.io/v1alpha2 or v1beta1",
    ),
    (
        "AdminNetworkPolicy",
        &["v1alpha1"],
        "policy.networking.k8s.io/v1alpha1",
    ),
    (
        "BaselineAdminNetworkPolicy",
        &["v1alpha1"],
        "policy.networking.k8s.io/v1alpha1",
    ),
];

/// [`unserved`] for policy.networking.k8s.io: a cluster policy kind in a
/// version no implementation serves (ClusterNetworkPolicy in `v1alpha1`,
/// AdminNetworkPolicy in `v1alpha2`), or spelled in the plural.
fn unserved_tier(kind: &str, api: &str) -> Option<(&'static str, &'static str)> {
    let version = api.split_once('/').map_or("", |(_, v)| v);
    let lower = kind.to_ascii_lowercase();
    let (served_kind, versions, hint) = TIER_SERVED.iter().find(|(k, _, _)| {
        let k = k.to_ascii_lowercase();
        lower == k || lower == format!("{k}s") || lower == format!("{k}ies")
    })?;
    (kind != *served_kind || !versions.contains(&version)).then_some((*served_kind, *hint))
}

/// Whether any command reads objects of this kind: the snapshot's kinds
/// and the CNI evidence's (Nodes, ConfigMaps, DaemonSets). Objects of
/// other kinds are not looked at, so their problems are not ours to report.
fn is_read(v: &Value) -> bool {
    let api = v.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    match kind_of(v) {
        "Namespace" | "Pod" | "ReplicationController" | "Service" | "Node" | "ConfigMap" => {
            api == "v1"
        }
        "NetworkPolicy" => api == "networking.k8s.io/v1",
        "EndpointSlice" => api == "discovery.k8s.io/v1",
        "Job" | "CronJob" => api.starts_with("batch/"),
        _ if is_cluster_policy(v) => true,
        k if WORKLOAD_KINDS.contains(&k) => {
            api.starts_with("apps/") || api.starts_with("extensions/")
        }
        _ => false,
    }
}

/// Reads in-memory manifest text as `-f` reads a file named `name`: the
/// snapshot and the warnings ([`Manifests::warnings`]), or the error that
/// stops the reading; `reading` chooses the fast paths or the reference
/// reading (for the tests that compare them).
pub fn read_str(
    name: &str,
    text: &str,
    default_namespace: &str,
    reading: Reading,
) -> Result<(Snapshot, Vec<String>), Error> {
    read_str_with(name, text, default_namespace, reading, Parallel::SERIAL)
}

/// [`read_str`] with the documents parsed as `parallel` says (for the
/// tests that compare one thread with several: the answer must not
/// change).
pub fn read_str_with(
    name: &str,
    text: &str,
    default_namespace: &str,
    reading: Reading,
    parallel: Parallel,
) -> Result<(Snapshot, Vec<String>), Error> {
    let mut builder = Builder::new(default_namespace);
    let mut evidence = Evidence::default();
    parse_documents(
        &Input {
            name: name.into(),
            source: InputSource::Text(text.into()),
            reading,
            parallel,
            narrow: None,
        },
        &mut |obj| take_object(&mut builder, &mut evidence, obj),
    )?;
    let warnings = builder.warnings_in_order();
    Ok((builder.finish(None), warnings))
}

/// Builds a snapshot from in-memory manifest text (for tests and tools).
pub fn load_str(name: &str, text: &str, default_namespace: &str) -> Result<Snapshot, Error> {
    let mut builder = Builder::new(default_namespace);
    let mut evidence = Evidence::default();
    parse_documents(
        &Input {
            name: name.into(),
            source: InputSource::Text(text.into()),
            reading: Reading::Fast,
            parallel: Parallel::SERIAL,
            narrow: None,
        },
        &mut |obj| take_object(&mut builder, &mut evidence, obj),
    )?;
    Ok(builder.finish(None))
}

fn collect(path: &Path, recursive: bool, out: &mut Vec<Input>) -> Result<(), Error> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::Usage(format!("the path {shown:?} does not exist"))
        } else {
            Error::Io {
                path: shown.clone(),
                source,
            }
        }
    })?;
    if meta.is_dir() {
        // Directory symlinks are followed, as a file's are; walkdir keeps
        // the chain of directories it is in and says when a link leads
        // back into it, which would otherwise never end.
        // Each directory and file is visited once, by device and inode:
        // links that reach one directory by many paths (a chain of
        // directories each linking twice to the next) would otherwise
        // make the walk exponential.
        let mut seen: std::collections::HashSet<(u64, u64)> = std::collections::HashSet::new();
        let walk = walkdir::WalkDir::new(path)
            .follow_links(true)
            .sort_by_file_name()
            .min_depth(1)
            .max_depth(if recursive { usize::MAX } else { 1 })
            .into_iter()
            .filter_entry(move |e| {
                use std::os::unix::fs::MetadataExt;
                e.metadata()
                    .map(|m| seen.insert((m.dev(), m.ino())))
                    .unwrap_or(true)
            });
        for entry in walk {
            let entry = entry.map_err(|e| walk_error(&shown, e))?;
            let file = entry.path();
            if !entry.file_type().is_dir()
                && matches!(
                    file.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml" | "json")
                )
            {
                out.push(Input {
                    name: file.display().to_string(),
                    source: InputSource::File(file.to_path_buf()),
                    reading: Reading::Fast,
                    parallel: Parallel::SERIAL,
                    narrow: None,
                });
            }
        }
        return Ok(());
    }
    out.push(Input {
        name: shown,
        source: InputSource::File(path.to_path_buf()),
        reading: Reading::Fast,
        parallel: Parallel::SERIAL,
        narrow: None,
    });
    Ok(())
}

/// A directory that cannot be walked: a symlink loop (named with the
/// directory it leads back to) or an unreadable entry.
fn walk_error(root: &str, e: walkdir::Error) -> Error {
    let at = e
        .path()
        .map_or_else(|| root.to_string(), |p| p.display().to_string());
    if let Some(ancestor) = e.loop_ancestor() {
        return Error::Manifest {
            file: at,
            message: format!(
                "a symlink loop: it leads back to {}, which contains it",
                ancestor.display()
            ),
        };
    }
    let source = e
        .into_io_error()
        .unwrap_or_else(|| std::io::Error::other("cannot be read"));
    Error::Io { path: at, source }
}

/// A Kubernetes object found in the input, with where it came from.
struct Object {
    value: Value,
    file: String,
    /// `document 2` or `document 2, item 5`.
    doc: String,
    /// Set (and `value` null) for a Pod the narrow reading skipped.
    deferred: Option<Box<Deferred>>,
}

/// What the narrow reading reads of Pods: those of `namespaces` and of the
/// namespaces the CNI evidence reads ([`crate::cni::cni_namespace`]); the
/// other Pods are skipped when [`super::scan::pod_head`] finds it safe, and
/// read later if the command needs them ([`Manifests::widen`]).
#[derive(Debug, Clone)]
pub struct Narrow {
    /// The namespaces whose Pods are read at once (those the command's
    /// references name; more after [`Manifests::widen`]).
    pub namespaces: std::collections::BTreeSet<String>,
    /// The namespace of objects that name none (`-n`, or `default`).
    pub default_namespace: String,
    /// Nodes whose Pods are read too, whatever their namespace (their host
    /// IPs are the node's addresses: see [`Manifests::widen`]).
    pub nodes: std::collections::BTreeSet<String>,
}

impl Narrow {
    /// Whether the Pods of `namespace` are read at once.
    fn reads(&self, namespace: &str) -> bool {
        self.namespaces.contains(namespace) || crate::cni::cni_namespace(namespace)
    }

    /// The skipped Pod `text` is, when it is one of a namespace not read
    /// and [`super::scan::pod_head`] finds it safe to skip (`raw`: the text
    /// as in the input, for [`Deferred::len`] and [`Deferred::hash`]); its place in
    /// the input is left for the caller to fill in. Its bytes and nodes
    /// are counted towards the input-wide alias bound, as reading it
    /// would count them.
    fn defers(&self, text: &str, raw: &str) -> Option<Deferred> {
        let head = super::scan::pod_head_unless(text, &|ns| self.reads(ns))?;
        let namespace = head
            .namespace
            .unwrap_or_else(|| self.default_namespace.clone());
        if self.reads(&namespace) {
            return None;
        }
        super::yaml::count_read_elsewhere(head.nodes, text.len() as u64);
        Some(Deferred {
            namespace,
            node: head.node,
            offset: 0,
            len: raw.len(),
            hash: text_hash(raw),
            first_line: 0,
            number: 0,
            item: None,
            seq: 0,
        })
    }

    /// Whether the snapshot holds `pod`: of a namespace read, or on a node
    /// whose Pods were read.
    fn keeps(&self, pod: &PodInfo) -> bool {
        self.reads(&pod.namespace) || pod.node.as_ref().is_some_and(|n| self.nodes.contains(n))
    }
}

/// What [`Manifests::widen`] reads of the Pods the narrow reading skipped.
#[derive(Debug, Clone, Copy)]
pub enum Wanted<'a> {
    Everything,
    /// The Pods of these namespaces, and those on these nodes (by
    /// `spec.nodeName`).
    Only {
        namespaces: &'a std::collections::BTreeSet<String>,
        nodes: &'a std::collections::BTreeSet<String>,
    },
}

/// A Pod document the narrow reading skipped: where it is, to read it
/// later exactly as the full reading would have.
#[derive(Debug, Clone)]
struct Deferred {
    namespace: String,
    /// Its `spec.nodeName`.
    node: Option<String>,
    /// Its text: bytes `offset..offset + len` of the input.
    offset: u64,
    len: usize,
    /// A hash of the text, to tell a file changed since it was read.
    hash: u64,
    first_line: usize,
    /// Its document number (from 1).
    number: usize,
    /// For an item of a large block list (document `number`), its index.
    item: Option<usize>,
    /// Its place among the objects ([`Builder::seq`]).
    seq: u64,
}

impl Deferred {
    /// The error for `file` when this document's text is no longer what
    /// was read.
    fn changed(&self, file: &str) -> Error {
        Error::Manifest {
            file: file.to_string(),
            message: format!(
                "document {}: the file changed while it was being read: run the command again",
                self.number
            ),
        }
    }
}

/// The hash of a skipped document's text ([`Deferred::hash`]).
fn text_hash(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

impl Object {
    fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::Manifest {
            file: self.file.clone(),
            message: format!("{}: {message}", self.doc),
        }
    }
}

/// Parses each document of `input` and hands its objects (`kind: List`
/// items one by one) to `each`.
///
/// The input is read line by line and cut at document markers (`---` at
/// the start of a line, which ends any YAML node): each document is parsed
/// and dropped before the next is read, so the whole text is never held.
/// Numbering and error positions are those of the whole stream. With
/// several threads ([`Parallel`]) documents are parsed a batch at a time
/// on the pool and handed on in input order ([`Batches`]): what `each`
/// sees, and the first error, are the same.
fn parse_documents(
    input: &Input,
    each: &mut dyn FnMut(Object) -> Result<(), Error>,
) -> Result<(), Error> {
    let io_error = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::InvalidData {
            Error::Manifest {
                file: input.name.clone(),
                message: "not UTF-8 text".into(),
            }
        } else {
            Error::Io {
                path: input.name.clone(),
                source,
            }
        }
    };
    let mut reader: Box<dyn std::io::BufRead> = match &input.source {
        InputSource::File(path) => Box::new(std::io::BufReader::with_capacity(
            1 << 16,
            std::fs::File::open(path).map_err(io_error)?,
        )),
        InputSource::Stdin => Box::new(std::io::stdin().lock()),
        InputSource::Text(text) => Box::new(text.as_bytes()),
    };
    let not_utf8 = || Error::Manifest {
        file: input.name.clone(),
        message: "not UTF-8 text".into(),
    };
    let mut batches = Batches::new(input);
    // The current document's lines, as read.
    let mut chunk: Vec<u8> = Vec::new();
    // Whether the chunk holds anything but blank lines, comments and
    // directives (those stay with the document that follows them).
    let mut has_content = false;
    let mut chunk_start = 0;
    // Where the chunk's first byte is in the input.
    let mut chunk_offset: u64 = 0;
    let mut lines = 0;
    let mut docs = 0;
    // Where the current document's text is known to be UTF-8 up to.
    let mut checked = 0;
    loop {
        let start = chunk.len();
        // One line, read in bounded pieces: a stream with no newline, a
        // device such as /dev/zero or a binary file is refused as soon as
        // it shows (a NUL byte, bytes that are not UTF-8), and a document
        // is never held beyond MAX_DOCUMENT_BYTES. Documents read before
        // a refusal are parsed first (`batches.finish`): their errors come
        // first, as they do in the input.
        let mut n = 0;
        loop {
            use std::io::{BufRead, Read};
            let got = match (&mut reader).take(LINE_PIECE).read_until(b'\n', &mut chunk) {
                Ok(got) => got,
                Err(e) => {
                    batches.finish(&mut docs, each)?;
                    return Err(io_error(e));
                }
            };
            n += got;
            if chunk[chunk.len() - got..].contains(&0) {
                batches.finish(&mut docs, each)?;
                return Err(Error::Manifest {
                    file: input.name.clone(),
                    message: format!(
                        "line {}: control characters are not allowed (a NUL byte: not a text file)",
                        lines + 1
                    ),
                });
            }
            match std::str::from_utf8(&chunk[checked..]) {
                Ok(_) => checked = chunk.len(),
                // A character cut at the end of a piece: the rest follows.
                Err(e) if e.error_len().is_none() => checked += e.valid_up_to(),
                Err(_) => {
                    batches.finish(&mut docs, each)?;
                    return Err(not_utf8());
                }
            }
            if chunk.len() > MAX_DOCUMENT_BYTES {
                batches.finish(&mut docs, each)?;
                return Err(Error::Manifest {
                    file: input.name.clone(),
                    message: format!(
                        "document {} is larger than {} MiB: refused (split it into documents with ---)",
                        docs + 1,
                        MAX_DOCUMENT_BYTES >> 20
                    ),
                });
            }
            if got == 0 || chunk.last() == Some(&b'\n') {
                break;
            }
        }
        // A byte order mark opening the stream is not content (kubectl
        // skips it too).
        if lines == 0 && chunk.starts_with(b"\xef\xbb\xbf") {
            chunk.drain(..3);
            n -= 3;
            chunk_offset = 3;
        }
        if (n == 0 || is_document_start(&chunk[start..])) && has_content {
            if batches.active() {
                let rest = chunk.split_off(start);
                let text = String::from_utf8(std::mem::replace(&mut chunk, rest));
                let Ok(text) = text else {
                    batches.finish(&mut docs, each)?;
                    return Err(not_utf8());
                };
                batches.push(text, chunk_start, chunk_offset, &mut docs, each)?;
            } else {
                let text = std::str::from_utf8(&chunk[..start]).map_err(|_| not_utf8())?;
                parse_chunk(input, text, chunk_start, chunk_offset, &mut docs, each)?;
                chunk.drain(..start);
            }
            checked = chunk.len();
            chunk_start = lines;
            chunk_offset += start as u64;
            has_content = false;
        }
        if n == 0 {
            break;
        }
        if !has_content {
            let line = &chunk[chunk.len() - n..];
            let content = line.trim_ascii_start();
            has_content = !(content.is_empty() || content[0] == b'#' || line[0] == b'%');
        }
        lines += 1;
    }
    if !chunk.is_empty() {
        if batches.active() {
            let Ok(text) = String::from_utf8(chunk) else {
                batches.finish(&mut docs, each)?;
                return Err(not_utf8());
            };
            batches.push(text, chunk_start, chunk_offset, &mut docs, each)?;
        } else {
            let text = std::str::from_utf8(&chunk).map_err(|_| not_utf8())?;
            parse_chunk(input, text, chunk_start, chunk_offset, &mut docs, each)?;
        }
    }
    batches.finish(&mut docs, each)
}

/// One document's text as cut from the stream, its first line (0-based)
/// and where its first byte is in the input.
struct Chunk {
    text: String,
    first_line: usize,
    offset: u64,
}

impl Chunk {
    /// Parses the chunk as [`parse_chunk`] does, `docs` documents after
    /// the input's start.
    fn parse(
        &self,
        input: &Input,
        docs: &mut usize,
        each: &mut dyn FnMut(Object) -> Result<(), Error>,
    ) -> Result<(), Error> {
        parse_chunk(input, &self.text, self.first_line, self.offset, docs, each)
    }
}

/// What parsing one chunk on a worker gave: the objects it holds and how
/// the reading ended, with the document number it assumed for its first
/// document and the counts it adds to the input-wide alias bound.
struct Parsed {
    objects: Vec<Object>,
    end: Result<(), Error>,
    /// The documents read before this chunk, as guessed when it was sent
    /// (each chunk before it holding one document).
    docs_before: usize,
    /// The documents read after it, under that guess.
    docs_after: usize,
    tally: super::yaml::Tally,
}

/// A batch sent to the pool: its chunks and parsings come back together.
type Flight = std::sync::mpsc::Receiver<Vec<(Chunk, Parsed)>>;

/// The documents of one input parsed on a pool of threads and handed on
/// in input order.
///
/// A chunk parsed on a worker cannot know two things that depend on the
/// documents before it: its document number and the input-wide alias
/// count. The number is guessed (every chunk so far held one document,
/// which is how the stream is cut) and the count is tallied from zero
/// ([`super::yaml::tallied`]); when the batch is merged, in order, a chunk
/// whose guess was wrong, or whose nodes would have crossed the
/// input-wide bound after the documents before it
/// ([`super::yaml::Tally::commit`]), is parsed again on the reading
/// thread, exactly as the one-thread reading parses it. Everything else a
/// document's reading depends on (its text, its first line, the per-
/// document bounds) is its own. While one batch is parsed, the reading
/// thread reads the next and merges the one before.
struct Batches<'i> {
    input: &'i Input,
    /// `None` until the input fills a batch (and when the pool cannot be
    /// started: then the reading stays on this thread).
    pool: Option<&'static rayon::ThreadPool>,
    /// What a worker needs of the input (its name and how it is read).
    shared: Option<std::sync::Arc<Input>>,
    pending: Vec<Chunk>,
    pending_bytes: usize,
    in_flight: Option<Flight>,
    /// The documents guessed to precede the next chunk sent.
    guess: usize,
}

impl<'i> Batches<'i> {
    fn new(input: &'i Input) -> Batches<'i> {
        Batches {
            input,
            pool: None,
            shared: None,
            pending: Vec::new(),
            pending_bytes: 0,
            in_flight: None,
            guess: 0,
        }
    }

    /// Whether documents are gathered into batches (more than one
    /// thread); otherwise the caller parses each as it is cut.
    fn active(&self) -> bool {
        self.input.parallel.threads > 1
    }

    /// Takes one document's text: gathered into the batch, or, when it is
    /// larger than [`STREAM_LIST_BYTES`], parsed here in order after
    /// everything before it.
    fn push(
        &mut self,
        text: String,
        first_line: usize,
        offset: u64,
        docs: &mut usize,
        each: &mut dyn FnMut(Object) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if text.len() > STREAM_LIST_BYTES {
            self.finish(docs, each)?;
            parse_chunk(self.input, &text, first_line, offset, docs, each)?;
            self.guess = *docs;
            return Ok(());
        }
        self.pending_bytes += text.len();
        self.pending.push(Chunk {
            text,
            first_line,
            offset,
        });
        if self.pending_bytes >= self.input.parallel.batch_bytes {
            // One document (a JSON list under 1 MiB, say) gains nothing
            // from another thread.
            if self.pool.is_none() && self.pending.len() > 1 {
                self.pool = pool(self.input.parallel.threads);
            }
            if self.pool.is_some() && self.pending.len() > 1 {
                let flight = self.send();
                if let Some(before) = self.in_flight.replace(flight) {
                    self.merge(before, docs, each)?;
                }
            } else {
                if let Some(before) = self.in_flight.take() {
                    self.merge(before, docs, each)?;
                }
                self.parse_pending_here(docs, each)?;
            }
        }
        Ok(())
    }

    /// Parses everything gathered and merges it: the input has ended, a
    /// large document follows, or the reading stops with an error (which
    /// comes after the errors of the documents before it).
    fn finish(
        &mut self,
        docs: &mut usize,
        each: &mut dyn FnMut(Object) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if let Some(before) = self.in_flight.take() {
            self.merge(before, docs, each)?;
        }
        if self.pool.is_some() && self.pending.len() > 1 {
            let flight = self.send();
            self.merge(flight, docs, each)?;
        }
        self.parse_pending_here(docs, each)
    }

    /// The gathered chunks parsed on this thread, in order (a small input,
    /// or no pool), after everything sent before them is merged.
    fn parse_pending_here(
        &mut self,
        docs: &mut usize,
        each: &mut dyn FnMut(Object) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.pending_bytes = 0;
        for chunk in std::mem::take(&mut self.pending) {
            chunk.parse(self.input, docs, each)?;
        }
        self.guess = *docs;
        Ok(())
    }

    /// A chunk sent (and so counted as one document in the guess) held
    /// `found` documents: the chunks sent after it are guessed to follow
    /// those.
    fn correct(&mut self, found: usize) {
        self.guess = (self.guess + found).saturating_sub(1);
    }

    /// Sends the gathered chunks to the pool.
    fn send(&mut self) -> Flight {
        let pool = self.pool.expect("a pool");
        let shared = self
            .shared
            .get_or_insert_with(|| {
                std::sync::Arc::new(Input {
                    name: self.input.name.clone(),
                    source: InputSource::Text(String::new()),
                    reading: self.input.reading,
                    parallel: Parallel::SERIAL,
                    narrow: self.input.narrow.clone(),
                })
            })
            .clone();
        let chunks: Vec<(Chunk, usize)> = std::mem::take(&mut self.pending)
            .into_iter()
            .map(|chunk| {
                let before = self.guess;
                self.guess += 1;
                (chunk, before)
            })
            .collect();
        self.pending_bytes = 0;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let budget = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(BATCH_EXPANSION));
        pool.spawn(move || {
            use rayon::prelude::*;
            let parsed: Vec<(Chunk, Parsed)> = chunks
                .into_par_iter()
                .with_max_len(1)
                .map(|(chunk, before)| {
                    let parsed = parse_alone(&shared, &chunk, before, &budget);
                    (chunk, parsed)
                })
                .collect();
            // The reader may have stopped at an earlier error.
            let _ = tx.send(parsed);
        });
        rx
    }

    /// Hands on a parsed batch in input order (see [`Batches`]).
    fn merge(
        &mut self,
        flight: Flight,
        docs: &mut usize,
        each: &mut dyn FnMut(Object) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let batch = flight.recv().expect("a worker of the reading pool stopped");
        for (chunk, parsed) in batch {
            if parsed.docs_before != *docs || !parsed.tally.commit() {
                let before = *docs;
                chunk.parse(self.input, docs, each)?;
                self.correct(*docs - before);
                continue;
            }
            *docs = parsed.docs_after;
            self.correct(parsed.docs_after - parsed.docs_before);
            for obj in parsed.objects {
                each(obj)?;
            }
            parsed.end?;
        }
        Ok(())
    }
}

/// Parses one chunk away from the input's order (on a worker), as if
/// `docs_before` documents came before it; see [`Batches`].
fn parse_alone(
    input: &Input,
    chunk: &Chunk,
    docs_before: usize,
    budget: &std::sync::Arc<std::sync::atomic::AtomicI64>,
) -> Parsed {
    let mut objects = Vec::new();
    let mut docs = docs_before;
    let (end, tally) = super::yaml::tallied(budget, || {
        chunk.parse(input, &mut docs, &mut |obj| {
            objects.push(obj);
            Ok(())
        })
    });
    Parsed {
        objects,
        end,
        docs_before,
        docs_after: docs,
        tally,
    }
}

/// The expansion beyond two nodes per byte of text (only aliases make
/// it) that the documents of one batch may build together on the pool;
/// a document that needs more is read again in order on the reading
/// thread, under the input-wide bound (see [`super::yaml::tallied`]). So
/// the pool never holds more than a batch's text and this much besides,
/// however the input is made.
const BATCH_EXPANSION: i64 = 1 << 18;

/// The pool of `threads` threads that parses documents, started once per
/// count; `None` when it cannot be started, or when the address space is
/// limited (`ulimit -v`, `prlimit --as`) below what the threads may
/// reserve: the reading then stays on one thread.
fn pool(threads: usize) -> Option<&'static rayon::ThreadPool> {
    type Pools = Vec<(usize, Option<&'static rayon::ThreadPool>)>;
    static POOLS: std::sync::Mutex<Pools> = std::sync::Mutex::new(Vec::new());
    let mut pools = POOLS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, pool)) = pools.iter().find(|(n, _)| *n == threads) {
        return *pool;
    }
    if !room_for_threads(threads) {
        pools.push((threads, None));
        return None;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("netpol-read-{i}"))
        .stack_size(READER_STACK)
        .build()
        .ok()
        .map(|pool| &*Box::leak(Box::new(pool)));
    pools.push((threads, pool));
    pool
}

/// Each reading thread's stack: the parsers' nesting is bounded (128
/// levels), far within it.
const READER_STACK: usize = 2 << 20;

/// The address space one more thread may take: its stack, and the heap
/// arena glibc's malloc reserves for it (64 MiB, at first 128 MiB to
/// align it); a thread whose arena cannot be reserved has every
/// allocation mapped on its own, which exhausts a limit at once.
const THREAD_ADDRESS_SPACE: u64 = (128 << 20) + READER_STACK as u64;

/// What the batches in flight may hold on top of that (their text and
/// the values parsed from it; see [`BATCH_EXPANSION`]).
const BATCHES_ADDRESS_SPACE: u64 = 256 << 20;

/// Whether `threads` more threads fit under this process's address-space
/// limit (Linux: `Max address space` in /proc/self/limits, against
/// `VmSize` in /proc/self/status), with room for the batches; no limit
/// (or no way to tell): yes.
fn room_for_threads(threads: usize) -> bool {
    let field = |file: &str, name: &str| -> Option<String> {
        let text = std::fs::read_to_string(file).ok()?;
        let line = text.lines().find(|l| l.starts_with(name))?;
        Some(line[name.len()..].trim().to_string())
    };
    let Some(limit) = field("/proc/self/limits", "Max address space") else {
        return true;
    };
    // "unlimited unlimited bytes" or "1073741824 1073741824 bytes": the
    // soft limit is the first.
    let Some(Ok(limit)) = limit.split_whitespace().next().map(str::parse::<u64>) else {
        return true;
    };
    let used = field("/proc/self/status", "VmSize:")
        .and_then(|v| v.trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(u64::MAX, |kb| kb * 1024);
    let need = (threads as u64)
        .saturating_mul(THREAD_ADDRESS_SPACE)
        .saturating_add(BATCHES_ADDRESS_SPACE);
    used.saturating_add(need) <= limit
}

/// The most text one document may hold (a whole `kind: List` export of a
/// large cluster is one document): beyond it the input is refused rather
/// than held in memory.
const MAX_DOCUMENT_BYTES: usize = 512 << 20;

/// How much of a line is read at a time.
const LINE_PIECE: u64 = 1 << 20;

/// `---` at the start of a line, alone or followed by white space.
fn is_document_start(line: &[u8]) -> bool {
    line.strip_prefix(b"---").is_some_and(|rest| {
        rest.first()
            .is_none_or(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
    })
}

/// A one-document chunk whose top-level `items:` is a block sequence, cut
/// at its items: byte ranges of the chunk.
struct SplitList {
    /// Where the items start and end (the `items:` line stays in the rest).
    region: std::ops::Range<usize>,
    /// Each item's text, from its `-` line, and its first line in the chunk.
    items: Vec<(std::ops::Range<usize>, usize)>,
}

/// Cuts a list document at its items when that is safe: no anchors or
/// aliases anywhere (an item could refer to another), no `...` document
/// end, `items:` alone on a line at column 0, followed by `-` lines at one
/// indentation. Anything else is left to the parser (`None`).
fn split_block_list(chunk: &str) -> Option<SplitList> {
    let bytes = chunk.as_bytes();
    if bytes.iter().any(|&b| b == b'&' || b == b'*') {
        return None;
    }
    // No line starts with `items:` (JSON, for one): nothing to cut, and
    // no need to index the lines of a large document to know it.
    if !(chunk.starts_with("items:") || chunk.contains("\nitems:")) {
        return None;
    }
    let mut lines = Vec::new(); // (start, end including the newline)
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            lines.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < bytes.len() {
        lines.push((start, bytes.len()));
    }
    let text = |(a, b): (usize, usize)| &chunk[a..b];
    if lines.iter().any(|&l| text(l).starts_with("...")) {
        return None;
    }
    let items_line = lines.iter().position(|&l| {
        text(l)
            .strip_prefix("items:")
            .is_some_and(|r| r.trim().is_empty())
    })?;
    let mut indent = None;
    let mut items: Vec<(std::ops::Range<usize>, usize)> = Vec::new();
    let mut end = lines.len();
    for (k, &l) in lines.iter().enumerate().skip(items_line + 1) {
        let line = text(l);
        let content = line.trim_start_matches(' ');
        if content.trim().is_empty() || content.starts_with('#') {
            continue;
        }
        let at = line.len() - content.len();
        let dash = content == "-\n" || content == "-" || content.starts_with("- ");
        let i = *indent.get_or_insert(at);
        if at == i && dash {
            items.push((l.0..l.1, k));
        } else if at > i && !items.is_empty() && !content.starts_with('\t') {
            continue;
        } else {
            end = k;
            break;
        }
    }
    if items.is_empty() {
        return None;
    }
    // Each item runs to the next one (or the region's end).
    let region_end = lines.get(end).map_or(bytes.len(), |l| l.0);
    let starts: Vec<usize> = items.iter().map(|(r, _)| r.start).collect();
    for (n, item) in items.iter_mut().enumerate() {
        item.0.end = starts.get(n + 1).copied().unwrap_or(region_end);
    }
    Some(SplitList {
        region: starts[0]..region_end,
        items,
    })
}

/// Reads a list cut by [`split_block_list`]: the list without its items
/// first (it must be a list: otherwise `false`, and nothing was read),
/// then each item as a document of its own, positions as in the chunk.
fn parse_split_list(
    input: &Input,
    chunk: &str,
    split: &SplitList,
    first_line: usize,
    offset: u64,
    docs: &mut usize,
    each: &mut dyn FnMut(Object) -> Result<(), Error>,
) -> Result<bool, Error> {
    let n = *docs + 1;
    let label = format!("document {n}");
    let manifest = |e: String, line: usize| Error::Manifest {
        file: input.name.clone(),
        message: format!("{label}: {}", shift_lines(&e, line)),
    };
    let rest = format!(
        "{}{}",
        &chunk[..split.region.start],
        &chunk[split.region.end..]
    );
    let mut docs_in_rest = serde_yaml_ng::Deserializer::from_str(&rest);
    let Some(doc) = docs_in_rest.next() else {
        return Ok(false);
    };
    let Ok(head) = super::yaml::document_value(doc, &rest) else {
        return Ok(false);
    };
    let api = head.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = kind_of(&head);
    if api.is_empty()
        || !is_list(kind, true)
        || !head.get("items").is_some_and(Value::is_null)
        || docs_in_rest.next().is_some()
    {
        return Ok(false);
    }
    let implied = implied_kind(api, kind);
    *docs += 1;
    // Each item parsed alone (on the reading pool, a batch at a time:
    // the cut text has no anchors, so nothing is shared between items),
    // then handed on in order, so that the first error is the first one.
    // The input-wide counts an item adds on the thread it is read on
    // are handed back, to count here.
    let read_counted = |j: usize, (range, line): &(std::ops::Range<usize>, usize)| {
        let mark = super::yaml::TotalMark::take();
        let text = item_text(&chunk[range.clone()]);
        let item = if let Some(deferred) = input
            .narrow
            .as_deref()
            .and_then(|narrow| narrow.defers(&text, &chunk[range.clone()]))
        {
            Ok(Item::Deferred(Deferred {
                offset: offset + range.start as u64,
                first_line: first_line + line,
                number: n,
                item: Some(j),
                ..deferred
            }))
        } else {
            match serde_yaml_ng::Deserializer::from_str(&text).next() {
                None => Ok(Item::Value(Value::Null)),
                Some(doc) => super::yaml::document_value(doc, &text)
                    .map(Item::Value)
                    .map_err(|e| manifest(e.to_string(), first_line + line)),
            }
        };
        (item, mark.since())
    };
    let pool = (input.parallel.threads > 1)
        .then(|| pool(input.parallel.threads))
        .flatten();
    let mut objects = Vec::new();
    for (b, batch) in split.items.chunks(ITEM_BATCH).enumerate() {
        let items: Vec<Result<Item, Error>> = match pool {
            Some(pool) if batch.len() > 1 => {
                let read: Vec<_> = pool.install(|| {
                    use rayon::prelude::*;
                    batch
                        .par_iter()
                        .enumerate()
                        .map(|(k, item)| read_counted(b * ITEM_BATCH + k, item))
                        .collect()
                });
                read.into_iter()
                    .map(|(item, (nodes, bytes))| {
                        super::yaml::count_read_elsewhere(nodes, bytes);
                        item
                    })
                    .collect()
            }
            _ => batch
                .iter()
                .enumerate()
                .map(|(k, item)| read_counted(b * ITEM_BATCH + k, item).0)
                .collect(),
        };
        for (k, item) in items.into_iter().enumerate() {
            match item? {
                Item::Deferred(deferred) => each(Object {
                    value: Value::Null,
                    file: input.name.clone(),
                    doc: format!("{label}, item {}", b * ITEM_BATCH + k + 1),
                    deferred: Some(Box::new(deferred)),
                })?,
                Item::Value(value) => {
                    let pushed = push_item(
                        value,
                        implied.as_ref(),
                        &input.name,
                        &label,
                        b * ITEM_BATCH + k,
                        &mut objects,
                    );
                    hand_over(pushed, input, &mut objects, each)?;
                }
            }
        }
    }
    Ok(true)
}

/// How many items of a large block list are parsed at once (their values
/// are held until they are handed on).
const ITEM_BATCH: usize = 256;

/// One item of a large block list, read or skipped.
enum Item {
    Value(Value),
    Deferred(Deferred),
}

/// The text of a block list's item as a document of its own: its `-`
/// becomes a space, so that lines and columns stay the list's.
fn item_text(item: &str) -> String {
    let mut text = item.to_string();
    if let Some(dash) = text.find('-') {
        text.replace_range(dash..dash + 1, " ");
    }
    text
}

/// Documents larger than this whose top level is a list are read item by
/// item (see [`parse_chunk`]); smaller ones are read whole, in one pass.
const STREAM_LIST_BYTES: usize = 1 << 20;

/// Parses the documents of one chunk of the stream, which starts at line
/// `first_line` (0-based); `docs` counts the documents of the stream.
fn parse_chunk(
    input: &Input,
    chunk: &str,
    first_line: usize,
    offset: u64,
    docs: &mut usize,
    each: &mut dyn FnMut(Object) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut objects = Vec::new();
    super::yaml::check_depth(chunk).map_err(|e| Error::Manifest {
        file: input.name.clone(),
        message: format!("document {}: {}", *docs + 1, shift_lines(&e, first_line)),
    })?;
    // The narrow reading: a Pod of a namespace not read yet is only
    // glanced at, when that is safe (see `super::scan`).
    if let Some(narrow) = &input.narrow
        && chunk.len() <= STREAM_LIST_BYTES
        && let Some(deferred) = narrow.defers(chunk, chunk)
    {
        *docs += 1;
        return each(Object {
            value: Value::Null,
            file: input.name.clone(),
            doc: format!("document {}", *docs),
            deferred: Some(Box::new(Deferred {
                offset,
                first_line,
                number: *docs,
                ..deferred
            })),
        });
    }
    // A large document that is a list (`kubectl get -o yaml` of a whole
    // cluster) is read item by item, never holding its items together:
    // block-style items are cut from the text and parsed one at a time;
    // otherwise a first pass finds each document's kind and the second
    // streams the items of lists.
    if chunk.len() > STREAM_LIST_BYTES
        && let Some(split) = split_block_list(chunk)
        && parse_split_list(input, chunk, &split, first_line, offset, docs, each)?
    {
        return Ok(());
    }
    // A large JSON list (`kubectl get -o json`): serde_json reads it as it
    // goes, where the YAML parser first holds all of a document's events.
    if chunk.len() > STREAM_LIST_BYTES && chunk.trim_start().starts_with('{') {
        let mut probe = serde_json::Deserializer::from_str(chunk);
        let head =
            super::yaml::top_level_kind(&mut probe, chunk).and_then(|k| probe.end().map(|()| k));
        if let Ok((api, kind, items)) = head
            && !api.is_empty()
            && is_list(&kind, items)
        {
            *docs += 1;
            let implied = implied_kind(&api, &kind);
            let mut de = serde_json::Deserializer::from_str(chunk);
            return read_streamed_list(
                input,
                chunk,
                first_line,
                *docs,
                implied.as_ref(),
                &mut de,
                &mut objects,
                each,
            );
        }
    }
    // JSON: read by serde_json when it reads it as the YAML parser would,
    // else by the YAML reading below (see `super::json`).
    if input.reading == Reading::Fast
        && let Some(body) = super::json::json_body(chunk)
        && read_json(input, chunk, body, first_line, docs, each)?
    {
        return Ok(());
    }
    let kinds = if chunk.len() > STREAM_LIST_BYTES {
        let mut kinds = Vec::new();
        for (k, doc) in serde_yaml_ng::Deserializer::from_str(chunk).enumerate() {
            let n = *docs + k + 1;
            let (api, kind, items) =
                super::yaml::top_level_kind(doc, chunk).map_err(|e| Error::Manifest {
                    file: input.name.clone(),
                    message: format!("document {n}: {}", shift_lines(&e.to_string(), first_line)),
                })?;
            kinds.push(
                (!api.is_empty() && is_list(&kind, items)).then(|| implied_kind(&api, &kind)),
            );
        }
        kinds
    } else {
        Vec::new()
    };
    for (k, doc) in serde_yaml_ng::Deserializer::from_str(chunk).enumerate() {
        *docs += 1;
        let n = *docs;
        if let Some(Some(implied)) = kinds.get(k) {
            read_streamed_list(
                input,
                chunk,
                first_line,
                n,
                implied.as_ref(),
                doc,
                &mut objects,
                each,
            )?;
            continue;
        }
        let value = super::yaml::document_value(doc, chunk).map_err(|e| Error::Manifest {
            file: input.name.clone(),
            message: format!("document {n}: {}", shift_lines(&e.to_string(), first_line)),
        })?;
        let pushed = push_object(value, &input.name, format!("document {n}"), &mut objects);
        hand_over(pushed, input, &mut objects, each)?;
    }
    Ok(())
}

/// Reads a chunk holding one JSON document (`body`) through serde_json:
/// `false` (and nothing read, nothing counted) when serde_json does not
/// read it, for the YAML reading to read it instead. A large list is
/// streamed item by item, after a first pass that checks the whole text
/// is JSON (so that no item is handed on before that is known).
fn read_json(
    input: &Input,
    chunk: &str,
    body: &str,
    first_line: usize,
    docs: &mut usize,
    each: &mut dyn FnMut(Object) -> Result<(), Error>,
) -> Result<bool, Error> {
    use serde::de::IgnoredAny;
    let mark = super::yaml::TotalMark::take();
    if chunk.len() > STREAM_LIST_BYTES {
        let mut check = serde_json::Deserializer::from_str(body);
        if IgnoredAny::deserialize(&mut check)
            .and_then(|_| check.end())
            .is_err()
        {
            return Ok(false);
        }
        let mut probe = serde_json::Deserializer::from_str(body);
        let head =
            super::yaml::top_level_kind(&mut probe, chunk).and_then(|k| probe.end().map(|()| k));
        let Ok((api, kind, items)) = head else {
            mark.restore();
            return Ok(false);
        };
        if !api.is_empty() && is_list(&kind, items) {
            *docs += 1;
            let implied = implied_kind(&api, &kind);
            let mut de = serde_json::Deserializer::from_str(body);
            let mut objects = Vec::new();
            read_streamed_list(
                input,
                chunk,
                first_line,
                *docs,
                implied.as_ref(),
                &mut de,
                &mut objects,
                each,
            )?;
            return Ok(true);
        }
        mark.restore();
    }
    let Ok(value) = super::yaml::json_document_value(body, chunk) else {
        mark.restore();
        return Ok(false);
    };
    *docs += 1;
    let mut objects = Vec::new();
    let pushed = push_object(
        value,
        &input.name,
        format!("document {}", *docs),
        &mut objects,
    );
    hand_over(pushed, input, &mut objects, each)?;
    Ok(true)
}

/// Reads list document `n` of `chunk` item by item (`doc` is its parser,
/// YAML or JSON), handing each object to `each` as it is read.
#[allow(clippy::too_many_arguments)]
fn read_streamed_list<'de, D: serde::Deserializer<'de>>(
    input: &Input,
    chunk: &str,
    first_line: usize,
    n: usize,
    implied: Option<&(String, String)>,
    doc: D,
    objects: &mut Vec<Object>,
    each: &mut dyn FnMut(Object) -> Result<(), Error>,
) -> Result<(), Error>
where
    D::Error: std::fmt::Display,
{
    let label = format!("document {n}");
    let streamed = super::yaml::stream_items(doc, chunk, &mut |j, item| {
        let pushed = push_item(item, implied, &input.name, &label, j, objects);
        hand_over(pushed, input, objects, each)
    });
    let rest = streamed.map_err(|e| Error::Manifest {
        file: input.name.clone(),
        message: format!("document {n}: {}", shift_lines(&e.to_string(), first_line)),
    })??;
    // What remains is the list without its items: an `items` that is not a
    // list is refused as before.
    if let Some(items) = rest.get("items")
        && !items.is_null()
    {
        let kind = kind_of(&rest);
        return Err(Error::Manifest {
            file: input.name.clone(),
            message: format!("{label}: {kind}.items must be a list of objects"),
        });
    }
    Ok(())
}

/// Moves the positions in a YAML error message (`line 3 column 7`, or
/// `position 0` for the very start) from a chunk to the whole stream.
fn shift_lines(message: &str, by: usize) -> String {
    if by == 0 {
        return message.to_string();
    }
    let message = message.replace("position 0", &format!("line {} column 1", by + 1));
    let mut out = String::with_capacity(message.len());
    let mut rest = message.as_str();
    while let Some(i) = rest.find("line ") {
        let (before, after) = rest.split_at(i + "line ".len());
        out.push_str(before);
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        match after[..digits].parse::<usize>() {
            Ok(n) if after[digits..].starts_with(" column ") => {
                out.push_str(&(n + by).to_string());
                rest = &after[digits..];
            }
            _ => rest = after,
        }
    }
    out.push_str(rest);
    out
}

/// Flattens one document into objects: a `List` or typed list
/// (`PodList`, `NetworkPolicyList`, ...) gives its items one by one.
///
/// Items of a typed list are what the API returns for a list call, and they
/// carry no `apiVersion` and `kind` of their own (kubectl adds them, the API
/// does not): an item missing them takes the list's `apiVersion` and the
/// list's kind without its `List` suffix. Items of a plain `kind: List` must
/// say what they are.
/// Hands what [`push_object`] or [`push_item`] made of one document or
/// item to `each`, in input order; their message is a manifest error of
/// the input.
fn hand_over(
    pushed: Result<(), String>,
    input: &Input,
    objects: &mut Vec<Object>,
    each: &mut dyn FnMut(Object) -> Result<(), Error>,
) -> Result<(), Error> {
    pushed.map_err(|message| Error::Manifest {
        file: input.name.clone(),
        message,
    })?;
    for obj in objects.drain(..) {
        each(obj)?;
    }
    Ok(())
}

fn push_object(
    mut value: Value,
    file: &str,
    doc: String,
    out: &mut Vec<Object>,
) -> Result<(), String> {
    match &mut value {
        Value::Null => return Ok(()),
        Value::Object(map) => {
            let api = map.get("apiVersion").and_then(Value::as_str).unwrap_or("");
            let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
            if api.is_empty() || kind.is_empty() {
                return Err(format!(
                    "{doc}: not a Kubernetes object (apiVersion and kind are required)"
                ));
            }
            if is_list(kind, map.contains_key("items")) {
                let list_kind = kind.to_string();
                let implied = implied_kind(api, kind);
                let items = match map.remove("items") {
                    Some(Value::Array(items)) => items,
                    None | Some(Value::Null) => Vec::new(),
                    Some(_) => {
                        return Err(format!(
                            "{doc}: {list_kind}.items must be a list of objects"
                        ));
                    }
                };
                for (j, item) in items.into_iter().enumerate() {
                    push_item(item, implied.as_ref(), file, &doc, j, out)?;
                }
                return Ok(());
            }
        }
        _ => {
            return Err(format!(
                "{doc}: not a Kubernetes object (expected a mapping with apiVersion and kind)"
            ));
        }
    }
    out.push(Object {
        value,
        file: file.to_string(),
        doc,
        deferred: None,
    });
    Ok(())
}

/// The kind a typed list (`PodList`) implies for items without their own
/// `apiVersion` and `kind`: (the list's apiVersion, `Pod`).
fn implied_kind(api: &str, kind: &str) -> Option<(String, String)> {
    kind.strip_suffix("List")
        .filter(|k| !k.is_empty())
        .map(|k| (api.to_string(), k.to_string()))
}

/// Whether a document of this kind is read as a list of its `items`.
fn is_list(kind: &str, has_items: bool) -> bool {
    kind == "List" || kind.ends_with("List") && has_items
}

/// Item `j` (from 0) of the list that is document `doc`, with the kind
/// the list implies filled in (see [`push_object`]).
fn push_item(
    mut item: Value,
    implied: Option<&(String, String)>,
    file: &str,
    doc: &str,
    j: usize,
    out: &mut Vec<Object>,
) -> Result<(), String> {
    if let (Some((api, kind)), Value::Object(m)) = (implied, &mut item) {
        for (field, implied) in [("apiVersion", api), ("kind", kind)] {
            let missing = m
                .get(field)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty);
            if missing {
                m.insert(field.to_string(), Value::String(implied.clone()));
            }
        }
    }
    push_object(item, file, format!("{doc}, item {}", j + 1), out)
}

fn kind_of(v: &Value) -> &str {
    v.get("kind").and_then(Value::as_str).unwrap_or("")
}

/// Why an object is not taken into the snapshot.
enum Rejected {
    /// The input cannot be read on: stop with this error.
    Fatal(Error),
    /// The API server (or kubectl) would refuse this object as a whole, so
    /// it cannot exist in a cluster: it is left out with a warning, and
    /// the other documents are read on.
    Skipped(String),
}

impl From<Error> for Rejected {
    fn from(e: Error) -> Rejected {
        Rejected::Fatal(e)
    }
}

/// `Pod shop/web`, from the raw object (its metadata may not decode).
fn describe(v: &Value) -> String {
    let field = |k: &str| {
        v.get("metadata")
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    match (field("namespace"), field("name")) {
        ("", name) => format!("{} {name}", kind_of(v)),
        (ns, name) => format!("{} {ns}/{name}", kind_of(v)),
    }
}

/// Decodes a whole object. A field of the wrong type (a number where a
/// string is expected, ...) makes the API server reject the object: it is
/// skipped, with serde's account of the first such field.
fn decode<T: serde::de::DeserializeOwned>(obj: &Object) -> Result<T, Rejected> {
    T::deserialize(&obj.value)
        .map_err(|e| Rejected::Skipped(format!("invalid {}: {e}", describe(&obj.value))))
}

#[derive(Deserialize, Default)]
struct Meta {
    name: Option<String>,
    namespace: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    #[serde(rename = "ownerReferences")]
    owner_references: Option<Vec<OwnerReference>>,
}

fn meta_of(obj: &Object) -> Result<Meta, Rejected> {
    match obj.value.get("metadata") {
        None => Ok(Meta::default()),
        Some(m) => Meta::deserialize(m).map_err(|e| {
            Rejected::Skipped(format!("invalid {} metadata: {e}", describe(&obj.value)))
        }),
    }
}

type ObjKey = (String, String, String); // namespace, kind, name

#[derive(Clone)]
struct Workload {
    key: ObjKey,
    owner: Option<ObjKey>,
    template: PodTemplateSpec,
}

fn owner_key(namespace: &str, owners: &Option<Vec<OwnerReference>>) -> Option<ObjKey> {
    owners
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .or(owners.iter().flatten().next())
        .map(|o| (namespace.to_string(), o.kind.clone(), o.name.clone()))
}

/// Turns objects into a snapshot one at a time, so that each document's
/// parsed form can be dropped as soon as it is read.
#[derive(Clone)]
struct Builder {
    default_namespace: String,
    namespaces: BTreeMap<String, NamespaceInfo>,
    /// Each pod with its object's place in the input ([`Builder::seq`]).
    pods: Vec<(u64, PodInfo, Option<ObjKey>)>,
    policies: BTreeMap<(String, String), NetworkPolicy>,
    workloads: Vec<Workload>,
    decode_errors: BTreeMap<String, Vec<crate::engine::validate::FieldError>>,
    services: Vec<ServiceInfo>,
    /// EndpointSlice endpoints by (namespace, Service name).
    slices: Vec<(String, String, Vec<SliceEndpoint>)>,
    namespaceless: std::collections::BTreeSet<String>,
    nodes: Vec<NodeInfo>,
    null_egress: std::collections::BTreeSet<String>,
    /// Cluster-scoped policies by (kind, name): the last one read wins.
    cluster_policies: BTreeMap<(String, String), crate::snapshot::ClusterPolicyObject>,
    /// Policy-like objects not evaluated (see [`Snapshot::unevaluated`]).
    unevaluated: Vec<String>,
    /// Keep each Pod as written in `apply.objects` (`diff -f`); otherwise
    /// only its key, in `pod_keys`, to tell a Pod given twice.
    keep_pods: bool,
    /// Each Pod's key, with the place of the last object read of it.
    pod_keys: HashMap<(String, String), u64>,
    /// Objects left out, as `warning: ...` lines (see [`Rejected::Skipped`]),
    /// each with the place in the input of the object it is about.
    warnings: Vec<(u64, String)>,
    apply: ApplyInput,
    /// Objects of this tool's API group (see [`GraphDocument`]).
    graphs: Vec<GraphDocument>,
    /// The place in the input of the object being taken in: objects are
    /// numbered in input order (a Pod skipped by the narrow reading keeps
    /// its number), so that what is read later takes its place.
    seq: u64,
    /// The Pods the narrow reading skipped, in input order, with the
    /// index of their input.
    deferred: Vec<(usize, Deferred)>,
    /// The input being read (an index into the inputs of [`read`]).
    input: usize,
}

impl Builder {
    fn new(default_namespace: &str) -> Builder {
        Builder {
            default_namespace: default_namespace.to_string(),
            namespaces: BTreeMap::new(),
            pods: Vec::new(),
            policies: BTreeMap::new(),
            workloads: Vec::new(),
            decode_errors: BTreeMap::new(),
            services: Vec::new(),
            slices: Vec::new(),
            namespaceless: std::collections::BTreeSet::new(),
            nodes: Vec::new(),
            null_egress: std::collections::BTreeSet::new(),
            cluster_policies: BTreeMap::new(),
            unevaluated: Vec::new(),
            keep_pods: false,
            pod_keys: HashMap::new(),
            warnings: Vec::new(),
            apply: ApplyInput::default(),
            graphs: Vec::new(),
            seq: 0,
            deferred: Vec::new(),
            input: 0,
        }
    }

    /// The warnings in input order (of the objects they are about).
    fn warnings_in_order(&self) -> Vec<String> {
        let mut warnings = self.warnings.clone();
        warnings.sort_by_key(|(seq, _)| *seq);
        warnings.into_iter().map(|(_, w)| w).collect()
    }

    /// Records an object of NEW as written for modelling `kubectl apply`
    /// (the last one given wins, as it does for kubectl apply, with a
    /// warning naming it).
    fn once(&mut self, key: (String, String, String), value: &Value) {
        let shown = if key.1.is_empty() {
            key.2.clone()
        } else {
            format!("{}/{}", key.1, key.2)
        };
        let kind = key.0.clone();
        if self.apply.objects.insert(key, value.clone()).is_some() {
            self.duplicate(&kind, &shown, self.seq);
        }
    }

    /// One warning per object given more than once, placed at `seq`
    /// (the later of the two objects).
    fn duplicate(&mut self, kind: &str, name: &str, seq: u64) {
        let line = format!(
            "warning: {kind} {name} is given more than once: the last one is used (kubectl apply applies each in turn, so the last one stays)"
        );
        if !self.warnings.iter().any(|(_, w)| *w == line) {
            self.warnings.push((seq, line));
        }
    }

    /// Leaves an object out with a warning naming where it is.
    fn skip(&mut self, obj: &Object, message: &str) {
        self.warnings.push((
            self.seq,
            format!(
                "warning: {}: {}: {message}; the API server rejects such an object, so it is left out",
                obj.file, obj.doc
            ),
        ));
    }

    /// Takes one object in: its kind decides what it becomes. An object
    /// the API server would reject for a wrongly typed field is left out
    /// with a warning, except a NetworkPolicy, which is kept as invalid
    /// with its errors (see [`crate::engine::validate::take_wrong_types`]).
    fn add(&mut self, mut obj: Object) -> Result<(), Error> {
        match self.add_object(&mut obj) {
            Ok(()) => Ok(()),
            Err(Rejected::Fatal(e)) => Err(e),
            Err(Rejected::Skipped(message)) => {
                self.skip(&obj, &message);
                Ok(())
            }
        }
    }

    fn add_object(&mut self, obj: &mut Object) -> Result<(), Rejected> {
        let kind = kind_of(&obj.value);
        let api = obj
            .value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        // Same-named kinds of other API groups (Calico's and Cilium's own
        // NetworkPolicy, for one) are not ours to read.
        if is_cluster_policy(&obj.value) {
            // Cluster-scoped: a namespace in the manifest means nothing.
            let name = match obj.value.pointer("/metadata/name") {
                Some(Value::String(s)) => s.clone(),
                _ => String::new(),
            };
            self.cluster_policies.insert(
                (kind.to_string(), name.clone()),
                crate::snapshot::ClusterPolicyObject {
                    kind: kind.to_string(),
                    api_version: api.to_string(),
                    name,
                    value: std::mem::take(&mut obj.value),
                },
            );
            return Ok(());
        }
        let ours = match kind {
            "Namespace" | "Pod" | "ReplicationController" | "Service" | "Node" => api == "v1",
            "NetworkPolicy" => api == "networking.k8s.io/v1",
            "EndpointSlice" => api == "discovery.k8s.io/v1",
            "Job" | "CronJob" => api.starts_with("batch/"),
            _ => api.starts_with("apps/") || api.starts_with("extensions/"),
        };
        if let Some((served_kind, served_api)) = unserved(kind, api) {
            // kubectl apply finds no such kind (`no matches for kind`):
            // never silently ignored, never read as another version.
            let meta = meta_of(obj)?;
            // A cluster policy is cluster-scoped: kubectl names no
            // namespace for it.
            let cluster_scoped = api.starts_with(TIER_GROUP);
            let unserved = Unserved {
                file: obj.file.clone(),
                namespace: if cluster_scoped {
                    String::new()
                } else {
                    meta.namespace
                        .unwrap_or_else(|| self.default_namespace.to_string())
                },
                name: meta.name.unwrap_or_default(),
                api_version: api.to_string(),
                kind: kind.to_string(),
            };
            self.apply.unserved.push(unserved);
            let hint = if kind == "NetworkPolicy" && api == "extensions/v1beta1" {
                "no longer served since Kubernetes 1.16: write networking.k8s.io/v1".to_string()
            } else if kind == served_kind && cluster_scoped {
                format!("network-policy-api's CRDs serve {served_kind} in {served_api}")
            } else if kind == served_kind {
                format!("the API server serves {served_kind} in {served_api}")
            } else {
                format!("did you mean kind {served_kind} in {served_api}?")
            };
            return Err(Rejected::Skipped(format!(
                "{}: no matches for kind {kind:?} in version {api:?} ({hint})",
                describe(&obj.value)
            )));
        }
        if !ours {
            if let Some(cluster_scoped) = policy_like(kind, api) {
                let meta = obj.value.get("metadata");
                let text = |k: &str| {
                    meta.and_then(|m| m.get(k))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                let name = match (cluster_scoped, text("namespace")) {
                    (true, _) => text("name"),
                    (false, ns) if ns.is_empty() => {
                        format!("{}/{}", self.default_namespace, text("name"))
                    }
                    (false, ns) => format!("{ns}/{}", text("name")),
                };
                self.unevaluated.push(format!("{kind} {name} ({api})"));
            }
            return Ok(());
        }
        match kind {
            "Namespace" => {
                let meta = meta_of(obj)?;
                let name = meta.name.unwrap_or_default();
                if name.is_empty() {
                    return Err(missing_name(obj).into());
                }
                self.once((kind.to_string(), String::new(), name.clone()), &obj.value);
                self.namespaces.insert(
                    name.clone(),
                    NamespaceInfo::new(&name, meta.labels.unwrap_or_default(), false),
                );
            }
            "Pod" => {
                let pod: Pod = decode(obj)?;
                let ns = pod
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| self.default_namespace.to_string());
                if pod.metadata.name.as_deref().unwrap_or("").is_empty() {
                    return Err(missing_name(obj).into());
                }
                let pod_name = pod.metadata.name.clone().unwrap_or_default();
                if self.keep_pods {
                    self.once((kind.to_string(), ns.clone(), pod_name), &obj.value);
                } else if let Some(before) = self
                    .pod_keys
                    .insert((ns.clone(), pod_name.clone()), self.seq)
                {
                    // Read out of order (the narrow reading): the warning
                    // stays where the later object is.
                    self.pod_keys
                        .insert((ns.clone(), pod_name.clone()), before.max(self.seq));
                    self.duplicate("Pod", &format!("{ns}/{pod_name}"), before.max(self.seq));
                }
                // A finished pod has no traffic, and its IP may belong to a
                // running pod by now.
                let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
                if matches!(phase, Some("Succeeded" | "Failed")) {
                    return Ok(());
                }
                let owner = owner_key(&ns, &pod.metadata.owner_references);
                self.pods
                    .push((self.seq, PodInfo::from_pod(&pod, &ns), owner));
            }
            "Node" => {
                let node: k8s_openapi::api::core::v1::Node = decode(obj)?;
                self.nodes.push(NodeInfo::from_node(&node));
            }
            "Service" => {
                let svc: k8s_openapi::api::core::v1::Service = decode(obj)?;
                let ns = svc
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| self.default_namespace.to_string());
                self.services.push(ServiceInfo::from_service(&svc, &ns));
            }
            "EndpointSlice" => {
                let slice: k8s_openapi::api::discovery::v1::EndpointSlice = decode(obj)?;
                let ns = slice
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| self.default_namespace.to_string());
                // A slice without its Service's label belongs to no Service.
                if let Some(svc) = SliceEndpoint::service_of(&slice) {
                    self.slices
                        .push((ns, svc.to_string(), SliceEndpoint::from_slice(&slice)));
                }
            }
            "NetworkPolicy" => {
                // Wrongly typed fields are errors of this policy, which is
                // kept (as invalid) without them, known by its name even
                // when that is a number.
                let text_of = |pointer: &str, v: &Value| match v.pointer(pointer) {
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(Value::Null) | None => None,
                    Some(other) => Some(other.to_string()),
                };
                let raw_name = text_of("/metadata/name", &obj.value);
                let raw_namespace = text_of("/metadata/namespace", &obj.value);
                let mut wrong = crate::engine::validate::take_wrong_types(&mut obj.value);
                let mut np: NetworkPolicy = match NetworkPolicy::deserialize(&obj.value) {
                    Ok(np) => np,
                    Err(e) => {
                        // The spec and the metadata the walk knows decode
                        // by now: what is left is deeper in the metadata.
                        wrong.push(crate::engine::validate::FieldError {
                            path: "metadata".into(),
                            kind: crate::engine::validate::ErrorKind::WrongType(
                                "\"object\"".into(),
                            ),
                            detail: e.to_string(),
                        });
                        NetworkPolicy::default()
                    }
                };
                if np.metadata.name.is_none() {
                    np.metadata.name = raw_name;
                }
                if np.metadata.namespace.is_none() {
                    np.metadata.namespace = raw_namespace;
                }
                if np.metadata.namespace.is_none() {
                    self.namespaceless.insert(format!(
                        "{}/{}",
                        self.default_namespace,
                        np.metadata.name.as_deref().unwrap_or_default()
                    ));
                }
                let ns = np
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| self.default_namespace.to_string());
                np.metadata.namespace = Some(ns.clone());
                let name = np.metadata.name.clone().unwrap_or_default();
                if obj
                    .value
                    .pointer("/spec/egress")
                    .is_some_and(Value::is_null)
                {
                    self.null_egress.insert(format!("{ns}/{name}"));
                }
                let mut unknown = crate::engine::validate::unknown_fields(&obj.value);
                unknown.extend(wrong);
                if !unknown.is_empty() {
                    self.decode_errors.insert(format!("{ns}/{name}"), unknown);
                }
                if self
                    .policies
                    .insert((ns.clone(), name.clone()), np)
                    .is_some()
                {
                    self.duplicate("NetworkPolicy", &format!("{ns}/{name}"), self.seq);
                }
            }
            k if WORKLOAD_KINDS.contains(&k) => {
                let meta = meta_of(obj)?;
                let name = meta.name.clone().unwrap_or_default();
                if name.is_empty() {
                    return Err(missing_name(obj).into());
                }
                let ns = meta
                    .namespace
                    .clone()
                    .unwrap_or_else(|| self.default_namespace.to_string());
                let pointer = if k == "CronJob" {
                    "/spec/jobTemplate/spec/template"
                } else {
                    "/spec/template"
                };
                let template = match obj.value.pointer(pointer) {
                    Some(t) => PodTemplateSpec::deserialize(t).map_err(|e| {
                        Rejected::Skipped(format!(
                            "invalid {} pod template: {e}",
                            describe(&obj.value)
                        ))
                    })?,
                    None => PodTemplateSpec::default(),
                };
                self.once((k.to_string(), ns.clone(), name.clone()), &obj.value);
                self.workloads.push(Workload {
                    owner: owner_key(&ns, &meta.owner_references),
                    key: (ns, k.to_string(), name),
                    template,
                });
            }
            _ => {}
        }
        Ok(())
    }

    /// The snapshot of everything taken in. With `pods_of`, the pods
    /// (real and representative) of the namespaces it refuses are left
    /// out, and those namespaces stand as the pods would have made them
    /// (see [`Snapshot::new`]): what the narrow reading leaves unread.
    fn finish(self, pods_of: Option<&Narrow>) -> Snapshot {
        let Builder {
            mut namespaces,
            mut pods,
            policies,
            workloads,
            decode_errors,
            mut services,
            slices,
            namespaceless,
            nodes,
            null_egress,
            cluster_policies,
            unevaluated,
            deferred,
            ..
        } = self;
        // Pods read later by the narrow reading go where they were.
        pods.sort_by_key(|(seq, ..)| *seq);
        for (ns, name, endpoints) in slices {
            if let Some(svc) = services
                .iter_mut()
                .rev()
                .find(|s| s.namespace == ns && s.name == name)
            {
                svc.attach(endpoints);
            }
        }
        let present: HashSet<&ObjKey> = workloads.iter().map(|w| &w.key).collect();
        let owner_of: HashMap<&ObjKey, &ObjKey> = workloads
            .iter()
            .filter_map(|w| w.owner.as_ref().map(|o| (&w.key, o)))
            .collect();
        // The topmost workload above `start` that is in the input, or a
        // Deployment/CronJob inferred from the ReplicaSet/Job naming rules.
        let top = |start: &ObjKey, pod_labels: &Labels| -> WorkloadRef {
            let mut cur = start.clone();
            while let Some(up) = owner_of.get(&cur) {
                cur = (*up).clone();
            }
            if !present.contains(&cur)
                && cur.1 == "ReplicaSet"
                && let Some(hash) = pod_labels.get("pod-template-hash")
                && let Some(prefix) = cur.2.strip_suffix(&format!("-{hash}"))
            {
                return WorkloadRef {
                    kind: "Deployment".into(),
                    name: prefix.to_string(),
                };
            }
            // A CronJob names its Jobs `<cronjob>-<scheduled time>`.
            if !present.contains(&cur)
                && cur.1 == "Job"
                && let Some((prefix, stamp)) = cur.2.rsplit_once('-')
                && !stamp.is_empty()
                && stamp.bytes().all(|b| b.is_ascii_digit())
                && present.contains(&(cur.0.clone(), "CronJob".to_string(), prefix.to_string()))
            {
                return WorkloadRef {
                    kind: "CronJob".into(),
                    name: prefix.to_string(),
                };
            }
            WorkloadRef {
                kind: cur.1,
                name: cur.2,
            }
        };
        // Workloads that have pods of their own in the input are represented by
        // those pods.
        let mut has_pods: HashSet<ObjKey> = HashSet::new();
        let mut out_pods: Vec<PodInfo> = Vec::new();
        for (_, mut pod, owner) in pods {
            if let Some(o) = owner {
                let mut cur = o.clone();
                has_pods.insert(cur.clone());
                while let Some(up) = owner_of.get(&cur) {
                    cur = (*up).clone();
                    has_pods.insert(cur.clone());
                }
                let w = top(&o, &pod.labels);
                // The inferred owner (a Deployment above a missing ReplicaSet)
                // has pods too.
                has_pods.insert((o.0.clone(), w.kind.clone(), w.name.clone()));
                pod.workload = Some(w);
            }
            out_pods.push(pod);
        }
        for w in &workloads {
            let owned_by_present = w.owner.as_ref().is_some_and(|o| present.contains(o));
            if owned_by_present || has_pods.contains(&w.key) {
                continue;
            }
            let (ns, kind, name) = &w.key;
            let meta = w.template.metadata.clone().unwrap_or_default();
            let spec = w.template.spec.as_ref();
            out_pods.push(PodInfo {
                namespace: ns.clone(),
                name: name.clone(),
                labels: meta.labels.unwrap_or_default(),
                ips: Vec::new(),
                ports: spec.map(container_ports).unwrap_or_default(),
                init_ports: spec.map(init_container_ports).unwrap_or_default(),
                workload: Some(WorkloadRef {
                    kind: kind.clone(),
                    name: name.clone(),
                }),
                representative: true,
                host_network: spec.and_then(|s| s.host_network).unwrap_or(false),
                node: None,
                host_ips: Vec::new(),
            });
        }
        // Later objects win, as with `kubectl apply`. A representative pod is
        // known by its workload's kind too, so a Pod and a Deployment (or a
        // Deployment and a DaemonSet) of the same name both stay.
        let mut seen: HashMap<(String, String, Option<String>), usize> = HashMap::new();
        let mut unique: Vec<PodInfo> = Vec::new();
        for p in out_pods {
            let kind = p
                .workload
                .as_ref()
                .filter(|_| p.representative)
                .map(|w| w.kind.clone());
            let key = (p.namespace.clone(), p.name.clone(), kind);
            match seen.get(&key) {
                Some(&i) => unique[i] = p,
                None => {
                    seen.insert(key, unique.len());
                    unique.push(p);
                }
            }
        }
        if let Some(narrow) = pods_of {
            let unread = unique
                .iter()
                .map(|p| &p.namespace)
                .chain(deferred.iter().map(|(_, d)| &d.namespace))
                .filter(|ns| !narrow.reads(ns))
                .cloned()
                .collect::<std::collections::BTreeSet<String>>();
            for ns in unread {
                namespaces
                    .entry(ns.clone())
                    .or_insert_with(|| NamespaceInfo::new(&ns, Labels::new(), true));
            }
            unique.retain(|p| narrow.keeps(p));
        }
        let mut snapshot = Snapshot::new(
            namespaces.into_values().collect(),
            unique,
            policies.into_values().collect(),
        );
        snapshot.decode_errors = decode_errors;
        snapshot.services = services;
        snapshot.namespaceless = namespaceless;
        snapshot.set_nodes(nodes);
        snapshot.null_egress = null_egress;
        snapshot.cluster_policies = cluster_policies.into_values().collect();
        snapshot.unevaluated = unevaluated;
        snapshot
    }
}

fn missing_name(obj: &Object) -> Error {
    obj.error(format_args!(
        "{} without metadata.name",
        kind_of(&obj.value)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::NAMESPACE_NAME_LABEL;

    const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: c\n        image: x\n        ports: [{name: http, containerPort: 8080}, {containerPort: 53, protocol: UDP}]\n";

    fn names(s: &Snapshot) -> Vec<String> {
        s.pods
            .iter()
            .map(|p| format!("{} {}", p.key(), p.display_ref()))
            .collect()
    }

    #[test]
    fn a_workload_becomes_one_representative_pod() {
        let s = load_str("t.yaml", DEPLOY, "default").unwrap();
        assert_eq!(names(&s), vec!["shop/web deployment/web"]);
        let pod = &s.pods[0];
        assert!(pod.representative);
        assert_eq!(pod.labels.get("app").map(String::as_str), Some("web"));
        assert_eq!(pod.ports.len(), 2);
        assert_eq!(pod.ports[1].protocol, crate::engine::ports::Protocol::Udp);
    }

    #[test]
    fn real_pods_replace_their_workload_and_name_it() {
        let text = format!(
            "{DEPLOY}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web-7d9f-abcde\n  namespace: shop\n  labels: {{app: web, pod-template-hash: 7d9f}}\n  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: web-7d9f, uid: u1, controller: true}}]\nspec: {{containers: [{{name: c, image: x}}]}}\nstatus: {{podIP: 10.0.0.5}}\n"
        );
        let s = load_str("t.yaml", &text, "default").unwrap();
        assert_eq!(names(&s), vec!["shop/web-7d9f-abcde pod/web-7d9f-abcde"]);
        let w = s.pods[0].workload.as_ref().unwrap();
        assert_eq!((w.kind.as_str(), w.name.as_str()), ("Deployment", "web"));
        assert_eq!(
            s.pods[0].ips,
            vec!["10.0.0.5".parse::<std::net::IpAddr>().unwrap()]
        );
    }

    #[test]
    fn a_replicaset_owned_by_a_present_deployment_is_not_doubled() {
        let text = format!(
            "{DEPLOY}---\napiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: web-7d9f\n  namespace: shop\n  ownerReferences: [{{apiVersion: apps/v1, kind: Deployment, name: web, uid: u0, controller: true}}]\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template: {{metadata: {{labels: {{app: web}}}}}}\n"
        );
        let s = load_str("t.yaml", &text, "default").unwrap();
        assert_eq!(names(&s), vec!["shop/web deployment/web"]);
    }

    #[test]
    fn lists_namespaces_and_defaults() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a, labels: {team: x}}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n- apiVersion: v1\n  kind: Service\n  metadata: {name: s}\n- apiVersion: networking.k8s.io/v1\n  kind: NetworkPolicy\n  metadata: {name: np, namespace: b}\n  spec: {podSelector: {}}\n";
        let s = load_str("t.yaml", text, "dev").unwrap();
        assert_eq!(names(&s), vec!["dev/p pod/p"]);
        let ns: Vec<(&str, bool)> = s
            .namespaces
            .iter()
            .map(|n| (n.name.as_str(), n.synthesized))
            .collect();
        assert_eq!(ns, vec![("a", false), ("b", true), ("dev", true)]);
        for n in &s.namespaces {
            assert_eq!(n.labels.get(NAMESPACE_NAME_LABEL), Some(&n.name));
        }
        assert_eq!(
            s.namespace("a")
                .unwrap()
                .labels
                .get("team")
                .map(String::as_str),
            Some("x")
        );
    }

    #[test]
    fn json_input_and_cronjob_templates() {
        let text = r#"{"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"r","namespace":"j"},
          "spec":{"schedule":"* * * * *","jobTemplate":{"spec":{"template":{"metadata":{"labels":{"app":"r"}},
          "spec":{"containers":[{"name":"c","image":"x"}]}}}}}}"#;
        let s = load_str("t.json", text, "default").unwrap();
        assert_eq!(names(&s), vec!["j/r cronjob/r"]);
    }

    /// The documents (or the first error) of `text` as the whole stream
    /// gives them to serde_yaml_ng, through the same object rules.
    fn whole_stream(text: &str) -> Result<Vec<(String, Value)>, String> {
        let mut out = Vec::new();
        for (i, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
            let n = i + 1;
            let value =
                Value::deserialize(doc).map_err(|e| format!("t.yaml: document {n}: {e}"))?;
            let mut objects = Vec::new();
            push_object(value, "t.yaml", format!("document {n}"), &mut objects)
                .map_err(|m| format!("t.yaml: {m}"))?;
            out.extend(objects.into_iter().map(|o| (o.doc, o.value)));
        }
        Ok(out)
    }

    fn streamed(text: &str) -> Result<Vec<(String, Value)>, String> {
        let mut out = Vec::new();
        parse_documents(
            &Input {
                name: "t.yaml".into(),
                source: InputSource::Text(text.into()),
                reading: Reading::Fast,
                parallel: Parallel::SERIAL,
                narrow: None,
            },
            &mut |o| {
                out.push((o.doc, o.value));
                Ok(())
            },
        )
        .map_err(|e| e.to_string())?;
        Ok(out)
    }

    #[test]
    fn streaming_by_document_gives_what_the_whole_stream_gives() {
        let obj = |k: &str| format!("apiVersion: v1\nkind: {k}\nmetadata: {{name: x}}\n");
        let cases = [
            format!("{}---\n{}", obj("A"), obj("B")),
            format!("---\n{}---\n{}---\n", obj("A"), obj("B")),
            format!("# leading comment\n\n---\n{}", obj("A")),
            format!("---\n---\n{}---\n# only a comment\n---\n{}", obj("A"), obj("B")),
            format!("{}...\n---\n{}...\n", obj("A"), obj("B")),
            "--- {apiVersion: v1, kind: A}\n--- {apiVersion: v1, kind: B}\n".to_string(),
            "apiVersion: v1\nkind: ConfigMap\ndata:\n  x: |\n    ---\n    not a marker\n---\napiVersion: v1\nkind: B\n".to_string(),
            format!("{}---\r\n{}", obj("A").replace('\n', "\r\n"), obj("B").replace('\n', "\r\n")),
            format!("{}--- \n{}---\t\n{}", obj("A"), obj("B"), obj("C")),
            format!("%YAML 1.1\n---\n{}", obj("A")),
            format!("{}---\n{}---\na: [1,\nb: 2\n", obj("A"), obj("B")),
            format!("{}---\n]\n", obj("A")),
            format!("{}---\n  bad: indent\n bad: again\n", obj("A")),
            format!("{}---\nfoo: bar\n", obj("A")),
            format!("{}---\n- 1\n", obj("A")),
            "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [{\"apiVersion\": \"v1\", \"kind\": \"A\"}]}\n".to_string(),
            format!("{}----\n", obj("A")),
            format!("{}---", obj("A")),
            String::new(),
            "# nothing but a comment\n".to_string(),
        ];
        for text in &cases {
            assert_eq!(streamed(text), whole_stream(text), "input:\n{text}");
        }
        // The cases reach errors past the first document, with positions.
        let e = streamed(&cases[10]).unwrap_err();
        assert!(
            e.starts_with("t.yaml: document 3: ")
                && e.contains("at line 11 column 1, while parsing a flow sequence at line 9"),
            "{e}"
        );
    }

    /// The snapshot and warnings of `text`, as `-f` reads it.
    fn read_str(name: &str, text: &str) -> Result<(Snapshot, Vec<String>), Error> {
        let mut builder = Builder::new("d");
        let mut evidence = Evidence::default();
        parse_documents(
            &Input {
                name: name.into(),
                source: InputSource::Text(text.into()),
                reading: Reading::Fast,
                parallel: Parallel::SERIAL,
                narrow: None,
            },
            &mut |obj| take_object(&mut builder, &mut evidence, obj),
        )?;
        let warnings = builder.warnings_in_order();
        Ok((builder.finish(None), warnings))
    }

    #[test]
    fn errors_name_the_file_and_document() {
        let e = load_str(
            "f.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\nfoo: bar\n",
            "d",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "f.yaml: document 2: not a Kubernetes object (apiVersion and kind are required)"
        );
        let e = load_str("f.yaml", "a: [1,\n", "d").unwrap_err().to_string();
        assert!(
            e.starts_with("f.yaml: document 1: ") && e.contains("line"),
            "{e}"
        );
        // A wrongly typed Pod is left out with a warning; the rest is read.
        let (s, warnings) = read_str(
            "f.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, ports: [{containerPort: abc}]}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\n",
        )
        .unwrap();
        assert_eq!(names(&s), vec!["d/b pod/b"]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("warning: f.yaml: document 1: invalid Pod a: invalid type: string \"abc\", expected i32"),
            "{warnings:?}"
        );
        let e = load_str("f.yaml", "- 1\n- 2\n", "d")
            .unwrap_err()
            .to_string();
        assert!(e.contains("document 1: not a Kubernetes object"), "{e}");
    }
}
