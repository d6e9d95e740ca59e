//! Describes an image (digest, media type, platform, layers) and lists its
//! repository's tags.
//!
//! ```sh
//! cargo run --example inspect -- docker://localhost:5000/app:1.0
//! cargo run --example inspect        # a demo image in a temporary layout
//! ```

#[path = "demo_image.rs"]
mod demo_image;

use stevedore::InspectOptions;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let name = match std::env::args().nth(1) {
        Some(name) => name,
        None => demo_image::build(tmp.path(), "1.0", "hello\n")?,
    };
    let image = stevedore::parse_image(&name)?;
    let report = stevedore::inspect(&image, &InspectOptions::default())?;
    println!(
        "{} {} {}",
        report.digest,
        report.media_type,
        report.layers.len()
    );
    println!("tags: {:?}", stevedore::tags(&image)?);
    Ok(())
}
