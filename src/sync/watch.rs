//! `sync --watch`: the controller. Every ServiceGraph stored in the
//! cluster is kept synced by the same steps as `sync -f` ([`super::observe`],
//! [`super::plan()`], [`super::apply`]), driven by kube's runtime
//! ([`kube::runtime::Controller`]): a reconcile when a graph changes, when
//! one of its policies changes or is deleted (a watch of the policies
//! labelled as managed, mapped to their graph by its label), and every
//! resync period.
//!
//! - Leader election: a `coordination.k8s.io/v1` Lease held through
//!   [`kube_lease_manager`]; only the holder reconciles, and before each
//!   write it reads the Lease again ([`Fence`]) so that a replica whose
//!   lease ran out never writes beside the new leader.
//! - Status: `status.conditions` `PoliciesApplied` (the cluster's policies
//!   are those the graph implies) and `Ready` (applied, and nothing known
//!   defeats them: `False`/`NotEnforced` when the CNI found enforces no
//!   NetworkPolicy), `status.policies`, `status.observedGeneration` and
//!   `status.lastError`, written only when they change (so a resync writes
//!   nothing); Events (`events.k8s.io/v1`) for what was written and for
//!   each new failure.
//! - Shutdown: the caller's `shutdown` future (SIGTERM, Ctrl-C) stops the
//!   controller after the reconciles in flight, then the Lease is released
//!   so another replica takes over at once.
//!
//! Deleting a graph needs no finalizer: the cluster's garbage collector
//! deletes its policies through their ownerReferences.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::ApiResource;
use kube::runtime::controller::{Action as Requeue, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use crate::engine::graph::{self, ServiceGraph};
use crate::error::Error;
use crate::source::live::Live;

use super::apply::{self, ApplyOptions, Outcome};
use super::plan::{Action, Plan};

/// The field manager of the status writes (the policies' is the same:
/// [`super::plan`]'s `kubectl-netpol`).
pub const FIELD_MANAGER: &str = "kubectl-netpol";

/// How long to wait before trying again after a failure that may pass by
/// itself (the API server unreachable, a read refused, a write without an
/// answer).
pub const RETRY: Duration = Duration::from_secs(15);

/// How soon a graph whose workload references could not be resolved is
/// looked at again (the workload may be about to be created; nothing
/// else triggers a reconcile for it).
pub const UNRESOLVED_RETRY: Duration = Duration::from_secs(30);

/// The status condition types this controller writes.
pub const CONDITION_APPLIED: &str = "PoliciesApplied";
/// See [`CONDITION_APPLIED`].
pub const CONDITION_READY: &str = "Ready";

/// A line for the log (stderr), without a timestamp.
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// Leader election through a Lease (see the module doc).
#[derive(Debug, Clone)]
pub struct LeaderElection {
    /// The Lease's name.
    pub name: String,
    /// The Lease's namespace.
    pub namespace: String,
    /// This process's identity: the pod's name in a pod, else
    /// `HOSTNAME_PID`.
    pub identity: String,
    /// How long a leader holds the Lease without renewing it (whole
    /// seconds, at least 2); it renews a third of it before it ends.
    pub lease_duration: Duration,
}

/// How the controller runs.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Server dry run (`--dry-run=server`) and `--force-conflicts`.
    pub apply: ApplyOptions,
    /// `--dry-run=client`: nothing is sent but the reads.
    pub client_dry_run: bool,
    /// Every graph is reconciled at least this often.
    pub resync: Duration,
    /// `None`: no leader election (`--leader-elect=false`, and dry runs).
    pub leader: Option<LeaderElection>,
    /// The CNI warning `check` gave at start, when it found that
    /// NetworkPolicy is not enforced: graphs are then `Ready=False`.
    pub not_enforced: Option<String>,
    /// Set once the controller has started (holding the Lease or waiting
    /// for it): the health endpoint's `/readyz`.
    pub started: Arc<std::sync::atomic::AtomicBool>,
}

impl WatchOptions {
    fn dry_run(&self) -> bool {
        self.client_dry_run || self.apply.dry_run
    }
}

/// The ServiceGraph API.
pub fn api_resource() -> ApiResource {
    ApiResource {
        group: graph::GROUP.into(),
        version: graph::VERSION.into(),
        api_version: graph::API_VERSION.into(),
        kind: graph::KIND.into(),
        plural: graph::PLURAL.into(),
    }
}

/// Reads the Lease again before a write: whether this process still
/// holds it (holder is us and the renewal is younger than its duration).
struct Fence {
    leases: Api<Lease>,
    election: LeaderElection,
}

impl Fence {
    async fn holds(&self) -> Result<bool, Error> {
        let lease = self
            .leases
            .get_opt(&self.election.name)
            .await
            .map_err(|e| {
                crate::source::live::request_error(
                    e,
                    &format!(
                        "cannot get lease {}/{}",
                        self.election.namespace, self.election.name
                    ),
                    None,
                )
            })?;
        let Some(spec) = lease.and_then(|l| l.spec) else {
            return Ok(false);
        };
        if spec.holder_identity.as_deref() != Some(self.election.identity.as_str()) {
            return Ok(false);
        }
        let seconds = i64::from(spec.lease_duration_seconds.unwrap_or(0));
        Ok(spec.renew_time.is_some_and(|t| {
            Timestamp::now().as_second() < t.0.as_second().saturating_add(seconds)
        }))
    }
}

struct Shared {
    live: Arc<Live>,
    graphs: Api<DynamicObject>,
    resource: ApiResource,
    options: WatchOptions,
    /// The client Events are sent with; `None` in a dry run.
    recorder: Option<kube::Client>,
    reporter: Reporter,
    fence: Option<Fence>,
    log: Log,
    /// What was last told per graph and topic (notes, a failure, a dry
    /// run's pending changes): told again only when it changes.
    told: Mutex<HashMap<(String, &'static str), Vec<String>>>,
    /// The last error of the watches, told once until they work again.
    watch_error: Mutex<Option<String>>,
}

impl Shared {
    fn log(&self, graph: &str, line: &str) {
        (self.log)(&format!("servicegraph/{graph}: {line}"));
    }

    /// Records `lines` as what was told of `graph` under `topic`: whether
    /// they differ from what was told last (so are to be told now).
    fn new_to_tell(&self, graph: &str, topic: &'static str, lines: &[String]) -> bool {
        self.told
            .lock()
            .map(|mut m| {
                m.insert((graph.to_string(), topic), lines.to_vec())
                    .as_deref()
                    != Some(lines)
            })
            .unwrap_or(true)
    }

    /// Forgets what was told of `graph` under `topic` (it no longer holds).
    fn forget(&self, graph: &str, topic: &'static str) {
        if let Ok(mut m) = self.told.lock() {
            m.remove(&(graph.to_string(), topic));
        }
    }

    /// Logs a watch's error once, until another error comes (a watch
    /// that fails again the same way is not told again; kube's watcher
    /// retries with a backoff).
    fn watch_failed(&self, error: String) {
        let Ok(mut last) = self.watch_error.lock() else {
            return;
        };
        if last.as_ref() != Some(&error) {
            (self.log)(&format!("error: {error} (retrying)"));
            *last = Some(error);
        }
    }
}

/// A failure worth trying again soon (see [`RETRY`]).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Transient(String);

/// What one reconcile found.
#[derive(Debug, Clone, PartialEq)]
enum Result_ {
    /// The cluster has the graph's policies (`n` of them); `wrote`: what
    /// this reconcile changed (one phrase per change), if anything.
    Synced { policies: usize, wrote: Vec<String> },
    /// A dry run: changes pending (never written).
    Pending,
    /// Not synced, for a reason that needs someone to act (the graph, a
    /// drift, a collision, a refusal): `reason` is the condition's.
    Failed {
        reason: &'static str,
        message: String,
    },
}

/// Checks that the ServiceGraph API is served and readable: kubectl's
/// words when the CRD is not installed or the list is refused.
pub async fn check_served(live: &Live) -> Result<(), Error> {
    let api: Api<DynamicObject> = Api::all_with(live.client(), &api_resource());
    match api.list_metadata(&ListParams::default().limit(1)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Err(Error::NotFound(format!(
            "the server doesn't have a resource type \"{}\": install the CRD first (kubectl apply -f deploy/crd.yaml)",
            graph::PLURAL
        ))),
        Err(e) => Err(crate::source::live::request_error(
            e,
            &format!("cannot list {} (cluster-scoped)", graph::PLURAL),
            live.user.as_deref(),
        )),
    }
}

/// Runs the controller until `shutdown` resolves (see the module doc):
/// waits for the Lease when electing, reconciles while it holds it,
/// releases it at the end. Errors only when it cannot start (the Lease
/// cannot be read or created); failures of one graph are in its status,
/// its Events and the log.
pub async fn run(
    live: Arc<Live>,
    options: WatchOptions,
    log: Log,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let client = live.client();
    let resource = api_resource();
    let graphs: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let recorder = (!options.dry_run()).then(|| client.clone());
    let reporter = Reporter {
        controller: "kubectl-netpol".into(),
        instance: options.leader.as_ref().map(|l| l.identity.clone()),
    };
    let fence = options.leader.clone().map(|election| Fence {
        leases: Api::namespaced(client.clone(), &election.namespace),
        election,
    });
    let shared = Arc::new(Shared {
        live: live.clone(),
        graphs: graphs.clone(),
        resource: resource.clone(),
        options: options.clone(),
        recorder,
        reporter,
        fence,
        log: log.clone(),
        told: Mutex::new(HashMap::new()),
        watch_error: Mutex::new(None),
    });
    // One signal, seen by every waiter.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let Some(election) = options.leader.clone() else {
        // No election: reconcile until shutdown.
        options
            .started
            .store(true, std::sync::atomic::Ordering::Relaxed);
        run_controller(shared, stop_signal(stop_rx.clone(), None)).await;
        log("stopped");
        return Ok(());
    };
    let manager = kube_lease_manager::LeaseManagerBuilder::new(client.clone(), &election.name)
        .with_namespace(&election.namespace)
        .with_identity(&election.identity)
        .with_duration(election.lease_duration.as_secs().max(2))
        .with_grace((election.lease_duration.as_secs() / 3).max(1))
        .build()
        .await
        .map_err(|e| lease_error(&election, e))?;
    let (mut leading, task) = manager.watch().await;
    options
        .started
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let lease = format!("lease {}/{}", election.namespace, election.name);
    let mut stop = stop_rx.clone();
    loop {
        log(&format!(
            "waiting to hold {lease} (identity {})",
            election.identity
        ));
        tokio::select! {
            r = leading.wait_for(|l| *l) => {
                if r.is_err() {
                    break;
                }
            }
            _ = stop.wait_for(|s| *s) => break,
        }
        log(&format!("holding {lease}: reconciling every ServiceGraph"));
        run_controller(
            shared.clone(),
            stop_signal(stop_rx.clone(), Some(leading.clone())),
        )
        .await;
        if *stop.borrow() {
            break;
        }
        log(&format!("lost {lease}: stopped reconciling"));
    }
    // Dropping the receiver makes the manager release the Lease (if held).
    let held = *leading.borrow();
    drop(leading);
    let released = tokio::time::timeout(Duration::from_secs(10), task).await;
    match (held, released) {
        (false, _) => log("stopped"),
        (true, Ok(Ok(Ok(_)))) => log(&format!("released {lease}; stopped")),
        (true, Ok(Ok(Err(e)))) => log(&format!("stopped; releasing {lease} failed: {e}")),
        (true, _) => log(&format!(
            "stopped; releasing {lease} did not finish (it runs out by itself)"
        )),
    }
    Ok(())
}

fn lease_error(election: &LeaderElection, e: kube_lease_manager::LeaseManagerError) -> Error {
    let action = format!(
        "cannot use lease {}/{} for leader election",
        election.namespace, election.name
    );
    let why = match e {
        kube_lease_manager::LeaseManagerError::KubeError(k) => {
            crate::source::live::request_error(k, &action, None).to_string()
        }
        other => format!("{action}: {other}"),
    };
    Error::Api(format!(
        "{why} (the controller needs get, create and patch on leases in namespace {:?}: see deploy/rbac.yaml; or run with --leader-elect=false)",
        election.namespace
    ))
}

/// Resolves on shutdown, or when the Lease is lost.
fn stop_signal(
    mut stop: tokio::sync::watch::Receiver<bool>,
    leading: Option<tokio::sync::watch::Receiver<bool>>,
) -> futures::channel::oneshot::Receiver<()> {
    // Controller::graceful_shutdown_on wants a Sync future: a oneshot
    // receiver, fired by a task watching both.
    let (tx, rx) = futures::channel::oneshot::channel();
    tokio::spawn(async move {
        match leading {
            Some(mut l) => {
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => {}
                    _ = l.wait_for(|l| !*l) => {}
                }
            }
            None => {
                let _ = stop.wait_for(|s| *s).await;
            }
        }
        let _ = tx.send(());
    });
    rx
}

async fn run_controller(shared: Arc<Shared>, until: futures::channel::oneshot::Receiver<()>) {
    let policies: Api<NetworkPolicy> = Api::all(shared.live.client());
    let managed = format!("{}={}", graph::MANAGED_BY_LABEL, graph::MANAGED_BY);
    let resource = shared.resource.clone();
    Controller::new_with(
        shared.graphs.clone(),
        watcher::Config::default(),
        shared.resource.clone(),
    )
    // Each managed policy triggers its graph's reconcile, named by its
    // graph label. (Not `owns`: it looks the owner up in the policy's
    // namespace, and a ServiceGraph has none, so one graph would be
    // reconciled as several objects at once.)
    .watches_with(
        policies,
        (),
        watcher::Config::default().labels(&managed),
        move |np: NetworkPolicy| {
            np.labels()
                .get(graph::GRAPH_LABEL)
                .map(|g| ObjectRef::new_with(g, resource.clone()))
        },
    )
    // One reconcile at a time: two graphs that would write a policy of
    // the same name never race (the second sees the first's and reports
    // a collision); reconciles take milliseconds.
    .with_config(kube::runtime::controller::Config::default().concurrency(1))
    .graceful_shutdown_on(async move {
        let _ = until.await;
    })
    .run(reconcile, error_policy, shared.clone())
    .for_each(|r| {
        let shared = shared.clone();
        async move {
            use kube::runtime::controller::Error as E;
            match r {
                Ok(_) => {}
                Err(E::ObjectNotFound(_)) => {}
                Err(E::ReconcilerFailed(e, o)) => {
                    let line = format!("error: {e} (trying again in {}s)", RETRY.as_secs());
                    if shared.new_to_tell(&o.name, "transient", std::slice::from_ref(&line)) {
                        shared.log(&o.name, &line);
                    }
                }
                Err(E::QueueError(e)) => {
                    if let Some(p) = watch_problem(&e) {
                        shared.watch_failed(p);
                    }
                }
                Err(e) => shared.watch_failed(watch_error(&e)),
            }
        }
    })
    .await;
}

/// What a watch's failure means, in words; `None` for what the watcher
/// handles by itself (a watch too old to resume: 410 Gone, relisted).
fn watch_problem(e: &watcher::Error) -> Option<String> {
    let (what, inner) = match e {
        watcher::Error::WatchError(s) if s.code == 410 => return None,
        watcher::Error::WatchError(s) => {
            return Some(format!("a watch ended: {} ({})", s.message, s.reason));
        }
        watcher::Error::InitialListFailed(k) => ("cannot list", k),
        watcher::Error::WatchStartFailed(k) => ("cannot watch", k),
        watcher::Error::WatchFailed(k) => ("a watch failed", k),
        watcher::Error::NoResourceVersion => {
            return Some("a watch answer had no resourceVersion".into());
        }
    };
    Some(match inner {
        kube::Error::Api(s) if s.code == 404 => format!(
            "{what} servicegraphs or networkpolicies: not found ({}); is the ServiceGraph CRD installed? (kubectl apply -f deploy/crd.yaml)",
            s.message
        ),
        kube::Error::Api(s) => format!("{what}: {} ({}, {})", s.message, s.reason, s.code),
        k => format!("{what}: {}", watch_error(k)),
    })
}

fn watch_error(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

fn error_policy(_: Arc<DynamicObject>, _: &Transient, _: Arc<Shared>) -> Requeue {
    Requeue::requeue(RETRY)
}

async fn reconcile(object: Arc<DynamicObject>, shared: Arc<Shared>) -> Result<Requeue, Transient> {
    let name = object.name_any();
    if object.metadata.deletion_timestamp.is_some() {
        // The garbage collector deletes its policies.
        return Ok(Requeue::await_change());
    }
    let mut value = serde_json::to_value(&*object).map_err(|e| Transient(e.to_string()))?;
    value["apiVersion"] = json!(graph::API_VERSION);
    value["kind"] = json!(graph::KIND);
    let (result, existing) = match graph::parse(&value) {
        Ok(g) => {
            let mut existing = None;
            let result = sync_one(&shared, &g, &mut existing).await?;
            (result, existing)
        }
        Err(e) => (
            Result_::Failed {
                reason: "InvalidGraph",
                message: e.to_string(),
            },
            None,
        ),
    };
    // A failure is told (log; Event) once, until it changes or passes.
    let new_failure = match &result {
        Result_::Failed { message, .. } => {
            shared.new_to_tell(&name, "failure", std::slice::from_ref(message))
        }
        _ => {
            shared.forget(&name, "failure");
            false
        }
    };
    if let (true, Result_::Failed { message, .. }) = (new_failure, &result) {
        shared.log(&name, &format!("error: {message}"));
    }
    let requeue = match &result {
        // The workload may be about to be created; the policy in the way
        // may go with its graph (nothing else would trigger these).
        Result_::Failed {
            reason: "Unresolved" | "Collision" | "Refused",
            ..
        } => shared.options.resync.min(UNRESOLVED_RETRY),
        // Reads and writes that failed may pass by themselves.
        Result_::Failed {
            reason: "ReadFailed" | "ApplyFailed",
            ..
        } => shared.options.resync.min(RETRY),
        _ => shared.options.resync,
    };
    if !shared.options.dry_run() {
        report(&shared, &object, &name, &result, existing, new_failure).await?;
    }
    Ok(Requeue::requeue(requeue))
}

/// One graph: observe, plan, check, dry run, write (the steps of `sync`);
/// `existing` gets the number of policies labelled as the graph's that
/// were found (left `None` when they could not be read).
async fn sync_one(
    shared: &Shared,
    graph: &ServiceGraph,
    existing: &mut Option<usize>,
) -> Result<Result_, Transient> {
    let live = &shared.live;
    let name = graph.name();
    let observed = match super::observe(live, graph).await {
        Ok(o) => o,
        Err(e) => {
            return Ok(Result_::Failed {
                reason: "ReadFailed",
                message: format!("cannot read what the graph needs: {e}"),
            });
        }
    };
    *existing = Some(
        observed
            .policies
            .iter()
            .filter(|p| super::plan::managed_by(p, name))
            .count(),
    );
    let env = observed.environment();
    let (plan, said) = match super::plan(&observed, graph, &env) {
        Ok(p) => p,
        Err(e) => {
            return Ok(Result_::Failed {
                reason: "Unresolved",
                message: e.to_string(),
            });
        }
    };
    // Notes once, until they change.
    let notes: Vec<String> = observed
        .notes
        .iter()
        .map(|n| format!("note: {n}"))
        .chain(said)
        .collect();
    if shared.new_to_tell(name, "notes", &notes) {
        for n in &notes {
            shared.log(name, n);
        }
    }
    let desired = plan.unchanged.len()
        + plan
            .changes
            .iter()
            .filter(|c| c.action != Action::Delete)
            .count();
    let options = shared.options.apply;
    let problems = apply::check(&plan, &options);
    if !problems.is_empty() {
        let drift = plan.collisions.is_empty();
        return Ok(Result_::Failed {
            reason: if drift { "Drift" } else { "Collision" },
            message: problem_text(&plan, &problems, drift),
        });
    }
    if plan.is_empty() {
        shared.forget(name, "pending");
        return Ok(Result_::Synced {
            policies: desired,
            wrote: Vec::new(),
        });
    }
    // A dry run tells each set of pending changes once.
    let pending = |how: &str| {
        let lines: Vec<String> = plan
            .changes
            .iter()
            .map(|c| {
                format!(
                    "networkpolicy.networking.k8s.io/{} {} in namespace {} ({how}) ({})",
                    c.name,
                    c.action.done(),
                    c.namespace,
                    c.summary
                )
            })
            .collect();
        if shared.new_to_tell(name, "pending", &lines) {
            for l in &lines {
                shared.log(name, l);
            }
        }
    };
    if shared.options.client_dry_run {
        pending("client dry run");
        return Ok(Result_::Pending);
    }
    if let Some(fence) = &shared.fence
        && !fence.holds().await.map_err(|e| Transient(e.to_string()))?
    {
        return Err(Transient(
            "this process no longer holds the lease: nothing was written".into(),
        ));
    }
    let checked = apply::dry_run(live, &plan, &options).await;
    if !checked.refused.is_empty() {
        return Ok(Result_::Failed {
            reason: "Refused",
            message: format!(
                "the API server refused {} of the plan's requests in a dry run, before any write; nothing was changed: {}",
                checked.refused.len(),
                checked.refused.join("; ")
            ),
        });
    }
    if options.dry_run {
        pending("server dry run");
        return Ok(Result_::Pending);
    }
    let mut wrote = Vec::new();
    let report = {
        let mut progress = |i: usize, o: &Outcome| {
            if let Outcome::Done = o {
                let c = &plan.changes[i];
                shared.log(
                    name,
                    &format!(
                        "networkpolicy.networking.k8s.io/{} {} in namespace {} ({})",
                        c.name,
                        c.action.done(),
                        c.namespace,
                        c.summary
                    ),
                );
                wrote.push(format!("{} {}/{}", c.action.done(), c.namespace, c.name));
            }
        };
        apply::write(live, &plan, &options, &mut progress).await
    };
    if report.complete() {
        return Ok(Result_::Synced {
            policies: desired,
            wrote,
        });
    }
    let failed = plan
        .changes
        .iter()
        .zip(&report.outcomes)
        .find_map(|(c, o)| match o {
            Outcome::Refused(e) => Some(format!(
                "networkpolicy.networking.k8s.io/{} in namespace {:?} was not {}: the server refused it: {e}",
                c.name,
                c.namespace,
                c.action.done()
            )),
            Outcome::Unknown(e) => Some(format!(
                "networkpolicy.networking.k8s.io/{} in namespace {:?}: the request was sent and no answer came ({e}): it may have been {}",
                c.name,
                c.namespace,
                c.action.done()
            )),
            _ => None,
        })
        .unwrap_or_else(|| "a write failed".into());
    let written = if wrote.is_empty() {
        "nothing was written before it".to_string()
    } else {
        format!("written before it: {}", wrote.join(", "))
    };
    Ok(Result_::Failed {
        reason: "ApplyFailed",
        message: format!("{failed}; {written}"),
    })
}

fn problem_text(plan: &Plan, problems: &[String], drift: bool) -> String {
    let mut text = if drift {
        let n = plan.drifted().count();
        format!(
            "{n} polic{} edited since kubectl-netpol applied {} (drift); nothing was changed: {}",
            if n == 1 { "y was" } else { "ies were" },
            if n == 1 { "it" } else { "them" },
            problems.join("; ")
        )
    } else {
        format!(
            "the graph cannot be synced; nothing was changed: {}",
            problems.join("; ")
        )
    };
    if drift {
        text.push_str(
            ". To restore them as the graph says, run the controller with --force-conflicts; to keep them, put the change in the graph",
        );
    }
    text
}

/// One condition as the API's `metav1.Condition`.
fn condition(
    kind: &str,
    ok: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    old: Option<&Value>,
) -> Value {
    let status = if ok { "True" } else { "False" };
    // The transition time moves only when the status does.
    let since = old
        .filter(|c| c["status"] == status)
        .and_then(|c| c["lastTransitionTime"].as_str().map(str::to_string))
        .unwrap_or_else(|| {
            Timestamp::now()
                .round(jiff_second())
                .unwrap_or(Timestamp::now())
                .to_string()
        });
    let mut c = json!({
        "type": kind,
        "status": status,
        "reason": reason,
        "message": truncate(message, 32_768),
        "lastTransitionTime": since,
    });
    if let Some(g) = generation {
        c["observedGeneration"] = json!(g);
    }
    c
}

fn jiff_second() -> k8s_openapi::jiff::Unit {
    k8s_openapi::jiff::Unit::Second
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// The status for `result` (see the module doc), given the current one.
fn status(
    result: &Result_,
    generation: Option<i64>,
    old: &Value,
    not_enforced: Option<&str>,
    existing: Option<usize>,
) -> Value {
    let find = |kind: &str| {
        old["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
    };
    let (applied, ready, policies, error) = match result {
        Result_::Synced { policies, .. } => {
            let n = *policies;
            let message = format!(
                "the {n} NetworkPolic{} the graph implies {} as it says",
                if n == 1 { "y" } else { "ies" },
                if n == 1 { "is" } else { "are" }
            );
            let applied = condition(
                CONDITION_APPLIED,
                true,
                "Applied",
                &message,
                generation,
                find(CONDITION_APPLIED),
            );
            let ready = match not_enforced {
                Some(w) => condition(
                    CONDITION_READY,
                    false,
                    "NotEnforced",
                    w.trim_start_matches("warning: "),
                    generation,
                    find(CONDITION_READY),
                ),
                None => condition(
                    CONDITION_READY,
                    true,
                    "Synced",
                    &message,
                    generation,
                    find(CONDITION_READY),
                ),
            };
            (applied, ready, json!(n), Value::Null)
        }
        Result_::Failed { reason, message } => (
            condition(
                CONDITION_APPLIED,
                false,
                reason,
                message,
                generation,
                find(CONDITION_APPLIED),
            ),
            condition(
                CONDITION_READY,
                false,
                reason,
                message,
                generation,
                find(CONDITION_READY),
            ),
            existing.map_or(Value::Null, |n| json!(n)),
            json!(truncate(message, 32_768)),
        ),
        Result_::Pending => return old.clone(),
    };
    let mut s = json!({
        "conditions": [ready, applied],
        "lastError": error,
    });
    if let Some(g) = generation {
        s["observedGeneration"] = json!(g);
    }
    // null (unknown) removes it in the merge patch.
    s["policies"] = policies;
    s
}

/// Whether two statuses say the same (nulls are absent fields).
fn same_status(a: &Value, b: &Value) -> bool {
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), strip(v)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
            v => v.clone(),
        }
    }
    strip(a) == strip(b)
}

/// Writes the status when it changed, and the Events: what was written,
/// and each new failure (a failure already in the status is not told
/// again at every resync).
async fn report(
    shared: &Shared,
    object: &DynamicObject,
    name: &str,
    result: &Result_,
    existing: Option<usize>,
    new_failure: bool,
) -> Result<(), Transient> {
    let old = object.data.get("status").cloned().unwrap_or(json!({}));
    let new = status(
        result,
        object.metadata.generation,
        &old,
        shared.options.not_enforced.as_deref(),
        existing,
    );
    // A new leader does not repeat the Event of a failure the status
    // already tells.
    let told_before = old.get("lastError").and_then(Value::as_str)
        == new.get("lastError").and_then(Value::as_str);
    let new_failure = new_failure && !told_before;
    // The Event first: a status write that fails must not lose it.
    if let Some(client) = &shared.recorder {
        publish(shared, client, object, name, result, new_failure).await;
    }
    if !same_status(&old, &new) {
        let patch = json!({ "status": new });
        shared
            .graphs
            .patch_status(
                name,
                &PatchParams::apply(FIELD_MANAGER),
                &Patch::Merge(&patch),
            )
            .await
            .map_err(|e| {
                Transient(
                    crate::source::live::request_error(
                        e,
                        &format!("cannot patch the status of servicegraph {name:?}"),
                        shared.live.user.as_deref(),
                    )
                    .to_string(),
                )
            })?;
    }
    Ok(())
}

/// The Event of a reconcile (see [`report`]): what was written, or a new
/// failure.
async fn publish(
    shared: &Shared,
    client: &kube::Client,
    object: &DynamicObject,
    name: &str,
    result: &Result_,
    new_failure: bool,
) {
    // A recorder per Event: kube's merges Events of the same reason into
    // one series that keeps the first note, which would hide what changed.
    let recorder = Recorder::new(client.clone(), shared.reporter.clone());
    let event = match result {
        Result_::Synced { wrote, .. } if !wrote.is_empty() => Some(Event {
            type_: EventType::Normal,
            reason: "Synced".into(),
            note: Some(truncate(
                &format!(
                    "{} NetworkPolicy change{}: {}",
                    wrote.len(),
                    if wrote.len() == 1 { "" } else { "s" },
                    wrote.join(", ")
                ),
                1000,
            )),
            action: "Sync".into(),
            secondary: None,
        }),
        Result_::Failed { reason, message } if new_failure => Some(Event {
            type_: EventType::Warning,
            reason: (*reason).into(),
            note: Some(truncate(message, 1000)),
            action: "Sync".into(),
            secondary: None,
        }),
        _ => None,
    };
    if let Some(e) = event {
        let reference = object.object_ref(&shared.resource);
        if let Err(err) = recorder.publish(&e, &reference).await {
            shared.log(name, &format!("warning: cannot record an event: {err}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(reason: &'static str, message: &str) -> Result_ {
        Result_::Failed {
            reason,
            message: message.into(),
        }
    }

    #[test]
    fn a_synced_graph_is_ready_and_applied() {
        let s = status(
            &Result_::Synced {
                policies: 3,
                wrote: vec![],
            },
            Some(4),
            &json!({}),
            None,
            None,
        );
        assert_eq!(s["policies"], 3);
        assert_eq!(s["observedGeneration"], 4);
        let cs = s["conditions"].as_array().unwrap();
        assert_eq!(cs[0]["type"], "Ready");
        assert_eq!(cs[0]["status"], "True");
        assert_eq!(cs[1]["type"], "PoliciesApplied");
        assert_eq!(cs[1]["reason"], "Applied");
        assert_eq!(
            cs[1]["message"],
            "the 3 NetworkPolicies the graph implies are as it says"
        );
        assert!(s["lastError"].is_null());
    }

    #[test]
    fn the_same_result_gives_the_same_status_so_nothing_is_written() {
        let r = Result_::Synced {
            policies: 1,
            wrote: vec!["created a/b".into()],
        };
        let first = status(&r, Some(1), &json!({}), None, None);
        let again = status(&r, Some(1), &first, None, None);
        assert!(same_status(&first, &again), "{first} vs {again}");
        // A failure later moves both conditions; the count is the
        // policies found (unknown: none said).
        let f = status(&failed("Drift", "edited"), Some(1), &first, None, Some(1));
        assert!(!same_status(&first, &f));
        assert_eq!(f["policies"], 1);
        assert_eq!(f["lastError"], "edited");
        assert_eq!(f["conditions"][0]["status"], "False");
        assert_eq!(f["conditions"][0]["reason"], "Drift");
        let unknown = status(&failed("ReadFailed", "x"), Some(1), &first, None, None);
        assert!(unknown["policies"].is_null(), "{unknown}");
        assert!(!same_status(&first, &unknown));
    }

    #[test]
    fn the_transition_time_moves_only_with_the_status() {
        let old = json!({"conditions": [
            {"type": "Ready", "status": "False", "reason": "Drift", "message": "x", "lastTransitionTime": "2020-01-01T00:00:00Z"},
            {"type": "PoliciesApplied", "status": "False", "reason": "Drift", "message": "x", "lastTransitionTime": "2020-01-01T00:00:00Z"}
        ]});
        let same = status(&failed("Refused", "y"), None, &old, None, None);
        assert_eq!(
            same["conditions"][0]["lastTransitionTime"],
            "2020-01-01T00:00:00Z"
        );
        let flipped = status(
            &Result_::Synced {
                policies: 0,
                wrote: vec![],
            },
            None,
            &old,
            None,
            None,
        );
        assert_ne!(
            flipped["conditions"][0]["lastTransitionTime"],
            "2020-01-01T00:00:00Z"
        );
    }

    #[test]
    fn a_cni_that_enforces_nothing_leaves_applied_policies_not_ready() {
        let s = status(
            &Result_::Synced {
                policies: 2,
                wrote: vec![],
            },
            Some(1),
            &json!({}),
            Some("warning: flannel does not enforce NetworkPolicy"),
            None,
        );
        assert_eq!(s["conditions"][0]["status"], "False");
        assert_eq!(s["conditions"][0]["reason"], "NotEnforced");
        assert_eq!(
            s["conditions"][0]["message"],
            "flannel does not enforce NetworkPolicy"
        );
        assert_eq!(s["conditions"][1]["status"], "True");
    }

    #[test]
    fn a_dry_run_leaves_the_status_as_it_was() {
        let old = json!({"policies": 5});
        assert_eq!(status(&Result_::Pending, Some(2), &old, None, None), old);
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let t = truncate(&"é".repeat(10), 7);
        assert!(t.ends_with("..."));
        assert!(t.len() <= 7);
    }
}
