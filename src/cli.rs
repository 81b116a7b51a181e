//! Command-line definitions: kubectl's global flags, accepted anywhere
//! after `netpol`, and one struct per subcommand.

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
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
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
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
    #[arg(
        short = 'A',
        long,
        global = true,
        num_args = 0..=1,
        require_equals = true,
        default_value = "false",
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
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

    /// Output format. Which formats a command takes: see its --help.
    #[arg(short = 'o', long, global = true, value_enum, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,

    /// When using the default output format, don't print headers (default
    /// print headers). Tables only: list, coverage, matrix, lint
    /// --list-checks.
    #[arg(
        long,
        global = true,
        num_args = 0..=1,
        require_equals = true,
        default_value = "false",
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
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

/// kubectl's connection flags, with kubectl's names and meanings.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Cluster connection (as kubectl)")]
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

    /// The length of time to wait before giving up on a request (1s, 2m, 3h;
    /// 0 waits forever).
    #[arg(long, global = true, value_name = "DURATION", default_value = "0")]
    pub request_timeout: String,

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
    #[arg(
        long,
        global = true,
        num_args = 0..=1,
        require_equals = true,
        default_value = "false",
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
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
isolates it, and only ipBlocks match it.

Examples:
  kubectl netpol explain pod/cache-0 -n backend -f examples/shop
  kubectl netpol explain deployment/api -n backend -f examples/shop -o json
  kubectl netpol explain svc/api -n backend")]
    Explain(ExplainArgs),

    /// Every policy with the pods it selects and a one-line summary.
    #[command(after_help = "\
Examples:
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
pod is its node's address: only ipBlocks match it. A word that is both a
namespace and a kind (jobs/worker) must name one thing that exists.

Exit status: 0 allowed (for a Service: every backing pod on every Service
port asked about), 1 denied (or only partly allowed), 2 error or a question
NetworkPolicy does not answer (like `kubectl auth can-i`), 4 UNKNOWN: the
answer depends on what could not be read (a namespace's labels RBAC hid,
a pod's unknown IP facing an ipBlock).

Examples:
  kubectl netpol can frontend/web backend/api --port 8080 -f examples/shop
  kubectl netpol can backend/api 10.20.0.5 --port 443 -f examples/shop
  kubectl netpol can monitoring/prometheus backend/cache-0 -f examples/shop
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
  kubectl get pods,daemonsets -n kube-system -o yaml | kubectl netpol check -f -")]
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
  kubectl netpol wizard
  kubectl netpol wizard -n backend --select app=api --allow-from frontend/web --port 8080
  kubectl netpol wizard -n backend --select app=api --deny-all-egress --allow-dns --allow-to backend/postgres:5432 --apply --yes
  kubectl netpol wizard --from backend/allow-web-to-api --allow-from monitoring/prometheus:metrics --dry-run=server
  kubectl netpol wizard -n shop --all-pods --deny-all-ingress --name default-deny --dry-run=server")]
    Wizard(WizardCommand),

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
  kubectl netpol lint -f examples/shop --disable redundant-rule --fail-on warning")]
    Lint(LintArgs),

    /// What is left unprotected: pods no policy isolates, default denies, and which policies select each pod.
    #[command(after_help = "\
Examples:
  kubectl netpol coverage -A
  kubectl netpol coverage -n backend -o wide
  kubectl netpol coverage -f examples/shop -o json")]
    Coverage(CoverageArgs),

    /// What a change to the policies does to connectivity: connections opened, closed, changed.
    #[command(after_help = "\
With -f NEW, the live cluster today against the live cluster with NEW
applied as `kubectl apply -f NEW` would apply it: NetworkPolicies replace
the same-named ones or are added; Namespaces, Pods and workloads are added
or replace the live ones (a new Deployment appears as one pod). With
--prune -l SELECTOR, live policies matching SELECTOR in the namespaces NEW
touches, applied by kubectl apply and absent from NEW, are deleted too.
With two paths OLD NEW, both are manifests and no cluster is contacted
(process substitution works: <(git show main:netpol.yaml)).

Each change names the policies and rules responsible on each side. Pods of
one workload that change alike are shown once (-o wide lists every pod);
addresses outside the cluster are shown as CIDR ranges. -o json:
{changes, external, notes} (see the README).

Exit status (as kubectl diff): 0 no change in connectivity, 1 changes,
2 or more an error (or pairs that could not be compared: invalid
policies, objects RBAC does not let us read).

Examples:
  # What would applying this directory open or close in the cluster?
  kubectl netpol diff -f policies/ -R

  # The same, also deleting live policies labelled app=shop that are gone
  kubectl netpol diff -f policies/ --prune -l app=shop

  # Two versions of the manifests, offline (CI, a pull request)
  kubectl netpol diff old/ new/ -R
  kubectl netpol diff <(git show main:policies.yaml) policies.yaml -o json")]
    Diff(DiffArgs),

    /// Who can reach whom: every pair of pods in scope and the allowed ports.
    #[command(after_help = "\
Examples:
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

    /// With -f: also delete the live NetworkPolicies that match -l, that
    /// kubectl apply created, in the namespaces NEW touches, and that NEW
    /// lacks (as kubectl apply --prune -l).
    #[arg(long)]
    pub prune: bool,
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
        }
    }

    /// The `-o` formats the command prints (`text` is the default).
    pub fn formats(&self) -> &'static [OutputFormat] {
        formats_of(self.name())
    }

    /// Why `-A` means nothing for this command; `None` when it takes it.
    fn without_all_namespaces(&self) -> Option<&'static str> {
        match self {
            Command::List(_) | Command::Matrix(_) | Command::Lint(_) | Command::Coverage(_) => None,
            Command::Explain(_) => {
                Some("it explains pods of one namespace (use -n, or NAMESPACE/NAME)")
            }
            Command::Can(_) => Some("it asks about two endpoints (name them NAMESPACE/NAME)"),
            Command::Check(_) => Some("it always reads what it needs across the cluster"),
            Command::Wizard(_) => Some("a policy lives in one namespace (use -n)"),
            Command::Diff(_) => Some("it compares every namespace it can read"),
            Command::Version(_) | Command::Complete(_) => Some("it reads no cluster"),
        }
    }

    /// Why `-l` means nothing for this command; `None` when it takes it.
    fn without_selector(&self) -> Option<&'static str> {
        match self {
            // diff: the live policies --prune deletes.
            Command::List(_)
            | Command::Explain(_)
            | Command::Matrix(_)
            | Command::Coverage(_)
            | Command::Diff(_) => None,
            Command::Can(_) => Some("it asks about two endpoints (name them)"),
            Command::Wizard(_) => Some("the pods a policy protects are --select LABELS"),
            Command::Lint(_) => Some("it checks every policy in scope (use -n, or -f)"),
            Command::Check(_) => Some("it reads the cluster's CNI, not chosen objects"),
            Command::Version(_) | Command::Complete(_) => Some("it reads no cluster"),
        }
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

/// The `-o` formats of the subcommand named `name` (`text` is the
/// default); for shell completion too.
pub fn formats_of(name: &str) -> &'static [OutputFormat] {
    use OutputFormat::*;
    match name {
        "list" => &[Text, Wide, Json, Yaml, Name],
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
        if g.recursive && g.filenames.is_empty() {
            return Err(
                "-R/--recursive needs -f: it recurses into the directories given to -f".into(),
            );
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
