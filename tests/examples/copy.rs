//! Copies an image between any two transports (`docker://`, `oci:`,
//! `oci-archive:`, `docker-archive:`, `dir:`), blobs streamed and verified.
//!
//! ```sh
//! cargo run --example copy -- docker://localhost:5000/app:1.0 oci:/tmp/app:1.0
//! cargo run --example copy           # a demo image, copied between temporary layouts
//! ```

#[path = "demo_image.rs"]
mod demo_image;

use stevedore::{CopyOptions, InspectOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let mut args = std::env::args().skip(1);
    let (src, dst) = match (args.next(), args.next()) {
        (Some(src), Some(dst)) => (src, dst),
        _ => (
            demo_image::build(&tmp.path().join("a"), "1.0", "hello\n")?,
            format!("oci:{}:1.0", tmp.path().join("b").display()),
        ),
    };
    let dst = stevedore::parse_image(&dst)?;
    let report = stevedore::copy(
        &stevedore::parse_image(&src)?,
        &dst,
        &CopyOptions::default(),
    )?;
    let copied = stevedore::inspect(&dst, &InspectOptions::default())?;
    assert_eq!(report.digest, copied.digest);
    println!("copied {src} -> {}", report.digest);
    Ok(())
}
