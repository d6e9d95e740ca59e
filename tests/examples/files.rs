//! Lists an image's merged file tree and reads one file out of it, without
//! unpacking the image.
//!
//! ```sh
//! cargo run --example files -- docker://localhost:5000/app:1.0 /etc/os-release
//! cargo run --example files          # a demo image in a temporary layout
//! ```

#[path = "demo_image.rs"]
mod demo_image;

use std::io::Write;

use stevedore::FilesOptions;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let mut args = std::env::args().skip(1);
    let (name, path) = match (args.next(), args.next()) {
        (Some(name), path) => (name, path),
        (None, _) => (
            demo_image::build(tmp.path(), "1.0", "hello\n")?,
            Some("/hello.txt".into()),
        ),
    };
    let image = stevedore::parse_image(&name)?;
    let listing = stevedore::files(&image, &FilesOptions::default())?;
    for entry in &listing.entries {
        println!("{}", entry.path);
    }
    if let Some(path) = path {
        let bytes = stevedore::read_file(&image, &path, 1 << 20, &FilesOptions::default())?;
        std::io::stdout().write_all(&bytes)?;
    }
    Ok(())
}
