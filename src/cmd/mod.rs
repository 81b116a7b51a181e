//! One module per subcommand: gather a snapshot, ask the engine, render.
//! Shared here: loading the input, the namespace scope, and finding the
//! pod a user named.

pub mod can;
pub mod check;
pub mod complete;
pub mod explain;
mod fetch;
pub mod generate;
pub mod graph;
pub mod sync;
pub mod version;
pub use fetch::Need;
pub mod coverage;
pub mod diff;
pub mod lint;
pub mod list;
pub mod matrix;
pub mod services;
pub mod tiers;
pub mod wizard;

use std::borrow::Cow;
use std::net::IpAddr;

use crate::cli::{GlobalArgs, OutputFormat};
use crate::cni::{self, Evidence, Verdict};
use crate::engine::Model;
use crate::engine::selector::Selector;
use crate::error::Error;
use crate::render::Palette;
use crate::snapshot::{PodInfo, ServiceInfo, Snapshot};
use crate::source::files::{LoadOptions, Manifests, Narrow, Wanted};
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

/// Where a command that writes its answer as it makes it (`matrix`) puts
/// it, instead of returning it whole in [`Outcome::stdout`].
pub trait Output {
    /// Says `warnings` on stderr, after what `main` says before any
    /// command's output; called once, before the first byte of stdout.
    fn warnings(&mut self, warnings: &[String]);
    /// Standard output, buffered; errors writing it are returned as
    /// [`Error::Output`].
    fn stdout(&mut self) -> &mut dyn std::io::Write;
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
    /// With `workloads` (`matrix`), live workloads without pods stand as
    /// one pod each, as `-f`'s do.
    Scope {
        namespaces: Need,
        services: bool,
        workloads: bool,
    },
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

    /// `--no-headers`: tables without their header line (and without the
    /// notes printed below them).
    pub fn no_headers(&self) -> bool {
        self.global.no_headers
    }

    /// `-l`: the label selector, parsed; `None` when not given.
    pub fn selector(&self) -> Result<Option<Selector>, Error> {
        self.global
            .selector
            .as_deref()
            .map(|text| {
                Selector::parse(text)
                    .map_err(|e| Error::Usage(crate::cli::selector_error(text, &e)))
            })
            .transpose()
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
            Source::Files => match plan {
                Plan::Endpoints { refs, peers } => self.endpoint_manifests(refs, peers),
                Plan::Scope { .. } => Ok(self.manifests()?.snapshot()),
            },
            Source::NoCluster(e) => Err(e.again()),
            Source::Live(live) => self
                .runtime
                .block_on(live.bounded(self.fetch(live, plan)))
                .map(Rc::new),
        }
    }

    async fn fetch(&self, live: &Live, plan: Plan<'_>) -> Result<Snapshot, Error> {
        fetch::with_cluster_policies(live, self.fetch_plan(live, plan)).await
    }

    async fn fetch_plan(&self, live: &Live, plan: Plan<'_>) -> Result<Snapshot, Error> {
        match plan {
            Plan::Scope {
                namespaces,
                services,
                workloads,
            } => {
                let mut s =
                    fetch::scope(live, self.scope().as_deref(), namespaces, services).await?;
                if workloads {
                    let mut gaps = std::mem::take(&mut s.gaps);
                    let mut pods = std::mem::take(&mut s.pods);
                    fetch::podless_workloads(live, &mut pods, &mut gaps).await?;
                    let mut next = Snapshot::new(
                        std::mem::take(&mut s.namespaces),
                        pods,
                        std::mem::take(&mut s.policies),
                    );
                    next.services = std::mem::take(&mut s.services);
                    next.nodes = std::mem::take(&mut s.nodes);
                    next.gaps = gaps;
                    s = next;
                }
                Ok(s)
            }
            Plan::Endpoints { refs, peers } => {
                fetch::endpoints(live, refs, &self.default_namespace(), peers).await
            }
        }
    }

    /// The snapshot and, read at the same time, the enforcement warnings
    /// that `explain`, `list`, `can` and `matrix` print: whether the CNI
    /// enforces NetworkPolicy (see [`Context::enforcement_warning`]) and,
    /// for the snapshot's cluster policies, whether it implements their
    /// APIs ([`tier_warnings`]).
    pub fn snapshot_with_warning(
        &self,
        plan: Plan<'_>,
    ) -> Result<(Rc<Snapshot>, Vec<String>), Error> {
        let (snapshot, evidence) = match &self.source {
            Source::Live(live) => {
                let both = async {
                    let (snapshot, evidence) =
                        tokio::join!(self.fetch(live, plan), live.evidence(false));
                    Ok((snapshot?, evidence))
                };
                let (snapshot, evidence) = self.runtime.block_on(live.bounded(both))?;
                (Rc::new(snapshot), evidence)
            }
            _ => {
                let snapshot = self.snapshot(plan)?;
                (snapshot, self.evidence(false))
            }
        };
        let Ok(evidence) = evidence else {
            return Ok((snapshot, Vec::new()));
        };
        let a = cni::assess(&evidence);
        let mut warnings: Vec<String> = warning_of(&evidence, &a).into_iter().collect();
        warnings.extend(tier_warnings(&a, &snapshot));
        Ok((snapshot, warnings))
    }

    /// A live snapshot read without the namespaces (`Need::No`), with them
    /// when they are readable (a refusal is a gap, as with
    /// [`Need::IfReadable`]); anything else is returned as it is. For
    /// `coverage` with cluster policies: a subject selecting namespaces by
    /// their labels is then decided, not "may select".
    pub fn with_namespaces(&self, snapshot: Rc<Snapshot>) -> Result<Rc<Snapshot>, Error> {
        let Source::Live(live) = &self.source else {
            return Ok(snapshot);
        };
        if snapshot.gaps.namespaces.as_deref() != Some(fetch::NAMESPACES_NOT_READ) {
            return Ok(snapshot);
        }
        let read = self
            .runtime
            .block_on(live.bounded(fetch::read_namespaces(live, Need::IfReadable)))?;
        let mut s = Rc::unwrap_or_clone(snapshot);
        match read {
            Ok(list) => {
                let mut by_name: std::collections::BTreeMap<
                    String,
                    crate::snapshot::NamespaceInfo,
                > = std::mem::take(&mut s.namespaces)
                    .into_iter()
                    .map(|n| (n.name.clone(), n))
                    .collect();
                for n in list {
                    by_name.insert(n.name.clone(), n);
                }
                s.namespaces = by_name.into_values().collect();
                s.gaps.namespaces = None;
            }
            Err(why) => s.gaps.namespaces = Some(why),
        }
        Ok(Rc::new(s))
    }

    /// The warnings of [`tier_warnings`] for `snapshot`, reading what
    /// `check` reads only when the snapshot has cluster policies (for
    /// `coverage`, which does not print the enforcement warning).
    pub fn tier_warnings(&self, snapshot: &Snapshot) -> Vec<String> {
        if snapshot.cluster_policies.is_empty() {
            return Vec::new();
        }
        match self.evidence(false) {
            Ok(evidence) => tier_warnings(&cni::assess(&evidence), snapshot),
            Err(_) => Vec::new(),
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
    /// A user who may not read them cluster-wide gets the pods and
    /// policies of `namespace` (the one the policy is for), the namespaces if they
    /// may be listed, and the refusal recorded in the snapshot's gaps.
    pub fn everything(&self, namespace: &str) -> Result<Rc<Snapshot>, Error> {
        match &self.source {
            Source::Live(live) => {
                let read = async {
                    match fetch::scope(live, None, Need::IfReadable, false).await {
                        Err(Error::Forbidden(why)) if !why.contains("cannot impersonate") => {
                            let mut s =
                                fetch::scope(live, Some(namespace), Need::IfReadable, false)
                                    .await?;
                            // Refused, not out of scope: say why, in the
                            // words of the pods' refusal (the first refusal
                            // may have been another list's). A list that
                            // matches no pod asks only that.
                            let why = if why.starts_with("cannot list pods") {
                                why
                            } else {
                                match live
                                    .pods(None, Some("kubectl-netpol-probe=none"), None)
                                    .await
                                {
                                    Err(Error::Forbidden(pods_why)) => pods_why,
                                    _ => why,
                                }
                            };
                            s.gaps.pods.insert("*".into(), why);
                            s.gaps.scoped = false;
                            Ok(s)
                        }
                        other => other,
                    }
                };
                self.runtime.block_on(live.bounded(read)).map(Rc::new)
            }
            _ => self.snapshot(Plan::Scope {
                workloads: false,
                namespaces: Need::IfReadable,
                services: false,
            }),
        }
    }

    /// What `lint --against-cluster` reads of the cluster for `manifests`:
    /// with `-A` everything, otherwise what the manifests' policies need
    /// (see [`fetch::lint`]): the namespaces they live in (or, without
    /// policies, `-n` or the context's namespace), kube-system's DNS, and
    /// the pods their peers (and the cluster's policies there) can match.
    pub fn cluster_snapshot(&self, manifests: &Snapshot) -> Result<Snapshot, Error> {
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
        let everything = || {
            self.runtime
                .block_on(live.bounded(fetch::with_cluster_policies(
                    live,
                    fetch::scope(live, None, Need::IfReadable, true),
                )))
        };
        if self.global.all_namespaces {
            return everything();
        }
        // Cluster policies in the manifests apply cluster-wide: their
        // checks look at every namespace's pods, when readable (else the
        // namespaces below, and the checks say what they could not see).
        if !manifests.cluster_policies.is_empty() {
            match everything() {
                Err(Error::Forbidden(_)) => {}
                other => return other,
            }
        }
        let mut home: std::collections::BTreeSet<String> = manifests
            .policies
            .iter()
            .filter_map(|p| p.metadata.namespace.clone())
            .collect();
        if home.is_empty() {
            home.insert(
                self.global
                    .namespace
                    .clone()
                    .unwrap_or_else(|| live.namespace.clone()),
            );
        }
        self.runtime
            .block_on(live.bounded(fetch::with_cluster_policies(
                live,
                fetch::lint(live, &home, &manifests.policies),
            )))
    }

    /// For `lint`, as `kubectl apply -f`: with `-n` (and not `-A`), every
    /// NetworkPolicy of the manifests must be in that namespace; one that
    /// names another is an error, never left out unlinted. (Pods, Services
    /// and Namespaces are the context the policies are checked against:
    /// a cluster's pods may be in any namespace.)
    pub fn manifests_in_namespace(&self, manifests: &Snapshot) -> Result<(), Error> {
        let Some(ns) = self.global.namespace.as_deref() else {
            return Ok(());
        };
        if self.global.all_namespaces || self.global.filenames.is_empty() {
            return Ok(());
        }
        let other = manifests.policies.iter().find(|p| {
            p.metadata
                .namespace
                .as_deref()
                .is_some_and(|there| there != ns)
        });
        match other {
            Some(p) => {
                let there = p.metadata.namespace.as_deref().unwrap_or_default();
                Err(Error::Usage(format!(
                    "NetworkPolicy {:?}: the namespace from the provided object {there:?} does not match the namespace {ns:?}. You must pass '--namespace={there}' to perform this operation.",
                    p.metadata.name.as_deref().unwrap_or_default()
                )))
            }
            None => Ok(()),
        }
    }

    /// The cluster kubectl's flags name, connected even when `-f` is
    /// given (`sync -f GRAPH`): nothing is sent yet.
    pub fn cluster(&self) -> Result<Live, Error> {
        match &self.source {
            Source::Live(live) => Ok(live.clone()),
            Source::NoCluster(e) => Err(e.again()),
            Source::Files => self
                .runtime
                .block_on(Live::connect(&self.global.connection)),
        }
    }

    /// Runs `f` against the cluster kubectl's flags name, connecting even
    /// when `-f` is given (`diff -f`), within `--request-timeout`.
    pub fn with_cluster<T>(
        &self,
        f: impl AsyncFnOnce(&Live) -> Result<T, Error>,
    ) -> Result<T, Error> {
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
        self.runtime.block_on(live.bounded(f(live)))
    }

    /// Warnings about the manifests themselves (objects left out because
    /// the API server would reject them, see [`Manifests::warnings`]), for
    /// `main` to print whatever the outcome; empty for a live cluster or
    /// when no manifest was read.
    pub fn input_warnings(&self) -> Vec<String> {
        self.manifests
            .get()
            .map(Manifests::warnings)
            .unwrap_or_default()
    }

    /// The manifests of `-f`, read once (whatever the source: `generate`
    /// reads its graphs from them), in full.
    pub fn manifests(&self) -> Result<&Manifests, Error> {
        if let Some(m) = self.manifests.get() {
            m.widen(Wanted::Everything)?;
            return Ok(m);
        }
        let m = Manifests::read(&self.load_options())?;
        Ok(self.manifests.get_or_init(|| m))
    }

    /// The snapshot `can` and `explain` answer from, from manifests: read
    /// narrowly ([`Manifests::read_narrow`]) when the references are
    /// names, so that only the Pods of their namespaces are read, and with
    /// `peers` also those of the namespaces the peers of their policies
    /// may select (as a live cluster is read: [`fetch::peer_namespaces`]);
    /// in full otherwise, and when `NETPOL_NARROW=0`. A command that finds
    /// the narrow snapshot is not enough says so to [`Context::narrow_first`].
    fn endpoint_manifests(&self, refs: &[&str], peers: bool) -> Result<Rc<Snapshot>, Error> {
        let ns = self.default_namespace();
        if self.manifests.get().is_none()
            && narrow_allowed()?
            && let Some(namespaces) = narrow_namespaces(refs, &ns)
        {
            let m = Manifests::read_narrow(
                &self.load_options(),
                Narrow {
                    namespaces,
                    default_namespace: ns.clone(),
                    nodes: Default::default(),
                },
            )?;
            let _ = self.manifests.set(m);
        }
        let Some((m, named)) = self
            .manifests
            .get()
            .and_then(|m| m.narrowed_to().map(|named| (m, named)))
        else {
            return Ok(self.manifests()?.snapshot());
        };
        if peers {
            let snapshot = m.snapshot();
            if !snapshot.cluster_policies.is_empty() {
                m.widen(Wanted::Everything)?;
                return Ok(m.snapshot());
            }
            // The policies of the namespaces named, as a live cluster's are.
            let policies = snapshot
                .policies
                .iter()
                .filter(|p| named.contains(p.metadata.namespace.as_deref().unwrap_or(&ns)))
                .cloned()
                .collect();
            let partial = Snapshot::new(snapshot.namespaces.clone(), Vec::new(), policies);
            let (mut more, anywhere) = fetch::peer_namespaces(&Model::new(&partial, &ns));
            more.insert("kube-system".to_string());
            // The node addresses `explain` shows come from the host IPs of
            // every pod on the node (the pods named are read already).
            let given = self.global.namespace.is_some();
            let nodes: std::collections::BTreeSet<String> = refs
                .iter()
                .filter_map(|r| match find_endpoint(&snapshot, r, &ns, given) {
                    Ok(Target::Pod(f)) => f.pod.node.clone(),
                    _ => None,
                })
                .collect();
            m.widen(if anywhere {
                Wanted::Everything
            } else {
                Wanted::Only {
                    namespaces: &more,
                    nodes: &nodes,
                }
            })?;
        }
        Ok(m.snapshot())
    }

    /// Whether the snapshot read so far holds every object of the input
    /// (always, for a live cluster: what it leaves out is in its gaps).
    pub fn is_whole(&self) -> bool {
        self.manifests.get().is_none_or(Manifests::is_whole)
    }

    /// Runs `answer` on a narrow snapshot first (see
    /// [`Context::endpoint_manifests`]), and again on the whole input when
    /// it answers [`Narrowed::NeedsAll`] (a path that reads beyond the
    /// namespaces read) or fails (an error, such as a name not found with
    /// its nearest names, must be the whole input's).
    pub fn narrow_first<T>(
        &self,
        answer: impl Fn() -> Result<Narrowed<T>, Error>,
    ) -> Result<T, Error> {
        match answer() {
            Ok(Narrowed::Answer(t)) => return Ok(t),
            Err(e) if self.is_whole() => return Err(e),
            Ok(Narrowed::NeedsAll) | Err(_) => {}
        }
        self.manifests()?;
        match answer()? {
            Narrowed::Answer(t) => Ok(t),
            Narrowed::NeedsAll => Err(Error::Invalid(
                "the whole input was read and still found narrow (a bug: please report it)".into(),
            )),
        }
    }

    fn load_options(&self) -> LoadOptions {
        LoadOptions {
            paths: self.global.filenames.clone(),
            recursive: self.global.recursive,
            default_namespace: self.default_namespace(),
        }
    }

    /// What tells whether the CNI enforces NetworkPolicy: from the
    /// manifests, or read from the cluster (`full` also reads the pods of
    /// well-known CNI namespaces).
    pub fn evidence(&self, full: bool) -> Result<Evidence, Error> {
        match &self.source {
            // The narrow reading reads every object the evidence uses.
            Source::Files => match self.manifests.get() {
                Some(m) => m,
                None => self.manifests()?,
            }
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
    /// says policies are not (or may not be) enforced, or (kube-system's
    /// pods refused) that it could not be checked. Quiet when the evidence
    /// cannot be read at all or (manifests) holds nothing about the CNI.
    pub fn enforcement_warning(&self) -> Option<String> {
        warning_from(self.evidence(false))
    }
}

/// The enforcement warning for what the evidence says, if any.
pub(crate) fn warning_from(evidence: Result<Evidence, Error>) -> Option<String> {
    let evidence = evidence.ok()?;
    warning_of(&evidence, &cni::assess(&evidence))
}

/// One warning per cluster policy API that `snapshot` has objects of and
/// that the CNI found does not implement (`check`'s
/// `clusterPolicySupport` says `implemented: false`): the answers apply
/// them, the cluster does not. Nothing when implemented or unknown (the
/// enforcement warning covers what cannot be told).
pub fn tier_warnings(a: &cni::Assessment, snapshot: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    for api in cni::tiers::ClusterApi::ALL {
        if !snapshot
            .cluster_policies
            .iter()
            .any(|o| o.kind == api.kind())
        {
            continue;
        }
        let named = format!("{} (policy.networking.k8s.io)", api.kind());
        let Some(support) = cni::tiers::support(&a.found, std::slice::from_ref(&named)).pop()
        else {
            continue;
        };
        if support.implemented != Some(false) {
            continue;
        }
        let mut names: Vec<&str> = Vec::new();
        for i in &support.by {
            if !names.contains(&i.component.as_str()) {
                names.push(&i.component);
            }
        }
        let (who, verb) = match names.as_slice() {
            [one] => (one.to_string(), "does"),
            [init @ .., last] => (format!("{} and {last}", init.join(", ")), "do"),
            [] => continue,
        };
        out.push(format!(
            "warning: {who} {verb} not implement {named}: the answers below apply its cluster policies as if enforced; on this cluster they are not (see kubectl netpol check)"
        ));
    }
    out
}

/// The enforcement warning for an assessment `a` of `evidence`, if any.
fn warning_of(evidence: &Evidence, a: &cni::Assessment) -> Option<String> {
    {
        // "Cannot tell" is worth saying only when the kube-system pods were
        // there to look at; application manifests are not evidence.
        let saw_kube_system = evidence
            .pods
            .iter()
            .any(|p| p.metadata.namespace.as_deref() == Some("kube-system"));
        let reason = a.reason.trim_end_matches('.');
        match a.verdict {
            Verdict::Enforced => None,
            Verdict::NotEnforced => Some(format!(
                "warning: NetworkPolicy is not enforced in this cluster: {reason} (see kubectl netpol check)"
            )),
            // Refused: the verdict could not be checked; say so once
            // rather than leave the user believing policies apply.
            Verdict::Unknown if !saw_kube_system => evidence
                .unreadable
                .iter()
                .find(|u| u.starts_with("pods in namespace \"kube-system\""))
                .map(|_| {
                    "warning: whether NetworkPolicy is enforced in this cluster could not be checked: the pods of namespace \"kube-system\" are not readable (see kubectl netpol check)".to_string()
                }),
            Verdict::Unknown => Some(format!(
                "warning: cannot tell whether NetworkPolicy is enforced in this cluster: {reason} (see kubectl netpol check)"
            )),
        }
    }
}

/// What a command answering from a narrow snapshot says
/// ([`Context::narrow_first`]).
pub enum Narrowed<T> {
    /// The answer, the whole input's.
    Answer(T),
    /// The answer may depend on Pods of namespaces not read.
    NeedsAll,
}

/// Whether manifests may be read narrowly: not with `NETPOL_NARROW=0`
/// (every document read in full, with the warnings of all; `1` or unset:
/// narrow where it is safe).
fn narrow_allowed() -> Result<bool, Error> {
    match std::env::var_os("NETPOL_NARROW") {
        None => Ok(true),
        Some(v) if matches!(v.to_str().map(str::trim), Some("1" | "")) => Ok(true),
        Some(v) if v.to_str().map(str::trim) == Some("0") => Ok(false),
        Some(v) => Err(Error::Usage(format!(
            "NETPOL_NARROW={v:?}: expected 0 (read every document in full) or 1"
        ))),
    }
}

/// The namespaces whose Pods `can` and `explain` need for these
/// references: every namespace each may point into; `None` (read
/// everything) when one is an address, a node, a Service (its backends'
/// answer reads beyond its namespace) or not a reference at all.
fn narrow_namespaces(
    refs: &[&str],
    default_ns: &str,
) -> Option<std::collections::BTreeSet<String>> {
    let mut out = std::collections::BTreeSet::new();
    for r in refs {
        if fetch::node_ref(r).is_some() || r.parse::<IpAddr>().is_ok() {
            return None;
        }
        let readings = readings(r, default_ns).ok()?;
        if readings.iter().any(|r| r.kind == Some("Service")) {
            return None;
        }
        out.extend(readings.into_iter().map(|r| r.namespace));
    }
    Some(out)
}

/// The namespace a `[NAMESPACE/][KIND/]NAME` reference points into, or
/// `None` for an IP address. For a reference with two readings (see
/// [`readings`]) this is the first; [`ref_namespaces`] gives all.
pub fn ref_namespace(text: &str, default_ns: &str) -> Option<String> {
    ref_namespaces(text, default_ns).into_iter().next()
}

/// Every namespace a reference may point into (two for `jobs/worker`:
/// `default_ns` for a Job, `jobs` for a pod); empty for an IP address or an
/// unreadable reference.
pub fn ref_namespaces(text: &str, default_ns: &str) -> Vec<String> {
    if text.parse::<IpAddr>().is_ok() {
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for r in readings(text, default_ns).unwrap_or_default() {
        if !out.contains(&r.namespace) {
            out.push(r.namespace);
        }
    }
    out
}

/// One way to read a `[NAMESPACE/][KIND/]NAME` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub namespace: String,
    /// Kubernetes kind (`Pod`, `Deployment`, `Service`...); `None` for a
    /// bare name (a pod, or else a workload of that name).
    pub kind: Option<&'static str>,
    pub name: String,
    /// The namespace was written in the reference (not `-n` or the default).
    pub explicit_ns: bool,
}

impl Reading {
    /// How to write this reading unambiguously: `jobs/pod/worker`,
    /// `job/worker`.
    fn spelling(&self, word: &str) -> String {
        if self.explicit_ns {
            format!("{}/{word}/{}", self.namespace, self.name)
        } else {
            format!("{word}/{}", self.name)
        }
    }
}

/// The readings of `[NAMESPACE/][KIND/]NAME`. `WORD/NAME` where WORD is both
/// a resource type and a legal namespace name (`jobs/worker`, `svc/db`) has
/// two: the kind in `default_ns` first, then a pod or workload in namespace
/// WORD; [`find_ref`] keeps whichever exists.
pub fn readings(text: &str, default_ns: &str) -> Result<Vec<Reading>, Error> {
    not_an_address(text)?;
    let bad = || {
        Error::Usage(format!(
            "cannot read {text:?}: expected [NAMESPACE/][KIND/]NAME"
        ))
    };
    let parts: Vec<&str> = text.split('/').collect();
    let reading = |ns: &str, kind, name: &str, explicit_ns| Reading {
        namespace: ns.to_string(),
        kind,
        name: name.to_string(),
        explicit_ns,
    };
    let out = match parts.as_slice() {
        [name] => vec![reading(default_ns, None, name, false)],
        [a, name] => match kind_alias(a) {
            Some(k) if crate::snapshot::is_namespace_name(a) => vec![
                reading(default_ns, Some(k), name, false),
                reading(a, None, name, true),
            ],
            Some(k) => vec![reading(default_ns, Some(k), name, false)],
            None => vec![reading(a, None, name, true)],
        },
        [ns, k, name] => match kind_alias(k) {
            Some(k) => vec![reading(ns, Some(k), name, true)],
            None => {
                return Err(Error::Usage(format!(
                    "unknown resource type {k:?} in {text:?}"
                )));
            }
        },
        _ => return Err(bad()),
    };
    if out
        .iter()
        .any(|r| r.name.is_empty() || r.namespace.is_empty())
    {
        return Err(bad());
    }
    Ok(out)
}

/// Refuses what looks like an address but is not one endpoint: a CIDR
/// (`10.0.0.50/32`) or an invalid IP address (`300.1.1.1`), rather than
/// reading it as `NAMESPACE/NAME` or a pod name.
fn not_an_address(text: &str) -> Result<(), Error> {
    if let Ok(net) = text.parse::<ipnet::IpNet>() {
        let addr = if net.prefix_len() == net.max_prefix_len() {
            net.addr()
        } else {
            net.hosts().next().unwrap_or(net.addr())
        };
        return Err(Error::Usage(format!(
            "{text:?} is a CIDR (a range of addresses), not one endpoint: give an address, e.g. {addr}"
        )));
    }
    let dotted = text.split('.').collect::<Vec<_>>();
    let v4_like = dotted.len() == 4
        && dotted
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    // No Kubernetes name holds a colon: such text is meant as IPv6.
    let v6_like = text.contains(':') && !text.contains('/');
    if (v4_like || v6_like) && text.parse::<IpAddr>().is_err() {
        return Err(Error::Usage(format!("{text:?} is not a valid IP address")));
    }
    Ok(())
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
        .chain(model.cluster_invalid.iter().map(|p| {
            format!(
                "warning: {} {:?} is invalid (the API server would reject it): answers it may change are undecided: {}",
                p.kind,
                p.name,
                p.errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        }))
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
        "service" | "services" | "svc" => "Service",
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
        "Service" => "services",
        _ => "pods",
    }
}

/// What was not found, in the words of what was read: pods and Services
/// are read by name (`pods "x" not found in namespace "y"`, as kubectl
/// says); a workload is found through the pods it owns (and, offline, its
/// manifest), so a workload with no pods is not said not to exist.
fn missing(snapshot: &Snapshot, kind: Option<&str>, name: &str, ns: &str) -> String {
    // A workload looked up by name (live) that is not there: kubectl's words.
    let absent = kind.is_some_and(|k| {
        snapshot
            .gaps
            .workloads_absent
            .contains(&format!("{ns}/{k}/{name}"))
    });
    match kind {
        Some(k) if absent => {
            format!(
                "{} {name:?} not found in namespace {ns:?}",
                resource_name(k)
            )
        }
        None | Some("Pod") | Some("Service") => {
            let resource = resource_name(kind.unwrap_or("Pod"));
            format!("{resource} {name:?} not found in namespace {ns:?}")
        }
        Some(k) => format!(
            "no pods of {}/{name} found in namespace {ns:?}",
            kind_word(Some(k))
        ),
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

/// What a reference on the command line names.
pub enum Resolved<'s> {
    Pod(Box<Found<'s>>),
    /// An address no pod and no Service has (or only host-network pods).
    Ip(IpAddr),
    /// A Service, by name or by one of its ClusterIPs (`cluster_ip`).
    Service {
        service: &'s ServiceInfo,
        cluster_ip: Option<IpAddr>,
        /// Another reading of the reference that could not be checked
        /// (RBAC), said in the answer.
        note: Option<String>,
    },
}

/// The pods a reading matches in `ns` (a real pod before a workload's
/// stand-in of the same name).
fn pods_named<'s>(snapshot: &'s Snapshot, r: &Reading) -> Vec<&'s PodInfo> {
    let ns = r.namespace.as_str();
    let name = r.name.as_str();
    let in_ns = snapshot.pods.iter().filter(|p| p.namespace == ns);
    match r.kind {
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
}

/// What one reading finds, if anything.
fn lookup<'s>(snapshot: &'s Snapshot, r: &Reading, text: &str) -> Option<Resolved<'s>> {
    if r.kind == Some("Service") {
        return snapshot
            .services
            .iter()
            .find(|s| s.namespace == r.namespace && s.name == r.name)
            .map(|service| Resolved::Service {
                service,
                cluster_ip: None,
                note: None,
            });
    }
    let found = pods_named(snapshot, r);
    let first = *found.first()?;
    let note = (found.len() > 1).then(|| {
        format!(
            "{} pods match {text:?}; showing {} (pods of one workload share labels and ports, but not IPs)",
            found.len(),
            first.key()
        )
    });
    Some(Resolved::Pod(Box::new(Found {
        pod: Cow::Borrowed(first),
        note,
        all: found,
    })))
}

/// The word kubectl uses for a reading's kind (`pod`, `job`, `service`).
fn kind_word(kind: Option<&str>) -> String {
    kind.unwrap_or("Pod").to_lowercase()
}

/// Finds `[NAMESPACE/][KIND/]NAME` (a pod, a workload's pods, a Service) or
/// an IP address (a pod's, a Service's ClusterIP, or outside the cluster).
/// A bare NAME is a pod, or else the workload of that name. `WORD/NAME`
/// where WORD is both a resource type and a namespace resolves to whichever
/// exists, and is an error naming both spellings when both do.
/// `namespace_given` says whether `-n` was passed. Errors:
/// [`Error::Usage`] (unreadable, ambiguous), [`Error::NotFound`] (with the
/// nearest existing name).
pub fn find_ref<'s>(
    snapshot: &'s Snapshot,
    text: &str,
    default_ns: &str,
    namespace_given: bool,
) -> Result<Resolved<'s>, Error> {
    if let Some(name) = fetch::node_ref(text) {
        // `node/x` with a namespace `node` holding pod x reads both ways.
        let word = text.split_once('/').map_or("node", |(w, _)| w);
        let as_pod = Reading {
            namespace: word.to_string(),
            kind: None,
            name: name.to_string(),
            explicit_ns: true,
        };
        if lookup(snapshot, &as_pod, text).is_some() {
            return Err(Error::Usage(format!(
                "{text:?} is ambiguous: it names node {name:?} and pod {name:?} in namespace {word:?} ({}, or -n {word} {name}); write one of those spellings, or the node's address",
                as_pod.spelling("pod")
            )));
        }
        return node_endpoint(snapshot, name);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        // An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is the IPv4
        // address: that is what a dual-stack socket sends.
        let ip = ip.to_canonical();
        let owned = snapshot.pods.iter().any(|p| p.ips.contains(&ip));
        if !owned && let Some(service) = crate::engine::service::by_cluster_ip(snapshot, &ip) {
            return Ok(Resolved::Service {
                service,
                cluster_ip: Some(ip),
                note: None,
            });
        }
        return ip_endpoint(snapshot, ip);
    }
    let readings = readings(text, default_ns)?;
    let mut hits: Vec<(&Reading, Resolved<'s>)> = readings
        .iter()
        .filter_map(|r| lookup(snapshot, r, text).map(|hit| (r, hit)))
        .collect();
    if hits.len() > 1 {
        let spell = |r: &Reading| match r.kind {
            None => format!("{}, or -n {} {}", r.spelling("pod"), r.namespace, r.name),
            Some(k) => r.spelling(&kind_word(Some(k))),
        };
        let what = |r: &Reading| {
            format!(
                "{} {:?} in namespace {:?} ({})",
                kind_word(r.kind),
                r.name,
                r.namespace,
                spell(r)
            )
        };
        return Err(Error::Usage(format!(
            "{text:?} is ambiguous: it names {} and {}; write one of those spellings",
            what(hits[0].0),
            what(hits[1].0)
        )));
    }
    // Readings that found nothing because their namespace could not be
    // read are unknown, not absent.
    let unread: Vec<(&Reading, &str)> = readings
        .iter()
        .filter(|r| !hits.iter().any(|(h, _)| std::ptr::eq(*h, *r)))
        .filter_map(|r| unreadable(snapshot, r).map(|why| (r, why)))
        .collect();
    if let Some((r, mut hit)) = hits.pop() {
        if let Some((other, why)) = unread.first() {
            let note = format!(
                "{text:?} may also name {} {:?} in namespace {:?}, which could not be checked ({why}); this answer is about {} {:?} in namespace {:?}",
                kind_word(other.kind),
                other.name,
                other.namespace,
                kind_word(r.kind),
                r.name,
                r.namespace
            );
            match &mut hit {
                Resolved::Pod(f) => {
                    f.note = Some(match f.note.take() {
                        Some(n) => format!("{n}; {note}"),
                        None => note,
                    });
                }
                Resolved::Service { note: slot, .. } => *slot = Some(note),
                Resolved::Ip(_) => {}
            }
        }
        return Ok(hit);
    }
    // The first reading (the kind, for `deployment/x`) is what was most
    // likely meant: its own refusal is the one to report.
    if let Some(r) = readings.first()
        && let Some(why) = unreadable(snapshot, r)
    {
        let mut msg = format!(
            "{why}: so {text:?} could not be looked up as {} {:?} in namespace {:?}",
            kind_word(r.kind),
            r.name,
            r.namespace
        );
        for other in readings.iter().skip(1) {
            match unreadable(snapshot, other) {
                Some(other_why) => msg.push_str(&format!(
                    " (nor as {} {:?} in namespace {:?}: {other_why})",
                    kind_word(other.kind),
                    other.name,
                    other.namespace
                )),
                None => {
                    let near = match nearest(snapshot, other) {
                        Some((true, _, (kind, ns, near))) => {
                            format!("; did you mean {kind}/{near} in namespace {ns:?}?")
                        }
                        _ => String::new(),
                    };
                    msg.push_str(&format!(
                        " ({}{near})",
                        missing(snapshot, other.kind, &other.name, &other.namespace)
                    ));
                }
            }
        }
        return Err(Error::Forbidden(msg));
    }
    // The first reading was checked and found nothing: "not found", saying
    // which other reading could not be checked.
    let mut err = not_found(snapshot, &readings, namespace_given);
    if let (Some((other, why)), Error::NotFound(msg)) = (unread.first(), &mut err) {
        msg.push_str(&format!(
            "; {text:?} may also name {} {:?} in namespace {:?}, which could not be checked ({why})",
            kind_word(other.kind),
            other.name,
            other.namespace
        ));
    }
    Err(err)
}

/// Why what `r` looks for could not be read (RBAC), when it could not and
/// it might exist: the pods of its namespace, the workload itself (its
/// template), or (a Service) the Services there. Never for a name no such
/// object can have, nor in a namespace the cluster's namespace list (read)
/// does not hold.
fn unreadable<'a>(snapshot: &'a Snapshot, r: &Reading) -> Option<&'a str> {
    let gaps = &snapshot.gaps;
    let absent_namespace = gaps.live
        && gaps.namespaces.is_none()
        && snapshot
            .namespace(&r.namespace)
            .is_none_or(|n| n.synthesized);
    if !crate::snapshot::is_object_name(&r.name) || absent_namespace {
        return None;
    }
    match r.kind {
        Some("Service") => gaps.services_in.get(&r.namespace).map(String::as_str),
        Some(kind) => gaps
            .workloads
            .get(&format!("{}/{kind}/{}", r.namespace, r.name))
            .map(String::as_str)
            .or_else(|| gaps.pods_unknown_in(&r.namespace)),
        None => gaps.pods_unknown_in(&r.namespace),
    }
}

/// The "not found" error for `readings`, with the nearest existing name.
fn not_found(snapshot: &Snapshot, readings: &[Reading], namespace_given: bool) -> Error {
    let Some(r) = readings.first() else {
        return Error::NotFound("nothing to look up".into());
    };
    let (ns, name) = (r.namespace.as_str(), r.name.as_str());
    let mut msg = missing(snapshot, r.kind, name, ns);
    if let Some(other) = readings.get(1)
        && snapshot.namespace(&other.namespace).is_some()
    {
        msg.push_str(&format!(
            ", and namespace {:?} has no pod or workload {:?}",
            other.namespace, other.name
        ));
    }
    // The same name in other namespaces, when the user did not pick one.
    if !namespace_given && !r.explicit_ns {
        let elsewhere: Vec<&str> = snapshot
            .namespaces
            .iter()
            .map(|n| n.name.as_str())
            .filter(|n| *n != ns)
            .filter(|n| {
                let mut there = r.clone();
                there.namespace = n.to_string();
                lookup(snapshot, &there, name).is_some()
            })
            .collect();
        if let Some(first) = elsewhere.first() {
            // How to write what was found there: a bare name may be a
            // workload's.
            let word = match r.kind {
                None if !pods_named_pod(snapshot, first, name) => snapshot
                    .pods
                    .iter()
                    .filter(|p| p.namespace == *first)
                    .find_map(|p| p.workload.as_ref().filter(|w| w.name == name))
                    .map_or_else(|| "pod".to_string(), |w| kind_word(Some(&w.kind))),
                k => kind_word(k),
            };
            msg.push_str(&format!(
                " (found in namespace {}: use -n {first}, or {first}/{word}/{name})",
                elsewhere
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            return Error::NotFound(msg);
        }
    }
    // A bare name that is a Service's: Services are named with `svc/`.
    if r.kind.is_none()
        && let Some(svc) = snapshot
            .services
            .iter()
            .find(|s| s.namespace == ns && s.name == name)
    {
        msg.push_str(&format!(
            "; Service {} exists: write svc/{name} (or {ns}/svc/{name})",
            svc.key()
        ));
        return Error::NotFound(msg);
    }
    // The nearest name over every reading (`jobs/wroker`: Jobs in the
    // default namespace, and pods of namespace `jobs`).
    let best = readings
        .iter()
        .filter_map(|r| nearest(snapshot, r))
        .min_by_key(|(close, d, _)| (!close, *d));
    match best {
        Some((true, _, (kind, ns, near))) => msg.push_str(&format!(
            "; did you mean {kind}/{near} in namespace {ns:?}? ({ns}/{kind}/{near}, or -n {ns} {kind}/{near})"
        )),
        Some((false, _, (kind, ns, near))) => msg.push_str(&format!(
            "; the nearest name there is {kind}/{near} ({ns}/{kind}/{near}, or -n {ns} {kind}/{near})"
        )),
        None => {}
    }
    Error::NotFound(msg)
}

/// Whether namespace `ns` has a pod (not a workload's stand-in) named `name`.
fn pods_named_pod(snapshot: &Snapshot, ns: &str, name: &str) -> bool {
    snapshot
        .pods
        .iter()
        .any(|p| p.namespace == ns && p.name == name && !p.representative)
}

/// The existing name closest to `r`'s (Levenshtein distance, the
/// reading's namespace first): whether it is near (within a third of the
/// length, at least 2 edits), its distance, and `(kind word, namespace,
/// name)`. When no name is near, the nearest of the reading's own namespace
/// is still offered.
fn nearest(snapshot: &Snapshot, r: &Reading) -> Option<(bool, usize, (String, String, String))> {
    let mut candidates: Vec<(String, String, String)> = Vec::new();
    if r.kind == Some("Service") {
        for s in &snapshot.services {
            candidates.push(("svc".into(), s.namespace.clone(), s.name.clone()));
        }
    } else {
        for p in &snapshot.pods {
            if matches!(r.kind, None | Some("Pod")) && !p.representative {
                candidates.push(("pod".into(), p.namespace.clone(), p.name.clone()));
            }
            if let Some(w) = &p.workload
                && r.kind.is_none_or(|k| k == w.kind || k == "Pod")
            {
                let word = kind_word(Some(&w.kind));
                let c = (word, p.namespace.clone(), w.name.clone());
                if !candidates.contains(&c) {
                    candidates.push(c);
                }
            }
        }
    }
    let near = (r.name.chars().count() / 3).max(2);
    let d = |c: &(String, String, String)| strsim::levenshtein(&r.name, &c.2);
    let close = candidates
        .iter()
        .filter(|c| d(c) <= near)
        .min_by_key(|c| (c.1 != r.namespace, d(c), c.2.clone()));
    if let Some(c) = close {
        return Some((true, d(c), c.clone()));
    }
    candidates
        .iter()
        .filter(|c| c.1 == r.namespace)
        .min_by_key(|c| (d(c), c.2.clone()))
        .map(|c| (false, d(c), c.clone()))
}

/// Finds `[NAMESPACE/][KIND/]NAME`: a pod, or the pods of a workload (see
/// [`find_ref`]). A Service is refused: this caller needs a pod.
pub fn find_pod<'s>(
    snapshot: &'s Snapshot,
    text: &str,
    default_ns: &str,
    namespace_given: bool,
) -> Result<Found<'s>, Error> {
    match find_ref(snapshot, text, default_ns, namespace_given)? {
        Resolved::Pod(f) => Ok(*f),
        Resolved::Ip(ip) => Err(Error::NotFound(format!("no pod has the IP {ip}"))),
        Resolved::Service { service, .. } => Err(service_refused(service)),
    }
}

fn service_refused(service: &ServiceInfo) -> Error {
    Error::Usage(format!(
        "{:?} is Service {}: name one of its pods here",
        service.name,
        service.key()
    ))
}

/// Node `name` (`node/NAME`) as an endpoint: the node's network, like a
/// host-network pod on it (see [`PodInfo::on_host_network`]), with every
/// address known for it (the Node's InternalIP/ExternalIP and the host IPs
/// of pods scheduled on it), so that each address family is decided on the
/// node's own address of that family. Shown as `node/NAME`.
fn node_endpoint<'s>(snapshot: &'s Snapshot, name: &str) -> Result<Resolved<'s>, Error> {
    let mut ips: Vec<IpAddr> = snapshot
        .node(name)
        .map(|n| n.addresses.clone())
        .unwrap_or_default();
    for p in snapshot
        .pods
        .iter()
        .filter(|p| p.node.as_deref() == Some(name))
    {
        for ip in &p.host_ips {
            if !ips.contains(ip) {
                ips.push(*ip);
            }
        }
    }
    if ips.is_empty() {
        return Err(node_not_found(snapshot, name));
    }
    let pod = PodInfo {
        namespace: "node".to_string(),
        name: name.to_string(),
        labels: Default::default(),
        host_ips: ips.clone(),
        ips,
        ports: Vec::new(),
        workload: Some(crate::snapshot::WorkloadRef {
            kind: "Node".to_string(),
            name: name.to_string(),
        }),
        representative: false,
        host_network: true,
        node: Some(name.to_string()),
        init_ports: Vec::new(),
    };
    Ok(Resolved::Pod(Box::new(Found {
        pod: Cow::Owned(pod),
        all: Vec::new(),
        note: None,
    })))
}

/// `nodes "NAME" not found`, naming the nodes that are known.
fn node_not_found(snapshot: &Snapshot, name: &str) -> Error {
    let known: Vec<&str> = snapshot
        .nodes
        .iter()
        .map(|n| n.name.as_str())
        .chain(snapshot.pods.iter().filter_map(|p| p.node.as_deref()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let hint = if known.is_empty() {
        " (no Node objects and no pod's status.hostIP were read: give the node's address instead)"
            .to_string()
    } else {
        format!(" (known nodes: {})", known.join(", "))
    };
    Error::NotFound(format!("nodes {name:?} not found{hint}"))
}

/// An endpoint given on the command line: a pod, or an address.
pub enum Target<'s> {
    Pod(Box<Found<'s>>),
    Ip(IpAddr),
}

impl Target<'_> {
    /// Whether this is a pod on the pod network (not an address, a node,
    /// nor a host-network pod, whose node's addresses come from every
    /// pod on the node).
    pub fn on_pod_network(&self) -> bool {
        matches!(self, Target::Pod(f) if !f.pod.on_host_network() && !f.pod.is_node())
    }
}

/// An address: the pod that has it, or an address outside the cluster's
/// pods (also the address of host-network pods).
fn ip_endpoint(snapshot: &Snapshot, ip: IpAddr) -> Result<Resolved<'_>, Error> {
    let owners: Vec<&PodInfo> = snapshot
        .pods
        .iter()
        .filter(|p| p.ips.contains(&ip))
        .collect();
    match owners.as_slice() {
        [] => Ok(Resolved::Ip(ip)),
        [pod] if !pod.host_network => {
            // Traffic from this address uses this address only: a
            // dual-stack pod's other IP must not match an ipBlock.
            let mut narrowed = (*pod).clone();
            narrowed.ips = vec![ip];
            Ok(Resolved::Pod(Box::new(Found {
                pod: Cow::Owned(narrowed),
                all: vec![*pod],
                note: Some(format!("{ip} is the IP of pod {}", pod.key())),
            })))
        }
        pods if pods.iter().all(|p| p.host_network) => Ok(Resolved::Ip(ip)),
        pods => Err(Error::Usage(format!(
            "{ip} is the IP of several pods ({}): name the pod instead",
            pods.iter().map(|p| p.key()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Reads SRC/DST: an IP address (resolved to a pod when one has it) or a
/// pod reference. Services are answered by `cmd::services` before this is
/// called; here they are refused.
pub fn find_endpoint<'s>(
    snapshot: &'s Snapshot,
    text: &str,
    default_ns: &str,
    namespace_given: bool,
) -> Result<Target<'s>, Error> {
    match find_ref(snapshot, text, default_ns, namespace_given)? {
        Resolved::Pod(f) => Ok(Target::Pod(f)),
        Resolved::Ip(ip) => Ok(Target::Ip(ip)),
        Resolved::Service { service, .. } => Err(service_refused(service)),
    }
}

#[cfg(test)]
mod reference_tests {
    use super::*;

    fn read(text: &str) -> Vec<(String, Option<&'static str>, String)> {
        readings(text, "default")
            .unwrap()
            .into_iter()
            .map(|r| (r.namespace, r.kind, r.name))
            .collect()
    }

    #[test]
    fn a_resource_word_that_is_a_legal_namespace_has_two_readings() {
        let t = |ns: &str, k, n: &str| (ns.to_string(), k, n.to_string());
        assert_eq!(
            read("jobs/worker"),
            vec![
                t("default", Some("Job"), "worker"),
                t("jobs", None, "worker")
            ]
        );
        assert_eq!(
            read("svc/db"),
            vec![t("default", Some("Service"), "db"), t("svc", None, "db")]
        );
        // Not a namespace name: the kind only.
        assert_eq!(
            read("deployment.apps/web"),
            vec![t("default", Some("Deployment"), "web")]
        );
        assert_eq!(read("shop/web"), vec![t("shop", None, "web")]);
        assert_eq!(
            read("shop/svc/web"),
            vec![t("shop", Some("Service"), "web")]
        );
        assert!(readings("a/b/c/d", "default").is_err());
        assert!(readings("shop/", "default").is_err());
        assert_eq!(ref_namespaces("jobs/worker", "x"), vec!["x", "jobs"]);
        assert!(ref_namespaces("10.0.0.1", "x").is_empty());
    }

    #[test]
    fn edit_distance_counts_characters() {
        assert_eq!(strsim::levenshtein("worker", "worker"), 0);
        assert_eq!(strsim::levenshtein("wroker", "worker"), 2);
        assert_eq!(strsim::levenshtein("api-l", "api-1"), 1);
        assert_eq!(strsim::levenshtein("", "abc"), 3);
        assert_eq!(strsim::levenshtein("näme", "name"), 1);
    }
}
