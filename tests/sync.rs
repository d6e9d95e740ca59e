//! The sync verb through the CLI: many copies from a list, one failure that
//! does not stop the rest, identical images skipped, shared blobs moved once.

mod common;

use common::registry::Registry;
use common::*;

/// Runs stevedore in `dir` (a cosign key there has the password `pw`) and
/// returns its stdout, failing the test when it fails.
fn ok_in(dir: &std::path::Path, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stevedore"))
        .env("COSIGN_PASSWORD", "pw")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn five_jobs_with_one_bad_source() {
    let registry = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let one = make_image(&a, "1", b"one\n");
    let two = make_image(&a, "2", b"two\n");
    let list = tmp.path().join("sync.list");
    std::fs::write(
        &list,
        format!(
            "# a mirror\n{} {}\n{} {}\n\n{} {}\n{} {}\n{} {}\n",
            oci(&a, "1"),
            registry.image("mirror/one:1"),
            oci(&a, "2"),
            registry.image("mirror/two:1"),
            oci(&a, "missing"),
            oci(&b, "never"),
            oci(&a, "1"),
            oci(&b, "1"),
            registry.image("mirror/one:1"),
            oci(&b, "from-registry"),
        ),
    )
    .unwrap();
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_stevedore"))
            .args([
                "--tls-verify=false",
                "sync",
                "--json",
                list.to_str().unwrap(),
            ])
            .output()
            .unwrap()
    };
    let out = run();
    assert!(!out.status.success(), "a failed job fails the command");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 of 5 copies failed"), "{stderr}");
    let results: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["outcome"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["copied", "copied", "failed", "copied", "copied"]);
    assert_eq!(results[2]["outcome"]["kind"], "not_found");
    assert!(results[2]["outcome"]["message"]
        .as_str()
        .unwrap()
        .contains("missing"));
    assert_eq!(results[0]["outcome"]["digest"], one.digest().to_string());
    assert_eq!(results[1]["outcome"]["digest"], two.digest().to_string());
    // The layer both images share went to the registry once, then was
    // mounted by whichever of the two parallel jobs came second.
    let sum = |key: &str, jobs: [usize; 2]| {
        jobs.iter()
            .map(|&i| results[i]["outcome"][key].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(sum("blobs_mounted", [0, 1]), 1);
    // Jobs 4 and 5 write the same image into one layout: the second finds
    // every blob there.
    assert_eq!(sum("blobs_skipped", [3, 4]), 3);
    tool_ok(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            &registry.image("mirror/two:1"),
        ],
    );

    // Again: the four good jobs find their images identical.
    let results: Vec<serde_json::Value> = serde_json::from_slice(&run().stdout).unwrap();
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["outcome"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["skipped", "skipped", "failed", "skipped", "skipped"]
    );
}

#[test]
fn each_line_carries_its_own_platforms_all_and_referrers() {
    let registry = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    make_index(&a, "multi", &["linux/amd64", "linux/arm64", "linux/arm/v7"]);
    make_image(&a, "1", b"signed\n");
    let run = |args: &[&str]| ok_in(tmp.path(), &[&["--tls-verify=false"], args].concat());
    let signed = registry.image("up/signed:1");
    run(&["copy", &oci(&a, "1"), &signed]);
    run(&["generate-key-pair"]);
    run(&["sign", "--key", "cosign.key", &signed]);

    let list = tmp.path().join("sync.list");
    std::fs::write(
        &list,
        format!(
            "{multi} {all} all=true\n\
             {multi} {arm} platform=linux/arm64\n\
             {multi} {two} platform=linux/amd64,linux/arm/v7\n\
             {signed} {with} referrers=true\n\
             {signed} {without}\n",
            multi = oci(&a, "multi"),
            all = registry.image("m/all:1"),
            arm = registry.image("m/arm:1"),
            two = registry.image("m/two:1"),
            with = registry.image("m/with:1"),
            without = registry.image("m/without:1"),
        ),
    )
    .unwrap();
    let results: serde_json::Value =
        serde_json::from_slice(&run(&["sync", "--json", list.to_str().unwrap()])).unwrap();
    let results = results.as_array().unwrap();
    assert!(
        results.iter().all(|r| r["outcome"]["status"] == "copied"),
        "{results:#?}"
    );
    // The job's options are echoed back as it was read.
    assert_eq!(
        results[2]["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm/v7"])
    );
    assert_eq!(results[3]["referrers"], true);
    assert!(results[4].get("referrers").is_none());

    let raw = |image: &str| -> serde_json::Value {
        serde_json::from_slice(&skopeo_raw(&registry.image(image))).unwrap()
    };
    let platforms = |image: &str| -> Vec<String> {
        raw(image)["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let p = &m["platform"];
                format!("{}/{}", p["os"], p["architecture"]).replace('"', "")
            })
            .collect()
    };
    assert_eq!(
        platforms("m/all:1"),
        ["linux/amd64", "linux/arm64", "linux/arm"]
    );
    assert_eq!(platforms("m/two:1"), ["linux/amd64", "linux/arm"]);
    let arm = raw("m/arm:1");
    assert!(arm["layers"].is_array(), "one image, not an index: {arm}");
    let config: serde_json::Value = serde_json::from_slice(&tool_ok(
        "skopeo",
        &[
            "inspect",
            "--config",
            "--tls-verify=false",
            &registry.image("m/arm:1"),
        ],
    ))
    .unwrap();
    assert_eq!(config["architecture"], "arm64");

    let tags = |repo: &str| -> Vec<String> {
        let listed: serde_json::Value = serde_json::from_slice(&tool_ok(
            "skopeo",
            &["list-tags", "--tls-verify=false", &registry.image(repo)],
        ))
        .unwrap();
        serde_json::from_value(listed["Tags"].clone()).unwrap()
    };
    let with = tags("m/with");
    assert!(with.iter().any(|t| t.ends_with(".sig")), "{with:?}");
    assert_eq!(tags("m/without"), ["1"]);
}

/// An image already synced still gets the artifacts attached to it since:
/// per job (`referrers=true`) and with the global `--referrers`, a second
/// sync finds the same image, copies only the new referrer, and a third
/// moves nothing.
#[test]
fn a_synced_image_gets_referrers_attached_later() {
    let registry = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    make_image(&a, "1", b"referred\n");
    let run = |args: &[&str]| ok_in(tmp.path(), &[&["--tls-verify=false"], args].concat());
    let src = registry.image("up/app:1");
    run(&["copy", &oci(&a, "1"), &src]);
    let referrers = |image: &str| -> Vec<String> {
        let list: serde_json::Value =
            serde_json::from_slice(&run(&["referrers", "--json", image])).unwrap();
        let mut digests: Vec<String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["digest"].as_str().unwrap().to_owned())
            .collect();
        digests.sort();
        digests
    };
    let attach = |name: &str| -> String {
        let file = tmp.path().join(name);
        std::fs::write(&file, format!("{{\"name\":\"{name}\"}}")).unwrap();
        let before = referrers(&src);
        run(&[
            "attach",
            "--artifact-type",
            "application/vnd.example.note+json",
            file.to_str().unwrap(),
            &src,
        ]);
        let added: Vec<String> = referrers(&src)
            .into_iter()
            .filter(|d| !before.contains(d))
            .collect();
        assert_eq!(added.len(), 1, "{name} was attached once");
        added[0].clone()
    };
    let first = attach("first");

    let list = tmp.path().join("sync.list");
    std::fs::write(
        &list,
        format!("{src} {}  referrers=true\n", registry.image("m/job:1")),
    )
    .unwrap();
    let global = tmp.path().join("global.list");
    std::fs::write(&global, format!("{src} {}\n", registry.image("m/all:1"))).unwrap();
    let sync = |extra: &[&str], file: &std::path::Path| -> serde_json::Value {
        let mut args = vec!["sync", "--json"];
        args.extend_from_slice(extra);
        args.push(file.to_str().unwrap());
        let results: serde_json::Value = serde_json::from_slice(&run(&args)).unwrap();
        results[0]["outcome"].clone()
    };
    let runs: [(&[&str], &std::path::Path, &str); 2] = [
        (&[], &list, "m/job:1"),
        (&["--referrers"], &global, "m/all:1"),
    ];
    for (extra, file, _) in &runs {
        assert_eq!(sync(extra, file)["status"], "copied");
    }
    for (_, _, dst) in &runs {
        assert_eq!(
            referrers(&registry.image(dst)),
            std::slice::from_ref(&first)
        );
    }

    let second = attach("second");
    let mut both = vec![first.clone(), second.clone()];
    both.sort();
    for (extra, file, dst) in &runs {
        let outcome = sync(extra, file);
        assert_eq!(
            (&outcome["status"], &outcome["referrers_copied"]),
            (&serde_json::json!("skipped"), &serde_json::json!(1)),
            "{dst}: {outcome}"
        );
        assert_eq!(referrers(&registry.image(dst)), both, "{dst}");
        let again = sync(extra, file);
        assert_eq!(
            (&again["status"], &again["referrers_copied"]),
            (&serde_json::json!("skipped"), &serde_json::json!(0)),
            "{dst}, a second identical run: {again}"
        );
        assert_eq!(referrers(&registry.image(dst)), both, "{dst}");
    }
    // Without referrers asked for, none are copied.
    let plain = sync(&[], &global);
    assert_eq!(
        (&plain["status"], &plain["referrers_copied"]),
        (&serde_json::json!("skipped"), &serde_json::json!(0))
    );
}

/// `sync --src docker` lists the source repository's tags with the per-side
/// flags bound, as skopeo does: `--src-tls-verify=false` reaches a
/// plain-HTTP source and `--src-creds` an authenticated one, for the listing
/// as for the copies.
#[test]
fn a_docker_source_is_listed_with_the_source_side_flags() {
    let source = Registry::start_with_htpasswd("alice", "pw");
    let mirror = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let manifest = make_image(tmp.path(), "1", b"listed\n");
    ok_in(
        tmp.path(),
        &[
            "--tls-verify=false",
            "--creds",
            "alice:pw",
            "copy",
            &oci(tmp.path(), "1"),
            &source.image("team/app:1"),
        ],
    );
    ok_in(
        tmp.path(),
        &[
            "sync",
            "--src",
            "docker",
            "--dest",
            "docker",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--src-creds",
            "alice:pw",
            &format!("{}/team/app", source.addr),
            &format!("{}/mirror", mirror.addr),
        ],
    );
    let inspected = tool_ok(
        "skopeo",
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &mirror.image("mirror/app:1"),
        ],
    );
    assert_eq!(inspected, manifest.raw());
}
