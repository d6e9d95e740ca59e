//! The merged layer view judged by umoci: hand-made layers with whiteouts,
//! opaque directories, hard links, symlinks and replacements, a real tree
//! of this machine, and the same layers uncompressed or in zstd, listed
//! and exported as umoci unpacks them.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::layer_images::{changesets, image, tar_of, E, Z};
use common::tree_rows::{export_rows, normalise, ours, umoci_rows, Row};
use stevedore::FilesOptions;

#[test]
fn hand_made_layers_match_umoci_and_export_gives_the_same_tree() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let name = image(&layout, "v1", &changesets(), Z::Gzip);
    let ours = normalise(ours(&name));
    let theirs = normalise(umoci_rows(&layout, "v1", work.path()));
    assert_eq!(ours, theirs, "merged view differs from umoci unpack");
    // A few rules, checked by name so the test says which rule broke.
    let paths: BTreeSet<&str> = ours.iter().map(|r| r.0.as_str()).collect();
    for absent in [
        "etc/secret",
        "opt/app/old",
        "opt/app/sub",
        "gone",
        "swap/inner",
        "flip/child",
    ] {
        assert!(!paths.contains(absent), "{absent} should be hidden");
    }
    for present in [
        "opt/app/new",
        "swap/again",
        "etc/passwd-link",
        "bin/tool-hard",
    ] {
        assert!(paths.contains(present), "{present} missing");
    }
    assert_eq!(
        normalise(export_rows(&name, work.path())),
        theirs,
        "export differs"
    );
}

#[test]
fn a_real_tree_of_this_machine_matches_umoci() {
    let work = tempfile::tempdir().unwrap();
    let mut tars = Vec::new();
    for dirs in [&["doc"][..], &["zoneinfo", "common-licenses"], &["perl5"]] {
        let mut b = tar::Builder::new(Vec::new());
        b.follow_symlinks(false);
        for d in dirs {
            let src = Path::new("/usr/share").join(d);
            if src.exists() {
                b.append_dir_all(format!("usr/share/{d}"), &src).unwrap();
            }
        }
        tars.push(b.into_inner().unwrap());
    }
    // A fourth layer removes one package's docs, to show whiteouts on real data.
    let victim = std::fs::read_dir("/usr/share/doc")
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    let whiteout = format!("usr/share/doc/.wh.{}", victim.to_str().unwrap());
    tars.push(tar_of(&[E::File(&whiteout, 0o644, b"")]));
    let layout = work.path().join("layout");
    let name = image(&layout, "usr", &tars, Z::Gzip);
    let ours = normalise(ours(&name));
    assert!(ours.len() > 3000, "only {} entries", ours.len());
    let theirs = normalise(umoci_rows(&layout, "usr", work.path()));
    // umoci makes the parent directories the tar does not name (usr,
    // usr/share) with its own modes: compare everything below them.
    let below = |rows: BTreeSet<Row>| -> BTreeSet<Row> {
        rows.into_iter()
            .filter(|r| r.0.starts_with("usr/share/"))
            .collect()
    };
    assert_eq!(below(ours), below(theirs.clone()));
    assert_eq!(
        below(normalise(export_rows(&name, work.path()))),
        below(theirs)
    );
}

#[test]
fn zstd_and_uncompressed_twins_list_and_read_as_the_gzip_image() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let gzip = image(&layout, "gzip", &changesets(), Z::Gzip);
    let zstd = image(&layout, "zstd", &changesets(), Z::Zstd);
    let plain = image(&layout, "plain", &changesets(), Z::None);
    let mislabelled = image(&layout, "mislabelled", &changesets(), Z::Mislabelled);
    let expected = ours(&gzip);
    let opts = FilesOptions::default();
    for name in [&zstd, &plain, &mislabelled] {
        assert_eq!(ours(name), expected, "{name}");
        let image = stevedore::parse_image(name).unwrap();
        assert_eq!(
            stevedore::read_file(&image, "/etc/abs", u64::MAX, &opts).unwrap(),
            b"root:x:0:0\nuser:x:1000:1000\n"
        );
        let diff = stevedore::diff(&stevedore::parse_image(&gzip).unwrap(), &image, &opts).unwrap();
        assert_eq!(diff, stevedore::DiffReport::default(), "{name}");
    }
    let listing = stevedore::files(&stevedore::parse_image(&zstd).unwrap(), &opts).unwrap();
    assert!(listing
        .layers
        .iter()
        .all(|l| l.format.mislabelled.is_none()));
    assert_eq!(
        listing.layers[0].format.compression,
        stevedore::layer::Compression::Zstd
    );
    let listing = stevedore::files(&stevedore::parse_image(&mislabelled).unwrap(), &opts).unwrap();
    let note = listing.layers[0].format.mislabelled.clone().unwrap();
    assert!(
        note.contains("labelled zstd") && note.contains("bytes are gzip"),
        "{note}"
    );
}
