//! The command line as a user meets it: help on every flag, argument and subcommand,
//! documented exit codes, and the JSON envelope for every error under `--json`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use clap::CommandFactory as _;

/// Every subcommand, flag and argument, with its path (`roster user delete --yes`), that
/// has no help text.
fn missing_help(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if arg.is_hide_set() || id == "help" || id == "version" {
            continue;
        }
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        if help.trim().is_empty() {
            out.push(format!("{path} {id}"));
        }
    }
    for sub in cmd.get_subcommands() {
        let sub_path = format!("{path} {}", sub.get_name());
        if sub.get_name() != "help" && sub.get_about().is_none_or(|a| a.to_string().is_empty()) {
            out.push(format!("{sub_path} (subcommand)"));
        }
        missing_help(sub, &sub_path, out);
    }
}

#[test]
fn every_subcommand_flag_and_argument_has_help() {
    let cmd = roster::cli::Cli::command();
    let mut missing = Vec::new();
    missing_help(&cmd, "roster", &mut missing);
    assert!(
        missing.is_empty(),
        "{} without help:\n  {}",
        missing.len(),
        missing.join("\n  ")
    );
}
