//! The plan: what must change for the cluster's NetworkPolicies to be
//! those a graph implies. Pure: the policies read from the cluster and
//! the desired ones in, the changes out.
//!
//! For each desired policy (`engine::graph::desired`), by namespace and
//! name:
//! - none in the cluster: **create**;
//! - one labelled as this graph's (both [`MANAGED_BY_LABEL`] and
//!   [`GRAPH_LABEL`]): **unchanged** when its spec is the desired one and
//!   it carries what `sync` records ([`APPLIED_ANNOTATION`], the labels,
//!   the ownerReference), else **update**;
//! - one that is not (unlabelled, or another graph's): a [`Collision`],
//!   never touched.
//!
//! Every policy labelled as this graph's that the graph no longer implies
//! is a **delete** (prune). No other policy is ever in a plan.
//!
//! **Drift**: an update or delete of a policy edited by someone else since
//! `sync` applied it. It is told from the policy itself:
//! - `managedFields`: another field manager (`kubectl-edit`,
//!   `kubectl-patch`, `kubectl` ...) owns spec fields whose values the
//!   update changes. These are exactly the fields the API server's
//!   server-side apply refuses to take over without `force` (NetworkPolicy's
//!   lists are atomic: editing a rule moves `spec.ingress` to the editor);
//! - [`APPLIED_ANNOTATION`]: the digest of the spec `sync` last applied.
//!   A spec whose digest differs was changed since, even where
//!   `managedFields` cannot show it (a field removed by hand belongs to no
//!   manager any more).
//!
//! A drifted change is applied only with `--force-conflicts`, as kubectl's
//! server-side apply takes over conflicting fields only with it.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde_json::Value;

use crate::engine::graph::{DesiredPolicy, GRAPH_LABEL, MANAGED_BY, MANAGED_BY_LABEL};
use crate::source::live::FIELD_MANAGER;

/// The annotation `sync` sets on every policy it applies: the digest of
/// the spec applied ([`spec_digest`]), so that a later run can tell a
/// hand edit from a graph change.
pub const APPLIED_ANNOTATION: &str = "kubectl-netpol.github.io/applied-spec";

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    /// `create`, `update`, `delete`: the plan's words.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }

    /// kubectl's past tense for the log line: `created`, `configured`,
    /// `deleted`.
    pub fn done(self) -> &'static str {
        match self {
            Action::Create => "created",
            Action::Update => "configured",
            Action::Delete => "deleted",
        }
    }
}

/// One change of a [`Plan`].
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub action: Action,
    pub namespace: String,
    pub name: String,
    /// Create and update: the object sent by server-side apply (the
    /// desired policy, [`APPLIED_ANNOTATION`] added; an update also
    /// carries the resourceVersion read, so that a policy changed since
    /// the plan is not overwritten).
    pub apply: Option<NetworkPolicy>,
    /// Update and delete: the policy as read.
    pub live: Option<NetworkPolicy>,
    /// The one-line summary of the policy: as it will be (create,
    /// update), or of the one deleted.
    pub summary: String,
    /// Update: the summary of the policy as it is, when it differs.
    pub before: Option<String>,
    /// Update: what differs, one line each (`spec.ingress[0].ports[0].port:
    /// 9090 in the cluster, 8080 in the graph`).
    pub differences: Vec<String>,
    /// The policy was edited by someone else since `sync` applied it.
    pub drift: Option<Drift>,
}

impl Change {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// How a managed policy was edited by someone else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drift {
    /// Other field managers owning spec fields that the change would set
    /// to other values (update), or any spec fields (delete).
    pub owners: Vec<FieldOwner>,
    /// The spec is not the one `sync` last applied (its digest differs
    /// from [`APPLIED_ANNOTATION`]).
    pub edited_since_applied: bool,
}

/// A field manager of a policy and the spec fields it owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldOwner {
    pub manager: String,
    /// `Update` (kubectl edit, patch, replace, client-side apply) or
    /// `Apply` (server-side apply).
    pub operation: String,
    /// When it last wrote, as the server says (RFC 3339).
    pub time: Option<String>,
    /// `spec.ingress`, `spec.podSelector.matchLabels.app`, ...
    pub fields: Vec<String>,
}

/// A desired policy whose name a policy that is not this graph's holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    pub namespace: String,
    pub name: String,
    /// `graph "other"`, or `no graph (it has only ... of the two labels ...)`.
    pub owner: String,
}

/// What `sync` would do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// The graph's name.
    pub graph: String,
    /// In the order they are sent: updates, creates (default denies
    /// last), then deletes; by namespace and name within each.
    pub changes: Vec<Change>,
    /// Desired policies that are already as desired: `namespace/name`.
    pub unchanged: Vec<String>,
    /// Desired policies whose name another policy holds: the plan cannot
    /// be applied while there is one.
    pub collisions: Vec<Collision>,
}

impl Plan {
    /// Whether the cluster already matches the graph.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.collisions.is_empty()
    }

    /// The changes of policies edited by someone else.
    pub fn drifted(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.drift.is_some())
    }

    /// How many changes of each action: `[create, update, delete]`.
    pub fn counts(&self) -> [usize; 3] {
        let mut n = [0; 3];
        for c in &self.changes {
            n[match c.action {
                Action::Create => 0,
                Action::Update => 1,
                Action::Delete => 2,
            }] += 1;
        }
        n
    }
}

/// Whether `np` is labelled as graph `graph`'s (both labels).
pub fn managed_by(np: &NetworkPolicy, graph: &str) -> bool {
    let labels = np.metadata.labels.as_ref();
    let get = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    get(MANAGED_BY_LABEL) == Some(MANAGED_BY) && get(GRAPH_LABEL) == Some(graph)
}

/// The label selector of graph `graph`'s policies, for list calls.
pub fn selector(graph: &str) -> String {
    format!("{MANAGED_BY_LABEL}={MANAGED_BY},{GRAPH_LABEL}={graph}")
}

fn key_of(np: &NetworkPolicy) -> (String, String) {
    (
        np.metadata.namespace.clone().unwrap_or_default(),
        np.metadata.name.clone().unwrap_or_default(),
    )
}

fn summary_of(np: &NetworkPolicy) -> String {
    let ns = np.metadata.namespace.as_deref().unwrap_or_default();
    match crate::engine::policy::Policy::compile(np, ns) {
        Ok(p) => crate::engine::summary::summary(&p),
        Err(e) => format!("namespace/{ns} (cannot be summarised: {e})"),
    }
}

/// The plan that makes `existing` (the policies read from the cluster:
/// every policy of the namespaces the desired policies are in, and this
/// graph's policies wherever they were found) match `desired`, the
/// policies of graph `graph`.
pub fn plan(graph: &str, desired: &[DesiredPolicy], existing: &[NetworkPolicy]) -> Plan {
    let by_key: BTreeMap<(String, String), &NetworkPolicy> =
        existing.iter().map(|p| (key_of(p), p)).collect();
    let mut out = Plan {
        graph: graph.to_string(),
        ..Default::default()
    };
    let mut creates: Vec<(bool, Change)> = Vec::new();
    let mut updates = Vec::new();
    let wanted: BTreeSet<(String, String)> = desired.iter().map(DesiredPolicy::key).collect();
    for d in desired {
        let (namespace, name) = d.key();
        let digest = spec_digest(&d.policy);
        let mut apply = d.policy.clone();
        apply
            .metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(APPLIED_ANNOTATION.to_string(), digest.clone());
        let Some(live) = by_key.get(&(namespace.clone(), name.clone())) else {
            creates.push((
                matches!(d.role, crate::engine::graph::Role::DefaultDeny),
                Change {
                    action: Action::Create,
                    namespace,
                    name,
                    apply: Some(apply),
                    live: None,
                    summary: d.summary(),
                    before: None,
                    differences: Vec::new(),
                    drift: None,
                },
            ));
            continue;
        };
        if !managed_by(live, graph) {
            out.collisions.push(Collision {
                namespace,
                name,
                owner: owner_words(live),
            });
            continue;
        }
        let want = normal_spec(&d.policy);
        let have = normal_spec(live);
        let recorded = live
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(APPLIED_ANNOTATION));
        let mut differences = Vec::new();
        value_differences(&have, &want, "spec", &mut differences);
        let mut metadata = metadata_differences(&d.policy, live, recorded, &digest);
        if !differences.is_empty() {
            // The digest differs with the spec: said by the spec's lines.
            metadata.retain(|m| !m.contains(APPLIED_ANNOTATION));
        }
        if differences.is_empty() && metadata.is_empty() {
            out.unchanged.push(format!("{namespace}/{name}"));
            continue;
        }
        // Drift: the spec changed since sync applied it, or another
        // manager holds a field the update changes (the spec's, or what
        // sync records in the metadata: its labels, the digest).
        let edited = !differences.is_empty() && recorded.is_some_and(|r| *r != digest_of(&have));
        let mut changed: Vec<&str> = differences.iter().map(|(p, _)| p.as_str()).collect();
        let meta_paths = metadata_paths(&d.policy, live, recorded, &digest);
        changed.extend(meta_paths.iter().map(String::as_str));
        let owners = other_owners(live, Some(&changed));
        let drift = (edited || !owners.is_empty()).then_some(Drift {
            owners,
            edited_since_applied: edited,
        });
        apply.metadata.resource_version = live.metadata.resource_version.clone();
        let before = summary_of(live);
        let after = d.summary();
        updates.push(Change {
            action: Action::Update,
            namespace,
            name,
            apply: Some(apply),
            live: Some((*live).clone()),
            before: (before != after).then_some(before),
            summary: after,
            differences: differences
                .into_iter()
                .map(|(p, what)| format!("{p}: {what}"))
                .chain(metadata)
                .collect(),
            drift,
        });
    }
    let mut deletes = Vec::new();
    for live in existing {
        if !managed_by(live, graph) || wanted.contains(&key_of(live)) {
            continue;
        }
        let (namespace, name) = key_of(live);
        let recorded = live
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(APPLIED_ANNOTATION));
        // Prune what the labels say is this graph's; but a policy sync
        // applied and someone edited since is theirs too.
        let drift = recorded.and_then(|r| {
            let edited = *r != digest_of(&normal_spec(live));
            let owners = other_owners(live, None);
            (edited || !owners.is_empty()).then_some(Drift {
                owners,
                edited_since_applied: edited,
            })
        });
        deletes.push(Change {
            action: Action::Delete,
            namespace,
            name,
            apply: None,
            live: Some(live.clone()),
            summary: summary_of(live),
            before: None,
            differences: Vec::new(),
            drift,
        });
    }
    // Allow policies before the default denies they complement, so that
    // the namespace is not left closed in between; prune last.
    creates.sort_by_key(|(deny, c)| (*deny, c.key()));
    updates.sort_by_key(Change::key);
    deletes.sort_by_key(Change::key);
    deletes.dedup_by_key(|c| c.key());
    out.changes = updates
        .into_iter()
        .chain(creates.into_iter().map(|(_, c)| c))
        .chain(deletes)
        .collect();
    out
}

/// Who a colliding policy belongs to, in words.
fn owner_words(np: &NetworkPolicy) -> String {
    let labels = np.metadata.labels.clone().unwrap_or_default();
    match (labels.get(MANAGED_BY_LABEL), labels.get(GRAPH_LABEL)) {
        (Some(m), Some(g)) if m == MANAGED_BY => format!("graph {g:?}"),
        (m, g) => {
            let said: Vec<String> = [(MANAGED_BY_LABEL, m), (GRAPH_LABEL, g)]
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
                .collect();
            if said.is_empty() {
                "no graph (it has neither label)".to_string()
            } else {
                // One label alone (a hand edit took the other away):
                // both are what makes a policy a graph's.
                format!(
                    "no graph (it has only {} of the two labels {MANAGED_BY_LABEL}={MANAGED_BY} and {GRAPH_LABEL}=NAME)",
                    said.join(", ")
                )
            }
        }
    }
}

/// The metadata fields an update changes (as managedFields paths:
/// `metadata.labels.KEY`, `metadata.annotations.KEY`): the labels and the
/// digest `sync` records, where they differ.
fn metadata_paths(
    want: &NetworkPolicy,
    live: &NetworkPolicy,
    recorded: Option<&String>,
    digest: &str,
) -> Vec<String> {
    let have = live.metadata.labels.clone().unwrap_or_default();
    let mut out: Vec<String> = want
        .metadata
        .labels
        .iter()
        .flatten()
        .filter(|(k, v)| have.get(*k) != Some(*v))
        .map(|(k, _)| format!("metadata.labels.{k}"))
        .collect();
    if recorded.map(String::as_str) != Some(digest) {
        out.push(format!("metadata.annotations.{APPLIED_ANNOTATION}"));
    }
    out
}

/// What the policy lacks of what `sync` records besides its spec: the
/// labels, the ownerReference, the digest of the spec applied.
fn metadata_differences(
    want: &NetworkPolicy,
    live: &NetworkPolicy,
    recorded: Option<&String>,
    digest: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    let have = live.metadata.labels.clone().unwrap_or_default();
    for (k, v) in want.metadata.labels.iter().flatten() {
        if have.get(k) != Some(v) {
            out.push(format!("metadata.labels.{k}: {v:?} in the graph, not set"));
        }
    }
    let owners = live.metadata.owner_references.clone().unwrap_or_default();
    let wanted = want.metadata.owner_references.clone().unwrap_or_default();
    for o in &wanted {
        if owners.iter().any(|h| h.uid == o.uid) {
            continue;
        }
        out.push(
            match owners.iter().find(|h| h.kind == o.kind && h.name == o.name) {
                Some(h) => format!(
                    "metadata.ownerReferences: {} {:?} uid {} in the graph, uid {} in the cluster",
                    o.kind, o.name, o.uid, h.uid
                ),
                None => format!(
                    "metadata.ownerReferences: {} {:?} (uid {}) in the graph, not set",
                    o.kind, o.name, o.uid
                ),
            },
        );
    }
    // An owner the graph no longer names (it is not stored): removed.
    for h in &owners {
        if h.kind == crate::engine::graph::KIND
            && !wanted.iter().any(|o| o.kind == h.kind && o.name == h.name)
        {
            out.push(format!(
                "metadata.ownerReferences: {} {:?} (uid {}) in the cluster, no such graph stored: removed",
                h.kind, h.name, h.uid
            ));
        }
    }
    if recorded.map(String::as_str) != Some(digest) {
        out.push(match recorded {
            None => format!(
                "metadata.annotations.{APPLIED_ANNOTATION}: not set (not applied by sync yet)"
            ),
            Some(_) => format!(
                "metadata.annotations.{APPLIED_ANNOTATION}: records another spec than this one"
            ),
        });
    }
    out
}

/// The field managers other than [`FIELD_MANAGER`] that own spec fields
/// of `np`; with `changed` (paths such as `spec.ingress[0].ports`), only
/// the fields among or around them, and only managers owning one.
pub fn other_owners(np: &NetworkPolicy, changed: Option<&[&str]>) -> Vec<FieldOwner> {
    let mut out = Vec::new();
    for m in np.metadata.managed_fields.iter().flatten() {
        let manager = m.manager.clone().unwrap_or_else(|| "<unknown>".into());
        if manager == FIELD_MANAGER && m.operation.as_deref() == Some("Apply") {
            continue;
        }
        let mut fields = Vec::new();
        if let Some(spec) = m.fields_v1.as_ref().and_then(|f| f.0.get("f:spec")) {
            field_paths(spec, "spec", &mut fields);
        }
        // The metadata only against changed paths (a delete changes none
        // of it: kubectl's last-applied annotation is no drift).
        if changed.is_some()
            && let Some(meta) = m.fields_v1.as_ref().and_then(|f| f.0.get("f:metadata"))
        {
            for part in ["labels", "annotations"] {
                if let Some(set) = meta.get(format!("f:{part}")) {
                    field_paths(set, &format!("metadata.{part}"), &mut fields);
                }
            }
        }
        if let Some(changed) = changed {
            fields.retain(|f| changed.iter().any(|c| overlaps(f, c)));
        }
        if !fields.is_empty() {
            out.push(FieldOwner {
                manager,
                operation: m.operation.clone().unwrap_or_else(|| "?".into()),
                time: m.time.as_ref().map(|t| t.0.to_string()),
                fields,
            });
        }
    }
    out
}

/// Whether field `owned` holds or is held by the changed path `changed`.
fn overlaps(owned: &str, changed: &str) -> bool {
    let within = |a: &str, b: &str| {
        a == b
            || a.strip_prefix(b)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    };
    within(changed, owned) || within(owned, changed)
}

/// The leaf fields of a managedFields `fieldsV1` set, as paths
/// (`spec.podSelector.matchLabels.app`); a field with children of its
/// own besides `.` is not a leaf.
fn field_paths(set: &Value, path: &str, out: &mut Vec<String>) {
    let Some(map) = set.as_object() else {
        out.push(path.to_string());
        return;
    };
    let children: Vec<(&String, &Value)> = map.iter().filter(|(k, _)| *k != ".").collect();
    if children.is_empty() {
        out.push(path.to_string());
        return;
    }
    for (k, v) in children {
        match k.split_once(':') {
            Some(("f", name)) => field_paths(v, &format!("{path}.{name}"), out),
            // Keyed or valued list items (`k:{...}`, `v:...`): the list
            // is the field that differs.
            _ => {
                out.push(path.to_string());
                return;
            }
        }
    }
}

/// The spec of `np` as compared and digested: JSON without nulls, empty
/// lists and empty `matchLabels` (the API server omits them), protocol
/// `TCP` where omitted (its default).
pub fn normal_spec(np: &NetworkPolicy) -> Value {
    let mut v = serde_json::to_value(&np.spec).unwrap_or(Value::Null);
    normalize(&mut v, None);
    v
}

fn normalize(v: &mut Value, key: Option<&str>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                normalize(child, Some(k));
            }
            map.retain(|k, child| match child {
                Value::Null => false,
                Value::Array(a) => !a.is_empty(),
                Value::Object(o) => !(o.is_empty() && k == "matchLabels"),
                _ => true,
            });
            if key == Some("ports") || map.contains_key("port") || map.contains_key("endPort") {
                map.entry("protocol")
                    .or_insert_with(|| Value::String("TCP".into()));
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                normalize(item, key);
            }
        }
        _ => {}
    }
}

/// The digest [`APPLIED_ANNOTATION`] records: FNV-1a (64 bits) of the
/// normalised spec as canonical JSON (keys sorted), `fnv1a64:` and 16 hex
/// digits. Stable across versions of this tool and of serde.
pub fn spec_digest(np: &NetworkPolicy) -> String {
    digest_of(&normal_spec(np))
}

fn digest_of(spec: &Value) -> String {
    let mut text = String::new();
    canonical(spec, &mut text);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("fnv1a64:{h:016x}")
}

fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn short_json(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 160 {
        format!("{}...", s.chars().take(160).collect::<String>())
    } else {
        s
    }
}

/// How `have` (the cluster's) differs from `want` (the graph's), as
/// (path, what) pairs in path order.
pub fn value_differences(have: &Value, want: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match (have, want) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = format!("{path}.{k}");
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => value_differences(x, y, &p, out),
                    (Some(x), None) => out.push((
                        p,
                        format!("{} in the cluster, not in the graph", short_json(x)),
                    )),
                    (None, Some(y)) => out.push((
                        p,
                        format!("not in the cluster, {} in the graph", short_json(y)),
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
                    (Some(x), None) => out.push((
                        p,
                        format!("{} in the cluster, not in the graph", short_json(x)),
                    )),
                    (None, Some(y)) => out.push((
                        p,
                        format!("not in the cluster, {} in the graph", short_json(y)),
                    )),
                    (None, None) => {}
                }
            }
        }
        _ if have != want => out.push((
            path.to_string(),
            format!(
                "{} in the cluster, {} in the graph",
                short_json(have),
                short_json(want)
            ),
        )),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::graph::Role;
    use serde_json::json;

    fn np(v: Value) -> NetworkPolicy {
        serde_json::from_value(v).unwrap()
    }

    const GRAPH: &str = "shop";

    fn labels(graph: &str) -> Value {
        json!({MANAGED_BY_LABEL: MANAGED_BY, GRAPH_LABEL: graph})
    }

    fn spec(port: i64) -> Value {
        json!({
            "podSelector": {"matchLabels": {"app": "api"}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                         "ports": [{"protocol": "TCP", "port": port}]}],
            "policyTypes": ["Ingress"]
        })
    }

    /// The desired `shop-api-ingress` in `backend`, admitting `port`.
    fn desired(name: &str, port: i64) -> DesiredPolicy {
        DesiredPolicy {
            role: Role::Ingress("api".into()),
            policy: np(json!({
                "metadata": {"name": name, "namespace": "backend", "labels": labels(GRAPH)},
                "spec": spec(port)
            })),
        }
    }

    /// A stored policy: `spec`, labels, the annotation (`recorded`), and
    /// managedFields entries `(manager, operation, fieldsV1)`.
    fn stored(
        name: &str,
        labels: Value,
        spec: Value,
        recorded: Option<&str>,
        managers: &[(&str, &str, Value)],
    ) -> NetworkPolicy {
        let mut annotations = serde_json::Map::new();
        if let Some(r) = recorded {
            annotations.insert(APPLIED_ANNOTATION.into(), json!(r));
        }
        np(json!({
            "metadata": {
                "name": name, "namespace": "backend", "labels": labels,
                "annotations": annotations, "uid": "u-1", "resourceVersion": "42",
                "managedFields": managers.iter().map(|(m, op, f)| json!({
                    "manager": m, "operation": op, "apiVersion": "networking.k8s.io/v1",
                    "fieldsType": "FieldsV1", "fieldsV1": f, "time": "2025-01-01T00:00:00Z"
                })).collect::<Vec<_>>()
            },
            "spec": spec
        }))
    }

    /// What server-side apply of a whole NetworkPolicy records.
    fn ours() -> (&'static str, &'static str, Value) {
        (
            FIELD_MANAGER,
            "Apply",
            json!({"f:metadata": {"f:labels": {}, "f:annotations": {}},
                   "f:spec": {"f:ingress": {}, "f:podSelector": {}, "f:policyTypes": {}}}),
        )
    }

    fn digest(port: i64) -> String {
        spec_digest(&desired("x", port).policy)
    }

    fn actions(p: &Plan) -> Vec<(Action, String)> {
        p.changes.iter().map(|c| (c.action, c.key())).collect()
    }

    #[test]
    fn a_policy_not_in_the_cluster_is_created_with_the_digest() {
        let p = plan(GRAPH, &[desired("shop-api-ingress", 8080)], &[]);
        assert_eq!(
            actions(&p),
            [(Action::Create, "backend/shop-api-ingress".to_string())]
        );
        let sent = p.changes[0].apply.as_ref().unwrap();
        assert_eq!(
            sent.metadata.annotations.as_ref().unwrap()[APPLIED_ANNOTATION],
            digest(8080)
        );
        assert_eq!(sent.metadata.resource_version, None);
        assert_eq!(
            p.changes[0].summary,
            "namespace/backend allows api from backend/web on TCP/8080"
        );
    }

    #[test]
    fn a_policy_as_applied_is_unchanged() {
        let live = stored(
            "shop-api-ingress",
            labels(GRAPH),
            spec(8080),
            Some(&digest(8080)),
            &[ours()],
        );
        let p = plan(GRAPH, &[desired("shop-api-ingress", 8080)], &[live]);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(p.unchanged, ["backend/shop-api-ingress"]);
    }

    #[test]
    fn the_server_defaults_do_not_make_a_change() {
        // Protocol omitted (TCP by default), an empty list the server drops.
        let mut s = spec(8080);
        s["ingress"][0]["ports"][0]
            .as_object_mut()
            .unwrap()
            .remove("protocol");
        s["egress"] = json!([]);
        let live = stored(
            "shop-api-ingress",
            labels(GRAPH),
            s,
            Some(&digest(8080)),
            &[ours()],
        );
        let p = plan(GRAPH, &[desired("shop-api-ingress", 8080)], &[live]);
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn a_graph_change_is_an_update_without_drift() {
        let live = stored(
            "shop-api-ingress",
            labels(GRAPH),
            spec(8080),
            Some(&digest(8080)),
            &[ours()],
        );
        let p = plan(GRAPH, &[desired("shop-api-ingress", 9090)], &[live]);
        assert_eq!(
            actions(&p),
            [(Action::Update, "backend/shop-api-ingress".to_string())]
        );
        let c = &p.changes[0];
        assert_eq!(c.drift, None);
        assert_eq!(
            c.differences,
            ["spec.ingress[0].ports[0].port: 8080 in the cluster, 9090 in the graph"]
        );
        assert_eq!(
            c.before.as_deref(),
            Some("namespace/backend allows api from backend/web on TCP/8080")
        );
        // Applied only to the object read.
        assert_eq!(
            c.apply
                .as_ref()
                .unwrap()
                .metadata
                .resource_version
                .as_deref(),
            Some("42")
        );
    }

    #[test]
    fn a_field_another_manager_owns_is_drift_from_managed_fields() {
        // kubectl edit changed the port: spec.ingress moved to kubectl-edit
        // (NetworkPolicy's lists are atomic).
        let live = stored(
            "shop-api-ingress",
            labels(GRAPH),
            spec(9090),
            Some(&digest(8080)),
            &[
                (
                    FIELD_MANAGER,
                    "Apply",
                    json!({"f:metadata": {"f:labels": {}}, "f:spec": {"f:podSelector": {}, "f:policyTypes": {}}}),
                ),
                (
                    "kubectl-edit",
                    "Update",
                    json!({"f:spec": {"f:ingress": {}}}),
                ),
            ],
        );
        let p = plan(GRAPH, &[desired("shop-api-ingress", 8080)], &[live]);
        let c = &p.changes[0];
        assert_eq!(c.action, Action::Update);
        let d = c.drift.as_ref().expect("drift");
        assert!(d.edited_since_applied);
        assert_eq!(
            d.owners,
            [FieldOwner {
                manager: "kubectl-edit".into(),
                operation: "Update".into(),
                time: Some("2025-01-01T00:00:00Z".into()),
                fields: vec!["spec.ingress".into()],
            }]
        );
        assert_eq!(p.drifted().count(), 1);
    }

    #[test]
    fn another_manager_owning_what_does_not_change_is_no_drift() {
        // A co-owner of the pod selector (same value) and of a label: the
        // port change touches neither.
        let live = stored(
            "shop-api-ingress",
            labels(GRAPH),
            spec(8080),
            Some(&digest(8080)),
            &[
                ours(),
                ("kubectl", "Apply", json!({"f:spec": {"f:podSelector": {}}})),
                (
                    "kubectl-label",
                    "Update",
                    json!({"f:metadata": {"f:labels": {"f:team": {}}}}),
                ),
            ],
        );
        let p = plan(GRAPH, &[desired("shop-api-ingress", 9090)], &[live]);
        assert_eq!(p.changes[0].drift, None, "{:?}", p.changes[0]);
    }

    #[test]
    fn a_spec_changed_since_applied_is_drift_even_when_no_manager_shows_it() {
        // A whole field removed by hand belongs to no manager any more;
        // the digest sync recorded tells.
        let mut s = spec(8080);
        s.as_object_mut().unwrap().remove("ingress");
        let live = stored(
            "shop-api-ingress",
            labels(GRAPH),
            s,
            Some(&digest(8080)),
            &[(
                FIELD_MANAGER,
                "Apply",
                json!({"f:spec": {"f:podSelector": {}, "f:policyTypes": {}}}),
            )],
        );
        let p = plan(GRAPH, &[desired("shop-api-ingress", 8080)], &[live]);
        let d = p.changes[0].drift.as_ref().expect("drift");
        assert!(d.edited_since_applied);
        assert!(d.owners.is_empty());
    }

    #[test]
    fn a_policy_applied_by_another_manager_with_the_same_spec_is_adopted() {
        // kubectl apply of generate's output: no digest yet, same spec.
        let live = stored(
            "shop-api-ingress",
            labels(GRAPH),
            spec(8080),
            None,
            &[(
                "kubectl-client-side-apply",
                "Update",
                json!({"f:spec": {"f:ingress": {}, "f:podSelector": {}, "f:policyTypes": {}}}),
            )],
        );
        let p = plan(
            GRAPH,
            &[desired("shop-api-ingress", 8080)],
            std::slice::from_ref(&live),
        );
        let c = &p.changes[0];
        assert_eq!((c.action, c.drift.is_none()), (Action::Update, true));
        assert_eq!(
            c.differences,
            [format!(
                "metadata.annotations.{APPLIED_ANNOTATION}: not set (not applied by sync yet)"
            )]
        );
        // A different spec: its owner's fields would conflict.
        let p = plan(GRAPH, &[desired("shop-api-ingress", 9090)], &[live]);
        let d = p.changes[0].drift.as_ref().expect("drift");
        assert!(!d.edited_since_applied);
        assert_eq!(d.owners[0].manager, "kubectl-client-side-apply");
        assert_eq!(d.owners[0].fields, ["spec.ingress"]);
    }

    #[test]
    fn prune_deletes_only_this_graphs_policies() {
        let mine = stored(
            "shop-old-ingress",
            labels(GRAPH),
            spec(8080),
            Some(&digest(8080)),
            &[ours()],
        );
        // Same selector, no labels; another graph's; only one label.
        let unmanaged = stored("by-hand", json!({}), spec(8080), None, &[]);
        let other = stored(
            "other-api-ingress",
            labels("other"),
            spec(8080),
            Some(&digest(8080)),
            &[ours()],
        );
        let half = stored(
            "half",
            json!({GRAPH_LABEL: GRAPH}),
            spec(8080),
            Some(&digest(8080)),
            &[ours()],
        );
        let p = plan(
            GRAPH,
            &[desired("shop-api-ingress", 8080)],
            &[mine, unmanaged, other, half],
        );
        assert_eq!(
            actions(&p),
            [
                (Action::Create, "backend/shop-api-ingress".to_string()),
                (Action::Delete, "backend/shop-old-ingress".to_string()),
            ]
        );
        assert_eq!(p.changes[1].drift, None);
        assert!(p.collisions.is_empty());
    }

    #[test]
    fn a_pruned_policy_edited_by_hand_is_drift() {
        let edited = stored(
            "shop-old-ingress",
            labels(GRAPH),
            spec(9090),
            Some(&digest(8080)),
            &[
                ours(),
                (
                    "kubectl-edit",
                    "Update",
                    json!({"f:spec": {"f:ingress": {}}}),
                ),
            ],
        );
        let p = plan(GRAPH, &[], &[edited]);
        assert_eq!(p.changes[0].action, Action::Delete);
        assert!(p.changes[0].drift.is_some());
    }

    #[test]
    fn a_name_held_by_another_policy_is_a_collision_never_a_change() {
        let other = stored("shop-api-ingress", labels("other"), spec(8080), None, &[]);
        let unmanaged = NetworkPolicy {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some("shop-web-ingress".into()),
                namespace: Some("backend".into()),
                ..Default::default()
            },
            spec: None,
        };
        // The managed-by label taken away by hand: one label alone.
        let mut one_label = unmanaged.clone();
        one_label.metadata.name = Some("shop-db-ingress".into());
        one_label.metadata.labels = Some([(GRAPH_LABEL.to_string(), GRAPH.to_string())].into());
        let p = plan(
            GRAPH,
            &[
                desired("shop-api-ingress", 8080),
                desired("shop-db-ingress", 5432),
                desired("shop-web-ingress", 80),
            ],
            &[other, unmanaged, one_label],
        );
        assert!(p.changes.is_empty());
        assert_eq!(
            p.collisions
                .iter()
                .map(|c| (c.name.as_str(), c.owner.as_str()))
                .collect::<Vec<_>>(),
            [
                ("shop-api-ingress", "graph \"other\""),
                (
                    "shop-db-ingress",
                    "no graph (it has only kubectl-netpol.github.io/graph=shop of the two labels app.kubernetes.io/managed-by=kubectl-netpol and kubectl-netpol.github.io/graph=NAME)"
                ),
                ("shop-web-ingress", "no graph (it has neither label)")
            ]
        );
    }

    #[test]
    fn changes_are_ordered_updates_creates_default_denies_deletes() {
        let mut deny = desired("shop-default-deny", 1);
        deny.role = Role::DefaultDeny;
        let live = stored(
            "shop-z-ingress",
            labels(GRAPH),
            spec(1),
            Some(&digest(1)),
            &[ours()],
        );
        let old = stored(
            "shop-a-old",
            labels(GRAPH),
            spec(1),
            Some(&digest(1)),
            &[ours()],
        );
        let p = plan(
            GRAPH,
            &[
                deny,
                desired("shop-x-ingress", 1),
                desired("shop-z-ingress", 2),
            ],
            &[live, old],
        );
        assert_eq!(
            actions(&p)
                .iter()
                .map(|(a, k)| format!("{} {k}", a.as_str()))
                .collect::<Vec<_>>(),
            [
                "update backend/shop-z-ingress",
                "create backend/shop-x-ingress",
                "create backend/shop-default-deny",
                "delete backend/shop-a-old",
            ]
        );
        assert_eq!(p.counts(), [2, 1, 1]);
    }

    #[test]
    fn the_digest_is_stable() {
        // Recorded in clusters: it must not change between versions.
        assert_eq!(digest(8080), "fnv1a64:de46f2801165b9ae");
        assert_ne!(digest(8080), digest(8081));
    }
}
