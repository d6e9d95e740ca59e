//! Man pages generated from the command table (clap_mangen): `stevedore.1`
//! and one `stevedore-VERB.1` a verb, so they never drift from `--help`.

use std::path::Path;

use stevedore::Error;

/// Writes the pages into `dir` (created when missing).
pub fn write_all(command: clap::Command, dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    write_page(&command, "stevedore", &dir.join("stevedore.1"))?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("stevedore-{}", sub.get_name());
        write_page(sub, &name, &dir.join(format!("{name}.1")))?;
    }
    Ok(())
}

fn write_page(command: &clap::Command, title: &str, path: &Path) -> Result<(), Error> {
    let mut bytes = Vec::new();
    clap_mangen::Man::new(command.clone())
        .title(title.to_owned())
        .render(&mut bytes)
        .map_err(|e| Error::io(format!("rendering {}", path.display()), e))?;
    std::fs::write(path, bytes).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}
