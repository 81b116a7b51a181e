//! A Service, translated the way the data plane translates it: its virtual
//! IP to each backing pod, its `port` to that pod's `targetPort`.
//!
//! NetworkPolicy is enforced on the packet after this translation
//! (kube-proxy or the CNI rewrites the destination first), so a question
//! about a Service is a question about each backend on its target port.
//!
//! Backends come from the Service's EndpointSlices when they are known
//! (discovery.k8s.io/v1, label `kubernetes.io/service-name`: the ports there
//! are already resolved per backend), otherwise from `spec.selector` over the
//! pods of the Service's namespace, with named `targetPort`s resolved on each
//! pod's container ports by name and protocol (as the EndpointSlice
//! controller's `FindPort` does). Pure: no I/O.

use std::net::IpAddr;

use crate::engine::ports::Protocol;
use crate::snapshot::{PodInfo, ServiceInfo, ServicePort, SliceEndpoint, Slices, Snapshot};

/// Where the backends of a Service were taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendSource {
    EndpointSlices,
    Selector,
}

/// What a backend is: a pod of the snapshot, or an address no known pod has
/// (an EndpointSlice written by hand can point anywhere).
#[derive(Debug, Clone, Copy)]
pub enum BackendTarget<'s> {
    Pod(&'s PodInfo),
    Address(IpAddr),
}

/// One backend and, for each Service port (same order as
/// `ServiceInfo::ports`), the port traffic reaches it on, or why none.
#[derive(Debug, Clone)]
pub struct Backend<'s> {
    pub target: BackendTarget<'s>,
    /// The EndpointSlice says it is ready (always true from a selector).
    pub ready: bool,
    pub ports: Vec<Result<(Protocol, u16), String>>,
}

impl Backend<'_> {
    /// `namespace/name` of the pod, or the address.
    pub fn display(&self) -> String {
        match self.target {
            BackendTarget::Pod(p) => p.key(),
            BackendTarget::Address(ip) => ip.to_string(),
        }
    }
}

/// How a Service reaches (or does not reach) pods.
#[derive(Debug, Clone)]
pub enum Resolution<'s> {
    /// A ClusterIP or headless Service with known backends (possibly none).
    Backends {
        source: BackendSource,
        backends: Vec<Backend<'s>>,
        /// Endpoints left out (not ready), as `namespace/name` or address.
        not_ready: Vec<String>,
        /// Pods an EndpointSlice names that the snapshot does not hold
        /// (`namespace/name`): left out, and said.
        unknown: Vec<String>,
    },
    /// `type: ExternalName`: a DNS name outside the cluster's pods.
    ExternalName(String),
    /// No selector and no EndpointSlices: its backends are managed elsewhere
    /// (or it has none); the string says what could not be read, if anything.
    Unmanaged(Option<String>),
}

/// Resolves `svc` against the pods of `snapshot`.
pub fn resolve<'s>(snapshot: &'s Snapshot, svc: &ServiceInfo) -> Resolution<'s> {
    if let Some(name) = &svc.external_name {
        return Resolution::ExternalName(name.clone());
    }
    let in_ns = || {
        snapshot
            .pods
            .iter()
            .filter(|p| p.namespace == svc.namespace)
    };
    match &svc.slices {
        Slices::Read(endpoints) if !endpoints.is_empty() || svc.selector.is_empty() => {
            let mut backends = Vec::new();
            let mut not_ready = Vec::new();
            let mut unknown = Vec::new();
            for e in endpoints {
                let pod = e
                    .pod
                    .as_deref()
                    .and_then(|n| in_ns().find(|p| p.name == n))
                    .or_else(|| in_ns().find(|p| e.addresses.iter().any(|a| p.ips.contains(a))));
                let target = match (pod, &e.pod, e.addresses.first()) {
                    (Some(p), _, _) => BackendTarget::Pod(p),
                    // A pod the snapshot lacks is not "outside the cluster".
                    (None, Some(name), _) => {
                        let key = format!("{}/{name}", svc.namespace);
                        if !unknown.contains(&key) {
                            unknown.push(key);
                        }
                        continue;
                    }
                    (None, None, Some(ip)) => BackendTarget::Address(*ip),
                    (None, None, None) => continue,
                };
                let b = Backend {
                    target,
                    ready: e.ready,
                    ports: svc.ports.iter().map(|sp| slice_port(sp, e)).collect(),
                };
                // A dual-stack Service has one slice per address family,
                // each listing the same pods.
                let seen = |list: &[Backend<'_>]| {
                    list.iter().any(|o| match (o.target, b.target) {
                        (BackendTarget::Pod(x), BackendTarget::Pod(y)) => x.key() == y.key(),
                        (BackendTarget::Address(x), BackendTarget::Address(y)) => x == y,
                        _ => false,
                    })
                };
                if seen(&backends) || not_ready.contains(&b.display()) {
                    continue;
                }
                if e.ready {
                    backends.push(b);
                } else {
                    not_ready.push(b.display());
                }
            }
            if endpoints.is_empty() {
                return Resolution::Unmanaged(None);
            }
            Resolution::Backends {
                source: BackendSource::EndpointSlices,
                backends,
                not_ready,
                unknown,
            }
        }
        Slices::Unreadable(why) if svc.selector.is_empty() => {
            Resolution::Unmanaged(Some(why.clone()))
        }
        _ if svc.selector.is_empty() => Resolution::Unmanaged(None),
        _ => {
            let backends = in_ns()
                .filter(|p| svc.selector.iter().all(|(k, v)| p.labels.get(k) == Some(v)))
                .map(|p| Backend {
                    target: BackendTarget::Pod(p),
                    ready: true,
                    ports: svc.ports.iter().map(|sp| pod_port(sp, p)).collect(),
                })
                .collect();
            Resolution::Backends {
                source: BackendSource::Selector,
                backends,
                not_ready: Vec::new(),
                unknown: Vec::new(),
            }
        }
    }
}

/// The Service whose ClusterIPs include `ip`.
pub fn by_cluster_ip<'s>(snapshot: &'s Snapshot, ip: &IpAddr) -> Option<&'s ServiceInfo> {
    snapshot
        .services
        .iter()
        .find(|s| s.cluster_ips.contains(ip))
}

/// The target port of `sp` on `pod`: the number, or the container port of
/// that name and protocol; `Err` says why there is none (the pod is not
/// named: callers prefix it).
pub fn pod_port(sp: &ServicePort, pod: &PodInfo) -> Result<(Protocol, u16), String> {
    match &sp.target {
        Ok(n) => Ok((sp.protocol, *n)),
        Err(name) => pod
            .ports
            .iter()
            .find(|c| c.name.as_deref() == Some(name.as_str()) && c.protocol == sp.protocol)
            .map(|c| (sp.protocol, c.port))
            .ok_or_else(|| {
                format!(
                    "no container port named {name:?} ({}): the Service sends it nothing on port {}",
                    sp.protocol, sp.port
                )
            }),
    }
}

/// The port an EndpointSlice gives for `sp` (matched by port name and
/// protocol, as kube-proxy matches them).
fn slice_port(sp: &ServicePort, e: &SliceEndpoint) -> Result<(Protocol, u16), String> {
    e.ports
        .iter()
        .find(|p| p.name == sp.name && p.protocol == sp.protocol)
        .map(|p| (p.protocol, p.port))
        .ok_or_else(|| {
            format!(
                "its EndpointSlice lists no port {}{}: the Service sends it nothing on port {}",
                sp.name
                    .as_deref()
                    .map(|n| format!("named {n:?} "))
                    .unwrap_or_default(),
                sp.protocol,
                sp.port
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{ContainerPort, Labels, SlicePort};

    fn pod(name: &str, labels: &[(&str, &str)], ports: &[(&str, u16)]) -> PodInfo {
        PodInfo {
            namespace: "shop".into(),
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ips: vec![format!("10.1.0.{}", name.len()).parse().unwrap()],
            ports: ports
                .iter()
                .map(|(n, p)| ContainerPort {
                    name: Some(n.to_string()),
                    port: *p,
                    protocol: Protocol::Tcp,
                })
                .collect(),
            init_ports: Vec::new(),
            workload: None,
            representative: false,
            host_network: false,
            node: None,
            host_ips: Vec::new(),
        }
    }

    fn service(selector: &[(&str, &str)], target: Result<u16, String>) -> ServiceInfo {
        ServiceInfo {
            namespace: "shop".into(),
            name: "api".into(),
            selector: selector
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Labels>(),
            ports: vec![ServicePort {
                name: Some("web".into()),
                port: 80,
                protocol: Protocol::Tcp,
                target,
            }],
            service_type: "ClusterIP".into(),
            cluster_ips: vec!["10.0.0.5".parse().unwrap()],
            headless: false,
            external_name: None,
            external_traffic_policy: None,
            slices: Slices::Absent,
        }
    }

    fn snapshot(pods: Vec<PodInfo>) -> Snapshot {
        Snapshot::new(Vec::new(), pods, Vec::new())
    }

    #[test]
    fn a_named_target_port_resolves_on_each_pod() {
        let s = snapshot(vec![
            pod("a", &[("app", "api")], &[("http", 8080)]),
            pod("bb", &[("app", "api")], &[("http", 9090)]),
            pod("ccc", &[("app", "other")], &[("http", 1)]),
        ]);
        let svc = service(&[("app", "api")], Err("http".into()));
        let Resolution::Backends {
            source, backends, ..
        } = resolve(&s, &svc)
        else {
            panic!("backends expected");
        };
        assert_eq!(source, BackendSource::Selector);
        let got: Vec<(String, u16)> = backends
            .iter()
            .map(|b| (b.display(), b.ports[0].clone().unwrap().1))
            .collect();
        assert_eq!(
            got,
            vec![("shop/a".to_string(), 8080), ("shop/bb".to_string(), 9090)]
        );
    }

    #[test]
    fn slices_win_over_the_selector_and_not_ready_endpoints_are_left_out() {
        let s = snapshot(vec![
            pod("a", &[("app", "api")], &[]),
            pod("bb", &[("app", "api")], &[]),
        ]);
        let mut svc = service(&[("app", "api")], Ok(8080));
        let port = SlicePort {
            name: Some("web".into()),
            port: 7000,
            protocol: Protocol::Tcp,
        };
        svc.attach(vec![
            SliceEndpoint {
                addresses: vec!["10.1.0.2".parse().unwrap()],
                pod: Some("bb".into()),
                ready: true,
                ports: vec![port.clone()],
            },
            SliceEndpoint {
                addresses: vec!["10.1.0.1".parse().unwrap()],
                pod: Some("a".into()),
                ready: false,
                ports: vec![port],
            },
        ]);
        let Resolution::Backends {
            source,
            backends,
            not_ready,
            ..
        } = resolve(&s, &svc)
        else {
            panic!("backends expected");
        };
        assert_eq!(source, BackendSource::EndpointSlices);
        assert_eq!(backends.len(), 1);
        assert_eq!(backends[0].display(), "shop/bb");
        assert_eq!(backends[0].ports[0], Ok((Protocol::Tcp, 7000)));
        assert_eq!(not_ready, vec!["shop/a".to_string()]);
    }

    #[test]
    fn a_pod_listed_by_both_slices_of_a_dual_stack_service_is_one_backend() {
        let s = snapshot(vec![pod("bb", &[("app", "api")], &[])]);
        let mut svc = service(&[("app", "api")], Ok(8080));
        let endpoint = |ip: &str| SliceEndpoint {
            addresses: vec![ip.parse().unwrap()],
            pod: Some("bb".into()),
            ready: true,
            ports: vec![SlicePort {
                name: Some("web".into()),
                port: 8080,
                protocol: Protocol::Tcp,
            }],
        };
        svc.attach(vec![endpoint("10.1.0.2")]);
        svc.attach(vec![endpoint("fd00::2")]);
        let Resolution::Backends { backends, .. } = resolve(&s, &svc) else {
            panic!("backends expected");
        };
        assert_eq!(backends.len(), 1);
    }

    #[test]
    fn without_selector_or_slices_the_backends_are_not_guessed() {
        let s = snapshot(vec![pod("a", &[("app", "api")], &[])]);
        let svc = service(&[], Ok(80));
        assert!(matches!(resolve(&s, &svc), Resolution::Unmanaged(None)));
        let mut svc = service(&[], Ok(80));
        svc.external_name = Some("db.example.com".into());
        assert!(matches!(resolve(&s, &svc), Resolution::ExternalName(n) if n == "db.example.com"));
    }
}

#[cfg(test)]
mod parse_tests {
    use crate::snapshot::{ServiceInfo, Slices};

    fn parse(yaml: &str) -> ServiceInfo {
        let svc: k8s_openapi::api::core::v1::Service = serde_yaml_ng::from_str(yaml).unwrap();
        ServiceInfo::from_service(&svc, "ns")
    }

    #[test]
    fn service_objects_keep_what_translation_needs() {
        let s = parse(
            "metadata: {name: a}\nspec:\n  clusterIP: 10.0.0.1\n  clusterIPs: [10.0.0.1, 'fd00::1']\n  selector: {app: a}\n  ports:\n  - {name: h, port: 80, targetPort: http}\n  - {port: 53, protocol: UDP}\n  - {port: 81, targetPort: 0}\n",
        );
        assert_eq!(s.cluster_ips.len(), 2);
        assert!(!s.headless);
        assert_eq!(s.service_type, "ClusterIP");
        assert_eq!(s.ports[0].target, Err("http".to_string()));
        assert_eq!(s.ports[0].name.as_deref(), Some("h"));
        assert_eq!(s.ports[1].target, Ok(53));
        assert_eq!(s.ports[2].target, Ok(81));
        assert_eq!(s.slices, Slices::Absent);
        let h = parse("metadata: {name: h}\nspec: {clusterIP: None, selector: {app: a}}\n");
        assert!(h.headless);
        assert!(h.cluster_ips.is_empty());
        let e = parse(
            "metadata: {name: e}\nspec: {type: ExternalName, externalName: db.example.com}\n",
        );
        assert_eq!(e.external_name.as_deref(), Some("db.example.com"));
        let lb = parse("metadata: {name: l}\nspec: {type: LoadBalancer, clusterIP: 10.0.0.2}\n");
        assert_eq!(lb.external_traffic_policy.as_deref(), Some("Cluster"));
    }
}
