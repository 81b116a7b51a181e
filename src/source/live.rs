//! A live cluster as input: a kube client built from kubectl's flags, and
//! paged, parallel list calls that fill a [`Snapshot`].
//!
//! Configuration follows kubectl: `--kubeconfig` reads exactly that file,
//! otherwise `$KUBECONFIG` (a list of files, merged) or `~/.kube/config`,
//! otherwise the in-cluster service account. `--context`, `--cluster`,
//! `--user`, `--server`, `--token`, `--certificate-authority`,
//! `--insecure-skip-tls-verify`, `--tls-server-name`, `--client-certificate`,
//! `--client-key`, `--as`, `--as-group` and `--as-uid` override what the
//! kubeconfig says. TLS verification is never
//! turned off unless asked.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, ListParams};
use kube::config::{
    AuthInfo, Cluster, Context as KubeContext, KubeConfigOptions, Kubeconfig, NamedAuthInfo,
    NamedCluster, NamedContext,
};
use kube::{Client, Config};
use serde::de::DeserializeOwned;

use crate::cli::ConnectionArgs;
use crate::cni::{CNI_CONFIGMAPS, CNI_NAMESPACES};
use crate::error::Error;
use crate::snapshot::{
    NamespaceInfo, PodInfo, SERVICE_NAME_LABEL, ServiceInfo, SliceEndpoint, WorkloadRef,
};

/// Objects per page of a list call.
const PAGE: u32 = 500;

/// Requests sent to the API server by this process (for `-v=6` and the
/// benchmarks).
static REQUESTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// kubectl's `-v` level; 6 and above log every request on stderr.
static VERBOSITY: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Sets the `-v` level.
pub fn set_verbosity(level: u8) {
    VERBOSITY.store(level, std::sync::atomic::Ordering::Relaxed);
}

/// How many requests were sent so far.
pub fn requests() -> usize {
    REQUESTS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Counts every HTTP request the client sends and, at `-v=6`, logs it as
/// kubectl does: `GET https://server/api/v1/namespaces/x/pods?limit=500
/// 200 OK in 5 milliseconds` (a transport failure: `failed (why)`).
#[derive(Clone)]
struct RequestLog {
    server: String,
}

impl<S> tower::Layer<S> for RequestLog {
    type Service = RequestLogService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequestLogService {
            inner,
            server: self.server.clone(),
        }
    }
}

#[derive(Clone)]
struct RequestLogService<S> {
    inner: S,
    server: String,
}

impl<S, B, R> tower::Service<http::Request<B>> for RequestLogService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        REQUESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = VERBOSITY.load(std::sync::atomic::Ordering::Relaxed) >= 6;
        let line = log.then(|| {
            let uri = request.uri();
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            let url = match uri.scheme() {
                Some(_) => uri.to_string(),
                None => format!("{}{path}", self.server),
            };
            format!("{} {url}", request.method())
        });
        let started = std::time::Instant::now();
        let response = self.inner.call(request);
        Box::pin(async move {
            let r = response.await;
            if let Some(line) = line {
                let ms = started.elapsed().as_millis();
                match &r {
                    Ok(resp) => {
                        let status = resp.status();
                        crate::say_err!(
                            "I: {line} {} {} in {ms} milliseconds",
                            status.as_str(),
                            status.canonical_reason().unwrap_or_default()
                        );
                    }
                    Err(e) => crate::say_err!(
                        "I: {line} failed ({}) in {ms} milliseconds",
                        crate::render::clean(&e.to_string())
                    ),
                }
            }
            r
        })
    }
}

/// What [`Live::cluster_policies`] found.
#[derive(Debug, Default)]
pub struct ClusterPolicies {
    /// The objects read.
    pub objects: Vec<crate::snapshot::ClusterPolicyObject>,
    /// The kinds the API server serves, as `Kind (group/version)`.
    pub served: Vec<String>,
    /// Why the list of a served kind was refused, one per kind (or why
    /// the group's discovery was, when `unknown`).
    pub refused: Vec<String>,
    /// True when the group's discovery was refused: whether the cluster
    /// serves these APIs is unknown.
    pub unknown: bool,
}

/// A connected cluster.
#[derive(Clone)]
pub struct Live {
    client: Client,
    /// The namespace of the kubeconfig context (or `default`).
    pub namespace: String,
    /// `--request-timeout`; `None` waits forever.
    pub timeout: Option<Duration>,
    /// When `--request-timeout` runs out for the whole command.
    deadline: Option<std::time::Instant>,
    /// The API server's address, for messages.
    pub server: String,
    /// Who we are, for messages (`--as`, or the kubeconfig user name).
    pub user: Option<String>,
    /// The kubeconfig context in use; `None` inside a pod or when flags
    /// alone (`--server`) name the cluster.
    pub context: Option<String>,
}

/// The field selector that keeps finished pods (phase Succeeded or
/// Failed: no traffic) out of a pod list, on the server's side: jobs'
/// completed pods are often most of a namespace's.
pub const RUNNABLE_PODS: &str = "status.phase!=Succeeded,status.phase!=Failed";

/// The largest response body read from the API server: a page of 500
/// objects (kubectl's page size, and ours) at 128 KiB each; the reads of
/// one command run in parallel, so memory stays within a few times this.
pub const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// What a response body beyond [`MAX_RESPONSE_BYTES`] ends in (in the
/// error's chain, as http-body-util words it).
const BODY_LIMIT_MESSAGE: &str = "length limit exceeded";

/// Caps a response's body at [`MAX_RESPONSE_BYTES`].
fn limit_body<B>(response: http::Response<B>) -> http::Response<http_body_util::Limited<B>> {
    response.map(|body| http_body_util::Limited::new(body, MAX_RESPONSE_BYTES))
}

/// How long connecting (TCP and the TLS handshake) may take without
/// `--request-timeout`: kubectl's dialer gives up after 30 s too.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How a timeout inside the client ends its message (tokio's `Elapsed`).
const TIMEOUT_MESSAGE: &str = "deadline has elapsed";

/// Parses `--request-timeout` as kubectl does: a bare number of seconds,
/// or a Go duration (`time.ParseDuration`: `0`, `500ms`, `1m30s`, `1h2m`,
/// `1.5s`, `10us`, `1ns`; units ns, us/µs, ms, s, m, h). `0` means no limit.
pub fn parse_timeout(text: &str) -> Result<Option<Duration>, Error> {
    let bad = || {
        Error::Usage(format!(
            "invalid --request-timeout {text:?}: use a number of seconds or a duration such as 500ms, 30s, 1m30s or 0 (no limit)"
        ))
    };
    // kubectl refuses absurd values too; Duration panics beyond its range.
    const MAX_SECS: f64 = 10.0 * 365.0 * 86400.0;
    let t = text.trim();
    if let Ok(secs) = t.parse::<u64>() {
        if secs as f64 > MAX_SECS {
            return Err(bad());
        }
        return Ok((secs > 0).then(|| Duration::from_secs(secs)));
    }
    let mut total = Duration::ZERO;
    let mut rest = t.strip_prefix('+').unwrap_or(t);
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let value: f64 = rest[..digits].parse().map_err(|_| bad())?;
        let unit_end = rest[digits..]
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .map_or(rest.len(), |i| digits + i);
        // Nanoseconds per unit.
        let unit = match &rest[digits..unit_end] {
            "ns" => 1.0,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        let nanos = (value * unit).round();
        if !nanos.is_finite() || nanos > MAX_SECS * 1e9 {
            return Err(bad());
        }
        total += Duration::from_nanos(nanos as u64);
        if total.as_secs_f64() > MAX_SECS {
            return Err(bad());
        }
        rest = &rest[unit_end..];
    }
    Ok((!total.is_zero()).then_some(total))
}

fn config_error(e: impl std::fmt::Display) -> Error {
    Error::Config(e.to_string())
}

/// The error when no kubeconfig was found and this is not a pod: what was
/// looked for, worded as `--kubeconfig`'s missing file (`stat PATH: no
/// such file or directory`) when `$KUBECONFIG` names files that do not
/// exist.
fn no_cluster() -> Error {
    let named: Vec<String> = std::env::var_os("KUBECONFIG")
        .map(|list| {
            std::env::split_paths(&list)
                .filter(|p| !p.as_os_str().is_empty())
                .map(|p| format!("stat {}: no such file or directory", p.display()))
                .collect()
        })
        .unwrap_or_default();
    let looked = if named.is_empty() {
        "$KUBECONFIG is unset".to_string()
    } else {
        format!(
            "$KUBECONFIG names no file that exists: {}",
            named.join(", ")
        )
    };
    Error::Config(format!(
        "no cluster to talk to: no kubeconfig ({looked}, and ~/.kube/config does not exist) and not running inside a cluster; pass --kubeconfig, or -f FILE to read manifests"
    ))
}

/// Reads the kubeconfig the way kubectl does (`--kubeconfig`, else
/// `$KUBECONFIG` merged, else `~/.kube/config`); `None` when there is none.
pub fn read_kubeconfig(args: &ConnectionArgs) -> Result<Option<Kubeconfig>, Error> {
    if let Some(path) = &args.kubeconfig {
        if !std::path::Path::new(path).exists() {
            return Err(Error::Config(format!(
                "stat {path}: no such file or directory"
            )));
        }
        return read_one(std::path::Path::new(path)).map(Some);
    }
    if let Some(list) = std::env::var_os("KUBECONFIG") {
        // As kubectl: empty elements and missing files are skipped; the
        // first file to set a value wins.
        let mut merged: Option<Kubeconfig> = None;
        for path in std::env::split_paths(&list) {
            if path.as_os_str().is_empty() || !path.exists() {
                continue;
            }
            let next = read_one(&path)?;
            merged = Some(match merged {
                None => next,
                Some(m) => m.merge(next).map_err(|e| {
                    Error::Config(format!(
                        "error loading config file {:?}: {e}",
                        path.display().to_string()
                    ))
                })?,
            });
        }
        if merged.is_some() {
            return Ok(merged);
        }
    }
    let Some(home) = std::env::home_dir() else {
        return Ok(None);
    };
    let path = home.join(".kube").join("config");
    if !path.exists() {
        return Ok(None);
    }
    read_one(&path).map(Some)
}

/// Reads one kubeconfig file. The error names the file and says what is
/// wrong in one line, never quoting the file (it holds credentials).
fn read_one(path: &std::path::Path) -> Result<Kubeconfig, Error> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("error loading config file {shown:?}: {e}")))?;
    Kubeconfig::from_yaml(&text).map_err(|e| {
        let first = e.to_string();
        let first = first.lines().next().unwrap_or_default();
        // Parser messages may quote a line of the file after a `|`.
        let first = first.split(" | ").next().unwrap_or_default();
        let line = first
            .find("line ")
            .map(|i| {
                first[i..]
                    .split(|c: char| !c.is_ascii_alphanumeric() && c != ' ')
                    .next()
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        Error::Config(if line.is_empty() {
            format!("error loading config file {shown:?}: not a valid kubeconfig")
        } else {
            format!(
                "error loading config file {shown:?}: not a valid kubeconfig ({})",
                line.trim()
            )
        })
    })
}

/// Applies the command-line overrides to the context, cluster and user the
/// kubeconfig selects, creating them when the kubeconfig lacks them.
/// Flag combinations kubectl refuses before sending anything.
fn check_flags(args: &ConnectionArgs) -> Result<(), Error> {
    if !args.as_group.is_empty() && args.as_user.is_none() {
        return Err(Error::Usage(
            "requesting groups (--as-group) without impersonating a user (--as)".into(),
        ));
    }
    if args.as_uid.is_some() && args.as_user.is_none() {
        return Err(Error::Usage(
            "requesting uid (--as-uid) without impersonating a user (--as)".into(),
        ));
    }
    for (flag, path) in [
        ("--client-certificate", &args.client_certificate),
        ("--client-key", &args.client_key),
    ] {
        if let Some(path) = path
            && let Err(e) = std::fs::metadata(path)
        {
            return Err(Error::Config(format!("{flag} {path:?}: {e}")));
        }
    }
    if args.insecure_skip_tls_verify && args.certificate_authority.is_some() {
        return Err(Error::Usage(
            "specifying a root certificates file with the insecure flag is not allowed".into(),
        ));
    }
    if let Some(ca) = &args.certificate_authority {
        let text = std::fs::read_to_string(ca)
            .map_err(|e| Error::Config(format!("--certificate-authority {ca:?}: {e}")))?;
        if !text.contains("-----BEGIN CERTIFICATE-----") {
            return Err(Error::Config(format!(
                "--certificate-authority {ca:?}: unable to parse bytes as PEM block"
            )));
        }
    }
    Ok(())
}

fn apply_overrides(kc: &mut Kubeconfig, args: &ConnectionArgs) -> Result<KubeConfigOptions, Error> {
    let current = kc.current_context.clone().filter(|c| !c.is_empty());
    if args.context.is_none() && current.is_none() && args.server.is_none() {
        // What kubectl means by "no configuration": nothing says which
        // cluster to talk to.
        let names: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
        return Err(Error::Config(if names.is_empty() {
            "no context chosen: the kubeconfig has no contexts and no current-context; pass --server, or --kubeconfig with a context".to_string()
        } else {
            format!(
                "no context chosen: the kubeconfig sets no current-context; use --context NAME ({}) or set one with kubectl config use-context NAME",
                names.join(", ")
            )
        }));
    }
    let context_name = args
        .context
        .clone()
        .or_else(|| current.clone())
        .unwrap_or_else(|| "kubectl-netpol".to_string());
    if !kc.contexts.iter().any(|c| c.name == context_name) {
        // A current-context that names nothing is kubectl's error too;
        // only a kubeconfig without contexts (flags alone) gets one made up.
        if args.context.is_some() || current.is_some() {
            return Err(Error::Config(format!(
                "context was not found for specified context: {context_name}"
            )));
        }
        kc.contexts.push(NamedContext {
            name: context_name.clone(),
            context: Some(KubeContext {
                cluster: "kubectl-netpol".into(),
                user: Some("kubectl-netpol".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    let ctx = kc
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.clone())
        .unwrap_or_default();
    let cluster_name = args.cluster.clone().unwrap_or(ctx.cluster.clone());
    let user_name = args
        .user
        .clone()
        .or(ctx.user.clone())
        .unwrap_or_else(|| "kubectl-netpol".into());
    if args.cluster.is_some() && !kc.clusters.iter().any(|c| c.name == cluster_name) {
        return Err(Error::Config(format!(
            "cluster {cluster_name:?} not found in the kubeconfig"
        )));
    }
    if args.user.is_some() && !kc.auth_infos.iter().any(|a| a.name == user_name) {
        return Err(Error::Config(format!(
            "user {user_name:?} not found in the kubeconfig"
        )));
    }
    if !kc.clusters.iter().any(|c| c.name == cluster_name) {
        kc.clusters.push(NamedCluster {
            name: cluster_name.clone(),
            cluster: Some(Cluster::default()),
            ..Default::default()
        });
    }
    if !kc.auth_infos.iter().any(|a| a.name == user_name) {
        kc.auth_infos.push(NamedAuthInfo {
            name: user_name.clone(),
            auth_info: Some(AuthInfo::default()),
            ..Default::default()
        });
    }
    for named in kc.clusters.iter_mut().filter(|c| c.name == cluster_name) {
        let c = named.cluster.get_or_insert_with(Cluster::default);
        if let Some(server) = &args.server {
            c.server = Some(server.clone());
        }
        // `host:port` without a scheme means https, as for kubectl.
        if let Some(server) = c.server.as_mut()
            && !server.contains("://")
        {
            *server = format!("https://{server}");
        }
        if let Some(ca) = &args.certificate_authority {
            c.certificate_authority = Some(ca.clone());
            c.certificate_authority_data = None;
        }
        if args.insecure_skip_tls_verify {
            c.insecure_skip_tls_verify = Some(true);
        }
        if let Some(name) = &args.tls_server_name {
            c.tls_server_name = Some(name.clone());
        }
        if c.server.is_none() {
            return Err(Error::Config(format!(
                "no server found for cluster {cluster_name:?}"
            )));
        }
    }
    for named in kc.auth_infos.iter_mut().filter(|a| a.name == user_name) {
        let a = named.auth_info.get_or_insert_with(AuthInfo::default);
        if let Some(token) = &args.token {
            a.token = Some(token.clone().into());
            a.token_file = None;
        }
        // As kubectl: a flag replaces the kubeconfig's file and its inline data.
        if let Some(cert) = &args.client_certificate {
            a.client_certificate = Some(cert.clone());
            a.client_certificate_data = None;
        }
        if let Some(key) = &args.client_key {
            a.client_key = Some(key.clone());
            a.client_key_data = None;
        }
        if args.client_certificate.is_some() || args.client_key.is_some() {
            let cert = a.client_certificate.is_some() || a.client_certificate_data.is_some();
            let key = a.client_key.is_some() || a.client_key_data.is_some();
            if cert != key {
                return Err(Error::Config(format!(
                    "{} must be specified for {user_name:?} to use the clientCert authentication method",
                    if cert {
                        "client-key-data or client-key (--client-key)"
                    } else {
                        "client-certificate-data or client-certificate (--client-certificate)"
                    }
                )));
            }
        }
    }
    Ok(KubeConfigOptions {
        context: Some(context_name),
        cluster: Some(cluster_name),
        user: Some(user_name),
    })
}

impl Live {
    /// Builds a client from kubectl's flags. Nothing is sent yet.
    pub async fn connect(args: &ConnectionArgs) -> Result<Live, Error> {
        let timeout = parse_timeout(args.request_timeout.as_deref().unwrap_or("0"))?;
        check_flags(args)?;
        let kubeconfig = read_kubeconfig(args)?;
        let (mut config, user, context) = match kubeconfig {
            Some(mut kc) => {
                let had_contexts = !kc.contexts.is_empty();
                let options = apply_overrides(&mut kc, args)?;
                let user = options.user.clone();
                let context = options.context.clone().filter(|_| had_contexts);
                let config = Config::from_custom_kubeconfig(kc, &options)
                    .await
                    .map_err(config_error)?;
                (config, user, context)
            }
            None if args.server.is_some() => {
                let mut kc = Kubeconfig::default();
                let options = apply_overrides(&mut kc, args)?;
                let config = Config::from_custom_kubeconfig(kc, &options)
                    .await
                    .map_err(config_error)?;
                (config, None, None)
            }
            None => {
                let config = Config::incluster().map_err(|_| no_cluster())?;
                (config, None, None)
            }
        };
        if let Some(as_user) = &args.as_user {
            config.auth_info.impersonate = Some(as_user.clone());
        }
        if !args.as_group.is_empty() {
            config.auth_info.impersonate_groups = Some(args.as_group.clone());
        }
        if let Some(uid) = &args.as_uid {
            config.auth_info.impersonate_uid = Some(uid.clone());
        }
        // --request-timeout bounds every stage; without it only
        // connecting is bounded (a slow answer is waited for, as kubectl).
        config.connect_timeout = Some(timeout.unwrap_or(CONNECT_TIMEOUT));
        config.read_timeout = timeout;
        config.write_timeout = timeout;
        let namespace = config.default_namespace.clone();
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string();
        // A misbehaving server cannot make a response body grow without
        // end, with or without --request-timeout.
        let client = kube::client::ClientBuilder::try_from(config)
            .map_err(config_error)?
            .with_layer(&tower::util::MapResponseLayer::new(limit_body))
            .with_layer(&RequestLog {
                server: server.clone(),
            })
            .build();
        Ok(Live {
            client,
            namespace,
            timeout,
            deadline: timeout.map(|t| std::time::Instant::now() + t),
            server,
            user: args.as_user.clone().or(user),
            context,
        })
    }

    /// The kube client (kubectl's flags applied; responses bounded): for
    /// kube's runtime (`sync --watch`).
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// Where a write goes, for confirmations: `context prod
    /// (https://...)`, or `cluster https://...` without a context.
    pub fn target(&self) -> String {
        match &self.context {
            Some(c) => format!("context {c} ({})", self.server),
            None => format!("cluster {}", self.server),
        }
    }

    /// Runs `fut` within `--request-timeout`.
    pub async fn bounded<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let server = self.server.clone();
        let timeout = self.timeout;
        let fut = async move {
            fut.await.map_err(|e| match e {
                // A timeout inside the client is said as the command's
                // own: one wording, whichever fires first.
                Error::Unreachable(m) if m.ends_with(TIMEOUT_MESSAGE) => match timeout {
                    Some(t) => Error::Timeout(t),
                    None => Error::Unreachable(format!(
                        "{}connecting timed out after {}s (server {server}; --request-timeout does not lift this limit)",
                        m.trim_end_matches(TIMEOUT_MESSAGE),
                        CONNECT_TIMEOUT.as_secs()
                    )),
                },
                Error::Unreachable(m) => Error::Unreachable(format!("{m} (server {server})")),
                e => e,
            })
        };
        // One deadline for all of the command's reads, as the README says.
        match (self.timeout, self.deadline) {
            (Some(t), Some(deadline)) => {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                tokio::time::timeout(left, fut)
                    .await
                    .unwrap_or_else(|_| Err(Error::Timeout(t)))
            }
            _ => fut.await,
        }
    }

    /// Lists every object of a kind, page by page, restarting when the
    /// continue token expires (410 Gone).
    async fn list<K>(
        &self,
        namespace: Option<&str>,
        params: ListParams,
        what: &str,
    ) -> Result<Vec<K>, Error>
    where
        K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    {
        let api: Api<K> = match namespace {
            Some(ns) => Api::namespaced(self.client.clone(), ns),
            None => Api::all(self.client.clone()),
        };
        list_pages(&api, params, what, namespace, self.user.as_deref()).await
    }

    /// All namespaces with their labels.
    pub async fn namespaces(&self) -> Result<Vec<NamespaceInfo>, Error> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let list = list_pages(
            &api,
            ListParams::default(),
            "namespaces",
            None,
            self.user.as_deref(),
        )
        .await?;
        Ok(list
            .into_iter()
            .filter_map(|n| {
                let name = n.metadata.name?;
                Some(NamespaceInfo::new(
                    &name,
                    n.metadata.labels.unwrap_or_default(),
                    false,
                ))
            })
            .collect())
    }

    /// Pods of one namespace (or all), optionally filtered by the server.
    /// Finished pods (Succeeded, Failed) are left out: they have no traffic
    /// (the server leaves them out of the pages: [`RUNNABLE_PODS`]).
    pub async fn pods(
        &self,
        namespace: Option<&str>,
        label_selector: Option<&str>,
        field_selector: Option<&str>,
    ) -> Result<Vec<PodInfo>, Error> {
        let mut params = ListParams::default();
        if let Some(l) = label_selector {
            params = params.labels(l);
        }
        params = params.fields(&match field_selector {
            Some(f) => format!("{f},{RUNNABLE_PODS}"),
            None => RUNNABLE_PODS.to_string(),
        });
        let pods: Vec<Pod> = self.list(namespace, params, "pods").await?;
        Ok(pods
            .iter()
            .filter(|p| {
                !matches!(
                    p.status.as_ref().and_then(|s| s.phase.as_deref()),
                    Some("Succeeded" | "Failed")
                )
            })
            .map(pod_info)
            .collect())
    }

    /// NetworkPolicies of one namespace (or all).
    pub async fn policies(&self, namespace: Option<&str>) -> Result<Vec<NetworkPolicy>, Error> {
        self.list(namespace, ListParams::default(), "networkpolicies")
            .await
    }

    /// The NetworkPolicies of one namespace (or all) whose labels match
    /// `selector` (kubectl's syntax, sent to the server).
    pub async fn policies_labelled(
        &self,
        namespace: Option<&str>,
        selector: &str,
    ) -> Result<Vec<NetworkPolicy>, Error> {
        self.list(
            namespace,
            ListParams::default().labels(selector),
            "networkpolicies",
        )
        .await
    }

    /// Deletes a NetworkPolicy, or only asks for its dry run, on the
    /// preconditions that it is still the object with `uid` at
    /// `resource_version` (a policy changed or replaced since it was read
    /// is not deleted: HTTP 409). A refusal is `Error::Forbidden`, a
    /// failed precondition or any other answer of the server
    /// `Error::Api` with its words.
    pub async fn delete_policy(
        &self,
        namespace: &str,
        name: &str,
        uid: Option<&str>,
        resource_version: Option<&str>,
        dry_run: bool,
    ) -> Result<(), Error> {
        use kube::api::{DeleteParams, Preconditions};
        let api: Api<NetworkPolicy> = Api::namespaced(self.client.clone(), namespace);
        let mut params = DeleteParams::default();
        if uid.is_some() || resource_version.is_some() {
            params = params.preconditions(Preconditions {
                uid: uid.map(str::to_string),
                resource_version: resource_version.map(str::to_string),
            });
        }
        params.dry_run = dry_run;
        match api.delete(name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 403 => Err(Error::Forbidden(format!(
                "cannot delete networkpolicies in namespace {namespace:?}: forbidden ({})",
                status.message
            ))),
            Err(kube::Error::Api(status)) if status.code != 401 && status.code < 500 => {
                Err(Error::Api(format!(
                    "cannot delete NetworkPolicy {namespace}/{name}: {}",
                    status.message
                )))
            }
            Err(e) => Err(api_error(
                e,
                "networkpolicies",
                Some(namespace),
                self.user.as_deref(),
            )),
        }
    }

    /// One NetworkPolicy, if it exists.
    pub async fn policy(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<NetworkPolicy>, Error> {
        let api: Api<NetworkPolicy> = Api::namespaced(self.client.clone(), namespace);
        let r = api.get_opt(name).await;
        r.map_err(|e| api_error(e, "networkpolicies", Some(namespace), self.user.as_deref()))
    }

    /// Server-side apply of a NetworkPolicy (field manager
    /// [`FIELD_MANAGER`]), or only its dry run; `force` takes over fields
    /// other managers own (kubectl's `--force-conflicts`). Returns the
    /// object as the server stored it (or would store it).
    pub async fn apply_policy(
        &self,
        np: &NetworkPolicy,
        dry_run: bool,
        force: bool,
    ) -> Result<NetworkPolicy, Error> {
        use kube::api::{Patch, PatchParams};
        let ns = np.metadata.namespace.clone().unwrap_or_default();
        let name = np.metadata.name.clone().unwrap_or_default();
        let api: Api<NetworkPolicy> = Api::namespaced(self.client.clone(), &ns);
        let mut params = PatchParams::apply(FIELD_MANAGER);
        if force {
            params = params.force();
        }
        if dry_run {
            params = params.dry_run();
        }
        let r = api.patch(&name, &params, &Patch::Apply(np)).await;
        r.map_err(|e| match e {
            kube::Error::Api(status) if status.code == 422 => Error::Api(format!(
                "The NetworkPolicy {name:?} is invalid: {}",
                status.message
            )),
            kube::Error::Api(status) if status.code == 403 => Error::Forbidden(format!(
                "cannot apply networkpolicies in namespace {ns:?}: forbidden ({})",
                status.message
            )),
            kube::Error::Api(status)
                if status.code == 409
                    && status.reason == "Conflict"
                    && status.message.starts_with("Apply failed") =>
            {
                Error::Api(conflict_message(&status.message))
            }
            // A stale resourceVersion precondition, a missing namespace:
            // the server's words about this object.
            kube::Error::Api(status) if status.code != 401 && status.code < 500 => Error::Api(
                format!("cannot apply NetworkPolicy {ns}/{name}: {}", status.message),
            ),
            other => api_error(other, "networkpolicies", Some(&ns), self.user.as_deref()),
        })
    }

    /// One Namespace, if it exists (its annotations hold what the last
    /// `kubectl apply` set).
    pub async fn namespace(&self, name: &str) -> Result<Option<Namespace>, Error> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let r = api.get_opt(name).await;
        r.map_err(|e| api_error(e, "namespaces", None, self.user.as_deref()))
    }

    /// What the server would store after `patch` (a JSON merge patch, as
    /// [`crate::engine::diff::apply_patch`] makes for `kubectl apply`),
    /// asked as a dry run (`dryRun=All`): nothing is changed. `namespace`
    /// `None` patches the Namespace `name` itself; otherwise the
    /// NetworkPolicy `name` in it. A refusal (403) is `Error::Forbidden`.
    pub async fn dry_run_patch(
        &self,
        namespace: Option<&str>,
        name: &str,
        patch: &serde_json::Value,
    ) -> Result<serde_json::Value, Error> {
        use kube::api::{Patch, PatchParams};
        let params = PatchParams::default().dry_run();
        let patch = Patch::Merge(patch);
        let (what, r) = match namespace {
            Some(ns) => {
                let api: Api<NetworkPolicy> = Api::namespaced(self.client.clone(), ns);
                let r = api.patch(name, &params, &patch).await;
                (
                    "networkpolicies",
                    r.and_then(|o| serde_json::to_value(o).map_err(kube::Error::SerdeError)),
                )
            }
            None => {
                let api: Api<Namespace> = Api::all(self.client.clone());
                let r = api.patch(name, &params, &patch).await;
                (
                    "namespaces",
                    r.and_then(|o| serde_json::to_value(o).map_err(kube::Error::SerdeError)),
                )
            }
        };
        r.map_err(|e| dry_run_error(e, what, namespace, self.user.as_deref()))
    }

    /// `kubectl apply` of one cluster policy (ClusterNetworkPolicy,
    /// AdminNetworkPolicy, BaselineAdminNetworkPolicy; cluster-scoped
    /// custom resources of `policy.networking.k8s.io`) as a server dry
    /// run: the merge `patch` when it exists live (custom resources take
    /// JSON merge patches, as kubectl sends them), else the creation of
    /// `object`. Returns the object the server would store. Errors:
    /// `Error::Rejected` (the server's validation or admission refused it),
    /// `Error::Forbidden` (RBAC), others as for every request.
    pub async fn dry_run_cluster_policy(
        &self,
        api_version: &str,
        kind: &str,
        name: &str,
        object: &serde_json::Value,
        patch: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, Error> {
        use kube::api::{
            ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
        };
        let plural = match kind {
            "ClusterNetworkPolicy" => "clusternetworkpolicies",
            "AdminNetworkPolicy" => "adminnetworkpolicies",
            "BaselineAdminNetworkPolicy" => "baselineadminnetworkpolicies",
            _ => return Err(Error::Api(format!("{kind} is not a cluster policy kind"))),
        };
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let resource = ApiResource::from_gvk_with_plural(&gvk, plural);
        // kubectl decodes the object before it sends anything: one it
        // cannot decode (a label of the wrong type) never reaches the
        // server, and is no rejection of the server's.
        let decoded: DynamicObject =
            serde_json::from_value(object.clone()).map_err(|e| Error::Manifest {
                file: format!("unable to decode {kind} {name:?}"),
                message: e.to_string(),
            })?;
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &resource);
        // Strict field validation, as `kubectl apply` asks by default: a
        // field the CRD does not have is the server's error, not dropped.
        let answer = match patch {
            Some(patch) => {
                api.patch(
                    name,
                    &PatchParams::default().dry_run().validation_strict(),
                    &Patch::Merge(patch),
                )
                .await
            }
            None => {
                let params = PostParams {
                    dry_run: true,
                    ..Default::default()
                };
                match self.create_strict(&resource, &params, &decoded) {
                    Ok(req) => self.client.request::<DynamicObject>(req).await,
                    Err(e) => Err(e),
                }
            }
        };
        match answer {
            Ok(o) => serde_json::to_value(o)
                .map_err(|e| Error::Api(format!("cannot read the dry run's answer: {e}"))),
            Err(kube::Error::Api(status)) if status.code == 403 => Err(Error::Forbidden(format!(
                "cannot {} {plural} (dry run): forbidden ({})",
                if patch.is_some() { "patch" } else { "create" },
                status.message
            ))),
            Err(e) => Err(dry_run_error(e, plural, None, self.user.as_deref())),
        }
    }

    /// A create request for `object` of the cluster-scoped `resource`
    /// with `fieldValidation=Strict` (kube's PostParams cannot say it).
    fn create_strict(
        &self,
        resource: &kube::api::ApiResource,
        params: &kube::api::PostParams,
        object: &kube::api::DynamicObject,
    ) -> Result<http::Request<Vec<u8>>, kube::Error> {
        use kube::Resource;
        let bytes = serde_json::to_vec(object).map_err(kube::Error::SerdeError)?;
        let path = kube::api::DynamicObject::url_path(resource, None);
        let mut req = kube::core::Request::new(path)
            .create(params, bytes)
            .map_err(kube::Error::BuildRequest)?;
        let uri = format!("{}&fieldValidation=Strict", req.uri());
        *req.uri_mut() = uri
            .parse()
            .map_err(|e: http::uri::InvalidUri| kube::Error::Service(Box::new(e)))?;
        req.extensions_mut().insert("create");
        Ok(req)
    }

    /// The API resource of a workload kind (Deployment, StatefulSet,
    /// DaemonSet, ReplicaSet, ReplicationController, Job, CronJob).
    fn workload_resource(kind: &str) -> Option<(kube::api::ApiResource, &'static str)> {
        match kind {
            "Pod" | "NetworkPolicy" | "Namespace" => None,
            _ => Self::object_resource(kind),
        }
    }

    /// The API resource of a kind `diff -f` sends to the server as a dry
    /// run: the workload kinds, Pod, NetworkPolicy and Namespace.
    fn object_resource(kind: &str) -> Option<(kube::api::ApiResource, &'static str)> {
        use kube::api::{ApiResource, GroupVersionKind};
        let (group, version, plural) = match kind {
            "Pod" => ("", "v1", "pods"),
            "Namespace" => ("", "v1", "namespaces"),
            "NetworkPolicy" => ("networking.k8s.io", "v1", "networkpolicies"),
            "Deployment" => ("apps", "v1", "deployments"),
            "StatefulSet" => ("apps", "v1", "statefulsets"),
            "DaemonSet" => ("apps", "v1", "daemonsets"),
            "ReplicaSet" => ("apps", "v1", "replicasets"),
            "ReplicationController" => ("", "v1", "replicationcontrollers"),
            "Job" => ("batch", "v1", "jobs"),
            "CronJob" => ("batch", "v1", "cronjobs"),
            _ => return None,
        };
        let gvk = GroupVersionKind::gvk(group, version, kind);
        Some((ApiResource::from_gvk_with_plural(&gvk, plural), plural))
    }

    /// A workload as the server stores it (JSON); `None` when it does not
    /// exist or the kind is not a workload. A refusal is
    /// `Error::Forbidden` (`cannot get deployments ...`).
    pub async fn workload_object(
        &self,
        namespace: &str,
        kind: &str,
        name: &str,
    ) -> Result<Option<serde_json::Value>, Error> {
        use kube::api::DynamicObject;
        let Some((resource, plural)) = Self::workload_resource(kind) else {
            return Ok(None);
        };
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), namespace, &resource);
        match api.get_opt(name).await {
            Ok(o) => o
                .map(serde_json::to_value)
                .transpose()
                .map_err(|e| Error::Api(format!("cannot read {plural} {name:?}: {e}"))),
            Err(e) => Err(
                match api_error(e, plural, Some(namespace), self.user.as_deref()) {
                    Error::Forbidden(m) => {
                        Error::Forbidden(m.replacen("cannot list", "cannot get", 1))
                    }
                    other => other,
                },
            ),
        }
    }

    /// What the server would store after `patch` on workload
    /// `kind`/`name` (a strategic merge patch, as kubectl sends for
    /// built-in kinds), asked as a dry run: nothing is changed. A refusal
    /// (403) is `Error::Forbidden`; the server rejecting the change (an
    /// immutable field, an invalid object) is `Error::Rejected` with the
    /// server's message.
    pub async fn dry_run_patch_workload(
        &self,
        namespace: &str,
        kind: &str,
        name: &str,
        patch: &serde_json::Value,
    ) -> Result<serde_json::Value, Error> {
        use kube::api::{DynamicObject, Patch, PatchParams};
        let Some((resource, plural)) = Self::workload_resource(kind) else {
            return Err(Error::Api(format!("{kind} is not a workload kind")));
        };
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), namespace, &resource);
        let params = PatchParams::default().dry_run();
        let r = api.patch(name, &params, &Patch::Strategic(patch)).await;
        match r {
            Ok(o) => serde_json::to_value(o)
                .map_err(|e| Error::Api(format!("cannot read the dry run's answer: {e}"))),
            Err(e) => Err(dry_run_error(
                e,
                plural,
                Some(namespace),
                self.user.as_deref(),
            )),
        }
    }

    /// What the server would store if `object` (a Pod, NetworkPolicy,
    /// Namespace or workload that does not exist yet) were created, asked
    /// as a dry run (`POST ...?dryRun=All`): nothing is created. `None`
    /// when it exists after all (409 AlreadyExists: it could not be read).
    /// A refusal (403) is `Error::Forbidden`; the server rejecting the
    /// object (a namespace that does not exist, an invalid object) is
    /// `Error::Rejected` with the server's message.
    pub async fn dry_run_create(
        &self,
        namespace: Option<&str>,
        kind: &str,
        object: &serde_json::Value,
    ) -> Result<Option<serde_json::Value>, Error> {
        use kube::api::{DynamicObject, PostParams};
        let Some((resource, plural)) = Self::object_resource(kind) else {
            return Err(Error::Api(format!("{kind} is not a kind diff creates")));
        };
        let mut object = object.clone();
        if let (Some(ns), Some(meta)) = (
            namespace,
            object.get_mut("metadata").and_then(|m| m.as_object_mut()),
        ) {
            meta.insert("namespace".into(), serde_json::Value::String(ns.into()));
        }
        let object: DynamicObject = serde_json::from_value(object)
            .map_err(|e| Error::Rejected(format!("cannot send the {kind}: {e}")))?;
        let api: Api<DynamicObject> = match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        };
        let params = PostParams {
            dry_run: true,
            ..Default::default()
        };
        match api.create(&params, &object).await {
            Ok(o) => serde_json::to_value(o)
                .map(Some)
                .map_err(|e| Error::Api(format!("cannot read the dry run's answer: {e}"))),
            Err(kube::Error::Api(status))
                if status.code == 409 && status.reason == "AlreadyExists" =>
            {
                Ok(None)
            }
            Err(kube::Error::Api(status)) if status.code == 403 => Err(Error::Forbidden(format!(
                "cannot create {plural} (dry run){}: forbidden ({})",
                namespace
                    .map(|ns| format!(" in namespace {ns:?}"))
                    .unwrap_or_default(),
                status.message
            ))),
            Err(e) => Err(dry_run_error(e, plural, namespace, self.user.as_deref())),
        }
    }

    /// The objects of `kind` (a kind of [`Live::object_resource`]) in
    /// `namespace` (`None`: cluster-scoped) that match the label
    /// `selector` and carry `kubectl apply`'s last-applied annotation:
    /// those `kubectl apply --prune -l SELECTOR` may delete (it prunes
    /// nothing else). Names, as `(namespace, name)`.
    pub async fn prunable(
        &self,
        namespace: Option<&str>,
        kind: &str,
        selector: &str,
    ) -> Result<Vec<(String, String)>, Error> {
        use kube::api::DynamicObject;
        let Some((resource, plural)) = Self::object_resource(kind) else {
            return Ok(Vec::new());
        };
        let api: Api<DynamicObject> = match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        };
        let params = ListParams::default().labels(selector);
        let mut restarts = 0;
        'restart: loop {
            let mut out = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let mut p = params.clone().limit(PAGE);
                if let Some(t) = &token {
                    p = p.continue_token(t);
                }
                match api.list(&p).await {
                    Ok(page) => {
                        out.extend(
                            page.items
                                .into_iter()
                                .filter(|o| {
                                    o.metadata.annotations.as_ref().is_some_and(|a| {
                                        a.contains_key(crate::engine::diff::LAST_APPLIED)
                                    })
                                })
                                .map(|o| {
                                    (
                                        o.metadata.namespace.unwrap_or_default(),
                                        o.metadata.name.unwrap_or_default(),
                                    )
                                }),
                        );
                        token = page.metadata.continue_.filter(|t| !t.is_empty());
                        if token.is_none() {
                            return Ok(out);
                        }
                    }
                    Err(kube::Error::Api(status)) if status.code == 410 && restarts < 3 => {
                        restarts += 1;
                        continue 'restart;
                    }
                    Err(e) => return Err(api_error(e, plural, namespace, self.user.as_deref())),
                }
            }
        }
    }

    /// The live workloads of one namespace (or all) that no pod of `pods`
    /// runs for, each as one stand-in pod without IP from its template
    /// (as `-f` makes one for a workload without pods; `NS/deployment/NAME`):
    /// Deployments (at 0 replicas, say), StatefulSets, DaemonSets,
    /// ReplicationControllers, CronJobs, and ReplicaSets and Jobs that no
    /// controller owns (a Deployment's old ReplicaSets, a CronJob's Jobs
    /// are theirs); a Job that finished runs no pod again and is left out.
    /// A refused list is `Error::Forbidden`.
    pub async fn podless_workloads(
        &self,
        namespace: Option<&str>,
        pods: &[PodInfo],
    ) -> Result<(Vec<PodInfo>, Vec<(&'static str, String)>), Error> {
        use k8s_openapi::api::core::v1::PodTemplateSpec;
        use kube::api::DynamicObject;
        use serde::Deserialize;
        const KINDS: [&str; 7] = [
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "ReplicaSet",
            "ReplicationController",
            "Job",
            "CronJob",
        ];
        let lists = futures::future::join_all(KINDS.iter().map(|kind| async move {
            let Some((resource, plural)) = Self::object_resource(kind) else {
                return Ok(Vec::new());
            };
            let api: Api<DynamicObject> = match namespace {
                Some(ns) => Api::namespaced_with(self.client.clone(), ns, &resource),
                None => Api::all_with(self.client.clone(), &resource),
            };
            list_pages(
                &api,
                ListParams::default(),
                plural,
                namespace,
                self.user.as_deref(),
            )
            .await
        }))
        .await;
        let mut out = Vec::new();
        let mut refused = Vec::new();
        for (kind, list) in KINDS.iter().zip(lists) {
            let list = match list {
                Ok(list) => list,
                // One kind refused is a gap for that kind only.
                Err(Error::Forbidden(why)) if !why.contains("cannot impersonate") => {
                    refused.push((*kind, why));
                    continue;
                }
                Err(e) => return Err(e),
            };
            for o in list {
                let ns = o.metadata.namespace.clone().unwrap_or_default();
                let name = o.metadata.name.clone().unwrap_or_default();
                let owned = o
                    .metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|r| r.controller == Some(true));
                if owned && matches!(*kind, "ReplicaSet" | "Job") {
                    continue;
                }
                let finished = o.data["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| {
                        matches!(c["type"].as_str(), Some("Complete" | "Failed"))
                            && c["status"] == "True"
                    });
                if *kind == "Job" && finished {
                    continue;
                }
                let runs = pods.iter().any(|p| {
                    !p.representative
                        && p.namespace == ns
                        && p.workload
                            .as_ref()
                            .is_some_and(|w| w.kind == *kind && w.name == name)
                });
                if runs {
                    continue;
                }
                let pointer = if *kind == "CronJob" {
                    "/spec/jobTemplate/spec/template"
                } else {
                    "/spec/template"
                };
                let Some(template) = o
                    .data
                    .pointer(pointer)
                    .and_then(|t| PodTemplateSpec::deserialize(t).ok())
                else {
                    continue;
                };
                let meta = template.metadata.unwrap_or_default();
                let spec = template.spec.as_ref();
                out.push(PodInfo {
                    namespace: ns,
                    name: name.clone(),
                    labels: meta.labels.unwrap_or_default(),
                    ips: Vec::new(),
                    ports: spec
                        .map(crate::snapshot::container_ports)
                        .unwrap_or_default(),
                    init_ports: spec
                        .map(crate::snapshot::init_container_ports)
                        .unwrap_or_default(),
                    workload: Some(WorkloadRef {
                        kind: kind.to_string(),
                        name,
                    }),
                    representative: true,
                    host_network: spec.and_then(|s| s.host_network).unwrap_or(false),
                    node: None,
                    host_ips: Vec::new(),
                });
            }
        }
        Ok((out, refused))
    }

    /// What the server would store after `patch` on the live Pod
    /// `namespace`/`name` (a strategic merge patch, as kubectl sends),
    /// asked as a dry run. The server allows few changes to a Pod (its
    /// labels, annotations, images...): any other is `Error::Rejected`
    /// with its message (`pod updates may not change fields other than
    /// ...`); a refusal (403) is `Error::Forbidden`.
    pub async fn dry_run_patch_pod(
        &self,
        namespace: &str,
        name: &str,
        patch: &serde_json::Value,
    ) -> Result<serde_json::Value, Error> {
        use kube::api::{Patch, PatchParams};
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let params = PatchParams::default().dry_run();
        let r = api.patch(name, &params, &Patch::Strategic(patch)).await;
        match r {
            Ok(o) => serde_json::to_value(o)
                .map_err(|e| Error::Api(format!("cannot read the dry run's answer: {e}"))),
            // Its message goes on with the whole spec compared: the
            // first line says it.
            Err(kube::Error::Api(mut status)) if status.code == 422 => {
                status.message = status.message.lines().next().unwrap_or_default().into();
                Err(dry_run_error(
                    kube::Error::Api(status),
                    "pods",
                    Some(namespace),
                    self.user.as_deref(),
                ))
            }
            Err(e) => Err(dry_run_error(
                e,
                "pods",
                Some(namespace),
                self.user.as_deref(),
            )),
        }
    }

    /// A live Pod's annotations (the last-applied configuration of
    /// `kubectl apply` among them); `None` when it does not exist.
    pub async fn pod_annotations(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<std::collections::BTreeMap<String, String>>, Error> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let r = api.get_opt(name).await;
        r.map(|p| p.map(|p| p.metadata.annotations.unwrap_or_default()))
            .map_err(|e| api_error(e, "pods", Some(namespace), self.user.as_deref()))
    }

    /// Every node with its addresses (cluster-scoped: a namespace-scoped
    /// user gets `Error::Forbidden`, which callers treat as "unknown").
    pub async fn nodes(&self) -> Result<Vec<crate::snapshot::NodeInfo>, Error> {
        let api: Api<k8s_openapi::api::core::v1::Node> = Api::all(self.client.clone());
        let list = list_pages(
            &api,
            ListParams::default(),
            "nodes",
            None,
            self.user.as_deref(),
        )
        .await?;
        Ok(list
            .iter()
            .map(crate::snapshot::NodeInfo::from_node)
            .collect())
    }

    /// Of `kinds` (apiVersion, kind), those the API server does not serve,
    /// as its discovery says (readable by every authenticated user): a
    /// group version it does not know (404), or one without that kind.
    /// `kubectl apply` refuses an object of such a kind (`no matches for
    /// kind`). A group version discovery does not answer for otherwise is
    /// not judged.
    pub async fn unserved_kinds<'a>(
        &self,
        kinds: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> Vec<(&'a str, &'a str)> {
        let kinds: Vec<(&str, &str)> = kinds.collect();
        let versions: std::collections::BTreeSet<&str> = kinds
            .iter()
            .filter(|(api, kind)| !api.is_empty() && !kind.is_empty())
            .map(|(api, _)| *api)
            .collect();
        let answers = futures::future::join_all(versions.iter().map(|api| async move {
            let list = if api.contains('/') {
                self.client.list_api_group_resources(api).await
            } else {
                self.client.list_core_api_resources(api).await
            };
            let served: Option<Vec<String>> = match list {
                Ok(list) => Some(
                    list.resources
                        .into_iter()
                        .filter(|r| !r.name.contains('/'))
                        .map(|r| r.kind)
                        .collect(),
                ),
                Err(kube::Error::Api(status)) if status.code == 404 => Some(Vec::new()),
                Err(_) => None,
            };
            (*api, served)
        }))
        .await;
        let served: std::collections::BTreeMap<&str, Option<Vec<String>>> =
            answers.into_iter().collect();
        kinds
            .into_iter()
            .filter(|(api, kind)| {
                served
                    .get(api)
                    .and_then(Option::as_ref)
                    .is_some_and(|list| !list.iter().any(|k| k == kind))
            })
            .collect()
    }

    /// The cluster-scoped policy tiers (issue 15): every
    /// ClusterNetworkPolicy (`policy.networking.k8s.io`, in the version
    /// the group prefers when it is one of CNP's, `v1beta1` or
    /// `v1alpha2`: one CRD serves both with one schema),
    /// AdminNetworkPolicy and BaselineAdminNetworkPolicy (`v1alpha1`)
    /// the API server serves. What is served is asked with one discovery
    /// request for the group (readable by every authenticated user), so a
    /// cluster without these APIs costs one request and says nothing (404).
    /// A group version served without the kind answers its list with 404:
    /// not served either (CNP then tries its other version). A refused
    /// discovery or list is named in [`ClusterPolicies::refused`]
    /// ([`ClusterPolicies::unknown`] for discovery); other errors are
    /// errors.
    pub async fn cluster_policies(&self) -> Result<ClusterPolicies, Error> {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIGroup;
        use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
        const GROUP: &str = "policy.networking.k8s.io";
        let mut out = ClusterPolicies::default();
        let request = http::Request::get(format!("/apis/{GROUP}"))
            .body(Vec::new())
            .map_err(|e| Error::Api(format!("cannot ask for API group {GROUP}: {e}")))?;
        let group: APIGroup = match self.client.request::<APIGroup>(request).await {
            Ok(group) => group,
            Err(kube::Error::Api(status)) if status.code == 404 => return Ok(out),
            Err(e) => match api_error(e, "API groups", None, self.user.as_deref()) {
                Error::Forbidden(why) => {
                    out.unknown = true;
                    out.refused.push(why.replacen(
                        "cannot list API groups",
                        &format!("cannot get API group {GROUP}"),
                        1,
                    ));
                    return Ok(out);
                }
                other => return Err(other),
            },
        };
        let served: Vec<&str> = group.versions.iter().map(|v| v.version.as_str()).collect();
        let preferred = group.preferred_version.as_ref().map(|v| v.version.as_str());
        // ClusterNetworkPolicy: the preferred version first, then the
        // newest; each kind's list in the first version that has it.
        let mut cnp: Vec<&str> = Vec::new();
        for v in preferred.into_iter().chain(["v1beta1", "v1alpha2"]) {
            if matches!(v, "v1beta1" | "v1alpha2") && served.contains(&v) && !cnp.contains(&v) {
                cnp.push(v);
            }
        }
        let mut wanted: Vec<(Vec<&str>, &str, &str)> = Vec::new();
        if !cnp.is_empty() {
            wanted.push((cnp, "ClusterNetworkPolicy", "clusternetworkpolicies"));
        }
        if served.contains(&"v1alpha1") {
            wanted.push((
                vec!["v1alpha1"],
                "AdminNetworkPolicy",
                "adminnetworkpolicies",
            ));
            wanted.push((
                vec!["v1alpha1"],
                "BaselineAdminNetworkPolicy",
                "baselineadminnetworkpolicies",
            ));
        }
        let lists =
            futures::future::join_all(wanted.iter().map(|(versions, kind, plural)| async move {
                for &version in versions {
                    let gvk = GroupVersionKind::gvk(GROUP, version, kind);
                    let resource = ApiResource::from_gvk_with_plural(&gvk, plural);
                    let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &resource);
                    match list_raw(&api, ListParams::default()).await {
                        Err(kube::Error::Api(status)) if status.code == 404 => continue,
                        r => {
                            let what = format!("{plural}.{GROUP}");
                            let r = r.map_err(|e| api_error(e, &what, None, self.user.as_deref()));
                            return Some((version, *kind, r));
                        }
                    }
                }
                None
            }))
            .await;
        for (version, kind, list) in lists.into_iter().flatten() {
            match list {
                Ok(items) => {
                    out.served.push(format!("{kind} ({GROUP}/{version})"));
                    for item in items {
                        let name = item.metadata.name.clone().unwrap_or_default();
                        let mut value = serde_json::to_value(&item)
                            .map_err(|e| Error::Api(format!("cannot read {kind} {name:?}: {e}")))?;
                        // List items may come without their type.
                        value["apiVersion"] = format!("{GROUP}/{version}").into();
                        value["kind"] = kind.into();
                        out.objects.push(crate::snapshot::ClusterPolicyObject {
                            kind: kind.to_string(),
                            api_version: format!("{GROUP}/{version}"),
                            name,
                            value,
                        });
                    }
                }
                // RBAC is checked before the resource: a refused kind is
                // named as served (its group version is).
                Err(Error::Forbidden(why)) => {
                    out.served.push(format!("{kind} ({GROUP}/{version})"));
                    out.refused.push(why);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The pod template of workload `kind`/`name` (Deployment,
    /// StatefulSet, DaemonSet, ReplicaSet, Job, CronJob) as a
    /// representative pod, as `-f` makes one; `None` when the workload
    /// does not exist or the kind has no template.
    pub async fn workload_template(
        &self,
        namespace: &str,
        kind: &str,
        name: &str,
    ) -> Result<Option<PodInfo>, Error> {
        use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
        use k8s_openapi::api::batch::v1::{CronJob, Job};
        use k8s_openapi::api::core::v1::PodTemplateSpec;
        async fn get<K>(live: &Live, ns: &str, name: &str, what: &str) -> Result<Option<K>, Error>
        where
            K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
                + Clone
                + DeserializeOwned
                + std::fmt::Debug,
            K::DynamicType: Default,
        {
            let api: Api<K> = Api::namespaced(live.client.clone(), ns);
            let r = api.get_opt(name).await;
            r.map_err(
                |e| match api_error(e, what, Some(ns), live.user.as_deref()) {
                    Error::Forbidden(m) => {
                        Error::Forbidden(m.replacen("cannot list", "cannot get", 1))
                    }
                    other => other,
                },
            )
        }
        let template: Option<PodTemplateSpec> = match kind {
            "Deployment" => get::<Deployment>(self, namespace, name, "deployments")
                .await?
                .and_then(|w| w.spec)
                .map(|s| s.template),
            "StatefulSet" => get::<StatefulSet>(self, namespace, name, "statefulsets")
                .await?
                .and_then(|w| w.spec)
                .map(|s| s.template),
            "DaemonSet" => get::<DaemonSet>(self, namespace, name, "daemonsets")
                .await?
                .and_then(|w| w.spec)
                .map(|s| s.template),
            "ReplicaSet" => get::<ReplicaSet>(self, namespace, name, "replicasets")
                .await?
                .and_then(|w| w.spec)
                .and_then(|s| s.template),
            "Job" => get::<Job>(self, namespace, name, "jobs")
                .await?
                .and_then(|w| w.spec)
                .map(|s| s.template),
            "CronJob" => get::<CronJob>(self, namespace, name, "cronjobs")
                .await?
                .and_then(|w| w.spec)
                .and_then(|s| s.job_template.spec)
                .map(|s| s.template),
            _ => None,
        };
        Ok(template.map(|t| {
            let meta = t.metadata.unwrap_or_default();
            let spec = t.spec.as_ref();
            PodInfo {
                namespace: namespace.to_string(),
                name: name.to_string(),
                labels: meta.labels.unwrap_or_default(),
                ips: Vec::new(),
                ports: spec
                    .map(crate::snapshot::container_ports)
                    .unwrap_or_default(),
                init_ports: spec
                    .map(crate::snapshot::init_container_ports)
                    .unwrap_or_default(),
                workload: Some(WorkloadRef {
                    kind: kind.to_string(),
                    name: name.to_string(),
                }),
                representative: true,
                host_network: spec.and_then(|s| s.host_network).unwrap_or(false),
                node: None,
                host_ips: Vec::new(),
            }
        }))
    }

    /// One Service, if it exists (a GET in its namespace).
    pub async fn service(&self, namespace: &str, name: &str) -> Result<Option<ServiceInfo>, Error> {
        let api: Api<k8s_openapi::api::core::v1::Service> =
            Api::namespaced(self.client.clone(), namespace);
        let r = api.get_opt(name).await;
        match r {
            Ok(svc) => Ok(svc.map(|s| ServiceInfo::from_service(&s, namespace))),
            Err(e) => Err(
                match api_error(e, "services", Some(namespace), self.user.as_deref()) {
                    Error::Forbidden(m) => {
                        Error::Forbidden(m.replacen("cannot list", "cannot get", 1))
                    }
                    other => other,
                },
            ),
        }
    }

    /// The Services whose `spec.clusterIP` is `ip`, in one namespace or
    /// all, found by the server (field selector `spec.clusterIP`, served
    /// since Kubernetes 1.31); an older server that refuses the field gets
    /// a plain list, filtered here on every `spec.clusterIPs`.
    pub async fn services_with_cluster_ip(
        &self,
        namespace: Option<&str>,
        ip: &std::net::IpAddr,
    ) -> Result<Vec<ServiceInfo>, Error> {
        let params = ListParams::default().fields(&format!("spec.clusterIP={ip}"));
        let list: Result<Vec<k8s_openapi::api::core::v1::Service>, Error> =
            self.list(namespace, params, "services").await;
        let list = match list {
            Ok(list) => list,
            // 400: the field selector is not supported by this server.
            Err(Error::Api(m)) if m.contains("BadRequest") || m.contains("field label") => {
                self.list(namespace, ListParams::default(), "services")
                    .await?
            }
            Err(e) => return Err(e),
        };
        Ok(list
            .iter()
            .map(|s| {
                ServiceInfo::from_service(s, s.metadata.namespace.as_deref().unwrap_or_default())
            })
            .filter(|s| s.cluster_ips.contains(ip))
            .collect())
    }

    /// The endpoints of a Service's EndpointSlices (discovery.k8s.io/v1,
    /// listed by the label `kubernetes.io/service-name=NAME` in its
    /// namespace only).
    pub async fn endpoint_slices(
        &self,
        namespace: &str,
        service: &str,
    ) -> Result<Vec<SliceEndpoint>, Error> {
        let params = ListParams::default().labels(&format!("{SERVICE_NAME_LABEL}={service}"));
        let list: Vec<k8s_openapi::api::discovery::v1::EndpointSlice> = self
            .list(Some(namespace), params, "endpointslices.discovery.k8s.io")
            .await?;
        Ok(list.iter().flat_map(SliceEndpoint::from_slice).collect())
    }

    /// Services of one namespace (or all).
    pub async fn services(&self, namespace: Option<&str>) -> Result<Vec<ServiceInfo>, Error> {
        let list: Vec<k8s_openapi::api::core::v1::Service> = self
            .list(namespace, ListParams::default(), "services")
            .await?;
        Ok(list
            .iter()
            .map(|s| {
                ServiceInfo::from_service(s, s.metadata.namespace.as_deref().unwrap_or_default())
            })
            .collect())
    }
}

/// Every page of a list (kubectl's page size; a 410 for an expired
/// continue token restarts it, up to 3 times), errors as the API server
/// gave them.
async fn list_raw<K>(api: &Api<K>, params: ListParams) -> Result<Vec<K>, kube::Error>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let mut restarts = 0;
    'restart: loop {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut p = params.clone().limit(PAGE);
            if let Some(t) = &token {
                p = p.continue_token(t);
            }
            let r = api.list(&p).await;
            match r {
                Ok(page) => {
                    out.extend(page.items);
                    token = page.metadata.continue_.filter(|t| !t.is_empty());
                    if token.is_none() {
                        return Ok(out);
                    }
                }
                Err(kube::Error::Api(status)) if status.code == 410 && restarts < 3 => {
                    restarts += 1;
                    continue 'restart;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// [`list_raw`] with the API server's errors worded as kubectl's
/// ([`api_error`]).
async fn list_pages<K>(
    api: &Api<K>,
    params: ListParams,
    what: &str,
    namespace: Option<&str>,
    user: Option<&str>,
) -> Result<Vec<K>, Error>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    list_raw(api, params)
        .await
        .map_err(|e| api_error(e, what, namespace, user))
}

/// The field manager of the wizard's server-side applies.
pub const FIELD_MANAGER: &str = "kubectl-netpol";

/// A server-side apply conflict in one line, with kubectl's fix:
/// `Apply failed with 1 conflict: conflict with "kubectl-create" using
/// networking.k8s.io/v1: .spec.ingress; ...`.
pub fn conflict_message(server: &str) -> String {
    let fields = server
        .lines()
        .map(|l| l.trim().trim_start_matches("- ").trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>();
    let mut text = String::new();
    for (i, part) in fields.iter().enumerate() {
        if i > 0 {
            text.push_str(if fields[i - 1].ends_with(':') {
                " "
            } else {
                ", "
            });
        }
        text.push_str(part);
    }
    format!(
        "{text}: another field manager owns these fields with other values; to take them over, run again with --force-conflicts (as kubectl apply --server-side --force-conflicts)"
    )
}

/// Words a failed call the way a user needs it.
/// A dry-run patch's failure: a refusal (403) is `Error::Forbidden`; any
/// other answer of the server (422 invalid, 400, 409, ...) is its verdict
/// on the change, `Error::Rejected` with its message; anything else as
/// [`api_error`].
fn dry_run_error(e: kube::Error, what: &str, namespace: Option<&str>, user: Option<&str>) -> Error {
    match e {
        kube::Error::Api(status) if status.code == 403 => Error::Forbidden(format!(
            "cannot patch {what} (dry run){}: forbidden ({})",
            namespace
                .map(|ns| format!(" in namespace {ns:?}"))
                .unwrap_or_default(),
            status.message
        )),
        kube::Error::Api(status) if status.code != 401 && status.code < 500 => {
            Error::Rejected(status.message.lines().collect::<Vec<_>>().join("; "))
        }
        other => api_error(other, what, namespace, user),
    }
}

pub fn api_error(e: kube::Error, what: &str, namespace: Option<&str>, user: Option<&str>) -> Error {
    let scope = match namespace {
        Some(ns) => format!(" in namespace {ns:?}"),
        // Cluster-scoped kinds are in no namespace.
        None if matches!(what, "namespaces" | "nodes")
            || what.ends_with(".policy.networking.k8s.io") =>
        {
            String::new()
        }
        None => " in any namespace".to_string(),
    };
    request_error(e, &format!("cannot list {what}{scope}"), user)
}

/// A failed request's error, after `action` (`cannot patch the status of
/// servicegraph "shop"`): RBAC refusals as `forbidden for user ...`,
/// other answers with the server's message and reason, transport
/// failures with their innermost cause.
pub fn request_error(e: kube::Error, action: &str, user: Option<&str>) -> Error {
    match e {
        kube::Error::Api(status) => {
            let who = user_in_message(&status.message)
                .or(user.map(str::to_string))
                .map(|u| format!(" for user {u:?}"))
                .unwrap_or_default();
            match status.code {
                403 => Error::Forbidden(format!("{action}: forbidden{who} ({})", status.message)),
                401 => Error::Api(format!(
                    "{action}: the server has asked for the client to provide credentials (Unauthorized)"
                )),
                _ => Error::Api(format!("{action}: {} ({})", status.message, status.reason)),
            }
        }
        other if describe_transport(&other).contains(BODY_LIMIT_MESSAGE) => {
            Error::Unreachable(format!(
                "{action}: the server's response is larger than {} MiB",
                MAX_RESPONSE_BYTES >> 20
            ))
        }
        other => Error::Unreachable(format!("{action}: {}", describe_transport(&other))),
    }
}

/// The `User "x"` of an RBAC refusal.
fn user_in_message(message: &str) -> Option<String> {
    let start = message.find("User \"")? + 6;
    let end = message[start..].find('"')? + start;
    Some(message[start..end].to_string())
}

/// A transport failure in one line, with its innermost cause.
fn describe_transport(e: &kube::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    let mut all = msg.clone();
    while let Some(s) = source {
        msg = s.to_string();
        all.push_str(&msg);
        source = s.source();
    }
    // An exec credential plugin's failure: what it said, not its Debug dump.
    if all.contains("auth exec command") {
        let said = all
            .split("stderr: \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(|t| t.replace("\\n", " ").trim().to_string())
            .filter(|t| !t.is_empty());
        return match said {
            Some(t) => format!("the exec credential plugin failed: {t}"),
            None => {
                "the exec credential plugin failed (see the kubeconfig's users[].user.exec)".into()
            }
        };
    }
    msg.lines().next().unwrap_or_default().to_string()
}

/// The engine's view of a live pod, with its workload worked out from the
/// owner references (a ReplicaSet with a pod-template-hash belongs to a
/// Deployment).
pub fn pod_info(pod: &Pod) -> PodInfo {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let mut info = PodInfo::from_pod(pod, &namespace);
    let owner = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true));
    info.workload = owner.map(|o| {
        if o.kind == "ReplicaSet"
            && let Some(hash) = info.labels.get("pod-template-hash")
            && let Some(prefix) = o.name.strip_suffix(&format!("-{hash}"))
        {
            return WorkloadRef {
                kind: "Deployment".into(),
                name: prefix.to_string(),
            };
        }
        WorkloadRef {
            kind: o.kind.clone(),
            name: o.name.clone(),
        }
    });
    info
}

impl Live {
    /// What `check` looks at: kube-system pods, DaemonSets cluster-wide,
    /// the ConfigMaps of [`CNI_CONFIGMAPS`], the control-plane nodes and the
    /// first [`NODE_SAMPLE`] nodes, and (with `full`) the pods
    /// of well-known CNI namespaces. What RBAC refuses is recorded in
    /// `unreadable`; other failures are errors.
    pub async fn evidence(&self, full: bool) -> Result<crate::cni::Evidence, Error> {
        use k8s_openapi::api::apps::v1::DaemonSet;
        use k8s_openapi::api::core::v1::{ConfigMap, Node};

        let user = self.user.as_deref();
        let kube_system = self.list::<Pod>(Some("kube-system"), ListParams::default(), "pods");
        let daemonsets = self.list::<DaemonSet>(None, ListParams::default(), "daemonsets");
        // Cilium's and the AWS VPC CNI's settings, where they install.
        let configmaps = async {
            let gets = CNI_CONFIGMAPS.map(|(ns, name)| async move {
                let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), ns);
                let r = api.get_opt(name).await;
                r.map_err(|e| api_error(e, "configmaps", Some(ns), user))
            });
            let found = futures::future::try_join_all(gets).await?;
            Ok(found.into_iter().flatten().collect::<Vec<_>>())
        };
        let nodes = async {
            // k3s's flags live on its server (control-plane) nodes: all of
            // those; the platform shows on any node: the first page of
            // NODE_SAMPLE nodes (by name, as the API server lists them).
            let api: Api<Node> = Api::all(self.client.clone());
            let control_plane =
                ListParams::default().labels("node-role.kubernetes.io/control-plane");
            let sample = async {
                let r = api.list(&ListParams::default().limit(NODE_SAMPLE)).await;
                r.map(|l| l.items)
                    .map_err(|e| api_error(e, "nodes", None, user))
            };
            let (mut nodes, sample) =
                tokio::try_join!(list_pages(&api, control_plane, "nodes", None, user), sample)?;
            for n in sample {
                if !nodes
                    .iter()
                    .any(|m: &Node| m.metadata.name == n.metadata.name)
                {
                    nodes.push(n);
                }
            }
            Ok::<_, Error>(nodes)
        };
        let others = async {
            if !full {
                return Ok(Vec::new());
            }
            futures::future::try_join_all(CNI_NAMESPACES.iter().map(|ns| async move {
                optional(
                    self.list::<Pod>(Some(ns), ListParams::default(), "pods")
                        .await,
                    &format!("pods in namespace {ns:?}"),
                )
            }))
            .await
        };
        let (kube_system, daemonsets, cilium, nodes, others) =
            tokio::join!(kube_system, daemonsets, configmaps, nodes, others);
        let mut evidence = crate::cni::Evidence::default();
        let mut unreadable = Vec::new();
        let (pods, missing) = optional(kube_system, "pods in namespace \"kube-system\"")?;
        evidence.pods = pods;
        unreadable.extend(missing);
        for (pods, missing) in others? {
            evidence.pods.extend(pods);
            unreadable.extend(missing);
        }
        let (ds, missing) = optional(daemonsets, "daemonsets in any namespace")?;
        evidence.daemonsets = ds;
        unreadable.extend(missing);
        let names: Vec<String> = CNI_CONFIGMAPS
            .iter()
            .map(|(ns, name)| format!("{ns}/{name}"))
            .collect();
        let (cm, missing) = optional(cilium, &format!("configmaps {}", names.join(", ")))?;
        evidence.configmaps = cm;
        unreadable.extend(missing);
        let (nodes, missing) = optional(nodes, "nodes")?;
        evidence.nodes = nodes;
        unreadable.extend(missing);
        evidence.unreadable = unreadable;
        Ok(evidence)
    }
}

/// How many nodes (besides the control-plane ones) the CNI evidence reads:
/// the platform shows on every node, so a few suffice.
pub const NODE_SAMPLE: u32 = 5;

/// A refused read is a gap in the evidence, not a failure.
fn optional<T>(r: Result<Vec<T>, Error>, what: &str) -> Result<(Vec<T>, Option<String>), Error> {
    match r {
        Ok(items) => Ok((items, None)),
        // A refused --as is not a gap in the evidence but an error.
        Err(Error::Forbidden(m)) if m.contains("cannot impersonate") => Err(Error::Forbidden(m)),
        Err(Error::Forbidden(_)) => Ok((Vec::new(), Some(format!("{what} (forbidden)")))),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_use_kubectl_syntax() {
        assert_eq!(parse_timeout("0").unwrap(), None);
        assert_eq!(parse_timeout("30s").unwrap(), Some(Duration::from_secs(30)));
        assert_eq!(parse_timeout("1m").unwrap(), Some(Duration::from_secs(60)));
        assert_eq!(
            parse_timeout("1m30s").unwrap(),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_timeout("500ms").unwrap(),
            Some(Duration::from_millis(500))
        );
        assert_eq!(parse_timeout("5").unwrap(), Some(Duration::from_secs(5)));
        // Go's units and compounds, as time.ParseDuration.
        assert_eq!(
            parse_timeout("1us").unwrap(),
            Some(Duration::from_micros(1))
        );
        assert_eq!(
            parse_timeout("1\u{b5}s").unwrap(),
            Some(Duration::from_micros(1))
        );
        assert_eq!(parse_timeout("1ns").unwrap(), Some(Duration::from_nanos(1)));
        assert_eq!(
            parse_timeout("1h2m").unwrap(),
            Some(Duration::from_secs(3720))
        );
        assert_eq!(
            parse_timeout("1.5s").unwrap(),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(parse_timeout("0s").unwrap(), None);
        for bad in ["", "s", "10x", "1m-", "abc"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn absurd_timeouts_are_refused_not_panics() {
        for bad in [
            "99999999999999999999h",
            "18446744073709551615",
            "5000000000000000h",
        ] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_broken_kubeconfig_is_named_but_never_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leak");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user: {token: SUPERSECRET-TOKEN-123}\ncontexts: [\n",
        )
        .unwrap();
        let e = read_one(&path).unwrap_err().to_string();
        assert!(e.starts_with("error loading config file "), "{e}");
        assert!(e.contains("leak"), "{e}");
        assert!(!e.contains("SUPERSECRET"), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }

    #[test]
    fn kubectl_refuses_these_flag_combinations_and_so_do_we() {
        let args = ConnectionArgs {
            as_group: vec!["g".into()],
            ..Default::default()
        };
        assert!(check_flags(&args).is_err());
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("ca");
        std::fs::write(&not_pem, "hello").unwrap();
        let args = ConnectionArgs {
            certificate_authority: Some(not_pem.display().to_string()),
            ..Default::default()
        };
        let e = check_flags(&args).unwrap_err().to_string();
        assert!(e.ends_with("unable to parse bytes as PEM block"), "{e}");
        let args = ConnectionArgs {
            certificate_authority: Some(not_pem.display().to_string()),
            insecure_skip_tls_verify: true,
            ..Default::default()
        };
        assert!(
            check_flags(&args)
                .unwrap_err()
                .to_string()
                .contains("insecure flag")
        );
    }

    #[test]
    fn apply_conflicts_are_one_line_with_the_fix() {
        // As kube-apiserver 1.35 words them.
        assert_eq!(
            conflict_message(
                "Apply failed with 2 conflicts: conflicts with \"kubectl-create\" using networking.k8s.io/v1:\n- .spec.ingress\n- .spec.podSelector"
            ),
            "Apply failed with 2 conflicts: conflicts with \"kubectl-create\" using networking.k8s.io/v1: .spec.ingress, .spec.podSelector: another field manager owns these fields with other values; to take them over, run again with --force-conflicts (as kubectl apply --server-side --force-conflicts)"
        );
        let two = conflict_message(
            "Apply failed with 2 conflicts: conflicts with \"a\":\n- .spec.ingress\nconflicts with \"b\":\n- .spec.egress",
        );
        assert!(!two.contains('\n'), "{two}");
        assert!(
            two.starts_with("Apply failed with 2 conflicts: conflicts with \"a\": .spec.ingress, conflicts with \"b\": .spec.egress: "),
            "{two}"
        );
    }

    #[test]
    fn rbac_refusals_name_the_user() {
        let m = r#"pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "x""#;
        assert_eq!(user_in_message(m).as_deref(), Some("alice"));
        assert_eq!(user_in_message("no user here"), None);
    }
}
