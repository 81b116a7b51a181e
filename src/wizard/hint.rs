//! Help for what the user typed: a label selector that does not parse is
//! told what is wrong with a corrected example (`app in web`: did you mean
//! `app in (web)`?); a selector or peer that matches nothing is told the
//! nearest label sets that exist (by edit distance on `key=value`).

use std::collections::BTreeMap;

use crate::engine::selector::{Op, Selector};
use crate::snapshot::{PodInfo, Snapshot};
use crate::wizard::draft::PeerSpec;

/// What a selector is made of, said in every selector error.
pub const SELECTOR_FORMS: &str = "a selector is comma-separated requirements such as app=web, tier!=db, env in (a,b), track, !canary";

/// Parses a label selector as the wizard takes it (kubectl's syntax), with
/// an error that says what is wrong and, when one can be made, a corrected
/// example. An empty value after `=`, `==` or `!=` (`app==`) is refused
/// here although kubectl takes it: it is nearly always a slip, and it
/// would select pods whose label is set to the empty string.
pub fn parse_selector(text: &str) -> Result<Selector, String> {
    let shown = text.trim();
    match Selector::parse(text) {
        Ok(sel) => {
            if let Some(r) = sel.requirements.iter().find(|r| match &r.op {
                Op::In(v) | Op::NotIn(v) => v.iter().any(String::is_empty),
                _ => false,
            }) {
                let key = &r.key;
                return Err(format!(
                    "invalid label selector {shown:?}: {key} has no value: write {key}=VALUE (as {key}=web), {key} for pods that have the label, or !{key} for pods without it"
                ));
            }
            // It parses, but a key or value is no label's (`app=a|b`):
            // a slip with a known fix is said here; the rest the
            // validator words as the API server does.
            let invalid = sel.requirements.iter().any(|r| {
                !crate::engine::validate::label_key(&r.key).is_empty()
                    || match &r.op {
                        Op::In(v) | Op::NotIn(v) => v
                            .iter()
                            .any(|x| !crate::engine::validate::label_value(x).is_empty()),
                        _ => false,
                    }
            });
            if invalid && let Some((why, fixed)) = suggest(shown) {
                return Err(format!(
                    "invalid label selector {shown:?}: {why}: did you mean {fixed:?}?"
                ));
            }
            Ok(sel)
        }
        Err(e) => Err(match suggest(shown) {
            Some((why, fixed)) => {
                format!("invalid label selector {shown:?}: {why}: did you mean {fixed:?}?")
            }
            None if e.ends_with("values must not be empty") => {
                format!("{e}: name at least one value, as app in (web,api)")
            }
            // A key or value the API would refuse: the parser says which
            // and why.
            None if e.contains(": label key ") || e.contains(": label value ") => e,
            None => format!("invalid label selector {shown:?}: {SELECTOR_FORMS}"),
        }),
    }
}

/// One way to correct a slip: the corrected text, when it applies.
type Rewrite = fn(&str) -> Option<String>;

/// A corrected selector for a common slip, with what was wrong; only
/// returned when the correction parses.
pub fn suggest(text: &str) -> Option<(&'static str, String)> {
    let ok = |s: &str| {
        Selector::parse(s).is_ok_and(|sel| {
            !sel.is_everything()
                && sel.requirements.iter().all(|r| match &r.op {
                    Op::In(v) | Op::NotIn(v) => v.iter().all(|x| !x.is_empty()),
                    _ => true,
                })
        })
    };
    let rewrites: [(&'static str, Rewrite); 7] = [
        ("the values of in and notin go in parentheses", parenthesise),
        ("the operators are lower case", lower_operators),
        ("a label is key=value, not key: value", |s| {
            s.contains(':')
                .then(|| s.replace(": ", "=").replace(':', "="))
        }),
        ("several values are written with in", one_of_values),
        ("a negation is written key!=value", |s| {
            let rest = s.strip_prefix('!')?;
            rest.contains('=').then(|| rest.replacen('=', "!=", 1))
        }),
        ("requirements are separated by commas", |s| {
            let t = s.replace("&&", ",").replace(" and ", ",").replace('&', ",");
            let t = join_spaced(&t);
            (t != s).then_some(t)
        }),
        ("== and = take one value", |s| {
            s.contains("==").then(|| s.replace("==", "="))
        }),
    ];
    for (why, rewrite) in rewrites {
        if let Some(fixed) = rewrite(text)
            && fixed != text
            && ok(&fixed)
        {
            return Some((why, fixed));
        }
    }
    // Two slips at once (IN web: upper case and no parentheses).
    let fixed = parenthesise(&lower_operators(text).unwrap_or_else(|| text.to_string()))?;
    ok(&fixed).then_some(("the values of in and notin go in parentheses", fixed))
}

/// `app in web,api` -> `app in (web,api)`: the plain values after the
/// operator (up to the next requirement) into parentheses.
fn parenthesise(text: &str) -> Option<String> {
    for word in [" notin ", " in "] {
        if let Some(pos) = text.find(word) {
            let rest = text[pos + word.len()..].trim_start();
            if rest.starts_with('(') {
                continue;
            }
            let mut values = Vec::new();
            let mut tail = Vec::new();
            for (i, piece) in rest.split(',').enumerate() {
                let plain = !piece.contains(['=', '!', '(', ')']) && !piece.trim().contains(' ');
                if tail.is_empty() && (i == 0 || plain) {
                    values.push(piece.trim().trim_end_matches(')').to_string());
                } else {
                    tail.push(piece.to_string());
                }
            }
            let values: Vec<String> = values
                .iter()
                .flat_map(|v| v.split_whitespace().map(str::to_string))
                .collect();
            let mut fixed = format!("{}{word}({})", text[..pos].trim_end(), values.join(","));
            for t in tail {
                fixed.push(',');
                fixed.push_str(&t);
            }
            return Some(fixed);
        }
    }
    None
}

fn lower_operators(text: &str) -> Option<String> {
    let mut out = Vec::new();
    let mut changed = false;
    for w in text.split(' ') {
        let lower = w.to_ascii_lowercase();
        if (lower == "in" || lower == "notin") && w != lower {
            changed = true;
            out.push(lower);
        } else {
            out.push(w.to_string());
        }
    }
    changed.then(|| out.join(" "))
}

/// `app=(a,b)`, `app=a|b` -> `app in (a,b)`; `app!=(a,b)` -> `app notin (a,b)`.
fn one_of_values(text: &str) -> Option<String> {
    let (key, op, values) = if let Some((k, v)) = text.split_once("!=") {
        (k, "notin", v)
    } else {
        let (k, v) = text.split_once('=')?;
        (k, "in", v.trim_start_matches('='))
    };
    let values = values.trim();
    let inner = values
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .or_else(|| values.contains('|').then_some(values))?;
    let list: Vec<&str> = inner
        .split([',', '|'])
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    Some(format!("{} {op} ({})", key.trim(), list.join(",")))
}

/// `app=web tier=api` -> `app=web,tier=api` (spaces outside parentheses,
/// and not around an operator, separate requirements).
fn join_spaced(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            let prev = words[i - 1].to_ascii_lowercase();
            let lower = w.to_ascii_lowercase();
            let glue = ["in", "notin", "=", "==", "!="].contains(&lower.as_str())
                || ["in", "notin", "=", "==", "!="].contains(&prev.as_str())
                || prev.ends_with('=')
                || w.starts_with('=')
                || w.starts_with('(')
                || out.matches('(').count() > out.matches(')').count();
            out.push_str(if glue { " " } else { "," });
        }
        out.push_str(w);
    }
    let mut out = out
        .replace(" = ", "=")
        .replace(" ,", ",")
        .replace(", ", ",");
    while out.contains(",,") {
        out = out.replace(",,", ",");
    }
    out
}

/// The candidates nearest to `typed` (at most 3, closest first), among
/// those close enough to be a slip: within a third of the longer text,
/// and at least 2 edits.
pub fn nearest<'a>(
    typed: &str,
    candidates: impl IntoIterator<Item = &'a String>,
) -> Vec<&'a String> {
    let mut scored: Vec<(usize, &String)> = candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(typed, c), c))
        .filter(|(d, c)| *d > 0 && *d <= (typed.len().max(c.len()) / 3).max(2))
        .collect();
    scored.sort();
    scored.dedup();
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

/// The pods of the snapshot a peer matches, seen from a policy in
/// `namespace` (none for addresses).
pub fn peer_pods<'s>(peer: &PeerSpec, namespace: &str, snapshot: &'s Snapshot) -> Vec<&'s PodInfo> {
    snapshot
        .pods
        .iter()
        .filter(|pod| match peer {
            PeerSpec::Pods(s) => pod.namespace == namespace && s.matches(&pod.labels),
            PeerSpec::InNamespaces { names, pods } => {
                names.contains(&pod.namespace)
                    && pods.as_ref().is_none_or(|s| s.matches(&pod.labels))
            }
            PeerSpec::InLabelledNamespaces { namespaces, pods } => {
                snapshot
                    .namespace(&pod.namespace)
                    .is_some_and(|n| namespaces.matches(&n.labels))
                    && pods.as_ref().is_none_or(|s| s.matches(&pod.labels))
            }
            PeerSpec::IpBlock { .. } | PeerSpec::Anywhere => false,
        })
        .collect()
}

/// Each `key=value` label among `pods`, with how many carry it.
fn pod_labels(pods: &[&PodInfo]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for p in pods {
        for (k, v) in &p.labels {
            *out.entry(format!("{k}={v}")).or_default() += 1;
        }
    }
    out
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// Label sets near a selector's requirements among `pods`, as
/// `PREFIXkey=value (N pods)`.
fn near_labels(sel: &Selector, pods: &[&PodInfo], prefix: &str) -> Vec<String> {
    let labels = pod_labels(pods);
    let keys: Vec<String> = labels.keys().cloned().collect();
    let mut out: Vec<String> = Vec::new();
    for r in &sel.requirements {
        let typed = match &r.op {
            Op::In(v) if v.len() == 1 => format!("{}={}", r.key, v[0]),
            _ => r.key.clone(),
        };
        for c in nearest(&typed, &keys) {
            let s = format!("{prefix}{c} ({})", plural(labels[c], "pod"));
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out.truncate(3);
    out
}

/// A warning for a peer (`what` is how it was given, e.g. `--allow-from
/// frontend/wbe`) that matches no pod of the snapshot, with the nearest
/// label sets or namespace names that exist; `None` when it matches pods,
/// is an address, or nothing is known of its namespaces (no pod there,
/// offline without manifests). Where what it depends on could not be read
/// (RBAC: the namespace list, the pods of a namespace), it says that this
/// cannot be checked, never that nothing matches or that a namespace does
/// not exist.
pub fn peer_warning(
    what: &str,
    peer: &PeerSpec,
    namespace: &str,
    snapshot: &Snapshot,
) -> Option<String> {
    if matches!(peer, PeerSpec::IpBlock { .. } | PeerSpec::Anywhere) {
        return None;
    }
    if !peer_pods(peer, namespace, snapshot).is_empty() {
        return None;
    }
    let gaps = &snapshot.gaps;
    // Whether the namespaces known are all there are.
    let listed = gaps.namespaces.is_none();
    let known: Vec<String> = snapshot.namespaces.iter().map(|n| n.name.clone()).collect();
    // What could not be read that the answer depends on.
    let mut unread: Vec<String> = Vec::new();
    let pods_unread = |ns: &str, unread: &mut Vec<String>| {
        if gaps.pods_unknown_in(ns).is_some() {
            unread.push(format!("the pod list of namespace {ns}"));
        }
    };
    let mut hints = Vec::new();
    let (pods_sel, in_ns): (Option<&Selector>, Vec<String>) = match peer {
        PeerSpec::Pods(s) => {
            pods_unread(namespace, &mut unread);
            (Some(s), vec![namespace.to_string()])
        }
        PeerSpec::InNamespaces { names, pods } => {
            for m in names {
                let exists = known.contains(m);
                if !exists && !listed {
                    if !unread.iter().any(|u| u == "the namespace list") {
                        unread.insert(0, "the namespace list".to_string());
                    }
                } else if !exists && !known.is_empty() {
                    let near = nearest(m, &known);
                    hints.push(if near.is_empty() {
                        format!("namespace {m} does not exist")
                    } else {
                        format!(
                            "namespace {m} does not exist (nearest: {})",
                            near.iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    });
                    continue;
                }
                pods_unread(m, &mut unread);
            }
            (pods.as_ref(), names.clone())
        }
        PeerSpec::InLabelledNamespaces { namespaces, pods } => {
            let chosen: Vec<String> = snapshot
                .namespaces
                .iter()
                .filter(|n| namespaces.matches(&n.labels))
                .map(|n| n.name.clone())
                .collect();
            if !listed {
                unread.push("the namespace list".to_string());
            } else if chosen.is_empty() && !known.is_empty() {
                let mut labels: BTreeMap<String, usize> = BTreeMap::new();
                for n in &snapshot.namespaces {
                    for (k, v) in &n.labels {
                        *labels.entry(format!("{k}={v}")).or_default() += 1;
                    }
                }
                let keys: Vec<String> = labels.keys().cloned().collect();
                let mut near = Vec::new();
                for r in &namespaces.requirements {
                    let typed = match &r.op {
                        Op::In(v) if v.len() == 1 => format!("{}={}", r.key, v[0]),
                        _ => r.key.clone(),
                    };
                    near.extend(nearest(&typed, &keys).into_iter().map(|c| {
                        format!("namespace-labels={c} ({})", plural(labels[c], "namespace"))
                    }));
                }
                hints.push(if near.is_empty() {
                    "no namespace has these labels".to_string()
                } else {
                    format!(
                        "no namespace has these labels (nearest: {})",
                        near.join(", ")
                    )
                });
            }
            for n in &chosen {
                pods_unread(n, &mut unread);
            }
            (pods.as_ref(), chosen)
        }
        PeerSpec::IpBlock { .. } | PeerSpec::Anywhere => return None,
    };
    if !unread.is_empty() {
        let last = unread.pop().unwrap_or_default();
        let all = if unread.is_empty() {
            format!("{last} is")
        } else {
            format!("{} and {last} are", unread.join(", "))
        };
        return Some(format!(
            "{what}: which pods it matches cannot be checked: {all} not readable{}",
            if hints.is_empty() {
                String::new()
            } else {
                format!("; {}", hints.join("; "))
            }
        ));
    }
    let pods_there: Vec<&PodInfo> = snapshot
        .pods
        .iter()
        .filter(|p| in_ns.contains(&p.namespace))
        .collect();
    if hints.is_empty() && pods_there.is_empty() {
        // Nothing known there: no pod in the input (or none yet).
        return None;
    }
    if hints.is_empty()
        && let Some(sel) = pods_sel
    {
        let prefix = match in_ns.as_slice() {
            [one] => format!("{one}/"),
            _ => String::new(),
        };
        let near = near_labels(sel, &pods_there, &prefix);
        if !near.is_empty() {
            hints.push(format!("nearest label sets: {}", near.join(", ")));
        }
    }
    Some(format!(
        "{what} matches no pod now (allowed: pods that get these labels will match){}",
        if hints.is_empty() {
            String::new()
        } else {
            format!("; {}", hints.join("; "))
        }
    ))
}

/// A warning for `--select` (or the typed pods) matching no pod of the
/// namespace, with the nearest label sets; `None` when it selects pods or
/// no pod of the namespace is known.
pub fn select_warning(
    what: &str,
    sel: &Selector,
    namespace: &str,
    snapshot: &Snapshot,
) -> Option<String> {
    let pods: Vec<&PodInfo> = snapshot
        .pods
        .iter()
        .filter(|p| p.namespace == namespace)
        .collect();
    if pods.is_empty() || pods.iter().any(|p| sel.matches(&p.labels)) {
        return None;
    }
    let near = near_labels(sel, &pods, "");
    Some(format!(
        "{what} selects no pod of {namespace} now (allowed: pods that get these labels will be selected){}",
        if near.is_empty() {
            String::new()
        } else {
            format!("; nearest label sets: {}", near.join(", "))
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_slips_get_a_corrected_example() {
        for (typed, want) in [
            ("app in web", "app in (web)"),
            ("app notin web", "app notin (web)"),
            ("app in web,api", "app in (web,api)"),
            ("app in web,tier=x", "app in (web),tier=x"),
            ("app IN (web)", "app in (web)"),
            ("app IN web", "app in (web)"),
            ("app: web", "app=web"),
            ("app=(a,b)", "app in (a,b)"),
            ("app=a|b", "app in (a,b)"),
            ("app!=(a,b)", "app notin (a,b)"),
            ("app=web tier=api", "app=web,tier=api"),
            ("app=web && tier=api", "app=web,tier=api"),
        ] {
            let e = parse_selector(typed).unwrap_err();
            assert!(
                e.ends_with(&format!("did you mean {want:?}?")),
                "{typed}: {e}"
            );
            assert!(Selector::parse(want).is_ok(), "{want}");
        }
        for typed in ["app==", "app=", "app!="] {
            let e = parse_selector(typed).unwrap_err();
            assert!(e.contains("app has no value: write app=VALUE (as app=web), app for pods that have the label, or !app for pods without it"), "{typed}: {e}");
        }
        let e = parse_selector("a b c (").unwrap_err();
        assert!(e.ends_with(SELECTOR_FORMS), "{e}");
        assert!(parse_selector("app in (web),tier!=db,!canary").is_ok());
    }

    /// What could not be read is never said not to exist or to match
    /// nothing: dana (no namespace list, one namespace's pods) and erin
    /// (the namespace list, one namespace's pods).
    #[test]
    fn unreadable_peers_cannot_be_checked_never_match_nothing() {
        use crate::snapshot::NamespaceInfo;
        let pod = PodInfo {
            namespace: "shop-backend".into(),
            name: "api-0".into(),
            labels: [("app".to_string(), "api".to_string())].into(),
            ips: Vec::new(),
            ports: Vec::new(),
            init_ports: Vec::new(),
            workload: None,
            representative: false,
            host_network: false,
            node: None,
            host_ips: Vec::new(),
        };
        let web = |ns: &str| PeerSpec::InNamespaces {
            names: vec![ns.into()],
            pods: Some(Selector::parse("app=web").unwrap()),
        };
        let mut dana = Snapshot::new(Vec::new(), vec![pod.clone()], Vec::new());
        dana.gaps.namespaces = Some("forbidden".into());
        dana.gaps.pods.insert("*".into(), "forbidden".into());
        dana.gaps.pods_read.insert("shop-backend".into());
        let w = peer_warning(
            "--allow-from shop-frontend/app=web",
            &web("shop-frontend"),
            "shop-backend",
            &dana,
        );
        assert_eq!(
            w.as_deref(),
            Some(
                "--allow-from shop-frontend/app=web: which pods it matches cannot be checked: the namespace list and the pod list of namespace shop-frontend are not readable"
            )
        );
        let labelled = PeerSpec::InLabelledNamespaces {
            namespaces: Selector::parse("team=web").unwrap(),
            pods: None,
        };
        let w = peer_warning("x", &labelled, "shop-backend", &dana).unwrap();
        assert_eq!(
            w,
            "x: which pods it matches cannot be checked: the namespace list is not readable"
        );
        // Her own namespace is read: a slip there is still said.
        let w = peer_warning(
            "x",
            &PeerSpec::Pods(Selector::parse("app=apj").unwrap()),
            "shop-backend",
            &dana,
        )
        .unwrap();
        assert!(w.starts_with("x matches no pod now"), "{w}");
        let mut erin = Snapshot::new(
            ["shop-backend", "shop-frontend", "kube-system"]
                .iter()
                .map(|n| NamespaceInfo::new(n, Default::default(), false))
                .collect(),
            vec![pod],
            Vec::new(),
        );
        erin.gaps.pods.insert("*".into(), "forbidden".into());
        erin.gaps.pods_read.insert("shop-backend".into());
        let w = peer_warning("x", &web("shop-frontend"), "shop-backend", &erin);
        assert_eq!(
            w.as_deref(),
            Some(
                "x: which pods it matches cannot be checked: the pod list of namespace shop-frontend is not readable"
            )
        );
        // A namespace that is not in the list she may read does not exist.
        let w = peer_warning("x", &web("shop-frontnd"), "shop-backend", &erin).unwrap();
        assert!(
            w.ends_with("namespace shop-frontnd does not exist (nearest: shop-frontend)"),
            "{w}"
        );
        let w = peer_warning("x", &labelled, "shop-backend", &erin).unwrap();
        assert!(w.ends_with("no namespace has these labels"), "{w}");
    }

    #[test]
    fn nearest_takes_slips_not_strangers() {
        let c: Vec<String> = ["app=web", "app=api", "app=postgres", "tier=front"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(nearest("app=wbe", &c), [&c[0]]);
        assert_eq!(nearest("app=postgre", &c), [&c[2]]);
        assert!(nearest("zone=eu", &c).is_empty());
        assert_eq!(strsim::levenshtein("kitten", "sitting"), 3);
    }
}
