//! Copies among every transport — `docker://` (Debian's docker-registry),
//! `oci:`, `dir:`, `oci-archive:`, `docker-archive:` and memory — keep the
//! manifest digest, judged by `skopeo inspect --raw` on each side; archives
//! written by skopeo are read by us and ours by skopeo; bad archives get
//! clear errors and leave nothing behind.

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use common::registry::Registry;
use common::*;
use stevedore::digest::Digest;
use stevedore::manifest::ManifestContent;
use stevedore::registry::Client;
use stevedore::transport::{parse_with, DockerArchive, ImageRef, Memory, Transport};
use stevedore::{copy, CopyOptions, ErrorKind};

/// skopeo's view of an image: the sha256 of `skopeo inspect --raw`.
fn skopeo_digest(image: &str) -> Digest {
    Digest::sha256(&skopeo_raw(image))
}

/// The digest of the manifest Stevedore reads for `image`.
fn read_digest(client: &Client, image: &str) -> Digest {
    let image = parse_with(image, client).unwrap();
    image
        .transport()
        .get_manifest(&image.resolve().unwrap())
        .unwrap()
        .digest()
        .clone()
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

/// Copies `src` to `dst` with default options and returns the digest written.
fn hop(client: &Client, src: &str, dst: &str) -> Digest {
    let report = copy(
        &parse_with(src, client).unwrap(),
        &parse_with(dst, client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap_or_else(|e| panic!("copy {src} -> {dst}: {e}"));
    assert_eq!(report.converted, None, "{src} -> {dst}");
    report.digest
}

#[test]
fn an_oci_image_keeps_its_digest_through_dir_archives_and_a_registry() {
    let registry = Registry::start();
    let client = registry.client();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let manifest = make_image(&t.join("src"), "1", b"round trip\n");
    let want = manifest.digest().clone();
    let chain = [
        oci(&t.join("src"), "1"),
        format!("dir:{}", path(t, "dir")),
        format!("oci-archive:{}:v1", path(t, "image.tar")),
        registry.image("trip/app:1"),
        format!("oci:{}:back", path(t, "back")),
    ];
    for pair in chain.windows(2) {
        assert_eq!(hop(&client, &pair[0], &pair[1]), want);
        for image in pair {
            assert_eq!(skopeo_digest(image), want, "skopeo reads {image}");
        }
    }
    // Back in a layout: umoci unpacks what came through every transport.
    tool_ok(
        "umoci",
        &[
            "unpack",
            "--rootless",
            "--image",
            &format!("{}:back", path(t, "back")),
            &path(t, "bundle"),
        ],
    );
    assert_eq!(
        fs::read(t.join("bundle/rootfs/etc/hello")).unwrap(),
        b"round trip\n"
    );
}

#[test]
fn a_docker_archive_from_skopeo_round_trips_through_every_transport() {
    let registry = Registry::start();
    let client = registry.client();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    make_image(&t.join("src"), "1", b"from docker save\n");
    let theirs = format!("docker-archive:{}", path(t, "skopeo.tar"));
    skopeo_copy(
        &oci(&t.join("src"), "1"),
        &format!("{theirs}:example/app:1"),
        &[],
    );
    // skopeo's manifest for this archive labels its plain-tar layers
    // `tar.gzip`; ours labels them for their bytes, so the digests differ.
    let want = read_digest(&client, &theirs);
    assert_ne!(want, skopeo_digest(&theirs));
    let chain = [
        theirs.clone(),
        registry.image("archive/app:1"),
        format!("dir:{}", path(t, "dir")),
    ];
    for pair in chain.windows(2) {
        assert_eq!(hop(&client, &pair[0], &pair[1]), want);
        assert_eq!(skopeo_digest(&pair[1]), want, "skopeo reads {}", pair[1]);
    }
    // Into a docker-archive again: the digest is kept in its index.json;
    // docker load and skopeo, rebuilding from manifest.json, see another.
    let ours = format!("docker-archive:{}:example/app:2", path(t, "ours.tar"));
    let report = copy(
        &parse_with(&chain[2], &client).unwrap(),
        &parse_with(&ours, &client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    assert_eq!(report.digest, want);
    assert!(report.converted.is_some());
    assert_eq!(read_digest(&client, &ours), want);
    // Layouts hold OCI manifests only: the Docker manifest is converted,
    // blobs unchanged, and skopeo reads what we report; refused when asked
    // to preserve digests.
    for dst in [
        format!("oci:{}:1", path(t, "layout")),
        format!("oci-archive:{}:1", path(t, "oci.tar")),
    ] {
        let strict = CopyOptions {
            preserve_digests: true,
            ..Default::default()
        };
        let err = copy(
            &parse_with(&theirs, &client).unwrap(),
            &parse_with(&dst, &client).unwrap(),
            &strict,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        let report = copy(
            &parse_with(&theirs, &client).unwrap(),
            &parse_with(&dst, &client).unwrap(),
            &CopyOptions::default(),
        )
        .unwrap();
        assert!(report.converted.is_some());
        assert_eq!(report.source_digest, want);
        assert_eq!(skopeo_digest(&dst), report.digest, "{dst}");
    }
    tool_ok(
        "umoci",
        &["stat", "--image", &format!("{}:1", path(t, "layout"))],
    );
    // skopeo reads the tag we wrote, and pulls the layers out of our archive.
    let ours = format!("docker-archive:{}", path(t, "ours.tar"));
    assert_eq!(
        skopeo_digest(&format!("{ours}:example/app:2")),
        skopeo_digest(&theirs),
        "skopeo rebuilds the same manifest from our manifest.json as from its own"
    );
    skopeo_copy(&ours, &format!("dir:{}", path(t, "check")), &[]);
}

#[test]
fn a_gzip_image_in_a_docker_archive_is_converted_and_comes_back_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let client = Client::new(Default::default()).unwrap();
    let manifest = make_image(&t.join("src"), "1", b"gzip layers\n");
    let archive = format!("docker-archive:{}:app:1", path(t, "a.tar"));
    let report = copy(
        &parse_with(&oci(&t.join("src"), "1"), &client).unwrap(),
        &parse_with(&archive, &client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    let note = report.converted.expect("an OCI image is converted");
    assert!(note.contains("uncompressed"), "{note}");
    // skopeo sees a Docker manifest with uncompressed layers, and can pull them.
    let raw: serde_json::Value =
        serde_json::from_slice(&tool_ok("skopeo", &["inspect", "--raw", &archive])).unwrap();
    assert_eq!(
        raw["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    skopeo_copy(&archive, &format!("dir:{}", path(t, "skopeo")), &[]);
    // We read the original back from the archive's index.json.
    assert_eq!(
        hop(&client, &archive, &oci(&t.join("back"), "1")),
        *manifest.digest()
    );
}

#[test]
fn gzip_layer_files_in_a_legacy_archive_read_as_skopeo_reads_them() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    make_image(&t.join("src"), "1", b"legacy\n");
    let plain = t.join("plain.tar");
    skopeo_copy(
        &oci(&t.join("src"), "1"),
        &format!("docker-archive:{}", plain.display()),
        &[],
    );
    // The same archive with every layer file gzip-compressed.
    let gzipped = t.join("gzipped.tar");
    let mut out = tar::Builder::new(fs::File::create(&gzipped).unwrap());
    let mut archive = tar::Archive::new(fs::File::open(&plain).unwrap());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().into_owned();
        let mut header = entry.header().clone();
        if name.extension().is_some_and(|e| e == "tar") && header.entry_type().is_file() {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::copy(&mut entry, &mut gz).unwrap();
            let bytes = gz.finish().unwrap();
            header.set_size(bytes.len() as u64);
            header.set_cksum();
            out.append_data(&mut header, &name, bytes.as_slice())
                .unwrap();
        } else if header.entry_type().is_symlink() {
            let target = entry.link_name().unwrap().unwrap().into_owned();
            out.append_link(&mut header, &name, target).unwrap();
        } else {
            out.append_data(&mut header, &name, &mut entry).unwrap();
        }
    }
    out.into_inner().unwrap().flush().unwrap();
    let client = Client::new(Default::default()).unwrap();
    let gz_ref = format!("docker-archive:{}", gzipped.display());
    let want = read_digest(&client, &gz_ref);
    assert_eq!(
        want,
        read_digest(&client, &format!("docker-archive:{}", plain.display()))
    );
    let out = format!("dir:{}", path(t, "out"));
    assert_eq!(hop(&client, &gz_ref, &out), want);
    assert_eq!(skopeo_digest(&out), want, "skopeo reads what we wrote");
}

#[test]
fn one_archive_holds_several_images_by_tag_and_position() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let client = Client::new(Default::default()).unwrap();
    let first = make_image(&t.join("a"), "1", b"first\n");
    let second = make_image(&t.join("b"), "1", b"second\n");
    let archive_path = t.join("many.tar");
    let archive: Arc<dyn Transport> = Arc::new(DockerArchive::new(&archive_path));
    for (dir, tag) in [
        ("a", "docker.io/library/one:1"),
        ("b", "docker.io/library/two:2"),
    ] {
        copy(
            &parse_with(&oci(&t.join(dir), "1"), &client).unwrap(),
            &ImageRef::new(
                archive.clone(),
                Some(stevedore::transport::Selector::Tag(tag.to_owned())),
            ),
            &CopyOptions::default(),
        )
        .unwrap();
    }
    let at = |spec: &str| format!("docker-archive:{}:{spec}", archive_path.display());
    for (spec, want) in [
        ("one:1", &first),
        ("two:2", &second),
        ("@0", &first),
        ("@1", &second),
    ] {
        assert_eq!(
            hop(&client, &at(spec), &oci(&t.join("out"), "x")),
            *want.digest(),
            "{spec}"
        );
        tool_ok("skopeo", &["inspect", "--raw", &at(spec)]);
    }
    let bare = parse_with(
        &format!("docker-archive:{}", archive_path.display()),
        &client,
    )
    .unwrap();
    let err = copy(
        &bare,
        &parse_with(&oci(&t.join("out"), "y"), &client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("one:1"), "{err}");
    assert_eq!(
        bare.transport().list_tags().unwrap(),
        ["one:1".to_owned(), "two:2".to_owned()]
    );
}

#[test]
fn an_index_survives_dir_and_oci_archive_and_converts_into_a_docker_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let client = Client::new(Default::default()).unwrap();
    let index = make_index(
        &t.join("src"),
        "multi",
        &["linux/amd64", "linux/arm64", "linux/arm/v7"],
    );
    let all = CopyOptions {
        all: true,
        ..Default::default()
    };
    for dst in [
        format!("dir:{}", path(t, "dir")),
        format!("oci-archive:{}:multi", path(t, "multi.tar")),
    ] {
        let report = copy(
            &parse_with(&oci(&t.join("src"), "multi"), &client).unwrap(),
            &parse_with(&dst, &client).unwrap(),
            &all,
        )
        .unwrap();
        assert_eq!(
            (report.digest.clone(), report.manifests),
            (index.digest().clone(), 4)
        );
        assert_eq!(skopeo_digest(&dst), *index.digest(), "{dst}");
        skopeo_copy(&dst, &format!("oci:{}:x", path(t, "verify")), &["--all"]);
    }
    let report = copy(
        &parse_with(&oci(&t.join("src"), "multi"), &client).unwrap(),
        &parse_with(
            &format!("docker-archive:{}:multi:1", path(t, "d.tar")),
            &client,
        )
        .unwrap(),
        &all,
    )
    .unwrap();
    assert!(
        report
            .converted
            .as_deref()
            .unwrap_or("")
            .contains("3 images"),
        "{:?}",
        report.converted
    );
    let archive = parse_with(&format!("docker-archive:{}", path(t, "d.tar")), &client).unwrap();
    for n in 0..3 {
        let image = archive
            .transport()
            .get_manifest(&stevedore::transport::Selector::Index(n))
            .unwrap();
        assert!(matches!(image.content(), ManifestContent::Image(_)));
        tool_ok(
            "skopeo",
            &[
                "inspect",
                "--raw",
                &format!("docker-archive:{}:@{n}", path(t, "d.tar")),
            ],
        );
    }
}

#[test]
fn the_memory_transport_holds_an_image_between_two_copies() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let client = Client::new(Default::default()).unwrap();
    let manifest = make_image(&t.join("src"), "1", b"in memory\n");
    let memory: Arc<dyn Transport> = Arc::new(Memory::new());
    let tagged = ImageRef::new(
        memory.clone(),
        Some(stevedore::transport::Selector::Tag("kept".into())),
    );
    copy(
        &parse_with(&oci(&t.join("src"), "1"), &client).unwrap(),
        &tagged,
        &CopyOptions::default(),
    )
    .unwrap();
    assert_eq!(memory.list_tags().unwrap(), ["kept"]);
    let out = oci(&t.join("out"), "1");
    copy(
        &tagged,
        &parse_with(&out, &client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    assert_eq!(skopeo_digest(&out), *manifest.digest());
}

#[test]
fn bad_archives_get_clear_errors_and_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let client = Client::new(Default::default()).unwrap();
    make_image(&t.join("src"), "1", b"x\n");
    fs::write(t.join("junk.tar"), b"this is not a tar archive at all").unwrap();
    // A tar with no manifest.json, and one whose layer file is cut short.
    let empty = t.join("empty.tar");
    let mut b = tar::Builder::new(fs::File::create(&empty).unwrap());
    let mut h = tar::Header::new_ustar();
    h.set_size(2);
    b.append_data(&mut h, "hello", &b"hi"[..]).unwrap();
    b.into_inner().unwrap();
    let good = t.join("good.tar");
    skopeo_copy(
        &oci(&t.join("src"), "1"),
        &format!("docker-archive:{}", good.display()),
        &[],
    );
    let bytes = fs::read(&good).unwrap();
    fs::write(t.join("cut.tar"), &bytes[..bytes.len() / 2]).unwrap();
    let before = snapshot(t);
    let sources: [(String, ErrorKind); 6] = [
        (
            format!("docker-archive:{}", path(t, "junk.tar")),
            ErrorKind::InvalidInput,
        ),
        (
            format!("docker-archive:{}", path(t, "empty.tar")),
            ErrorKind::InvalidInput,
        ),
        (
            format!("docker-archive:{}", path(t, "missing.tar")),
            ErrorKind::NotFound,
        ),
        (
            format!("oci-archive:{}", path(t, "junk.tar")),
            ErrorKind::InvalidInput,
        ),
        (
            format!("oci-archive:{}", path(t, "empty.tar")),
            ErrorKind::InvalidInput,
        ),
        (format!("dir:{}", path(t, "nodir")), ErrorKind::NotFound),
    ];
    for (src, kind) in sources {
        let err = copy(
            &parse_with(&src, &client).unwrap(),
            &parse_with(&format!("oci:{}:1", path(t, "dst")), &client).unwrap(),
            &CopyOptions::default(),
        )
        .unwrap_err();
        assert_eq!(err.kind(), kind, "{src}: {err}");
    }
    let cut = copy(
        &parse_with(&format!("docker-archive:{}", path(t, "cut.tar")), &client).unwrap(),
        &parse_with(&format!("oci:{}:1", path(t, "dst")), &client).unwrap(),
        &CopyOptions::default(),
    );
    assert!(cut.is_err(), "a truncated archive fails");
    // A non-empty directory that is not a dir: image is refused.
    fs::create_dir(t.join("busy")).unwrap();
    fs::write(t.join("busy/keep.txt"), b"mine").unwrap();
    let err = copy(
        &parse_with(&oci(&t.join("src"), "1"), &client).unwrap(),
        &parse_with(&format!("dir:{}", path(t, "busy")), &client).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    let mut after = snapshot(t);
    after.remove(Path::new("busy/keep.txt"));
    assert_eq!(before, after, "nothing was left behind");
}

#[test]
fn messages_about_an_oci_archive_name_the_archive_not_its_unpacked_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    make_image(&t.join("src"), "1", b"hello\n");
    let source = stevedore::transport::parse(&oci(&t.join("src"), "1")).unwrap();
    let archive = format!("oci-archive:{}", path(t, "x.tar"));
    let names_the_archive = |message: &str| {
        assert!(!message.contains(".stevedore-"), "{message}");
        assert!(!message.contains("oci:"), "{message}");
        message.contains(&archive)
    };

    // A cancel while a blob is written into the unpacked layout.
    let mut named = false;
    for n in 1..10 {
        let seen = Arc::new(std::sync::Mutex::new(0));
        let options = CopyOptions {
            jobs: 1,
            progress: Some(Arc::new(move |_: &stevedore::progress::ProgressEvent| {
                let mut seen = seen.lock().unwrap();
                *seen += 1;
                *seen != n
            })),
            ..Default::default()
        };
        let dst = stevedore::transport::parse(&format!("{archive}:1")).unwrap();
        if let Err(e) = copy(&source, &dst, &options) {
            assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
            named |= names_the_archive(e.message());
        }
    }
    assert!(named, "no cancel came while a blob was written");

    // A tag the archive does not hold.
    copy(
        &source,
        &stevedore::transport::parse(&format!("{archive}:1")).unwrap(),
        &CopyOptions::default(),
    )
    .unwrap();
    let missing = stevedore::transport::parse(&format!("{archive}:big")).unwrap();
    let err = stevedore::inspect(&missing, &Default::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(names_the_archive(err.message()), "{err}");
    assert!(err.message().contains("tags: 1"), "{err}");
}

#[test]
fn transport_strings_follow_containers_transports() {
    let client = Client::new(Default::default()).unwrap();
    let ok = |s: &str| parse_with(s, &client).unwrap().to_string();
    assert_eq!(ok("dir:/x"), "dir:/x");
    assert_eq!(ok("oci-archive:/a.tar:v1"), "oci-archive:/a.tar:v1");
    assert_eq!(ok("oci:/l:@3"), "oci:/l:@3");
    assert_eq!(
        ok("docker-archive:/a.tar:busybox"),
        "docker-archive:/a.tar:docker.io/library/busybox:latest"
    );
    assert_eq!(ok("docker-archive:/a.tar:@1"), "docker-archive:/a.tar:@1");
    for (bad, kind) in [
        ("dir:", ErrorKind::InvalidInput),
        ("docker-archive:", ErrorKind::InvalidInput),
        ("docker-archive:/a.tar:Bad:Name", ErrorKind::InvalidInput),
        ("oci-archive:/a.tar:@x", ErrorKind::InvalidInput),
        ("containers-storage:app", ErrorKind::Unsupported),
        ("docker-daemon:app:1", ErrorKind::Unsupported),
        ("nonsense:x", ErrorKind::InvalidInput),
        ("no-colon", ErrorKind::InvalidInput),
    ] {
        let err = parse_with(bad, &client).unwrap_err();
        assert_eq!(err.kind(), kind, "{bad}: {err}");
    }
    let dir = parse_with("dir:/x", &client).unwrap();
    assert_eq!(
        dir.transport().list_tags().unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}
