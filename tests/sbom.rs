//! The SBOM engine on real data no one here wrote: this machine's dpkg database,
//! distributions `pip` installed from PyPI, Debian's Go binaries and one the Go
//! toolchain builds, a Rust binary `cargo auditable` builds, an rpm database `rpm`
//! writes. Every document validates against its official schema (spdx-tools and
//! cyclonedx-python-lib, from PyPI).

use std::fs;
use std::path::Path;
use std::process::Command;

mod common;

use common::sbom_check::{catalog_of, go_version_m, pairs, pip_list, run, validate};
use stevedore::sbom::{self, Ecosystem, Format};

#[test]
fn dpkg_database_lists_what_dpkg_query_lists() {
    let dir = tempfile::tempdir().unwrap();
    let admin = dir.path().join("var/lib/dpkg");
    fs::create_dir_all(admin.join("info")).unwrap();
    fs::create_dir_all(admin.join("updates")).unwrap();
    fs::create_dir_all(dir.path().join("etc")).unwrap();
    fs::copy("/etc/os-release", dir.path().join("etc/os-release")).unwrap();
    // This machine's database, plus a package removed with its configuration kept
    // (dpkg-query lists it) and a purged one (it does not).
    let mut status = fs::read_to_string("/var/lib/dpkg/status").unwrap();
    status.push_str(
        "\nPackage: stevedore-removed\nStatus: deinstall ok config-files\nPriority: optional\n\
         Section: misc\nArchitecture: all\nVersion: 1:1.0-1\nDescription: removed\n long text\n\
         \nPackage: stevedore-purged\nStatus: purge ok not-installed\nPriority: optional\n\
         Section: misc\nArchitecture: all\n",
    );
    fs::write(admin.join("status"), status).unwrap();

    let listed = run(Command::new("dpkg-query")
        .arg(format!("--admindir={}", admin.display()))
        .args(["-W", "-f", "${Package} ${Version}\n"]));
    let mut expected: Vec<(String, String)> = listed
        .lines()
        .map(|l| {
            let (name, version) = l.split_once(' ').unwrap();
            (name.to_string(), version.to_string())
        })
        .collect();
    expected.sort();
    assert!(expected.len() > 50, "dpkg-query listed {}", expected.len());
    assert!(expected.contains(&("stevedore-removed".into(), "1:1.0-1".into())));
    assert!(!expected.iter().any(|(n, _)| n == "stevedore-purged"));

    let catalog = catalog_of(dir.path());
    assert_eq!(pairs(&catalog, Ecosystem::Deb, None), expected);
    assert!(catalog.warnings.is_empty(), "{:?}", catalog.warnings);

    let id = run(Command::new("sh").args(["-c", ". /etc/os-release; echo \"$ID $VERSION_ID\""]));
    let (id, version_id) = id.trim().split_once(' ').unwrap();
    let os = catalog.os.as_ref().unwrap();
    assert_eq!((os.id.as_str(), os.version_id.as_str()), (id, version_id));
    let removed = catalog
        .packages
        .iter()
        .find(|p| p.name == "stevedore-removed")
        .unwrap();
    assert_eq!(
        removed.purl,
        format!("pkg:deb/{id}/stevedore-removed@1:1.0-1?arch=all&distro={id}-{version_id}")
    );
    assert_eq!(removed.evidence, ["var/lib/dpkg/status"]);
    validate(&catalog);
}

#[test]
fn pip_target_lists_its_distributions() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("usr/lib/python3/site-packages");
    run(Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "--target",
        ])
        .arg(&site)
        .args(["six", "idna", "packaging"]));
    let expected = pip_list(&site);
    assert_eq!(expected.len(), 3, "{expected:?}");

    let catalog = catalog_of(dir.path());
    assert_eq!(pairs(&catalog, Ecosystem::Python, None), expected);
    let six = catalog.packages.iter().find(|p| p.name == "six").unwrap();
    assert_eq!(six.licenses, ["MIT"]);
    assert!(six.purl.starts_with("pkg:pypi/six@"), "{}", six.purl);
    assert!(six.evidence[0].ends_with(".dist-info/METADATA"));
    validate(&catalog);
}

#[test]
fn go_binaries_list_what_go_version_m_prints() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("usr/bin");
    fs::create_dir_all(&bin).unwrap();
    for name in ["skopeo", "docker-registry"] {
        fs::copy(Path::new("/usr/bin").join(name), bin.join(name)).unwrap();
    }
    // Debian builds its Go in GOPATH mode (no module lines); a module-mode binary
    // with a dependency, built here offline, covers `mod`, `dep` and `=>`.
    let src = tempfile::tempdir().unwrap();
    let module = src.path();
    fs::create_dir_all(module.join("greet")).unwrap();
    fs::write(
        module.join("go.mod"),
        "module example.com/hello\n\ngo 1.19\n\nrequire example.com/greet v0.1.0\n\nreplace example.com/greet => ./greet\n",
    )
    .unwrap();
    fs::write(
        module.join("main.go"),
        "package main\n\nimport \"example.com/greet\"\n\nfunc main() { println(greet.Hello()) }\n",
    )
    .unwrap();
    fs::write(
        module.join("greet/go.mod"),
        "module example.com/greet\n\ngo 1.19\n",
    )
    .unwrap();
    fs::write(
        module.join("greet/greet.go"),
        "package greet\n\n// Hello greets.\nfunc Hello() string { return \"hello\" }\n",
    )
    .unwrap();
    run(Command::new("go")
        .args(["build", "-buildvcs=false", "-o"])
        .arg(bin.join("hello"))
        .arg(".")
        .current_dir(module)
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GO111MODULE", "on")
        .env("GOWORK", "off"));

    let catalog = catalog_of(dir.path());
    for name in ["skopeo", "docker-registry", "hello"] {
        let expected = go_version_m(&bin.join(name));
        let found = pairs(&catalog, Ecosystem::Go, Some(&format!("usr/bin/{name}")));
        assert_eq!(found, expected, "usr/bin/{name}");
    }
    let hello = go_version_m(&bin.join("hello"));
    assert!(
        hello.contains(&("example.com/greet".into(), "v0.1.0".into())),
        "{hello:?}"
    );
    assert!(
        hello.contains(&("example.com/hello".into(), String::new())),
        "{hello:?}"
    );
    let greet = catalog
        .packages
        .iter()
        .find(|p| p.name == "example.com/greet")
        .unwrap();
    assert_eq!(greet.purl, "pkg:golang/example.com/greet@v0.1.0");
    validate(&catalog);
}

#[test]
fn cargo_auditable_binary_lists_its_crates() {
    let src = tempfile::tempdir().unwrap();
    fs::create_dir_all(src.path().join("src")).unwrap();
    fs::write(
        src.path().join("Cargo.toml"),
        "[package]\nname = \"stevedore-sbom-probe\"\nversion = \"0.3.1\"\nedition = \"2021\"\n\n\
         [dependencies]\nitoa = \"1\"\nmemchr = \"2\"\n",
    )
    .unwrap();
    fs::write(
        src.path().join("src/main.rs"),
        "fn main() {\n    let mut b = itoa::Buffer::new();\n    \
         println!(\"{:?}\", memchr::memchr(b'2', b.format(42).as_bytes()));\n}\n",
    )
    .unwrap();
    let target = src.path().join("target");
    run(Command::new("cargo")
        .args(["auditable", "build", "--quiet"])
        .current_dir(src.path())
        .env("CARGO_TARGET_DIR", &target));
    let metadata = run(Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--offline"])
        .current_dir(src.path()));
    let metadata: serde_json::Value = serde_json::from_str(&metadata).unwrap();
    let mut expected: Vec<(String, String)> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().into(),
                p["version"].as_str().unwrap().into(),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 3, "{expected:?}");

    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("usr/local/bin")).unwrap();
    fs::copy(
        target.join("debug/stevedore-sbom-probe"),
        dir.path().join("usr/local/bin/probe"),
    )
    .unwrap();
    let catalog = catalog_of(dir.path());
    assert_eq!(pairs(&catalog, Ecosystem::Cargo, None), expected);
    let probe = catalog
        .packages
        .iter()
        .find(|p| p.name == "stevedore-sbom-probe")
        .unwrap();
    assert_eq!(probe.purl, "pkg:cargo/stevedore-sbom-probe@0.3.1");
    assert_eq!(probe.evidence, ["usr/local/bin/probe"]);
    validate(&catalog);
}

#[test]
fn rpm_sqlite_database_lists_what_rpm_lists() {
    let work = tempfile::tempdir().unwrap();
    let specs = work.path().join("SPECS");
    fs::create_dir_all(&specs).unwrap();
    fs::write(
        specs.join("probe.spec"),
        "Name: stevedore-probe\nVersion: 1.2.3\nRelease: 4\nEpoch: 2\nSummary: probe\n\
         License: MIT OR Apache-2.0\nBuildArch: noarch\n%description\nprobe\n%files\n",
    )
    .unwrap();
    run(Command::new("rpmbuild")
        .args(["-bb", "--quiet", "--define"])
        .arg(format!("_topdir {}", work.path().display()))
        .arg(specs.join("probe.spec")));
    let root = tempfile::tempdir().unwrap();
    let rpm = |args: &[&str]| {
        run(Command::new("rpm")
            .arg("--root")
            .arg(root.path())
            .args(["--dbpath", "/var/lib/rpm"])
            .args(args))
    };
    rpm(&["--initdb"]);
    let package = work
        .path()
        .join("RPMS/noarch/stevedore-probe-1.2.3-4.noarch.rpm");
    rpm(&["-i", "--nodeps", "--justdb", package.to_str().unwrap()]);
    let listed = rpm(&["-qa", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\n"]);
    let mut expected: Vec<(String, String)> = listed
        .lines()
        .map(|l| {
            let (n, v) = l.split_once(' ').unwrap();
            (n.to_string(), v.to_string())
        })
        .collect();
    expected.sort();
    assert_eq!(
        expected,
        [("stevedore-probe".to_string(), "1.2.3-4".to_string())]
    );

    let catalog = catalog_of(root.path());
    assert_eq!(pairs(&catalog, Ecosystem::Rpm, None), expected);
    let probe = &catalog.packages[0];
    assert_eq!(probe.licenses, ["MIT OR Apache-2.0"]);
    assert_eq!(
        probe.purl,
        "pkg:rpm/redhat/stevedore-probe@1.2.3-4?arch=noarch&epoch=2"
    );
    validate(&catalog);
}

#[test]
fn npm_and_apk_databases() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    };
    write(
        "etc/os-release",
        "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.18.4\nPRETTY_NAME=\"Alpine Linux v3.18\"\n",
    );
    write(
        "lib/apk/db/installed",
        "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nS:383152\nI:622592\nT:the musl c library\n\
         U:https://musl.libc.org/\nL:MIT\no:musl\nm:Timo Ter\u{e4}s <timo.teras@iki.fi>\n\
         F:lib\nR:libc.musl-x86_64.so.1\n\nC:Q1def=\nP:busybox\nV:1.36.1-r2\nA:x86_64\nL:GPL-2.0-only\n\n",
    );
    write(
        "app/node_modules/@types/node/package.json",
        r#"{"name":"@types/node","version":"20.1.0","license":"MIT"}"#,
    );
    write(
        "app/node_modules/left-pad/package.json",
        r#"{"name":"left-pad","version":"1.3.0","license":"WTFPL"}"#,
    );
    write(
        "app/node_modules/left-pad/lib/package.json",
        r#"{"name":"inner","version":"9"}"#,
    );
    write(
        "app/node_modules/odd/package.json",
        r#"{"name":"odd","version":"0.1.0","license":"SEE LICENSE IN LICENSE.txt"}"#,
    );
    write("app/package.json", r#"{"name":"app","version":"1.0.0"}"#);
    let catalog = catalog_of(root);
    let purls: Vec<&str> = catalog.packages.iter().map(|p| p.purl.as_str()).collect();
    assert_eq!(
        purls,
        [
            "pkg:apk/alpine/busybox@1.36.1-r2?arch=x86_64&distro=alpine-3.18.4",
            "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18.4",
            "pkg:npm/%40types/node@20.1.0",
            "pkg:npm/left-pad@1.3.0",
            "pkg:npm/odd@0.1.0",
        ]
    );
    // Free text is no SPDX expression: a LicenseRef in SPDX, a name in CycloneDX.
    let spdx = String::from_utf8(sbom::render(&catalog, Format::SpdxJson)).unwrap();
    assert!(spdx.contains("\"licenseDeclared\": \"LicenseRef-SEE-LICENSE-IN-LICENSE.txt\""));
    let cdx = String::from_utf8(sbom::render(&catalog, Format::CycloneDxJson)).unwrap();
    assert!(cdx.contains("\"name\": \"SEE LICENSE IN LICENSE.txt\""));
    assert_eq!(catalog.packages[2].name, "@types/node");
    assert_eq!(catalog.packages[0].licenses, ["GPL-2.0-only"]);
    validate(&catalog);
}

#[test]
fn unreadable_databases_are_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |path: &str, bytes: &[u8]| {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    };
    write("var/lib/rpm/Packages", b"\0\0\0\0berkeley");
    write(
        "usr/lib/sysimage/rpm/rpmdb.sqlite",
        b"not sqlite at all, not at all",
    );
    write("node_modules/broken/package.json", b"{\"name\": ");
    write(
        "usr/lib/python3/dist-packages/x-1.dist-info/METADATA",
        b"Name: x\n",
    );
    let mut elf = b"\x7fELF".to_vec();
    elf.resize(200, 0xff);
    write("usr/bin/fake", &elf);
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(root.join("usr/bin/fake"), fs::Permissions::from_mode(0o755)).unwrap();

    let catalog = catalog_of(root);
    assert!(catalog.packages.is_empty(), "{:?}", catalog.packages);
    assert!(catalog.os.is_none());
    for (path, words) in [
        ("var/lib/rpm/Packages", "unsupported"),
        (
            "usr/lib/sysimage/rpm/rpmdb.sqlite",
            "unreadable rpm database",
        ),
        ("node_modules/broken/package.json", "unparseable"),
        ("x-1.dist-info/METADATA", "without a Name and Version"),
        ("usr/bin/fake", "ELF"),
    ] {
        assert!(
            catalog
                .warnings
                .iter()
                .any(|w| w.contains(path) && w.contains(words)),
            "no warning about {path}: {:?}",
            catalog.warnings
        );
    }
    validate(&catalog);
}
