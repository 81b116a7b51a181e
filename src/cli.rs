//! Command-line definitions: kubectl's global flags, accepted anywhere
//! after `netpol`, and one struct per subcommand.

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  # examples/shop: run from a clone of the repository
  # (git clone https://github.com/kubectl-netpol/kubectl-netpol)

  # Every policy in the bundled example, one sentence each
  kubectl netpol list -f examples/shop

  # What may reach the api pods, and where may they send
  kubectl netpol explain deployment/api -n backend -f examples/shop

  # Can the web frontend reach the api on 8080? (exit 0 yes, 1 no)
  kubectl netpol can frontend/web backend/api --port 8080 -f examples/shop

  # Who can reach whom in one namespace
  kubectl netpol matrix -n backend -f examples/shop";

/// See, check and write Kubernetes NetworkPolicies.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-netpol",
    bin_name = "kubectl netpol",
    version,
    about = "See what your Kubernetes NetworkPolicies do: which pods they select, what they allow, and who can reach whom.",
    after_help = EXAMPLES,
    disable_help_subcommand = true,
    args_override_self = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The width help is wrapped at, whatever the terminal's: a narrower
/// terminal folds long lines itself without inserting line breaks, so an
/// example always pastes as typed. Every example line fits in it.
pub const HELP_WIDTH: usize = 100;

/// The command line as parsed: the derive's definition with kubectl's
/// (pflag's) conventions added, which the derive cannot say:
/// - a repeated single-value flag: the last one wins (`-n a -n b`);
/// - every boolean flag takes `=true/false/1/0/t/f/...` as
///   `strconv.ParseBool` does (`-A=1`, `--insecure-skip-tls-verify=True`);
/// - `-o`'s help in each subcommand lists the formats that command prints;
/// - help is wrapped at [`HELP_WIDTH`] columns.
pub fn command() -> clap::Command {
    let cmd = pflag_booleans(Cli::command().term_width(HELP_WIDTH));
    let Some(output) = cmd
        .get_arguments()
        .find(|a| a.get_id() == "output")
        .cloned()
    else {
        return cmd;
    };
    let names: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect();
    names.into_iter().fold(cmd, |cmd, name| {
        let formats: Vec<&str> = formats_of(&name).iter().map(|f| f.as_str()).collect();
        let help = match name.as_str() {
            "wizard" => format!(
                "Output format: {} (text: the policy as YAML)",
                formats.join("|")
            ),
            "generate" => format!(
                "Output format: {} (text, the default, is yaml: the policies as YAML)",
                formats.join("|")
            ),
            _ => format!("Output format: {} (default text)", formats.join("|")),
        };
        // A copy of the global flag, local to the subcommand: clap keeps
        // it (a global is not propagated over a local of the same id) and
        // hands its value up to the global one.
        let local = output
            .clone()
            .global(false)
            .help(help)
            .hide_possible_values(true);
        cmd.mut_subcommand(name, |s| s.arg(local))
    })
}

/// Turns every `--flag` boolean into pflag's: `--flag`, `--flag=VALUE`.
fn pflag_booleans(cmd: clap::Command) -> clap::Command {
    let cmd = cmd.mut_args(|a| {
        if matches!(a.get_action(), clap::ArgAction::SetTrue) {
            a.num_args(0..=1)
                .require_equals(true)
                .default_value("false")
                .default_missing_value("true")
                .value_parser(parse_bool)
                .value_name("true|false")
                .hide_default_value(true)
                .action(clap::ArgAction::Set)
        } else {
            a
        }
    });
    cmd.mut_subcommands(pflag_booleans)
}

/// A boolean as Go's `strconv.ParseBool` reads it (pflag's booleans).
pub fn parse_bool(text: &str) -> Result<bool, String> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!(
            "strconv.ParseBool: parsing {text:?}: invalid syntax (use true or false)"
        )),
    }
}

/// `-o`'s values: the formats, and `""` (the flag given empty: not given,
/// that is text).
fn output_parser() -> impl clap::builder::TypedValueParser<Value = OutputFormat> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    let mut values: Vec<PossibleValue> = OutputFormat::value_variants()
        .iter()
        .filter_map(ValueEnum::to_possible_value)
        .collect();
    values.push(PossibleValue::new("").hide(true));
    PossibleValuesParser::new(values)
        .map(|s: String| OutputFormat::from_str(&s, false).unwrap_or(OutputFormat::Text))
}

/// Output formats (`-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text (the default).
    Text,
    /// Text with every pod listed instead of a few.
    Wide,
    /// JSON with a stable schema (see the README).
    Json,
    /// The JSON document as YAML.
    Yaml,
    /// One `networkpolicy.networking.k8s.io/NAME` per line, as `kubectl get
    /// -o name` (`list` only).
    Name,
}

impl OutputFormat {
    /// The word `-o` takes for this format.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Text => "text",
            OutputFormat::Wide => "wide",
            OutputFormat::Json => "json",
            OutputFormat::Yaml => "yaml",
            OutputFormat::Name => "name",
        }
    }
}

/// When to colour text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Only when stdout is a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

/// Flags every command takes, spelled as kubectl spells them.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// If present, the namespace scope for this CLI request.
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// If present, list the requested object(s) across all namespaces. Wins over -n.
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,

    /// Manifests to read instead of a cluster: a file, a directory, or - for
    /// stdin. YAML (multi-document) or JSON, `kind: List` too. Repeatable.
    #[arg(
        short = 'f',
        long = "filename",
        global = true,
        value_name = "FILE|DIR|-"
    )]
    pub filenames: Vec<String>,

    /// Process the directory used in -f, --filename recursively.
    #[arg(short = 'R', long, global = true)]
    pub recursive: bool,

    /// Output format: text (the default), wide, json, yaml or name; each
    /// command takes some of them (its --help lists them).
    #[arg(
        short = 'o',
        long,
        global = true,
        value_parser = output_parser(),
        value_name = "FORMAT"
    )]
    pub output: Option<OutputFormat>,

    /// When using the default output format, don't print headers (default
    /// print headers). Tables only: list, coverage, matrix, lint
    /// --list-checks.
    #[arg(long, global = true)]
    pub no_headers: bool,

    /// Selector (label query) to filter on, supports '=', '==', '!=', 'in',
    /// 'notin', 'exists' and '!' (e.g. -l key1=value1,key2 in (a,b)). list:
    /// the policies' own labels; explain, matrix, coverage: the pods'.
    #[arg(short = 'l', long, global = true, value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// Colour text output.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: ColorChoice,

    /// Number for the log level verbosity (6 and above: every API request).
    #[arg(
        short = 'v',
        long = "v",
        global = true,
        value_name = "LEVEL",
        default_value = "0"
    )]
    pub verbosity: u8,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// The help heading of the connection flags (completion tells them by it).
pub const CONNECTION_HEADING: &str = "Cluster connection (as kubectl)";

/// kubectl's connection flags, with kubectl's names and meanings.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = CONNECTION_HEADING)]
pub struct ConnectionArgs {
    /// Path to the kubeconfig file to use for CLI requests.
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<String>,

    /// The name of the kubeconfig context to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,

    /// The name of the kubeconfig cluster to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub cluster: Option<String>,

    /// The name of the kubeconfig user to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub user: Option<String>,

    /// Username to impersonate for the operation.
    #[arg(long = "as", global = true, value_name = "USER")]
    pub as_user: Option<String>,

    /// Group to impersonate for the operation; repeat for several groups.
    #[arg(long = "as-group", global = true, value_name = "GROUP")]
    pub as_group: Vec<String>,

    /// UID to impersonate for the operation.
    #[arg(long = "as-uid", global = true, value_name = "UID")]
    pub as_uid: Option<String>,

    /// Path to a client certificate file for TLS.
    #[arg(long, global = true, value_name = "PATH")]
    pub client_certificate: Option<String>,

    /// Path to a client key file for TLS.
    #[arg(long, global = true, value_name = "PATH")]
    pub client_key: Option<String>,

    /// The length of time to wait before giving up on the command's
    /// requests: a Go duration (500ms, 1m30s, 2h) or a number of seconds.
    /// 0 or none: no limit (connecting still gives up after 30s, as
    /// kubectl's dialer does).
    #[arg(long, global = true, value_name = "DURATION")]
    pub request_timeout: Option<String>,

    /// The address and port of the Kubernetes API server.
    #[arg(short = 's', long, global = true, value_name = "URL")]
    pub server: Option<String>,

    /// Bearer token for authentication to the API server.
    #[arg(long, global = true, value_name = "TOKEN")]
    pub token: Option<String>,

    /// Path to a cert file for the certificate authority.
    #[arg(long, global = true, value_name = "PATH")]
    pub certificate_authority: Option<String>,

    /// If true, the server's certificate will not be checked for validity.
    /// This will make your HTTPS connections insecure.
    #[arg(long, global = true)]
    pub insecure_skip_tls_verify: bool,

    /// Server name to use for server certificate validation. If it is not
    /// provided, the hostname used to contact the server is used.
    #[arg(long, global = true, value_name = "NAME")]
    pub tls_server_name: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Which policies select a pod, and what it may receive and send.
    #[command(after_help = "\
POD is NAME, NAMESPACE/NAME, pod/NAME or a workload such as deployment/NAME.
A Service (svc/NAME, NAMESPACE/svc/NAME, or its ClusterIP) explains the
ingress of the pods behind it, per Service port and target port.
The pod's node is shown: traffic between a pod and its own node is always
allowed. A host-network pod is treated as its node's address: no policy
isolates it, and only ipBlocks (and cluster policies' egress networks and
nodes peers) match it.

Examples:
  # examples/shop: run from a clone of the repository
  # (git clone https://github.com/kubectl-netpol/kubectl-netpol)
  kubectl netpol explain pod/cache-0 -n backend -f examples/shop
  kubectl netpol explain deployment/api -n backend -f examples/shop -o json

  # A Service in the current context's cluster
  kubectl netpol explain svc/api -n backend")]
    Explain(ExplainArgs),

    /// Every policy with the pods it selects and a one-line summary.
    #[command(after_help = "\
Examples:
  # examples/shop: run from a clone of the repository
  # (git clone https://github.com/kubectl-netpol/kubectl-netpol)
  kubectl netpol list -f examples/shop
  kubectl netpol list -n backend -f examples/shop -o json")]
    List(ListArgs),

    /// Whether one endpoint may connect to another, and the rules that decide it.
    #[command(after_help = "\
SRC and DST are:
  NAME, NAMESPACE/NAME, pod/NAME    a pod (a bare NAME: a pod, or else a
                                    workload of that name)
  deployment/NAME, NS/sts/NAME ...  a workload: one of its pods
  svc/NAME, NAMESPACE/svc/NAME      a Service: each pod behind it, on its
                                    target port (--port is the Service port)
  node/NAME                         a node, by its address
  an IP address                     a pod's, a Service's ClusterIP, a node's,
                                    or an address outside the cluster
Traffic between a pod and its own node is always allowed. A host-network
pod is its node's address: only ipBlocks (and cluster policies' egress
networks and nodes peers) match it. A word that is both a namespace and a
kind (jobs/worker) must name one thing that exists.

Exit status: 0 allowed (for a Service: every backing pod on every Service
port asked about), 1 denied (or only partly allowed), 2 error or a question
NetworkPolicy does not answer (like `kubectl auth can-i`), 4 UNKNOWN: the
answer depends on what could not be read (a namespace's labels RBAC hid,
a pod's unknown IP facing an ipBlock).

Examples:
  # examples/shop: run from a clone of the repository
  # (git clone https://github.com/kubectl-netpol/kubectl-netpol)
  kubectl netpol can frontend/web backend/api --port 8080 -f examples/shop
  kubectl netpol can backend/api 10.20.0.5 --port 443 -f examples/shop
  kubectl netpol can monitoring/prometheus backend/cache-0 -f examples/shop

  # In the current context's cluster
  kubectl netpol can frontend/web backend/svc/api --port 80
  kubectl netpol can node/worker-1 backend/api --port 8080")]
    Can(CanArgs),

    /// Whether this cluster's CNI enforces NetworkPolicy at all, and its caveats.
    #[command(after_help = "\
Evidence: the kube-system pods, DaemonSets in every namespace, the pods of
well-known CNI namespaces, the cilium-config ConfigMap and a few nodes, as far
as RBAC lets them be read. With -f, the same objects from manifests (a dump of
`kubectl get pods,daemonsets -n kube-system -o yaml`).

Exit status: 0 enforced, 3 not enforced, 4 cannot tell, 1 error.

Examples:
  kubectl netpol check
  kubectl netpol check --context prod -o json
  kubectl get pods,daemonsets -n kube-system -o yaml \\
    | kubectl netpol check -f -")]
    Check(CheckArgs),

    /// Build a NetworkPolicy step by step, see what it does, then print, dry-run or apply it.
    #[command(after_help = "\
On a terminal the wizard asks, offering what exists in the cluster (namespaces,
the label sets of their pods, their container ports). Every answer can be given
by a flag instead; when stdin is not a terminal, or with --yes, nothing is asked
and missing answers are an error that names the flags to pass.

RULES: each --allow-from/--allow-to PEER is one rule; its ports are the --port
flags that follow it (up to the next peer flag), or inline as PEER:PORTS
(comma-separated). A rule without ports allows every port. A --port before
any peer flag is an error. ':' is safe as the separator: label keys, label
values and namespace names cannot hold it (an IPv6 CIDR keeps its colons: it
ends with /PREFIX, which is no port).
  --allow-from frontend/web --port 8080 --allow-to backend/postgres --port 5432
  --allow-from frontend/web:8080 --allow-to backend/app=postgres:5432/TCP

PEER syntax, as list, explain and matrix write peers:
  frontend/web                        pods named web in frontend (the app,
                                      app.kubernetes.io/name, k8s-app... label
                                      the pods there carry; app when none does)
  frontend/app=web,tier in (a,b)      pods of frontend by a label selector
  frontend/*, all pods in frontend    every pod of frontend
  frontend pods [track]               as the outputs write a selector
  web in namespaces [team=x]          pods named web in namespaces by labels
  any namespace                       every pod of every namespace
  10.0.0.0/8 except 10.1.0.0/16       addresses (an ipBlock)
  anywhere                            every pod and address
  In the policy's own namespace, NS/... is a plain podSelector.
or in key=value parts:
  pods=app=web                        pods of the policy's namespace
  namespace=frontend                  every pod of namespace frontend (namespaces=a|b: several)
  namespace=frontend,pods=app=web     pods app=web of namespace frontend
  namespace-labels=team=web           every pod of the namespaces labelled team=web
  cidr=10.0.0.0/8,except=10.1.0.0/16  addresses (an ipBlock)
PORT syntax (--port, :PORTS): 8080, 8000-8100, http (a named port), 53/UDP;
also as the outputs write them: TCP/8080, UDP/53, UDP/all (every UDP port).

A selector that does not parse is told what is wrong, with a corrected
example (app in web: did you mean `app in (web)`?). A peer or --select that
matches no pod is allowed, and said as typed with the nearest label sets.

--from [NAMESPACE/]NAME starts from an existing policy: its pods, rules and
ports; --select replaces the pods, --allow-from/--allow-to add rules, --name
writes a copy. The review shows a unified diff against the stored policy.
On a terminal, the namespace's policies are offered as a start, and the
review's menu can edit any step (pods, directions, a rule's peer or ports,
DNS, name) without starting over; after a server dry run it offers to apply.

Nothing is applied without --apply and a yes that names the context, server and
namespace (or --yes); a dry run writes nothing (--dry-run=server with --apply or
--write is refused); --write never replaces a file without a yes (or
--overwrite), nor ever a file read with -f. Before an apply over an existing
policy, the server's dry run shows conflicts with other field managers
(--force-conflicts takes the fields over) and fields they would keep (refused);
afterwards the stored policy is read back and compared with the review. Ctrl-C
before anything is sent leaves everything untouched; after the apply was sent,
it says so.

Examples:
  # Asks every question (on a terminal)
  kubectl netpol wizard

  # Prints the policy; nothing asked for what the flags answer
  kubectl netpol wizard -n backend --select app=api \\
    --allow-from frontend/web --port 8080

  kubectl netpol wizard -n backend --select app=api --deny-all-egress \\
    --allow-dns --allow-to backend/postgres:5432 --apply --yes

  kubectl netpol wizard --from backend/allow-web-to-api \\
    --allow-from monitoring/prometheus:metrics --dry-run=server

  kubectl netpol wizard -n shop --all-pods --deny-all-ingress \\
    --name default-deny --dry-run=server")]
    Wizard(WizardCommand),

    /// The NetworkPolicies a service graph implies: who talks to whom, as least-privilege policies.
    #[command(after_help = GENERATE_HELP)]
    Generate(GenerateArgs),

    /// Make the cluster's NetworkPolicies those a service graph implies: apply, update, prune.
    #[command(after_help = SYNC_HELP)]
    Sync(SyncArgs),

    /// The service graph today's NetworkPolicies imply: a starting point to adopt sync.
    #[command(after_help = GRAPH_HELP)]
    Graph(GraphArgs),

    /// The version, git commit and build target of this binary.
    Version(VersionArgs),

    /// Shell completion for kubectl (called by a `kubectl_complete-netpol` shim).
    #[command(name = "__complete", hide = true)]
    Complete(CompleteArgs),

    /// Gotchas: policies that are valid but do not do what they seem to.
    #[command(after_help = "\
Every finding has a check id, a severity, the object and field path, a
message, and where possible the corrected YAML. `--list-checks` shows them
all.

Exit status: 0 when nothing at or above --fail-on was found, 5 when
something was, 1 on errors.

Examples:
  kubectl netpol lint -f policies/ -R
  kubectl netpol lint -A -o json
  kubectl netpol lint -f new-policy.yaml --against-cluster --context prod

  # examples/shop: run from a clone of the repository
  # (git clone https://github.com/kubectl-netpol/kubectl-netpol)
  kubectl netpol lint -f examples/shop --disable redundant-rule \\
    --fail-on warning")]
    Lint(LintArgs),

    /// What is left unprotected: pods no policy isolates, default denies, and which policies select each pod.
    #[command(after_help = "\
Examples:
  kubectl netpol coverage -A
  kubectl netpol coverage -n backend -o wide
  # examples/shop: run from a clone of the repository
  # (git clone https://github.com/kubectl-netpol/kubectl-netpol)
  kubectl netpol coverage -f examples/shop -o json")]
    Coverage(CoverageArgs),

    /// What a change to the policies does to connectivity: connections opened, closed, changed.
    #[command(after_help = "\
With -f NEW, the live cluster today against the live cluster with NEW
applied as plain `kubectl apply -f NEW` (client-side apply) would apply it.
That apply merges: a NetworkPolicy or Namespace that exists becomes the live
object with NEW's fields set and the fields the last apply set (annotation
kubectl.kubernetes.io/last-applied-configuration) but NEW drops removed;
fields set otherwise (kubectl create, kubectl label) stay. The server is
asked with a dry run of that patch (and of NEW's existing workloads and
Pods), and with a dry-run creation of NEW's objects that do not exist; when
RBAC refuses the dry run the merge is made here (a note says so), and what
the server rejects (an immutable field, a Pod's container port, a namespace
that does not exist, an invalid object) is an error, as what kubectl apply
refuses (-n naming another namespace than a manifest's, a kind or version the
server does not serve: a NetworkPolicy in extensions/v1beta1, a CRD not
installed). A workload whose pod template is unchanged leaves its
live pods as they are; one whose template changes in any field (an image)
rolls them out: they get the template's labels and ports (unless paused or
OnDelete). New objects are added (a new Deployment appears as one pod). With
--prune -l SELECTOR (as kubectl apply takes it), live objects matching
SELECTOR, applied by kubectl apply and absent from NEW, are deleted too: of
kubectl's default prune allowlist, Pods, workloads (with their pods) in the
namespaces NEW touches, and Namespaces (with their pods and policies);
NetworkPolicies only with --prune-allowlist=networking.k8s.io/v1/NetworkPolicy
(an explicit allowlist replaces the default). What RBAC does not let us
list for it leaves the comparison incomplete (exit 2).
With two paths OLD NEW, both are manifests and no cluster is contacted
(process substitution works: <(git show main:netpol.yaml)).

Each change names the policies and rules responsible on each side. Pods of
one workload that change alike are shown once (-o wide lists every pod);
addresses outside the cluster are shown as CIDR ranges. Pairs whose
answer cannot be decided (a namespace whose labels were not read, a pod
without IP facing an ipBlock) are listed as \"May change\", never as
unchanged. -o json: {complete, changes, external, undecided, notes} (see
the README).

Exit status (as kubectl diff): 0 no change in connectivity, 1 changes,
2 or more an error or not everything compared (invalid policies, objects
RBAC does not let us read, undecided pairs, policies that select no pod of
the manifests, policies of kinds not evaluated: any kind ending in Policy or
Firewall outside Kubernetes' own API groups, as CiliumNetworkPolicy, Calico's
or Antrea's NetworkPolicy, EgressFirewall...); the changes found are
still shown.

Examples:
  # What would applying this directory open or close in the cluster?
  kubectl netpol diff -f policies/ -R

  # The same, also deleting live policies labelled app=shop that are gone
  kubectl netpol diff -f policies/ --prune -l app=shop \\
      --prune-allowlist=networking.k8s.io/v1/NetworkPolicy

  # Two versions of the manifests, offline (CI, a pull request)
  kubectl netpol diff old/ new/ -R
  kubectl netpol diff <(git show main:policies.yaml) policies.yaml -o json")]
    Diff(DiffArgs),

    /// Who can reach whom: every pair of pods in scope and the allowed ports.
    #[command(after_help = "\
Examples:
  # examples/shop: run from a clone of the repository
  # (git clone https://github.com/kubectl-netpol/kubectl-netpol)
  kubectl netpol matrix -n backend -f examples/shop
  kubectl netpol matrix -A -f examples/shop -o json")]
    Matrix(MatrixArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// The pod: NAME, pod/NAME, a workload such as deployment/NAME, or a
    /// Service (svc/NAME, or its ClusterIP). Without it, -l picks the pods.
    #[arg(value_name = "POD")]
    pub target: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {}

const GENERATE_HELP: &str = "\
A service graph is a small YAML kind of this tool's own (the README has it in
full; deploy/crd.yaml installs it in a cluster):

  apiVersion: kubectl-netpol.github.io/v1alpha1
  kind: ServiceGraph
  metadata:
    name: shop
  spec:
    services:                        # a namespace and its pods
    - name: web
      namespace: frontend
      workload: deployment/web       # or podSelector: {matchLabels: ...}
    - name: api
      namespace: backend
      podSelector: {matchLabels: {app: api}}
    edges:                           # who may open connections to whom
    - from: web
      to: api
      ports: [{port: http}]          # numbers, ranges (endPort), names
    ingress:                         # into a service from outside the graph
    - to: web
      from: [{cidr: 0.0.0.0/0}]
      ports: [{port: 8080}]

Each service gets <graph>-<service>-ingress (what may reach it: its edges)
and <graph>-<service>-egress (where it may go: its edges, and DNS unless
spec.dns or the service turns it off); spec.namespaces manages default
denies; spec.policyTypes: [Ingress] leaves egress alone. Every policy is
labelled app.kubernetes.io/managed-by=kubectl-netpol and
kubectl-netpol.github.io/graph=<graph>. The output is one kind: List for
kubectl apply -f -; stderr has one sentence per policy, as list says it.

Workload references (deployment/api) and named ports are looked up in the
other -f manifests (or with --against-cluster, in the cluster); so are the
DNS pods and their ports, as lint finds them (else kube-system
k8s-app=kube-dns on UDP and TCP 53 is assumed, with a note).

Exit status: 0 generated, 2 the graph is invalid (one error line with the
field's path, as the API server words it), 1 anything else (a workload
reference not found).

Examples:
  # examples/shop: run from a clone of the repository
  # (git clone https://github.com/kubectl-netpol/kubectl-netpol)
  kubectl netpol generate -f examples/shop -f examples/shop-graph.yaml
  kubectl netpol generate -f examples/shop -f examples/shop-graph.yaml -o json

  # Workloads, named ports and DNS pods from the current context's cluster
  kubectl netpol generate -f graph.yaml --against-cluster";

#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// Look up workload references, named ports and the DNS pods in the
    /// cluster (kubectl's flags pick it) instead of in the other -f
    /// manifests.
    #[arg(long)]
    pub against_cluster: bool,
}

const SYNC_HELP: &str = "\
Reads the graph from -f (one ServiceGraph), resolves it against the cluster
(workloads, named ports, DNS pods, as generate --against-cluster), and makes
the cluster match: every policy the graph implies is server-side applied
(field manager kubectl-netpol), so a second run changes nothing; every
policy labelled as this graph's (app.kubernetes.io/managed-by=kubectl-netpol
and kubectl-netpol.github.io/graph=NAME) that the graph no longer implies is
deleted. No other policy is ever changed.

Before anything is written it shows the plan (create, update, delete, each
with its summary) and the connections it opens and closes, checks every
request with a server dry run (RBAC, validation, conflicts), and asks for a
yes naming the context and the graph (--yes: unattended). A managed policy
edited by someone else since sync applied it (drift) is named with what
differs and restored only with --force-conflicts; without it nothing at all
is written. One line per change on stderr, as kubectl apply prints.

With --watch (controller mode, no -f) it keeps every ServiceGraph stored in
the cluster synced (the CRD: deploy/crd.yaml), by the same steps: on every
change of a graph or of one of its policies (edited or deleted) and every
--resync-period. Only the holder of a Lease (--leader-elect-resource-name in
--leader-elect-resource-namespace) writes, so replicas never fight. Each
graph's status says how it went (conditions Ready and PoliciesApplied,
policies, lastError; kubectl get servicegraphs), with Events for what was
written and what failed; one log line per change on stderr. Drift is
reported and left alone unless --force-conflicts. SIGTERM or Ctrl-C: the
reconciles in flight finish, the Lease is released, exit 0. Deleting a graph
deletes its policies through the garbage collector (they are owned by it).
In a pod it uses the pod's service account (deploy/).

Exit status: 0 the cluster matches the graph (nothing to do, or done; with
--watch: stopped by a signal), 3 with --dry-run: changes pending, 1 an error
(drift without --force-conflicts, a collision, a refusal, a failed write: the
lines say what was written; with --watch: it could not start), 2 the graph is
invalid or the command line is, 130 the answer was no.

Examples:
  kubectl netpol sync -f examples/shop-graph.yaml --dry-run=server
  kubectl netpol sync -f graph.yaml --context prod
  kubectl netpol sync -f graph.yaml --yes --force-conflicts
  kubectl netpol sync --watch --dry-run=server
  kubectl netpol sync --watch --yes --leader-elect-resource-namespace kubectl-netpol-system";

#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    /// server: every request is sent as a dry run (the API server checks
    /// RBAC, validation and conflicts) and nothing is stored; client:
    /// nothing is sent but the reads; the plan is shown either way.
    #[arg(long, value_name = "MODE", value_parser = ["server", "client"])]
    pub dry_run: Option<String>,

    /// Restore policies edited by hand (drift) and take over the fields
    /// other field managers own (as kubectl apply --server-side
    /// --force-conflicts).
    #[arg(long)]
    pub force_conflicts: bool,

    /// Apply without asking (for CI): the target is still said first.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Controller mode: keep every ServiceGraph stored in the cluster
    /// synced until SIGTERM (no -f).
    #[arg(long, short = 'w')]
    pub watch: bool,

    /// With --watch: reconcile every graph at least this often (a Go
    /// duration: 30s, 5m, 1h).
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub resync_period: String,

    /// With --watch: only the holder of a Lease reconciles (false: this
    /// process alone, as when one replica runs).
    #[arg(
        long,
        value_name = "true|false",
        num_args = 0..=1,
        require_equals = true,
        default_value = "true",
        default_missing_value = "true",
        value_parser = parse_bool,
        action = clap::ArgAction::Set
    )]
    pub leader_elect: bool,

    /// With --watch: the Lease's name.
    #[arg(long, value_name = "NAME", default_value = "kubectl-netpol")]
    pub leader_elect_resource_name: String,

    /// With --watch: the Lease's namespace (default: $POD_NAMESPACE in a
    /// pod, else the context's namespace).
    #[arg(long, value_name = "NAMESPACE")]
    pub leader_elect_resource_namespace: Option<String>,

    /// With --watch: how long the leader holds the Lease without renewing
    /// it; another replica takes over after this (a Go duration).
    #[arg(long, value_name = "DURATION", default_value = "15s")]
    pub leader_elect_lease_duration: String,

    /// With --watch: serve GET /healthz and /readyz (for the kubelet's
    /// probes) on this address: :PORT, HOST:PORT, or 0 for none.
    #[arg(long, value_name = "ADDRESS", default_value = "0")]
    pub health_probe_bind_address: String,
}

impl SyncArgs {
    /// What is wrong with the flags of controller mode: -f with --watch,
    /// a --watch flag without --watch, --request-timeout with it.
    fn check_watch_flags(&self, g: &GlobalArgs) -> Option<String> {
        let watch_only = [
            ("--resync-period", self.resync_period != "5m"),
            ("--leader-elect", !self.leader_elect),
            (
                "--leader-elect-resource-name",
                self.leader_elect_resource_name != "kubectl-netpol",
            ),
            (
                "--leader-elect-resource-namespace",
                self.leader_elect_resource_namespace.is_some(),
            ),
            (
                "--leader-elect-lease-duration",
                self.leader_elect_lease_duration != "15s",
            ),
            (
                "--health-probe-bind-address",
                self.health_probe_bind_address != "0",
            ),
        ];
        if !self.watch {
            return watch_only
                .iter()
                .find(|(_, set)| *set)
                .map(|(flag, _)| format!("{flag} needs --watch (controller mode)"));
        }
        if !g.filenames.is_empty() {
            return Some(
                "sync --watch reconciles every ServiceGraph stored in the cluster and takes no -f: store the graph with kubectl apply -f GRAPH.yaml (or sync one graph with sync -f GRAPH.yaml, without --watch)".into(),
            );
        }
        if let Some(f) = g.output.filter(|f| *f != OutputFormat::Text) {
            return Some(format!(
                "-o {} cannot be used with --watch: the controller logs one line per change on stderr, and each graph's status says how it went (kubectl get servicegraphs -o yaml)",
                f.as_str()
            ));
        }
        if g.connection.request_timeout.is_some() {
            return Some(
                "--request-timeout cannot be used with --watch: the controller's watches are long-lived requests; each failure is retried".into(),
            );
        }
        None
    }
}

const GRAPH_HELP: &str = "\
The reverse of generate: one ServiceGraph (YAML on stdout) whose services
are the pod selectors today's policies protect, whose edges are the
connections their rules admit between them, and whose ingress and egress
are the rest (address ranges, namespaces). A starting point to adopt sync:
review it, then kubectl netpol generate or sync it.

What a graph cannot say is named on stderr, one warning each: ipBlocks with
except toward pods, named ports, rules without ports or peers, policies
selecting pods no service matches, ingress-only or egress-only services,
peers by namespace labels other than the name, and more.

Examples:
  kubectl netpol graph -f examples/shop
  kubectl netpol graph -n backend --name backend
  kubectl netpol graph -A -o yaml";

#[derive(Debug, Clone, Args)]
pub struct GraphArgs {
    /// The graph's metadata.name (a DNS label: it prefixes the policy
    /// names and is a label value).
    #[arg(long, value_name = "NAME", default_value = "adopted")]
    pub name: String,
}

#[derive(Debug, Clone, Args)]
pub struct CanArgs {
    /// Source endpoint.
    #[arg(value_name = "SRC")]
    pub from: String,
    /// Destination endpoint.
    #[arg(value_name = "DST")]
    pub to: String,
    /// One port to decide, as PORT[/PROTOCOL] (8080, 53/UDP) or a named port of
    /// the destination (http). Without it, the allowed ports are listed.
    #[arg(long, value_name = "PORT[/PROTO]")]
    pub port: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct MatrixArgs {}

#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    /// The manifests as they are (file, directory, or - for stdin); with
    /// NEW, compared offline. Without both, -f NEW compares the cluster.
    #[arg(value_name = "OLD", requires = "new")]
    pub old: Option<String>,

    /// The manifests as they will be.
    #[arg(value_name = "NEW")]
    pub new: Option<String>,

    /// With -f and -l: model kubectl apply --prune -l: live objects of the
    /// prune allowlist's kinds that match -l, that kubectl apply created
    /// and that NEW lacks are deleted (in the namespaces NEW touches;
    /// Namespaces cluster-wide). kubectl's default allowlist deletes Pods,
    /// workloads (their pods go) and Namespaces (their pods and policies
    /// go), not NetworkPolicies: those only with
    /// --prune-allowlist=networking.k8s.io/v1/NetworkPolicy.
    #[arg(long)]
    pub prune: bool,

    /// With --prune: the kinds kubectl apply --prune may delete
    /// (group/version/Kind, repeatable; core/v1/Pod), as kubectl's flag,
    /// instead of its default list; of them, NetworkPolicy, Pod, Namespace
    /// and the workload kinds change what diff compares.
    #[arg(long, value_name = "GROUP/VERSION/KIND")]
    pub prune_allowlist: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {}

#[derive(Debug, Clone, Args)]
pub struct LintArgs {
    /// Exit with status 5 when a finding of this severity or worse is found.
    #[arg(long, value_name = "SEVERITY", default_value = "error", value_parser = ["error", "warning", "info"])]
    pub fail_on: String,

    /// Skip a check (repeatable, or comma-separated).
    #[arg(long, value_name = "CHECK", value_delimiter = ',')]
    pub disable: Vec<String>,

    /// Run only these checks (repeatable, or comma-separated).
    #[arg(long, value_name = "CHECK", value_delimiter = ',')]
    pub enable: Vec<String>,

    /// With -f: check the manifests' policies against the cluster they are
    /// meant for (its namespaces, pods, Services and other policies).
    #[arg(long)]
    pub against_cluster: bool,

    /// Print every check with its severity and exit.
    #[arg(long)]
    pub list_checks: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CoverageArgs {}

#[derive(Debug, Clone, Args)]
pub struct VersionArgs {}

#[derive(Debug, Clone, Args)]
pub struct CompleteArgs {
    /// The words after `kubectl netpol`, the last one being completed.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub words: Vec<String>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct WizardArgs {
    /// The pods to protect, as a label selector (app=api, tier in (a,b)).
    #[arg(long, value_name = "LABELS", conflicts_with = "all_pods")]
    pub select: Option<String>,

    /// Protect every pod of the namespace.
    #[arg(long)]
    pub all_pods: bool,

    /// Allow traffic from PEER to the selected pods, on PORTS or on the
    /// --port flags that follow (repeatable; see RULES and PEER syntax).
    #[arg(long, value_name = "PEER[:PORTS]")]
    pub allow_from: Vec<String>,

    /// Allow the selected pods to send to PEER, on PORTS or on the --port
    /// flags that follow (repeatable; see RULES and PEER syntax).
    #[arg(long, value_name = "PEER[:PORTS]")]
    pub allow_to: Vec<String>,

    /// Ports of the --allow-from/--allow-to just before it (repeatable):
    /// 8080, 8000-8100, http, 53/UDP. A rule without any: every port.
    #[arg(long, value_name = "PORT[/PROTO]")]
    pub port: Vec<String>,

    /// Start from this existing policy (NAME in the -n namespace, or
    /// NAMESPACE/NAME): its pods, rules and ports, which the flags change
    /// or add to; the review shows the diff against it.
    #[arg(long = "from", value_name = "[NAMESPACE/]NAME")]
    pub from_policy: Option<String>,

    /// Isolate ingress: deny what no --allow-from admits.
    #[arg(long)]
    pub deny_all_ingress: bool,

    /// Isolate egress: deny what no --allow-to admits.
    #[arg(long)]
    pub deny_all_egress: bool,

    /// Allow DNS (UDP and TCP 53 to the cluster's DNS pods); implies egress isolation.
    #[arg(long)]
    pub allow_dns: bool,

    /// The policy's name (default: suggested from the answers).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Write the policy to FILE (with --apply: write it, then apply it).
    /// An existing FILE is replaced only after a yes (unattended: with
    /// --overwrite); a file read with -f never is.
    #[arg(long, value_name = "FILE")]
    pub write: Option<String>,

    /// Replace FILE when --write names one that exists.
    #[arg(long, requires = "write")]
    pub overwrite: bool,

    /// Server-side dry-run: the API server validates the policy and stores
    /// nothing. A dry run writes nothing, so it cannot be combined with
    /// --apply or --write.
    #[arg(long, value_name = "MODE", value_parser = ["server"], conflicts_with_all = ["apply", "write"])]
    pub dry_run: Option<String>,

    /// Apply the policy (server-side apply, field manager kubectl-netpol).
    #[arg(long)]
    pub apply: bool,

    /// With --apply: take over fields another field manager owns (as
    /// kubectl apply --server-side --force-conflicts).
    #[arg(long, requires = "apply")]
    pub force_conflicts: bool,

    /// Ask nothing: take every answer from flags, and confirm --apply.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Use the manifests (-f) or nothing at all: never contact a cluster.
    #[arg(long)]
    pub offline: bool,

    /// The rule flags in command-line order (filled from the parser's
    /// argument indices, see [`WizardCommand`]): each `--port` belongs to
    /// the `--allow-from`/`--allow-to` before it.
    #[arg(skip)]
    pub rule_flags: Vec<RuleFlag>,
}

/// One of `--allow-from`, `--allow-to`, `--port`, with its value, in the
/// order typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleFlag {
    AllowFrom(String),
    AllowTo(String),
    Port(String),
}

/// `wizard`'s arguments as parsed, plus the order of its rule flags,
/// which clap's derive does not keep: built from the argument indices
/// (`ArgMatches::indices_of`). Dereferences to [`WizardArgs`].
#[derive(Debug, Clone, Default)]
pub struct WizardCommand(pub WizardArgs);

impl std::ops::Deref for WizardCommand {
    type Target = WizardArgs;
    fn deref(&self) -> &WizardArgs {
        &self.0
    }
}

impl WizardCommand {
    fn ordered(matches: &clap::ArgMatches) -> Vec<RuleFlag> {
        let mut flags: Vec<(usize, RuleFlag)> = Vec::new();
        let mut take = |id: &str, make: fn(String) -> RuleFlag| {
            if let (Some(values), Some(indices)) =
                (matches.get_many::<String>(id), matches.indices_of(id))
            {
                for (v, i) in values.zip(indices) {
                    flags.push((i, make(v.clone())));
                }
            }
        };
        take("allow_from", RuleFlag::AllowFrom);
        take("allow_to", RuleFlag::AllowTo);
        take("port", RuleFlag::Port);
        flags.sort_by_key(|(i, _)| *i);
        flags.into_iter().map(|(_, f)| f).collect()
    }
}

impl clap::FromArgMatches for WizardCommand {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut args = WizardArgs::from_arg_matches(matches)?;
        args.rule_flags = WizardCommand::ordered(matches);
        Ok(WizardCommand(args))
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)?;
        self.0.rule_flags = WizardCommand::ordered(matches);
        Ok(())
    }
}

impl Args for WizardCommand {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        WizardArgs::augment_args(cmd)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        WizardArgs::augment_args_for_update(cmd)
    }
}

impl Command {
    /// The subcommand's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Explain(_) => "explain",
            Command::List(_) => "list",
            Command::Can(_) => "can",
            Command::Check(_) => "check",
            Command::Wizard(_) => "wizard",
            Command::Version(_) => "version",
            Command::Complete(_) => "__complete",
            Command::Lint(_) => "lint",
            Command::Coverage(_) => "coverage",
            Command::Matrix(_) => "matrix",
            Command::Diff(_) => "diff",
            Command::Generate(_) => "generate",
            Command::Sync(_) => "sync",
            Command::Graph(_) => "graph",
        }
    }

    /// The `-o` formats the command prints (`text` is the default).
    pub fn formats(&self) -> &'static [OutputFormat] {
        formats_of(self.name())
    }

    /// Why `-A` means nothing for this command; `None` when it takes it.
    fn without_all_namespaces(&self) -> Option<&'static str> {
        without_all_namespaces(self.name())
    }

    /// Why `-l` means nothing for this command; `None` when it takes it.
    fn without_selector(&self) -> Option<&'static str> {
        without_selector(self.name())
    }

    /// Whether the command's text output is a table (`--no-headers`).
    fn prints_a_table(&self) -> bool {
        match self {
            Command::List(_) | Command::Matrix(_) | Command::Coverage(_) => true,
            Command::Lint(a) => a.list_checks,
            _ => false,
        }
    }
}

/// Why `-A` means nothing for the subcommand `name`; `None` when it
/// takes it.
fn without_all_namespaces(name: &str) -> Option<&'static str> {
    match name {
        "list" | "matrix" | "lint" | "coverage" => None,
        "explain" => Some("it explains pods of one namespace (use -n, or NAMESPACE/NAME)"),
        "can" => Some("it asks about two endpoints (name them NAMESPACE/NAME)"),
        "check" => Some("it always reads what it needs across the cluster"),
        "wizard" => Some("a policy lives in one namespace (use -n)"),
        "diff" => Some("it compares every namespace it can read"),
        "generate" | "sync" => Some("the graph names the namespace of each service"),
        "graph" => None,
        _ => Some("it reads no cluster"),
    }
}

/// Why `-l` means nothing for the subcommand `name`; `None` when it
/// takes it.
fn without_selector(name: &str) -> Option<&'static str> {
    match name {
        // diff: the live policies --prune deletes.
        "list" | "explain" | "matrix" | "coverage" | "diff" => None,
        "can" => Some("it asks about two endpoints (name them)"),
        "wizard" => Some("the pods a policy protects are --select LABELS"),
        "lint" => Some("it checks every policy in scope (use -n, or -f)"),
        "check" => Some("it reads the cluster's CNI, not chosen objects"),
        "generate" | "sync" => Some("the graph says each service's pods"),
        "graph" => Some("it reads every policy of the scope (use -n or -A)"),
        _ => Some("it reads no cluster"),
    }
}

/// Whether the flag `--long` can mean something for the subcommand `sub`
/// (for shell completion: flags that are always refused are not offered).
pub fn flag_applies(sub: &str, long: &str) -> bool {
    match long {
        "help" => true,
        _ if sub == "version" => long == "output",
        "all-namespaces" => without_all_namespaces(sub).is_none(),
        "selector" => without_selector(sub).is_none(),
        "no-headers" => matches!(sub, "list" | "matrix" | "coverage" | "lint"),
        _ => true,
    }
}

/// The `-o` formats of the subcommand named `name` (`text` is the
/// default); for shell completion too.
pub fn formats_of(name: &str) -> &'static [OutputFormat] {
    use OutputFormat::*;
    match name {
        "list" => &[Text, Wide, Json, Yaml, Name],
        "sync" => &[Text, Json, Yaml],
        "graph" => &[Text, Json, Yaml],
        "explain" | "coverage" | "diff" => &[Text, Wide, Json, Yaml],
        _ => &[Text, Json, Yaml],
    }
}

/// An example of kubectl's selector syntax, for error messages.
pub const SELECTOR_EXAMPLE: &str = "-l 'app=web,tier in (front,back),!canary'";

impl Cli {
    /// Empty values mean "not given", as for kubectl (`--context=` uses
    /// the current context, `-n ""` the context's namespace).
    pub fn normalize(&mut self) {
        let g = &mut self.global;
        let c = &mut g.connection;
        for value in [
            &mut g.namespace,
            &mut c.kubeconfig,
            &mut c.context,
            &mut c.cluster,
            &mut c.user,
            &mut c.server,
            &mut c.token,
            &mut c.certificate_authority,
            &mut c.tls_server_name,
            &mut c.client_certificate,
            &mut c.client_key,
            &mut c.as_user,
            &mut c.as_uid,
            &mut c.request_timeout,
        ] {
            if value.as_deref() == Some("") {
                *value = None;
            }
        }
    }

    /// Flags that mean nothing for the command given are an error (one
    /// line, exit 2), never silently ignored: `-A` where one namespace or
    /// none is read, `-l` where nothing is selected, `-o` formats the
    /// command does not print, `--no-headers` without a table, `-R`
    /// without `-f`; and `explain` needs a POD or `-l`, not both.
    pub fn check_flags(&self) -> Result<(), String> {
        let g = &self.global;
        let cmd = &self.command;
        let name = cmd.name();
        // `diff OLD NEW` reads two paths without -f: -R recurses into them.
        let diff_paths = matches!(cmd, Command::Diff(a) if a.old.is_some());
        if g.recursive && g.filenames.is_empty() && !diff_paths {
            return Err(
                "-R/--recursive needs -f (or diff's OLD NEW): it recurses into the directories given to -f".into(),
            );
        }
        if let Command::Version(_) = cmd
            && let Some(flag) = self.version_flags().first()
        {
            return Err(format!(
                "{flag} does not apply to version: it prints this binary's version and reads nothing (it takes -o only)"
            ));
        }
        if let Some(why) = self.offline_reason()
            && let Some(flag) = self.connection_flags_given().first()
        {
            return Err(format!("{flag} has no effect {why}"));
        }
        if let Some(ns) = &g.namespace
            && let Some(e) = crate::engine::validate::dns1123_label(ns).first()
        {
            return Err(format!("invalid namespace {ns:?}: {e}"));
        }
        if g.all_namespaces
            && let Some(why) = cmd.without_all_namespaces()
        {
            return Err(format!(
                "-A/--all-namespaces does not apply to {name}: {why}"
            ));
        }
        if g.selector.is_some()
            && let Some(why) = cmd.without_selector()
        {
            return Err(format!("-l/--selector does not apply to {name}: {why}"));
        }
        if let Some(text) = &g.selector
            && let Err(e) = crate::engine::selector::Selector::parse(text)
        {
            return Err(selector_error(text, &e));
        }
        if let Some(format) = g.output
            && !cmd.formats().contains(&format)
        {
            let allowed: Vec<&str> = cmd.formats().iter().map(|f| f.as_str()).collect();
            let why = match format {
                OutputFormat::Name => {
                    " (it prints the names of the objects a command lists: only list does)"
                }
                _ => "",
            };
            return Err(format!(
                "-o {} is not supported by {name}{why}; allowed formats: {}",
                format.as_str(),
                allowed.join(", ")
            ));
        }
        if g.no_headers {
            if !cmd.prints_a_table() {
                return Err(format!(
                    "--no-headers applies to tables (list, coverage, matrix, lint --list-checks); {name} prints none"
                ));
            }
            if matches!(cmd, Command::Coverage(_)) && g.output == Some(OutputFormat::Wide) {
                return Err(
                    "--no-headers with coverage -o wide: -o wide adds a second table; use one of them, or -o json".into(),
                );
            }
        }
        if let Command::Sync(a) = cmd
            && let Some(e) = a.check_watch_flags(g)
        {
            return Err(e);
        }
        if let Command::Sync(a) = cmd
            && !a.watch
            && g.filenames.is_empty()
        {
            return Err(
                "sync needs the graph: -f GRAPH.yaml (one ServiceGraph); it reads and writes the cluster kubectl's flags name (see kubectl netpol sync --help)".into(),
            );
        }
        if let Command::Generate(_) = cmd
            && g.filenames.is_empty()
        {
            return Err(
                "generate needs the graph: -f GRAPH.yaml (a ServiceGraph), with -f for the manifests its workloads are in (see kubectl netpol generate --help)".into(),
            );
        }
        if let Command::Explain(a) = cmd {
            match (&a.target, &g.selector) {
                (None, None) => {
                    return Err(
                        "explain needs a POD (NAME, pod/NAME, deployment/NAME, svc/NAME) or -l SELECTOR".into(),
                    );
                }
                (Some(_), Some(_)) => {
                    return Err(
                        "name cannot be provided when a selector is specified: explain takes a POD or -l SELECTOR, not both".into(),
                    );
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl Cli {
    /// kubectl's connection flags given (with a value), as typed.
    pub fn connection_flags_given(&self) -> Vec<&'static str> {
        let c = &self.global.connection;
        [
            ("--kubeconfig", c.kubeconfig.is_some()),
            ("--context", c.context.is_some()),
            ("--cluster", c.cluster.is_some()),
            ("--user", c.user.is_some()),
            ("--as", c.as_user.is_some()),
            ("--as-group", !c.as_group.is_empty()),
            ("--as-uid", c.as_uid.is_some()),
            ("--client-certificate", c.client_certificate.is_some()),
            ("--client-key", c.client_key.is_some()),
            ("--request-timeout", c.request_timeout.is_some()),
            ("--server", c.server.is_some()),
            ("--token", c.token.is_some()),
            ("--certificate-authority", c.certificate_authority.is_some()),
            ("--insecure-skip-tls-verify", c.insecure_skip_tls_verify),
            ("--tls-server-name", c.tls_server_name.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }

    /// Why no cluster is contacted, worded to follow "--context has no
    /// effect": `None` when the command reads a cluster. -f is read
    /// offline but by `lint --against-cluster -f` and `diff -f NEW`, which
    /// compare the manifests with the cluster; `diff OLD NEW` and `wizard
    /// --offline` read no cluster either.
    pub fn offline_reason(&self) -> Option<&'static str> {
        let files = !self.global.filenames.is_empty();
        match &self.command {
            Command::Version(_) | Command::Complete(_) => None,
            Command::Lint(a) if a.against_cluster => None,
            Command::Generate(a) if a.against_cluster => None,
            Command::Sync(_) => None,
            Command::Lint(a) if a.list_checks => Some("with lint --list-checks: it reads nothing"),
            Command::Diff(a) if a.old.is_some() || a.new.is_some() => {
                Some("with diff OLD NEW: both are manifests, read offline")
            }
            Command::Diff(_) => None,
            Command::Wizard(a) if a.offline && !files => {
                Some("with --offline: the wizard contacts no cluster")
            }
            _ if files => Some("with -f: manifests are read offline"),
            _ => None,
        }
    }

    /// The flags given to `version` that it does nothing with (it takes
    /// `-o`), as typed.
    fn version_flags(&self) -> Vec<&'static str> {
        let g = &self.global;
        let mut given: Vec<&'static str> = [
            ("-n/--namespace", g.namespace.is_some()),
            ("-f/--filename", !g.filenames.is_empty()),
            ("-R/--recursive", g.recursive),
            ("-l/--selector", g.selector.is_some()),
            ("-A/--all-namespaces", g.all_namespaces),
            ("--no-headers", g.no_headers),
            ("--color", g.color != ColorChoice::Auto),
            ("-v/--v", g.verbosity > 0),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect();
        given.extend(self.connection_flags_given());
        given
    }
}

/// The error for a `-l/--selector` value that does not parse (`e`: the
/// parser's reason): the reason, then the correction of a common slip when
/// one parses (`app in web`: did you mean "app in (web)"), else kubectl's
/// syntax by example.
pub fn selector_error(text: &str, e: &str) -> String {
    match crate::wizard::hint::suggest(text) {
        Some((why, fixed)) => {
            format!("-l/--selector {text:?}: {e}: {why}; did you mean -l {fixed:?}?")
        }
        None => format!(
            "-l/--selector {text:?}: {e}; write it as kubectl does, e.g. {SELECTOR_EXAMPLE}"
        ),
    }
}

/// Why parsing ended without a command to run.
#[derive(Debug)]
pub enum Stop {
    /// `--help`, `-h`, `--version`: clap prints them (stdout, exit 0).
    Clap(clap::Error),
    /// No subcommand (`kubectl netpol`, `kubectl netpol help`): the
    /// help, on stdout, exit 0, as kubectl does.
    Help(String),
    /// A usage error, as one line without its `error: ` (exit 2).
    Usage(String),
}

/// Parses `argv` (`argv[0]` is the program) with [`command`]:
/// `help [COMMAND]` is `[COMMAND] --help`, as `kubectl help get`.
pub fn parse(argv: &[String]) -> Result<Cli, Stop> {
    let cmd = command();
    let words = argv.get(1..).unwrap_or_default();
    let scanned = scan(&cmd, words);
    let mut argv = argv.to_vec();
    if let Some(i) = scanned.first
        && words[i] == "help"
    {
        let topic: Vec<String> = words[i + 1..]
            .iter()
            .filter(|w| !w.starts_with('-'))
            .take(1)
            .cloned()
            .collect();
        argv.truncate(1);
        argv.extend(topic);
        argv.push("--help".into());
    }
    let scanned = scan(&cmd, argv.get(1..).unwrap_or_default());
    let matches = match cmd.clone().try_get_matches_from(&argv) {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind;
            return Err(match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Stop::Clap(e),
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                | ErrorKind::MissingSubcommand
                    if scanned.sub.is_none() =>
                {
                    Stop::Help(cmd.clone().render_help().to_string())
                }
                _ => Stop::Usage(error_line(&e, &cmd, &scanned)),
            });
        }
    };
    <Cli as clap::FromArgMatches>::from_arg_matches(&matches)
        .map_err(|e| Stop::Usage(error_line(&e, &cmd, &scanned)))
}

/// A clap error as one line (without `error: `): clap's message, its
/// suggestions and possible values, and where to read more, e.g.
/// `unexpected argument '--selectr' found; did you mean '--selector'?
/// (see kubectl netpol list --help)`.
pub fn error_line(e: &clap::Error, cmd: &clap::Command, scanned: &Scan) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let text = e.render().to_string();
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let message = first.strip_prefix("error: ").unwrap_or(first).trim();
    let message = if message.is_empty() {
        "invalid command line"
    } else {
        message
    };
    let mut extra: Vec<String> = Vec::new();
    // `... were not provided:` and the list on the lines below it.
    let mut listed: Vec<String> = Vec::new();
    for line in lines {
        let t = line.trim();
        if t.starts_with("Usage:") || t.starts_with("For more information") {
            break;
        }
        if t.is_empty() {
            continue;
        }
        if let Some(tip) = t.strip_prefix("tip: ") {
            extra.push(tip_text(tip));
        } else if let Some(inner) = t.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            extra.push(inner.to_string());
        } else if message.ends_with(':') {
            listed.push(t.to_string());
        } else {
            extra.push(t.to_string());
        }
    }
    let sub = scanned.sub.as_deref().and_then(|s| cmd.find_subcommand(s));
    let invalid = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.as_str(),
        _ => "",
    };
    // `--o json`: clap suggests a long flag by spelling (`--token`); the
    // one meant is the short flag written with two dashes.
    if e.kind() == ErrorKind::UnknownArgument
        && let Some(rest) = invalid.strip_prefix("--")
        && rest
            .split('=')
            .next()
            .is_some_and(|n| n.chars().count() == 1)
    {
        extra.retain(|x| !x.starts_with("did you mean"));
        let c = rest.chars().next().unwrap_or_default();
        if let Some(arg) = sub
            .into_iter()
            .flat_map(|s| s.get_arguments())
            .chain(cmd.get_arguments())
            .find(|a| a.get_short() == Some(c))
        {
            extra.insert(
                0,
                match arg.get_long() {
                    Some(long) => format!("did you mean '-{c}/--{long}'?"),
                    None => format!("did you mean '-{c}'?"),
                },
            );
        }
    }
    // `-o`'s values: the formats of this subcommand.
    if e.kind() == ErrorKind::InvalidValue
        && invalid.starts_with("--output")
        && let Some(s) = &scanned.sub
    {
        let formats: Vec<&str> = formats_of(s).iter().map(|f| f.as_str()).collect();
        extra.retain(|x| !x.starts_with("possible values"));
        extra.push(format!("possible values: {}", formats.join(", ")));
    }
    let help = match (&scanned.sub, e.kind()) {
        (Some(s), k) if k != ErrorKind::InvalidSubcommand => format!("kubectl netpol {s} --help"),
        _ => "kubectl netpol --help".to_string(),
    };
    let mut line = message.to_string();
    if !listed.is_empty() {
        line.push(' ');
        line.push_str(&listed.join(", "));
    }
    for x in extra {
        line.push_str("; ");
        line.push_str(&x);
    }
    format!("{line} (see {help})")
}

/// clap's `tip:` lines as a question.
fn tip_text(tip: &str) -> String {
    for prefix in [
        "a similar argument exists: ",
        "a similar subcommand exists: ",
        "a similar value exists: ",
    ] {
        if let Some(name) = tip.strip_prefix(prefix) {
            return format!("did you mean {name}?");
        }
    }
    for prefix in [
        "some similar arguments exist: ",
        "some similar subcommands exist: ",
        "some similar values exist: ",
    ] {
        if let Some(names) = tip.strip_prefix(prefix) {
            return format!("did you mean one of {names}?");
        }
    }
    tip.to_string()
}

/// The words of a command line (after `kubectl netpol`) as the parser
/// reads them: flags, their values, positional words.
#[derive(Debug, Default, Clone)]
pub struct Scan {
    /// The subcommand, when a known one was typed.
    pub sub: Option<String>,
    /// The index of the first positional word (the subcommand, or what
    /// stands where it should).
    pub first: Option<usize>,
    /// The positional words after the subcommand.
    pub positionals: Vec<String>,
    /// The index of the last word when it is a flag still waiting for its
    /// value (`-n` at the end).
    pub pending: Option<usize>,
}

/// The flag `word` names (`--long`, `--long=value`, `-s`, `-svalue`), in
/// the subcommand `sub` or among the global flags.
pub fn find_flag<'c>(
    cmd: &'c clap::Command,
    sub: Option<&'c clap::Command>,
    word: &str,
) -> Option<&'c clap::Arg> {
    let mut args = sub
        .into_iter()
        .flat_map(|s| s.get_arguments())
        .chain(cmd.get_arguments());
    if let Some(long) = word.strip_prefix("--") {
        let long = long.split('=').next().unwrap_or_default();
        args.find(|a| a.get_long() == Some(long))
    } else {
        let c = word.strip_prefix('-')?.chars().next()?;
        args.find(|a| a.get_short() == Some(c))
    }
}

/// Whether the flag word `word` (of `arg`) takes the next word as its
/// value: `-n NS`, `--namespace NS`, not `--namespace=NS`, `-nNS` or a
/// boolean.
pub fn takes_next(arg: &clap::Arg, word: &str) -> bool {
    let valued = matches!(
        arg.get_action(),
        clap::ArgAction::Set | clap::ArgAction::Append
    ) && !arg.is_require_equals_set();
    valued
        && if word.starts_with("--") {
            !word.contains('=')
        } else {
            word.chars().count() == 2
        }
}

/// Reads `words` as the parser would, without parsing values.
pub fn scan(cmd: &clap::Command, words: &[String]) -> Scan {
    let mut out = Scan::default();
    let mut sub: Option<&clap::Command> = None;
    let mut i = 0;
    let mut flags_done = false;
    while i < words.len() {
        let w = words[i].as_str();
        if !flags_done && w == "--" {
            flags_done = true;
        } else if !flags_done && w.starts_with('-') && w != "-" {
            if let Some(arg) = find_flag(cmd, sub, w)
                && takes_next(arg, w)
            {
                if i + 1 == words.len() {
                    out.pending = Some(i);
                }
                i += 1;
            }
        } else if out.first.is_none() {
            out.first = Some(i);
            sub = cmd.find_subcommand(w);
            out.sub = sub.map(|s| s.get_name().to_string());
        } else {
            out.positionals.push(w.to_string());
        }
        i += 1;
    }
    out
}
