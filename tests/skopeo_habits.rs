//! skopeo's and crane's habits: the same command lines run through `skopeo`
//! and `stevedore` against one docker-registry, outputs compared field by
//! field; crane's verbs (`digest`, `tag`, `catalog`, `version`).

mod common;

use std::process::{Command, Output};

use common::registry::Registry;
use common::*;
use serde_json::Value;

fn stevedore(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stevedore"))
        .args(args)
        .output()
        .expect("run stevedore")
}

fn succeed(program: &str, out: Output, args: &[String]) -> Vec<u8> {
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn ours(args: &[String]) -> Vec<u8> {
    succeed("stevedore", stevedore(args), args)
}

fn theirs(args: &[String]) -> Vec<u8> {
    succeed("skopeo", tool("skopeo", &strs(args)), args)
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// How two outputs must agree.
#[derive(Clone, Copy)]
enum Compare {
    /// Byte for byte.
    Bytes,
    /// As JSON values (key order aside).
    Json,
    /// Every key skopeo prints is present in ours; values equal except
    /// those listed (fields only skopeo's world fills, such as DockerVersion).
    Keys(&'static [&'static str]),
    /// Both print nothing.
    Nothing,
}

fn check(name: &str, compare: Compare, skopeo: &[u8], stevedore: &[u8]) {
    match compare {
        Compare::Bytes => assert_eq!(
            String::from_utf8_lossy(stevedore),
            String::from_utf8_lossy(skopeo),
            "{name}: outputs differ"
        ),
        Compare::Json => assert_eq!(json(stevedore), json(skopeo), "{name}: JSON differs"),
        Compare::Keys(may_differ) => {
            let (theirs, ours) = (json(skopeo), json(stevedore));
            let theirs = theirs.as_object().expect("skopeo printed an object");
            for (key, value) in theirs {
                let Some(mine) = ours.get(key) else {
                    panic!("{name}: our output lacks skopeo's key {key}: {ours:#}")
                };
                if !may_differ.contains(&key.as_str()) {
                    assert_eq!(mine, value, "{name}: {key} differs");
                }
            }
        }
        Compare::Nothing => {
            assert!(skopeo.is_empty() && stevedore.is_empty(), "{name}: printed")
        }
    }
}

/// A name, skopeo's arguments, ours where they differ, the comparison.
type Row = (&'static str, Vec<String>, Option<Vec<String>>, Compare);

fn s(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| (*p).to_owned()).collect()
}

#[test]
fn skopeo_command_lines_give_skopeo_answers() {
    let registry = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    let manifest = make_image(&layout, "1.0", b"habits\n");
    make_index(&layout, "multi", &["linux/amd64", "linux/arm64"]);
    let image = registry.image("habits/app:1.0");
    let repo = registry.image("habits/app");
    ours(&s(&[
        "--tls-verify=false",
        "copy",
        &oci(&layout, "1.0"),
        &image,
    ]));
    ours(&s(&[
        "--tls-verify=false",
        "copy",
        "--all",
        &oci(&layout, "multi"),
        &registry.image("habits/app:multi"),
    ]));
    let manifest_file = tmp.path().join("manifest.json");
    std::fs::write(&manifest_file, manifest.raw()).unwrap();
    let manifest_file = manifest_file.display().to_string();
    let digestfile = |who: &str| tmp.path().join(format!("digest-{who}"));

    // name, skopeo's arguments, ours where they differ (`{who}` is replaced
    // by skopeo/stevedore in destinations), comparison.
    let no_tls = "--tls-verify=false";
    let table: Vec<Row> = vec![
        (
            "list-tags",
            s(&["list-tags", no_tls, &repo]),
            None,
            Compare::Json,
        ),
        (
            "inspect (ours with --json)",
            s(&["inspect", no_tls, &image]),
            Some(s(&["inspect", "--json", no_tls, &image])),
            Compare::Keys(&["DockerVersion"]),
        ),
        (
            "inspect of an index, --override-arch",
            s(&[
                "--override-arch",
                "arm64",
                "inspect",
                no_tls,
                &registry.image("habits/app:multi"),
            ]),
            Some(s(&[
                "inspect",
                "--json",
                "--platform",
                "linux/arm64",
                no_tls,
                &registry.image("habits/app:multi"),
            ])),
            Compare::Keys(&["DockerVersion"]),
        ),
        (
            "inspect --raw",
            s(&["inspect", "--raw", no_tls, &image]),
            None,
            Compare::Bytes,
        ),
        (
            "inspect --config",
            s(&["inspect", "--config", no_tls, &image]),
            None,
            Compare::Json,
        ),
        (
            "inspect --raw --config",
            s(&["inspect", "--raw", "--config", no_tls, &image]),
            None,
            Compare::Bytes,
        ),
        (
            "manifest-digest",
            s(&["manifest-digest", &manifest_file]),
            None,
            Compare::Bytes,
        ),
        (
            "copy -q --digestfile",
            s(&[
                "--insecure-policy",
                "copy",
                "-q",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                "--digestfile",
                &digestfile("{who}").display().to_string(),
                &image,
                &registry.image("{who}/copied:1.0"),
            ]),
            None,
            Compare::Nothing,
        ),
        (
            "copy --multi-arch all --format v2s2",
            s(&[
                "--insecure-policy",
                "copy",
                "-q",
                "--multi-arch",
                "all",
                "--format",
                "v2s2",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                &registry.image("habits/app:multi"),
                &registry.image("{who}/v2s2:multi"),
            ]),
            None,
            Compare::Nothing,
        ),
        (
            "copy --override-arch --override-os --format v2s2",
            s(&[
                "--insecure-policy",
                "--override-os",
                "linux",
                "--override-arch",
                "arm64",
                "copy",
                "-q",
                "--format",
                "v2s2",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                &registry.image("habits/app:multi"),
                &registry.image("{who}/arm:1"),
            ]),
            Some(s(&[
                "copy",
                "-q",
                "--override-os",
                "linux",
                "--override-arch",
                "arm64",
                "--format",
                "v2s2",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                &registry.image("habits/app:multi"),
                &registry.image("{who}/arm:1"),
            ])),
            Compare::Nothing,
        ),
    ];
    for (name, skopeo_args, our_args, compare) in table {
        let who = |args: &[String], who: &str| -> Vec<String> {
            args.iter().map(|a| a.replace("{who}", who)).collect()
        };
        let theirs_out = theirs(&who(&skopeo_args, "skopeo"));
        let our_args = our_args.unwrap_or_else(|| skopeo_args.clone());
        let our_args = who(&our_args, "stevedore");
        let ours_out = ours(&our_args);
        check(name, compare, &theirs_out, &ours_out);
    }

    // What the copies wrote agrees, as JSON; skopeo reads ours.
    // (Converted manifests are compared as JSON: skopeo writes descriptor
    // keys in Go's order, so the bytes, and an index's child digests, differ.)
    let expanded = |repo: &str, tag: &str| {
        let mut value = json(&skopeo_raw(&registry.image(&format!("{repo}:{tag}"))));
        if let Some(entries) = value["manifests"].as_array_mut() {
            for entry in entries {
                let digest = entry["digest"].as_str().unwrap().to_owned();
                entry["digest"] = json(&skopeo_raw(&registry.image(&format!("{repo}@{digest}"))));
            }
        }
        value
    };
    for (repo, tag) in [("v2s2", "multi"), ("arm", "1"), ("copied", "1.0")] {
        assert_eq!(
            expanded(&format!("stevedore/{repo}"), tag),
            expanded(&format!("skopeo/{repo}"), tag),
            "{repo}: the manifests differ"
        );
    }
    let list = json(&skopeo_raw(&registry.image("stevedore/v2s2:multi")));
    assert_eq!(
        list["mediaType"],
        "application/vnd.docker.distribution.manifest.list.v2+json"
    );
    for entry in list["manifests"].as_array().unwrap() {
        let digest = entry["digest"].as_str().unwrap();
        let child = json(&skopeo_raw(
            &registry.image(&format!("stevedore/v2s2@{digest}")),
        ));
        assert_eq!(
            child["layers"][0]["mediaType"],
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
        );
        tool_ok(
            "skopeo",
            &[
                "--insecure-policy",
                "copy",
                "--src-tls-verify=false",
                &registry.image(&format!("stevedore/v2s2@{digest}")),
                &format!("oci:{}:x", tmp.path().join(digest).display()),
            ],
        );
    }
    assert_eq!(
        std::fs::read_to_string(digestfile("stevedore")).unwrap(),
        std::fs::read_to_string(digestfile("skopeo")).unwrap()
    );
}

#[test]
fn crane_verbs_and_copy_extras() {
    let registry = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    let manifest = make_image(&layout, "1.0", b"crane\n");
    let image = registry.image("crane/app:1.0");
    let no_tls = "--tls-verify=false".to_owned();
    ours(&s(&[
        "--tls-verify=false",
        "copy",
        "--additional-tag",
        "crane/app:extra",
        &oci(&layout, "1.0"),
        &image,
    ]));
    let digest = format!("{}\n", manifest.digest());
    let run = |args: &[&str]| {
        let mut all = vec![no_tls.clone()];
        all.extend(s(args));
        String::from_utf8(ours(&all)).unwrap()
    };
    assert_eq!(run(&["digest", &image]), digest);
    assert_eq!(run(&["digest", &registry.image("crane/app:extra")]), digest);
    assert_eq!(run(&["tag", &image, "stable"]), digest);
    assert_eq!(
        run(&["digest", &registry.image("crane/app:stable")]),
        digest
    );
    let tags = json(run(&["list-tags", &registry.image("crane/app")]).as_bytes());
    let mut tags: Vec<&str> = tags["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    tags.sort();
    assert_eq!(tags, ["1.0", "extra", "stable"]);
    let host = registry
        .image("")
        .trim_start_matches("docker://")
        .to_owned();
    assert_eq!(run(&["catalog", host.trim_end_matches('/')]), "crane/app\n");
    assert_eq!(
        run(&["version"]),
        format!(
            "stevedore {} (C ABI {})\n",
            env!("CARGO_PKG_VERSION"),
            stevedore::ffi::ABI_VERSION
        )
    );
    let refused = stevedore(&s(&[
        "--tls-verify=false",
        "copy",
        "--multi-arch",
        "index-only",
        &image,
        &oci(&tmp.path().join("x"), "1"),
    ]));
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("index-only"));
}

#[test]
fn completions_and_man_pages_name_every_verb() {
    let help = String::from_utf8(ours(&s(&["--help"]))).unwrap();
    let verbs: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|v| *v != "help")
        .collect();
    for verb in [
        "copy",
        "list-tags",
        "manifest-digest",
        "digest",
        "tag",
        "catalog",
        "version",
    ] {
        assert!(verbs.contains(&verb), "{verb} not in --help: {help}");
    }
    // The man pages (what scripts/gen-man.sh writes): one a verb.
    let dir = tempfile::tempdir().unwrap();
    ours(&s(&["man", &dir.path().display().to_string()]));
    let main_page = std::fs::read_to_string(dir.path().join("stevedore.1")).unwrap();
    for verb in &verbs {
        let page = std::fs::read_to_string(dir.path().join(format!("stevedore-{verb}.1")))
            .unwrap_or_else(|e| panic!("no man page for {verb}: {e}"));
        assert!(page.contains(".SH SYNOPSIS"), "{verb}");
        assert!(
            main_page.contains(&verb.replace('-', "\\-")),
            "stevedore.1 lacks {verb}"
        );
    }
    for shell in ["bash", "zsh", "fish"] {
        let script = String::from_utf8(ours(&s(&["completion", shell]))).unwrap();
        for verb in &verbs {
            assert!(script.contains(verb), "{shell} completion lacks {verb}");
        }
    }
}

#[test]
fn sync_from_a_skopeo_yaml_file() {
    let registry = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    make_image(&layout, "1.0", b"sync yaml\n");
    for tag in ["1.0", "1.1", "2.0", "latest"] {
        ours(&s(&[
            "--tls-verify=false",
            "copy",
            &oci(&layout, "1.0"),
            &registry.image(&format!("up/app:{tag}")),
        ]));
    }
    let host = registry
        .image("")
        .trim_start_matches("docker://")
        .trim_end_matches('/')
        .to_owned();
    let yaml = format!(
        "{host}:\n  tls-verify: false\n  images:\n    up/app: ['latest']\n  images-by-tag-regex:\n    up/app: '1\\.[0-9]'\n"
    );
    let file = tmp.path().join("sync.yaml");
    std::fs::write(&file, yaml).unwrap();
    let file = file.display().to_string();
    for who in ["skopeo", "stevedore"] {
        let args = s(&[
            "--insecure-policy",
            "sync",
            "--src",
            "yaml",
            "--dest",
            "docker",
            "--dest-tls-verify=false",
            &file,
            &format!("{host}/{who}"),
        ]);
        if who == "skopeo" {
            theirs(&args);
        } else {
            let dry = ours(&[&args[..2], &s(&["--dry-run"]), &args[2..]].concat());
            assert_eq!(String::from_utf8(dry).unwrap().lines().count(), 3);
            ours(&args);
        }
    }
    let tags = |who: &str| {
        let mut list = json(&theirs(&s(&[
            "list-tags",
            "--tls-verify=false",
            &registry.image(&format!("{who}/app")),
        ])));
        let mut tags: Vec<String> = serde_json::from_value(list["Tags"].take()).unwrap();
        tags.sort();
        tags
    };
    assert_eq!(tags("stevedore"), ["1.0", "1.1", "latest"]);
    assert_eq!(tags("stevedore"), tags("skopeo"));
    for tag in ["1.0", "1.1", "latest"] {
        assert_eq!(
            skopeo_raw(&registry.image(&format!("stevedore/app:{tag}"))),
            skopeo_raw(&registry.image(&format!("skopeo/app:{tag}")))
        );
    }
    // --src docker REPO: every tag.
    ours(&s(&[
        "--tls-verify=false",
        "sync",
        "--src",
        "docker",
        "--dest",
        "docker",
        &format!("{host}/up/app"),
        &format!("{host}/every"),
    ]));
    assert_eq!(tags("every"), ["1.0", "1.1", "2.0", "latest"]);
}
