//! Services as endpoints: `can SRC svc/NAME`, a ClusterIP as SRC or DST, and
//! `explain svc/NAME`.
//!
//! NetworkPolicy is enforced after a Service has been translated: the
//! virtual IP to a backing pod, `port` to that pod's `targetPort`
//! (`engine::service`). So a Service destination is answered once per
//! Service port and backing pod serving it, on its target port there, each
//! line saying `via Service NS/NAME (port 80/TCP -> TCP/8080)`; a Service
//! source means the pods behind it.
//!
//! `can` exit status: 0 when every connection is allowed; 1 when any is
//! denied (the first line then says `DENIED` when none is allowed and
//! `PARTLY ALLOWED` when some are; `-o json` lists every connection with its
//! own `allowed`); 2 for an error, including a question NetworkPolicy cannot
//! answer from the cluster's objects (a Service without selector or
//! EndpointSlices, a ClusterIP given as the source, an ExternalName whose
//! address decides).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cli::{CanArgs, ExplainArgs, OutputFormat};
use crate::cmd::can::{
    CanReport, pair_report, parse_port_arg, render_text as render_pair, resolve_named,
};
use crate::cmd::explain::direction;
use crate::cmd::{Context, Outcome, Resolved, find_ref, require_valid};
use crate::engine::Model;
use crate::engine::lint::cni::CniFacts;
use crate::engine::policy::Direction;
use crate::engine::ports::{PortSet, Protocol};
use crate::engine::service::{BackendSource, BackendTarget, Resolution, resolve};
use crate::engine::summary::peer_text;
use crate::engine::verdict::Endpoint;
use crate::error::{Error, exit};
use crate::render::{Palette, clean, labels_text, to_json, to_yaml};
use crate::snapshot::{ServiceInfo, Slices, Snapshot};

/// A Service as `-o json` shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceView {
    pub namespace: String,
    pub name: String,
    /// `spec.type`.
    #[serde(rename = "type")]
    pub service_type: String,
    #[serde(rename = "clusterIPs")]
    pub cluster_ips: Vec<String>,
    pub headless: bool,
    pub external_name: Option<String>,
    pub selector: BTreeMap<String, String>,
    pub ports: Vec<ServicePortView>,
    /// `EndpointSlices` or `selector`; null when the backends are not known.
    pub backends_from: Option<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePortView {
    pub name: Option<String>,
    pub port: u16,
    pub protocol: String,
    /// A number, or a container port name.
    pub target_port: String,
}

fn service_view(svc: &ServiceInfo, source: Option<BackendSource>) -> ServiceView {
    ServiceView {
        namespace: svc.namespace.clone(),
        name: svc.name.clone(),
        service_type: svc.service_type.clone(),
        cluster_ips: svc.cluster_ips.iter().map(ToString::to_string).collect(),
        headless: svc.headless,
        external_name: svc.external_name.clone(),
        selector: svc.selector.clone(),
        ports: svc
            .ports
            .iter()
            .map(|p| ServicePortView {
                name: p.name.clone(),
                port: p.port,
                protocol: p.protocol.to_string(),
                target_port: match &p.target {
                    Ok(n) => n.to_string(),
                    Err(name) => name.clone(),
                },
            })
            .collect(),
        backends_from: source.map(|s| match s {
            BackendSource::EndpointSlices => "EndpointSlices",
            BackendSource::Selector => "selector",
        }),
    }
}

/// The answer of `can` when a Service is on either side.
#[derive(Debug, Serialize)]
pub struct ServiceCanReport {
    /// True only when every connection below is allowed.
    #[serde(skip)]
    pub allowed: bool,
    /// Not every connection is allowed for certain, and some are undecided
    /// (see `CanReport::undecided`).
    #[serde(skip)]
    pub undecided: bool,
    /// JSON `allowed`: true, false, or null when undecided.
    #[serde(rename = "allowed")]
    pub answer: Option<bool>,
    pub from: String,
    pub to: String,
    /// `--port` as given (a Service port when DST is a Service), or null.
    pub port: Option<String>,
    /// The Service on the destination side, else on the source side.
    pub service: ServiceView,
    /// One per source pod, backing pod and Service port it serves, each
    /// on that port's target port there (`servicePort` says which).
    pub connections: Vec<CanReport>,
    /// DST a Service: per Service port asked about, how many connections
    /// (source pod x backing pod serving it) there are and how many are
    /// allowed. Empty otherwise.
    #[serde(rename = "servicePorts")]
    pub service_ports: Vec<ServicePortAnswer>,
    pub notes: Vec<String>,
    /// As `can`'s (each connection carries it too).
    #[serde(flatten)]
    pub cluster_policies_read: crate::snapshot::ClusterPoliciesRead,
}

/// One Service port's share of a Service answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePortAnswer {
    /// `80/TCP`.
    pub service_port: String,
    pub connections: usize,
    pub allowed: usize,
}

/// The connections of `connections` grouped by the Service port they
/// answer for, in order of first appearance.
fn by_service_port(connections: &[CanReport]) -> Vec<ServicePortAnswer> {
    let mut out: Vec<ServicePortAnswer> = Vec::new();
    for c in connections {
        let Some(sp) = &c.service_port else { continue };
        let i = match out.iter().position(|a| &a.service_port == sp) {
            Some(i) => i,
            None => {
                out.push(ServicePortAnswer {
                    service_port: sp.clone(),
                    connections: 0,
                    allowed: 0,
                });
                out.len() - 1
            }
        };
        out[i].connections += 1;
        out[i].allowed += usize::from(c.allowed);
    }
    out
}

/// One end, once Services are expanded.
struct End<'a> {
    endpoint: Endpoint<'a>,
    /// On a destination: the ports asked about there (translated).
    wanted: Option<PortSet>,
    via: Option<String>,
    /// The Service port this end answers for (`80/TCP`).
    service_port: Option<String>,
}

fn word(svc: &ServiceInfo) -> String {
    format!("service {}", svc.key())
}

/// What [`can`] did.
pub enum CanAnswer {
    /// A Service was on either side: this is the answer.
    Answered(Outcome),
    /// No Service: `can::run` answers (an address that could not be
    /// checked against the Services' ClusterIPs and the pods' IPs is its
    /// business: see `can::unknown_owner`).
    NotAService,
}

/// Answers `can` when SRC or DST is a Service (by name or ClusterIP).
pub fn can(
    ctx: &Context,
    snapshot: &Snapshot,
    model: &Model<'_>,
    args: &CanArgs,
) -> Result<CanAnswer, Error> {
    let ns = ctx.default_namespace();
    let given = ctx.global.namespace.is_some();
    let from_r = find_ref(snapshot, &args.from, &ns, given)?;
    let to_r = find_ref(snapshot, &args.to, &ns, given)?;
    let is_svc = |r: &Resolved<'_>| matches!(r, Resolved::Service { .. });
    if !is_svc(&from_r) && !is_svc(&to_r) {
        return Ok(CanAnswer::NotAService);
    }
    let mut notes: Vec<String> = Vec::new();
    let (sources, from_text, from_svc) = sources(snapshot, &from_r, &mut notes)?;
    let (dests, to_text, to_svc) = match &to_r {
        Resolved::Service {
            service,
            cluster_ip,
            note,
        } => {
            notes.extend(note.clone());
            if let Some(name) = &service.external_name {
                return external_name(ctx, model, service, name, &sources, &from_text, args)
                    .map(CanAnswer::Answered);
            }
            let (dests, source) = service_dests(
                snapshot,
                service,
                *cluster_ip,
                args.port.as_deref(),
                &mut notes,
            )?;
            (dests, word(service), Some((*service, Some(source))))
        }
        other => {
            let endpoint = plain(other, &mut notes);
            let wanted = match &args.port {
                None => None,
                Some(text) => {
                    let (proto, port) = parse_port_arg(text)?;
                    Some(match port {
                        Ok(n) => PortSet::single(proto.unwrap_or(Protocol::Tcp), n),
                        Err(name) => resolve_named(snapshot, &endpoint, &name, proto, &|| {
                            crate::cmd::lint::cni_facts(ctx)
                        })?,
                    })
                }
            };
            let text = endpoint.display();
            (
                vec![End {
                    endpoint,
                    wanted,
                    via: None,
                    service_port: None,
                }],
                text,
                None,
            )
        }
    };
    // A ClusterIP of one family reaches the pods' address of that family:
    // the pods' other addresses must not match an ipBlock.
    let family = match &to_r {
        Resolved::Service {
            cluster_ip: Some(ip),
            ..
        } => Some(ip.is_ipv4()),
        _ => None,
    };
    let narrowed: Vec<Option<crate::snapshot::PodInfo>> = dests
        .iter()
        .map(|d| match (family, d.endpoint) {
            (Some(v4), Endpoint::Pod(p))
                if p.ips.iter().any(|a| a.is_ipv4() == v4)
                    && p.ips.iter().any(|a| a.is_ipv4() != v4) =>
            {
                let mut q = p.clone();
                q.ips.retain(|a| a.is_ipv4() == v4);
                Some(q)
            }
            _ => None,
        })
        .collect();
    let mut dests = dests;
    for (d, n) in dests.iter_mut().zip(&narrowed) {
        if let Some(q) = n {
            d.endpoint = Endpoint::Pod(q);
        }
    }
    // A client outside the cluster reaching a NodePort or load balancer.
    if let Some((svc, _)) = to_svc
        && let Some(policy) = &svc.external_traffic_policy
        && sources
            .iter()
            .any(|s| matches!(s.endpoint, Endpoint::External(_)))
    {
        notes.push(match policy.as_str() {
            "Local" => format!(
                "{} has externalTrafficPolicy: Local: a client coming in through its node port or load balancer keeps its address, as asked here",
                word(svc)
            ),
            _ => format!(
                "{} has externalTrafficPolicy: {policy}: a client coming in through its node port or load balancer is usually seen by the pods with a node's address instead of its own; ask about that address too",
                word(svc)
            ),
        });
    }
    let involved: Vec<&str> = sources
        .iter()
        .chain(dests.iter())
        .filter_map(|e| match &e.endpoint {
            Endpoint::Pod(p) => Some(p.namespace.as_str()),
            Endpoint::External(_) => None,
        })
        .collect();
    let mut involved_set = involved.clone();
    involved_set.sort_unstable();
    involved_set.dedup();
    let warnings = require_valid(model, &involved_set)?;
    if model
        .guessed_namespaces()
        .iter()
        .any(|n| involved_set.contains(n))
    {
        notes.extend(model.guessed_namespaces_note());
    }
    let mut connections = Vec::new();
    // What the CNI does with ipBlocks is read once, if any answer needs it.
    let facts = std::cell::OnceCell::new();
    let cni = || {
        facts
            .get_or_init(|| crate::cmd::lint::cni_facts(ctx))
            .clone()
    };
    for s in &sources {
        for d in &dests {
            if let (Endpoint::External(_), Endpoint::External(_)) = (&s.endpoint, &d.endpoint) {
                notes.push(format!(
                    "{} -> {}: both addresses are outside the cluster's pods: NetworkPolicy has nothing to say about them",
                    s.endpoint.display(),
                    d.endpoint.display()
                ));
                continue;
            }
            let mut r = pair_report(
                model,
                &s.endpoint,
                &d.endpoint,
                d.wanted.as_ref(),
                Vec::new(),
                &cni,
            );
            r.via = d.via.clone().or_else(|| s.via.clone());
            r.service_port = d.service_port.clone();
            connections.push(r);
        }
    }
    if connections.is_empty() {
        return Err(Error::Usage(
            "every connection asked about is between addresses outside the cluster's pods: NetworkPolicy has nothing to say about them".into(),
        ));
    }
    let allowed = connections.iter().all(|c| c.allowed);
    let undecided = !allowed && connections.iter().any(|c| c.undecided);
    let (svc, source) = to_svc
        .or(from_svc)
        .ok_or_else(|| Error::Usage("internal: a Service answer without a Service".into()))?;
    let report = ServiceCanReport {
        allowed,
        undecided,
        answer: (!undecided).then_some(allowed),
        from: from_text,
        to: to_text,
        port: args.port.clone(),
        service: service_view(svc, source),
        service_ports: by_service_port(&connections),
        connections,
        notes,
        cluster_policies_read: snapshot.gaps.cluster_policies_read(),
    };
    let stdout = match ctx.format() {
        OutputFormat::Json => to_json(&report),
        OutputFormat::Yaml => to_yaml(&report),
        OutputFormat::Text | OutputFormat::Wide | OutputFormat::Name => {
            render_can(&report, ctx.palette)
        }
    };
    Ok(CanAnswer::Answered(Outcome {
        stdout,
        warnings,
        code: if allowed {
            exit::OK
        } else if undecided {
            exit::UNKNOWN
        } else {
            exit::DENIED
        },
    }))
}

/// A pod or an address, with the notes `can` gives about it.
fn plain<'a>(r: &'a Resolved<'_>, notes: &mut Vec<String>) -> Endpoint<'a> {
    match r {
        Resolved::Pod(f) => {
            if let Some(n) = &f.note {
                notes.push(n.clone());
            }
            Endpoint::Pod(&f.pod)
        }
        Resolved::Ip(ip) => Endpoint::External(*ip),
        // Callers expand Services before.
        Resolved::Service { .. } => Endpoint::External(std::net::IpAddr::from([0, 0, 0, 0])),
    }
}

type Sources<'a> = (
    Vec<End<'a>>,
    String,
    Option<(&'a ServiceInfo, Option<BackendSource>)>,
);

/// SRC expanded: a Service means the pods behind it; its ClusterIP is
/// never the source address of a packet.
fn sources<'a>(
    snapshot: &'a Snapshot,
    r: &'a Resolved<'a>,
    notes: &mut Vec<String>,
) -> Result<Sources<'a>, Error> {
    let Resolved::Service {
        service,
        cluster_ip,
        note,
    } = r
    else {
        let endpoint = plain(r, notes);
        let text = endpoint.display();
        return Ok((
            vec![End {
                endpoint,
                wanted: None,
                via: None,
                service_port: None,
            }],
            text,
            None,
        ));
    };
    notes.extend(note.clone());
    if let Some(ip) = cluster_ip {
        return Err(Error::Usage(format!(
            "{ip} is the ClusterIP of Service {}: a ClusterIP is never the source address of a packet (connections leave from the pods' own IPs); to ask about the pods behind it, give svc/{} -n {} as SRC",
            service.key(),
            service.name,
            service.namespace
        )));
    }
    if let Some(name) = &service.external_name {
        return Err(Error::Usage(format!(
            "Service {} is an ExternalName for {name:?}: it has no pods, so it is never the source of a connection",
            service.key()
        )));
    }
    let (backends, source) = backends(snapshot, service, notes)?;
    notes.push(format!(
        "{} as the source means the pods behind it: each is asked about",
        word(service)
    ));
    let ends = backends
        .iter()
        .map(|b| End {
            endpoint: match b.target {
                BackendTarget::Pod(p) => Endpoint::Pod(p),
                BackendTarget::Address(ip) => Endpoint::External(ip),
            },
            wanted: None,
            via: None,
            service_port: None,
        })
        .collect();
    Ok((ends, word(service), Some((*service, Some(source)))))
}

/// The notes every answer about a Service's backends carries: where they
/// come from, and which were left out (not ready, or named by an
/// EndpointSlice but not among the pods read). An error when the pods of
/// the Service's namespace could not be read: the backends are unknown.
fn backend_notes(
    snapshot: &Snapshot,
    svc: &ServiceInfo,
    source: BackendSource,
    not_ready: &[String],
    unknown: &[String],
    notes: &mut Vec<String>,
) -> Result<(), Error> {
    if !unknown.is_empty() {
        notes.push(format!(
            "named by the EndpointSlices of {} but not among the pods read (finished or gone), so left out: {}",
            word(svc),
            unknown.join(", ")
        ));
    }
    if !not_ready.is_empty() {
        notes.push(format!(
            "not ready, so sent no traffic through {} and left out: {}",
            word(svc),
            not_ready.join(", ")
        ));
    }
    notes.push(source_note(svc, source));
    if let Some(why) = snapshot.gaps.pods_unknown_in(&svc.namespace) {
        return Err(Error::Forbidden(format!(
            "the pods behind {} could not be read: {why}",
            word(svc)
        )));
    }
    Ok(())
}

/// The ready backends of a ClusterIP or headless Service, with a note
/// saying where they come from; an error when there are none to ask about.
fn backends<'s>(
    snapshot: &'s Snapshot,
    svc: &ServiceInfo,
    notes: &mut Vec<String>,
) -> Result<(Vec<crate::engine::service::Backend<'s>>, BackendSource), Error> {
    match resolve(snapshot, svc) {
        Resolution::ExternalName(name) => Err(Error::Usage(format!(
            "Service {} is an ExternalName for {name:?}: not a cluster destination",
            svc.key()
        ))),
        Resolution::Unmanaged(why) => Err(Error::NotFound(format!(
            "Service {} has no selector and {}: its backends are not known, so no answer is given (EndpointSlices managed by hand or by another controller name them; ask about those pods or addresses directly)",
            svc.key(),
            match why {
                Some(why) => format!("its EndpointSlices could not be read ({why})"),
                None => "no EndpointSlices".to_string(),
            }
        ))),
        Resolution::Backends {
            source,
            backends,
            not_ready,
            unknown,
        } => {
            backend_notes(snapshot, svc, source, &not_ready, &unknown, notes)?;
            if backends.is_empty() {
                let why = match source {
                    BackendSource::Selector => format!(
                        "its selector {} matches no pod in namespace {:?}",
                        labels_text(&svc.selector),
                        svc.namespace
                    ),
                    BackendSource::EndpointSlices => {
                        "its EndpointSlices list no ready endpoint".to_string()
                    }
                };
                return Err(Error::NotFound(format!(
                    "Service {} has no backing pods ({why}): a connection to it fails whatever the policies say",
                    svc.key()
                )));
            }
            Ok((backends, source))
        }
    }
}

fn source_note(svc: &ServiceInfo, source: BackendSource) -> String {
    match (source, &svc.slices) {
        (BackendSource::EndpointSlices, _) => format!(
            "the backends of {} are the ready endpoints of its EndpointSlices",
            word(svc)
        ),
        (BackendSource::Selector, Slices::Unreadable(why)) => format!(
            "the EndpointSlices of {} could not be read ({why}): its backends are the pods its selector {} matches now",
            word(svc),
            labels_text(&svc.selector)
        ),
        (BackendSource::Selector, _) => format!(
            "the backends of {} are the pods its selector {} matches (no EndpointSlices name it)",
            word(svc),
            labels_text(&svc.selector)
        ),
    }
}

/// `port 80/TCP -> TCP/8080`: the Service port as kubectl writes it, the
/// target port as every port list here is written.
fn arrow(port: u16, protocol: Protocol, target: (Protocol, u16)) -> String {
    format!("port {port}/{protocol} -> {}/{}", target.0, target.1)
}

/// DST expanded: each backend, on the target ports of the Service ports
/// asked about (`--port` is a Service port: a number or a port name).
fn service_dests<'s>(
    snapshot: &'s Snapshot,
    svc: &'s ServiceInfo,
    cluster_ip: Option<std::net::IpAddr>,
    port_arg: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<(Vec<End<'s>>, BackendSource), Error> {
    let (backends, source) = backends(snapshot, svc, notes)?;
    if let Some(ip) = cluster_ip {
        notes.push(format!(
            "{ip} is the ClusterIP of Service {}: connections to it are translated to its pods before NetworkPolicy applies",
            svc.key()
        ));
    }
    let listed = || {
        svc.ports
            .iter()
            .map(|p| p.display())
            .collect::<Vec<_>>()
            .join(", ")
    };
    // Which Service ports are asked about, and (headless, by number) a
    // port taken as the pods' own.
    let mut literal: Option<PortSet> = None;
    let selected: Vec<usize> = match port_arg {
        None => (0..svc.ports.len()).collect(),
        Some(text) => {
            let (proto, port) = parse_port_arg(text)?;
            let picked: Vec<usize> = svc
                .ports
                .iter()
                .enumerate()
                .filter(|(_, sp)| {
                    proto.is_none_or(|p| p == sp.protocol)
                        && match &port {
                            Ok(n) => sp.port == *n,
                            Err(name) => sp.name.as_deref() == Some(name.as_str()),
                        }
                })
                .map(|(i, _)| i)
                .collect();
            match (&port, svc.headless) {
                (Ok(n), true) => {
                    literal = Some(PortSet::single(proto.unwrap_or(Protocol::Tcp), *n));
                    Vec::new()
                }
                _ if picked.is_empty() => {
                    // A target port given where the Service port is meant.
                    let meant: Vec<String> = match &port {
                        Ok(n) => svc
                            .ports
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| {
                                backends
                                    .iter()
                                    .any(|b| matches!(&b.ports[*i], Ok((_, t)) if t == n))
                            })
                            .map(|(_, sp)| sp.port.to_string())
                            .collect(),
                        Err(_) => Vec::new(),
                    };
                    let hint = match meant.first() {
                        Some(p) => format!(
                            "; {text} is the targetPort its pods listen on: ask with --port {p}"
                        ),
                        None => String::new(),
                    };
                    let what = if svc.headless {
                        "--port names a port of the Service, or gives a number the pods listen on (headless: there is no translation, clients connect to the pods' own ports)"
                    } else {
                        "--port names a port of the Service, which is translated to each pod's targetPort"
                    };
                    return Err(Error::NotFound(format!(
                        "Service {} has no port {text} (its ports: {}); {what}{hint}",
                        svc.key(),
                        if svc.ports.is_empty() {
                            "<none>".to_string()
                        } else {
                            listed()
                        }
                    )));
                }
                _ => picked,
            }
        }
    };
    if svc.headless {
        notes.push(format!(
            "Service {} is headless (clusterIP: None): there is no virtual IP; clients get the pod IPs from DNS and connect to each pod directly, so each pod is asked about{}",
            svc.key(),
            if literal.is_some() {
                " on the port given"
            } else {
                " on the ports its endpoints advertise (the targetPorts)"
            }
        ));
    }
    let mut dests = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    let kind = if svc.headless {
        "headless Service"
    } else {
        "Service"
    };
    let endpoint_of = |b: &crate::engine::service::Backend<'s>| match b.target {
        BackendTarget::Pod(p) => Endpoint::Pod(p),
        BackendTarget::Address(ip) => Endpoint::External(ip),
    };
    for b in &backends {
        if let Some(set) = &literal {
            dests.push(End {
                endpoint: endpoint_of(b),
                wanted: Some(set.clone()),
                via: Some(format!("via headless Service {} (pod IP)", svc.key())),
                service_port: None,
            });
        } else if selected.is_empty() {
            // A Service without ports (headless only): every port.
            dests.push(End {
                endpoint: endpoint_of(b),
                wanted: None,
                via: Some(format!("via {kind} {} (no ports: every port)", svc.key())),
                service_port: None,
            });
        }
    }
    // One question per Service port and backend serving it, on the target
    // port there, grouped by Service port: a backend that serves none of
    // the ports asked about is not a backend for this question.
    for &i in selected.iter().filter(|_| literal.is_none()) {
        let sp = &svc.ports[i];
        for b in &backends {
            match &b.ports[i] {
                Ok(t) => dests.push(End {
                    endpoint: endpoint_of(b),
                    wanted: Some(PortSet::single(t.0, t.1)),
                    via: Some(format!(
                        "via {kind} {} ({})",
                        svc.key(),
                        arrow(sp.port, sp.protocol, *t)
                    )),
                    service_port: Some(format!("{}/{}", sp.port, sp.protocol)),
                }),
                Err(why) => skipped.push(format!("{}: {why}", b.display())),
            }
        }
    }
    if dests.is_empty() {
        return Err(Error::NotFound(format!(
            "no pod behind Service {} serves {}: the Service sends nothing there ({})",
            svc.key(),
            port_arg.map_or_else(|| "its ports".to_string(), |p| format!("port {p}")),
            skipped.join("; ")
        )));
    }
    notes.extend(skipped);
    Ok((dests, source))
}

/// An ExternalName destination: not a cluster destination. What decides is
/// the source's egress toward the address the name resolves to.
fn external_name(
    ctx: &Context,
    model: &Model<'_>,
    svc: &ServiceInfo,
    name: &str,
    sources: &[End<'_>],
    from_text: &str,
    args: &CanArgs,
) -> Result<Outcome, Error> {
    let wanted = match &args.port {
        None => None,
        Some(text) => {
            let (proto, port) = parse_port_arg(text)?;
            match port {
                Ok(n) => Some(PortSet::single(proto.unwrap_or(Protocol::Tcp), n)),
                Err(p) => {
                    return Err(Error::Usage(format!(
                        "--port {p:?} is a named port, and Service {} is an ExternalName for {name:?} outside the cluster: give a number",
                        svc.key()
                    )));
                }
            }
        }
    };
    // `NAME.NAMESPACE.svc[.cluster.local]` names a Service of this cluster.
    let labels: Vec<&str> = name.trim_end_matches('.').split('.').collect();
    if let [svc_name, ns, "svc", ..] = labels.as_slice() {
        return Err(Error::Usage(format!(
            "Service {} is an ExternalName for {name:?}, which names Service {ns}/{svc_name} of this cluster: ask about it directly ({ns}/svc/{svc_name})",
            svc.key()
        )));
    }
    if !sources
        .iter()
        .any(|s| matches!(s.endpoint, Endpoint::Pod(_)))
    {
        return Err(Error::Usage(format!(
            "SRC is outside the cluster and Service {} is an ExternalName for {name:?}, outside it too: NetworkPolicy has nothing to say about them",
            svc.key()
        )));
    }
    let mut lines = Vec::new();
    let mut all_allowed = true;
    for s in sources {
        let Endpoint::Pod(pod) = s.endpoint else {
            continue;
        };
        let isolating = model.isolating(pod, Direction::Egress);
        if isolating.is_empty() {
            lines.push(format!(
                "{}: not isolated for egress: it may connect to any address",
                pod.key()
            ));
            continue;
        }
        // A rule without `to` admits every address; ipBlocks admit some.
        let mut open = PortSet::empty();
        let mut blocks = Vec::new();
        for &pi in &isolating {
            let policy = &model.policies[pi];
            for (ri, rule) in policy
                .rules(Direction::Egress)
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                // Named ports match nothing toward an address outside the cluster.
                let ports = rule.resolve_ports(None);
                match &rule.peers {
                    None => open.union_with(&ports),
                    Some(peers) => {
                        for p in peers {
                            if let crate::engine::policy::Peer::IpBlock(_) = p {
                                blocks.push(format!(
                                    "{} rule #{} ({})",
                                    policy.key(),
                                    ri + 1,
                                    peer_text(p)
                                ));
                            }
                        }
                    }
                }
            }
        }
        let open_enough = match &wanted {
            Some(w) => open.contains_all(w),
            None => !open.is_empty(),
        };
        if open_enough {
            lines.push(format!(
                "{}: an egress rule toward anywhere admits it ({})",
                pod.key(),
                open.describe()
            ));
        } else if blocks.is_empty() {
            all_allowed = false;
            lines.push(format!(
                "{}: egress isolated and no rule admits an address outside the cluster{}",
                pod.key(),
                wanted
                    .as_ref()
                    .map(|w| format!(" on {}", w.to_strings().join(", ")))
                    .unwrap_or_default()
            ));
        } else {
            return Err(Error::Usage(format!(
                "Service {} is an ExternalName for {name:?}, outside the cluster: whether {} may reach it depends on the address {name:?} resolves to, which its ipBlock egress rules decide ({}); ask kubectl netpol can {} ADDRESS",
                svc.key(),
                pod.key(),
                blocks.join("; "),
                pod.key()
            )));
        }
    }
    let head = if all_allowed {
        ctx.palette.good("ALLOWED")
    } else {
        ctx.palette.bad("DENIED")
    };
    let mut out = format!(
        "{head}: {} -> {} (ExternalName {})\n",
        clean(from_text),
        clean(&word(svc)),
        clean(name)
    );
    for l in &lines {
        out.push_str(&format!("  {}\n", clean(l)));
    }
    out.push_str(&format!(
        "  Note: Service {} is an ExternalName: not a cluster destination; {} resolves outside the cluster's pods, and only the source's egress toward that address decides\n",
        clean(&svc.key()),
        clean(name)
    ));
    let stdout = match ctx.format() {
        OutputFormat::Json | OutputFormat::Yaml => {
            #[derive(Serialize)]
            #[serde(rename_all = "camelCase")]
            struct ExternalReport<'a> {
                allowed: bool,
                from: &'a str,
                to: String,
                port: Option<&'a String>,
                service: ServiceView,
                reasons: &'a [String],
            }
            let r = ExternalReport {
                allowed: all_allowed,
                from: from_text,
                to: word(svc),
                port: args.port.as_ref(),
                service: service_view(svc, None),
                reasons: &lines,
            };
            if ctx.format() == OutputFormat::Json {
                to_json(&r)
            } else {
                to_yaml(&r)
            }
        }
        _ => out,
    };
    Ok(Outcome {
        stdout,
        warnings: Vec::new(),
        code: if all_allowed { exit::OK } else { exit::DENIED },
    })
}

/// The text of a Service answer: one summary line, then each connection.
pub fn render_can(r: &ServiceCanReport, p: Palette) -> String {
    let total = r.connections.len();
    let ok = r.connections.iter().filter(|c| c.allowed).count();
    let unknown = r.connections.iter().filter(|c| c.undecided).count();
    let head = if ok == total {
        p.good("ALLOWED")
    } else if unknown > 0 {
        p.warn("UNKNOWN")
    } else if ok == 0 {
        p.bad("DENIED")
    } else {
        p.warn("PARTLY ALLOWED")
    };
    // Addresses behind a Service (an EndpointSlice written by hand) are
    // backends, not backing pods.
    let pods_only = r
        .connections
        .iter()
        .all(|c| matches!(c.ingress.endpoint, "pod" | "hostNetworkPod"));
    let what = match (
        r.to.starts_with("service ") && !r.from.starts_with("service "),
        pods_only,
        total == 1,
    ) {
        (true, true, true) => "backing pod",
        (true, true, false) => "backing pods",
        (true, false, true) => "backend",
        (true, false, false) => "backends",
        (false, _, true) => "connection",
        (false, _, false) => "connections",
    };
    let port = r
        .port
        .as_ref()
        .map(|p| format!(" on port {p}"))
        .unwrap_or_default();
    // Several Service ports: each is its own question, counted apart.
    let counts = if r.service_ports.len() > 1 {
        r.service_ports
            .iter()
            .map(|a| {
                format!(
                    "port {}: {} of {} {} allowed",
                    a.service_port,
                    a.allowed,
                    a.connections,
                    match what.trim_end_matches('s') {
                        w if a.connections == 1 => w.to_string(),
                        w => format!("{w}s"),
                    }
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    } else {
        format!("{ok} of {total} {what} allowed")
    };
    let counts = if unknown > 0 {
        format!("{counts} ({unknown} unknown: see below)")
    } else {
        counts
    };
    let mut out = format!(
        "{head}: {} -> {}{port}: {counts}\n",
        clean(&r.from),
        clean(&r.to)
    );
    for c in &r.connections {
        for line in render_pair(c, p).lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    for n in &r.notes {
        out.push_str(&format!("  Note: {}\n", clean(n)));
    }
    out
}

/// `explain svc/NAME`: the ingress of the Service's backing pods, grouped
/// (pods with the same policies and target ports are one group).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceExplainReport {
    pub service: ServiceView,
    /// `namespace/name` of each backing pod (or an address).
    pub backends: Vec<String>,
    /// Why the backends are not known (RBAC), when they are not; `backends`
    /// is then empty without meaning "none".
    pub backends_unknown: Option<String>,
    /// The backends that are host-network pods (their node's address).
    pub host_network: Vec<String>,
    /// The backends that are addresses, not pods: `{"address", "node"}`
    /// (`node` null for an address no node has).
    pub addresses: Vec<AddressBackend>,
    pub groups: Vec<GroupView>,
    pub notes: Vec<String>,
    /// As `explain`'s.
    #[serde(flatten)]
    pub cluster_policies_read: crate::snapshot::ClusterPoliciesRead,
}

/// A backend that is an address rather than a pod.
#[derive(Debug, Serialize)]
pub struct AddressBackend {
    pub address: String,
    /// The node whose address it is, when it is one.
    pub node: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupView {
    pub pods: Vec<String>,
    /// The pods use the host network: each is its node's address, which no
    /// NetworkPolicy isolates.
    pub host_network: bool,
    pub isolated: bool,
    pub policies: Vec<String>,
    /// Per Service port: its target port here and who may reach it.
    pub ports: Vec<PortReach>,
    /// The ingress conclusion for the first pod of the group.
    pub conclusion: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortReach {
    /// `80/TCP`.
    pub service_port: String,
    /// `TCP/8080`; null when it does not resolve on these pods.
    pub target_port: Option<String>,
    /// `anywhere`, or each admitting rule's peers as written.
    pub from: Vec<String>,
    /// False when the port is not served here (`notServed` says why).
    pub allowed: bool,
    /// Why these pods do not serve this Service port (a named targetPort
    /// they do not declare): the Service sends them nothing on it. Absent
    /// when they serve it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_served: Option<String>,
}

/// Answers `explain` for a Service; `None` when the target is not one.
pub fn explain(
    ctx: &Context,
    snapshot: &Snapshot,
    model: &Model<'_>,
    args: &ExplainArgs,
    enforcement: Vec<String>,
) -> Result<Option<Outcome>, Error> {
    let ns = ctx.default_namespace();
    let Some(target) = args.target.as_deref() else {
        return Ok(None);
    };
    let r = find_ref(snapshot, target, &ns, ctx.global.namespace.is_some())?;
    let Resolved::Service {
        service,
        cluster_ip,
        note,
    } = r
    else {
        return Ok(None);
    };
    let mut warnings = require_valid(model, &[service.namespace.as_str()])?;
    warnings.extend(enforcement);
    let facts = std::cell::OnceCell::new();
    let cni = || {
        facts
            .get_or_init(|| crate::cmd::lint::cni_facts(ctx))
            .clone()
    };
    let mut report = explain_report(snapshot, model, service, cluster_ip, &cni)?;
    report.notes.splice(0..0, note);
    let stdout = match ctx.format() {
        OutputFormat::Json => to_json(&report),
        OutputFormat::Yaml => to_yaml(&report),
        OutputFormat::Text | OutputFormat::Wide | OutputFormat::Name => {
            render_explain(&report, ctx.palette)
        }
    };
    Ok(Some(Outcome {
        stdout,
        warnings,
        code: exit::OK,
    }))
}

fn explain_report(
    snapshot: &Snapshot,
    model: &Model<'_>,
    svc: &ServiceInfo,
    cluster_ip: Option<std::net::IpAddr>,
    cni: &dyn Fn() -> CniFacts,
) -> Result<ServiceExplainReport, Error> {
    let mut notes = Vec::new();
    if let Some(ip) = cluster_ip {
        notes.push(format!(
            "{ip} is the ClusterIP of Service {}: connections to it are translated to its pods before NetworkPolicy applies",
            svc.key()
        ));
    }
    let resolved = resolve(snapshot, svc);
    let mut unknown: Option<String> = None;
    let (source, backends) = match resolved {
        Resolution::ExternalName(name) => {
            notes.push(format!(
                "an ExternalName Service is not a cluster destination: {name:?} resolves outside the cluster's pods; only the egress of each client toward that address decides"
            ));
            (None, Vec::new())
        }
        Resolution::Unmanaged(why) => {
            match why {
                Some(why) => {
                    unknown = Some(format!(
                        "it has no selector and its EndpointSlices could not be read ({why})"
                    ));
                }
                None => notes.push(
                    "no selector and no EndpointSlices: its backends are managed elsewhere, or it has none"
                        .into(),
                ),
            }
            (None, Vec::new())
        }
        Resolution::Backends {
            source,
            backends,
            not_ready,
            unknown,
        } => {
            backend_notes(snapshot, svc, source, &not_ready, &unknown, &mut notes)?;
            if backends.is_empty() {
                notes.push("it has no backing pods now: connections to it fail".into());
            }
            (Some(source), backends)
        }
    };
    if svc.headless {
        notes.push(
            "headless (clusterIP: None): clients get the pod IPs from DNS and connect to the pods directly"
                .into(),
        );
    }
    notes.push(
        "NetworkPolicy applies after the Service is translated: what matters is each pod's ingress on its target port"
            .into(),
    );
    // Pods with the same isolating policies and target ports answer alike
    // (host-network pods apart: they are their node's address).
    type Key = (Vec<usize>, Vec<Option<String>>, bool);
    let mut groups: Vec<(Key, GroupView)> = Vec::new();
    let mut listed = Vec::new();
    let mut host_network = Vec::new();
    let mut addresses = Vec::new();
    for b in &backends {
        // A pod that serves none of the Service's ports (named targetPorts
        // it does not declare) gets nothing from it: not a backend.
        if !b.ports.is_empty() && b.ports.iter().all(Result::is_err) {
            let why: Vec<&str> = b
                .ports
                .iter()
                .filter_map(|r| r.as_ref().err())
                .map(String::as_str)
                .collect();
            notes.push(format!(
                "{} is selected but serves none of the Service's ports, so it is not a backend: {}",
                b.display(),
                why.join("; ")
            ));
            continue;
        }
        listed.push(b.display());
        let pod = match b.target {
            BackendTarget::Pod(pod) => pod,
            BackendTarget::Address(ip) => {
                let node = snapshot.node_of(&ip).map(str::to_string);
                notes.push(match &node {
                    Some(n) => format!(
                        "{ip} is an address of node {n}, not a pod: NetworkPolicy does not apply to a node's address"
                    ),
                    None if snapshot.is_node_address(&ip) => format!(
                        "{ip} is a node's address, not a pod: NetworkPolicy does not apply to it"
                    ),
                    None => format!(
                        "{ip} is an address no known pod has (outside the cluster's pods): no policy of this cluster applies at it"
                    ),
                });
                addresses.push(AddressBackend {
                    address: ip.to_string(),
                    node,
                });
                continue;
            }
        };
        let host = pod.on_host_network();
        if host {
            host_network.push(pod.key());
        }
        let isolating = model.isolating(pod, Direction::Ingress);
        let targets: Vec<Option<String>> = b
            .ports
            .iter()
            .map(|t| t.as_ref().ok().map(|(p, n)| format!("{p}/{n}")))
            .collect();
        let key: Key = (isolating.clone(), targets, host);
        if let Some(g) = groups.iter_mut().find(|g| g.0 == key) {
            g.1.pods.push(pod.key());
            continue;
        }
        let mut ports = Vec::new();
        for (sp, t) in svc.ports.iter().zip(&b.ports) {
            let service_port = format!("{}/{}", sp.port, sp.protocol);
            let (proto, n) = match t {
                Ok(t) => t,
                Err(why) => {
                    ports.push(PortReach {
                        service_port,
                        target_port: None,
                        from: Vec::new(),
                        allowed: false,
                        not_served: Some(why.clone()),
                    });
                    continue;
                }
            };
            let mut from = Vec::new();
            if host {
                from.push(
                    "anywhere (host network: its node's address, which no policy isolates)"
                        .to_string(),
                );
            } else if isolating.is_empty() {
                from.push("anywhere (not isolated for ingress)".to_string());
            }
            for &pi in &isolating {
                let policy = &model.policies[pi];
                for (ri, rule) in policy
                    .rules(Direction::Ingress)
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    if !rule.resolve_ports(Some(&pod.ports)).contains(*proto, *n) {
                        continue;
                    }
                    let peers = match &rule.peers {
                        None => "anywhere".to_string(),
                        Some(list) => list.iter().map(peer_text).collect::<Vec<_>>().join(" or "),
                    };
                    from.push(format!("{peers} ({} rule #{})", policy.key(), ri + 1));
                }
            }
            ports.push(PortReach {
                service_port,
                target_port: Some(format!("{proto}/{n}")),
                allowed: !from.is_empty(),
                from,
                not_served: None,
            });
        }
        let view = direction(model, pod, Direction::Ingress, cni);
        groups.push((
            key,
            GroupView {
                pods: vec![pod.key()],
                host_network: host,
                isolated: !isolating.is_empty(),
                policies: isolating.iter().map(|&i| model.policies[i].key()).collect(),
                ports,
                conclusion: view.conclusion,
            },
        ));
    }
    Ok(ServiceExplainReport {
        service: service_view(svc, source),
        backends: listed,
        backends_unknown: unknown,
        host_network,
        addresses,
        groups: groups.into_iter().map(|g| g.1).collect(),
        notes,
        cluster_policies_read: model.snapshot.gaps.cluster_policies_read(),
    })
}

/// kubectl-describe-like text for `explain svc/NAME`.
pub fn render_explain(r: &ServiceExplainReport, p: Palette) -> String {
    let s = &r.service;
    let mut out = format!(
        "{}      {}/{}\n",
        p.head("Service:"),
        clean(&s.namespace),
        clean(&s.name)
    );
    let addr = if let Some(n) = &s.external_name {
        format!("{} {}", s.service_type, clean(n))
    } else if s.headless {
        format!("{} (headless: clusterIP None)", s.service_type)
    } else {
        format!("{} {}", s.service_type, s.cluster_ips.join(", "))
    };
    out.push_str(&format!("Type:         {addr}\n"));
    out.push_str(&format!("Selector:     {}\n", labels_text(&s.selector)));
    let ports: Vec<String> = s
        .ports
        .iter()
        .map(|sp| {
            let name = sp
                .name
                .as_deref()
                .map(|n| format!("{} ", clean(n)))
                .unwrap_or_default();
            format!(
                "{name}{}/{} -> {}",
                sp.port,
                sp.protocol,
                clean(&sp.target_port)
            )
        })
        .collect();
    out.push_str(&format!(
        "Ports:        {}\n",
        if ports.is_empty() {
            "<none>".to_string()
        } else {
            ports.join(", ")
        }
    ));
    let from = match s.backends_from {
        Some("EndpointSlices") => " (from its EndpointSlices)",
        Some(_) => " (from its selector)",
        None => "",
    };
    let backends = if let Some(why) = &r.backends_unknown {
        format!("unknown: {}", clean(why))
    } else if r.backends.is_empty() {
        "<none>".to_string()
    } else {
        r.backends
            .iter()
            .map(|b| {
                let mark = if r.host_network.contains(b) {
                    " (host network)".to_string()
                } else if let Some(a) = r.addresses.iter().find(|a| &a.address == b) {
                    match &a.node {
                        Some(n) => format!(" (node {})", clean(n)),
                        None => " (not a pod)".to_string(),
                    }
                } else {
                    String::new()
                };
                format!("{}{mark}", clean(b))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    out.push_str(&format!("Backends:     {backends}{from}\n"));
    for g in &r.groups {
        out.push('\n');
        let state = if g.host_network {
            p.good("its node's address: no policy applies")
        } else if g.isolated {
            p.warn(&format!("isolated by {}", g.policies.join(", ")))
        } else {
            p.good("not isolated")
        };
        out.push_str(&format!(
            "{} {}: {state}\n",
            p.head("Ingress of"),
            g.pods
                .iter()
                .map(|x| {
                    if g.host_network {
                        format!("{} (host network)", clean(x))
                    } else {
                        clean(x)
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        ));
        for pr in &g.ports {
            if let Some(why) = &pr.not_served {
                out.push_str(&format!(
                    "  {} -> not served here: {}\n",
                    pr.service_port,
                    clean(why)
                ));
                continue;
            }
            let target = pr.target_port.as_deref().unwrap_or_default();
            let who = if pr.from.is_empty() {
                p.bad("denied, nothing admits it")
            } else {
                format!(
                    "from {}",
                    pr.from
                        .iter()
                        .map(|x| clean(x))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            };
            out.push_str(&format!("  {} -> {target}: {who}\n", pr.service_port));
        }
        out.push_str(&format!("  => {}\n", clean(&g.conclusion)));
    }
    if !r.notes.is_empty() {
        out.push_str("\nNotes:\n");
        for n in &r.notes {
            out.push_str(&format!("  - {}\n", clean(n)));
        }
    }
    out
}
