//! `roster completions SHELL` and `roster man`: shell completion scripts and man pages,
//! generated from the command tree itself, so they never drift from `--help`.

use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory as _;

use super::*;

/// Prints the completion script for `shell` on stdout.
pub(super) fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut cmd = Cli::command();
    // Generated into memory first: clap_complete panics when its writer fails, and a
    // reader that stops early (`| head`) closes the pipe.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "roster", &mut script);
    to_stdout(&script, "writing the completion script")
}

/// Writes `bytes` to stdout; a reader that closed the pipe early is not an error.
fn to_stdout(bytes: &[u8], what: &str) -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context(what.to_owned()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Prints `roster(1)` on stdout, or writes it and a page per subcommand into `out`.
pub(super) fn man(out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let cmd = Cli::command();
    match out {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut page)
                .context("rendering the man page")?;
            return to_stdout(&page, "writing the man page");
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
