//! Builds an image from a directory: every file of `CONTEXT` in one layer,
//! written to `DST` (any transport: `oci:DIR:TAG`, `docker://...`).
//!
//! ```sh
//! cargo run --example build -- CONTEXT DST
//! cargo run --example build          # a demo image in a temporary layout
//! ```

use std::path::PathBuf;

use stevedore::build::{BuildSpec, LayerSpec};
use stevedore::registry::{Client, ClientOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let mut args = std::env::args().skip(1);
    let (context, dst) = match (args.next(), args.next()) {
        (Some(context), Some(dst)) => (PathBuf::from(context), dst),
        _ => {
            std::fs::write(tmp.path().join("hello.txt"), "hello\n")?;
            let dst = format!("oci:{}:1.0", tmp.path().join("layout").display());
            (tmp.path().to_path_buf(), dst)
        }
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&context)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            let name = entry.file_name().to_string_lossy().into_owned();
            files.push(format!("{name}:/{name}"));
        }
    }
    let spec = BuildSpec {
        layers: vec![LayerSpec {
            files,
            ..LayerSpec::default()
        }],
        ..BuildSpec::default()
    };
    let client = Client::new(ClientOptions::default())?;
    let image = stevedore::build(&spec, &context, &client)?;
    let report = stevedore::write_image(&image, &stevedore::parse_image(&dst)?)?;
    println!("{dst} {}", report.digest);
    Ok(())
}
