//! `sync -f GRAPH`: the cluster made to match one ServiceGraph, through
//! the `sync` library (observe, plan, apply). This file only talks to the
//! user: the plan and the connectivity it changes on stderr, the yes that
//! names the target, one log line per change, the exit code.
//!
//! Everything the plan is checked against comes before the question:
//! collisions and drift (without `--force-conflicts`) end the run with
//! nothing sent; the server's dry runs of every request come before the
//! first write (in `sync::apply`), so a refusal by RBAC, validation or a
//! conflict leaves the cluster as it was.

use std::io::IsTerminal;

use crate::cli::SyncArgs;
use crate::cmd::{Context, Outcome};
use crate::engine::Model;
use crate::engine::graph::ServiceGraph;
use crate::error::{Error, exit};
use crate::render::clean;
use crate::sync::{self, Action, ApplyOptions, Change, Observed, Plan, Report};
use crate::wizard::prompt::{Cancelled, Prompter};

/// How many connectivity lines the plan shows before "... and N more".
const CONNECTIVITY_LINES: usize = 20;
/// How many differences of one update the plan shows.
const DIFFERENCE_LINES: usize = 8;

/// What Ctrl-C says; updated as writes are made.
static ON_INTERRUPT: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

fn on_interrupt(message: impl Into<String>) {
    if let Ok(mut m) = ON_INTERRUPT.lock() {
        *m = message.into();
    }
}

fn install_interrupt_handler() {
    on_interrupt("cancelled: nothing was changed");
    let _ = ctrlc::set_handler(|| {
        let _ = dialoguer::console::Term::stderr().show_cursor();
        let message = ON_INTERRUPT
            .lock()
            .map(|m| m.clone())
            .unwrap_or_else(|_| String::from("interrupted"));
        crate::say_err!("\nerror: {message}");
        std::process::exit(exit::CANCELLED);
    });
}

/// The `note:` and `warning:` lines said so far, for `-o json|yaml`.
static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn say(line: &str) {
    if (line.starts_with("note: ") || line.starts_with("warning: "))
        && let Ok(mut said) = SAID.lock()
    {
        said.push(clean(line));
    }
    crate::say_err!("{}", clean(line));
}

/// `networkpolicy.networking.k8s.io/NAME`.
fn resource(c: &Change) -> String {
    format!("networkpolicy.networking.k8s.io/{}", c.name)
}

/// Whether the stored graph's spec says what `graph`'s does (decoded the
/// same way, so defaults and field order do not count).
fn same_graph_spec(graph: &ServiceGraph, stored_spec: &serde_json::Value) -> bool {
    let value = serde_json::json!({
        "apiVersion": crate::engine::graph::API_VERSION,
        "kind": crate::engine::graph::KIND,
        "metadata": {"name": graph.name()},
        "spec": stored_spec,
    });
    crate::engine::graph::parse(&value).is_ok_and(|g| g.spec == graph.spec)
}

/// The one graph of `-f`.
fn the_graph(ctx: &Context) -> Result<ServiceGraph, Error> {
    let manifests = ctx.manifests()?;
    let mut graphs = super::generate::graphs(manifests.graphs())?;
    if graphs.len() > 1 {
        let names: Vec<String> = graphs.iter().map(|g| format!("{:?}", g.name())).collect();
        return Err(Error::Usage(format!(
            "sync takes one ServiceGraph at a time, and -f holds {}: {} (give each its own -f and run sync once per graph)",
            graphs.len(),
            names.join(", ")
        )));
    }
    let graph = graphs.remove(0);
    let others = {
        let s = manifests.snapshot();
        s.pods.len() + s.policies.len()
    };
    if others > 0 {
        say(
            "warning: sync reads only the ServiceGraph from -f: the other objects given are left out (the graph is resolved against the cluster)",
        );
    }
    Ok(graph)
}

/// Refuses a run that would write with no way to say yes: no `--yes`, no
/// dry run, and no terminal to ask on; `how` says what to do instead.
fn yes_possible(args: &SyncArgs, how: &str) -> Result<(), Error> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if args.dry_run.is_none() && !args.yes && !interactive {
        return Err(Error::Usage(format!(
            "refusing to change the cluster without a yes: {how}"
        )));
    }
    Ok(())
}

pub fn run(ctx: &Context, args: &SyncArgs) -> Result<Outcome, Error> {
    if args.watch {
        return watch(ctx, args);
    }
    let client_only = args.dry_run.as_deref() == Some("client");
    yes_possible(
        args,
        "add --yes (or run on a terminal to be asked, or --dry-run=server|client to see the plan)",
    )?;
    let mut graph = the_graph(ctx)?;
    let live = ctx.cluster()?;
    let target = live.target();
    let out = Document {
        format: ctx.format(),
        target: target.clone(),
        dry_run: args.dry_run.clone(),
    };
    install_interrupt_handler();
    // What the graph needs, and the CNI check for the reminder.
    let (observed, evidence, stored) = ctx.block_on(live.bounded(async {
        let (observed, evidence, stored) = tokio::join!(
            sync::observe(&live, &graph),
            live.evidence(true),
            sync::observe::stored_graph(&live, graph.name())
        );
        Ok((observed?, evidence, stored?))
    }))?;
    // The owner: the stored graph, never a uid from a file that may name
    // a deleted one.
    let (uid, owner_notes) = sync::observe::owner_uid(
        &stored,
        graph.metadata.uid.as_deref(),
        graph.name(),
        &observed.policies,
    );
    graph.metadata.uid = uid;
    for n in &owner_notes {
        say(&format!("note: {n}"));
    }
    if let sync::observe::Stored::Found { spec, .. } = &stored
        && !same_graph_spec(&graph, spec)
    {
        say(&format!(
            "warning: ServiceGraph {:?} is stored in the cluster with another spec than the file's: this run applies the file's, and a controller (sync --watch) would put the stored one back (kubectl apply -f the file to change the stored graph)",
            graph.name()
        ));
    }
    let env = observed.environment();
    let (plan, said) = sync::plan(&observed, &graph, &env)?;
    for n in &observed.notes {
        say(&format!("note: {n}"));
    }
    for line in &said {
        say(line);
    }
    say(&format!("ServiceGraph {:?} in {target}:", graph.name()));
    if plan.is_empty() {
        say(&format!(
            "nothing to do: the {} polic{} the graph implies {} as it says",
            plan.unchanged.len(),
            if plan.unchanged.len() == 1 {
                "y"
            } else {
                "ies"
            },
            if plan.unchanged.len() == 1 {
                "is"
            } else {
                "are"
            }
        ));
        if let Some(w) = crate::cmd::warning_from(evidence) {
            say(&w);
        }
        return Ok(out.done(&plan, &[], None, exit::OK));
    }
    for line in plan_lines(&plan) {
        say(&line);
    }
    for line in connectivity_lines(&observed, &plan) {
        say(&line);
    }
    // Once, before anything is written: the policies may not be enforced.
    if let Some(w) = crate::cmd::warning_from(evidence) {
        say(&w);
    }
    let options = ApplyOptions {
        dry_run: args.dry_run.as_deref() == Some("server"),
        force_conflicts: args.force_conflicts,
    };
    let problems = sync::apply::check(&plan, &options);
    if !problems.is_empty() {
        let e = refusal(&plan, &problems, true);
        out.print(&plan, &[], Some(&e));
        return Err(e);
    }
    if client_only {
        say("client dry run: nothing was sent");
        return Ok(out.done(&plan, &[], None, exit::PENDING));
    }
    // Every request checked by the server before the question and the
    // first write: RBAC, validation, conflicts, fields others keep.
    let checked =
        ctx.block_on(live.bounded(async { Ok(sync::dry_run(&live, &plan, &options).await) }))?;
    if !checked.refused.is_empty() {
        let e = refusal(&plan, &checked.refused, false);
        out.print(&plan, &checked.outcomes, Some(&e));
        return Err(e);
    }
    if options.dry_run {
        for c in &plan.changes {
            say(&format!(
                "{} {} (server dry run) ({})",
                resource(c),
                c.action.done(),
                c.summary
            ));
        }
        return Ok(out.done(&plan, &checked.outcomes, None, exit::PENDING));
    }
    let n = plan.changes.len();
    let changes = format!("{n} change{}", if n == 1 { "" } else { "s" });
    if args.yes {
        say(&format!(
            "applying {changes} to the policies of ServiceGraph {:?} in {target}",
            graph.name()
        ));
    } else {
        let question = format!(
            "Apply {changes} to the policies of ServiceGraph {:?} in {target}?",
            graph.name()
        );
        match Prompter::new(ctx.palette.enabled()).confirm(&question, false) {
            Ok(true) => {}
            Ok(false) | Err(Cancelled) => {
                // dialoguer hides the cursor while it asks.
                let _ = dialoguer::console::Term::stderr().show_cursor();
                say("error: cancelled: nothing was changed");
                return Ok(out.done(&plan, &[], None, exit::CANCELLED));
            }
        }
    }
    let selector = sync::plan::selector(&plan.graph);
    on_interrupt(format!(
        "interrupted while sync was writing (the first request may have been made): check with kubectl get networkpolicies -A -l {selector}"
    ));
    let report = ctx.block_on(async {
        let mut written: Vec<String> = Vec::new();
        let mut progress = |i: usize, o: &sync::Outcome| {
            let c = &plan.changes[i];
            if let sync::Outcome::Done = o {
                say(&format!("{} {} ({})", resource(c), c.action.done(), c.summary));
                written.push(format!("{} {} in {}", resource(c), c.action.done(), c.namespace));
                on_interrupt(format!(
                    "interrupted while sync was writing: made so far: {}; check with kubectl get networkpolicies -A -l {selector}",
                    written.join(", ")
                ));
            }
        };
        Ok(sync::write(&live, &plan, &options, &mut progress).await)
    })?;
    on_interrupt("interrupted");
    match finish(&plan, &report) {
        Ok(o) => Ok(out.done(&plan, &report.outcomes, None, o.code)),
        Err(e) => {
            out.print(&plan, &report.outcomes, Some(&e));
            Err(e)
        }
    }
}

/// `-o json|yaml`: one document on stdout for scripts, whatever the end
/// (also before an error line): the graph, the target, the dry run, each
/// change with its outcome, the unchanged policies, collisions, counts.
struct Document {
    format: crate::cli::OutputFormat,
    target: String,
    dry_run: Option<String>,
}

impl Document {
    fn value(
        &self,
        plan: &Plan,
        outcomes: &[sync::Outcome],
        error: Option<&Error>,
    ) -> serde_json::Value {
        use serde_json::json;
        let changes: Vec<serde_json::Value> = plan
            .changes
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let outcome = match outcomes.get(i) {
                    None => "pending".to_string(),
                    Some(sync::Outcome::Done) if self.dry_run.is_some() => {
                        "accepted by the server's dry run".to_string()
                    }
                    Some(sync::Outcome::Done) => c.action.done().to_string(),
                    Some(sync::Outcome::NotSent) => "not sent".to_string(),
                    Some(sync::Outcome::Refused(e)) => format!("refused: {e}"),
                    Some(sync::Outcome::Unknown(e)) => {
                        format!("sent without an answer (it may have been made): {e}")
                    }
                };
                json!({
                    "action": c.action.as_str(),
                    "namespace": c.namespace,
                    "name": c.name,
                    "summary": c.summary,
                    "before": c.before,
                    "differences": c.differences,
                    "drift": c.drift.as_ref().map(|_| sync::apply::drift_text(c)),
                    "outcome": outcome,
                })
            })
            .collect();
        let [create, update, delete] = plan.counts();
        json!({
            "graph": plan.graph,
            "target": self.target,
            "dryRun": self.dry_run.as_deref().unwrap_or("none"),
            "changes": changes,
            "unchanged": plan.unchanged,
            "collisions": plan.collisions.iter().map(|c| json!({
                "namespace": c.namespace,
                "name": c.name,
                "owner": c.owner,
            })).collect::<Vec<_>>(),
            "counts": {"create": create, "update": update, "delete": delete, "unchanged": plan.unchanged.len()},
            "notes": SAID.lock().map(|s| s.clone()).unwrap_or_default(),
            "error": error.map(|e| e.to_string()),
        })
    }

    fn render(&self, plan: &Plan, outcomes: &[sync::Outcome], error: Option<&Error>) -> String {
        use crate::cli::OutputFormat;
        let v = self.value(plan, outcomes, error);
        match self.format {
            OutputFormat::Json => crate::render::to_json(&v),
            OutputFormat::Yaml => crate::render::to_yaml(&v),
            _ => String::new(),
        }
    }

    /// Prints the document now (before an error line).
    fn print(&self, plan: &Plan, outcomes: &[sync::Outcome], error: Option<&Error>) {
        use std::io::Write;
        let text = self.render(plan, outcomes, error);
        if !text.is_empty() {
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(text.as_bytes());
            let _ = o.flush();
        }
    }

    /// The outcome with the document as its stdout.
    fn done(
        &self,
        plan: &Plan,
        outcomes: &[sync::Outcome],
        error: Option<&Error>,
        code: i32,
    ) -> Outcome {
        Outcome {
            stdout: self.render(plan, outcomes, error),
            warnings: Vec::new(),
            code,
        }
    }
}

fn done(code: i32) -> Outcome {
    Outcome {
        stdout: String::new(),
        warnings: Vec::new(),
        code,
    }
}

/// The error for checks that failed before any write: the problems, and
/// that nothing was changed.
fn refusal(plan: &Plan, problems: &[String], before_requests: bool) -> Error {
    let drifted = plan.drifted().count();
    let mut text = if before_requests && drifted > 0 && plan.collisions.is_empty() {
        format!(
            "{drifted} polic{} of ServiceGraph {:?} {} edited since sync applied {} (drift); nothing was changed:",
            if drifted == 1 { "y" } else { "ies" },
            plan.graph,
            if drifted == 1 { "was" } else { "were" },
            if drifted == 1 { "it" } else { "them" }
        )
    } else if before_requests {
        format!(
            "ServiceGraph {:?} cannot be synced; nothing was changed:",
            plan.graph
        )
    } else {
        format!(
            "the API server refused {} of the plan's requests in a dry run, before any write; nothing was changed:",
            problems.len()
        )
    };
    for p in problems {
        text.push_str(&format!("\n  * {p}"));
    }
    if before_requests && drifted > 0 {
        text.push_str("\nPlease review the fields above--they currently have other managers or were changed by hand. To restore them as the graph says, run again with --force-conflicts (as kubectl apply --server-side --force-conflicts); to keep them, put the change in the graph.");
    }
    Error::Api(text)
}

/// The plan, one line per change and its details, then the counts.
pub fn plan_lines(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for c in &plan.changes {
        let sign = match c.action {
            Action::Create => '+',
            Action::Update => '~',
            Action::Delete => '-',
        };
        out.push(format!(
            "  {sign} {} {} ({})",
            c.action.as_str(),
            resource(c),
            c.summary
        ));
        if let Some(before) = &c.before {
            out.push(format!("      was: {before}"));
        }
        for d in c.differences.iter().take(DIFFERENCE_LINES) {
            out.push(format!("      {d}"));
        }
        if c.differences.len() > DIFFERENCE_LINES {
            out.push(format!(
                "      ... and {} more differences",
                c.differences.len() - DIFFERENCE_LINES
            ));
        }
        if c.drift.is_some() {
            out.push(format!("      drift: {}", sync::apply::drift_text(c)));
        }
    }
    for c in &plan.collisions {
        out.push(format!(
            "  ! networkpolicy.networking.k8s.io/{} in namespace {:?} belongs to {}: not changed",
            c.name, c.namespace, c.owner
        ));
    }
    let [create, update, delete] = plan.counts();
    out.push(format!(
        "{create} to create, {update} to update, {delete} to delete, {} unchanged",
        plan.unchanged.len()
    ));
    out
}

/// The connections the plan opens and closes among the pods read (the
/// same engine and words as `kubectl netpol diff`).
fn connectivity_lines(observed: &Observed, plan: &Plan) -> Vec<String> {
    let before = &observed.snapshot;
    if before.pods.is_empty() {
        return vec!["connectivity: no pod of the namespaces read to compare".to_string()];
    }
    let after = sync::applied(before, plan);
    let d = crate::engine::diff::diff(
        &Model::new(before, "default"),
        &Model::new(&after, "default"),
    );
    let mut out = vec![format!(
        "connectivity (the pods of namespaces {}):",
        before
            .gaps
            .pods_read
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    )];
    out.extend(
        crate::cmd::diff::review_lines(&d, CONNECTIVITY_LINES)
            .into_iter()
            .map(|l| format!("  {l}")),
    );
    if !d.maybe.is_empty() {
        out.push(format!(
            "  {} more pod pair{} may change: what decides {} could not be read",
            d.maybe.len(),
            if d.maybe.len() == 1 { "" } else { "s" },
            if d.maybe.len() == 1 { "it" } else { "them" }
        ));
    }
    out
}

/// The exit code, and the error naming what was and was not written.
fn finish(plan: &Plan, report: &Report) -> Result<Outcome, Error> {
    if report.complete() {
        return Ok(done(exit::OK));
    }
    let mut written = Vec::new();
    let mut not_sent = Vec::new();
    let mut failed = String::new();
    for (c, o) in plan.changes.iter().zip(&report.outcomes) {
        match o {
            sync::Outcome::Done => written.push(format!("{} {}", resource(c), c.action.done())),
            sync::Outcome::NotSent => {
                not_sent.push(format!("{} ({})", resource(c), c.action.as_str()))
            }
            sync::Outcome::Refused(e) => {
                failed = format!(
                    "{} in namespace {:?} was not {}: the server refused it: {e}",
                    resource(c),
                    c.namespace,
                    c.action.done()
                )
            }
            sync::Outcome::Unknown(e) => {
                failed = format!(
                    "{} in namespace {:?}: the request was sent and no answer came ({e}): it may have been {}",
                    resource(c),
                    c.namespace,
                    c.action.done()
                )
            }
        }
    }
    Err(Error::Api(format!(
        "sync of ServiceGraph {:?} stopped: {failed}\n  written before it: {}\n  not sent: {}\ncheck with kubectl get networkpolicies -A -l {}, then run sync again",
        plan.graph,
        if written.is_empty() {
            "none".to_string()
        } else {
            written.join(", ")
        },
        if not_sent.is_empty() {
            "none".to_string()
        } else {
            not_sent.join(", ")
        },
        sync::plan::selector(&plan.graph)
    )))
}

/// A Go duration flag of controller mode, more than zero.
fn duration(flag: &str, text: &str) -> Result<std::time::Duration, Error> {
    match crate::source::live::parse_timeout(text) {
        Ok(Some(d)) if d >= std::time::Duration::from_secs(1) => Ok(d),
        _ => Err(Error::Usage(format!(
            "invalid value {text:?} for {flag}: a Go duration of at least 1s (30s, 5m, 1h)"
        ))),
    }
}

/// Who this process is for the Lease: the pod's name in a pod
/// (`POD_NAME`, deploy/controller.yaml), else `HOSTNAME_PID`.
fn identity() -> String {
    if let Ok(pod) = std::env::var("POD_NAME")
        && !pod.is_empty()
    {
        return pod;
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}_{}", std::process::id())
}

/// A log line on stderr, with the time (UTC, RFC 3339), as controllers log.
fn log_line(line: &str) {
    let now = k8s_openapi::jiff::Timestamp::now()
        .round(k8s_openapi::jiff::Unit::Second)
        .unwrap_or_else(|_| k8s_openapi::jiff::Timestamp::now());
    crate::say_err!("{now} {}", clean(line));
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C); a second one exits at once.
async fn terminated() {
    async fn one() -> &'static str {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let sigterm = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => futures::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = sigterm => "SIGTERM",
        }
    }
    let first = one().await;
    log_line(&format!(
        "{first}: stopping after the reconciles in flight (again to stop at once)"
    ));
    tokio::spawn(async {
        let again = one().await;
        log_line(&format!(
            "{again} again: stopping now (a write in flight may or may not be made; the lease runs out by itself)"
        ));
        std::process::exit(exit::CANCELLED);
    });
}

/// `sync --watch`: controller mode (`sync::watch`).
fn watch(ctx: &Context, args: &SyncArgs) -> Result<Outcome, Error> {
    let resync = duration("--resync-period", &args.resync_period)?;
    let lease_duration = duration(
        "--leader-elect-lease-duration",
        &args.leader_elect_lease_duration,
    )?;
    if lease_duration < std::time::Duration::from_secs(3) {
        return Err(Error::Usage(format!(
            "invalid value {:?} for --leader-elect-lease-duration: at least 3s (it is renewed a third of it before it ends)",
            args.leader_elect_lease_duration
        )));
    }
    sync::health::parse_address(&args.health_probe_bind_address)?;
    let client_only = args.dry_run.as_deref() == Some("client");
    let dry_run = args.dry_run.is_some();
    yes_possible(
        args,
        "add --yes to keep every ServiceGraph's policies synced (or run on a terminal to be asked, or --dry-run=server|client to only log what would change)",
    )?;
    let live = ctx.cluster()?;
    let target = live.target();
    ctx.block_on(sync::watch::check_served(&live))?;
    let leader = (args.leader_elect && !dry_run).then(|| sync::watch::LeaderElection {
        name: args.leader_elect_resource_name.clone(),
        namespace: args
            .leader_elect_resource_namespace
            .clone()
            .or_else(|| {
                std::env::var("POD_NAMESPACE")
                    .ok()
                    .filter(|n| !n.is_empty())
            })
            .unwrap_or_else(|| live.namespace.clone()),
        identity: identity(),
        lease_duration,
    });
    if !dry_run && !args.yes {
        let question = format!(
            "Keep the NetworkPolicies of every ServiceGraph in {target} synced (create, update and delete them as the graphs say) until stopped?"
        );
        match Prompter::new(ctx.palette.enabled()).confirm(&question, false) {
            Ok(true) => {}
            Ok(false) | Err(Cancelled) => {
                let _ = dialoguer::console::Term::stderr().show_cursor();
                say("error: cancelled: nothing was changed");
                return Ok(done(exit::CANCELLED));
            }
        }
    }
    // Once: the policies may not be enforced. When check finds they are
    // not, every graph is Ready=False (NotEnforced); when it cannot tell,
    // the warning only.
    let evidence = ctx.block_on(async { Ok(live.evidence(true).await) })?;
    let not_enforced = evidence
        .as_ref()
        .ok()
        .map(crate::cni::assess)
        .filter(|a| a.verdict == crate::cni::Verdict::NotEnforced)
        .map(|a| {
            format!(
                "NetworkPolicy is not enforced in this cluster: {} (see kubectl netpol check)",
                a.reason.trim_end_matches('.')
            )
        });
    if let Some(w) = crate::cmd::warning_from(evidence) {
        log_line(&w);
    }
    let mode = match (client_only, dry_run) {
        (true, _) => " (client dry run: nothing is sent but the reads)",
        (_, true) => " (server dry run: nothing is stored)",
        _ => "",
    };
    log_line(&format!(
        "keeping every ServiceGraph in {target} synced{mode}; resync every {}s{}",
        resync.as_secs(),
        match &leader {
            Some(l) => format!(
                "; leader election with lease {}/{} as {}",
                l.namespace, l.name, l.identity
            ),
            None => "; no leader election".into(),
        }
    ));
    let started = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    if let Some(address) = sync::health::parse_address(&args.health_probe_bind_address)? {
        let bound = ctx.block_on(sync::health::serve(address, started.clone()))?;
        log_line(&format!("serving /healthz and /readyz on {bound}"));
    }
    let options = sync::watch::WatchOptions {
        apply: ApplyOptions {
            dry_run: args.dry_run.as_deref() == Some("server"),
            force_conflicts: args.force_conflicts,
        },
        client_dry_run: client_only,
        resync,
        leader,
        not_enforced,
        started,
    };
    let log: sync::watch::Log = std::sync::Arc::new(log_line);
    ctx.block_on(sync::watch::run(
        std::sync::Arc::new(live.clone()),
        options,
        log,
        terminated(),
    ))?;
    Ok(done(exit::OK))
}
