//! `liaison completions SHELL` and `liaison man`: the shell completions and the man page, made
//! from the same clap definitions as `--help`, so they never drift from the binary. The Debian
//! package ships both (packaging/build-deb.sh).

use clap::{Args, CommandFactory};

/// Arguments of `liaison completions`.
#[derive(Args, Debug)]
pub struct CompletionArgs {
    /// The shell to write completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Writes the completion script for `a.shell` to standard output.
pub fn completions(a: &CompletionArgs) -> anyhow::Result<()> {
    let mut cmd = super::Cli::command();
    clap_complete::generate(a.shell, &mut cmd, "liaison", &mut std::io::stdout());
    Ok(())
}

/// Writes the man page `liaison(1)` (roff) to standard output: every command with its options,
/// as sections of one page.
pub fn man() -> anyhow::Result<()> {
    let cmd = super::Cli::command();
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
    // One page for the whole tool: each subcommand's synopsis and options follow the main page,
    // so `man liaison` answers what `liaison CMD --help` would.
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        render_sub(&mut out, sub, "liaison")?;
    }
    Ok(())
}

fn render_sub(out: &mut impl std::io::Write, sub: &clap::Command, prefix: &str) -> anyhow::Result<()> {
    let name = format!("{prefix} {}", sub.get_name());
    let page = clap_mangen::Man::new(sub.clone().bin_name(name.clone()));
    writeln!(out, ".SH \"{}\"", name.to_uppercase())?;
    if let Some(about) = sub.get_long_about().or(sub.get_about()) {
        writeln!(out, "{}", roff_escape(&about.to_string()))?;
    }
    page.render_synopsis_section(out)?;
    page.render_options_section(out)?;
    for s in sub.get_subcommands().filter(|s| !s.is_hide_set()) {
        render_sub(out, s, &name)?;
    }
    Ok(())
}

fn roff_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .lines()
        .map(|l| if l.starts_with('.') { format!("\\&{l}") } else { l.into() })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_man_page_names_every_command() {
        let cmd = crate::cli::Cli::command();
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd.clone()).render(&mut buf).unwrap();
        for sub in cmd.get_subcommands() {
            render_sub(&mut buf, sub, "liaison").unwrap();
        }
        let text = String::from_utf8(buf).unwrap();
        for needle in ["LIAISON SERVE", "LIAISON PEER ADD", "LIAISON CONFIG CHECK", "\\-\\-data\\-dir"] {
            assert!(text.contains(needle), "{needle} missing from the man page");
        }
    }
}
