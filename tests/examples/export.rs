//! Writes an image's merged root file system as one tar archive.
//!
//! ```sh
//! cargo run --example export -- docker://localhost:5000/app:1.0 rootfs.tar
//! cargo run --example export         # a demo image, to a temporary file
//! ```

#[path = "demo_image.rs"]
mod demo_image;

use std::path::PathBuf;

use stevedore::FilesOptions;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let mut args = std::env::args().skip(1);
    let (name, out) = match (args.next(), args.next()) {
        (Some(name), Some(out)) => (name, PathBuf::from(out)),
        _ => (
            demo_image::build(tmp.path(), "1.0", "hello\n")?,
            tmp.path().join("rootfs.tar"),
        ),
    };
    let mut file = std::fs::File::create(&out)?;
    stevedore::export(
        &stevedore::parse_image(&name)?,
        &mut file,
        &FilesOptions::default(),
    )?;
    println!(
        "{} bytes in {}",
        std::fs::metadata(&out)?.len(),
        out.display()
    );
    Ok(())
}
