//! `kubectl netpol diff`: what a change does to connectivity, before it is
//! applied. `-f NEW` compares the live cluster with the cluster as
//! `kubectl apply -f NEW` would leave it ([`crate::engine::diff::applied`]);
//! `OLD NEW` compares two sets of manifests. The comparison itself is
//! [`crate::engine::diff::diff`]; this module reads the two sides and
//! renders the answer (text like `kubectl diff`, or JSON/YAML).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::cli::{DiffArgs, OutputFormat};
use crate::cmd::can::PortsJson;
use crate::cmd::{Context, Outcome, Output};
use crate::engine::Model;
use crate::engine::diff::{Diff, applied, diff, same_template, undecided_between};
use crate::engine::policy::{Direction, Policy};
use crate::engine::reach::PortSets;
use crate::engine::selector::Selector;
use crate::error::{Error, exit};
use crate::render::{Palette, clean, write_json, write_yaml};
use crate::snapshot::Snapshot;
use crate::source::files::{LoadOptions, Manifests};

/// kubectl's --prune-allowlist entry for NetworkPolicies.
const NETWORK_POLICY_GVK: &str = "networking.k8s.io/v1/NetworkPolicy";

/// The two sides, read, with what to say about them.
struct Sides {
    old: Snapshot,
    new: Snapshot,
    /// Names of the sides in messages: `the cluster`, or the paths.
    old_name: String,
    new_name: String,
    notes: Vec<String>,
    warnings: Vec<String>,
    /// Why some pairs cannot be compared (RBAC), if so.
    gaps: Vec<String>,
    /// What else was not compared (short, for the summary line), with its
    /// notes among `notes`.
    incomplete: Vec<String>,
    /// Two sets of manifests: what they leave out (pods, namespaces) is
    /// unknown, not absent.
    offline: bool,
    /// Another possible new side, when the apply may or may not roll out
    /// some workloads' pods (their live object could not be read): `new`
    /// has them rolled out, this one left as they are; with the workloads.
    alternative: Option<(Snapshot, Vec<(String, crate::snapshot::WorkloadRef)>)>,
    /// Workloads of NEW without live pods whose live object could not be
    /// read (RBAC): whether they exist already is unknown, so their
    /// stand-ins' pairs are undecided, not opened (namespace, workload).
    unknown_existence: Vec<(String, crate::snapshot::WorkloadRef)>,
}

/// What [`as_applied`] gives: notes, and the workloads whose pods the
/// apply may or may not replace (namespace, workload).
type Applied = (Vec<String>, Vec<(String, crate::snapshot::WorkloadRef)>);

/// Runs the command.
pub fn run(ctx: &Context, args: &DiffArgs, out: &mut dyn Output) -> Result<Outcome, Error> {
    match (args.prune, ctx.global.selector.is_some()) {
        (true, false) => {
            return Err(Error::Usage(
                "--prune needs -l SELECTOR: the live policies it may delete (as kubectl apply --prune -l)"
                    .into(),
            ));
        }
        (false, true) => {
            return Err(Error::Usage(
                "-l/--selector applies to diff with --prune (the live policies it may delete)"
                    .into(),
            ));
        }
        _ => {}
    }
    if !args.prune_allowlist.is_empty() && !args.prune {
        return Err(Error::Usage(
            "--prune-allowlist applies with --prune (as kubectl apply)".into(),
        ));
    }
    let sides = match (&args.old, &args.new, ctx.global.filenames.is_empty()) {
        (Some(old), Some(new), true) => {
            if args.prune {
                return Err(Error::Usage(
                    "--prune applies to the cluster: use it with -f NEW, not with OLD NEW".into(),
                ));
            }
            offline(ctx, old, new)?
        }
        (None, None, false) => live(ctx, args)?,
        (Some(_), _, false) => {
            return Err(Error::Usage(
                "give either OLD NEW (two manifests) or -f NEW (the cluster against NEW), not both"
                    .into(),
            ));
        }
        _ => {
            return Err(Error::Usage(
                "nothing to compare: give -f NEW (the cluster against NEW) or OLD NEW (two manifests)"
                    .into(),
            ));
        }
    };
    report(ctx, sides, out)
}

/// Two sets of manifests.
fn offline(ctx: &Context, old: &str, new: &str) -> Result<Sides, Error> {
    if old == "-" && new == "-" {
        return Err(Error::Usage(
            "OLD and NEW cannot both be - (stdin can be read once)".into(),
        ));
    }
    let namespace = ctx
        .global
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let recursive = ctx.global.recursive;
    let read = |path: &str| {
        crate::source::files::load_with_warnings(&LoadOptions {
            paths: vec![path.to_string()],
            recursive,
            default_namespace: namespace.clone(),
        })
    };
    // Both sides at once (reading is most of the time on a big input);
    // OLD's error is the one reported when both fail.
    let (a, b) = std::thread::scope(|s| {
        let b = s.spawn(|| read(new));
        let a = read(old);
        (a, b.join())
    });
    let (old_snapshot, old_warnings, old_unserved) = a?;
    let (new_snapshot, new_warnings, new_unserved) = match b {
        Ok(b) => b?,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    let mut warnings: Vec<String> = Vec::new();
    if !ctx.global.recursive {
        for path in [old, new] {
            warnings.extend(skipped_subdirectories(path));
        }
    }
    warnings.extend(old_warnings);
    warnings.extend(new_warnings);
    let mut notes = Vec::new();
    let mut incomplete = Vec::new();
    unevaluated(
        old_snapshot
            .unevaluated
            .iter()
            .chain(&new_snapshot.unevaluated),
        &mut notes,
        &mut incomplete,
    );
    unserved(
        old_unserved.iter().chain(&new_unserved),
        &mut notes,
        &mut incomplete,
    );
    Ok(Sides {
        old: old_snapshot,
        new: new_snapshot,
        old_name: format!("OLD ({old})"),
        new_name: format!("NEW ({new})"),
        notes,
        warnings,
        gaps: Vec::new(),
        incomplete,
        offline: true,
        alternative: None,
        unknown_existence: Vec::new(),
    })
}

/// The live cluster, and the cluster with the manifests applied.
fn live(ctx: &Context, args: &DiffArgs) -> Result<Sides, Error> {
    let selector = match (&ctx.global.selector, args.prune) {
        (Some(text), true) => Some(
            Selector::parse(text)
                .map_err(|e| Error::Usage(format!("cannot read the selector {text:?}: {e}")))?,
        ),
        _ => None,
    };
    // kubectl apply --prune deletes only the kinds of its allowlist, whose
    // default does not hold NetworkPolicy.
    let kinds = prune_kinds(&args.prune_allowlist)?;
    let allowed = kinds.contains("NetworkPolicy");
    let mut prune_notes = Vec::new();
    if args.prune && !allowed {
        prune_notes.push(format!(
            "--prune deletes no NetworkPolicy without --prune-allowlist={NETWORK_POLICY_GVK}: kubectl's default prune allowlist does not hold NetworkPolicy"
        ));
    }
    let prune = selector.filter(|_| allowed);
    let fetched = ctx.with_cluster(async |live| {
        let namespace = ctx
            .global
            .namespace
            .clone()
            .unwrap_or_else(|| live.namespace.clone());
        let mut notes: Vec<String> = Vec::new();
        // Said before anything is read from the cluster, and printed
        // with the warnings.
        if !ctx.global.recursive {
            notes.extend(
                ctx.global
                    .filenames
                    .iter()
                    .filter_map(|p| skipped_subdirectories(p)),
            );
        }
        let manifests = Manifests::read_for_apply(&LoadOptions {
            paths: ctx.global.filenames.clone(),
            recursive: ctx.global.recursive,
            default_namespace: namespace.clone(),
        })?;
        would_refuse(ctx.global.namespace.as_deref(), manifests.apply_input())?;
        // Any other kind the server does not serve (a CRD not installed,
        // a version it dropped): kubectl apply refuses the object.
        let input = manifests.apply_input();
        let missing = live
            .unserved_kinds(
                input
                    .kinds
                    .keys()
                    .map(|(api, kind)| (api.as_str(), kind.as_str())),
            )
            .await;
        if let Some(first) = input
            .kinds
            .iter()
            .filter(|((api, kind), _)| missing.contains(&(api.as_str(), kind.as_str())))
            .map(|(_, u)| u)
            .min_by_key(|u| (u.file.clone(), u.namespace.clone(), u.name.clone()))
        {
            return Err(Error::Api(first.kubectl_error()));
        }
        let snap = manifests.snapshot();
        let mut wanted: BTreeSet<String> = BTreeSet::from([namespace]);
        wanted.extend(snap.pods.iter().map(|p| p.namespace.clone()));
        wanted.extend(
            snap.policies
                .iter()
                .filter_map(|p| p.metadata.namespace.clone()),
        );
        wanted.extend(
            snap.namespaces
                .iter()
                .filter(|n| !n.synthesized)
                .map(|n| n.name.clone()),
        );
        let cluster =
            super::fetch::with_cluster_policies(live, super::fetch::diff(live, &wanted)).await?;
        let mut after = (*manifests.snapshot()).clone();
        let (apply_notes, unsure) =
            as_applied(live, &cluster, &mut after, manifests.apply_input()).await?;
        let pruning = match (&ctx.global.selector, args.prune) {
            (Some(selector), true) => {
                let mut visited: BTreeSet<String> =
                    manifests.apply_input().namespaces.keys().cloned().collect();
                visited.extend(snap.pods.iter().map(|p| p.namespace.clone()));
                visited.extend(
                    snap.policies
                        .iter()
                        .filter_map(|p| p.metadata.namespace.clone()),
                );
                prunable(live, selector, &kinds, &visited, manifests.apply_input()).await?
            }
            _ => Pruning::default(),
        };
        Ok((
            cluster,
            manifests,
            after,
            notes,
            apply_notes,
            unsure,
            pruning,
        ))
    })?;
    let (cluster, manifests, after, skipped_dirs, apply_notes, unsure, pruning) = fetched;
    let (mut new, pruned) = applied(&cluster, &after, prune.as_ref());
    pruning.delete(&mut new);
    // The apply may leave the pods of `unsure` workloads as they are.
    let mut alternative = (!unsure.is_empty()).then(|| {
        let mut kept = after.clone();
        kept.pods.retain(|p| {
            !(p.representative
                && unsure
                    .iter()
                    .any(|(ns, w)| p.namespace == *ns && p.workload.as_ref() == Some(w)))
        });
        let mut a = applied(&cluster, &kept, prune.as_ref()).0;
        pruning.delete(&mut a);
        a
    });
    let mut old = cluster;
    let mut notes = prune_notes;
    notes.extend(apply_notes);
    for key in &pruned {
        notes.push(format!(
            "NetworkPolicy {key} is deleted by --prune (labelled to match, applied by kubectl apply, absent from the manifests; as kubectl apply --prune -l SELECTOR --prune-allowlist={NETWORK_POLICY_GVK})"
        ));
    }
    notes.extend(pruning.notes());
    notes.extend(pruning.unread.iter().cloned());
    let mut incomplete: Vec<String> = (!pruning.unread.is_empty())
        .then(|| "what --prune deletes could not all be read".to_string())
        .into_iter()
        .collect();
    // Namespaces whose pods or policies could not be read: nothing is
    // compared there, on either side.
    let mut gaps = Vec::new();
    let unread = |ns: &str| old.gaps.pods_unknown_in(ns).map(str::to_string);
    let mut skipped: BTreeMap<String, String> = BTreeMap::new();
    // The namespaces of the pods and of the policies on either side: a
    // policy in a namespace whose pods are unknown selects pods that could
    // not be read, not "no pod".
    let namespaces_of = |s: &Snapshot| -> BTreeSet<String> {
        s.pods
            .iter()
            .map(|p| p.namespace.clone())
            .chain(
                s.policies
                    .iter()
                    .filter_map(|p| p.metadata.namespace.clone()),
            )
            .collect()
    };
    for ns in namespaces_of(&old).union(&namespaces_of(&new)) {
        if let Some(why) = unread(ns) {
            skipped.entry(ns.clone()).or_insert(why);
        }
    }
    if let Some(why) = old.gaps.pods.get("*") {
        let read: Vec<&str> = old.gaps.pods_read.iter().map(String::as_str).collect();
        gaps.push(if read.is_empty() {
            format!(
                "the pods and NetworkPolicies of no namespace could be read ({}): nothing is compared",
                first_line(why)
            )
        } else {
            format!(
                "only the pods and NetworkPolicies of namespace{} {} could be read ({}): connections to and from pods elsewhere are not compared",
                if read.len() == 1 { "" } else { "s" },
                read.join(", "),
                first_line(why)
            )
        });
    }
    for (ns, why) in &skipped {
        if old.gaps.pods.contains_key(ns) {
            gaps.push(format!(
                "namespace {ns}: its pods or NetworkPolicies could not be read ({}): its pods are not compared",
                first_line(why)
            ));
        }
    }
    if !skipped.is_empty() {
        let keep = |ns: &str| !skipped.contains_key(ns);
        for s in [&mut old, &mut new].into_iter().chain(alternative.as_mut()) {
            s.pods.retain(|p| keep(&p.namespace));
            s.policies
                .retain(|p| keep(p.metadata.namespace.as_deref().unwrap_or_default()));
        }
    }
    // Namespaces that could not be read: only their name label is known.
    // Pairs whose answer depends on their other labels are undecided
    // (engine::diff, Diff::maybe); everything else is still compared.
    if let Some(why) = &old.gaps.namespaces {
        let default = ctx.default_namespace();
        let (mo, mn) = (Model::new(&old, &default), Model::new(&new, &default));
        if mo
            .policies
            .iter()
            .chain(&mn.policies)
            .any(Policy::uses_namespace_labels)
        {
            notes.push(format!(
                "the namespaces' labels could not be read ({}): connections that depend on them are listed as undecided",
                first_line(why)
            ));
        }
    }
    unevaluated(
        manifests.snapshot().unevaluated.iter(),
        &mut notes,
        &mut incomplete,
    );
    let mut warnings: Vec<String> = skipped_dirs;
    warnings.extend(manifests.warnings().iter().cloned());
    if new.pods.iter().chain(&old.pods).any(|p| p.representative) {
        warnings.push(
            "note: workloads without pods (live at 0 replicas, or in NEW without live pods) stand as one pod each, without an IP yet: a pair an ipBlock may decide is undecided, unless the nodes' pod CIDRs are known and outside the block"
                .to_string(),
        );
    }
    // Workloads that could not be listed: those without pods are missing
    // from the cluster's side; a workload of NEW without live pods there
    // may exist already.
    let mut unknown_existence = Vec::new();
    for (ns, kinds, why) in old.gaps.workload_gaps() {
        let here = |p: &&crate::snapshot::PodInfo| {
            p.representative
                && (ns == "*" || p.namespace == ns)
                && p.workload.as_ref().is_some_and(|w| kinds.contains(&w.kind))
        };
        let news: Vec<String> = new.pods.iter().filter(here).map(|p| p.ref_key()).collect();
        unknown_existence.extend(new.pods.iter().filter(here).filter_map(|p| {
            p.workload
                .as_ref()
                .map(|w| (p.namespace.clone(), w.clone()))
        }));
        notes.push(format!(
            "the {} {} could not be listed ({}): those without pods are not on the cluster's side{}",
            crate::cmd::matrix::kinds_text(&kinds),
            if ns == "*" {
                "of the namespaces read".to_string()
            } else {
                format!("of namespace {ns}")
            },
            first_line(&why),
            if news.is_empty() {
                String::new()
            } else {
                format!(
                    "; whether {} of NEW exist{} already without pods is unknown: {} connections are listed as undecided",
                    news.join(", "),
                    if news.len() == 1 { "s" } else { "" },
                    if news.len() == 1 { "its" } else { "their" },
                )
            }
        ));
        let short = "workloads could not be listed".to_string();
        if !news.is_empty() && !incomplete.contains(&short) {
            incomplete.push(short);
        }
    }
    Ok(Sides {
        old,
        new,
        old_name: "the cluster".to_string(),
        new_name: format!(
            "the cluster with {} applied",
            ctx.global.filenames.join(", ")
        ),
        notes,
        warnings,
        gaps,
        incomplete,
        offline: false,
        alternative: alternative.map(|a| (a, unsure)),
        unknown_existence,
    })
}

/// kubectl 1.35's default prune allowlist (k8s.io/kubectl
/// pkg/util/prune): the kinds among it whose deletion changes
/// connectivity (ConfigMap, Endpoints, PersistentVolumeClaim, Secret,
/// Service, Ingress and PersistentVolume do not), as (group, kind).
const DEFAULT_PRUNE: [(&str, &str); 9] = [
    ("", "Pod"),
    ("", "ReplicationController"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("apps", "DaemonSet"),
    ("apps", "Deployment"),
    ("apps", "ReplicaSet"),
    ("apps", "StatefulSet"),
    ("", "Namespace"),
];

/// The kinds whose deletion by `--prune` changes connectivity, from
/// `--prune-allowlist` (kubectl's GROUP/VERSION/KIND, `core` or empty for
/// the core group), or kubectl's default allowlist without one.
fn prune_kinds(allowlist: &[String]) -> Result<BTreeSet<&'static str>, Error> {
    let mut out = BTreeSet::new();
    if allowlist.is_empty() {
        out.extend(DEFAULT_PRUNE.iter().map(|(_, k)| *k));
        return Ok(out);
    }
    let known = DEFAULT_PRUNE
        .iter()
        .copied()
        .chain([("networking.k8s.io", "NetworkPolicy")]);
    for entry in allowlist {
        let parts: Vec<&str> = entry.split('/').collect();
        let [group, _version, kind] = parts[..] else {
            return Err(Error::Usage(format!(
                "invalid GroupVersionKind format: {entry}, please follow <group/version/kind>"
            )));
        };
        let group = if group == "core" { "" } else { group };
        // Cluster policies pruned would change connectivity, and are not
        // looked at here: no answer rather than a wrong one.
        if group == "policy.networking.k8s.io"
            && [
                "ClusterNetworkPolicy",
                "AdminNetworkPolicy",
                "BaselineAdminNetworkPolicy",
            ]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(kind))
        {
            return Err(Error::Unsupported(format!(
                "--prune-allowlist={entry}: diff does not find the cluster policies kubectl apply --prune would delete; compare without pruning them (leave {kind} out of the allowlist) or diff the manifests offline (diff OLD NEW)"
            )));
        }
        if let Some((_, k)) = known
            .clone()
            .find(|(g, k)| *g == group && k.eq_ignore_ascii_case(kind))
        {
            out.insert(k);
        }
    }
    Ok(out)
}

/// What `kubectl apply --prune -l SELECTOR` would delete besides
/// NetworkPolicies (see [`crate::engine::diff::applied`]): objects of the
/// allowlisted kinds that match the selector, carry the last-applied
/// annotation and are absent from NEW; namespaced kinds in the namespaces
/// NEW's objects are in, Namespaces cluster-wide (as kubectl prunes).
#[derive(Default)]
struct Pruning {
    /// (kind, namespace, name); a Namespace's namespace is empty.
    deleted: Vec<(String, String, String)>,
    /// What could not be read to decide (RBAC): not everything compared.
    unread: Vec<String>,
}

impl Pruning {
    /// Takes the deleted objects out of `s`: a Pod; a workload's pods (a
    /// CronJob's: its Jobs' pods); a Namespace with its pods and policies.
    fn delete(&self, s: &mut Snapshot) {
        for (kind, ns, name) in &self.deleted {
            match kind.as_str() {
                "Namespace" => {
                    s.pods.retain(|p| p.namespace != *name);
                    s.policies
                        .retain(|p| p.metadata.namespace.as_deref() != Some(name.as_str()));
                    s.namespaces.retain(|n| n.name != *name);
                }
                "Pod" => s.pods.retain(|p| !(p.namespace == *ns && p.name == *name)),
                _ => s.pods.retain(|p| {
                    let Some(w) = p.workload.as_ref().filter(|_| p.namespace == *ns) else {
                        return true;
                    };
                    let own = w.kind == *kind && w.name == *name;
                    let cron = kind == "CronJob"
                        && w.kind == "Job"
                        && w.name.strip_prefix(name.as_str()).is_some_and(|r| {
                            r.strip_prefix('-').is_some_and(|n| {
                                !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
                            })
                        });
                    !(own || cron)
                }),
            }
        }
    }

    fn notes(&self) -> Vec<String> {
        self.deleted
            .iter()
            .map(|(kind, ns, name)| {
                let (who, with) = match kind.as_str() {
                    "Namespace" => (name.clone(), ", with its pods and NetworkPolicies"),
                    "Pod" => (format!("{ns}/{name}"), ""),
                    _ => (format!("{ns}/{name}"), ", with its pods"),
                };
                format!(
                    "{kind} {who} is deleted by --prune{with} (labelled to match, applied by kubectl apply, absent from the manifests; {kind} is in the prune allowlist)"
                )
            })
            .collect()
    }
}

/// Reads what `--prune -l selector` would delete (see [`Pruning`]).
async fn prunable(
    live: &crate::source::live::Live,
    selector: &str,
    kinds: &BTreeSet<&'static str>,
    visited: &BTreeSet<String>,
    input: &crate::source::files::ApplyInput,
) -> Result<Pruning, Error> {
    let mut out = Pruning::default();
    let mut asks: Vec<(Option<&str>, &str)> = Vec::new();
    for kind in kinds.iter().filter(|k| **k != "NetworkPolicy") {
        if *kind == "Namespace" {
            asks.push((None, kind));
        } else {
            asks.extend(visited.iter().map(|ns| (Some(ns.as_str()), *kind)));
        }
    }
    let found = futures::future::join_all(
        asks.iter()
            .map(|(ns, kind)| live.prunable(*ns, kind, selector)),
    )
    .await;
    for ((ns, kind), r) in asks.iter().zip(found) {
        match r {
            Ok(list) => {
                for (namespace, name) in list {
                    let key = (kind.to_string(), namespace, name);
                    if !input.objects.contains_key(&key) {
                        out.deleted.push(key);
                    }
                }
            }
            Err(e @ Error::Forbidden(_)) => out.unread.push(format!(
                "--prune: what it deletes could not all be read ({}): the {kind} objects{} it may delete are not known, so what their deletion changes is not compared",
                first_line(&e.to_string()),
                ns.map(|ns| format!(" of namespace {ns}")).unwrap_or_default()
            )),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Policies of other kinds than Kubernetes NetworkPolicy in the manifests
/// (Cilium's, Calico's, the cluster policy tiers): not evaluated, so what
/// they change is not compared: a note naming them, and the run is
/// incomplete (exit 2), never "no change".
fn unevaluated<'a>(
    objects: impl Iterator<Item = &'a String>,
    notes: &mut Vec<String>,
    incomplete: &mut Vec<String>,
) {
    let objects: BTreeSet<&String> = objects.collect();
    if objects.is_empty() {
        return;
    }
    notes.push(format!(
        "not compared: {}: kubectl-netpol evaluates Kubernetes NetworkPolicy (networking.k8s.io/v1) and the cluster policies of policy.networking.k8s.io (ClusterNetworkPolicy v1alpha2/v1beta1, AdminNetworkPolicy and BaselineAdminNetworkPolicy v1alpha1) only, so what {} change{} is not compared",
        objects
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        if objects.len() == 1 { "it" } else { "they" },
        if objects.len() == 1 { "s" } else { "" },
    ));
    incomplete.push(format!(
        "{} polic{} of other kinds than NetworkPolicy",
        objects.len(),
        if objects.len() == 1 { "y" } else { "ies" }
    ));
}

/// Objects of a kind or version no API server serves (left out of the
/// sides with a warning): `kubectl apply` refuses them, so what they
/// were meant to change is not compared: a note, and the run is
/// incomplete (exit 2), never "no change".
fn unserved<'a>(
    objects: impl Iterator<Item = &'a crate::source::files::Unserved>,
    notes: &mut Vec<String>,
    incomplete: &mut Vec<String>,
) {
    let objects: Vec<&crate::source::files::Unserved> = objects.collect();
    if objects.is_empty() {
        return;
    }
    for u in &objects {
        notes.push(format!(
            "not compared: {} {}/{} ({}) in {}: no API server serves kind {:?} in version {:?} (kubectl apply refuses it), so it is left out",
            u.kind, u.namespace, u.name, u.api_version, u.file, u.kind, u.api_version
        ));
    }
    incomplete.push(format!(
        "{} object{} of a kind or version no API server serves",
        objects.len(),
        if objects.len() == 1 { "" } else { "s" }
    ));
}

/// What `kubectl apply -f NEW` (and `kubectl diff -f NEW`) refuses before
/// anything is sent, as kubectl words it: with `-n`, an object whose own
/// namespace is another (a context's namespace is not enforced, as
/// kubectl's is not); an object of an API version no longer served
/// (NetworkPolicy in `extensions/v1beta1`).
fn would_refuse(
    explicit: Option<&str>,
    input: &crate::source::files::ApplyInput,
) -> Result<(), Error> {
    if let Some(ns) = explicit
        && let Some(there) = input.namespaces.keys().find(|there| *there != ns)
    {
        return Err(Error::Usage(format!(
            "the namespace from the provided object {there:?} does not match the namespace {ns:?}. You must pass '--namespace={there}' to perform this operation."
        )));
    }
    if let Some(u) = input.unserved.first() {
        return Err(Error::Api(u.kubectl_error()));
    }
    Ok(())
}

/// NEW's objects that exist live, made what `kubectl apply -f NEW` (a
/// client-side apply, kubectl's default) would store:
///
/// - NetworkPolicies and Namespaces: the patch kubectl computes from the
///   live object's last-applied configuration to NEW as written
///   ([`crate::engine::diff::apply_patch`]: fields NEW sets are set, fields
///   the last apply set and NEW drops are removed, fields set otherwise stay),
///   sent to the server as a dry run; its answer is the object after the
///   apply. When the dry run is refused (RBAC), the patch is applied here
///   instead, and a note says so; when the server rejects the change, that
///   is the error (as `kubectl apply` fails).
/// - Workloads: the same patch in a dry run (rejection: the error). Their
///   live pods stay as they are unless the pod template changes and the
///   controller replaces them ([`rollout`]); then they get the template's
///   labels ([`crate::engine::diff::rolled_out`], in `applied`). A workload
///   that cannot be read at all is returned as unsure: whether its pods
///   roll out is unknown (`new` has them rolled out).
async fn as_applied(
    live: &crate::source::live::Live,
    cluster: &Snapshot,
    new: &mut Snapshot,
    input: &crate::source::files::ApplyInput,
) -> Result<Applied, Error> {
    use crate::engine::diff::{apply_patch, last_applied, merge_patch, rolled_out};
    use serde_json::json;
    let mut notes = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    let mut refusal: Option<String> = None;
    let decode =
        |e: serde_json::Error| Error::Api(format!("cannot read the dry run's answer: {e}"));
    // Objects NEW creates: the server checks their creation (a dry run),
    // unless their namespace is one the same apply creates (a dry run
    // creates nothing, so the server would not find it).
    let mut created = Created::default();
    let live_namespace = |ns: &str| {
        cluster
            .namespaces
            .iter()
            .any(|c| c.name == ns && !c.synthesized)
    };
    let creating: BTreeSet<String> = new
        .namespaces
        .iter()
        .filter(|n| !n.synthesized && !live_namespace(&n.name))
        .map(|n| n.name.clone())
        .collect();
    for p in &mut new.policies {
        let ns = p.metadata.namespace.clone().unwrap_or_default();
        let name = p.metadata.name.clone().unwrap_or_default();
        if new.decode_errors.contains_key(&format!("{ns}/{name}")) {
            continue;
        }
        let Some(current) = cluster.policies.iter().find(|q| {
            q.metadata.namespace.as_deref() == Some(ns.as_str())
                && q.metadata.name.as_deref() == Some(name.as_str())
        }) else {
            let object = serde_json::to_value(&*p).map_err(decode)?;
            created
                .check(live, &creating, "NetworkPolicy", Some(&ns), &name, &object)
                .await?;
            continue;
        };
        let original = last_applied(current.metadata.annotations.as_ref());
        let modified = serde_json::to_value(&*p).map_err(decode)?;
        let patch = apply_patch(original.as_ref(), &modified);
        let after = match live.dry_run_patch(Some(&ns), &name, &patch).await {
            Ok(v) => v,
            Err(Error::Rejected(m)) => return Err(rejected("NetworkPolicy", Some(&ns), &name, &m)),
            Err(e @ Error::Forbidden(_)) => {
                refused.push(format!("NetworkPolicy {ns}/{name}"));
                refusal.get_or_insert(first_line(&e.to_string()).to_string());
                merge_patch(&serde_json::to_value(current).map_err(decode)?, &patch)
            }
            Err(e) => return Err(e),
        };
        *p = serde_json::from_value(after).map_err(decode)?;
    }
    // Cluster policies: the same apply, as a dry run of the server (which
    // validates them with the CRD's schema and rules).
    let mut cluster_refused: Vec<String> = Vec::new();
    let mut cluster_refusal: Option<String> = None;
    for c in &mut new.cluster_policies {
        let who = format!("{} {}", c.kind, c.name);
        let current = cluster
            .cluster_policies
            .iter()
            .find(|q| q.kind == c.kind && q.name == c.name);
        let patch = current.map(|q| {
            let original = last_applied(
                q.value
                    .pointer("/metadata/annotations")
                    .and_then(|a| serde_json::from_value(a.clone()).ok())
                    .as_ref(),
            );
            apply_patch(original.as_ref(), &c.value)
        });
        match live
            .dry_run_cluster_policy(&c.api_version, &c.kind, &c.name, &c.value, patch.as_ref())
            .await
        {
            Ok(v) => c.value = v,
            Err(Error::Rejected(m)) => return Err(rejected(&c.kind, None, &c.name, &m)),
            Err(e @ Error::Forbidden(_)) => {
                if let (Some(q), Some(patch)) = (current, &patch) {
                    c.value = merge_patch(&q.value, patch);
                }
                cluster_refusal.get_or_insert(first_line(&e.to_string()).to_string());
                cluster_refused.push(who);
            }
            Err(e) => return Err(e),
        }
    }
    if !cluster_refused.is_empty() {
        notes.push(format!(
            "the server did not check {} ({}): taken as NEW writes {}",
            cluster_refused.join(", "),
            cluster_refusal.as_deref().unwrap_or("refused"),
            if cluster_refused.len() == 1 {
                "it"
            } else {
                "them"
            }
        ));
    }
    for n in &mut new.namespaces {
        if n.synthesized {
            continue;
        }
        if creating.contains(&n.name) {
            if let Some(raw) =
                input
                    .objects
                    .get(&("Namespace".to_string(), String::new(), n.name.clone()))
            {
                created
                    .check(live, &BTreeSet::new(), "Namespace", None, &n.name, raw)
                    .await?;
            }
            continue;
        }
        let current = match live.namespace(&n.name).await {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(e @ Error::Forbidden(_)) => {
                notes.push(format!(
                    "Namespace {}: its last-applied configuration could not be read ({}): its labels are taken as NEW writes them, as if the apply replaced them",
                    n.name,
                    first_line(&e.to_string())
                ));
                continue;
            }
            Err(e) => return Err(e),
        };
        let original = last_applied(current.metadata.annotations.as_ref());
        // The manifest as written, as kubectl sends it: `labels: {}`
        // removes only the labels the last apply set, no `labels` at all
        // removes the whole map (when the last apply set one).
        let modified = match input.objects.get(&(
            "Namespace".to_string(),
            String::new(),
            n.name.clone(),
        )) {
            Some(raw) => raw.clone(),
            None => {
                let labels: BTreeMap<&String, &String> = n
                    .labels
                    .iter()
                    .filter(|(k, _)| k.as_str() != crate::snapshot::NAMESPACE_NAME_LABEL)
                    .collect();
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n.name, "labels": labels}})
            }
        };
        let patch = apply_patch(original.as_ref(), &modified);
        let after = match live.dry_run_patch(None, &n.name, &patch).await {
            Ok(v) => v,
            Err(Error::Rejected(m)) => return Err(rejected("Namespace", None, &n.name, &m)),
            Err(e @ Error::Forbidden(_)) => {
                refused.push(format!("Namespace {}", n.name));
                refusal.get_or_insert(first_line(&e.to_string()).to_string());
                merge_patch(&serde_json::to_value(&current).map_err(decode)?, &patch)
            }
            Err(e) => return Err(e),
        };
        let labels = labels_of(&after);
        *n = crate::snapshot::NamespaceInfo::new(&n.name, labels, false);
    }
    // Pods: the server allows few changes to a live pod (labels,
    // annotations, images): it checks the patch; new pods, their creation.
    for ((kind, ns, name), modified) in &input.objects {
        if kind != "Pod" {
            continue;
        }
        let Some(current) = cluster
            .pods
            .iter()
            .find(|q| !q.representative && q.namespace == *ns && q.name == *name)
        else {
            created
                .check(live, &creating, "Pod", Some(ns), name, modified)
                .await?;
            continue;
        };
        let original = live
            .pod_annotations(ns, name)
            .await
            .ok()
            .flatten()
            .and_then(|a| last_applied(Some(&a)));
        let patch = apply_patch(original.as_ref(), modified);
        match live.dry_run_patch_pod(ns, name, &patch).await {
            Ok(after) => {
                // The labels the pod would have: NEW's, and those set
                // otherwise that the apply leaves.
                let labels = labels_of(&after);
                for p in new.pods.iter_mut().filter(|p| {
                    !p.representative && p.namespace == current.namespace && p.name == *name
                }) {
                    p.labels = labels.clone();
                }
            }
            Err(Error::Rejected(m)) => return Err(rejected("Pod", Some(ns), name, &m)),
            Err(e @ Error::Forbidden(_)) => {
                refused.push(format!("Pod {ns}/{name}"));
                refusal.get_or_insert(first_line(&e.to_string()).to_string());
            }
            Err(e) => return Err(e),
        }
    }
    // Workloads: the server checks the change; their live pods stay as
    // they are unless the apply rolls them out.
    let mut keep = BTreeSet::new();
    let mut unsure = Vec::new();
    for ((kind, ns, name), modified) in &input.objects {
        if kind == "Namespace" || kind == "Pod" {
            continue;
        }
        let w = crate::snapshot::WorkloadRef {
            kind: kind.clone(),
            name: name.clone(),
        };
        let live_pods: Vec<&crate::snapshot::PodInfo> = cluster
            .pods
            .iter()
            .filter(|q| q.namespace == *ns && !q.representative && q.workload.as_ref() == Some(&w))
            .collect();
        // NEW's template as a pod (absent when NEW holds the pods too).
        let template = new
            .pods
            .iter()
            .find(|p| p.representative && p.namespace == *ns && p.workload.as_ref() == Some(&w));
        // Whether a rollout would change what the live pods are.
        let relabels = |t: &crate::snapshot::PodInfo| {
            live_pods.iter().any(|q| {
                let r = rolled_out(q, t);
                (&r.labels, &r.ports, &r.init_ports, r.host_network)
                    != (&q.labels, &q.ports, &q.init_ports, q.host_network)
            })
        };
        let current = match live.workload_object(ns, kind, name).await {
            Ok(Some(c)) => c,
            // Created by the apply: nothing of it runs yet.
            Ok(None) => {
                created
                    .check(live, &creating, kind, Some(ns), name, modified)
                    .await?;
                continue;
            }
            Err(e @ Error::Forbidden(_)) => {
                if let Some(t) = template
                    && relabels(t)
                {
                    notes.push(format!(
                        "{} in namespace {ns} could not be read ({}): whether the apply rolls its pods out (they get NEW's template labels, labels added by hand dropped) or leaves them as they are is unknown: their connections that differ between the two are listed as undecided",
                        w.display(),
                        first_line(&e.to_string())
                    ));
                    unsure.push((ns.clone(), w.clone()));
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        let original = last_applied(
            serde_json::from_value::<BTreeMap<String, String>>(
                current["metadata"]["annotations"].clone(),
            )
            .ok()
            .as_ref(),
        );
        let patch = apply_patch(original.as_ref(), modified);
        let after = match live.dry_run_patch_workload(ns, kind, name, &patch).await {
            Ok(v) => Some(v),
            Err(Error::Rejected(m)) => {
                return Err(rejected(kind, Some(ns), name, &m));
            }
            Err(e @ Error::Forbidden(_)) => {
                refused.push(format!("{kind} {ns}/{name}"));
                refusal.get_or_insert(first_line(&e.to_string()).to_string());
                None
            }
            Err(e) => return Err(e),
        };
        let (Some(t), false) = (template, live_pods.is_empty()) else {
            continue;
        };
        let merged = after
            .clone()
            .unwrap_or_else(|| merge_patch(&current, &patch));
        match rollout(kind, &current, after.as_ref(), &merged, &patch, t) {
            Rollout::None => {
                keep.insert((ns.clone(), t.name.clone()));
            }
            Rollout::Held(why) => {
                keep.insert((ns.clone(), t.name.clone()));
                if relabels(t) {
                    notes.push(format!(
                        "{} in namespace {ns}: NEW changes its pod template, but {why}: its pods keep their labels and ports; pods it starts later get the template's",
                        w.display()
                    ));
                }
            }
            Rollout::Replaces => {
                let dropped: BTreeSet<String> = live_pods
                    .iter()
                    .flat_map(|q| {
                        let r = rolled_out(q, t);
                        q.labels
                            .iter()
                            .filter(move |(k, v)| r.labels.get(*k) != Some(*v))
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                    })
                    .collect();
                if !dropped.is_empty() {
                    notes.push(format!(
                        "{} in namespace {ns}: the apply changes its pod template, so its pods are replaced (a rollout); the new pods carry the template's labels, without {}",
                        w.display(),
                        dropped.into_iter().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }
    }
    if let Some(why) = refusal {
        notes.push(format!(
            "the server did not check the apply of {} ({why}): computed here as kubectl apply would patch the live object{}",
            refused.join(", "),
            if refused.len() == 1 { "" } else { "s" }
        ));
    }
    notes.extend(created.notes());
    new.pods
        .retain(|p| !keep.contains(&(p.namespace.clone(), p.name.clone())));
    Ok((notes, unsure))
}

/// The objects of NEW that do not exist live, as the server's dry-run
/// creation finds them: what it could not check, and why.
#[derive(Default)]
struct Created {
    /// Refused (RBAC): the objects, and the first refusal.
    refused: Vec<String>,
    refusal: Option<String>,
    /// In a namespace the same apply creates.
    in_new_namespace: Vec<String>,
}

impl Created {
    /// Sends the creation of `object` as a dry run: the server's rejection
    /// is the error (as `kubectl apply` fails); a refusal is noted.
    async fn check(
        &mut self,
        live: &crate::source::live::Live,
        creating: &BTreeSet<String>,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        object: &serde_json::Value,
    ) -> Result<(), Error> {
        let who = match namespace {
            Some(ns) => format!("{kind} {ns}/{name}"),
            None => format!("{kind} {name}"),
        };
        if namespace.is_some_and(|ns| creating.contains(ns)) {
            self.in_new_namespace.push(who);
            return Ok(());
        }
        match live.dry_run_create(namespace, kind, object).await {
            Ok(_) => Ok(()),
            Err(Error::Rejected(m)) => Err(rejected(kind, namespace, name, &m)),
            Err(e @ Error::Forbidden(_)) => {
                self.refused.push(who);
                self.refusal
                    .get_or_insert(first_line(&e.to_string()).to_string());
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn notes(self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(why) = self.refusal {
            notes.push(format!(
                "the server did not check the creation of {} ({why}): taken as NEW writes {}",
                self.refused.join(", "),
                if self.refused.len() == 1 {
                    "it"
                } else {
                    "them"
                }
            ));
        }
        if !self.in_new_namespace.is_empty() {
            notes.push(format!(
                "the server could not check the creation of {}: {} namespace is created by the same apply (a dry run creates nothing)",
                self.in_new_namespace.join(", "),
                if self.in_new_namespace.len() == 1 { "its" } else { "their" }
            ));
        }
        notes
    }
}

/// The server's rejection of one object of NEW, as an error naming it.
fn rejected(kind: &str, namespace: Option<&str>, name: &str, message: &str) -> Error {
    let who = match namespace {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    };
    Error::Rejected(format!(
        "the API server rejects the apply of {kind} {who} (server dry run): {message}"
    ))
}

/// What an apply does to a workload's live pods.
#[derive(Debug, PartialEq, Eq)]
enum Rollout {
    /// The pod template does not change: the pods stay as they are.
    None,
    /// The template changes but the pods are not replaced (why).
    Held(&'static str),
    /// The template changes and the controller replaces the pods.
    Replaces,
}

/// Whether applying `patch` to the live workload `current` changes its pod
/// template, and whether its controller then replaces the pods.
/// `after` is the server's dry-run answer, when there is one: the
/// template changes when it differs from the live one (the image, say).
/// Without it, when some field NEW sets in the template differs from the
/// live template. Either way a template whose labels, ports or host
/// network differ from NEW's (`t`) changes. `merged` is the workload after
/// the apply (the dry run's answer, or the patch applied here).
fn rollout(
    kind: &str,
    current: &serde_json::Value,
    after: Option<&serde_json::Value>,
    merged: &serde_json::Value,
    patch: &serde_json::Value,
    t: &crate::snapshot::PodInfo,
) -> Rollout {
    let pointer = if kind == "CronJob" {
        "/spec/jobTemplate/spec/template"
    } else {
        "/spec/template"
    };
    let live_template = current.pointer(pointer);
    let changes = match after {
        Some(a) => a.pointer(pointer) != live_template,
        None => !json_within(patch.pointer(pointer), live_template),
    } || template_pod(live_template, t).is_none_or(|live| !same_template(&live, t));
    if !changes {
        return Rollout::None;
    }
    let strategy = |path: &str| merged.pointer(path).and_then(serde_json::Value::as_str);
    match kind {
        "Deployment" if merged.pointer("/spec/paused") == Some(&serde_json::Value::Bool(true)) => {
            Rollout::Held("the Deployment is paused")
        }
        "Deployment" => Rollout::Replaces,
        "StatefulSet" | "DaemonSet"
            if strategy("/spec/updateStrategy/type") == Some("OnDelete") =>
        {
            Rollout::Held("its updateStrategy is OnDelete (pods are replaced only when deleted)")
        }
        "StatefulSet" | "DaemonSet" => Rollout::Replaces,
        "Job" | "CronJob" => Rollout::Held("a job's running pods are not replaced"),
        _ => {
            Rollout::Held("its controller does not replace running pods when the template changes")
        }
    }
}

/// Whether every field `patch` sets is already so in `live` (`null`: the
/// field is absent), lists element by element (the order directives of a
/// strategic merge patch left out; an entry it deletes is a change):
/// applying it changes nothing there.
fn json_within(patch: Option<&serde_json::Value>, live: Option<&serde_json::Value>) -> bool {
    use serde_json::Value;
    match (patch, live) {
        (None, _) => true,
        (Some(Value::Null), l) => l.is_none_or(Value::is_null),
        (Some(Value::Object(p)), Some(Value::Object(l))) => p
            .iter()
            .filter(|(k, _)| !k.starts_with("$setElementOrder/"))
            .all(|(k, v)| json_within(Some(v), l.get(k))),
        // An entry the patch deletes (`$patch: delete`) changes the list.
        (Some(Value::Array(p)), _) if p.iter().any(|x| x.get("$patch").is_some()) => false,
        (Some(Value::Array(p)), Some(Value::Array(l))) => {
            p.len() == l.len() && p.iter().zip(l).all(|(a, b)| json_within(Some(a), Some(b)))
        }
        (Some(p), Some(l)) => p == l,
        (Some(_), None) => false,
    }
}

/// A pod template (JSON) as a representative pod like `t`, for
/// [`same_template`].
fn template_pod(
    template: Option<&serde_json::Value>,
    t: &crate::snapshot::PodInfo,
) -> Option<crate::snapshot::PodInfo> {
    use k8s_openapi::api::core::v1::PodTemplateSpec;
    use serde::Deserialize;
    let spec = PodTemplateSpec::deserialize(template?).ok()?;
    let pod = spec.spec.as_ref();
    Some(crate::snapshot::PodInfo {
        labels: spec
            .metadata
            .as_ref()
            .and_then(|m| m.labels.clone())
            .unwrap_or_default(),
        ports: pod
            .map(crate::snapshot::container_ports)
            .unwrap_or_default(),
        init_ports: pod
            .map(crate::snapshot::init_container_ports)
            .unwrap_or_default(),
        host_network: pod.and_then(|s| s.host_network).unwrap_or(false),
        ..t.clone()
    })
}

/// Without -R a directory's subdirectories are not read (as `kubectl
/// apply -f DIR`, which says nothing): a note naming those that hold
/// manifests (`.yaml`, `.yml`, `.json` at any depth).
fn skipped_subdirectories(path: &str) -> Option<String> {
    let entries = std::fs::read_dir(path).ok()?;
    let mut skipped: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter(|e| {
            walkdir::WalkDir::new(e.path())
                .max_depth(16)
                .into_iter()
                .filter_map(Result::ok)
                .take(10_000)
                .any(|f| {
                    f.file_type().is_file()
                        && matches!(
                            f.path().extension().and_then(|x| x.to_str()),
                            Some("yaml" | "yml" | "json")
                        )
                })
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if skipped.is_empty() {
        return None;
    }
    skipped.sort();
    Some(clean(&format!(
        "note: {path}: subdirectories not read without -R (as kubectl -f DIR): {}",
        skipped.join(", ")
    )))
}

/// `metadata.labels` of an object the server answered with (string
/// values only; none when absent).
fn labels_of(object: &serde_json::Value) -> crate::snapshot::Labels {
    match &object["metadata"]["labels"] {
        serde_json::Value::Object(m) => m
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect(),
        _ => Default::default(),
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

/// How a change is classed (kubectl diff's `+`, `-`, and `~` for ports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Added,
    Removed,
    Changed,
}

impl Kind {
    fn of(before: u32, after: u32) -> Kind {
        if before == PortSets::EMPTY {
            Kind::Added
        } else if after == PortSets::EMPTY {
            Kind::Removed
        } else {
            Kind::Changed
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Kind::Added => "added",
            Kind::Removed => "removed",
            Kind::Changed => "changed",
        }
    }
}

/// One entry of `changes` or `external` in JSON.
#[derive(Debug, Serialize)]
struct ChangeJson<'a> {
    from: String,
    to: String,
    change: &'static str,
    before: Option<PortsJson>,
    after: Option<PortsJson>,
    /// Set when the pair's ports differ between the address families it
    /// may use (dual-stack ends): the families whose ports change;
    /// `before`/`after` are then the union over the families.
    #[serde(skip_serializing_if = "Option::is_none")]
    families: Option<Vec<FamilyJson>>,
    reasons: &'a [String],
}

#[derive(Debug, Serialize)]
struct FamilyJson {
    family: &'static str,
    change: &'static str,
    before: Option<PortsJson>,
    after: Option<PortsJson>,
}

/// The JSON/YAML document: `{complete, changes, external, undecided,
/// notes}`, each entry made as it is written (a diff of millions of pairs
/// is never held as JSON values).
struct DiffJson<'a, 'd> {
    d: &'a Diff<'d>,
    /// False when some pairs or policies were not compared (see `notes`
    /// and `undecided`): `changes: []` then does not mean "no change".
    complete: bool,
    notes: Vec<String>,
}

/// Which list of the document a [`Entries`] writes.
#[derive(Clone, Copy)]
enum List {
    Changes,
    External,
    /// Pairs whose answer depends on what could not be known and may
    /// change; `before`/`after` are the ports allowed for certain.
    Undecided,
}

/// One list of [`DiffJson`], serialized entry by entry.
struct Entries<'a, 'd>(&'a Diff<'d>, List);

impl Serialize for DiffJson<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut doc = s.serialize_struct("DiffJson", 5)?;
        doc.serialize_field("complete", &self.complete)?;
        doc.serialize_field("changes", &Entries(self.d, List::Changes))?;
        doc.serialize_field("external", &Entries(self.d, List::External))?;
        doc.serialize_field("undecided", &Entries(self.d, List::Undecided))?;
        doc.serialize_field("notes", &self.notes)?;
        doc.end()
    }
}

impl Serialize for Entries<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let key = |u: u32| d.pods[u as usize].pod().ref_key();
        let entry = |from: String, to: String, before: u32, after: u32, reasons: u32| ChangeJson {
            from,
            to,
            change: Kind::of(before, after).as_str(),
            before: ports_json(&d.sets, before),
            after: ports_json(&d.sets, after),
            families: None,
            reasons: &d.reasons[reasons as usize],
        };
        match self.1 {
            List::Changes => s.collect_seq(d.changes.iter().map(|c| {
                let mut e = entry(key(c.from), key(c.to), c.before, c.after, c.reasons);
                e.families = d.per_family.get(&(c.from, c.to)).map(|list| {
                    list.iter()
                        .map(|&(f, b, a)| FamilyJson {
                            family: f.as_str(),
                            change: Kind::of(b, a).as_str(),
                            before: ports_json(&d.sets, b),
                            after: ports_json(&d.sets, a),
                        })
                        .collect()
                });
                e
            })),
            List::External => s.collect_seq(d.external.iter().map(|e| {
                let (from, to) = match e.direction {
                    Direction::Egress => (key(e.pod), e.addresses.clone()),
                    Direction::Ingress => (e.addresses.clone(), key(e.pod)),
                };
                entry(from, to, e.before, e.after, e.reasons)
            })),
            List::Undecided => s.collect_seq(d.maybe.iter().map(|c| {
                let mut e = entry(key(c.from), key(c.to), c.before, c.after, c.reasons);
                e.change = "undecided";
                e
            })),
        }
    }
}

/// A line of the text output: one pair, or pods of one workload.
struct Line {
    kind: Kind,
    /// The pod pair of a line about one pair (for its per-family ports).
    pair: Option<(u32, u32)>,
    from: String,
    to: String,
    before: u32,
    after: u32,
    reasons: u32,
}

fn report(ctx: &Context, mut sides: Sides, out: &mut dyn Output) -> Result<Outcome, Error> {
    let default = ctx
        .global
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let (mo, mn) = (
        Model::new(&sides.old, &default),
        Model::new(&sides.new, &default),
    );
    let mut d = diff(&mo, &mn);
    let mut notes = std::mem::take(&mut sides.notes);
    let alternative = sides
        .alternative
        .as_ref()
        .map(|(alt, unsure)| (Model::new(alt, &default), unsure));
    // Undecided pairs so far: those a namespace's labels or a pod without
    // IP leave open; those after: the workloads that could not be read.
    let maybe_before = d.maybe.len();
    if let Some((ma, unsure)) = &alternative {
        // The pods of workloads the apply may or may not roll out: pairs
        // whose answer depends on it are undecided.
        let da = diff(&mo, ma);
        let flags: Vec<bool> = d
            .pods
            .iter()
            .map(|p| {
                p.old.is_some_and(|q| {
                    !q.representative
                        && unsure
                            .iter()
                            .any(|(ns, w)| q.namespace == *ns && q.workload.as_ref() == Some(w))
                })
            })
            .collect();
        let pods = &d.pods;
        let names: Vec<String> = pods.iter().map(|p| p.pod().ref_key()).collect();
        let owner = |u: u32| {
            pods[u as usize]
                .pod()
                .workload
                .as_ref()
                .map(|w| format!("{}/{}", pods[u as usize].pod().namespace, w.display()))
                .unwrap_or_default()
        };
        let owners: Vec<String> = (0..pods.len() as u32).map(owner).collect();
        let why = |u: u32, v: u32, rolled: &str, kept: &str| {
            let who: Vec<&str> = [u, v]
                .into_iter()
                .filter(|x| flags[*x as usize])
                .map(|x| owners[x as usize].as_str())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            format!(
                "whether the apply replaces the pods of {} is unknown (not readable): {rolled} if it does (NEW's template labels), {kept} if not (their live labels)",
                who.join(" and "),
            )
        };
        let dropped = undecided_between(&mut d, &da, &flags, &why);
        if !dropped.is_empty() {
            notes.push(format!(
                "addresses outside the cluster: the access of {} depends on whether the apply replaces its pods, which is unknown: not listed",
                dropped
                    .iter()
                    .map(|u| names[*u as usize].as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let by_rollout = d.maybe.len().saturating_sub(maybe_before);
    let by_existence = existence_unknown(&mut d, &sides.unknown_existence, &mut notes);
    let mut warnings = std::mem::take(&mut sides.warnings);
    warnings.extend(sides.old.gaps.cluster_policy_warning());
    for (m, name) in [(&mo, &sides.old_name), (&mn, &sides.new_name)] {
        for p in &m.invalid {
            let errors: Vec<String> = p.errors.iter().map(ToString::to_string).collect();
            warnings.push(format!(
                "warning: {name}: NetworkPolicy {:?} is invalid; the API server would reject it: {}",
                p.key,
                errors.join("; ")
            ));
        }
    }
    let (cluster, namespaced): (Vec<_>, Vec<_>) = d
        .policies
        .iter()
        .partition(|(k, _)| crate::engine::diff::is_cluster_key(k));
    for (what, list) in [
        ("NetworkPolicies", namespaced),
        ("Cluster policies", cluster),
    ] {
        if !list.is_empty() {
            notes.push(format!(
                "{what} that differ: {}",
                list.iter()
                    .map(|(k, c)| format!("{k} ({})", c.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    for (ns, why) in &d.undecided {
        let count = d.pods.iter().filter(|p| p.pod().namespace == *ns).count();
        notes.push(format!(
            "not compared: connections to and from the {count} pod{} of namespace {ns} ({})",
            if count == 1 { "" } else { "s" },
            why.join("; ")
        ));
    }
    let others = d.maybe.len() - by_rollout - by_existence;
    let pairs = |n: usize| {
        format!(
            "{n} pair{} may change: {} depend{}",
            if n == 1 { "" } else { "s" },
            if n == 1 {
                "its answer"
            } else {
                "their answers"
            },
            if n == 1 { "s" } else { "" },
        )
    };
    if others > 0 {
        notes.push(format!(
            "undecided: {} on a namespace whose labels were not read or a pod without IP{} (listed under \"May change\")",
            pairs(others),
            if mo.cluster_policies.is_empty() && mn.cluster_policies.is_empty()
                && mo.cluster_invalid.is_empty() && mn.cluster_invalid.is_empty()
            {
                ""
            } else {
                ", or on a cluster policy rule by domainNames or nodes, an invalid cluster policy or equal priorities"
            }
        ));
    }
    if by_rollout > 0
        && let Some((_, unsure)) = &sides.alternative
    {
        let who: Vec<String> = unsure
            .iter()
            .map(|(ns, w)| format!("{ns}/{}", w.display()))
            .collect();
        notes.push(format!(
            "undecided: {} on whether the apply replaces the pods of {}, which could not be read (listed under \"May change\")",
            pairs(by_rollout),
            who.join(", ")
        ));
    }
    if by_existence > 0 {
        let who: BTreeSet<String> = sides
            .unknown_existence
            .iter()
            .map(|(ns, w)| format!("{ns}/{}", w.display()))
            .collect();
        notes.push(format!(
            "undecided: {} on whether {} exist{} already, which could not be read (listed under \"May change\")",
            pairs(by_existence),
            who.into_iter().collect::<Vec<_>>().join(", "),
            if sides.unknown_existence.len() == 1 { "s" } else { "" },
        ));
    }
    for u in &d.unselecting {
        let side = |s: &Option<String>| s.clone().unwrap_or_else(|| "absent".to_string());
        let what = if crate::engine::diff::is_cluster_key(&u.key) {
            "cluster policy"
        } else {
            "NetworkPolicy"
        };
        notes.push(format!(
            "not compared: {what} {} ({}) selects no pod {}: before: {}; after: {}",
            u.key,
            u.change.as_str(),
            if sides.offline {
                "in the manifests, so what it changes could not be compared"
            } else {
                "in the cluster: no connection changes until pods it selects exist"
            },
            side(&u.before),
            side(&u.after)
        ));
    }
    notes.extend(ipblock_notes(&mo, &mn, &d, &|| {
        if sides.offline {
            crate::engine::lint::cni::CniFacts::default()
        } else {
            crate::cmd::lint::cni_facts(ctx)
        }
    }));
    notes.extend(sides.gaps.iter().cloned());
    let mut missing = Vec::new();
    if !d.undecided.is_empty() || !sides.gaps.is_empty() {
        missing.push("some pods were not compared".to_string());
    }
    // Cluster policies served but not readable: any pair may be decided
    // by them, on either side.
    if sides.old.gaps.cluster_policies.is_some() {
        missing
            .push("the cluster policies (Admin and Baseline tiers) could not be read".to_string());
        notes.push(
            "not compared: the cluster-scoped policies (ClusterNetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy) could not be read; they may decide any connection listed here or not, before and after (see the warning)"
                .to_string(),
        );
    }
    missing.extend(sides.incomplete.iter().cloned());
    if !d.maybe.is_empty() {
        missing.push(format!(
            "{} pair{} may change (undecided)",
            d.maybe.len(),
            if d.maybe.len() == 1 { "" } else { "s" }
        ));
    }
    if d.external_undecided > 0 {
        missing.push(format!(
            "{} address range{} outside the pods may change (undecided)",
            d.external_undecided,
            if d.external_undecided == 1 { "" } else { "s" }
        ));
        notes.push(format!(
            "not compared: {} address range{} outside the pods whose access differs on ports a cluster policy leaves undecided on a side (a rule by domainNames, which only the data plane resolves; an invalid cluster policy; a node whose labels were not read); ask `kubectl netpol can POD ADDRESS` for one",
            d.external_undecided,
            if d.external_undecided == 1 { "" } else { "s" }
        ));
    }
    let unselecting = if sides.offline {
        d.unselecting.len()
    } else {
        0
    };
    if unselecting > 0 {
        missing.push(format!(
            "{unselecting} {}{} select{} no pod in the input",
            if d.unselecting
                .iter()
                .any(|u| crate::engine::diff::is_cluster_key(&u.key))
            {
                "polic"
            } else {
                "NetworkPolic"
            },
            if unselecting == 1 { "y" } else { "ies" },
            if unselecting == 1 { "s" } else { "" }
        ));
    }
    let changed = !d.changes.is_empty() || !d.external.is_empty();
    let code = if !missing.is_empty() {
        warnings.push(format!(
            "error: not everything could be compared ({}); {} (see the notes)",
            missing.join(", "),
            if changed {
                "the changes found are listed"
            } else {
                "no change found among the pairs compared"
            }
        ));
        exit::DIFF_ERROR
    } else if changed {
        exit::CHANGES
    } else {
        exit::OK
    };
    let format = ctx.format();
    if matches!(format, OutputFormat::Json | OutputFormat::Yaml) {
        // Streamed: warnings first (as main prints them), then the document.
        let doc = DiffJson {
            d: &d,
            complete: missing.is_empty(),
            notes,
        };
        out.warnings(&warnings);
        let stdout = out.stdout();
        if format == OutputFormat::Json {
            write_json(stdout, &doc)
        } else {
            write_yaml(stdout, &doc)
        }
        .map_err(Error::Output)?;
        return Ok(Outcome {
            stdout: String::new(),
            warnings: Vec::new(),
            code,
        });
    }
    let stdout = render_text(
        &d,
        &notes,
        &missing,
        format == OutputFormat::Wide,
        ctx.palette,
    );
    Ok(Outcome {
        stdout,
        warnings,
        code,
    })
}

/// The stand-ins of workloads of NEW without live pods whose live object
/// could not be read: the workload may exist already (at 0 replicas, with
/// these connections) or not. Their pairs move from `changes` into
/// `maybe` (nothing for certain before, the answer after); their address
/// ranges are dropped, with a note. Returns how many pairs moved.
fn existence_unknown(
    d: &mut Diff<'_>,
    unknown: &[(String, crate::snapshot::WorkloadRef)],
    notes: &mut Vec<String>,
) -> usize {
    if unknown.is_empty() {
        return 0;
    }
    let flags: Vec<bool> = d
        .pods
        .iter()
        .map(|p| {
            p.old.is_none()
                && p.new.is_some_and(|q| {
                    q.representative
                        && unknown
                            .iter()
                            .any(|(ns, w)| q.namespace == *ns && q.workload.as_ref() == Some(w))
                })
        })
        .collect();
    let hit = |u: u32| flags[u as usize];
    let (moved, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut d.changes)
        .into_iter()
        .partition(|c| hit(c.from) || hit(c.to));
    d.changes = kept;
    let count = moved.len();
    for mut c in moved {
        let who: BTreeSet<String> = [c.from, c.to]
            .into_iter()
            .filter(|u| hit(*u))
            .map(|u| d.pods[u as usize].pod().ref_key())
            .collect();
        let reason = d.reasons.len() as u32;
        d.reasons.push(vec![format!(
            "whether {} exists already (live, without pods) could not be read: if it does, this may be its connection today",
            who.into_iter().collect::<Vec<_>>().join(" and ")
        )]);
        c.before = PortSets::EMPTY;
        c.reasons = reason;
        d.maybe.push(c);
    }
    d.maybe.sort_unstable_by_key(|c| (c.from, c.to));
    let dropped: BTreeSet<String> = d
        .external
        .iter()
        .filter(|e| hit(e.pod))
        .map(|e| d.pods[e.pod as usize].pod().ref_key())
        .collect();
    if !dropped.is_empty() {
        d.external.retain(|e| !hit(e.pod));
        notes.push(format!(
            "addresses outside the cluster: the access of {} depends on whether {} exist{} already, which could not be read: not listed",
            dropped.iter().cloned().collect::<Vec<_>>().join(", "),
            if dropped.len() == 1 { "it" } else { "they" },
            if dropped.len() == 1 { "s" } else { "" },
        ));
    }
    count
}

/// What `can` adds when an answer rests on an ipBlock holding a pod's IP
/// (whether the CNI matches ipBlocks against pod IPs: Calico does, Cilium
/// and GKE Dataplane V2 do not): one note per such rule, on either side
/// of the listed pod pairs, with how many of them rest on it.
fn ipblock_notes(
    old: &Model<'_>,
    new: &Model<'_>,
    d: &Diff<'_>,
    cni: &dyn Fn() -> crate::engine::lint::cni::CniFacts,
) -> Vec<String> {
    use crate::engine::lint::cni::{IpBlockRule, ipblock_decisions};
    use crate::engine::policy::Peer;
    use crate::engine::verdict::{Endpoint, connection};
    // Only when some ipBlock holds some pod's IP, on either side.
    let holds_pods = |m: &Model<'_>| {
        m.policies
            .iter()
            .flat_map(Policy::peers)
            .any(|peer| matches!(peer, Peer::IpBlock(b) if !m.pods_in_block(b).is_empty()))
    };
    if d.changes.is_empty() || !(holds_pods(old) || holds_pods(new)) {
        return Vec::new();
    }
    // (direction, policy, rule, blocks) -> (first rule, pairs resting on it)
    type RuleKey = (&'static str, String, usize, Vec<String>);
    let mut rules: BTreeMap<RuleKey, (IpBlockRule, usize)> = BTreeMap::new();
    for c in &d.changes {
        let (a, b) = (d.pods[c.from as usize], d.pods[c.to as usize]);
        let mut seen: BTreeSet<RuleKey> = BTreeSet::new();
        for (m, x, y) in [(old, a.old, b.old), (new, a.new, b.new)] {
            let (Some(x), Some(y)) = (x, y) else { continue };
            let (from, to) = (Endpoint::Pod(x), Endpoint::Pod(y));
            let v = connection(m, &from, &to);
            if v.node.is_some() {
                continue;
            }
            // Only the ports whose answer changes.
            let (before, after) = (d.sets.get(c.before), d.sets.get(c.after));
            let mut changed = before.subtract(after);
            changed.union_with(&after.subtract(before));
            for r in ipblock_decisions(m, &v, &from, &to, Some(&changed)) {
                let key = (
                    r.direction.as_str(),
                    r.policy.clone(),
                    r.rule,
                    r.blocks.clone(),
                );
                if seen.insert(key.clone()) {
                    rules.entry(key).or_insert((r, 0)).1 += 1;
                }
            }
        }
    }
    if rules.is_empty() {
        return Vec::new();
    }
    let cni = cni();
    rules
        .into_values()
        .map(|(r, n)| {
            format!(
                "{n} listed pod pair{} rest{} on an ipBlock matching a pod's IP: {}",
                if n == 1 { "" } else { "s" },
                if n == 1 { "s" } else { "" },
                r.note(&cni)
            )
        })
        .collect()
}

fn ports_json(sets: &PortSets, id: u32) -> Option<PortsJson> {
    (id != PortSets::EMPTY).then(|| PortsJson::of(sets.get(id)))
}

/// Text lines: one per pair, or (unless `wide`) one per workload whose
/// pods all change alike, on either end.
fn lines(d: &Diff<'_>, wide: bool) -> Vec<Line> {
    // Pods are named once each; workloads are numbered, so that grouping
    // millions of pairs compares integers, not strings.
    let labels: Vec<String> = d.pods.iter().map(|p| clean(&p.pod().ref_key())).collect();
    let label = |u: u32| labels[u as usize].clone();
    let mut workload_ids: HashMap<(&str, &str, &str), u32> = HashMap::new();
    let mut workload_names: Vec<String> = Vec::new();
    let mut sizes: Vec<usize> = Vec::new();
    let workload_of: Vec<Option<u32>> = d
        .pods
        .iter()
        .map(|p| {
            let pod = p.pod();
            let w = pod.workload.as_ref().filter(|_| !pod.representative)?;
            let id = *workload_ids
                .entry((pod.namespace.as_str(), w.kind.as_str(), w.name.as_str()))
                .or_insert_with(|| {
                    workload_names.push(format!(
                        "{}/{}/{}",
                        pod.namespace,
                        w.kind.to_lowercase(),
                        w.name
                    ));
                    sizes.push(0);
                    (workload_names.len() - 1) as u32
                });
            sizes[id as usize] += 1;
            Some(id)
        })
        .collect();
    let workload = |u: u32| if wide { None } else { workload_of[u as usize] };
    // A group: every pod of a workload (and at least two), on one end.
    let whole = |w: Option<u32>, n: usize| w.filter(|&w| n >= 2 && sizes[w as usize] == n);
    let group_label =
        |w: u32, n: usize| clean(&format!("{} ({n} pods)", workload_names[w as usize]));
    let mut out = Vec::new();
    // Sources first: (to, before, after, reasons, source workload) ->
    // sources; then destinations alike for what is left.
    /// (to, before, after, reasons, source workload).
    type BySource = (u32, u32, u32, u32, Option<u32>);
    /// (source group, source pod, before, after, reasons, destination
    /// workload): one of the first two is set.
    type ByDest = (Option<u32>, Option<u32>, u32, u32, u32, Option<u32>);
    /// (direction, addresses, before, after, reasons, pod workload).
    type ByPod<'a> = (Direction, &'a str, u32, u32, u32, Option<u32>);
    let mut by_source: HashMap<BySource, Vec<u32>> = HashMap::new();
    for c in &d.changes {
        by_source
            .entry((c.to, c.before, c.after, c.reasons, workload(c.from)))
            .or_default()
            .push(c.from);
    }
    // (source group or None, source pod or None, to, before, after, reasons)
    let mut by_dest: HashMap<ByDest, Vec<u32>> = HashMap::new();
    for ((t, b, a, r, w), froms) in by_source {
        match whole(w, froms.len()) {
            Some(w) => by_dest
                .entry((Some(w), None, b, a, r, workload(t)))
                .or_default()
                .push(t),
            None => {
                for f in froms {
                    by_dest
                        .entry((None, Some(f), b, a, r, workload(t)))
                        .or_default()
                        .push(t);
                }
            }
        }
    }
    for ((group, f, b, a, r, w), tos) in by_dest {
        let from = match (group, f) {
            (Some(g), _) => group_label(g, sizes[g as usize]),
            (None, Some(f)) => label(f),
            (None, None) => unreachable!("a line has a source"),
        };
        match whole(w, tos.len()) {
            Some(w) => out.push(Line {
                kind: Kind::of(b, a),
                pair: None,
                from,
                to: group_label(w, tos.len()),
                before: b,
                after: a,
                reasons: r,
            }),
            None => {
                for t in tos {
                    out.push(Line {
                        kind: Kind::of(b, a),
                        pair: f.map(|f| (f, t)),
                        from: from.clone(),
                        to: label(t),
                        before: b,
                        after: a,
                        reasons: r,
                    });
                }
            }
        }
    }
    // Addresses: grouped by pod workload the same way (sources or
    // destinations are pods).
    let mut by_pod: HashMap<ByPod<'_>, Vec<u32>> = HashMap::new();
    for e in &d.external {
        by_pod
            .entry((
                e.direction,
                e.addresses.as_str(),
                e.before,
                e.after,
                e.reasons,
                workload(e.pod),
            ))
            .or_default()
            .push(e.pod);
    }
    for ((dir, addresses, b, a, r, w), pods) in by_pod {
        let names: Vec<String> = match whole(w, pods.len()) {
            Some(w) => vec![group_label(w, pods.len())],
            None => pods.iter().map(|&u| label(u)).collect(),
        };
        for name in names {
            let (from, to) = match dir {
                Direction::Egress => (name, addresses.to_string()),
                Direction::Ingress => (addresses.to_string(), name),
            };
            out.push(Line {
                kind: Kind::of(b, a),
                pair: None,
                from,
                to,
                before: b,
                after: a,
                reasons: r,
            });
        }
    }
    // Maps were walked in no particular order: the lines are put in one.
    out.sort_by(|x, y| {
        (x.kind, &x.from, &x.to, x.before, x.after, x.reasons)
            .cmp(&(y.kind, &y.from, &y.to, y.before, y.after, y.reasons))
    });
    out
}

fn ports_text(sets: &PortSets, id: u32) -> String {
    let set = sets.get(id);
    if set.is_all() {
        "all ports".to_string()
    } else if set.is_empty() {
        "nothing".to_string()
    } else {
        set.to_strings().join(", ")
    }
}

/// What a line says of its ports: `TCP/80` (opened, closed), `A => B`
/// (changed), or family by family for a pair whose ports differ between
/// the address families (`IPv4: all ports => nothing; IPv6: nothing =>
/// all ports`).
fn change_text(d: &Diff<'_>, l: &Line) -> String {
    if let Some(families) = l.pair.and_then(|p| d.per_family.get(&p)) {
        return families
            .iter()
            .map(|(f, b, a)| {
                format!(
                    "{}: {} => {}",
                    f.as_str(),
                    ports_text(&d.sets, *b),
                    ports_text(&d.sets, *a)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    match l.kind {
        Kind::Added => ports_text(&d.sets, l.after),
        Kind::Removed => ports_text(&d.sets, l.before),
        Kind::Changed => format!(
            "{} => {}",
            ports_text(&d.sets, l.before),
            ports_text(&d.sets, l.after)
        ),
    }
}

/// Counts pod pairs and (pod, address range) entries by kind.
/// How many lines of `d` open, close and change ports: `[opened, closed,
/// changed]` (pod pairs and address ranges).
pub fn counts(d: &Diff<'_>) -> [usize; 3] {
    let mut n = [0usize; 3];
    for (b, a) in d
        .changes
        .iter()
        .map(|c| (c.before, c.after))
        .chain(d.external.iter().map(|e| (e.before, e.after)))
    {
        n[Kind::of(b, a) as usize] += 1;
    }
    n
}

/// The connectivity change in a few plain lines, for the wizard's review
/// (the same engine and the same wording as `kubectl netpol diff`): one
/// line per change (`+ frontend/web -> backend/api  TCP/8080`, `-` closed,
/// `~` changed; a workload's pods grouped), at most `limit` of them and a
/// line saying how many more, then the count line; or one line saying no
/// connection changes. Unsanitised: the caller cleans each line.
pub fn review_lines(d: &Diff<'_>, limit: usize) -> Vec<String> {
    let all = lines(d, false);
    if all.is_empty() {
        return vec!["no connection changes".to_string()];
    }
    let mut out: Vec<String> = all
        .iter()
        .take(limit)
        .map(|l| {
            let sign = match l.kind {
                Kind::Added => '+',
                Kind::Removed => '-',
                Kind::Changed => '~',
            };
            format!("{sign} {} -> {}  {}", l.from, l.to, change_text(d, l))
        })
        .collect();
    if all.len() > limit {
        out.push(format!(
            "... and {} more (kubectl netpol diff lists them all)",
            all.len() - limit
        ));
    }
    let [a, r, c] = counts(d);
    out.push(format!("{a} opened, {r} closed, {c} changed"));
    out
}

fn render_text(
    d: &Diff<'_>,
    notes: &[String],
    missing: &[String],
    wide: bool,
    pal: Palette,
) -> String {
    let mut out = String::new();
    let all = lines(d, wide);
    if !missing.is_empty() {
        out.push_str(&pal.bad(&format!(
            "Not everything was compared: {} (see the notes).",
            missing.join(", ")
        )));
        out.push('\n');
        if all.is_empty() {
            out.push_str("No change among the pairs compared.\n");
        }
    } else if all.is_empty() {
        out.push_str("No change in connectivity.\n");
        let cluster = d
            .policies
            .keys()
            .filter(|k| crate::engine::diff::is_cluster_key(k))
            .count();
        let namespaced = d.policies.len() - cluster;
        for (n, one, many) in [
            (namespaced, "NetworkPolicy", "NetworkPolicies"),
            (cluster, "cluster policy", "cluster policies"),
        ] {
            if n > 0 {
                out.push_str(&format!(
                    "{n} {} differ{}, but no connection changes.\n",
                    if n == 1 { one } else { many },
                    if n == 1 { "s" } else { "" },
                ));
            }
        }
    }
    let mut current = None;
    for l in &all {
        if current != Some(l.kind) {
            current = Some(l.kind);
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&pal.head(match l.kind {
                Kind::Added => "Opened:",
                Kind::Removed => "Closed:",
                Kind::Changed => "Changed:",
            }));
            out.push('\n');
        }
        let text = match l.kind {
            Kind::Added => pal.good(&format!("+ {} -> {}  {}", l.from, l.to, change_text(d, l))),
            Kind::Removed => pal.bad(&format!("- {} -> {}  {}", l.from, l.to, change_text(d, l))),
            Kind::Changed => pal.warn(&format!("~ {} -> {}  {}", l.from, l.to, change_text(d, l))),
        };
        out.push_str(&text);
        out.push('\n');
        for r in &d.reasons[l.reasons as usize] {
            out.push_str(&pal.dim(&format!("    {}", clean(r))));
            out.push('\n');
        }
    }
    if !d.maybe.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&pal.head("May change (undecided):"));
        out.push('\n');
        let key = |u: u32| clean(&d.pods[u as usize].pod().ref_key());
        for c in &d.maybe {
            out.push_str(&pal.warn(&format!(
                "? {} -> {}  for certain: {} => {}",
                key(c.from),
                key(c.to),
                ports_text(&d.sets, c.before),
                ports_text(&d.sets, c.after)
            )));
            out.push('\n');
            for r in &d.reasons[c.reasons as usize] {
                out.push_str(&pal.dim(&format!("    {}", clean(r))));
                out.push('\n');
            }
        }
    }
    if !notes.is_empty() {
        out.push_str("\nNotes:\n");
        for n in notes {
            out.push_str(&format!("  {}\n", clean(n)));
        }
    }
    if !all.is_empty() {
        let [a, r, c] = counts(d);
        out.push_str(&format!("\n{a} opened, {r} closed, {c} changed\n"));
    }
    out
}
