//! `kubectl netpol wizard`: from answers (prompts or flags) to a validated
//! NetworkPolicy, reviewed in plain words, then printed, written, dry-run
//! on the server, or applied — the last only after an explicit yes.

use std::io::IsTerminal;

use k8s_openapi::api::networking::v1::NetworkPolicy;

use crate::cli::{OutputFormat, RuleFlag, WizardArgs};
use crate::cmd::lint::render_finding;
use crate::cmd::{Context, Outcome};
use crate::engine::Model;
use crate::engine::lint::{ClusterScope, LintOptions, lint};
use crate::engine::policy::Policy;
use crate::engine::selector::Selector;
use crate::engine::summary::summary;
use crate::engine::validate;
use crate::error::{Error, exit};
use crate::render::{clean, to_json};
use crate::snapshot::{PodInfo, Snapshot};
use crate::wizard::draft::PeerSpec;
use crate::wizard::draft::{
    DnsTarget, Draft, DraftRule, PeerContext, PortInput, add_dns, add_rule, parse_port,
    parse_rule_in, to_yaml,
};
use crate::wizard::hint::{parse_selector, peer_warning, select_warning};
use crate::wizard::prompt::{Cancelled, Prompter};

/// Exit status when the user stops the wizard (as for SIGINT).
const CANCELLED: i32 = 130;

/// What to do with the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    Print,
    Write(String),
    DryRun,
    /// Apply, and with `--write FILE` write the file too (both or neither
    /// is attempted: every check and question comes first).
    Apply {
        write: Option<String>,
    },
    /// Back to a step, then the review again.
    Edit,
}

/// What Ctrl-C says at this point of the run; until a write is under way,
/// [`NOTHING_CHANGED`].
static ON_INTERRUPT: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

const NOTHING_CHANGED: &str = "cancelled: nothing was changed";

/// Sets what Ctrl-C will say from now on.
fn on_interrupt(message: impl Into<String>) {
    if let Ok(mut m) = ON_INTERRUPT.lock() {
        *m = message.into();
    }
}

/// Ctrl-C ends the run cleanly (cursor back, one line, status 130) and
/// says what is known: nothing changed before a request or a file write
/// was started; afterwards, what may have happened and how to check.
fn install_interrupt_handler() {
    on_interrupt(NOTHING_CHANGED);
    let _ = ctrlc::set_handler(|| {
        let _ = dialoguer::console::Term::stderr().show_cursor();
        let message = ON_INTERRUPT
            .lock()
            .map(|m| m.clone())
            .unwrap_or_else(|_| String::from("interrupted"));
        crate::say_err!("\nerror: {message}");
        std::process::exit(CANCELLED);
    });
}

/// A rule the flags give: `--allow-from`/`--allow-to` PEER[:PORTS] and
/// the `--port` flags that follow it.
struct FlagRule {
    ingress: bool,
    flag: &'static str,
    /// As typed.
    text: String,
    /// The ports of the `--port` flags after it.
    ports: Vec<PortInput>,
}

/// The rule flags in the order typed, each `--port` given to the
/// `--allow-from`/`--allow-to` before it; checked before anything is read.
fn flag_rules(args: &WizardArgs) -> Result<Vec<FlagRule>, Error> {
    let ordered: Vec<RuleFlag> = if args.rule_flags.is_empty() {
        // Built without the parser (tests): the flags by kind.
        args.allow_from
            .iter()
            .cloned()
            .map(RuleFlag::AllowFrom)
            .chain(args.allow_to.iter().cloned().map(RuleFlag::AllowTo))
            .chain(args.port.iter().cloned().map(RuleFlag::Port))
            .collect()
    } else {
        args.rule_flags.clone()
    };
    let mut out: Vec<FlagRule> = Vec::new();
    for f in ordered {
        let (ingress, flag, text) = match f {
            RuleFlag::AllowFrom(t) => (true, "--allow-from", t),
            RuleFlag::AllowTo(t) => (false, "--allow-to", t),
            RuleFlag::Port(p) => {
                let port =
                    parse_port(&p).map_err(|e| Error::Usage(format!("invalid --port {e}")))?;
                match out.last_mut() {
                    Some(rule) => rule.ports.push(port),
                    None => {
                        return Err(Error::Usage(format!(
                            "--port {p} comes before any --allow-from or --allow-to: a --port gives ports to the peer flag just before it, as in --allow-from frontend/web --port 8080 (or --allow-from frontend/web:8080)"
                        )));
                    }
                }
                continue;
            }
        };
        // Checked before anything is read; read again in the policy's
        // namespace with the pods known.
        parse_rule_in(&text, &PeerContext::default())
            .map_err(|e| Error::Usage(format!("invalid {flag} {e}")))?;
        out.push(FlagRule {
            ingress,
            flag,
            text,
            ports: Vec::new(),
        });
    }
    Ok(out)
}

/// The one error an unattended run gets when answers are missing.
fn missing(args: &WizardArgs) -> Option<String> {
    if args.from_policy.is_some() {
        // The policy gives every answer.
        return None;
    }
    let mut need = Vec::new();
    if args.select.is_none() && !args.all_pods {
        need.push("--select LABELS (or --all-pods)");
    }
    let directions = !args.allow_from.is_empty()
        || !args.allow_to.is_empty()
        || args.deny_all_ingress
        || args.deny_all_egress
        || args.allow_dns;
    if !directions {
        need.push("--allow-from PEER, --allow-to PEER, --deny-all-ingress, --deny-all-egress or --allow-dns");
    }
    (!need.is_empty()).then(|| {
        format!(
            "not enough answers to build a policy without prompts; pass {} (see kubectl netpol wizard --help)",
            need.join(" and ")
        )
    })
}

/// The cluster's DNS pods, as the wizard's DNS rule should target them.
fn dns_target(snapshot: &Snapshot) -> (DnsTarget, Vec<String>) {
    let mut notes = Vec::new();
    let mut target = DnsTarget::default();
    let dns: Vec<&PodInfo> = snapshot
        .pods
        .iter()
        .filter(|p| {
            p.namespace == "kube-system"
                && p.labels.get("k8s-app").map(String::as_str) == Some("kube-dns")
        })
        .collect();
    // CoreDNS set up to listen on 5353 behind a Service on 53: the policy
    // must name the pod's port.
    let mut ports: Vec<u16> = dns
        .iter()
        .flat_map(|p| p.ports.iter())
        .filter(|c| c.protocol == crate::engine::ports::Protocol::Udp)
        .map(|c| c.port)
        .collect();
    ports.sort();
    ports.dedup();
    if !ports.is_empty() && ports != [53] {
        notes.push(format!(
            "the DNS pods listen on UDP {}: the DNS rule uses {} (NetworkPolicy sees the pod's port, not the Service's)",
            ports.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
            if ports.len() == 1 { "it" } else { "them" }
        ));
        target.ports = ports;
    }
    if dns.is_empty() {
        // Unread is not absent: the DNS pods may well be there.
        if snapshot.gaps.pods_unknown_in("kube-system").is_some() {
            notes.push("the DNS pods cannot be checked: the pods of namespace kube-system are not readable; the DNS rule assumes the usual CoreDNS labels (k8s-app=kube-dns) and port 53".into());
        } else if !snapshot.pods.is_empty() {
            notes.push("no kube-system pods labelled k8s-app=kube-dns were found: the DNS rule assumes the usual CoreDNS labels".into());
        }
    }
    if snapshot
        .pods
        .iter()
        .any(|p| p.labels.get("k8s-app").map(String::as_str) == Some("node-local-dns"))
    {
        notes.push("NodeLocal DNSCache runs here: pods ask it on a node-local address (169.254.20.10 by default); most CNIs allow a pod's traffic to its own node, but check yours".into());
    }
    (target, notes)
}

/// A unified diff of two YAML texts (`--- OLD`, `+++ NEW`, hunks with
/// three lines of context); empty when they are equal.
fn diff(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{old_name} (now)"),
            &format!("{new_name} (reviewed)"),
        )
        .to_string()
}

/// The spec part of a stored policy, as the wizard would write it.
fn comparable(np: &k8s_openapi::api::networking::v1::NetworkPolicy) -> String {
    to_yaml(&comparable_policy(np))
}

/// A policy with only its name, namespace and spec (empty rule lists
/// dropped), for comparing what is stored with what the wizard built.
fn comparable_policy(
    np: &k8s_openapi::api::networking::v1::NetworkPolicy,
) -> k8s_openapi::api::networking::v1::NetworkPolicy {
    let mut clean_np = k8s_openapi::api::networking::v1::NetworkPolicy {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: np.metadata.name.clone(),
            namespace: np.metadata.namespace.clone(),
            ..Default::default()
        },
        spec: np.spec.clone(),
    };
    if let Some(spec) = clean_np.spec.as_mut() {
        if spec.ingress.as_ref().is_some_and(Vec::is_empty) {
            spec.ingress = None;
        }
        if spec.egress.as_ref().is_some_and(Vec::is_empty) {
            spec.egress = None;
        }
    }
    clean_np
}

pub fn run(ctx: &Context, args: &WizardArgs) -> Result<Outcome, Error> {
    if args.write.as_deref() == Some("-") {
        return Err(Error::Usage(
            "--write - is not a file: without --write the policy is printed on stdout (-o yaml or -o json)"
                .into(),
        ));
    }
    let interactive =
        !args.yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive && let Some(m) = missing(args) {
        return Err(Error::Usage(m));
    }
    let offline = args.offline || ctx.offline();
    if offline && (args.apply || args.dry_run.is_some()) {
        return Err(Error::Usage(
            "--apply and --dry-run need a cluster; offline (-f or --offline) the wizard only prints or writes".into(),
        ));
    }
    if args.apply && !interactive && !args.yes {
        return Err(Error::Usage(
            "refusing to apply without a yes: add --yes (or run on a terminal to be asked)".into(),
        ));
    }
    let rules = flag_rules(args)?;
    let selected = match (&args.select, args.all_pods) {
        (Some(s), _) if s.trim().is_empty() => {
            return Err(Error::Usage(
                "invalid --select: empty; use --all-pods to protect every pod of the namespace"
                    .into(),
            ));
        }
        (Some(s), _) => Some(
            parse_selector(s)
                .map_err(|e| Error::Usage(format!("invalid --select: {e}")))
                .and_then(|sel| {
                    let api = crate::wizard::draft::label_selector(&sel);
                    match validate::label_selector(&api, "--select").first() {
                        Some(e) => Err(Error::Usage(format!("invalid {e}"))),
                        None => Ok(sel),
                    }
                })?,
        ),
        (None, true) => Some(Selector::default()),
        (None, false) => None,
    };
    if let Some(name) = &args.name
        && let Some(e) = validate::dns1123_subdomain(name).first()
    {
        return Err(Error::Usage(format!("invalid --name {name:?}: {e}")));
    }
    let from = args
        .from_policy
        .as_deref()
        .map(|f| from_target(ctx, f))
        .transpose()?;

    let prompter = Prompter::new(ctx.palette.enabled());
    // Ctrl-C at any prompt (raw-mode keys raise SIGINT, line input gets it
    // from the terminal) or while a request is in flight.
    install_interrupt_handler();
    // On a terminal without -n, the namespace is asked first: what is read
    // depends on it (a user may read only their own namespace).
    let ask_namespace = interactive
        && ctx.global.namespace.is_none()
        && from.is_none()
        && !offline
        && ctx.live().is_ok();
    let (snapshot, chosen) = if offline && ctx.global.filenames.is_empty() {
        (std::rc::Rc::new(Snapshot::default()), None)
    } else if ask_namespace {
        match read_chosen_namespace(ctx, &prompter)? {
            Some((snapshot, ns)) => (snapshot, Some(ns)),
            None => return Ok(cancelled()),
        }
    } else {
        let ns = from
            .as_ref()
            .map_or_else(|| ctx.default_namespace(), |(ns, _)| ns.clone());
        let snapshot = ctx.everything(&ns).map_err(|e| match e {
            // The context's namespace, not one the user named.
            Error::Forbidden(why) if ctx.global.namespace.is_none() && from.is_none() => {
                Error::Forbidden(format!(
                    "{why}; name a namespace you may read with -n NAMESPACE"
                ))
            }
            e => e,
        })?;
        (snapshot, None)
    };
    // What RBAC kept from being read: said once, before any prompt;
    // unattended, once the answers are known to make a policy (an error
    // stays one line).
    let say_unreadable = || {
        for note in unreadable_notes(&snapshot) {
            crate::say_err!("note: {}", clean(&note));
        }
    };
    if interactive {
        say_unreadable();
    }
    let start = match &from {
        Some((ns, name)) => Some(start_from(ctx, offline, &snapshot, ns, name)?),
        None => None,
    };
    let answers = Answers {
        args,
        interactive,
        selected,
        rules,
    };
    match build(ctx, &answers, &snapshot, &prompter, start, chosen) {
        Ok(flow) => {
            if !interactive {
                say_unreadable();
            }
            finish(ctx, args, interactive, offline, &snapshot, &prompter, flow)
        }
        Err(Stop::Cancelled) => Ok(cancelled()),
        Err(Stop::Failed(e)) => Err(e),
    }
}

/// Asks the namespace (offering those that may be listed, else typed, the
/// context's namespace as the default) and reads what the wizard needs
/// for it; a namespace that cannot be read is said and asked again.
/// `None`: the user cancelled.
fn read_chosen_namespace(
    ctx: &Context,
    prompter: &Prompter,
) -> Result<Option<(std::rc::Rc<Snapshot>, String)>, Error> {
    let live = ctx.live()?;
    let current = ctx.default_namespace();
    let names: Vec<String> = match ctx.block_on(live.namespaces()) {
        Ok(list) => list.into_iter().map(|n| n.name).collect(),
        Err(Error::Forbidden(_)) => Vec::new(),
        Err(e) => return Err(e),
    };
    let mut typed_default = current.clone();
    loop {
        let asked = if names.is_empty() {
            prompter.input("Namespace", Some(&typed_default), |s| {
                let s = s.trim();
                match validate::dns1123_label(s).first() {
                    Some(e) => Err(format!("invalid namespace {s:?}: {e}")),
                    None => Ok(s.to_string()),
                }
            })
        } else {
            let default = names.iter().position(|n| *n == current).unwrap_or(0);
            prompter
                .select("Namespace", &names, default)
                .map(|i| names[i].clone())
        };
        let Ok(ns) = asked else {
            return Ok(None);
        };
        match ctx.everything(&ns) {
            Ok(snapshot) => return Ok(Some((snapshot, ns))),
            Err(Error::Forbidden(why)) => {
                crate::say_err!("  {}: pick a namespace you may read", clean(&why));
                typed_default = ns;
            }
            Err(e) => return Err(e),
        }
    }
}

/// `--from [NAMESPACE/]NAME` as (namespace, name): the namespace given, or
/// -n, or the current one.
fn from_target(ctx: &Context, text: &str) -> Result<(String, String), Error> {
    let (ns, name) = match text.split_once('/') {
        Some((ns, name)) => {
            if let Some(n) = &ctx.global.namespace
                && n != ns
            {
                return Err(Error::Usage(format!(
                    "--from {text} names namespace {ns}, but -n says {n}: give one of them"
                )));
            }
            (ns.to_string(), name.to_string())
        }
        None => (ctx.default_namespace(), text.to_string()),
    };
    if let Some(e) = validate::dns1123_label(&ns).first() {
        return Err(Error::Usage(format!(
            "invalid --from namespace {ns:?}: {e}"
        )));
    }
    if let Some(e) = validate::dns1123_subdomain(&name).first() {
        return Err(Error::Usage(format!("invalid --from name {name:?}: {e}")));
    }
    Ok((ns, name))
}

/// The policy `--from` names, read from the manifests (offline) or from
/// the cluster, with the answers it gives.
fn start_from(
    ctx: &Context,
    offline: bool,
    snapshot: &Snapshot,
    namespace: &str,
    name: &str,
) -> Result<Start, Error> {
    let found = if offline {
        snapshot
            .policies
            .iter()
            .find(|p| {
                p.metadata.namespace.as_deref() == Some(namespace)
                    && p.metadata.name.as_deref() == Some(name)
            })
            .cloned()
    } else {
        let live = ctx.live()?;
        ctx.block_on(live.policy(namespace, name))?
    };
    let Some(np) = found else {
        return Err(Error::NotFound(format!(
            "networkpolicies.networking.k8s.io {name:?} not found in namespace {namespace:?}{}",
            if offline && ctx.global.filenames.is_empty() {
                " (offline without -f: no policy is known)"
            } else {
                ""
            }
        )));
    };
    let (draft, notes) = crate::wizard::draft::from_policy(&np)
        .map_err(|e| Error::Usage(format!("--from {namespace}/{name}: {e}")))?;
    Ok(Start {
        original: comparable_policy(&np),
        draft,
        notes,
    })
}

fn cancelled() -> Outcome {
    // dialoguer hides the cursor while it runs.
    let _ = dialoguer::console::Term::stderr().show_cursor();
    Outcome {
        stdout: String::new(),
        warnings: vec![format!("error: {NOTHING_CHANGED}")],
        code: CANCELLED,
    }
}

/// An existing policy to start from (`--from`, or picked on a terminal).
struct Start {
    /// The policy as stored (name, namespace, spec), for the diff.
    original: NetworkPolicy,
    draft: Draft,
    notes: Vec<String>,
}

/// The answers the flags gave.
struct Answers<'a> {
    args: &'a WizardArgs,
    interactive: bool,
    selected: Option<Selector>,
    rules: Vec<FlagRule>,
}

struct Flow {
    draft: Draft,
    /// Notes of the answers (peers that match nothing, as typed; what
    /// --from changed in the form of the rules).
    notes: Vec<String>,
    /// The policy it started from, when it did.
    original: Option<NetworkPolicy>,
}

/// Why the answers stopped before the review.
enum Stop {
    Cancelled,
    /// An answer that cannot be used as given (a peer whose label key
    /// cannot be looked up): one error, nothing asked or written.
    Failed(Error),
}

impl From<Cancelled> for Stop {
    fn from(_: Cancelled) -> Stop {
        Stop::Cancelled
    }
}

/// A rule of the flags, read in the policy's namespace.
struct ReadRule {
    ingress: bool,
    /// `--allow-from frontend/web`, as typed.
    what: String,
    rule: DraftRule,
}

/// The flags' rules, read in `namespace` with the pods of `snapshot`,
/// with a note for each peer that matches no pod (as typed). A peer that
/// the pods read cannot resolve (`NS/NAME` where the pods of NS are not
/// readable) is an error that shows the explicit form.
fn read_flag_rules(
    rules: &[FlagRule],
    namespace: &str,
    snapshot: &Snapshot,
) -> Result<(Vec<ReadRule>, Vec<String>), Error> {
    let cx = PeerContext {
        namespace,
        snapshot: Some(snapshot),
    };
    let (mut out, mut notes) = (Vec::new(), Vec::new());
    for r in rules {
        let mut rule = parse_rule_in(&r.text, &cx)
            .map_err(|e| Error::Usage(format!("invalid {} {e}", r.flag)))?;
        rule.ports.extend(r.ports.iter().cloned());
        let what = format!("{} {}", r.flag, r.text);
        if let Some(w) = peer_warning(&what, &rule.peer, namespace, snapshot) {
            notes.push(w);
        }
        out.push(ReadRule {
            ingress: r.ingress,
            what,
            rule,
        });
    }
    Ok((out, notes))
}

/// Adds the rules of the flags to `draft` (isolating their directions),
/// each unless it is there already.
fn add_flag_rules(draft: &mut Draft, read: Vec<ReadRule>, notes: &mut Vec<String>) {
    for r in read {
        let rules = if r.ingress {
            draft.ingress.get_or_insert_with(Vec::new)
        } else {
            draft.egress.get_or_insert_with(Vec::new)
        };
        add_rule(rules, r.rule, &r.what, r.ingress, &draft.namespace, notes);
    }
}

/// The name suggested for `draft`: [`Draft::suggested_name`], or when a
/// different policy of that name exists in the namespace, the next free
/// `NAME-2`, `NAME-3`... (a policy of that name that is the same as the
/// draft keeps its name: applying it again changes nothing). With a note
/// when the name moved on.
fn free_name(draft: &Draft, snapshot: &Snapshot) -> (String, Option<String>) {
    let base = draft.suggested_name();
    let existing = |name: &str| {
        snapshot.policies.iter().find(|p| {
            p.metadata.namespace.as_deref() == Some(draft.namespace.as_str())
                && p.metadata.name.as_deref() == Some(name)
        })
    };
    let same = |np: &NetworkPolicy, name: &str| {
        let mut d = draft.clone();
        d.name = name.to_string();
        comparable(np) == comparable(&d.to_policy())
    };
    for n in 1..1000u32 {
        let name = if n == 1 {
            base.clone()
        } else {
            let suffix = format!("-{n}");
            let keep: String = base.chars().take(63 - suffix.len()).collect();
            format!("{}{suffix}", keep.trim_end_matches(['-', '.']))
        };
        match existing(&name) {
            None if n == 1 => return (name, None),
            None => {
                let note = format!(
                    "a different NetworkPolicy {}/{base} exists: the name suggested is {name} (--name {base} replaces it)",
                    draft.namespace
                );
                return (name, Some(note));
            }
            Some(np) if same(np, &name) => return (name, None),
            Some(_) => {}
        }
    }
    (base, None)
}

fn build(
    ctx: &Context,
    answers: &Answers,
    snapshot: &Snapshot,
    prompter: &Prompter,
    start: Option<Start>,
    chosen: Option<String>,
) -> Result<Flow, Stop> {
    let args = answers.args;
    let interactive = answers.interactive;
    if let Some(start) = start {
        return start_flow(args, answers, snapshot, start).map_err(Stop::Failed);
    }
    let mut notes = Vec::new();
    // 1. Namespace (asked before anything was read when live).
    let namespace = match (
        chosen.or_else(|| ctx.global.namespace.clone()),
        interactive && !snapshot.namespaces.is_empty(),
    ) {
        (Some(ns), _) => ns,
        (None, true) => {
            let names: Vec<String> = snapshot.namespaces.iter().map(|n| n.name.clone()).collect();
            let current = ctx.default_namespace();
            let default = names.iter().position(|n| *n == current).unwrap_or(0);
            names[prompter.select("Namespace", &names, default)?].clone()
        }
        (None, false) => ctx.default_namespace(),
    };
    let flags_given = !answers.rules.is_empty()
        || args.deny_all_ingress
        || args.deny_all_egress
        || args.allow_dns;
    // 1b. On a terminal with nothing answered yet: start from a policy of
    // the namespace?
    if interactive && answers.selected.is_none() && !flags_given {
        let existing: Vec<&NetworkPolicy> = snapshot
            .policies
            .iter()
            .filter(|p| p.metadata.namespace.as_deref() == Some(namespace.as_str()))
            .collect();
        if !existing.is_empty() {
            let mut items = vec!["a new policy".to_string()];
            items.extend(existing.iter().map(|p| {
                let name = p.metadata.name.clone().unwrap_or_default();
                match Policy::compile(p, &namespace) {
                    Ok(c) => format!("{name}: {}", summary(&c)),
                    Err(_) => name,
                }
            }));
            let i = prompter.select("Start from", &items, 0)?;
            if i > 0 {
                match crate::wizard::draft::from_policy(existing[i - 1]) {
                    Ok((draft, notes)) => {
                        return Ok(Flow {
                            draft,
                            notes,
                            original: Some(comparable_policy(existing[i - 1])),
                        });
                    }
                    Err(e) => crate::say_err!("  {}: starting from scratch", clean(&e)),
                }
            }
        }
    }
    // 2. Pods to protect.
    let pods = match &answers.selected {
        Some(s) => {
            if let Some(w) = select_warning(
                &format!("--select {}", args.select.as_deref().unwrap_or_default()),
                s,
                &namespace,
                snapshot,
            ) {
                notes.push(w);
            }
            s.clone()
        }
        None => prompter.pods(snapshot, &namespace)?,
    };
    let (read, more) =
        read_flag_rules(&answers.rules, &namespace, snapshot).map_err(Stop::Failed)?;
    notes.extend(more);
    let mut draft = Draft {
        namespace,
        name: String::new(),
        pods,
        ingress: None,
        egress: None,
        dns: None,
    };
    // 3 and 4. Directions and rules.
    if flags_given || !interactive {
        if args.deny_all_ingress || read.iter().any(|r| r.ingress) {
            draft.ingress = Some(Vec::new());
        }
        if args.deny_all_egress || args.allow_dns || read.iter().any(|r| !r.ingress) {
            draft.egress = Some(Vec::new());
        }
        add_flag_rules(&mut draft, read, &mut notes);
    } else {
        crate::say_err!("  Once a direction is isolated, everything no rule allows is denied.");
        let d = prompter.select("Restrict which direction?", &direction_items(), 0)?;
        if d != 1 {
            draft.ingress = Some(prompter.rules(snapshot, &draft.namespace, &draft.pods, true)?);
        }
        if d != 0 {
            draft.egress = Some(prompter.rules(snapshot, &draft.namespace, &draft.pods, false)?);
        }
    }
    // 5. DNS.
    if draft.egress.is_some() {
        let wanted = if args.allow_dns || !interactive || flags_given {
            args.allow_dns
        } else {
            prompter.confirm(DNS_QUESTION, true)?
        };
        if wanted {
            let what = if args.allow_dns {
                "--allow-dns"
            } else {
                "the DNS rule"
            };
            add_dns(&mut draft, dns_target(snapshot).0, what, &mut notes);
        }
    }
    // 6. Name: one that is not another policy's, unless asked for.
    let (suggested, moved) = free_name(&draft, snapshot);
    draft.name = match (&args.name, interactive) {
        (Some(n), _) => n.clone(),
        (None, true) => {
            if let Some(m) = &moved {
                crate::say_err!("  {}", clean(m));
            }
            prompter.name(&suggested)?
        }
        (None, false) => {
            notes.extend(moved);
            suggested
        }
    };
    Ok(Flow {
        draft,
        notes,
        original: None,
    })
}

/// The answers of an existing policy, changed by the flags: --select
/// replaces the pods, --allow-from/--allow-to add rules (not one that is
/// there already), --deny-all-* isolate a direction, --allow-dns adds the
/// DNS rule (unless DNS is admitted already), --name renames.
fn start_flow(
    args: &WizardArgs,
    answers: &Answers,
    snapshot: &Snapshot,
    start: Start,
) -> Result<Flow, Error> {
    let Start {
        original,
        mut draft,
        mut notes,
    } = start;
    if let Some(sel) = &answers.selected {
        draft.pods = sel.clone();
    }
    let (read, more) = read_flag_rules(&answers.rules, &draft.namespace, snapshot)?;
    notes.extend(more);
    if args.deny_all_ingress {
        draft.ingress.get_or_insert_with(Vec::new);
    }
    if args.deny_all_egress || args.allow_dns {
        draft.egress.get_or_insert_with(Vec::new);
    }
    add_flag_rules(&mut draft, read, &mut notes);
    if args.allow_dns {
        add_dns(
            &mut draft,
            dns_target(snapshot).0,
            "--allow-dns",
            &mut notes,
        );
    }
    if let Some(n) = &args.name {
        draft.name = n.clone();
    }
    Ok(Flow {
        draft,
        notes,
        original: Some(original),
    })
}

/// The items of the direction question, in [`Prompter::directions`] order.
fn direction_items() -> Vec<String> {
    vec![
        "ingress: who may connect to these pods".to_string(),
        "egress: where these pods may connect".to_string(),
        "both".to_string(),
    ]
}

const DNS_QUESTION: &str = "Allow DNS (UDP and TCP 53 to kube-system/kube-dns)? Without it these pods cannot resolve any name";

/// Notes that follow from the draft as it is now (recomputed after each
/// edit): the DNS target found, egress without DNS (as the engine decides
/// it: lint's `egress-blocks-dns` on the snapshot with the policy added,
/// in `findings`), a policy of that name that exists.
fn draft_notes(
    draft: &Draft,
    snapshot: &Snapshot,
    original: Option<&NetworkPolicy>,
    findings: &[crate::engine::lint::Finding],
    selects_pods: bool,
    usual_dns_admitted: bool,
) -> Vec<String> {
    let mut notes = Vec::new();
    let (target, target_notes) = dns_target(snapshot);
    // The DNS rule, or a rule that admits all it does (from --from).
    let dns_rule = draft.dns.is_some()
        || draft.egress.as_ref().is_some_and(|rules| {
            crate::wizard::draft::covered_by(rules, &target.rule(), &draft.namespace).is_some()
        });
    if dns_rule {
        notes.extend(target_notes);
    } else if let Some(rules) = &draft.egress {
        let dns = findings.iter().find(|f| f.check == "egress-blocks-dns");
        match dns {
            Some(f) if f.is_not_checked() && usual_dns_admitted => notes.push(
                "the DNS pods cannot be checked (kube-system's pods are not readable); the policies admit the usual CoreDNS pods (k8s-app=kube-dns) on UDP and TCP 53".into(),
            ),
            Some(f) if f.is_not_checked() => {
                let what = f.message.trim_start_matches("not checked: ");
                let what = what
                    .split_once(" is not readable")
                    .map_or(what, |(what, _)| what);
                notes.push(format!(
                    "whether these pods can still resolve names cannot be checked: {what} is not readable (add --allow-dns to be sure)"
                ));
            }
            Some(_) => notes.push(
                "egress is isolated without DNS: these pods will not resolve names (add --allow-dns)"
                    .into(),
            ),
            // No pod to ask the engine about: the rules alone.
            None if !selects_pods && !rules.iter().any(|r| may_admit_dns(r, draft)) => notes.push(
                "egress is isolated without DNS: the pods it will select cannot resolve names unless another policy admits DNS (add --allow-dns)".into(),
            ),
            None => {}
        }
    }
    let same_as_original = original.is_some_and(|o| {
        o.metadata.namespace.as_deref() == Some(draft.namespace.as_str())
            && o.metadata.name.as_deref() == Some(draft.name.as_str())
    });
    let existing = snapshot.policies.iter().find(|p| {
        p.metadata.namespace.as_deref() == Some(draft.namespace.as_str())
            && p.metadata.name.as_deref() == Some(draft.name.as_str())
    });
    if !same_as_original && let Some(np) = existing {
        notes.push(if comparable(np) == comparable(&draft.to_policy()) {
            format!(
                "a NetworkPolicy {}/{} exists already, the same as this one: applying it changes nothing",
                draft.namespace, draft.name
            )
        } else {
            format!(
                "a NetworkPolicy {}/{} exists already: applying replaces it",
                draft.namespace, draft.name
            )
        });
    }
    notes
}

/// Whether an egress rule may admit DNS as written: toward anywhere, an
/// address range, kube-system or the DNS pods' labels, on port 53 (or
/// every port). Only for a policy that selects no pod yet.
fn may_admit_dns(r: &DraftRule, draft: &Draft) -> bool {
    let toward = match &r.peer {
        PeerSpec::Anywhere | PeerSpec::IpBlock { .. } | PeerSpec::InLabelledNamespaces { .. } => {
            true
        }
        PeerSpec::InNamespaces { names, .. } => names.iter().any(|n| n == "kube-system"),
        PeerSpec::Pods(_) => draft.namespace == "kube-system",
    };
    let on_53 = r.ports.is_empty()
        || r.ports.iter().any(|p| match p.port {
            crate::wizard::draft::PortKind::Number(n) => n == 53,
            crate::wizard::draft::PortKind::Range(lo, hi) => lo <= 53 && hi >= 53,
            crate::wizard::draft::PortKind::All => true,
            crate::wizard::draft::PortKind::Named(_) => true,
        });
    toward && on_53
}

/// What the review shows, and what an unattended run says on stderr.
struct Review {
    np: NetworkPolicy,
    key: String,
    sentence: String,
    /// The review as shown on a terminal.
    text: String,
    /// The same, one line each, for an unattended run's stderr.
    lines: Vec<String>,
    yaml: String,
}

fn review(
    ctx: &Context,
    snapshot: &Snapshot,
    draft: &Draft,
    notes: &[String],
    original: Option<&NetworkPolicy>,
) -> Result<Review, Error> {
    let np = draft.to_policy();
    let errors = validate::network_policy(&np);
    if !errors.is_empty() {
        return Err(Error::InvalidPolicies(vec![crate::engine::InvalidPolicy {
            namespace: draft.namespace.clone(),
            key: format!("{}/{}", draft.namespace, draft.name),
            errors,
        }]));
    }
    let key = format!("{}/{}", draft.namespace, draft.name);
    let before = Model::new(snapshot, &draft.namespace);
    let mut with = snapshot.clone();
    with.policies.retain(|p| {
        let is = |ns: &str, name: &str| {
            p.metadata.namespace.as_deref() == Some(ns) && p.metadata.name.as_deref() == Some(name)
        };
        // The new policy replaces one of its name, and the one it was
        // started from (a rename replaces it too once that is deleted;
        // until then both apply: see the note).
        !is(&draft.namespace, &draft.name)
    });
    with.policies.push(np.clone());
    let gaps = with.gaps.clone();
    let mut with = Snapshot::new(with.namespaces, with.pods, with.policies);
    // What could not be read stays unknown after the change too.
    with.gaps = gaps;
    let after = Model::new(&with, &draft.namespace);
    let compiled = Policy::compile(&np, &draft.namespace).map_err(Error::Usage)?;
    let sentence = summary(&compiled);
    let selected: Vec<&PodInfo> = after.selected_pods(&compiled);
    let findings = lint(
        &after,
        &LintOptions::default(),
        &|p| p.key() == key,
        &|_, _| false,
        ClusterScope::Nothing,
    );
    // Whether the pods reach the usual CoreDNS pods (what lint assumes
    // when kube-system's pods cannot be read).
    let assumed = crate::engine::lint::dns::assumed_dns_pod();
    let usual_dns_admitted = !selected.is_empty()
        && selected.iter().all(|pod| {
            let v = crate::engine::verdict::side(
                &after,
                crate::engine::policy::Direction::Egress,
                &crate::engine::verdict::Endpoint::Pod(pod),
                &crate::engine::verdict::Endpoint::Pod(&assumed),
                Some(&assumed.ports),
            );
            v.allowed.contains(crate::engine::ports::Protocol::Udp, 53)
                && v.allowed.contains(crate::engine::ports::Protocol::Tcp, 53)
        });
    let mut notes = notes.to_vec();
    notes.extend(draft_notes(
        draft,
        snapshot,
        original,
        &findings,
        !selected.is_empty(),
        usual_dns_admitted,
    ));
    if let Some(o) = original
        && (o.metadata.namespace.as_deref(), o.metadata.name.as_deref())
            != (Some(draft.namespace.as_str()), Some(draft.name.as_str()))
    {
        notes.push(format!(
            "started from {}/{} under another name: that policy stays as it is (both apply until you delete it)",
            o.metadata.namespace.as_deref().unwrap_or_default(),
            o.metadata.name.as_deref().unwrap_or_default()
        ));
    }
    let yaml = to_yaml(&np);
    // What the policy does to connectivity: `kubectl netpol diff`'s engine.
    // Nothing to say without pods (offline without -f).
    let changes = if before.snapshot.pods.is_empty() {
        Vec::new()
    } else {
        crate::cmd::diff::review_lines(&crate::engine::diff::diff(&before, &after), 12)
    };
    let mut text = String::new();
    let mut lines = vec![format!("summary: {sentence}")];
    match original {
        Some(o) => {
            let d = diff(&comparable(o), &comparable(&np), &policy_key(o), &key);
            if d.is_empty() {
                text.push_str(&format!("\n{}\n", clean_lines(&yaml)));
                text.push_str(&format!(
                    "Diff:     none: the same as {} is now\n",
                    clean(&policy_key(o))
                ));
                lines.push(format!("diff: none: the same as {} is now", policy_key(o)));
            } else {
                text.push_str(&format!("\n{}\n", clean_lines(&yaml)));
                text.push_str(&format!(
                    "Diff against {} as it is now:\n{}\n",
                    clean(&policy_key(o)),
                    clean_lines(&d)
                ));
                lines.extend(d.lines().map(|l| format!("diff: {l}")));
            }
        }
        None => text.push_str(&format!("\n{}\n", clean_lines(&yaml))),
    }
    text.push_str(&format!("Summary:  {}\n", clean(&sentence)));
    text.push_str(&format!(
        "Selects:  {} pod{} now{}{}\n",
        selected.len(),
        if selected.len() == 1 { "" } else { "s" },
        if selected.is_empty() { "" } else { ": " },
        selected
            .iter()
            .take(5)
            .map(|p| clean(&p.name))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for c in &changes {
        text.push_str(&format!("Connectivity: {}\n", clean(c)));
    }
    for f in &findings {
        text.push_str(&render_finding(f, ctx.palette));
        // One line each: the fix is YAML over several lines.
        lines.extend(render_finding(f, ctx.palette).lines().map(str::to_string));
    }
    for n in &notes {
        text.push_str(&format!("Note:     {}\n", clean(n)));
        lines.push(format!("note: {n}"));
    }
    lines.extend(changes.iter().map(|c| format!("connectivity: {c}")));
    Ok(Review {
        np,
        key,
        sentence,
        text,
        lines,
        yaml,
    })
}

fn policy_key(np: &NetworkPolicy) -> String {
    format!(
        "{}/{}",
        np.metadata.namespace.as_deref().unwrap_or_default(),
        np.metadata.name.as_deref().unwrap_or_default()
    )
}

#[allow(clippy::too_many_arguments)]
fn finish(
    ctx: &Context,
    args: &WizardArgs,
    interactive: bool,
    offline: bool,
    snapshot: &Snapshot,
    prompter: &Prompter,
    flow: Flow,
) -> Result<Outcome, Error> {
    let Flow {
        mut draft,
        notes,
        original,
    } = flow;
    // A dry run was answered in this run: offer to apply what it checked.
    let mut dry_ran = false;
    loop {
        // 7. Review, on stderr: stdout carries only the policy.
        let r = review(ctx, snapshot, &draft, &notes, original.as_ref())?;
        let policy_text = match ctx.format() {
            OutputFormat::Json => to_json(&r.np),
            _ => r.yaml.clone(),
        };
        // 8. Action.
        let action = if dry_ran {
            // Asked after a server dry run that passed.
            let items = vec![
                "apply it to the cluster (asks once more, naming the target)".to_string(),
                "edit a step, then review again".to_string(),
                "stop here (nothing is applied)".to_string(),
            ];
            match prompter.select("The dry run passed. Apply it now?", &items, 0) {
                Ok(0) => Action::Apply { write: None },
                Ok(1) => Action::Edit,
                Ok(_) => {
                    return Ok(Outcome {
                        stdout: String::new(),
                        warnings: Vec::new(),
                        code: exit::OK,
                    });
                }
                Err(Cancelled) => return Ok(cancelled()),
            }
        } else if args.dry_run.is_some() {
            // A dry run writes nothing: it is decided first (the parser
            // refuses it with --apply or --write, this keeps it so
            // whatever else is given). A yes is asked about what the user
            // has seen: the review comes first.
            if interactive {
                crate::say_err_part!("{}", r.text);
            }
            Action::DryRun
        } else if args.apply {
            if interactive {
                crate::say_err_part!("{}", r.text);
            }
            Action::Apply {
                write: args.write.clone(),
            }
        } else if let Some(path) = &args.write {
            if interactive {
                crate::say_err_part!("{}", r.text);
            }
            Action::Write(path.clone())
        } else if interactive {
            crate::say_err_part!("{}", r.text);
            let mut items = vec![
                "print the YAML".to_string(),
                "write it to a file".to_string(),
            ];
            if !offline {
                items.push("dry-run on the server (validates, stores nothing)".into());
                items.push("apply it to the cluster".into());
            }
            items.push("edit a step (pods, rules, ports, name...)".into());
            let edit = items.len() - 1;
            match prompter.select("What now?", &items, 0) {
                Ok(0) => Action::Print,
                Ok(1) => match prompter.input("File", Some(&format!("{}.yaml", draft.name)), |s| {
                    if s.trim().is_empty() {
                        Err("a file name".to_string())
                    } else {
                        Ok(s.to_string())
                    }
                }) {
                    Ok(p) => Action::Write(p),
                    Err(Cancelled) => return Ok(cancelled()),
                },
                Ok(i) if i == edit => Action::Edit,
                Ok(2) => Action::DryRun,
                Ok(_) => Action::Apply { write: None },
                Err(Cancelled) => return Ok(cancelled()),
            }
        } else {
            Action::Print
        };
        // Unattended runs still say what they built, on stderr.
        let warnings = if interactive {
            Vec::new()
        } else {
            r.lines.clone()
        };
        match action {
            Action::Edit => {
                if prompter.edit(snapshot, &mut draft).is_err() {
                    return Ok(cancelled());
                }
                continue;
            }
            Action::Print => {
                return Ok(Outcome {
                    stdout: policy_text,
                    warnings,
                    code: exit::OK,
                });
            }
            Action::Write(path) => {
                let Some(file) = file_target(ctx, args, interactive, prompter, &path)? else {
                    return Ok(cancelled());
                };
                write_file(&file, &policy_text, &r.key)?;
                let mut warnings = warnings;
                warnings.push(format!("networkpolicy {} written to {path}", r.key));
                return Ok(Outcome {
                    stdout: String::new(),
                    warnings,
                    code: exit::OK,
                });
            }
            Action::DryRun => {
                let live = ctx.live()?;
                let existed = ctx
                    .block_on(live.policy(&draft.namespace, &draft.name))?
                    .is_some();
                ctx.block_on(live.apply_policy(&r.np, true, false))?;
                let done = format!(
                    "networkpolicy.networking.k8s.io/{} {} (server dry run)",
                    draft.name,
                    if existed { "configured" } else { "created" }
                );
                if interactive {
                    crate::say_err!("{}", clean(&done));
                    crate::say_err!("summary: {}", clean(&r.sentence));
                    dry_ran = true;
                    continue;
                }
                let mut warnings = warnings;
                warnings.push(done);
                return Ok(Outcome {
                    stdout: String::new(),
                    warnings,
                    code: exit::OK,
                });
            }
            Action::Apply { write } => {
                return apply(
                    ctx,
                    args,
                    interactive,
                    prompter,
                    &draft,
                    &r,
                    write,
                    &policy_text,
                    warnings,
                );
            }
        }
    }
}

/// Applies the reviewed policy: every check first (the file, what the
/// server would store), a yes that names the target, then the write, then
/// the stored policy read back and compared with the review.
#[allow(clippy::too_many_arguments)]
fn apply(
    ctx: &Context,
    args: &WizardArgs,
    interactive: bool,
    prompter: &Prompter,
    draft: &Draft,
    r: &Review,
    write: Option<String>,
    policy_text: &str,
    mut warnings: Vec<String>,
) -> Result<Outcome, Error> {
    let (np, key, sentence) = (&r.np, &r.key, &r.sentence);
    let live = ctx.live()?;
    let target = live.target();
    // Every check before anything is written: the file...
    let file = match &write {
        Some(path) => match file_target(ctx, args, interactive, prompter, path)? {
            Some(f) => Some(f),
            None => return Ok(cancelled()),
        },
        None => None,
    };
    // ... and what the server would store.
    let existing = ctx.block_on(live.policy(&draft.namespace, &draft.name))?;
    let unchanged = existing
        .as_ref()
        .is_some_and(|old| comparable(old) == comparable(np));
    if !unchanged {
        let predicted = ctx.block_on(live.apply_policy(np, true, args.force_conflicts))?;
        let kept = differences(np, &predicted);
        if !kept.is_empty() {
            return Err(Error::Api(format!(
                "NetworkPolicy {key} cannot be stored as reviewed: other field managers own fields of it that this apply would keep (nothing was changed; remove them with kubectl edit networkpolicy {} -n {}, or delete the policy and run again):{}",
                draft.name,
                draft.namespace,
                kept.iter()
                    .map(|k| format!("\n  * {k}"))
                    .collect::<String>()
            )));
        }
        if let Some(old) = &existing {
            crate::say_err!(
                "\nNetworkPolicy {} exists and differs:\n{}",
                clean(key),
                clean_lines(&diff(&comparable(old), &comparable(np), key, key))
            );
            if let Some(note) = ownership(old, args.force_conflicts) {
                crate::say_err!("{}", clean(&note));
            }
        }
        let (verb, to) = if existing.is_some() {
            ("Replace", "in")
        } else {
            ("Apply", "to")
        };
        let question = format!("{verb} NetworkPolicy {key} {to} {target}?");
        if args.yes {
            // Unattended: the same target, said before it is written.
            crate::say_err!(
                "{}",
                clean(&format!(
                    "{} NetworkPolicy {key} {to} {target}",
                    if existing.is_some() {
                        "replacing"
                    } else {
                        "applying"
                    }
                ))
            );
        } else {
            match prompter.confirm(&question, false) {
                Ok(true) => {}
                Ok(false) | Err(Cancelled) => return Ok(cancelled()),
            }
        }
    } else if args.yes {
        // Nothing to send (the stored policy is the same), but --yes
        // still names the target first, as promised.
        crate::say_err!(
            "{}",
            clean(&format!("applying NetworkPolicy {key} to {target}"))
        );
    }
    if let Some(file) = &file {
        write_file(file, policy_text, key)?;
        // Said at once: the apply below may still fail.
        crate::say_err!(
            "{}",
            clean(&format!("networkpolicy {key} written to {}", file.shown))
        );
    }
    if unchanged {
        warnings.push(format!(
            "networkpolicy.networking.k8s.io/{} unchanged",
            draft.name
        ));
        return Ok(Outcome {
            stdout: String::new(),
            warnings,
            code: exit::OK,
        });
    }
    let check = format!(
        "check with kubectl get networkpolicy {} -n {}",
        draft.name, draft.namespace
    );
    on_interrupt(format!(
        "interrupted: the apply was sent; the policy may exist: {check}"
    ));
    let applied = ctx.block_on(live.apply_policy(np, false, args.force_conflicts));
    let done = if existing.is_some() {
        "configured"
    } else {
        "created"
    };
    if let Err(e) = applied {
        return Err(unanswered_apply(e, &check));
    }
    on_interrupt(format!(
        "interrupted: networkpolicy {key} was {done}; it was not read back to compare with the review: {check}"
    ));
    // Read it back: what is stored must be what the review showed.
    let stored = ctx
        .block_on(live.policy(&draft.namespace, &draft.name))
        .map_err(|e| {
            Error::Api(format!(
                "networkpolicy {key} was {done} in {target}, but reading it back to compare with the review failed: {e}"
            ))
        })?;
    let differ = match &stored {
        Some(s) => differences(np, s),
        None => vec!["the policy is not there any more (deleted since?)".to_string()],
    };
    if !differ.is_empty() {
        return Err(Error::Api(format!(
            "networkpolicy {key} was {done} in {target}, but the stored policy differs from the review:{}",
            differ
                .iter()
                .map(|k| format!("\n  * {k}"))
                .collect::<String>()
        )));
    }
    warnings.push(format!(
        "networkpolicy.networking.k8s.io/{} {done}",
        draft.name
    ));
    if interactive {
        warnings.push(format!("summary: {sentence}"));
    }
    warnings.push(match ctx.evidence(false).map(|e| crate::cni::assess(&e)) {
        Ok(a) => format!("enforcement: {} ({})", verdict_word(a.verdict), a.reason.trim_end_matches('.')),
        Err(_) => "enforcement: cannot tell (the CNI evidence could not be read; see kubectl netpol check)".into(),
    });
    Ok(Outcome {
        stdout: String::new(),
        warnings,
        code: exit::OK,
    })
}

/// The error of an apply request: a refusal by the server stored nothing
/// and is returned as it is; without an answer (timeout, broken
/// connection), the policy may have been stored, and the message says so.
fn unanswered_apply(e: Error, check: &str) -> Error {
    match e {
        Error::Api(_) | Error::Forbidden(_) | Error::Usage(_) | Error::Config(_) => {
            on_interrupt(NOTHING_CHANGED);
            e
        }
        other => Error::Unreachable(format!(
            "{other}; the apply was sent and no answer came: the policy may exist: {check}"
        )),
    }
}

/// Each line of a text through the sanitiser.
fn clean_lines(text: &str) -> String {
    text.lines().map(|l| format!("{}\n", clean(l))).collect()
}

/// Checks the file `--write` (or the menu) names; asks before replacing
/// one on a terminal, and unattended needs `--overwrite`. `None`: the
/// user said no.
fn file_target(
    ctx: &Context,
    args: &WizardArgs,
    interactive: bool,
    prompter: &Prompter,
    path: &str,
) -> Result<Option<crate::wizard::file::Target>, Error> {
    let inputs = crate::wizard::file::Inputs {
        paths: ctx.global.filenames.clone(),
        recursive: ctx.global.recursive,
    };
    let target = crate::wizard::file::target(path, &inputs)?;
    if target.exists && !args.overwrite {
        if !interactive {
            return Err(crate::wizard::file::exists_error(path));
        }
        match prompter.confirm(&format!("{path} exists. Overwrite it?"), false) {
            Ok(true) => {}
            Ok(false) | Err(Cancelled) => return Ok(None),
        }
    }
    Ok(Some(target))
}

/// Writes the policy, saying on Ctrl-C that the file may have changed.
fn write_file(file: &crate::wizard::file::Target, text: &str, key: &str) -> Result<(), Error> {
    on_interrupt(format!(
        "interrupted while writing {}: it holds either its previous content or networkpolicy {key}",
        file.shown
    ));
    // Replacing was agreed to when the file existed; one that appeared
    // since is left alone.
    crate::wizard::file::write(file, text, file.exists)?;
    on_interrupt(format!(
        "interrupted: networkpolicy {key} was written to {}",
        file.shown
    ));
    Ok(())
}

/// Who manages the fields of a stored policy, when others than the
/// wizard do, and what this apply does about it.
fn ownership(np: &k8s_openapi::api::networking::v1::NetworkPolicy, force: bool) -> Option<String> {
    let others: Vec<String> = np
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| m.manager.as_deref() != Some(crate::source::live::FIELD_MANAGER))
        .map(|m| {
            let fields = spec_fields(m);
            format!(
                "{} ({}{}{})",
                m.manager.as_deref().unwrap_or("<unknown>"),
                m.operation.as_deref().unwrap_or("?"),
                if fields.is_empty() { "" } else { ": " },
                fields
                    .iter()
                    .map(|f| format!("spec.{f}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    if others.is_empty() {
        return None;
    }
    Some(format!(
        "Field managers: {}. Server-side apply makes {} a manager of every field it sets{}; the server's dry run shows nothing else would stay.",
        others.join("; "),
        crate::source::live::FIELD_MANAGER,
        if force {
            " and, with --force-conflicts, the only one of those set to other values"
        } else {
            " (co-owned where the value is the same)"
        }
    ))
}

/// The top-level spec fields (`ingress`, `podSelector`, ...) a managed
/// fields entry owns.
fn spec_fields(
    m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry,
) -> Vec<String> {
    m.fields_v1
        .as_ref()
        .and_then(|f| f.0.get("f:spec"))
        .and_then(|s| s.as_object())
        .map(|o| {
            o.keys()
                .filter_map(|k| k.strip_prefix("f:"))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// How a stored (or dry-run) policy differs from the one reviewed, field
/// by field, with the field managers of what differs; empty when equal.
fn differences(
    reviewed: &k8s_openapi::api::networking::v1::NetworkPolicy,
    stored: &k8s_openapi::api::networking::v1::NetworkPolicy,
) -> Vec<String> {
    let want = serde_json::to_value(comparable_policy(reviewed)).unwrap_or_default();
    let got = serde_json::to_value(comparable_policy(stored)).unwrap_or_default();
    let mut out = Vec::new();
    value_differences(&want["spec"], &got["spec"], "spec", &mut out);
    out.into_iter()
        .map(|(path, what)| {
            let field = path
                .strip_prefix("spec.")
                .map(|p| p.split(['.', '[']).next().unwrap_or(p).to_string());
            let owners: Vec<String> = stored
                .metadata
                .managed_fields
                .iter()
                .flatten()
                .filter(|m| field.as_ref().is_some_and(|f| spec_fields(m).contains(f)))
                .filter_map(|m| m.manager.clone())
                .collect();
            if owners.is_empty() {
                format!("{path}: {what}")
            } else {
                format!("{path}: {what} (managed by {})", owners.join(", "))
            }
        })
        .collect()
}

fn short_json(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 160 {
        format!("{}...", s.chars().take(160).collect::<String>())
    } else {
        s
    }
}

fn value_differences(
    want: &serde_json::Value,
    got: &serde_json::Value,
    path: &str,
    out: &mut Vec<(String, String)>,
) {
    use serde_json::Value;
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = format!("{path}.{k}");
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => value_differences(x, y, &p, out),
                    (None, Some(y)) => out.push((
                        p,
                        format!(
                            "the stored policy has {}, the review had none",
                            short_json(y)
                        ),
                    )),
                    (Some(x), None) => out.push((
                        p,
                        format!(
                            "the review had {}, the stored policy has none",
                            short_json(x)
                        ),
                    )),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let p = format!("{path}[{i}]");
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => value_differences(x, y, &p, out),
                    (None, Some(y)) => {
                        out.push((p, format!("kept in the stored policy: {}", short_json(y))))
                    }
                    (Some(x), None) => out.push((
                        p,
                        format!("missing from the stored policy: {}", short_json(x)),
                    )),
                    (None, None) => {}
                }
            }
        }
        _ if want != got => out.push((
            path.to_string(),
            format!(
                "the review had {}, the stored policy has {}",
                short_json(want),
                short_json(got)
            ),
        )),
        _ => {}
    }
}

fn verdict_word(v: crate::cni::Verdict) -> &'static str {
    match v {
        crate::cni::Verdict::Enforced => "enforced",
        crate::cni::Verdict::NotEnforced => "NOT enforced",
        crate::cni::Verdict::Unknown => "unknown",
    }
}

/// What the wizard could not read (a user who may read only their own
/// namespace): the pods and policies of other namespaces, and the
/// namespace list. Peers there are still written by name; what they
/// match cannot be checked.
fn unreadable_notes(snapshot: &Snapshot) -> Vec<String> {
    let gaps = &snapshot.gaps;
    let mut out = Vec::new();
    if let Some(why) = gaps.pods_refused_in("*") {
        let read: Vec<&str> = gaps.pods_read.iter().map(String::as_str).collect();
        out.push(format!(
            "only the pods and policies of namespace {} are readable ({why}): peers in other namespaces are taken as written and what they match cannot be checked",
            read.join(", ")
        ));
    }
    if let Some(why) = &gaps.namespaces {
        out.push(format!(
            "namespaces are not readable ({why}): other namespaces are typed by name, and their labels cannot be checked"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_is_unified_with_both_names() {
        let d = diff("a\nb\nc\n", "a\nx\nc\n", "ns/p", "ns/q");
        assert_eq!(
            d,
            "--- ns/p (now)\n+++ ns/q (reviewed)\n@@ -1,3 +1,3 @@\n a\n-b\n+x\n c\n"
        );
        assert_eq!(diff("a\n", "a\n", "x", "x"), "");
    }

    fn policy(json: serde_json::Value) -> k8s_openapi::api::networking::v1::NetworkPolicy {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn differences_name_each_field_and_its_managers() {
        let reviewed = policy(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"],
                     "ingress": [{"ports": [{"port": 8080, "protocol": "TCP"}]}]}
        }));
        assert_eq!(differences(&reviewed, &reviewed), Vec::<String>::new());
        // Metadata the server adds is not a difference.
        let mut stored_json = serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns", "resourceVersion": "7", "generation": 2,
                         "managedFields": [
                {"manager": "kubectl-netpol", "operation": "Apply",
                 "fieldsV1": {"f:spec": {"f:podSelector": {}, "f:ingress": {}, "f:policyTypes": {}}}},
                {"manager": "third", "operation": "Apply",
                 "fieldsV1": {"f:spec": {"f:egress": {}}}}]},
            "spec": {"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"],
                     "ingress": [{"ports": [{"port": 8080, "protocol": "TCP"}]}]}
        });
        assert_eq!(
            differences(&reviewed, &policy(stored_json.clone())),
            Vec::<String>::new()
        );
        stored_json["spec"]["egress"] =
            serde_json::json!([{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]);
        stored_json["spec"]["ingress"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({}));
        stored_json["spec"]["podSelector"]["matchLabels"]["tier"] = "x".into();
        stored_json["spec"]["ingress"][0]["ports"][0]["port"] = 9090.into();
        assert_eq!(
            differences(&reviewed, &policy(stored_json)),
            [
                "spec.egress: the stored policy has [{\"to\":[{\"ipBlock\":{\"cidr\":\"0.0.0.0/0\"}}]}], the review had none (managed by third)",
                "spec.ingress[0].ports[0].port: the review had 8080, the stored policy has 9090 (managed by kubectl-netpol)",
                "spec.ingress[1]: kept in the stored policy: {} (managed by kubectl-netpol)",
                "spec.podSelector.matchLabels.tier: the stored policy has \"x\", the review had none (managed by kubectl-netpol)",
            ]
        );
    }

    #[test]
    fn an_apply_without_an_answer_may_have_been_stored() {
        let check = "check with kubectl get networkpolicy p -n ns";
        let e = unanswered_apply(Error::Timeout(std::time::Duration::from_secs(2)), check);
        assert_eq!(
            e.to_string(),
            "the request timed out after 2s (--request-timeout); the apply was sent and no answer came: the policy may exist: check with kubectl get networkpolicy p -n ns"
        );
        let e = unanswered_apply(Error::Unreachable("connection reset".into()), check);
        assert!(
            e.to_string()
                .ends_with("the policy may exist: check with kubectl get networkpolicy p -n ns"),
            "{e}"
        );
        // A refusal is the server's answer: nothing was stored.
        let e = unanswered_apply(
            Error::Api("The NetworkPolicy \"p\" is invalid: x".into()),
            check,
        );
        assert_eq!(e.to_string(), "The NetworkPolicy \"p\" is invalid: x");
    }

    #[test]
    fn unattended_runs_name_the_missing_flags() {
        let m = missing(&WizardArgs::default()).unwrap();
        assert!(m.contains("--select LABELS (or --all-pods)"), "{m}");
        assert!(m.contains("--allow-from PEER"), "{m}");
        let args = WizardArgs {
            all_pods: true,
            deny_all_ingress: true,
            ..Default::default()
        };
        assert_eq!(missing(&args), None);
    }
}
