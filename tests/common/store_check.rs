//! Checks of our server's store on disk after abuse: every file whole and
//! every record pointing at blobs that are present and verify.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::raw_push::sha256;

/// The files under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The blob of `digest` (`sha256:HEX` or the record key `sha256-HEX`) in
/// the store at `root`, checked against its digest.
pub fn verified_blob(root: &Path, digest: &str) -> Vec<u8> {
    let hex = digest
        .strip_prefix("sha256:")
        .or_else(|| digest.strip_prefix("sha256-"))
        .unwrap();
    let path = root.join("blobs/sha256").join(hex);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("blob {digest} missing: {e}"));
    assert_eq!(
        sha256(&bytes),
        format!("sha256:{hex}"),
        "blob {digest} does not verify"
    );
    bytes
}

/// Checks the store at `root` as a stopped server left it: no temporary
/// files; every manifest record's manifest and the blobs it names present
/// and verifying; every tag naming a manifest the repository has; every
/// blob link's blob present and verifying.
pub fn check_store(root: &Path) {
    for file in files_under(root) {
        let name = file.file_name().unwrap().to_string_lossy();
        assert!(
            !name.starts_with(".stevedore-"),
            "temporary file left: {}",
            file.display()
        );
    }
    let repos = root.join("meta/repos");
    for repo in std::fs::read_dir(&repos)
        .map(|r| r.flatten().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        let repo = repo.path();
        let manifests: BTreeSet<String> = std::fs::read_dir(repo.join("manifests"))
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        for key in &manifests {
            let bytes = verified_blob(root, key);
            let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            for blob in std::iter::once(&value["config"])
                .chain(value["layers"].as_array().into_iter().flatten())
            {
                if let Some(d) = blob["digest"].as_str() {
                    verified_blob(root, d);
                }
            }
        }
        for tag in files_under(&repo.join("tags")) {
            let digest = std::fs::read_to_string(&tag).unwrap();
            let key = digest.replace(':', "-");
            assert!(
                manifests.contains(&key),
                "tag {} names {digest}, which the repository does not have",
                tag.display()
            );
        }
        for link in files_under(&repo.join("blobs")) {
            verified_blob(root, &link.file_name().unwrap().to_string_lossy());
        }
    }
}
