//! The `kubectl-netpol` binary: parse the command line, run the command,
//! print, and map the result to an exit code.

use std::io::Write;
use std::process::ExitCode;

use netpol::cli::{ColorChoice, Command, Stop};
use netpol::cmd::{self, Context};
use netpol::error::exit;
use netpol::render::{Palette, QUOTED_MAX, cap_quoted, clean};

fn main() -> ExitCode {
    // Completion takes the raw words: kubectl's flags among them must not be
    // parsed as ours. It never fails loudly nor waits long.
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("__complete") {
        print!("{}", cmd::complete::complete(&argv[2..]));
        return ExitCode::SUCCESS;
    }
    let mut cli = match netpol::cli::parse(&argv) {
        Ok(cli) => cli,
        // --help and --version: stdout, exit 0.
        Err(Stop::Clap(e)) => {
            let _ = e.print();
            return ExitCode::from(exit::OK as u8);
        }
        Err(Stop::Help(text)) => {
            let _ = write!(std::io::stdout(), "{text}");
            return ExitCode::from(exit::OK as u8);
        }
        Err(Stop::Usage(line)) => {
            say_error(colour_for_errors(&argv, None), &clean(&line));
            return ExitCode::from(exit::USAGE as u8);
        }
    };
    cli.normalize();
    // Flags that mean nothing for this command: one line, as clap's errors.
    let colour = colour_for_errors(&argv, Some(cli.global.color));
    if let Err(message) = cli.check_flags() {
        say_error(colour, &clean(&message));
        return ExitCode::from(exit::USAGE as u8);
    }
    let error_code = match cli.command {
        Command::Can(_) => exit::CAN_ERROR,
        Command::Diff(_) => exit::DIFF_ERROR,
        _ => exit::ERROR,
    };
    netpol::source::live::set_verbosity(cli.global.verbosity);
    let ctx = match Context::new(cli.global.clone(), Palette::from_choice(cli.global.color)) {
        Ok(ctx) => ctx,
        Err(e) => {
            say_error(
                colour,
                &clean_multiline(&e.to_string(), cli.global.verbosity),
            );
            return ExitCode::from(e.exit_code(error_code) as u8);
        }
    };
    let verbosity = cli.global.verbosity;
    let mut out = Streams {
        ctx: &ctx,
        verbosity,
        said: false,
        stdout: std::io::BufWriter::new(std::io::stdout().lock()),
    };
    let result = match &cli.command {
        Command::Explain(a) => cmd::explain::run(&ctx, a),
        Command::List(a) => cmd::list::run(&ctx, a),
        Command::Can(a) => cmd::can::run(&ctx, a),
        Command::Matrix(a) => cmd::matrix::run(&ctx, a, &mut out),
        Command::Diff(a) => cmd::diff::run(&ctx, a, &mut out),
        Command::Check(a) => cmd::check::run(&ctx, a),
        Command::Lint(a) => cmd::lint::run(&ctx, a),
        Command::Generate(a) => cmd::generate::run(&ctx, a),
        Command::Sync(a) => cmd::sync::run(&ctx, a),
        Command::Graph(a) => cmd::graph::run(&ctx, a),
        Command::Wizard(a) => cmd::wizard::run(&ctx, a),
        Command::Version(_) => cmd::version::run(&ctx),
        // Handled before parsing, above.
        Command::Complete(_) => Ok(cmd::Outcome::ok(String::new())),
        Command::Coverage(a) => cmd::coverage::run(&ctx, a),
    };
    if !out.said {
        out.preamble();
    }
    let mut stdout = out.stdout;
    match result {
        Ok(outcome) => {
            let mut stderr = std::io::stderr().lock();
            for w in &outcome.warnings {
                let _ = writeln!(stderr, "{}", one_line(w, verbosity));
            }
            // A closed pipe (`| head`) is not an error.
            match stdout
                .write_all(outcome.stdout.as_bytes())
                .and_then(|_| stdout.flush())
            {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
                Err(e) => {
                    let _ = writeln!(stderr, "error: writing output: {e}");
                    return ExitCode::from(error_code as u8);
                }
            }
            ExitCode::from(outcome.code as u8)
        }
        Err(netpol::error::Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            // What was written before the error, then the error.
            let _ = stdout.flush();
            say_error(colour, &clean_multiline(&e.to_string(), verbosity));
            ExitCode::from(e.exit_code(error_code) as u8)
        }
    }
}

/// Says `error: MESSAGE` on stderr, `error:` in bold red when `colour`.
fn say_error(colour: bool, message: &str) {
    let label = if colour {
        "\x1b[1;31merror:\x1b[0m"
    } else {
        "error:"
    };
    let _ = writeln!(std::io::stderr(), "{label} {message}");
}

/// Whether `error:` is coloured: only when stderr is a terminal, and
/// then unless `--color never`, or `auto` (the default) with `NO_COLOR`
/// set to a non-empty value.
/// `choice` is the parsed `--color`; before parsing (a usage error) the
/// last `--color` of `argv` that names a choice.
fn colour_for_errors(argv: &[String], choice: Option<ColorChoice>) -> bool {
    use std::io::IsTerminal;
    let choice = choice.unwrap_or_else(|| {
        let mut choice = ColorChoice::Auto;
        for (i, w) in argv.iter().enumerate() {
            let value = match w.strip_prefix("--color") {
                Some("") => argv.get(i + 1).map(String::as_str),
                Some(v) => v.strip_prefix('='),
                None => None,
            };
            match value {
                Some("always") => choice = ColorChoice::Always,
                Some("never") => choice = ColorChoice::Never,
                Some("auto") => choice = ColorChoice::Auto,
                _ => {}
            }
        }
        choice
    });
    std::io::stderr().is_terminal()
        && match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
}

/// Standard output (buffered) and what goes to stderr before it: a
/// command that writes its answer as it makes it calls
/// [`cmd::Output::warnings`] first; for the others, `main` says the same
/// once the command returns.
struct Streams<'a> {
    ctx: &'a Context,
    verbosity: u8,
    /// Whether the preamble was said.
    said: bool,
    stdout: std::io::BufWriter<std::io::StdoutLock<'static>>,
}

impl Streams<'_> {
    /// The request count (`-v=6`) and the input's warnings.
    fn preamble(&mut self) {
        self.said = true;
        if self.verbosity >= 6 {
            netpol::say_err!(
                "I: {} requests to the API server",
                netpol::source::live::requests()
            );
        }
        // Objects the manifests hold but the API server would reject: said
        // whatever the command's outcome.
        for w in self.ctx.input_warnings() {
            let _ = writeln!(std::io::stderr(), "{}", one_line(&w, self.verbosity));
        }
    }
}

impl cmd::Output for Streams<'_> {
    fn warnings(&mut self, warnings: &[String]) {
        if !self.said {
            self.preamble();
        }
        let mut stderr = std::io::stderr().lock();
        for w in warnings {
            let _ = writeln!(stderr, "{}", one_line(w, self.verbosity));
        }
    }

    fn stdout(&mut self) -> &mut dyn Write {
        &mut self.stdout
    }
}

/// The most characters a warning line shows below `-v` 1.
const WARNING_MAX: usize = 1000;

/// A warning as one line: line breaks (from object names in manifests)
/// shown as `?` like other control characters, so that no line of stderr
/// can be forged; below `-v` 1, quoted values and the line itself are
/// shortened with `...`.
fn one_line(s: &str, verbosity: u8) -> String {
    let line = clean_multiline(&s.replace(['\n', '\r'], "?"), verbosity);
    if verbosity == 0 && line.chars().count() > WARNING_MAX {
        let cut: String = line.chars().take(WARNING_MAX).collect();
        format!("{cut}... (-v=1 shows it whole)")
    } else {
        line
    }
}

/// Sanitises each line of a message, keeping its line breaks; below `-v`
/// 1, quoted values longer than [`QUOTED_MAX`] are shortened with `...`,
/// so that one error stays one readable line.
fn clean_multiline(s: &str, verbosity: u8) -> String {
    s.lines()
        .map(|line| {
            let line = clean(line);
            if verbosity == 0 {
                cap_quoted(&line, QUOTED_MAX)
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
