//! policyTypes mistakes that make rules silently do nothing:
//! `rules-outside-policy-types` (rules in a direction policyTypes leaves
//! out) and `empty-egress-without-policy-types` (an empty `egress` with
//! policyTypes omitted, which the API server turns into an ingress-only
//! policy).
//!
//! API rule (NetworkPolicySpec.policyTypes): when omitted, Ingress is
//! always in it and Egress only when `egress` has at least one rule; when
//! written, only the directions listed are isolated and the rules of the
//! other direction are ignored.

use super::{Out, written};
use crate::engine::Model;
use crate::engine::policy::Direction;
use crate::engine::summary::pods_text;

/// `rules-outside-policy-types`.
pub(super) fn rules_outside(model: &Model<'_>, pi: usize, out: &mut Out<'_>) {
    let p = &model.policies[pi];
    if !p.explicit_types {
        return;
    }
    let Some(spec) = written(model, pi) else {
        return;
    };
    let listed: Vec<&str> = Direction::BOTH
        .into_iter()
        .filter(|d| p.rules(*d).is_some())
        .map(type_name)
        .collect();
    for d in Direction::BOTH {
        if p.rules(d).is_some() {
            continue;
        }
        let count = match d {
            Direction::Ingress => spec.ingress.as_ref().map(Vec::len),
            Direction::Egress => spec.egress.as_ref().map(Vec::len),
        };
        let Some(n) = count else { continue };
        let field = d.field();
        let what = match n {
            0 => format!("`{field}: []` (deny all {field})"),
            1 => format!("the {field} rule spec.{field}[0]"),
            n => format!("the {n} {field} rules spec.{field}[0..{}]", n - 1),
        };
        let mut fixed = listed.clone();
        fixed.push(type_name(d));
        fixed.sort_unstable_by_key(|t| *t != "Ingress");
        out.push(
            "rules-outside-policy-types",
            p,
            Some(format!("spec.{field}")),
            format!(
                "policyTypes is [{}], which leaves out {}: {what} {} no effect and the {field} of {} is not restricted by this policy. Add {} to policyTypes to apply {}, or delete {}",
                listed.join(", "),
                type_name(d),
                if n <= 1 { "has" } else { "have" },
                pods_text(&p.pod_selector),
                type_name(d),
                if n <= 1 { "it" } else { "them" },
                if n <= 1 { "it" } else { "them" },
            ),
            Some(format!(
                "policyTypes:\n{}",
                fixed.iter().map(|t| format!("- {t}")).collect::<Vec<_>>().join("\n")
            )),
        );
    }
}

fn type_name(d: Direction) -> &'static str {
    match d {
        Direction::Ingress => "Ingress",
        Direction::Egress => "Egress",
    }
}

/// Whether a policy's name says it is about egress (`deny-egress`,
/// `default-deny-all`): the only sign left once the API server has
/// dropped an empty `egress:` (a live policy never shows it).
fn name_says_egress(name: &str) -> bool {
    let words: Vec<&str> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |w: &str| words.iter().any(|x| x.eq_ignore_ascii_case(w));
    has("egress")
        || ((has("all") || has("everything"))
            && (has("deny") || has("block") || has("isolate") || has("default")))
}

/// `empty-egress-without-policy-types`.
pub(super) fn empty_egress(model: &Model<'_>, pi: usize, out: &mut Out<'_>) {
    let p = &model.policies[pi];
    if p.explicit_types || p.egress.is_some() {
        return;
    }
    let spec = written(model, pi);
    let key = p.key();
    // `egress: []`, or `egress:` with no value (null: decoded as absent, as
    // the API server does, and remembered by the manifest reader).
    let written_empty = spec.is_some_and(|s| s.egress.as_ref().is_some_and(Vec::is_empty))
        || model.snapshot.null_egress.contains(&key);
    let ingress_rules = spec.and_then(|s| s.ingress.as_ref()).map_or(0, Vec::len);
    let by_name = !written_empty && ingress_rules == 0 && name_says_egress(&p.name);
    if !written_empty && !by_name {
        return;
    }
    let target = pods_text(&p.pod_selector);
    let why = if written_empty {
        "`egress` is empty and policyTypes is omitted".to_string()
    } else {
        format!(
            "the name {:?} speaks of egress, but the policy has no egress rules and omits policyTypes",
            p.name
        )
    };
    let (does, meant, hint) = if ingress_rules == 0 {
        (
            format!(
                "this policy denies all ingress to {target} and does not restrict their egress at all"
            ),
            "If you meant to deny all egress, say policyTypes: [Egress] (both directions: [Ingress, Egress])",
            "policyTypes:\n- Egress",
        )
    } else {
        (
            format!("the egress of {target} is not restricted by this policy"),
            "If you meant to deny all egress as well, say policyTypes: [Ingress, Egress]",
            "policyTypes:\n- Ingress\n- Egress",
        )
    };
    out.push(
        "empty-egress-without-policy-types",
        p,
        Some("spec.policyTypes".into()),
        format!(
            "{why}, so the API server sets policyTypes to [Ingress] (Egress is added only with at least one egress rule): {does}. {meant}"
        ),
        Some(hint.into()),
    );
}

#[cfg(test)]
mod tests {
    use super::name_says_egress;

    #[test]
    fn names_that_speak_of_egress() {
        for n in [
            "deny-egress",
            "default-deny-egress",
            "deny-all",
            "default-deny-all",
            "block_everything",
            "Egress.lockdown",
        ] {
            assert!(name_says_egress(n), "{n}");
        }
        for n in [
            "allow-web",
            "deny-ingress",
            "allow-all-from-web",
            "db-ingress",
            "tall-deny",
        ] {
            assert!(!name_says_egress(n), "{n}");
        }
    }
}
