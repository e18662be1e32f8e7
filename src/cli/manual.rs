//! `roster completions SHELL` and `roster man`: shell completion scripts and man pages,
//! generated from the command tree itself, so they never drift from `--help`.

use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory as _;

use super::*;

/// Prints the completion script for `shell` on stdout.
pub(super) fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "roster", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

/// Prints `roster(1)` on stdout, or writes it and a page per subcommand into `out`.
pub(super) fn man(out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let cmd = Cli::command();
    match out {
        None => {
            clap_mangen::Man::new(cmd)
                .render(&mut std::io::stdout())
                .context("writing the man page")?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("writing man pages into {}", dir.display()))?;
            println!(
                "wrote man pages into {} (man -l {}/roster.1)",
                dir.display(),
                dir.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
