//! How a command ends: the exit codes (this table is the only mapping; `roster --help`
//! and the README show it), and every failure as one line on stderr, or under `--json`
//! as the envelope `{"error":{"code","message"}}` on stdout.

use std::process::ExitCode;
use std::time::Duration;

use async_nats::client::RequestErrorKind;
use async_nats::ConnectErrorKind;

use crate::client::ClientError;
use crate::config::ConfigError;

/// Success.
pub const EXIT_OK: u8 = 0;
/// The command could not do its job: a local problem (a file, the identity) or the bus
/// (no server, no worker, a timeout, a lost connection); `roster check` could not run.
pub const EXIT_ERROR: u8 = 1;
/// The command line is wrong: an unknown flag, a bad value, a missing `--yes`.
pub const EXIT_USAGE: u8 = 2;
/// The worker or the bus said no: a PROTOCOL refusal (`forbidden`, `invite_used`, …), a
/// publish the bus does not permit, an identity the bus does not admit.
pub const EXIT_REFUSED: u8 = 3;
/// `roster check` ran and found problems.
pub const EXIT_PROBLEMS: u8 = 4;

/// The exit codes, for `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit status:
  0  success
  1  could not do it: a local error or the bus (no server, no worker, a timeout);
     `roster check` could not run
  2  usage: an unknown flag, a bad value, a destructive command without --yes and no
     terminal to ask on
  3  refused by the worker or the bus (forbidden, invite_used, a permissions violation,
     an identity the bus does not admit)
  4  `roster check` found problems

Under --json every error is one JSON object on stdout:
  {\"error\":{\"code\":\"…\",\"message\":\"…\"}}";

/// Which exit code a failure gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Could not do it ([`EXIT_ERROR`]).
    Error,
    /// The command line is wrong ([`EXIT_USAGE`]).
    Usage,
    /// The worker or the bus said no ([`EXIT_REFUSED`]).
    Refused,
}

impl Class {
    /// The process exit code of this class.
    pub fn exit_code(self) -> u8 {
        match self {
            Class::Error => EXIT_ERROR,
            Class::Usage => EXIT_USAGE,
            Class::Refused => EXIT_REFUSED,
        }
    }
}

/// A failure as the user is told it: a class (the exit code), a code for scripts and a
/// line for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    /// Which exit code.
    pub class: Class,
    /// A stable code: a PROTOCOL code for the worker's refusals, else one of the CLI's
    /// (`usage`, `permission_violation`, `auth_violation`, `no_server`, `no_worker`, …).
    pub code: String,
    /// One line for people.
    pub message: String,
}

impl Failure {
    /// A failure of `class` with `code` and `message`.
    pub fn new(class: Class, code: &str, message: impl Into<String>) -> Self {
        Self {
            class,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Class::Usage, "usage", message)
    }

    /// Prints the failure (stderr, or the envelope on stdout under `--json`); its exit code.
    pub fn report(&self, json: bool) -> ExitCode {
        if json {
            println!(
                "{}",
                serde_json::json!({"error": {"code": self.code, "message": self.message}})
            );
        } else if self.class == Class::Refused
            && crate::wire::ErrorCode::from_wire(&self.code).is_some()
        {
            eprintln!("error: {}: {}", self.code, self.message);
        } else {
            eprintln!("error: {}", self.message);
        }
        ExitCode::from(self.class.exit_code())
    }
}

/// The failure an error amounts to: the first cause the table knows (prefixed by the
/// context around it), else a local error with the whole chain, each cause once.
pub fn classify(err: &anyhow::Error) -> Failure {
    let mut context: Vec<String> = Vec::new();
    for cause in err.chain() {
        let known = if let Some(f) = cause.downcast_ref::<Failure>() {
            Some(f.clone())
        } else if let Some(c) = cause.downcast_ref::<ClientError>() {
            Some(from_client(c))
        } else if let Some(c) = cause.downcast_ref::<ConfigError>() {
            from_config(c, None)
        } else {
            None
        };
        if let Some(mut f) = known {
            if !context.is_empty() {
                f.message = format!("{}: {}", context.join(": "), f.message);
            }
            return f;
        }
        context.push(cause.to_string());
    }
    Failure::new(
        Class::Error,
        "error",
        crate::store::error_chain(err.as_ref()),
    )
}

/// A request's failure.
pub fn from_client(e: &ClientError) -> Failure {
    match e {
        ClientError::Api(api) => Failure::new(Class::Refused, api.code.as_str(), &api.message),
        ClientError::PublishDenied { subject } => Failure::new(
            Class::Refused,
            "permission_violation",
            format!(
                "you may not publish to {subject}: the bus refused it (Permissions Violation); {}",
                why_denied(subject)
            ),
        ),
        ClientError::ShutOut { subject } => Failure::new(
            Class::Refused,
            "connection_closed",
            format!(
                "the bus closed this connection while waiting for the reply to {subject} and \
                 now refuses this identity (authorization violation): it was revoked, or is \
                 no longer admitted"
            ),
        ),
        ClientError::Nats(f) => match f.kind {
            RequestErrorKind::NoResponders => Failure::new(
                Class::Error,
                "no_worker",
                format!(
                    "no roster worker is serving {} (no responders): start one (`roster serve`, \
                     `roster dev`), or check --prefix",
                    f.subject
                ),
            ),
            RequestErrorKind::TimedOut => Failure::new(
                Class::Error,
                "timeout",
                format!(
                    "no reply to {} in time (--timeout): the worker may be overloaded, or the \
                     connection was lost",
                    f.subject
                ),
            ),
            _ => Failure::new(Class::Error, "nats", f.to_string()),
        },
        ClientError::Decode(m) => Failure::new(
            Class::Error,
            "bad_reply",
            format!("the worker's reply is not what the protocol promises: {m}"),
        ),
    }
}

/// Why the bus may have refused a publish to `subject`, for people.
fn why_denied(subject: &str) -> &'static str {
    if subject.contains(".admin.") {
        "admin commands need the owner, admin or operator role, and this identity's bus \
         permissions (a member's, or a key not registered yet) do not include them"
    } else {
        "this identity's bus permissions do not include it (a key not registered yet may \
         only register and enroll; a new role takes effect on the next connection)"
    }
}

/// How a connection was made, for the causes of its refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connecting {
    /// As a roster identity (its key as the nkey, through the auth callout).
    AsIdentity,
    /// With configured credentials (or none): the worker, `check`, `bootstrap`.
    WithCredentials,
}

/// A failed connection, when `e` is one; `elapsed` is how long the refusal took.
pub fn from_config(e: &ConfigError, connecting: Option<(Connecting, Duration)>) -> Option<Failure> {
    let ConfigError::Connect { url, source } = e else {
        return None;
    };
    let detail = || {
        // The cause under async-nats's kind (an io error's text, say), once.
        let mut cur = std::error::Error::source(source);
        let mut last = None;
        while let Some(c) = cur {
            last = Some(c.to_string());
            cur = c.source();
        }
        last.unwrap_or_else(|| source.kind().to_string())
    };
    let f = match source.kind() {
        ConnectErrorKind::AuthorizationViolation => {
            let (how, elapsed) =
                connecting.unwrap_or((Connecting::WithCredentials, Duration::ZERO));
            let slow = if elapsed >= Duration::from_millis(1500) {
                format!(
                    " (the refusal took {:.1} s, the server's callout deadline: most likely no \
                     worker answered)",
                    elapsed.as_secs_f64()
                )
            } else {
                String::new()
            };
            let causes = match how {
                Connecting::AsIdentity => {
                    "it is revoked, unknown to this roster (and this bus has no onboarding \
                     lane), or no roster worker is answering the auth callout"
                }
                Connecting::WithCredentials => {
                    "check --nats-user and its password, --nats-creds or --nats-nkey-seed-file; \
                     with the auth callout on, only roster identities and the auth users get in"
                }
            };
            Failure::new(
                Class::Refused,
                "auth_violation",
                format!("the bus at {url} refused this connection (authorization violation): {causes}{slow}"),
            )
        }
        ConnectErrorKind::Io | ConnectErrorKind::TimedOut if refused_or_timed_out(source) => {
            Failure::new(
                Class::Error,
                "no_server",
                format!("no NATS server at {url} ({})", detail()),
            )
        }
        ConnectErrorKind::ServerParse => Failure::usage(format!(
            "--nats-url {url}: not a NATS server URL ({})",
            detail()
        )),
        ConnectErrorKind::Dns => Failure::new(
            Class::Error,
            "no_server",
            format!("cannot resolve the host of {url} ({})", detail()),
        ),
        ConnectErrorKind::Tls => Failure::new(
            Class::Error,
            "tls",
            format!("TLS with {url} failed: {}", detail()),
        ),
        _ => Failure::new(
            Class::Error,
            "connect",
            format!("cannot connect to {url}: {}", detail()),
        ),
    };
    Some(f)
}

/// Whether a connect error means nobody is there: refused, or no answer in time.
fn refused_or_timed_out(e: &async_nats::ConnectError) -> bool {
    if e.kind() == ConnectErrorKind::TimedOut {
        return true;
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cur {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::AddrNotAvailable
            );
        }
        cur = c.source();
    }
    false
}

/// A clap error: help and version go out as clap prints them (exit 0); the rest are
/// usage errors, as the envelope under `--json`.
pub fn report_clap(e: &clap::Error, json: bool) -> ExitCode {
    use clap::error::ErrorKind;
    let shown = matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion);
    if shown || !json {
        let _ = e.print();
        return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
    }
    // The message up to clap's usage block, on one line: "the following required
    // arguments were not provided: --tls-cert <FILE>".
    let text = e.render().to_string();
    let message: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .collect();
    let message = message.join(" ");
    let message = message.trim_start_matches("error: ").trim();
    let message = if message.is_empty() {
        "invalid command line"
    } else {
        message
    };
    Failure::usage(message).report(true)
}

#[cfg(test)]
#[path = "failure_test.rs"]
mod tests;
