//! What changed from one image to another: files added, removed, changed.
//!
//! ```sh
//! cargo run --example diff -- docker://localhost:5000/app:1.0 docker://localhost:5000/app:1.1
//! cargo run --example diff           # two demo images in a temporary layout
//! ```

#[path = "demo_image.rs"]
mod demo_image;

use stevedore::FilesOptions;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let mut args = std::env::args().skip(1);
    let (a, b) = match (args.next(), args.next()) {
        (Some(a), Some(b)) => (a, b),
        _ => (
            demo_image::build(tmp.path(), "a", "hello\n")?,
            demo_image::build(tmp.path(), "b", "goodbye\n")?,
        ),
    };
    let report = stevedore::diff(
        &stevedore::parse_image(&a)?,
        &stevedore::parse_image(&b)?,
        &FilesOptions::default(),
    )?;
    for change in &report.changed {
        println!("changed {}", change.path);
    }
    println!(
        "{} added, {} removed, {} changed",
        report.added.len(),
        report.removed.len(),
        report.changed.len()
    );
    Ok(())
}
