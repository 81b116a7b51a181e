//! The way back from the review: change one step of the answers (the
//! namespace, the pods, the directions, a rule's peer or ports, the DNS
//! rule, the name) without starting over.

use crate::render::clean;
use crate::snapshot::Snapshot;
use crate::wizard::draft::{Draft, DraftRule, add_dns, add_rule, rule_text};
use crate::wizard::prompt::{Answer, Prompter, offered_ports};

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

impl Prompter {
    /// One edit of `draft`, chosen from a menu of its steps; "back to the
    /// review" changes nothing.
    pub fn edit(&self, snapshot: &Snapshot, draft: &mut Draft) -> Answer<()> {
        let directions = match (&draft.ingress, &draft.egress) {
            (Some(_), Some(_)) => "ingress and egress",
            (Some(_), None) => "ingress",
            (None, Some(_)) => "egress",
            (None, None) => "none",
        };
        let pods = if draft.pods.is_everything() {
            "all pods".to_string()
        } else {
            draft.pods.render()
        };
        let mut items = vec![
            format!("namespace: {}", draft.namespace),
            format!("pods to protect: {pods}"),
            format!("directions (policy types): {directions}"),
        ];
        let mut steps = vec![Step::Namespace, Step::Pods, Step::Directions];
        if let Some(r) = &draft.ingress {
            items.push(format!("ingress rules: {}", plural(r.len(), "rule")));
            steps.push(Step::Rules(true));
        }
        if let Some(r) = &draft.egress {
            items.push(format!("egress rules: {}", plural(r.len(), "rule")));
            steps.push(Step::Rules(false));
            items.push(format!(
                "DNS rule: {}",
                if draft.dns.is_some() { "yes" } else { "no" }
            ));
            steps.push(Step::Dns);
        }
        items.push(format!("name: {}", draft.name));
        steps.push(Step::Name);
        items.push("back to the review".into());
        steps.push(Step::Back);
        let i = self.select("Change which step?", &items, 0)?;
        match steps[i] {
            Step::Namespace => {
                let names: Vec<String> =
                    snapshot.namespaces.iter().map(|n| n.name.clone()).collect();
                draft.namespace = if names.is_empty() {
                    self.input("Namespace", Some(&draft.namespace), |s| {
                        match crate::engine::validate::dns1123_label(s).first() {
                            Some(e) => Err(e.clone()),
                            None => Ok(s.to_string()),
                        }
                    })?
                } else {
                    let at = names
                        .iter()
                        .position(|n| *n == draft.namespace)
                        .unwrap_or(0);
                    names[self.select("Namespace", &names, at)?].clone()
                };
            }
            Step::Pods => draft.pods = self.pods(snapshot, &draft.namespace)?,
            Step::Directions => {
                let items = vec![
                    "ingress: who may connect to these pods".to_string(),
                    "egress: where these pods may connect".to_string(),
                    "both".to_string(),
                ];
                let now = match (&draft.ingress, &draft.egress) {
                    (None, Some(_)) => 1,
                    (Some(_), Some(_)) => 2,
                    _ => 0,
                };
                let d = self.select("Restrict which direction?", &items, now)?;
                // A direction kept keeps its rules; a new one starts with
                // none (deny all) until rules are added.
                if d == 1 {
                    draft.ingress = None;
                } else if draft.ingress.is_none() {
                    draft.ingress = Some(Vec::new());
                    crate::say_err!(
                        "  ingress is isolated with no rule yet: add some under \"ingress rules\""
                    );
                }
                if d == 0 {
                    draft.egress = None;
                    draft.dns = None;
                } else if draft.egress.is_none() {
                    draft.egress = Some(Vec::new());
                    crate::say_err!(
                        "  egress is isolated with no rule yet: add some under \"egress rules\""
                    );
                }
            }
            Step::Rules(ingress) => self.edit_rules(snapshot, draft, ingress)?,
            Step::Dns => {
                let wanted = self.confirm(
                    "Allow DNS (UDP and TCP 53 to kube-system/kube-dns)? Without it these pods cannot resolve any name",
                    draft.dns.is_some(),
                )?;
                match (wanted, draft.dns.take()) {
                    (true, Some(d)) => draft.dns = Some(d),
                    (true, None) => {
                        let mut notes = Vec::new();
                        add_dns(
                            draft,
                            crate::wizard::draft::DnsTarget::default(),
                            "the DNS rule",
                            &mut notes,
                        );
                        for n in notes {
                            crate::say_err!("  {}", clean(&n));
                        }
                    }
                    (false, _) => draft.dns = None,
                }
            }
            Step::Name => {
                draft.name = self.name(&draft.name)?;
            }
            Step::Back => {}
        }
        Ok(())
    }

    /// The rules of one direction: change a rule's peer or ports, remove
    /// it, or add one.
    fn edit_rules(&self, snapshot: &Snapshot, draft: &mut Draft, ingress: bool) -> Answer<()> {
        let namespace = draft.namespace.clone();
        let selected = draft.pods.clone();
        let word = if ingress { "from" } else { "to" };
        let rules = if ingress {
            draft.ingress.get_or_insert_with(Vec::new)
        } else {
            draft.egress.get_or_insert_with(Vec::new)
        };
        let mut items: Vec<String> = rules
            .iter()
            .enumerate()
            .map(|(i, r)| format!("#{} {word} {}", i + 1, rule_text(r, &namespace)))
            .collect();
        items.push("add a rule".into());
        items.push("back".into());
        let i = self.select("Which rule?", &items, 0)?;
        if i == rules.len() + 1 {
            return Ok(());
        }
        if i == rules.len() {
            let peer = self.peer(snapshot, &namespace, ingress)?;
            let offered = offered_ports(snapshot, &namespace, &selected, &peer, ingress);
            let ports = self.ports(&offered)?;
            let mut notes = Vec::new();
            add_rule(
                rules,
                DraftRule { peer, ports },
                "the new rule",
                ingress,
                &namespace,
                &mut notes,
            );
            for n in notes {
                crate::say_err!("  {}", clean(&n));
            }
            return Ok(());
        }
        let what = vec![
            "change the peer".to_string(),
            "change the ports".to_string(),
            "remove this rule".to_string(),
            "back".to_string(),
        ];
        match self.select(&format!("Rule #{}", i + 1), &what, 0)? {
            0 => rules[i].peer = self.peer(snapshot, &namespace, ingress)?,
            1 => {
                let offered =
                    offered_ports(snapshot, &namespace, &selected, &rules[i].peer, ingress);
                let current = rules[i].ports.clone();
                rules[i].ports = self.ports_from(&offered, &current)?;
            }
            2 => {
                let gone = rules.remove(i);
                crate::say_err!("  removed: {word} {}", clean(&rule_text(&gone, &namespace)));
            }
            _ => {}
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Namespace,
    Pods,
    Directions,
    Rules(bool),
    Dns,
    Name,
    Back,
}
