//! The interactive side of the wizard: dialoguer prompts that offer what
//! exists in the cluster and validate as the user types.
//!
//! Every function returns `Err(Cancelled)` when the user presses Ctrl-C or
//! Esc, so the caller can leave without touching anything.
//!
//! Prompts, choices, defaults and messages hold names and labels from the
//! cluster or the manifests: the [`Prompter`] passes every one of them
//! through [`clean`] before it reaches the terminal.

use std::collections::BTreeMap;

use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Confirm, Input, MultiSelect, Select};

use crate::engine::selector::Selector;
use crate::render::clean;
use crate::snapshot::{PodInfo, Snapshot};
use crate::wizard::draft::{
    DraftRule, PeerContext, PeerSpec, PortInput, PortKind, parse_peer, parse_peer_in, parse_port,
};
use crate::wizard::hint::{parse_selector, peer_warning, select_warning};

/// The user stopped the wizard.
#[derive(Debug)]
pub struct Cancelled;

pub type Answer<T> = Result<T, Cancelled>;

/// The prompts, with a theme chosen once.
pub struct Prompter {
    theme: Box<dyn Theme>,
}

fn cancelled<E>(_: E) -> Cancelled {
    Cancelled
}

/// The label that names a pod's app, in the order people use them.
const APP_KEYS: [&str; 6] = [
    "app",
    "app.kubernetes.io/name",
    "k8s-app",
    "name",
    "component",
    "run",
];

/// The label sets that exist among `pods`, each as a one-label selector,
/// with how many pods carry it. A label whose value no selector can name
/// (not a valid label value: only in hand-written manifests, the API
/// server refuses it) is not offered.
pub fn label_sets(pods: &[&PodInfo]) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for p in pods {
        if let Some(k) = APP_KEYS.iter().find(|k| p.labels.contains_key(**k)) {
            let value = &p.labels[*k];
            if crate::engine::validate::label_value(value).is_empty() {
                *counts.entry(format!("{k}={value}")).or_default() += 1;
            }
        }
    }
    counts
        .into_iter()
        .filter(|(s, _)| Selector::parse(s).is_ok())
        .collect()
}

impl Prompter {
    /// Prompts in colour (`ColorfulTheme`) or plain.
    pub fn new(colour: bool) -> Prompter {
        Prompter {
            theme: if colour {
                Box::new(ColorfulTheme::default())
            } else {
                Box::new(SimpleTheme)
            },
        }
    }

    /// One of `items` (shown sanitised); returns its index.
    pub fn select(&self, prompt: &str, items: &[String], default: usize) -> Answer<usize> {
        let items: Vec<String> = items.iter().map(|i| clean(i)).collect();
        Select::with_theme(self.theme.as_ref())
            .with_prompt(clean(prompt))
            .items(&items)
            .default(default.min(items.len().saturating_sub(1)))
            .interact_opt()
            .map_err(cancelled)?
            .ok_or(Cancelled)
    }

    /// A yes/no question (shown sanitised).
    pub fn confirm(&self, prompt: &str, default: bool) -> Answer<bool> {
        Confirm::with_theme(self.theme.as_ref())
            .with_prompt(clean(prompt))
            .default(default)
            .interact_opt()
            .map_err(cancelled)?
            .ok_or(Cancelled)
    }

    /// Free text, checked by `check` as typed; re-asks with the message.
    pub fn input<T>(
        &self,
        prompt: &str,
        default: Option<&str>,
        check: impl Fn(&str) -> Result<T, String>,
    ) -> Answer<T> {
        let mut input = Input::<String>::with_theme(self.theme.as_ref()).with_prompt(clean(prompt));
        if let Some(d) = default {
            input = input.default(clean(d));
        }
        let text: String = input
            .validate_with(|s: &String| check(s).map(|_| ()).map_err(|e| clean(&e)))
            .interact_text()
            .map_err(cancelled)?;
        check(&text).map_err(|_| Cancelled)
    }

    /// Which pods to protect: a label set that exists, all pods, or a
    /// typed selector.
    pub fn pods(&self, snapshot: &Snapshot, namespace: &str) -> Answer<Selector> {
        let pods: Vec<&PodInfo> = snapshot
            .pods
            .iter()
            .filter(|p| p.namespace == namespace)
            .collect();
        let sets = label_sets(&pods);
        let mut items: Vec<String> = sets
            .iter()
            .map(|(s, n)| format!("{s}  ({n} pod{})", if *n == 1 { "" } else { "s" }))
            .collect();
        items.push(format!(
            "all pods in {namespace}  ({} pod{})",
            pods.len(),
            if pods.len() == 1 { "" } else { "s" }
        ));
        items.push("type a label selector...".into());
        let i = self.select("Which pods should this policy protect?", &items, 0)?;
        let sel = if i < sets.len() {
            // Offered sets parse (label_sets keeps only those).
            Selector::parse(&sets[i].0).map_err(cancelled)?
        } else if i == sets.len() {
            Selector::default()
        } else {
            self.input("Label selector (app=api, tier in (a,b))", None, |s| {
                let sel = parse_selector(s)?;
                if sel.is_everything() {
                    return Err("type at least one label, or pick \"all pods\"".into());
                }
                Ok(sel)
            })?
        };
        let matched: Vec<String> = pods
            .iter()
            .filter(|p| sel.matches(&p.labels))
            .map(|p| p.name.clone())
            .collect();
        if let Some(w) = select_warning(&sel.render(), &sel, namespace, snapshot) {
            crate::say_err!("  warning: {}", clean(&w));
        }
        crate::say_err!(
            "  selects {} pod{} now{}{}",
            matched.len(),
            if matched.len() == 1 { "" } else { "s" },
            if matched.is_empty() { "" } else { ": " },
            matched
                .iter()
                .take(5)
                .map(|n| clean(n))
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(sel)
    }

    /// One peer: who, in plain choices.
    pub fn peer(&self, snapshot: &Snapshot, namespace: &str, ingress: bool) -> Answer<PeerSpec> {
        let items: Vec<String> = vec![
            format!("pods in {namespace}, by labels"),
            "pods in other namespaces, by labels".into(),
            "all pods of some namespaces".into(),
            "an IP range (CIDR)".into(),
            "anywhere (every pod and address)".into(),
            "type it (PEER syntax: namespace=frontend,pods=app=web ...)".into(),
        ];
        let what = if ingress {
            "Allow traffic from"
        } else {
            "Allow traffic to"
        };
        // Namespaces that could not be listed (RBAC) are typed, not offered.
        let namespaces: Vec<String> = snapshot
            .namespaces
            .iter()
            .filter(|n| snapshot.gaps.namespaces.is_none() || !n.synthesized)
            .map(|n| n.name.clone())
            .collect();
        match self.select(what, &items, 0)? {
            0 => Ok(PeerSpec::Pods(
                self.labels_in(snapshot, &[namespace.to_string()])?,
            )),
            1 => {
                let names = self.namespaces(&namespaces)?;
                let pods = self.labels_in(snapshot, &names)?;
                Ok(PeerSpec::InNamespaces {
                    names,
                    pods: Some(pods),
                })
            }
            2 => {
                let names = self.namespaces(&namespaces)?;
                Ok(PeerSpec::InNamespaces { names, pods: None })
            }
            3 => {
                let cidr = self.input("CIDR (10.0.0.0/8)", None, |s| {
                    match parse_peer(&format!("cidr={s}")) {
                        Ok(_) => Ok(s.to_string()),
                        Err(e) => Err(e),
                    }
                })?;
                let peer = self.input(
                    "Except (CIDRs inside it, comma-separated; empty for none)",
                    Some(""),
                    |s| {
                        let text = if s.trim().is_empty() {
                            format!("cidr={cidr}")
                        } else {
                            format!("cidr={cidr},except={s}")
                        };
                        parse_peer(&text)
                    },
                )?;
                Ok(peer)
            }
            4 => Ok(PeerSpec::Anywhere),
            _ => {
                let cx = PeerContext {
                    namespace,
                    snapshot: Some(snapshot),
                };
                let peer = self.input("Peer", None, |s| parse_peer_in(s, &cx))?;
                if let Some(w) = peer_warning("this peer", &peer, namespace, snapshot) {
                    crate::say_err!("  warning: {}", clean(&w));
                }
                Ok(peer)
            }
        }
    }

    fn namespaces(&self, names: &[String]) -> Answer<Vec<String>> {
        if names.is_empty() {
            let typed = self.input("Namespaces (comma-separated)", None, |s| {
                match parse_peer(&format!("namespaces={s}")) {
                    Ok(PeerSpec::InNamespaces { names, .. }) => Ok(names),
                    Ok(_) => Err("namespace names, comma-separated".into()),
                    Err(e) => Err(e),
                }
            })?;
            return Ok(typed);
        }
        loop {
            let shown: Vec<String> = names.iter().map(|n| clean(n)).collect();
            let picked = MultiSelect::with_theme(self.theme.as_ref())
                .with_prompt("Which namespaces? (space to pick, enter to confirm)")
                .items(&shown)
                .interact_opt()
                .map_err(cancelled)?
                .ok_or(Cancelled)?;
            if !picked.is_empty() {
                return Ok(picked.into_iter().map(|i| names[i].clone()).collect());
            }
            crate::say_err!("  pick at least one namespace (space marks it)");
        }
    }

    fn labels_in(&self, snapshot: &Snapshot, namespaces: &[String]) -> Answer<Selector> {
        let pods: Vec<&PodInfo> = snapshot
            .pods
            .iter()
            .filter(|p| namespaces.contains(&p.namespace))
            .collect();
        let sets = label_sets(&pods);
        let mut items: Vec<String> = sets
            .iter()
            .map(|(s, n)| format!("{s}  ({n} pod{})", if *n == 1 { "" } else { "s" }))
            .collect();
        items.push("type a label selector...".into());
        let i = self.select("Which pods?", &items, 0)?;
        if i < sets.len() {
            return Selector::parse(&sets[i].0).map_err(cancelled);
        }
        let sel = self.input("Label selector (app=web)", None, |s| {
            let sel = parse_selector(s)?;
            if sel.is_everything() {
                return Err("type at least one label".into());
            }
            Ok(sel)
        })?;
        let peer = match namespaces {
            [one] => PeerSpec::InNamespaces {
                names: vec![one.clone()],
                pods: Some(sel.clone()),
            },
            _ => PeerSpec::InNamespaces {
                names: namespaces.to_vec(),
                pods: Some(sel.clone()),
            },
        };
        if let Some(w) = peer_warning(&sel.render(), &peer, "", snapshot) {
            crate::say_err!("  warning: {}", clean(&w));
        }
        Ok(sel)
    }

    /// Ports for a rule: the destination pods' container ports, typed
    /// ports, or every port.
    pub fn ports(&self, offered: &[PortInput]) -> Answer<Vec<PortInput>> {
        self.ports_from(offered, &[])
    }

    /// [`Prompter::ports`], the typed ports starting as `current` (when
    /// editing a rule).
    pub fn ports_from(
        &self,
        offered: &[PortInput],
        current: &[PortInput],
    ) -> Answer<Vec<PortInput>> {
        let mut items: Vec<String> = offered.iter().map(port_label).collect();
        items.push("type ports...".into());
        items.push("every port".into());
        let i = self.select("On which ports?", &items, 0)?;
        if i < offered.len() {
            return Ok(vec![offered[i].clone()]);
        }
        if i == offered.len() + 1 {
            return Ok(Vec::new());
        }
        let now = current
            .iter()
            .map(PortInput::render)
            .collect::<Vec<_>>()
            .join(",");
        self.input(
            "Ports (8080, 8000-8100, http, 53/UDP; comma-separated)",
            (!now.is_empty()).then_some(now.as_str()),
            |s| {
                s.split(',')
                    .map(|p| parse_port(p.trim()))
                    .collect::<Result<Vec<_>, _>>()
            },
        )
    }

    /// Rules for one direction, as many as wanted.
    pub fn rules(
        &self,
        snapshot: &Snapshot,
        namespace: &str,
        selected: &Selector,
        ingress: bool,
    ) -> Answer<Vec<DraftRule>> {
        let mut rules = Vec::new();
        loop {
            let ask = if rules.is_empty() {
                format!(
                    "Add an {} rule?",
                    if ingress { "ingress" } else { "egress" }
                )
            } else {
                "Add another rule?".into()
            };
            if !self.confirm(&ask, rules.is_empty())? {
                return Ok(rules);
            }
            let peer = self.peer(snapshot, namespace, ingress)?;
            let offered = offered_ports(snapshot, namespace, selected, &peer, ingress);
            let ports = self.ports(&offered)?;
            rules.push(DraftRule { peer, ports });
        }
    }

    /// The policy's name, suggested from the answers, checked as typed.
    pub fn name(&self, suggested: &str) -> Answer<String> {
        self.input(
            "Name",
            Some(suggested),
            |s| match crate::engine::validate::dns1123_subdomain(s).first() {
                Some(e) => Err(e.clone()),
                None => Ok(s.to_string()),
            },
        )
    }
}

/// The ports offered for a rule: the destination pods' container ports
/// (the selected pods for ingress, the peer's pods for egress), by number
/// and by name.
pub fn offered_ports(
    snapshot: &Snapshot,
    namespace: &str,
    selected: &Selector,
    peer: &PeerSpec,
    ingress: bool,
) -> Vec<PortInput> {
    let dest: Vec<&PodInfo> = if ingress {
        snapshot
            .pods
            .iter()
            .filter(|p| p.namespace == namespace && selected.matches(&p.labels))
            .collect()
    } else {
        snapshot
            .pods
            .iter()
            .filter(|p| peer_may_match(peer, namespace, p, snapshot))
            .collect()
    };
    let mut offered: Vec<PortInput> = Vec::new();
    for p in dest {
        for c in &p.ports {
            let by_name = c.name.clone().map(|n| PortInput {
                protocol: c.protocol,
                port: PortKind::Named(n),
            });
            let by_number = PortInput {
                protocol: c.protocol,
                port: PortKind::Number(c.port),
            };
            for cand in [Some(by_number), by_name].into_iter().flatten() {
                if !offered.contains(&cand) {
                    offered.push(cand);
                }
            }
        }
    }
    offered
}

fn port_label(p: &PortInput) -> String {
    match &p.port {
        PortKind::Number(n) => format!("{}/{n}", p.protocol),
        PortKind::Range(a, b) => format!("{}/{a}-{b}", p.protocol),
        PortKind::Named(n) => format!("{}/{n}  (named port)", p.protocol),
        PortKind::All => format!("{}/all  (every {} port)", p.protocol, p.protocol),
    }
}

/// Whether a pod may be one of `peer`'s (for offering its ports).
fn peer_may_match(peer: &PeerSpec, namespace: &str, pod: &PodInfo, snapshot: &Snapshot) -> bool {
    match peer {
        PeerSpec::Pods(s) => pod.namespace == namespace && s.matches(&pod.labels),
        PeerSpec::InNamespaces { names, pods } => {
            names.contains(&pod.namespace) && pods.as_ref().is_none_or(|s| s.matches(&pod.labels))
        }
        PeerSpec::InLabelledNamespaces { namespaces, pods } => {
            snapshot
                .namespace(&pod.namespace)
                .is_some_and(|n| namespaces.matches(&n.labels))
                && pods.as_ref().is_none_or(|s| s.matches(&pod.labels))
        }
        PeerSpec::IpBlock { .. } | PeerSpec::Anywhere => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(value: &str) -> PodInfo {
        PodInfo {
            namespace: "shop".into(),
            name: format!("p-{}", value.len()),
            labels: [("app".to_string(), value.to_string())].into(),
            ips: Vec::new(),
            ports: Vec::new(),
            workload: None,
            representative: false,
            host_network: false,
            node: None,
            host_ips: Vec::new(),
            init_ports: Vec::new(),
        }
    }

    /// A label value no selector can name (escape characters from a
    /// hand-written manifest) is not offered: picking it could only fail.
    #[test]
    fn label_sets_offer_only_values_a_selector_can_name() {
        let (good, bad, eq) = (pod("web"), pod("v\u{1b}]52;c;x\u{7}"), pod("a=b"));
        let sets = label_sets(&[&good, &bad, &eq]);
        assert_eq!(sets, vec![("app=web".to_string(), 1)]);
    }
}
