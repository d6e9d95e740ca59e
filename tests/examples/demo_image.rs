//! The image the examples use when given no arguments: a one-layer image
//! holding `/hello.txt`, built into a temporary OCI layout, so every example
//! runs offline as it stands.

use std::path::Path;

use stevedore::build::{BuildSpec, LayerSpec};
use stevedore::registry::{Client, ClientOptions};

/// Builds a one-layer image holding `/hello.txt` = `text` into the OCI
/// layout `dir`, tagged `tag`, with [`stevedore::build`] and
/// [`stevedore::write_image`]; returns its name, `oci:DIR:TAG`.
pub fn build(dir: &Path, tag: &str, text: &str) -> Result<String, Box<dyn std::error::Error>> {
    let context = tempfile::tempdir()?;
    std::fs::write(context.path().join("hello.txt"), text)?;
    let spec = BuildSpec {
        layers: vec![LayerSpec {
            files: vec!["hello.txt:/hello.txt".into()],
            ..LayerSpec::default()
        }],
        ..BuildSpec::default()
    };
    let client = Client::new(ClientOptions::default())?;
    let image = stevedore::build(&spec, context.path(), &client)?;
    let name = format!("oci:{}:{tag}", dir.display());
    stevedore::write_image(&image, &stevedore::parse_image(&name)?)?;
    Ok(name)
}
