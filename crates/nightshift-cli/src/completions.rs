//! `nightshift completions SHELL`: the completion script clap_complete
//! generates from the same command definition `--help` shows.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

#[derive(Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell
    shell: Shell,
}

pub fn print<C: CommandFactory>(args: CompletionsArgs) {
    let mut cmd = C::command();
    let name = cmd.get_name().to_owned();
    clap_complete::generate(args.shell, &mut cmd, name, &mut std::io::stdout());
}
