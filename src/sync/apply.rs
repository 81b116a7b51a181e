//! Carrying a [`Plan`] out, all or nothing as far as the API allows:
//! every change is checked before the first write (no collision, no drift
//! unless forced, and a server dry run of every request: RBAC, validation,
//! conflicts, fields other managers would keep), then the writes are sent
//! one by one, stopping at the first failure. The [`Report`] says, change
//! by change, what was written, what failed, and what was never sent.

use crate::error::Error;
use crate::source::live::Live;

use super::plan::{Action, Change, Plan, normal_spec, value_differences};

/// How to apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Only the server dry runs (`--dry-run=server`): nothing is stored.
    pub dry_run: bool,
    /// Take over fields other field managers own, and carry out drifted
    /// changes (`--force-conflicts`).
    pub force_conflicts: bool,
}

/// What became of one change.
#[derive(Debug)]
pub enum Outcome {
    /// Written; in a dry run, accepted by the server's dry run (nothing
    /// stored).
    Done,
    /// Never sent: the checks failed, or an earlier write did.
    NotSent,
    /// Sent and refused by the server: this change was not made.
    Refused(Error),
    /// Sent without an answer (a timeout, a broken connection): it may
    /// have been made.
    Unknown(Error),
}

/// What [`apply`] did.
#[derive(Debug)]
pub struct Report {
    /// One per change of the plan, in its order.
    pub outcomes: Vec<Outcome>,
    /// Why nothing was sent for real, when the checks before the first
    /// write failed: one line per problem (a collision, a drift without
    /// force, a dry run the server refused).
    pub refused: Vec<String>,
    /// Whether it was a dry run.
    pub dry_run: bool,
}

impl Report {
    /// Every change done (or accepted, in a dry run).
    pub fn complete(&self) -> bool {
        self.refused.is_empty() && self.outcomes.iter().all(|o| matches!(o, Outcome::Done))
    }

    /// Whether something may have been written to the cluster.
    pub fn wrote(&self) -> bool {
        !self.dry_run
            && self
                .outcomes
                .iter()
                .any(|o| matches!(o, Outcome::Done | Outcome::Unknown(_)))
    }
}

/// The conflict text for a drifted change, as kubectl's server-side apply
/// words one: `Apply failed with 1 conflict: conflict with "kubectl-edit"
/// using networking.k8s.io/v1: .spec.ingress`, or, for a spec changed
/// since sync applied it whose fields no other manager holds, that it was.
pub fn drift_text(c: &Change) -> String {
    let Some(d) = &c.drift else {
        return String::new();
    };
    let mut parts = Vec::new();
    if !d.owners.is_empty() {
        let n: usize = d.owners.iter().map(|o| o.fields.len()).sum();
        let each: Vec<String> = d
            .owners
            .iter()
            .map(|o| {
                format!(
                    "conflict{} with {:?} using networking.k8s.io/v1: {}",
                    if o.fields.len() == 1 { "" } else { "s" },
                    o.manager,
                    o.fields
                        .iter()
                        .map(|f| format!(".{f}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        parts.push(format!(
            "{} failed with {n} conflict{}: {}",
            if c.action == Action::Delete {
                "Delete"
            } else {
                "Apply"
            },
            if n == 1 { "" } else { "s" },
            each.join("; ")
        ));
    }
    if d.edited_since_applied {
        parts.push("its spec was changed since kubectl-netpol applied it".to_string());
    }
    format!(
        "networkpolicy.networking.k8s.io/{} in namespace {:?}: {}",
        c.name,
        c.namespace,
        parts.join("; ")
    )
}

/// The checks that need no request: collisions, and drift without
/// `force_conflicts`. One line per problem; empty when none.
pub fn check(plan: &Plan, options: &ApplyOptions) -> Vec<String> {
    let mut out: Vec<String> = plan
        .collisions
        .iter()
        .map(|c| {
            format!(
                "networkpolicy.networking.k8s.io/{} in namespace {:?} exists and belongs to {}, not to graph {:?}: sync never changes it (rename or delete it, or label it {}={} and {}={} to hand it to this graph)",
                c.name,
                c.namespace,
                c.owner,
                plan.graph,
                crate::engine::graph::MANAGED_BY_LABEL,
                crate::engine::graph::MANAGED_BY,
                crate::engine::graph::GRAPH_LABEL,
                plan.graph
            )
        })
        .collect();
    if !options.force_conflicts {
        out.extend(plan.drifted().map(drift_text));
    }
    out
}

/// One change's request: a server-side apply (or its dry run), a delete
/// on the preconditions of the policy read. For an apply's dry run, what
/// the server would store is compared with what is applied: fields other
/// managers own and the apply would leave in place are an error.
async fn send(live: &Live, c: &Change, dry_run: bool, force: bool) -> Result<(), Error> {
    match (c.action, &c.apply, &c.live) {
        (Action::Create | Action::Update, Some(np), _) => {
            // Taking over (--force-conflicts) includes the rule lists the
            // policy lacks, as empty: a list someone else added (an
            // allow-all `ingress: [{}]` on a deny-all) is then taken and
            // emptied, not kept as theirs.
            let taken;
            let np = if force {
                let mut t = np.clone();
                if let Some(spec) = t.spec.as_mut() {
                    spec.ingress.get_or_insert_with(Vec::new);
                    spec.egress.get_or_insert_with(Vec::new);
                }
                taken = t;
                &taken
            } else {
                np
            };
            let stored = live.apply_policy(np, dry_run, force).await?;
            if dry_run {
                let mut kept = Vec::new();
                value_differences(&normal_spec(&stored), &normal_spec(np), "spec", &mut kept);
                if !kept.is_empty() {
                    return Err(Error::Api(format!(
                        "networkpolicy.networking.k8s.io/{} in namespace {:?} cannot be made as the graph says by server-side apply: other field managers own fields it would keep ({}); remove them with kubectl edit networkpolicy {} -n {}, or delete the policy, and sync again",
                        c.name,
                        c.namespace,
                        kept.iter()
                            .map(|(p, what)| format!("{p}: {what}"))
                            .collect::<Vec<_>>()
                            .join("; "),
                        c.name,
                        c.namespace
                    )));
                }
            }
            Ok(())
        }
        (Action::Delete, _, Some(np)) => {
            live.delete_policy(
                &c.namespace,
                &c.name,
                np.metadata.uid.as_deref(),
                np.metadata.resource_version.as_deref(),
                dry_run,
            )
            .await
        }
        _ => Err(Error::Api(format!(
            "the plan's change of {} is incomplete (a bug: please report it)",
            c.key()
        ))),
    }
}

/// Whether the server answered (so the request was not carried out).
fn answered(e: &Error) -> bool {
    matches!(
        e,
        Error::Api(_)
            | Error::Forbidden(_)
            | Error::Rejected(_)
            | Error::Usage(_)
            | Error::Config(_)
    )
}

/// Carries `plan` out (see the module doc): [`check`], then [`dry_run`],
/// then (unless `options.dry_run`) [`write`]. Never fails as a whole: the
/// report says what happened to each change.
pub async fn apply(live: &Live, plan: &Plan, options: &ApplyOptions) -> Report {
    apply_with_progress(live, plan, options, &mut |_, _| {}).await
}

/// [`apply`], calling `progress` with each change's index and outcome as
/// soon as it is known (a write done, refused or unanswered; in a dry run,
/// each dry run accepted): for a log line per change as it happens.
pub async fn apply_with_progress(
    live: &Live,
    plan: &Plan,
    options: &ApplyOptions,
    progress: &mut (dyn FnMut(usize, &Outcome) + Send),
) -> Report {
    let refused = check(plan, options);
    if !refused.is_empty() {
        return Report {
            outcomes: plan.changes.iter().map(|_| Outcome::NotSent).collect(),
            refused,
            dry_run: options.dry_run,
        };
    }
    let checked = dry_run(live, plan, options).await;
    if options.dry_run {
        for (i, o) in checked.outcomes.iter().enumerate() {
            progress(i, o);
        }
        return checked;
    }
    if !checked.refused.is_empty() {
        return Report {
            outcomes: plan.changes.iter().map(|_| Outcome::NotSent).collect(),
            refused: checked.refused,
            dry_run: false,
        };
    }
    write(live, plan, options, progress).await
}

/// Every request of the plan as a server dry run (`dryRun=All`): nothing
/// is stored. Each change is [`Outcome::Done`] (the server would do it)
/// or [`Outcome::Refused`]; [`Report::refused`] has one line per refusal.
/// The report is a dry run's whatever `options.dry_run` says.
pub async fn dry_run(live: &Live, plan: &Plan, options: &ApplyOptions) -> Report {
    let mut report = Report {
        outcomes: Vec::new(),
        refused: Vec::new(),
        dry_run: true,
    };
    for c in &plan.changes {
        match send(live, c, true, options.force_conflicts).await {
            Ok(()) => report.outcomes.push(Outcome::Done),
            Err(e) => {
                // Each refusal names its policy.
                let text = e.to_string();
                let named = text.contains(&format!("/{}", c.name))
                    || text.contains(&format!("\"{}\"", c.name));
                report.refused.push(if named {
                    text
                } else {
                    format!(
                        "networkpolicy.networking.k8s.io/{} ({} in namespace {:?}): {text}",
                        c.name,
                        c.action.as_str(),
                        c.namespace
                    )
                });
                report.outcomes.push(Outcome::Refused(e));
            }
        }
    }
    report
}

/// The writes, in the plan's order, stopping at the first that fails;
/// `progress` hears of each outcome as it is known. The plan should have
/// passed [`check`] and [`dry_run`] first ([`apply`] does both).
pub async fn write(
    live: &Live,
    plan: &Plan,
    options: &ApplyOptions,
    progress: &mut (dyn FnMut(usize, &Outcome) + Send),
) -> Report {
    let mut report = Report {
        outcomes: plan.changes.iter().map(|_| Outcome::NotSent).collect(),
        refused: Vec::new(),
        dry_run: false,
    };
    for (i, c) in plan.changes.iter().enumerate() {
        match send(live, c, false, options.force_conflicts).await {
            Ok(()) => {
                report.outcomes[i] = Outcome::Done;
                progress(i, &report.outcomes[i]);
            }
            Err(e) => {
                report.outcomes[i] = if answered(&e) {
                    Outcome::Refused(e)
                } else {
                    Outcome::Unknown(e)
                };
                progress(i, &report.outcomes[i]);
                break;
            }
        }
    }
    report
}
